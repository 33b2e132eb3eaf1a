/* End-to-end: fds and POSIX timers left open at exit, each with where it
 * was made, and the clean twins (closed behind every kind of close, ids
 * reused at once) that must report nothing. */
#define _GNU_SOURCE
#include "e2e.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct st_report_fd *fd_of_kind(const struct st_report *r, const char *kind)
{
    for (uint32_t i = 0; i < r->nfds; i++)
        if (!strcmp(r->fds[i].kind, kind))
            return &r->fds[i];
    return NULL;
}

static void assert_clean(const struct e2e_run *run, const char *what)
{
    const struct st_report *r = e2e_only_report(run);
    cr_assert_eq(run->status, 0, "%s: status %d; stderr:\n%s", what, run->status, run->err);
    cr_assert_eq(r->nthreads + r->ntimers + r->nfds, 0,
                 "%s: %u threads, %u timers, %u fds reported (first fd %d %s)", what,
                 r->nthreads, r->ntimers, r->nfds, r->nfds ? r->fds[0].fd : -1,
                 r->nfds ? r->fds[0].target : "");
}

Test(fds, fd_leaked_on_error_path_is_reported_with_path_and_site)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_error_path_leak", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.out, "setting: -1\n");
    cr_assert_eq(r->nfds, 1);
    cr_assert_eq(r->ntimers, 0);
    const struct st_report_fd *f = &r->fds[0];
    cr_assert_eq(f->fd, 3, "the program's first fd, as without strays");
    cr_assert_str_eq(f->kind, "file");
    cr_assert_str_eq(f->target, "/etc/hostname");
    cr_assert_null(f->stream);
    cr_assert_eq(f->tid, r->pid);
    cr_assert_eq(e2e_frame_of(r, f->created_by, "read_setting"), 0);
    const struct st_frame *fr = &r->stacks[f->created_by].frames[0];
    cr_assert_eq(fr->line, 9, "the open() line");
    e2e_free(&run);
}

/* fd_fopen_opendir's two fds, field by field: the same whether they were
 * checked against /proc or not (check_budget). */
static void assert_fopen_opendir_fds(const struct st_report *r)
{
    cr_assert_eq(r->nfds, 2);
    const struct st_report_fd *file = fd_of_kind(r, "file"), *dir = fd_of_kind(r, "dir");
    cr_assert_not_null(file);
    cr_assert_not_null(dir);
    cr_assert_str_eq(file->target, "/etc/passwd");
    cr_assert_str_eq(file->stream, "FILE");
    cr_assert_neq(file->stream_address, 0);
    cr_assert_eq(e2e_frame_of(r, file->created_by, "open_log"), 0);
    cr_assert_str_eq(dir->target, "/etc");
    cr_assert_str_eq(dir->stream, "DIR");
    cr_assert_eq(e2e_frame_of(r, dir->created_by, "scan_dir"), 0);
}

Test(fds, unclosed_fopen_and_opendir_are_reported_with_their_streams)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fopen_opendir", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    assert_fopen_opendir_fds(r);
    e2e_free(&run);
}

/* freopen(NULL) keeps the stream on its fd and file: still the leak it was,
 * created where the stream was opened. freopen(path) makes a new one, created
 * at the freopen. Closed afterwards, nothing. */
Test(fds, a_stream_reopened_by_freopen_stays_tracked)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_freopen", NULL, (const char *[]){"null", NULL});
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(run.out, "reopened: 1\n");
    cr_assert_eq(run.status, 23, "stderr:\n%s", run.err);
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/etc/passwd");
    cr_assert_str_eq(r->fds[0].stream, "FILE");
    cr_assert_eq(e2e_frame_of(r, r->fds[0].created_by, "open_log"), 0);
    e2e_free(&run);

    e2e_run(&run, "fixtures/fd_freopen", NULL, (const char *[]){"path", NULL});
    r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/etc/hostname");
    cr_assert_eq(e2e_frame_of(r, r->fds[0].created_by, "reopen_log"), 0);
    e2e_free(&run);

    e2e_run(&run, "fixtures/fd_freopen", NULL, (const char *[]){"closed", NULL});
    assert_clean(&run, "freopen(NULL), then fclose");
    e2e_free(&run);
}

/* Streams with no fd of their own: closing them must not touch the table,
 * and only the FILE* kept beside them is reported. */
Test(fds, memory_streams_are_not_fds_and_leave_the_kept_file_reported)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_memory_streams", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(run.out, "closed 3 memory streams, wrote 1\n");
    cr_assert_eq(r->nfds, 1);
    cr_assert_eq(r->fds[0].fd, 3);
    cr_assert_str_eq(r->fds[0].kind, "file");
    cr_assert_str_eq(r->fds[0].target, "/etc/passwd");
    cr_assert_str_eq(r->fds[0].stream, "FILE");
    cr_assert_eq(e2e_frame_of(r, r->fds[0].created_by, "keep_config"), 0);
    e2e_free(&run);
}

Test(fds, one_end_of_socketpair_and_of_pipe_are_reported)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_socketpair_pipe_ends", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nfds, 2);
    const struct st_report_fd *sock = fd_of_kind(r, "socket"), *pipe = fd_of_kind(r, "pipe");
    cr_assert_not_null(sock);
    cr_assert_not_null(pipe);
    cr_assert_eq(sock->fd, 3);
    cr_assert_eq(pipe->fd, 6, "write end of the pipe");
    cr_assert(!strncmp(sock->target, "socket:[", 8), "%s", sock->target);
    cr_assert_not_null(strstr(sock->target, "unix stream"), "%s", sock->target);
    cr_assert(!strncmp(pipe->target, "pipe:[", 6), "%s", pipe->target);
    char expect[64];
    snprintf(expect, sizeof expect, "kept socket 3 and pipe write end 6\n");
    cr_assert_str_eq(run.out, expect);
    e2e_free(&run);
}

Test(fds, epoll_eventfd_and_timerfd_each_reported_once)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_epoll_eventfd_timerfd", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nfds, 2, "epoll and eventfd; the timerfd is a timer");
    cr_assert_not_null(fd_of_kind(r, "epoll"));
    cr_assert_not_null(fd_of_kind(r, "eventfd"));
    cr_assert_str_eq(fd_of_kind(r, "eventfd")->target, "anon_inode:[eventfd]");
    cr_assert_eq(r->ntimers, 1);
    const struct st_report_timer *t = &r->timers[0];
    cr_assert_eq(t->fd, 5);
    cr_assert_str_eq(t->id, "fd:5");
    cr_assert_str_eq(t->clock, "CLOCK_MONOTONIC");
    cr_assert_str_eq(t->notify, "fd");
    cr_assert_eq(t->armed, true);
    cr_assert_eq(t->interval_ns, 250000000u);
    cr_assert(e2e_stack_has(r, t->created_by, "main"));
    e2e_free(&run);
}

Test(fds, kept_dup_is_a_leak_but_dup2_onto_stdout_is_not)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_dup_kept", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nfds, 1);
    cr_assert_eq(r->fds[0].fd, 4);
    cr_assert_str_eq(r->fds[0].target, "/dev/null");
    cr_assert_str_eq(r->fds[0].kind, "file");
    cr_assert_str_eq(run.out, "", "stdout went to /dev/null");
    e2e_free(&run);
}

Test(fds, close_range_and_closefrom_leave_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_close_range", NULL, NULL);
    assert_clean(&run, "close_range");
    cr_assert_str_eq(run.out, "closed 3..102\n");
    e2e_free(&run);
}

Test(fds, daemon_closing_every_fd_still_gets_its_report)
{
    static const char *const hows[] = {"closefrom", "loop", "dup2", "stderr"};
    for (size_t i = 0; i < sizeof hows / sizeof hows[0]; i++) {
        struct e2e_run run;
        const char *args[] = {hows[i], NULL};
        e2e_run(&run, "fixtures/fd_daemon_closes_all", NULL, args);
        const struct st_report *r = e2e_only_report(&run);
        cr_assert_eq(run.status, 23, "%s: status %d", hows[i], run.status);
        cr_assert_eq(r->nfds, 1, "%s: %u fds", hows[i], r->nfds);
        cr_assert_str_eq(r->fds[0].target, "/dev/null");
        cr_assert(e2e_stack_has(r, r->fds[0].created_by, "main"));
        e2e_free(&run);
    }
}

Test(fds, daemon_closing_every_fd_still_gets_its_report_on_stderr)
{
    struct e2e_run run;
    const char *args[] = {"loop", NULL};
    e2e_run_raw(&run, "fixtures/fd_daemon_closes_all", "", args, true);
    cr_assert_eq(run.status, 23);
    cr_assert_not_null(strstr(run.err, "1 fd (file /dev/null) opened at:"), "%s", run.err);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked fd in 1 group"), "%s", run.err);
    e2e_free(&run);
}

Test(fds, forked_child_reports_its_own_fd_and_parent_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fork_child_leak", NULL, NULL);
    cr_assert_eq(run.nreports, 2, "stderr:\n%s", run.err);
    cr_assert_eq(run.status, 23, "the child's leak fails its parent, the root");
    int child_pid = 0;
    cr_assert_eq(sscanf(run.out, "child %d exited", &child_pid), 1, "%s", run.out);
    const struct st_report *child = e2e_report(&run, child_pid);
    cr_assert_not_null(child);
    cr_assert_eq(child->nfds, 1);
    cr_assert_str_eq(child->fds[0].target, "/etc/hostname");
    cr_assert_eq(e2e_frame_of(child, child->fds[0].created_by, "child_work"), 0);
    for (int i = 0; i < run.nreports; i++)
        if (run.reports[i].pid != child_pid)
            cr_assert_eq(run.reports[i].nfds + run.reports[i].ntimers + run.reports[i].nthreads,
                         0, "the parent leaked nothing");
    e2e_free(&run);
}

Test(fds, clean_program_using_every_kind_reports_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_timer_clean", NULL, NULL);
    /* popen's shell is preloaded too and writes its own (clean) report. */
    cr_assert_eq(run.nreports, 2, "stderr:\n%s", run.err);
    const struct st_report *r = e2e_main_report(&run, "fixtures/fd_timer_clean");
    cr_assert_not_null(r);
    cr_assert_eq(r->nthreads + r->ntimers + r->nfds, 0, "%u fds (first %d %s), %u timers",
                 r->nfds, r->nfds ? r->fds[0].fd : -1, r->nfds ? r->fds[0].target : "",
                 r->ntimers);
    for (int i = 0; i < run.nreports; i++)
        cr_assert_eq(st_report_leak_count(&run.reports[i]), 0);
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.out, "clean\n");
    e2e_free(&run);
}

Test(fds, clean_program_prints_nothing_on_stderr)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/fd_timer_clean", "", NULL, true);
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.err, "");
    e2e_free(&run);
}

Test(fds, track_option_turns_fd_tracking_off)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_error_path_leak", "track=threads,timers", NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_eq(r->nfds, 0);
    cr_assert_str_eq(run.err, "");
    e2e_free(&run);
}

Test(timers, periodic_timer_never_deleted_is_reported_armed_with_interval)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_periodic_leak", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.out, "ticked\n");
    cr_assert_eq(r->ntimers, 1, "the deleted one-shot timer is not reported");
    cr_assert_eq(r->nfds, 0);
    const struct st_report_timer *t = &r->timers[0];
    cr_assert(!strncmp(t->id, "0x", 2));
    cr_assert_str_eq(t->clock, "CLOCK_MONOTONIC");
    cr_assert_str_eq(t->notify, "signal:SIGALRM");
    cr_assert_eq(t->armed, true);
    cr_assert_eq(t->interval_ns, 50000000u);
    cr_assert_eq(t->fd, -1);
    cr_assert_eq(t->tid, r->pid);
    cr_assert_eq(e2e_frame_of(r, t->created_by, "start_ticker"), 0);
    e2e_free(&run);
}

Test(timers, two_thousand_timers_created_and_deleted_report_nothing)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_churn_clean", NULL, NULL);
    assert_clean(&run, "timer churn");
    e2e_free(&run);
}

Test(timers, track_option_turns_timer_tracking_off)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_periodic_leak", "track=threads,fds", NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->ntimers, 0);
    cr_assert_eq(run.status, 0);
    e2e_free(&run);
}

Test(timers, old_glibc_2_2_5_timer_abi_is_forwarded_and_tracked)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_compat_abi", NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "status %d; stderr:\n%s", run.status, run.err);
    int a = -1, b = -1;
    cr_assert_eq(sscanf(run.out, "old ids %d %d", &a, &b), 2, "%s", run.out);
    cr_assert_eq(r->ntimers, 1);
    char id[16];
    snprintf(id, sizeof id, "0x%x", b);
    cr_assert_str_eq(r->timers[0].id, id, "the old ABI's integer id");
    cr_assert_str_eq(r->timers[0].clock, "CLOCK_REALTIME");
    cr_assert_str_eq(r->timers[0].notify, "none");
    cr_assert_eq(r->timers[0].armed, true);
    cr_assert_eq(r->timers[0].interval_ns, 2000000000u);
    e2e_free(&run);
}

Test(fds, fork_while_other_threads_capture_stacks_never_hangs_the_child)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fork_while_capturing", NULL, NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.out, "300 children exited 0\n");
    e2e_free(&run);
}

/* check_budget=0: nothing is asked of the kernel. fds are reported with the
 * kind and name they were created with, timers with the armed state the
 * program last set, and the report counts both as unchecked. With the
 * default budget a small program is checked in full. */
Test(budget, check_budget_0_reports_fds_as_created_and_counts_them)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fopen_opendir", "check_budget=0", NULL);
    const struct st_report *r = e2e_only_report(&run);
    assert_fopen_opendir_fds(r);
    cr_assert_eq(r->tracking.fds_unchecked, 2);
    cr_assert_eq(r->tracking.timers_unchecked, 0);
    e2e_free(&run);

    e2e_run(&run, "fixtures/fd_fopen_opendir", NULL, NULL);
    r = e2e_only_report(&run);
    cr_assert_eq(r->nfds, 2);
    cr_assert_eq(r->tracking.fds_unchecked, 0, "the default budget checks them all");
    e2e_free(&run);
}

Test(budget, check_budget_0_reports_timers_as_last_set_and_counts_them)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_periodic_leak", "check_budget=0", NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->ntimers, 1, "the deleted one-shot timer is gone from the registry");
    cr_assert_eq(r->timers[0].armed, true);
    cr_assert_eq(r->timers[0].interval_ns, 50000000u);
    cr_assert_eq(r->tracking.timers_unchecked, 1);
    cr_assert_eq(r->tracking.fds_unchecked, 0);
    e2e_free(&run);
}

/* The text report says what went unchecked, in one line per kind. */
Test(budget, text_report_names_the_unchecked_fds)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/fd_fopen_opendir", "check_budget=0", NULL, true);
    cr_assert_not_null(strstr(run.err, "strays: 2 fds not checked against /proc within the "
                                       "report's time budget: kind and name as created\n"),
                       "%s", run.err);
    cr_assert_not_null(strstr(run.err, "/etc/passwd"), "%s", run.err);
    e2e_free(&run);
}

/* closedir(NULL) fails with EINVAL in glibc; fdopendir and fdopen on bad
 * fds fail. Under strays each gives the same result and errno. */
Test(fds, bad_dir_and_stream_arguments_fail_as_in_glibc)
{
    struct e2e_run run, plain;
    e2e_run(&run, "fixtures/fd_null_streams", NULL, NULL);
    e2e_run_raw(&plain, "fixtures/fd_null_streams", NULL, NULL, false);
    cr_assert_eq(run.status, 0, "status %d; stderr:\n%s", run.status, run.err);
    cr_assert_str_eq(run.out, "closedir(NULL)=-1 errno=EINVAL\n"
                              "fdopendir(-1)=0 errno=EBADF\n"
                              "fdopendir(file)=0 errno=ENOTDIR\n"
                              "fdopendir(closed)=0 errno=EBADF\n"
                              "fdopen(closed)=0 errno=EBADF\n");
    cr_assert_str_eq(run.out, plain.out);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nthreads + r->ntimers + r->nfds, 0);
    e2e_free(&run);
    e2e_free(&plain);
}

/* fclose, pclose and freopen on NULL crash inside glibc (undefined
 * behaviour): under strays they crash there too, with the same signal,
 * and not earlier in strays' hook. */
Test(fds, null_stream_crashes_inside_glibc_as_without_strays)
{
    static const char *const modes[][2] = {{"fclose", "fclose"}, {"pclose", "fclose"},
                                           {"freopen", "freopen"}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *args[] = {modes[i][0], NULL};
        struct e2e_run run, plain;
        e2e_run(&run, "fixtures/fd_null_streams", NULL, args);
        e2e_run_raw(&plain, "fixtures/fd_null_streams", NULL, args, false);
        cr_assert_eq(plain.status, 128 + SIGSEGV, "%s: plain status %d", modes[i][0],
                     plain.status);
        cr_assert_eq(run.status, plain.status, "%s: status %d", modes[i][0], run.status);
        cr_assert_str_eq(run.out, plain.out);
        const struct st_report *r = e2e_only_report(&run);
        cr_assert_str_eq(r->reason, "crash");
        const struct st_frame *top = &r->stacks[r->crash_stack].frames[0];
        cr_assert(top->function && strstr(top->function, modes[i][1]), "%s: crashed in %s",
                  modes[i][0],
                         top->function);
        cr_assert_not_null(strstr(top->module, "/libc.so.6"), "%s", top->module);
        e2e_free(&run);
        e2e_free(&plain);
    }
}

/* A shell keeps the script it runs open until it ends (dash on fd 10 and
 * up, bash on fd 255): by design, so it is left out and counted as
 * suppressed, even after the script changed directory. An fd the script
 * itself leaves open is still reported. */
static void assert_shell_script(const char *script, const char *shell)
{
    struct e2e_run run;
    e2e_run(&run, script, NULL, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(run.out, "ran\n");
    cr_assert_eq(run.status, 0, "%s: status %d; stderr:\n%s", shell, run.status, run.err);
    cr_assert_eq(r->nfds, 0, "%s: fd %d (%s) reported", shell, r->nfds ? r->fds[0].fd : -1,
                 r->nfds ? r->fds[0].target : "");
    cr_assert_eq(r->suppressed.fds, 1, "%s: the script's fd", shell);
    e2e_free(&run);

    e2e_run(&run, script, NULL, (const char *[]){"leak", NULL});
    r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "%s: status %d; stderr:\n%s", shell, run.status, run.err);
    cr_assert_eq(r->nfds, 1, "%s: %u fds", shell, r->nfds);
    cr_assert_eq(r->fds[0].fd, 3);
    cr_assert_str_eq(r->fds[0].target, "/etc/hostname");
    cr_assert_eq(r->suppressed.fds, 1);
    e2e_free(&run);
}

Test(fds, a_shells_own_script_fd_is_left_out_and_the_scripts_leak_reported)
{
    assert_shell_script("fixtures/shell_script.sh", "dash");
    assert_shell_script("fixtures/shell_script_bash.sh", "bash");
}
