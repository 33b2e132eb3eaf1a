/* Unit tests for the current-stack signal (src/collect/thread_stacks.c): its
 * handler is installed through the signal chain, so the program's own
 * sigaction on that signal is recorded (the sigaction hook asks
 * st_signal_taken) instead of silently replacing strays' handler, and a
 * signal strays did not send goes on to the program's handler. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "base/libc.h"
#include "base/options.h"
#include "base/signals.h"
#include "base/st.h"
#include "collect/thread_stacks.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void setup(void) { st_options_defaults(&st_opt); }

TestSuite(thread_stacks, .init = setup, .timeout = 20);

static volatile int spinner_tid, stop;

static void *spin(void *arg)
{
    spinner_tid = st_gettid();
    while (!stop)
        ;
    return arg;
}

static volatile int program_handler_ran;

static void programs_own(int sig) { program_handler_ran += sig == st_thread_stack_signal(); }

Test(thread_stacks, handler_goes_through_the_chain_and_the_programs_own_still_runs)
{
    pthread_t t;
    pthread_create(&t, NULL, spin, NULL);
    while (!spinner_tid)
        ;
    int sig = st_thread_stack_signal();
    int tid = spinner_tid;
    const struct st_stack *stack = NULL;
    cr_assert_eq(st_thread_stacks_capture(&tid, 1, &stack, 5000, false), 1);
    cr_assert_not_null(stack);
    cr_assert(st_signal_taken(sig), "taken: the sigaction hook records the program's calls");

    /* What the sigaction hook does with the program's own handler. */
    struct sigaction mine, old, installed;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = programs_own;
    st_signal_program_sets(sig, &mine, &old);
    cr_assert_eq(old.sa_handler, SIG_DFL, "the program is told what it had: nothing");
    st_libc_sigaction(sig, NULL, &installed);
    cr_assert(installed.sa_flags & SA_SIGINFO, "strays' handler is still the one installed");
    cr_assert_neq(installed.sa_sigaction, (void *)programs_own);

    /* A signal strays did not ask for reaches the program's handler... */
    raise(sig);
    cr_assert_eq(program_handler_ran, 1);
    /* ...and strays still gets the stacks it asks for. */
    stack = NULL;
    cr_assert_eq(st_thread_stacks_capture(&tid, 1, &stack, 5000, false), 1);
    cr_assert_eq(program_handler_ran, 1);
    stop = 1;
    pthread_join(t, NULL);
}
