/* End-to-end: programs that handle crash signals themselves. A crash report
 * comes only when the signal is about to end the process (default action,
 * a handler that restores it and raises again, SA_RESETHAND, abort); a
 * fault the program recovers from leaves no trace and the exit report
 * comes as usual. Output and exit status are always as without strays. */
#define _GNU_SOURCE
#include "e2e.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* No core files, but the hard limit kept: one test raises it again. */
static void no_core_files(void)
{
    struct rlimit now;
    getrlimit(RLIMIT_CORE, &now);
    now.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &now);
}

TestSuite(signals, .init = no_core_files);

/* Runs crash_handlers MODE under strays and plain: same output, same
 * status (want_status under strays: 23 when plain exits 0 with the leak). */
static void run_mode(struct e2e_run *run, const char *mode, int want_status)
{
    const char *args[] = {mode, NULL};
    e2e_run(run, "fixtures/crash_handlers", NULL, args);
    struct e2e_run plain;
    e2e_run_raw(&plain, "fixtures/crash_handlers", NULL, args, false);
    cr_assert_str_eq(run->out, plain.out, "%s: output changed under strays", mode);
    cr_assert_eq(plain.status, want_status == 23 ? 0 : want_status, "%s: plain status %d", mode,
                 plain.status);
    cr_assert_eq(run->status, want_status, "%s: status %d under strays; stderr:\n%s", mode,
                 run->status, run->err);
    e2e_free(&plain);
}

/* The exit report: the blocked worker and the fd left open, nothing else. */
static void assert_exit_report(const struct e2e_run *run, int exit_status)
{
    const struct st_report *r = e2e_only_report(run);
    cr_assert_str_eq(r->reason, "exit", "no crash report; stderr:\n%s", run->err);
    cr_assert_eq(r->exit_status, exit_status);
    cr_assert_eq(r->signal, 0);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(r->threads[0].state, ST_RT_BLOCKED);
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/dev/null");
}

/* One crash report, of sig, with the worker and the fd. */
static const struct st_report *assert_crash_report(const struct e2e_run *run, int sig)
{
    const struct st_report *r = e2e_only_report(run);
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->signal, sig);
    cr_assert_eq(r->crash_tid, r->pid);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(r->nfds, 1);
    return r;
}

Test(signals, fault_recovered_by_siglongjmp_is_no_crash_and_the_exit_report_comes)
{
    struct e2e_run run;
    run_mode(&run, "longjmp", 23);
    cr_assert_str_eq(run.out, "recovered\n");
    assert_exit_report(&run, 0);
    e2e_free(&run);
}

Test(signals, fault_skipped_by_a_handler_that_fixes_the_context_is_no_crash)
{
    struct e2e_run run;
    run_mode(&run, "skip", 23);
    cr_assert_str_eq(run.out, "handler's mask as asked\nskipped the fault\n");
    assert_exit_report(&run, 0);
    e2e_free(&run);
}

/* The program's handler runs with its own sa_mask, and with SA_NODEFER its
 * own signal unblocked, as the kernel would have run it. */
Test(signals, chained_handler_gets_the_mask_and_nodefer_it_asked_for)
{
    struct e2e_run run;
    run_mode(&run, "skip-nodefer", 23);
    cr_assert_str_eq(run.out, "handler's mask as asked\nskipped the fault\n");
    assert_exit_report(&run, 0);
    e2e_free(&run);
}

Test(signals, handler_that_restores_the_default_and_raises_gives_one_crash_report)
{
    struct e2e_run run;
    run_mode(&run, "reraise", 128 + 11);
    cr_assert_str_eq(run.out, "crash handler: SIGSEGV\n");
    const struct st_report *r = assert_crash_report(&run, 11);
    cr_assert_eq(r->fault_address, 0, "the fault's own address, not the raise's");
    cr_assert(e2e_stack_has(r, r->crash_stack, "fault"));
    e2e_free(&run);
}

/* The report comes when the signal is about to end the process: after the
 * program's own handler had its say (both write to stdout here). */
static void assert_report_after(const char *mode, const char *said_text, int sig)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/crash_handlers", "log_path=stdout", (const char *[]){mode, NULL},
                true);
    cr_assert_eq(run.status, 128 + sig);
    const char *said = strstr(run.out, said_text);
    const char *report = strstr(run.out, "strays: report (crash: ");
    cr_assert(said && report && said < report, "%s: stdout:\n%s", mode, run.out);
    cr_assert_null(strstr(report + 1, "strays: report ("), "one report only:\n%s", run.out);
    e2e_free(&run);
}

Test(signals, crash_report_comes_after_the_programs_own_crash_handler)
{
    assert_report_after("reraise", "crash handler: SIGSEGV\n", 11);
    assert_report_after("abort", "handler: SIGABRT\n", 6);
}

Test(signals, handler_that_restores_the_default_and_returns_gives_one_crash_report)
{
    struct e2e_run run;
    run_mode(&run, "restore-return", 128 + 11);
    const struct st_report *r = assert_crash_report(&run, 11);
    cr_assert_eq(e2e_frame_of(r, r->crash_stack, "fault"), 0);
    e2e_free(&run);
}

Test(signals, resethand_handler_runs_once_then_the_fault_is_a_crash)
{
    struct e2e_run run;
    run_mode(&run, "resethand", 128 + 11);
    cr_assert_str_eq(run.out, "handler: SIGSEGV\n");
    const struct st_report *r = assert_crash_report(&run, 11);
    cr_assert_eq(e2e_frame_of(r, r->crash_stack, "fault"), 0);
    e2e_free(&run);
}

Test(signals, real_crash_after_a_handled_fault_gets_its_own_report)
{
    struct e2e_run run;
    run_mode(&run, "second", 128 + 11);
    cr_assert_str_eq(run.out, "recovered\n");
    const struct st_report *r = assert_crash_report(&run, 11);
    cr_assert(e2e_stack_has(r, r->crash_stack, "run"));
    cr_assert(!e2e_stack_has(r, r->crash_stack, "recover_once"), "the report is the second fault's");
    e2e_free(&run);
}

/* glibc's abort() resets SIGABRT behind strays' back once the program's
 * handler returns, and raises it again: that is a crash, reported before. */
Test(signals, abort_after_a_sigabrt_handler_returns_is_a_crash)
{
    struct e2e_run run;
    run_mode(&run, "abort", 128 + 6);
    cr_assert_str_eq(run.out, "handler: SIGABRT\n");
    const struct st_report *r = assert_crash_report(&run, 6);
    cr_assert(e2e_stack_has(r, r->crash_stack, "abort"));
    e2e_free(&run);
}

/* The handler ends the process with _exit: an exit report with its status,
 * built in that signal handler without malloc. */
Test(signals, handler_that_exits_gives_the_exit_report_with_its_status)
{
    struct e2e_run run;
    run_mode(&run, "exit", 3);
    cr_assert_str_eq(run.out, "crash handler exits 3\n");
    assert_exit_report(&run, 3);
    e2e_free(&run);
}

/* Dumps core where plain does: the wait status, core flag included, is the
 * same with strays as without. */
Test(signals, reraised_crash_dumps_core_as_without_strays)
{
    struct rlimit limit;
    getrlimit(RLIMIT_CORE, &limit);
    limit.rlim_cur = limit.rlim_max;
    if (limit.rlim_max < 16 * 1024 * 1024 || setrlimit(RLIMIT_CORE, &limit) != 0)
        cr_skip_test("core files are not allowed here (hard limit %llu)",
                     (unsigned long long)limit.rlim_max);
    char dir[] = "/tmp/strays-core.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("CRASH_CORE_DIR", dir, 1);
    const char *args[] = {"reraise", NULL};
    struct e2e_run plain, run;
    e2e_run_raw(&plain, "fixtures/crash_handlers", NULL, args, false);
    e2e_run(&run, "fixtures/crash_handlers", NULL, args);
    unsetenv("CRASH_CORE_DIR");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert(WIFSIGNALED(plain.wait_status) && WTERMSIG(plain.wait_status) == SIGSEGV);
    if (!WCOREDUMP(plain.wait_status))
        cr_skip_test("no core dumped even without strays (core_pattern?)");
    cr_assert_eq(run.wait_status, plain.wait_status, "wait status %#x under strays, %#x plain",
                 run.wait_status, plain.wait_status);
    assert_crash_report(&run, 11);
    e2e_free(&plain);
    e2e_free(&run);
}

/* A handler installed before strays started (a library's constructor) is
 * the program's all the same: its recovery is no crash. */
Test(signals, handler_installed_before_strays_started_recovers_without_a_crash_report)
{
    const char *args[] = {"handler", NULL};
    struct e2e_run run, plain;
    e2e_run(&run, "fixtures/crash_early_handler", NULL, args);
    e2e_run_raw(&plain, "fixtures/crash_early_handler", NULL, args, false);
    cr_assert_str_eq(run.out, "recovered from SIGSEGV\n");
    cr_assert_str_eq(run.out, plain.out);
    cr_assert_eq(plain.status, 0);
    cr_assert_eq(run.status, 23, "the fd left open; stderr:\n%s", run.err);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/etc/hostname");
    e2e_free(&run);
    e2e_free(&plain);
}
