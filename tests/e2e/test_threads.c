/* End-to-end: thread leaks found at exit in unmodified fixture programs,
 * checked field by field in their JSON reports. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

Test(threads, blocked_worker_is_reported_with_its_creation_site)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "leak must turn exit 0 into 23, got %d", run.status);
    cr_assert_str_eq(run.out, "done\n");
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, 0);
    cr_assert_eq(r->nthreads, 1);
    const struct st_report_thread *t = &r->threads[0];
    cr_assert_str_eq(t->name, "cond-worker");
    cr_assert_eq(t->state, ST_RT_BLOCKED, "waits in pthread_cond_wait");
    cr_assert_eq(t->detached, false);
    cr_assert_gt(t->tid, 0);
    cr_assert_neq(t->tid, r->pid);
    cr_assert_eq(t->parent_tid, r->pid, "created by the main thread");
    cr_assert_neq(t->stack, t->created_by, "the stack at the wait is its own");
    cr_assert_eq(e2e_frame_of(r, t->created_by, "start_worker"), 0,
                 "innermost frame is the caller of pthread_create");
    cr_assert(e2e_stack_has(r, t->created_by, "main"));
    const struct st_frame *f = &r->stacks[t->created_by].frames[0];
    cr_assert_not_null(f->module);
    cr_assert_not_null(strstr(f->module, "thread_blocked_on_cond"));
    cr_assert_not_null(f->build_id);
    cr_assert_eq(strlen(f->build_id), 40);
    cr_assert_not_null(f->file);
    cr_assert_not_null(strstr(f->file, "thread_blocked_on_cond.c"));
    cr_assert_eq(f->line, 24, "the pthread_create line");
    cr_assert_eq(f->offset, f->address - (f->address - f->offset));
    e2e_free(&run);
}

Test(threads, finished_thread_never_joined_is_reported_exited)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_exited_unjoined", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(r->threads[0].state, ST_RT_EXITED);
    cr_assert_str_eq(r->threads[0].name, "short-lived", "name taken when it exited");
    cr_assert_eq(e2e_frame_of(r, r->threads[0].created_by, "start_helper"), 0);
    e2e_free(&run);
}

Test(threads, detached_sleeper_is_reported_detached)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_detached_sleeper", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_str_eq(r->threads[0].name, "sleeper");
    cr_assert_eq(r->threads[0].detached, true);
    cr_assert_eq(r->threads[0].state, ST_RT_BLOCKED, "asleep in a hooked sleep");
    cr_assert_eq(e2e_frame_of(r, r->threads[0].created_by, "start_sleeper"), 0);
    e2e_free(&run);
}

Test(threads, thousand_identical_workers_share_one_stack)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_many_identical", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1000);
    cr_assert_eq(r->nstacks, 2, "interned: one creation stack, one stack at the wait");
    int created_by = r->threads[0].created_by, at_wait = r->threads[0].stack;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        cr_assert_eq(r->threads[i].created_by, created_by);
        cr_assert_eq(r->threads[i].stack, at_wait);
    }
    cr_assert(e2e_stack_has(r, created_by, "start_pool"));
    e2e_free(&run);
}

Test(threads, thousand_identical_workers_print_one_group_in_text)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_many_identical", "", NULL, true);
    cr_assert_eq(run.status, 23);
    cr_assert_not_null(strstr(run.err, "1000 threads blocked in pthread_cond_wait(0x"), "%s", run.err);
    cr_assert_not_null(strstr(run.err, "(+992 more)"));
    char *first = strstr(run.err, "start_pool (thread_many_identical.c:");
    cr_assert_not_null(first);
    cr_assert_null(strstr(first + 1, "start_pool ("), "the stack is printed once");
    cr_assert_not_null(strstr(run.err, "strays: 1000 leaked threads in 1 group (pid "));
    e2e_free(&run);
}

Test(threads, churn_of_reused_handles_then_one_leak_reports_exactly_one)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_churn_then_leak", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1, "5000 joined threads must leave no record");
    cr_assert_str_eq(r->threads[0].name, "the-leak");
    e2e_free(&run);
}

Test(threads, thread_started_by_atexit_handler_is_reported)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_from_atexit", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_str_eq(r->threads[0].name, "from-atexit");
    cr_assert_eq(e2e_frame_of(r, r->threads[0].created_by, "start_in_handler"), 0);
    e2e_free(&run);
}

Test(threads, cxx_std_thread_is_reported_with_demangled_site)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_cxx_std_thread", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_str_eq(r->threads[0].name, "std-thread");
    cr_assert(e2e_stack_has(r, r->threads[0].created_by, "start_background()"),
              "the caller, demangled");
    e2e_free(&run);
}

Test(threads, clean_program_reports_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_clean", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "stderr: %s", run.err);
    cr_assert_str_eq(run.out, "clean\n");
    cr_assert_eq(r->nthreads, 0);
    cr_assert_eq(r->nstacks, 0);
    e2e_free(&run);
}

Test(threads, clean_program_prints_nothing_on_stderr)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_clean", NULL, NULL, true);
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.err, "", "a clean run says nothing, like LeakSanitizer");
    e2e_free(&run);
}

Test(threads, try_and_timed_joins_and_late_detach_leave_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_joins_late", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(run.out, "rc 0\n");
    cr_assert_eq(r->nthreads, 0);
    cr_assert_eq(run.status, 0);
    e2e_free(&run);
}

Test(threads, report_reaches_stderr_when_program_closed_it)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_closes_stderr", NULL, NULL, true);
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.out, "closing\n");
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group"), "stderr: %s",
                       run.err);
    cr_assert_not_null(strstr(run.err, "\"lingerer\""));
    e2e_free(&run);
}

static void check_exit_path(const char *how, int want_status, const char *want_out)
{
    struct e2e_run run;
    const char *args[] = {how, NULL};
    e2e_run(&run, "fixtures/thread_exit_paths", NULL, args);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, want_status, "%s: status %d", how, run.status);
    cr_assert_str_eq(run.out, want_out, "%s: output changed", how);
    cr_assert_eq(e2e_count_threads_named(r, "lingerer"), 1, "%s", how);
    e2e_free(&run);
}

Test(exit_paths, return_from_main) { check_exit_path("return", 23, "leaving by return\n"); }
Test(exit_paths, exit) { check_exit_path("exit", 23, "leaving by exit\n"); }
Test(exit_paths, underscore_exit) { check_exit_path("_exit", 23, "leaving by _exit\n"); }
Test(exit_paths, underscore_Exit) { check_exit_path("_Exit", 23, "leaving by _Exit\n"); }
Test(exit_paths, quick_exit) { check_exit_path("quick_exit", 23, "leaving by quick_exit\n"); }
Test(exit_paths, c11_thread) { check_exit_path("c11", 23, "leaving by c11\n"); }
Test(exit_paths, failing_status_is_never_masked)
{
    check_exit_path("fail", 3, "leaving by fail\n");
}

Test(exit_paths, exit_from_a_non_main_thread)
{
    check_exit_path("exit-from-thread", 23, "leaving by exit-from-thread\n");
}

Test(exit_paths, main_calls_pthread_exit)
{
    check_exit_path("main-pthread-exit", 23, "leaving by main-pthread-exit\n");
}

Test(exit_paths, exitcode_option_changes_the_leak_status)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "exitcode=0", NULL);
    cr_assert_eq(run.status, 0);
    cr_assert_eq(e2e_only_report(&run)->nthreads, 1);
    e2e_free(&run);
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "exitcode=99", NULL);
    cr_assert_eq(run.status, 99);
    e2e_free(&run);
}

Test(fork, child_report_does_not_hold_the_parents_threads)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_fork_child", NULL, NULL);
    cr_assert_eq(run.nreports, 2, "one report per process; stderr: %s", run.err);
    int child_pid = 0;
    cr_assert_eq(sscanf(run.out, "child %d exited 0", &child_pid), 1, "%s", run.out);
    const struct st_report *child = e2e_report(&run, child_pid);
    cr_assert_not_null(child);
    cr_assert_eq(child->nthreads, 0);
    cr_assert_eq(child->exit_status, 0);
    const struct st_report *parent = NULL;
    for (int i = 0; i < run.nreports; i++)
        if (run.reports[i].pid != child_pid)
            parent = &run.reports[i];
    cr_assert_not_null(parent);
    cr_assert_eq(e2e_count_threads_named(parent, "parent-thread"), 1);
    cr_assert_eq(run.status, 23);
    e2e_free(&run);
}

Test(threads, running_thread_that_blocks_every_signal_is_not_asked_for_its_stack)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocks_every_signal", "verbosity=1", NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1);
    const struct st_report_thread *t = &r->threads[0];
    cr_assert_eq(t->state, ST_RT_RUNNING);
    cr_assert_eq(t->stack, -1, "no current stack: it cannot take strays' signal");
    cr_assert(e2e_stack_has(r, t->created_by, "main"));
    cr_assert_eq(r->tracking.threads_without_stack, 1);
    cr_assert(strstr(run.err, "1 running thread blocks strays' stack signal"),
              "strays says why, rather than wait out its time budget; stderr:\n%s", run.err);
    e2e_free(&run);
}

/* stack_depth=128, the most there is: two threads deeper than that answer
 * side by side in one request table, and each gets its own 128 frames (the
 * handler once wrote 136 into a 128-frame slot, over its neighbour's). */
Test(threads, two_deep_running_threads_each_get_their_whole_current_stack)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_deep_spinners", "stack_depth=128", NULL);
    cr_assert_str_eq(run.out, "both deep\n");
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nthreads, 2);
    for (int i = 0; i < 2; i++) {
        const struct st_report_thread *t = &r->threads[i];
        cr_assert_eq(t->state, ST_RT_RUNNING);
        cr_assert_geq(t->stack, 0, "thread %d has no current stack; stderr:\n%s", t->tid,
                      run.err);
        cr_assert_eq(r->stacks[t->stack].depth, 128);
        cr_assert_eq(e2e_frame_of(r, t->stack, "descend"), 0);
    }
    cr_assert_eq(r->tracking.threads_without_stack, 0);
    e2e_free(&run);
}

/* A detached thread that has told main it is done but still tears down a
 * moment before returning (Python's threads, after the lock their join
 * waits on is released): the program joined it, so it is no leak, and the
 * verdict must not depend on the scheduler. Before strays waited for such
 * threads, 4 to 15 runs in 20 listed it as running. */
Test(threads, thread_joined_but_still_tearing_down_is_never_listed)
{
    static const char *const ways[] = {"exit", "_exit"};
    for (size_t w = 0; w < 2; w++)
        for (int i = 0; i < 20; i++) {
            const char *args[] = {ways[w], NULL};
            struct e2e_run run;
            e2e_run(&run, "fixtures/thread_joined_tearing_down", NULL, args);
            cr_assert_str_eq(run.out, "joined\n");
            const struct st_report *r = e2e_only_report(&run);
            cr_assert_eq(r->nthreads + r->nuntracked, 0, "%s, run %d: %u threads (first tid %d)",
                         ways[w], i, r->nthreads, r->nthreads ? r->threads[0].tid : 0);
            cr_assert_eq(run.status, 0, "%s, run %d", ways[w], i);
            e2e_free(&run);
        }
}

/* The same with Python itself: a multiprocessing fork child that used a
 * Queue joins the queue's feeder thread at its end, then calls os._exit. */
Test(threads, python_queue_feeder_joined_before_os_exit_is_never_listed)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        cr_skip_test("/usr/bin/python3 is not installed");
    static const char code[] = "import multiprocessing as mp, os\n"
                               "def child(q): q.put(os.getpid())\n"
                               "if __name__ == '__main__':\n"
                               "    q = mp.Queue()\n"
                               "    p = mp.get_context('fork').Process(target=child, args=(q,))\n"
                               "    p.start(); print('child', q.get()); p.join()\n";
    for (int i = 0; i < 10; i++) {
        char dir[] = "/tmp/strays-e2e-python.XXXXXX", opts[300];
        cr_assert_not_null(mkdtemp(dir));
        snprintf(opts, sizeof opts, "format=json:log_path=%s/r", dir);
        struct e2e_cli py;
        e2e_cmd_run(&py, "/usr/bin/python3", (const char *const[]){"-c", code, NULL},
                    e2e_build_path("libstrays.so"), opts);
        int child = 0;
        cr_assert_eq(sscanf(py.out, "child %d", &child), 1, "%s\n%s", py.out, py.err);
        struct e2e_run run = {0};
        e2e_load_reports(&run, dir);
        const struct st_report *r = e2e_report(&run, child);
        cr_assert_not_null(r, "run %d: no report of the child %d", i, child);
        cr_assert_eq(r->nthreads, 0, "run %d: the feeder thread was listed (%u threads)", i,
                     r->nthreads);
        e2e_free(&run);
        e2e_cli_free(&py);
        e2e_rmdir(dir);
    }
}
