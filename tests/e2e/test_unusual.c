/* End-to-end: programs that do unusual things (issue 8). Each runs under
 * strays and, where it is cheap, also without it: the report is checked
 * field by field, and the program's output and exit status must be the
 * same as without strays (except 23 for a leak, strays' own verdict). */
#define _GNU_SOURCE
#include "e2e.h"

#include "report/report_parse.h"
#include "symbolize/symbolize_offline.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The number after "prefix " on the program's stderr (each fixture writes
 * its pids there), or 0. */
static int pid_said(const struct e2e_run *run, const char *prefix)
{
    const char *at = strstr(run->err, prefix);
    return at ? atoi(at + strlen(prefix)) : 0;
}

/* Runs fixture without strays and checks the run under strays printed the
 * same and ended the same (want_status: what strays makes of that status). */
static void assert_same_as_plain(const struct e2e_run *run, const char *fixture,
                                 const char *const *args, int want_status)
{
    struct e2e_run plain;
    e2e_run_raw(&plain, fixture, NULL, args, false);
    cr_assert_str_eq(run->out, plain.out, "%s: output changed under strays", fixture);
    cr_assert_eq(plain.status, want_status == 23 ? 0 : want_status, "%s: plain status %d",
                 fixture, plain.status);
    cr_assert_eq(run->status, want_status, "%s: status %d under strays; stderr:\n%s", fixture,
                 run->status, run->err);
    e2e_free(&plain);
}

static void assert_exit_header(const struct st_report *r, int pid, int exit_status)
{
    cr_assert_eq(r->pid, pid);
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, exit_status, "exit_status %d", r->exit_status);
    cr_assert_str_eq(r->exe, e2e_build_path("fixtures/unusual_spawn"));
}

/* ---- vfork, posix_spawn, system, popen ---- */

/* The exec'd child (the fixture again): its own report, with nothing of
 * the parent's in it (the fd the parent kept open is inherited, not its leak). */
static void assert_child_report(const struct e2e_run *run)
{
    int child = pid_said(run, "child pid ");
    cr_assert_gt(child, 0, "stderr: %s", run->err);
    const struct st_report *c = e2e_report(run, child);
    cr_assert_not_null(c, "no report of the child %d", child);
    assert_exit_header(c, child, 3);
    cr_assert_eq(c->nthreads + c->ntimers + c->nfds + c->nuntracked, 0);
}

/* mode with the parent leaking nothing (keep false) or /dev/null (keep true). */
static void check_spawn(const char *mode, bool keep, bool child_execs)
{
    const char *args[] = {mode, keep ? "keep" : "clean", NULL};
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_spawn", NULL, args);
    assert_same_as_plain(&run, "fixtures/unusual_spawn", args, keep ? 23 : 0);
    int parent = pid_said(&run, "parent pid ");
    cr_assert_eq(run.nreports, child_execs ? 2 : 1, "%s: %d reports; stderr:\n%s", mode,
                 run.nreports, run.err);
    const struct st_report *p = e2e_report(&run, parent);
    cr_assert_not_null(p, "%s: no report of the parent %d", mode, parent);
    assert_exit_header(p, parent, 0);
    cr_assert_eq(p->nthreads + p->ntimers + p->nuntracked, 0);
    cr_assert_eq(p->nfds, keep ? 1 : 0, "%s: %u fds (first %d)", mode, p->nfds,
                 p->nfds ? p->fds[0].fd : -1);
    if (keep) {
        /* The child closed its copy: the parent's own stays a leak. */
        const struct st_report_fd *f = &p->fds[0];
        cr_assert_eq(f->fd, 3);
        cr_assert_str_eq(f->kind, "file");
        cr_assert_str_eq(f->target, "/dev/null");
        cr_assert_null(f->stream);
        cr_assert_eq(f->tid, parent);
        cr_assert_eq(e2e_frame_of(p, f->created_by, "keep_one_fd"), 0);
    }
    if (child_execs)
        assert_child_report(&run);
    e2e_free(&run);
}

Test(unusual, vfork_then_exec_leaves_the_parents_registries_alone)
{
    check_spawn("vfork-exec", false, true);
    check_spawn("vfork-exec", true, true);
}

Test(unusual, vfork_then_exit_writes_no_report_for_the_child)
{
    check_spawn("vfork-exit", false, false);
    check_spawn("vfork-exit", true, false);
}

Test(unusual, posix_spawn_child_reports_only_itself)
{
    check_spawn("posix_spawn", false, true);
    check_spawn("posix_spawn", true, true);
}

Test(unusual, system_child_reports_only_itself)
{
    check_spawn("system", false, true);
    check_spawn("system", true, true);
}

Test(unusual, popen_closed_by_pclose_is_clean)
{
    check_spawn("popen", false, true);
    check_spawn("popen", true, true);
}

Test(unusual, popen_stream_never_pclosed_is_reported_as_popen)
{
    const char *args[] = {"popen-leak", "clean", NULL};
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_spawn", NULL, args);
    assert_same_as_plain(&run, "fixtures/unusual_spawn", args, 23);
    int parent = pid_said(&run, "parent pid ");
    const struct st_report *p = e2e_report(&run, parent);
    cr_assert_not_null(p);
    assert_exit_header(p, parent, 0);
    cr_assert_eq(p->nthreads + p->ntimers, 0);
    cr_assert_eq(p->nfds, 1);
    const struct st_report_fd *f = &p->fds[0];
    cr_assert_eq(f->fd, 3);
    cr_assert_str_eq(f->kind, "pipe");
    cr_assert_eq(strncmp(f->target, "pipe:[", 6), 0, "target %s", f->target);
    cr_assert_str_eq(f->stream, "popen");
    cr_assert_neq(f->stream_address, 0);
    cr_assert_eq(f->tid, parent);
    cr_assert_eq(e2e_frame_of(p, f->created_by, "run_popen"), 0);
    assert_child_report(&run);
    e2e_free(&run);
}

/* ---- exec ---- */

/* Runs fixture with reports in a directory of the test's own (passed to the
 * fixture as its first argument) and loads them into run->reports in file
 * name order. */
static void run_with_report_dir(struct e2e_run *run, const char *fixture, const char *options,
                                const char *const *more_args)
{
    char dir[64], opts[512];
    snprintf(dir, sizeof dir, "/tmp/strays-e2e-unusual.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r%s%s", dir, options ? ":" : "",
             options ? options : "");
    const char *args[8] = {dir};
    for (int i = 0; more_args && more_args[i] && i < 6; i++)
        args[i + 1] = more_args[i];
    e2e_run_raw(run, fixture, opts, args, true);
    e2e_load_reports(run, dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static const struct st_report_fd *fd_numbered(const struct st_report *r, int fd)
{
    for (uint32_t i = 0; i < r->nfds; i++)
        if (r->fds[i].fd == fd)
            return &r->fds[i];
    return NULL;
}

Test(unusual, exec_starts_afresh_and_each_image_has_its_own_report_file)
{
    struct e2e_run run;
    run_with_report_dir(&run, "fixtures/unusual_exec", NULL, NULL);
    const char *plain_args[] = {"-", NULL};
    assert_same_as_plain(&run, "fixtures/unusual_exec", plain_args, 23);
    cr_assert_str_eq(run.out, "image 1: fds 3 and 4\nimage 2: fd 3 inherited, fd 4 closed\n"
                              "image 2: opened fd 4\n");
    int pid = pid_said(&run, "image 1 pid ");
    cr_assert_eq(pid_said(&run, "image 2 pid "), pid, "exec keeps the pid");
    /* Same pid, two files: the first image's dump and the second's exit. */
    cr_assert_eq(run.nreports, 2, "stderr:\n%s", run.err);
    const struct st_report *first = &run.reports[0], *second = &run.reports[1];
    cr_assert_eq(first->pid, pid);
    cr_assert_str_eq(first->reason, "signal");
    cr_assert_eq(first->exit_status, -1);
    cr_assert_eq(first->nthreads, 1);
    cr_assert_str_eq(first->threads[0].name, "image1-worker");
    cr_assert_eq(first->nfds, 2);
    cr_assert_str_eq(fd_numbered(first, 3)->target, "/dev/null");
    cr_assert_str_eq(fd_numbered(first, 4)->target, "/dev/zero");
    /* The second image knows nothing of the first: not its thread (gone
     * with the old image), not the fd it inherited. */
    cr_assert_eq(second->pid, pid);
    cr_assert_str_eq(second->reason, "exit");
    cr_assert_eq(second->exit_status, 0);
    cr_assert_eq(second->nthreads + second->nuntracked + second->ntimers, 0);
    cr_assert_eq(second->nfds, 1);
    const struct st_report_fd *f = &second->fds[0];
    cr_assert_eq(f->fd, 4);
    cr_assert_str_eq(f->kind, "file");
    cr_assert_str_eq(f->target, "/etc/hostname");
    cr_assert_eq(f->tid, pid);
    cr_assert_eq(e2e_frame_of(second, f->created_by, "open_in_second_image"), 0);
    e2e_free(&run);
}

/* ---- signals and exit ---- */

static const struct st_report_thread *thread_named(const struct st_report *r, const char *name)
{
    const struct st_report_thread *t = e2e_thread_named(r, name);
    cr_assert_not_null(t, "no thread \"%s\" in the %s report", name, r->reason);
    return t;
}

/* Runs unusual_signals MODE under strays (reports in a directory of the
 * test's) and without, and checks output and status match. */
static void run_signals(struct e2e_run *run, const char *mode, const char *options,
                        int want_status)
{
    const char *args[] = {mode, NULL};
    run_with_report_dir(run, "fixtures/unusual_signals", options, args);
    const char *plain_args[] = {"-", mode, NULL};
    assert_same_as_plain(run, "fixtures/unusual_signals", plain_args, want_status);
}

/* The one exit report among the run's reports. Not by position: a dump that
 * was under way when the program exited may be published after it. */
static const struct st_report *exit_report(const struct e2e_run *run)
{
    cr_assert_gt(run->nreports, 0, "no report; stderr:\n%s", run->err);
    const struct st_report *r = NULL;
    for (int i = 0; i < run->nreports; i++)
        if (!strcmp(run->reports[i].reason, "exit")) {
            cr_assert_null(r, "one exit report");
            r = &run->reports[i];
        }
    cr_assert_not_null(r, "an exit report; stderr:\n%s", run->err);
    cr_assert_eq(r->pid, pid_said(run, "pid "));
    cr_assert_eq(r->exit_status, 0);
    cr_assert_str_eq(r->exe, e2e_build_path("fixtures/unusual_signals"));
    return r;
}

static void assert_blocked_in_pause(const struct st_report *r, const char *name)
{
    const struct st_report_thread *t = thread_named(r, name);
    cr_assert_eq(t->state, ST_RT_BLOCKED);
    cr_assert_str_eq(t->blocked->call, "pause");
    cr_assert(e2e_stack_has(r, t->stack, "sleeper"));
}

/* A thread left behind just before an exit: it may not have reached its
 * pause yet, so only its creation is certain. */
static void assert_left_behind(const struct st_report *r, const char *name)
{
    const struct st_report_thread *t = thread_named(r, name);
    cr_assert_neq(t->state, ST_RT_EXITED);
    cr_assert(e2e_stack_has(r, t->created_by, "start_sleeper"));
}

Test(unusual, every_signal_blocked_everywhere_dumps_and_exit_report_still_come)
{
    struct e2e_run run;
    run_signals(&run, "block-all", "dump_interval=20ms", 23);
    cr_assert_str_eq(run.out, "block-all: mask still full: yes\n");
    cr_assert_geq(run.nreports, 3, "two interval dumps and the exit report");
    /* (What the dumps hold depends on when they came; only the exit
     * report's content is certain.) */
    const struct st_report *r = exit_report(&run);
    for (int i = 0; i < run.nreports; i++) {
        if (&run.reports[i] != r)
            cr_assert_str_eq(run.reports[i].reason, "interval");
        cr_assert_eq(run.reports[i].pid, pid_said(&run, "pid "));
    }
    cr_assert_eq(r->nthreads, 2);
    cr_assert_eq(r->nuntracked + r->ntimers + r->nfds, 0);
    assert_blocked_in_pause(r, "sleeper");
    /* The spinner blocks strays' stack signal: no current stack, after a
     * bounded wait, and the rest of the report as usual. */
    const struct st_report_thread *spinner = thread_named(r, "spinner");
    cr_assert_eq(spinner->state, ST_RT_RUNNING);
    cr_assert_eq(spinner->stack, -1);
    cr_assert(e2e_stack_has(r, spinner->created_by, "run_block_all"));
    e2e_free(&run);
}

/* dump_signal set to a signal the program installs its own handler for:
 * the signal is the program's (strays gives it back and says so, once),
 * every one reaches the program's handler, none asks for a dump. */
static void check_own_usr1_usr2(const char *options, const char *name)
{
    struct e2e_run run;
    run_signals(&run, "usr1-usr2", options, 23);
    cr_assert_str_eq(run.out, "usr1-usr2: handled 3 and 3; handlers as installed: yes yes\n");
    cr_assert_eq(run.nreports, 1, "%s: the exit report alone", options);
    const struct st_report *r = exit_report(&run);
    cr_assert_eq(r->nthreads, 1);
    assert_blocked_in_pause(r, "sleeper");
    char said[300];
    snprintf(said, sizeof said, "strays: the program installed its own handler for %s, the dump "
                                "signal: it is the program's; strays takes no live dumps by "
                                "signal (dump_signal= chooses another)\n", name);
    const char *at = strstr(run.err, said);
    cr_assert_not_null(at, "stderr:\n%s", run.err);
    cr_assert_null(strstr(at + 1, said), "said once");
    e2e_free(&run);
}

Test(unusual, program_handler_for_the_dump_signal_takes_it_back)
{
    check_own_usr1_usr2("dump_signal=SIGUSR1", "SIGUSR1");
    check_own_usr1_usr2("dump_signal=SIGUSR2", "SIGUSR2");
}

Test(unusual, dump_signal_the_program_sigwaits_for_reaches_the_program)
{
    struct e2e_run run;
    run_signals(&run, "sigwait", "dump_signal=SIGUSR1", 0);
    cr_assert_str_eq(run.out, "sigwait: took SIGUSR1 3 times\n");
    cr_assert_eq(run.nreports, 1, "no dump: the signals were the program's");
    const struct st_report *r = exit_report(&run);
    cr_assert_eq(r->nthreads + r->nuntracked + r->nfds + r->ntimers, 0);
    e2e_free(&run);
}

Test(unusual, exit_from_two_threads_at_once_writes_one_whole_report)
{
    /* A race: a few rounds give it the chance to go wrong. */
    for (int round = 0; round < 5; round++) {
        struct e2e_run run;
        run_signals(&run, "exit-two", NULL, 23);
        cr_assert_str_eq(run.out, "exit-two: two threads call exit\n");
        cr_assert_eq(run.nreports, 1, "round %d: %d reports", round, run.nreports);
        const struct st_report *r = exit_report(&run);
        cr_assert_eq(r->nthreads, 3, "the lingerer and both threads in exit");
        assert_left_behind(r, "lingerer");
        thread_named(r, "exiter-a");
        thread_named(r, "exiter-b");
        e2e_free(&run);
    }
}

Test(unusual, exit_from_a_thread_while_main_blocks_everything_in_a_raw_wait)
{
    struct e2e_run run;
    run_signals(&run, "exit-blocked", NULL, 23);
    cr_assert_str_eq(run.out, "exit-blocked: a thread calls exit\n");
    cr_assert_eq(run.nreports, 1);
    const struct st_report *r = exit_report(&run);
    cr_assert_eq(r->nthreads, 2);
    cr_assert_eq(r->nuntracked, 0);
    assert_left_behind(r, "lingerer");
    const struct st_report_thread *exiter = thread_named(r, "exiter");
    cr_assert_eq(exiter->state, ST_RT_RUNNING);
    cr_assert(e2e_stack_has(r, exiter->created_by, "run_exit_blocked"));
    e2e_free(&run);
}

/* ---- dlclose ---- */

static void assert_in_unloaded_plugin(const struct st_report *r, int stack, const char *what)
{
    cr_assert_geq(stack, 0, "%s: no stack", what);
    const struct st_frame *f = &r->stacks[stack].frames[0];
    cr_assert(f->unloaded, "%s: frame #0 not marked unloaded", what);
    cr_assert_str_eq(f->module, e2e_build_path("fixtures/libunusual_plugin.so"), "%s", what);
    cr_assert_not_null(f->build_id, "%s", what);
    cr_assert_null(f->function, "%s: an unloaded frame is never symbolized in place", what);
    cr_assert_gt(f->offset, 0);
    cr_assert_lt(f->offset, 0x10000, "%s: offset %#lx is not inside the plugin", what,
                 (unsigned long)f->offset);
}

/* What `strays report --symbolize` would name frame #0 of stack. */
static const char *offline_name(struct st_report *r, int stack)
{
    struct st_offline_symbolizer *sym;
    char err[256];
    cr_assert_eq(st_offline_symbolizer_open(&sym, NULL, NULL, NULL, err, sizeof err), 0, "%s",
                 err);
    st_offline_symbolize_report(sym, r);
    st_offline_symbolizer_close(sym);
    return r->stacks[stack].frames[0].function;
}

Test(unusual, frames_of_a_dlclosed_plugin_are_named_as_unloaded_never_looked_up)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_dlclose", NULL, NULL);
    assert_same_as_plain(&run, "fixtures/unusual_dlclose", NULL, 23);
    cr_assert_str_eq(run.out, "dlclose 0, unloaded: yes\n");
    struct st_report *r = &run.reports[0];
    cr_assert_eq(run.nreports, 1);
    cr_assert_eq(r->pid, pid_said(&run, "pid "));
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, 0);
    cr_assert_eq(r->nuntracked + r->ntimers, 0);
    /* The reader: blocked in the plugin, created from it. */
    cr_assert_eq(r->nthreads, 2);
    const struct st_report_thread *reader = thread_named(r, "plugin-reader");
    cr_assert_eq(reader->state, ST_RT_BLOCKED);
    cr_assert_str_eq(reader->blocked->call, "read");
    cr_assert_eq(reader->blocked->fd, 4);
    assert_in_unloaded_plugin(r, reader->stack, "reader's wait");
    assert_in_unloaded_plugin(r, reader->created_by, "reader's creation");
    /* Frames outside the plugin are as usual. */
    const struct st_frame *caller = &r->stacks[reader->created_by].frames[1];
    cr_assert_not(caller->unloaded);
    cr_assert_str_eq(caller->function, "main");
    cr_assert_str_eq(caller->module, e2e_build_path("fixtures/unusual_dlclose"));
    const struct st_report_thread *done = &r->threads[reader == &r->threads[0] ? 1 : 0];
    assert_in_unloaded_plugin(r, done->created_by, "finished thread's creation");
    /* The fds it opened: /dev/null and both ends of the pipe. */
    cr_assert_eq(r->nfds, 3);
    const char *targets[] = {"/dev/null", "pipe:[", "pipe:["};
    for (int fd = 3; fd <= 5; fd++) {
        const struct st_report_fd *f = fd_numbered(r, fd);
        cr_assert_not_null(f, "fd %d", fd);
        cr_assert_eq(strncmp(f->target, targets[fd - 3], strlen(targets[fd - 3])), 0, "fd %d: %s",
                     fd, f->target);
        assert_in_unloaded_plugin(r, f->created_by, "fd");
    }
    /* Module, offset and build-id are right: the file on disk names them. */
    cr_assert_str_eq(offline_name(r, fd_numbered(r, 3)->created_by), "plugin_start");
    cr_assert_str_eq(offline_name(r, reader->stack), "read_forever");
    e2e_free(&run);
}

Test(unusual, unloaded_frames_are_marked_in_text_reports)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/unusual_dlclose", "format=text", NULL, true);
    cr_assert_eq(run.status, 23);
    char want[4200];
    snprintf(want, sizeof want, "#0 ?? [%s+0x", e2e_build_path("fixtures/libunusual_plugin.so"));
    cr_assert_not_null(strstr(run.err, want), "stderr:\n%s", run.err);
    cr_assert_not_null(strstr(run.err, ", unloaded]\n"), "stderr:\n%s", run.err);
    e2e_free(&run);
}

/* ---- at the fd limit ---- */

Test(unusual, at_the_fd_limit_strays_says_how_many_fds_are_its_own_and_still_reports)
{
    struct e2e_run run, plain;
    e2e_run(&run, "fixtures/unusual_emfile", NULL, NULL);
    e2e_run_raw(&plain, "fixtures/unusual_emfile", NULL, NULL, false);
    cr_assert_str_eq(run.out, "open failed with EMFILE\n");
    cr_assert_str_eq(plain.out, run.out);
    cr_assert_eq(plain.status, 0);
    cr_assert_eq(run.status, 23);
    int got = pid_said(&run, "EMFILE after "), got_plain = pid_said(&plain, "EMFILE after ");
    /* Not silently: the fds the program did not get are the ones strays
     * says it holds. */
    const char *said = strstr(run.err, "strays: the program ran out of file descriptors "
                                       "(EMFILE, limit 256); ");
    cr_assert_not_null(said, "stderr:\n%s", run.err);
    int own = atoi(strchr(said, ';') + 2);
    cr_assert_gt(own, 0);
    cr_assert_eq(got_plain - got, own, "plain %d, under strays %d, strays says %d its own",
                 got_plain, got, own);
    cr_assert_null(strstr(strstr(said, "\n"), "ran out of"), "said once");
    /* The report file was still written, whole, with every fd checked. */
    cr_assert_null(strstr(run.err, "cannot create report file"), "stderr:\n%s", run.err);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->pid, pid_said(&run, "pid "));
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, 0);
    cr_assert_eq(r->nthreads + r->ntimers, 0);
    cr_assert_eq(r->nfds, (uint32_t)got, "%u fds reported, %d opened", r->nfds, got);
    for (uint32_t i = 0; i < r->nfds; i++) {
        cr_assert_str_eq(r->fds[i].target, "/dev/null");
        cr_assert_eq(e2e_frame_of(r, r->fds[i].created_by, "open_one"), 0);
    }
    e2e_free(&run);
    e2e_free(&plain);
}

/* ---- threads no hook saw ---- */

Test(unusual, raw_clone_and_glibc_helper_threads_are_listed_untracked)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_untracked", NULL, NULL);
    assert_same_as_plain(&run, "fixtures/unusual_untracked", NULL, 0);
    cr_assert_str_eq(run.out, "timer fired, aio read 1 bytes\n");
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->pid, pid_said(&run, "pid "));
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, 0);
    /* Not the program's leaks (the timer was deleted, the fd closed)... */
    cr_assert_eq(r->nthreads + r->ntimers + r->nfds, 0);
    /* ...but there: the raw clone, and glibc's timer and AIO helpers. */
    cr_assert_geq(r->nuntracked, 2, "%u untracked", r->nuntracked);
    int raw = pid_said(&run, "raw tid ");
    bool found = false;
    for (uint32_t i = 0; i < r->nuntracked; i++) {
        cr_assert_neq(r->untracked[i].tid, r->pid, "the main thread is not untracked");
        if (r->untracked[i].tid == raw) {
            found = true;
            cr_assert_str_eq(r->untracked[i].name, "raw-clone");
        }
    }
    cr_assert(found, "raw clone %d not listed", raw);
    e2e_free(&run);
}

/* ---- threads before strays, daemons ---- */

/* A library's constructor starts a thread before strays' constructor runs:
 * the hook starts strays on the spot, so the thread is tracked, with the
 * loader's frames in its creation stack. */
Test(unusual, thread_started_by_a_constructor_before_strays_is_tracked)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_early_thread", NULL, NULL);
    assert_same_as_plain(&run, "fixtures/unusual_early_thread", NULL, 23);
    cr_assert_str_eq(run.out, "main ran\n");
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(r->nuntracked + r->ntimers + r->nfds, 0);
    const struct st_report_thread *t = thread_named(r, "early");
    cr_assert_eq(t->state, ST_RT_BLOCKED);
    cr_assert_eq(e2e_frame_of(r, t->created_by, "start_early_thread"), 0);
    cr_assert(e2e_stack_has(r, t->created_by, "_dl_init"), "created while the loader ran constructors");
    e2e_free(&run);
}

/* The first hooked call, in a library's constructor, starts strays: a
 * successful nanosleep still leaves errno as the program set it (strays'
 * start once left EAGAIN there). */
Test(unusual, first_hooked_call_starts_strays_and_keeps_errno)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_early_errno", NULL, NULL);
    assert_same_as_plain(&run, "fixtures/unusual_early_errno", NULL, 0);
    cr_assert_str_eq(run.out, "nanosleep 0, errno 0\n");
    cr_assert_eq(e2e_only_report(&run)->nthreads, 0);
    e2e_free(&run);
}

/* fork, setsid, fork again, close everything, reopen 0-2: the daemon's own
 * report holds its thread and its fd, its parents' reports nothing. */
Test(unusual, double_forked_setsid_daemon_that_closes_everything_reports_its_own_leaks)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/unusual_daemon", NULL, NULL);
    int daemon_pid = 0;
    cr_assert_eq(sscanf(run.out, "daemon %d", &daemon_pid), 1, "%s", run.out);
    cr_assert_eq(run.status, 0, "the parents leave nothing; stderr:\n%s", run.err);
    cr_assert_eq(run.nreports, 3, "one report per process; stderr:\n%s", run.err);
    const struct st_report *daemon = e2e_report(&run, daemon_pid);
    cr_assert_not_null(daemon);
    cr_assert_str_eq(daemon->reason, "exit");
    cr_assert_eq(daemon->nthreads, 1);
    cr_assert_str_eq(daemon->threads[0].name, "daemon-worker");
    cr_assert(e2e_stack_has(daemon, daemon->threads[0].created_by, "daemon_body"));
    cr_assert_eq(daemon->nfds, 1, "0-2 are never reported; the leak is fd 3");
    cr_assert_eq(daemon->fds[0].fd, 3);
    cr_assert_str_eq(daemon->fds[0].target, "/etc/hostname");
    for (int i = 0; i < run.nreports; i++)
        if (run.reports[i].pid != daemon_pid)
            cr_assert_eq(st_report_leak_count(&run.reports[i]), 0, "pid %d", run.reports[i].pid);
    e2e_free(&run);
}
