/* What close_range and closefrom close around strays' own fds
 * (src/base/fd_ranges.c), and the fds recvmsg receives (SCM_RIGHTS,
 * st_fd_track_received): logic the hooks hand to the core. */
#define _GNU_SOURCE /* SCM_CREDENTIALS */
#include "base/fd_ranges.h"
#include "base/options.h"
#include "track/registry_fd.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void assert_pieces(const struct st_fd_range *got, int n, const unsigned *want, int nwant)
{
    cr_assert_eq(n, nwant, "%d pieces, expected %d", n, nwant);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(got[i].first, want[2 * i], "piece %d starts at %u, expected %u", i,
                     got[i].first, want[2 * i]);
        cr_assert_eq(got[i].last, want[2 * i + 1], "piece %d ends at %u, expected %u", i,
                     got[i].last, want[2 * i + 1]);
    }
}

Test(fd_ranges, a_range_without_holes_is_one_piece)
{
    struct st_fd_range r[8];
    assert_pieces(r, st_fd_ranges_without(3, 100, NULL, 0, r, 8), (unsigned[]){3, 100}, 1);
}

Test(fd_ranges, holes_cut_the_range_between_them)
{
    struct st_fd_range r[8];
    int holes[] = {10, 11, 50};
    assert_pieces(r, st_fd_ranges_without(3, 100, holes, 3, r, 8),
                  (unsigned[]){3, 9, 12, 49, 51, 100}, 3);
}

Test(fd_ranges, holes_at_the_ends_leave_no_empty_piece)
{
    struct st_fd_range r[8];
    int holes[] = {3, 100};
    assert_pieces(r, st_fd_ranges_without(3, 100, holes, 2, r, 8), (unsigned[]){4, 99}, 1);
    int only[] = {7};
    cr_assert_eq(st_fd_ranges_without(7, 7, only, 1, r, 8), 0, "the hole is the whole range");
}

Test(fd_ranges, closefrom_s_range_to_the_top_does_not_wrap)
{
    struct st_fd_range r[8];
    int holes[] = {1000};
    assert_pieces(r, st_fd_ranges_without(5, UINT_MAX, holes, 1, r, 8),
                  (unsigned[]){5, 999, 1001, UINT_MAX}, 2);
    int top[] = {(int)(UINT_MAX >> 1)};
    assert_pieces(r, st_fd_ranges_without(5, UINT_MAX >> 1, top, 1, r, 8),
                  (unsigned[]){5, (UINT_MAX >> 1) - 1}, 1);
}

/* A message with fds in two SCM_RIGHTS headers and one other header. */
Test(fd_ranges, every_fd_passed_in_a_message_is_tracked)
{
    st_options_defaults(&st_opt);
    int a[2], b[2];
    cr_assert_eq(pipe(a), 0);
    cr_assert_eq(pipe(b), 0);
    union {
        char buf[CMSG_SPACE(2 * sizeof(int)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), a, sizeof a);
    c = CMSG_NXTHDR(&msg, c);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS; /* not fds: skipped */
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &b[0], sizeof(int));
    c = CMSG_NXTHDR(&msg, c);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &b[1], sizeof(int));
    st_fd_track_received(&msg);
    cr_assert(st_fd_is_tracked(a[0]) && st_fd_is_tracked(a[1]) && st_fd_is_tracked(b[1]));
    cr_assert_not(st_fd_is_tracked(b[0]), "a credentials header carries no fd");
    st_fd_track_received(NULL); /* recvmsg(fd, NULL, 0) fails in the kernel; no crash here */
}
