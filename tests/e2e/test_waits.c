/* End-to-end: stuck threads, with what each is blocked in, on what, for how
 * long and where, lock owners and deadlock cycles; and the clean twin whose
 * threads all wake up. */
#define _GNU_SOURCE
#include "e2e.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct st_report_thread *blocked_thread(const struct st_report *r, const char *name)
{
    const struct st_report_thread *t = e2e_thread_named(r, name);
    cr_assert_not_null(t, "no thread named %s", name);
    cr_assert_eq(t->state, ST_RT_BLOCKED, "%s is not blocked", name);
    cr_assert_not_null(t->blocked);
    return t;
}

Test(waits, worker_blocked_on_condition_shows_call_stack_at_wait_and_creator)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "cond-worker");
    cr_assert_str_eq(t->blocked->call, "pthread_cond_wait");
    cr_assert_neq(t->blocked->object, 0);
    cr_assert_eq(t->blocked->fd, -1);
    cr_assert_eq(t->blocked->owner_tid, 0);
    cr_assert_eq(t->blocked->timeouts, 0);
    cr_assert_eq(t->blocked->deadline_ms, -1);
    cr_assert_eq(t->blocked->stuck, false, "under the 10s threshold");
    cr_assert_geq(t->blocked->blocked_ns, 10 * 1000000ull, "blocked since before main slept");
    cr_assert_eq(e2e_frame_of(r, t->stack, "wait_forever"), 0, "stack at the wait");
    cr_assert_eq(e2e_frame_of(r, t->created_by, "start_worker"), 0, "creation stack");
    e2e_free(&run);
}

Test(waits, blocked_threshold_flags_the_thread_as_stuck)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "blocked_threshold=5ms", NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(blocked_thread(r, "cond-worker")->blocked->stuck, true);
    e2e_free(&run);
}

Test(waits, text_report_says_blocked_in_what_and_where)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_blocked_on_cond", "", NULL, true);
    cr_assert_not_null(strstr(run.err, "1 thread blocked in pthread_cond_wait(0x"), "%s",
                       run.err);
    cr_assert_not_null(strstr(run.err, "#0 wait_forever (thread_blocked_on_cond.c:"), "%s",
                       run.err);
    cr_assert_not_null(strstr(run.err, "  created at:\n    #0 start_worker"), "%s", run.err);
    e2e_free(&run);
}

Test(waits, timed_wait_loop_counts_timeouts_in_a_row)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_timed_loop", "blocked_threshold=100ms", NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "poller");
    cr_assert_str_eq(t->blocked->call, "pthread_cond_timedwait");
    cr_assert_geq(t->blocked->timeouts, 10, "400 ms of 10 ms timeouts: %u", t->blocked->timeouts);
    cr_assert_leq(t->blocked->timeout_ns, 10 * 1000000ull);
    cr_assert_geq(t->blocked->timeout_ns, 1 * 1000000ull);
    cr_assert_geq(t->blocked->deadline_ms, 0);
    cr_assert_eq(t->blocked->stuck, true, "a run of timeouts longer than the threshold");
    cr_assert_eq(e2e_frame_of(r, t->stack, "poller"), 0);
    e2e_free(&run);
}

Test(waits, thread_blocked_on_a_held_lock_shows_the_owner)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_lock_held", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *holder = blocked_thread(r, "holder");
    const struct st_report_thread *waiter = blocked_thread(r, "waiter");
    cr_assert_str_eq(holder->blocked->call, "pause");
    cr_assert_str_eq(waiter->blocked->call, "pthread_mutex_lock");
    cr_assert_eq(waiter->blocked->owner_tid, holder->tid);
    unsigned long lock = 0;
    cr_assert_eq(sscanf(run.out, "lock %lx", &lock), 1);
    cr_assert_eq(waiter->blocked->object, lock);
    cr_assert_eq(r->ndeadlocks, 0);
    cr_assert_eq(e2e_frame_of(r, waiter->stack, "waiter"), 0);
    e2e_free(&run);
}

Test(waits, two_threads_deadlocked_on_two_mutexes_are_reported_as_a_cycle)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_deadlock", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *a = blocked_thread(r, "transfer");
    const struct st_report_thread *b = blocked_thread(r, "audit");
    cr_assert_eq(a->blocked->owner_tid, b->tid);
    cr_assert_eq(b->blocked->owner_tid, a->tid);
    cr_assert_eq(r->ndeadlocks, 1);
    cr_assert_eq(r->deadlocks[0].n, 2);
    int lo = a->tid < b->tid ? a->tid : b->tid, hi = a->tid < b->tid ? b->tid : a->tid;
    cr_assert_eq(r->deadlocks[0].tids[0], lo, "the cycle starts at its smallest tid");
    cr_assert_eq(r->deadlocks[0].tids[1], hi);
    e2e_free(&run);
}

Test(waits, deadlock_is_said_plainly_in_text)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/wait_deadlock", "", NULL, true);
    cr_assert_not_null(strstr(run.err, "Found a deadlock: 2 threads wait for locks held by each other"),
                       "%s", run.err);
    cr_assert_not_null(strstr(run.err, "\"transfer\" waits for a lock held by tid "), "%s",
                       run.err);
    e2e_free(&run);
}

Test(waits, consumer_on_a_semaphore_never_posted)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_sem_consumer", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "consumer");
    cr_assert_str_eq(t->blocked->call, "sem_wait");
    unsigned long sem = 0;
    cr_assert_eq(sscanf(run.out, "sem %lx", &sem), 1);
    cr_assert_eq(t->blocked->object, sem);
    cr_assert_eq(e2e_frame_of(r, t->stack, "consumer"), 0);
    e2e_free(&run);
}

Test(waits, reader_on_a_pipe_nobody_writes_shows_the_fd_target)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_pipe_reader", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "reader");
    cr_assert_str_eq(t->blocked->call, "read");
    int rfd = -1, wfd = -1;
    cr_assert_eq(sscanf(run.out, "pipe %d %d", &rfd, &wfd), 2);
    cr_assert_eq(t->blocked->fd, rfd);
    cr_assert_not_null(t->blocked->target);
    cr_assert(!strncmp(t->blocked->target, "pipe:[", 6), "%s", t->blocked->target);
    cr_assert_eq(t->blocked->object, 0);
    e2e_free(&run);
}

Test(waits, cxx_condition_variable_wait_is_seen)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_cxx_std_thread", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "std-thread");
    cr_assert_str_eq(t->blocked->call, "pthread_cond_wait");
    cr_assert(e2e_stack_has(r, t->stack, "wait_forever()"));
    e2e_free(&run);
}

Test(waits, clean_program_whose_threads_all_wake_reports_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_clean", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_eq(st_report_leak_count(r), 0);
    cr_assert_eq(r->ndeadlocks, 0);
    cr_assert_str_eq(run.out, "clean\n");
    e2e_free(&run);
}

Test(waits, running_thread_gets_its_current_stack_at_exit)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_busy_spinner", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.out, "done\n");
    const struct st_report_thread *spinner = e2e_thread_named(r, "spinner");
    const struct st_report_thread *deaf = e2e_thread_named(r, "deaf-spinner");
    cr_assert_not_null(spinner);
    cr_assert_not_null(deaf);
    cr_assert_eq(spinner->state, ST_RT_RUNNING);
    cr_assert_geq(spinner->stack, 0, "unwound in its signal handler");
    cr_assert_eq(e2e_frame_of(r, spinner->stack, "spin"), 0, "the stack starts where it spins");
    cr_assert_eq(deaf->stack, -1, "blocks every signal: no stack, and no hang");
    e2e_free(&run);
}

Test(waits, thread_joining_one_that_never_ends_is_blocked_in_pthread_join)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/wait_join_forever", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r, "joiner");
    cr_assert_str_eq(t->blocked->call, "pthread_join");
    unsigned long handle = 0;
    cr_assert_eq(sscanf(run.out, "sleeper %lx", &handle), 1, "%s", run.out);
    cr_assert_eq(t->blocked->object, handle, "the joined thread's handle");
    cr_assert_eq(e2e_frame_of(r, t->stack, "join_sleeper"), 0);
    cr_assert_str_eq(blocked_thread(r, "sleeper")->blocked->call, "pause");
    e2e_free(&run);
}
