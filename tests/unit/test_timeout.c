/* The length of a timed wait from each form a waiting call takes
 * (src/base/timeout.h). */
#include "base/timeout.h"

#include <criterion/criterion.h>

Test(timeout, relative_forms_give_nanoseconds_and_negative_gives_untimed)
{
    cr_assert_eq(st_timeout_of(&(struct timespec){2, 5}), 2000000005u);
    cr_assert_eq(st_timeout_of(&(struct timespec){-1, 0}), 0);
    cr_assert_eq(st_timeout_of(NULL), 0);
    cr_assert_eq(st_timeout_of_timeval(&(struct timeval){1, 7}), 1000007000u);
    cr_assert_eq(st_timeout_of_timeval(NULL), 0);
    cr_assert_eq(st_timeout_ms(250), 250000000u);
    cr_assert_eq(st_timeout_ms(-1), 0, "poll's -1 waits for ever");
}

Test(timeout, a_deadline_gives_the_time_left_and_a_past_one_still_counts_as_timed)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec later = {now.tv_sec + 10, now.tv_nsec};
    uint64_t left = st_timeout_until(CLOCK_MONOTONIC, &later);
    cr_assert(left > 9000000000u && left <= 10000000000u, "%lu ns left", (unsigned long)left);
    struct timespec past = {now.tv_sec - 1, now.tv_nsec};
    cr_assert_eq(st_timeout_until(CLOCK_MONOTONIC, &past), 1);
    cr_assert_eq(st_timeout_until(CLOCK_MONOTONIC, NULL), 0);
}
