/* End-to-end: creation stacks stay right whether the program keeps frame
 * pointers or not. capture_two_paths opens fds in a hot loop from two call
 * paths that meet at one stack position, so strays' capture cache serves
 * most captures; the fd left open by each path must carry that path's
 * stack, in the -O0 frame-pointer build and in the -O2 build without. */
#include "e2e.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(capture, .timeout = 60);

static const struct st_report_fd *fd_to(const struct st_report *r, const char *target)
{
    for (uint32_t i = 0; i < r->nfds; i++)
        if (!strcmp(r->fds[i].target, target))
            return &r->fds[i];
    return NULL;
}

/* open_leaf, then path, then main, innermost first, and not the other path. */
static void expect_path(const struct st_report *r, const char *target, const char *path,
                        const char *other)
{
    const struct st_report_fd *f = fd_to(r, target);
    cr_assert_not_null(f, "an fd to %s is reported", target);
    int leaf = e2e_frame_of(r, f->created_by, "open_leaf");
    int via = e2e_frame_of(r, f->created_by, path);
    int main_at = e2e_frame_of(r, f->created_by, "main");
    cr_assert_eq(leaf, 0, "%s: open_leaf is the innermost frame", target);
    cr_assert_eq(via, 1, "%s: %s called open_leaf", target, path);
    cr_assert_eq(main_at, 2, "%s: main called %s", target, path);
    cr_assert_not(e2e_stack_has(r, f->created_by, other), "%s: not %s's stack", target, other);
}

static void check_fixture(const char *fixture)
{
    struct e2e_run run;
    e2e_run(&run, fixture, NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "%s: status %d; stderr:\n%s", fixture, run.status, run.err);
    cr_assert_eq(r->nfds, 2, "%s: the last round's two fds only", fixture);
    cr_assert_eq(r->nthreads + r->ntimers, 0);
    expect_path(r, "/dev/null", "via_a", "via_b");
    expect_path(r, "/dev/zero", "via_b", "via_a");
    cr_assert_neq(r->fds[0].created_by, r->fds[1].created_by);
    e2e_free(&run);
}

Test(capture, stacks_from_a_hot_loop_are_right_with_frame_pointers)
{
    check_fixture("fixtures/capture_two_paths");
}

Test(capture, stacks_from_a_hot_loop_are_right_without_frame_pointers)
{
    check_fixture("fixtures/capture_two_paths_nofp");
}
