/* Unit tests for the signals strays takes over (src/base/signals.c): the
 * program's own action is kept and given back as the program set it, and
 * the table of taken signals runs out with an error, not past its end. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "base/signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static void strays_handler(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig, (void)info, (void)ucontext;
}

static void program_handler(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig, (void)info, (void)ucontext;
}

Test(signals, the_programs_action_comes_back_as_it_set_it)
{
    int sig = SIGRTMIN + 6;
    cr_assert_eq(st_signal_take(sig, strays_handler, 0, NULL, NULL), 0);
    cr_assert(st_signal_taken(sig));

    struct sigaction act, old, now;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = program_handler;
    act.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, SIGINT);
    sigaddset(&act.sa_mask, SIGRTMAX - 1);
    st_signal_program_sets(sig, &act, &old);
    cr_assert_eq(old.sa_handler, SIG_DFL, "what was there before strays took it");

    st_signal_program_action(sig, &now);
    cr_assert_eq(now.sa_sigaction, program_handler);
    cr_assert_eq(now.sa_flags & (SA_SIGINFO | SA_RESTART | SA_NODEFER),
                 SA_SIGINFO | SA_RESTART | SA_NODEFER);
    cr_assert_eq(sigismember(&now.sa_mask, SIGINT), 1);
    cr_assert_eq(sigismember(&now.sa_mask, SIGRTMAX - 1), 1);
    cr_assert_eq(sigismember(&now.sa_mask, SIGTERM), 0);

    /* Given back, the kernel holds the program's action. */
    st_signal_release(sig);
    cr_assert_not(st_signal_taken(sig));
    cr_assert_eq(sigaction(sig, NULL, &now), 0);
    cr_assert_eq(now.sa_sigaction, program_handler);
    cr_assert_eq(sigismember(&now.sa_mask, SIGRTMAX - 1), 1);
}

Test(signals, a_signal_taken_again_keeps_its_slot_and_the_slots_run_out_cleanly)
{
    int taken = 0, refused = 0;
    for (int sig = SIGRTMIN; sig <= SIGRTMAX && !refused; sig++) {
        int rc = st_signal_take(sig, strays_handler, 0, NULL, NULL);
        if (rc == 0)
            taken++;
        else if (rc == -ENOSPC)
            refused = sig;
        else
            cr_assert_fail("taking signal %d: %s", sig, strerror(-rc));
    }
    cr_assert_geq(taken, 9, "room for every signal strays takes: 5 crash, 2 terminal, dump, "
                            "current stack");
    cr_assert_neq(refused, 0, "a signal past the last slot is refused");
    cr_assert_not(st_signal_taken(refused));

    /* Released and taken again: the same slot, so no new one is needed. */
    st_signal_release(SIGRTMIN);
    cr_assert_eq(st_signal_take(SIGRTMIN, strays_handler, 0, NULL, NULL), 0);
    cr_assert(st_signal_taken(SIGRTMIN));
}
