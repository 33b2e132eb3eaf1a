/* Unit tests for the rate of "exhausted" dumps (src/runtime/exhaustion.c):
 * one dump of a kind a minute, also when the program fails again within
 * the same tick of the coarse clock that stamped the dump. */
#include <criterion/criterion.h>

#include "runtime/exhaustion.h"

#define SECOND 1000000000ull

Test(exhaustion, a_kind_never_dumped_may_dump)
{
    cr_assert_not(st_exhaustion_too_soon(5 * SECOND, 0));
}

Test(exhaustion, a_failure_in_the_dumps_own_clock_tick_waits)
{
    /* The stamp is the time | 1: past an even now of the same tick. */
    uint64_t now = 1000 * SECOND;
    cr_assert(st_exhaustion_too_soon(now, now | 1), "no second dump in the same tick");
    cr_assert(st_exhaustion_too_soon(now + 59 * SECOND, now | 1));
}

Test(exhaustion, a_minute_later_the_kind_may_dump_again)
{
    uint64_t stamp = (1000 * SECOND) | 1;
    cr_assert_not(st_exhaustion_too_soon(stamp + 60 * SECOND, stamp));
}
