/* One exit at a time (st_runtime_exit_claim, src/runtime/runtime.c): the
 * first thread to exit goes on, and again from its own exit handlers; any
 * other thread of the process must wait. Criterion runs each test in a
 * process of its own, so each starts with no exit claimed. */
#include "runtime/runtime.h"

#include <criterion/criterion.h>
#include <pthread.h>

static void *claim(void *arg)
{
    (void)arg;
    return (void *)(long)st_runtime_exit_claim();
}

static bool claim_on_another_thread(void)
{
    pthread_t t;
    void *got;
    cr_assert_eq(pthread_create(&t, NULL, claim, NULL), 0);
    cr_assert_eq(pthread_join(t, &got), 0);
    return got != NULL;
}

Test(exit_claim, the_first_exiter_goes_on_and_others_wait)
{
    cr_assert(st_runtime_exit_claim(), "the first thread to exit");
    cr_assert(st_runtime_exit_claim(), "the same thread again: an exit handler's exit");
    cr_assert_not(claim_on_another_thread(), "a second thread must wait");
}

Test(exit_claim, a_thread_that_exits_first_makes_the_main_thread_wait)
{
    cr_assert(claim_on_another_thread());
    cr_assert_not(st_runtime_exit_claim());
}
