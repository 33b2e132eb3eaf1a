/* End-to-end: `strays inspect PID` on inspect_target, a process started
 * WITHOUT the preload: its threads where they block (call, object or fd,
 * wchan, current stack), its fds and timers, checked field by field; the
 * process running afterwards (no thread in a tracing stop), also after
 * strays was interrupted midway and after a refusal; refusals that name
 * their cause; the report read by `strays report`, `diff` and pprof. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* What inspect_target printed: its fds, port and condition. */
struct target {
    struct e2e_bg bg;
    int pipe_r, pipe_w, null, listener, port, timerfd;
    unsigned long long cond;
};

static void parse_ready(struct target *t)
{
    char *out = e2e_bg_output(&t->bg);
    int n =
        sscanf(strstr(out, "ready "), "ready pipe=%d,%d null=%d listen=%d:%d timerfd=%d cond=%llx",
               &t->pipe_r, &t->pipe_w, &t->null, &t->listener, &t->port, &t->timerfd, &t->cond);
    cr_assert_eq(n, 7, "%s", out);
    free(out);
}

static void start_target(struct target *t, const char *arg)
{
    e2e_bg_start(&t->bg, "fixtures/inspect_target", (const char *const[]){arg, NULL}, NULL, NULL,
                 NULL, "ready");
    parse_ready(t);
}

/* The target started as user nobody (setpriv), for the refusals. */
static void start_target_as_nobody(struct target *t, const char *arg)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv (util-linux)");
    e2e_tmpdir(t->bg.dir, sizeof t->bg.dir);
    char out[300], prog[400];
    snprintf(out, sizeof out, "%s/stdout", t->bg.dir);
    e2e_copy_from_build(prog, sizeof prog, t->bg.dir, "fixtures/inspect_target", "target");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    const char *argv[] = {
        "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", prog, arg, NULL};
    cr_assert_eq(posix_spawn(&t->bg.pid, argv[0], &fa, NULL, (char **)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert(e2e_bg_wait_output(&t->bg, "ready", 30000), "inspect_target did not start");
    parse_ready(t);
}

/* No thread of pid is stopped: none in state t (tracing stop) or T. */
static void assert_running(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "process %d is gone", pid);
    struct dirent *e;
    int threads = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char stat_path[400], *stat;
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        stat = e2e_slurp(stat_path);
        const char *end = strrchr(stat, ')');
        cr_assert(end && end[2] != 't' && end[2] != 'T', "thread %s left stopped: %s", e->d_name,
                  stat);
        free(stat);
        threads++;
    }
    closedir(d);
    cr_assert_gt(threads, 0);
}

static void inspect_json(struct st_report *r, const char *dir, int pid, const char *extra)
{
    char path[400], pid_text[16], err[600];
    snprintf(path, sizeof path, "%s/inspect.json", dir);
    snprintf(pid_text, sizeof pid_text, "%d", pid);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"inspect", pid_text, "--format", "json", "--output",
                                            path, extra, NULL});
    cr_assert_eq(run.status, 0, "status %d: %s", run.status, run.err);
    cr_assert_str_eq(run.err, "");
    e2e_cli_free(&run);
    cr_assert_eq(st_report_load(r, path, err, sizeof err), 0, "%s", err);
}

static const struct st_report_fd *fd_of(const struct st_report *r, int fd)
{
    for (uint32_t i = 0; i < r->nfds; i++)
        if (r->fds[i].fd == fd) return &r->fds[i];
    return NULL;
}

static void check_threads(const struct st_report *r, const struct target *t)
{
    int workers = 0, readers = 0, mains = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const struct st_report_thread *th = &r->threads[i];
        cr_assert_eq(th->created_by, -1, "no creation stack in an inspect report");
        cr_assert_eq(th->state, ST_RT_BLOCKED, "thread %d %s", th->tid, th->name);
        const struct st_report_blocked *b = th->blocked;
        cr_assert(b->since_unknown);
        cr_assert_not_null(b->wchan, "thread %d: no wchan", th->tid);
        if (!strcmp(th->name, "worker")) {
            workers++;
            cr_assert_str_eq(b->call, "futex");
            /* The futex word lies in the condition variable (48 bytes). */
            cr_assert(b->object >= t->cond && b->object < t->cond + 48, "object %#llx, cond %#llx",
                      (unsigned long long)b->object, t->cond);
            cr_assert(e2e_stack_has(r, th->stack, "worker"));
            cr_assert(e2e_stack_has(r, th->stack, "pthread_cond_wait"));
        } else if (!strcmp(th->name, "reader")) {
            readers++;
            cr_assert_str_eq(b->call, "read");
            cr_assert_eq(b->fd, t->pipe_r);
            cr_assert_str_eq(b->target, fd_of(r, t->pipe_r)->target);
            cr_assert_str_eq(b->wchan, "anon_pipe_read");
            cr_assert_eq(e2e_frame_of(r, th->stack, "reader"), 1, "read, then reader");
        } else {
            mains++;
            cr_assert_eq(th->tid, r->pid);
            cr_assert_str_eq(b->call, "pause");
            cr_assert(e2e_stack_has(r, th->stack, "main"));
        }
    }
    cr_assert_eq(workers, 3);
    cr_assert_eq(readers, 1);
    cr_assert_eq(mains, 1);
    cr_assert_eq(r->tracking.threads_without_stack, 0);
}

static void check_fds_and_timers(const struct st_report *r, const struct target *t)
{
    const struct st_report_fd *f = fd_of(r, t->pipe_r), *w = fd_of(r, t->pipe_w);
    cr_assert(f && w);
    cr_assert_str_eq(f->kind, "pipe");
    cr_assert_eq(strncmp(f->target, "pipe:[", 6), 0, "%s", f->target);
    cr_assert_str_eq(f->target, w->target);
    cr_assert_str_eq(fd_of(r, t->null)->kind, "file");
    cr_assert_str_eq(fd_of(r, t->null)->target, "/dev/null");
    const struct st_report_fd *s = fd_of(r, t->listener);
    char want[128];
    snprintf(want, sizeof want, " tcp 127.0.0.1:%d (listening)", t->port);
    cr_assert_str_eq(s->kind, "socket");
    cr_assert_not_null(strstr(s->target, want), "%s", s->target);
    cr_assert_null(fd_of(r, t->timerfd), "a timerfd is a timer");
    cr_assert_null(fd_of(r, 2));
    cr_assert_eq(r->ntimers, 2);
    for (uint32_t i = 0; i < r->ntimers; i++) {
        const struct st_report_timer *tm = &r->timers[i];
        cr_assert_eq(tm->created_by, -1);
        if (tm->fd >= 0) {
            cr_assert_eq(tm->fd, t->timerfd);
            cr_assert_str_eq(tm->clock, "CLOCK_BOOTTIME");
            cr_assert_str_eq(tm->notify, "fd");
            cr_assert(tm->armed && !tm->armed_unknown);
            cr_assert_eq(tm->interval_ns, 1000000000u);
        } else {
            cr_assert_str_eq(tm->id, "0x0");
            cr_assert_str_eq(tm->clock, "CLOCK_MONOTONIC");
            cr_assert_str_eq(tm->notify, "none");
            cr_assert(tm->armed_unknown, "/proc does not say whether it is armed");
        }
    }
}

Test(inspect, reports_threads_where_they_block_with_fds_and_timers_and_lets_them_run)
{
    struct target t;
    start_target(&t, "few");
    char dir[256];
    e2e_tmpdir(dir, sizeof dir);
    struct st_report r;
    inspect_json(&r, dir, (int)t.bg.pid, NULL);
    assert_running((int)t.bg.pid);
    cr_assert_str_eq(r.reason, "inspect");
    cr_assert_eq(r.pid, (int)t.bg.pid);
    cr_assert_eq(r.exit_status, -1);
    cr_assert_not_null(strstr(r.exe, "/fixtures/inspect_target"));
    cr_assert_eq(r.nthreads, 5);
    check_threads(&r, &t);
    check_fds_and_timers(&r, &t);
    st_report_free(&r);
    e2e_bg_stop(&t.bg);
    e2e_rmdir(dir);
}

Test(inspect, text_says_there_are_no_creation_stacks_and_lists_no_leaks)
{
    struct target t;
    start_target(&t, "few");
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)t.bg.pid);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"inspect", pid, NULL});
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_not_null(strstr(run.out, ": report (inspect) of "), "%s", run.out);
    cr_assert_not_null(strstr(run.out, "The process was not started under strays: no creation "
                                       "stacks."));
    cr_assert_not_null(strstr(run.out, "\n3 threads blocked in futex(0x"), "%s", run.out);
    char want[200];
    snprintf(want, sizeof want, "\n1 thread blocked in read(fd %d pipe:[", t.pipe_r);
    cr_assert_not_null(strstr(run.out, want), "%s", run.out);
    cr_assert_not_null(strstr(run.out, ") (kernel: anon_pipe_read):\n    threads: "));
    cr_assert_null(strstr(run.out, "created at"), "%s", run.out);
    cr_assert_null(strstr(run.out, "leaked"), "%s", run.out);
    cr_assert_not_null(strstr(run.out, "strays: 5 threads, 2 timers and "), "%s", run.out);
    e2e_cli_free(&run);
    assert_running((int)t.bg.pid);
    e2e_bg_stop(&t.bg);
}

Test(inspect, no_stacks_stops_no_thread_and_keeps_the_rest)
{
    struct target t;
    start_target(&t, "few");
    char dir[256];
    e2e_tmpdir(dir, sizeof dir);
    struct st_report r;
    inspect_json(&r, dir, (int)t.bg.pid, "--no-stacks");
    cr_assert_eq(r.nstacks, 0);
    cr_assert_eq(r.nthreads, 5);
    for (uint32_t i = 0; i < r.nthreads; i++)
        cr_assert_eq(r.threads[i].stack, -1);
    check_fds_and_timers(&r, &t);
    st_report_free(&r);
    e2e_bg_stop(&t.bg);
    e2e_rmdir(dir);
}

Test(inspect, report_diff_and_pprof_read_the_inspect_report)
{
    struct target t;
    start_target(&t, "few");
    char dir[256], path[400], profile[400], cmd[1200];
    e2e_tmpdir(dir, sizeof dir);
    struct st_report r;
    inspect_json(&r, dir, (int)t.bg.pid, NULL);
    st_report_free(&r);
    snprintf(path, sizeof path, "%s/inspect.json", dir);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", path, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_not_null(strstr(run.out, "\n3 threads blocked in futex(0x"), "%s", run.out);
    e2e_cli_free(&run);
    e2e_cli_run(&run, (const char *const[]){"diff", path, path, NULL});
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_not_null(
        strstr(run.out, "strays: 5 sites unchanged in 0s: threads 5, timers 2, fds 4"), "%s",
        run.out);
    e2e_cli_free(&run);
    snprintf(profile, sizeof profile, "%s/p.pb.gz", dir);
    e2e_cli_run(&run,
                (const char *const[]){"report", "--format", "pprof", "-o", profile, path, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    e2e_cli_free(&run);
    if (system("command -v go >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "go tool pprof -top '%s' 2>&1 | grep -q "
                 "' 3 60.00%% 60.00%%          3 60.00%%  __futex_abstimed_wait_common$'",
                 profile);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        snprintf(cmd, sizeof cmd, "go tool pprof -raw '%s' 2>&1 | grep -q 'stack:\\[current\\]'",
                 profile);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
    }
    e2e_bg_stop(&t.bg);
    e2e_rmdir(dir);
}

Test(inspect, interrupted_midway_lets_every_thread_go)
{
    struct target t;
    start_target(&t, "many");
    char pid[16], dir[256];
    snprintf(pid, sizeof pid, "%d", (int)t.bg.pid);
    e2e_tmpdir(dir, sizeof dir);
    /* Catch strays while it holds threads stopped (some in state t), then
     * SIGINT it; try again if it was done first. */
    bool caught = false;
    for (int attempt = 0; attempt < 20 && !caught; attempt++) {
        struct e2e_bg cli;
        e2e_tmpdir(cli.dir, sizeof cli.dir);
        const char *argv[] = {e2e_cli_path(), "inspect", pid, "--format", "json", NULL};
        cr_assert_eq(posix_spawn(&cli.pid, argv[0], NULL, NULL, (char **)argv, environ), 0);
        for (int i = 0; i < 20000 && !caught && e2e_bg_alive(&cli); i++) {
            char stat_path[64];
            snprintf(stat_path, sizeof stat_path, "/proc/%s/task/%s/stat", pid, pid);
            char *stat = e2e_slurp(stat_path);
            const char *end = strrchr(stat, ')');
            caught = end && end[2] == 't';
            free(stat);
        }
        if (caught) kill(cli.pid, SIGINT);
        int ws;
        waitpid(cli.pid, &ws, 0);
        if (caught) cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGINT, "status %#x", ws);
        e2e_rmdir(cli.dir);
    }
    if (!caught) cr_skip_test("strays inspect never held the main thread stopped when looked at");
    assert_running((int)t.bg.pid);
    /* And the process still works: its threads were not harmed. */
    cr_assert(e2e_bg_alive(&t.bg));
    struct st_report r;
    inspect_json(&r, dir, (int)t.bg.pid, NULL);
    cr_assert_eq(r.nthreads, 205);
    st_report_free(&r);
    assert_running((int)t.bg.pid);
    e2e_bg_stop(&t.bg);
    e2e_rmdir(dir);
}

static void assert_refused(const struct target *t, const char *const *setpriv_args,
                           const char *because)
{
    char pid[16], dir[256], out[300], cmd[4000] = "", cli[400];
    snprintf(pid, sizeof pid, "%d", (int)t->bg.pid);
    e2e_tmpdir(dir, sizeof dir);
    e2e_copy_from_build(cli, sizeof cli, dir, e2e_cli_path(), "strays");
    const char *args[16];
    int n = 0;
    for (; setpriv_args[n]; n++)
        args[n] = setpriv_args[n];
    args[n++] = cli;
    args[n++] = "inspect";
    args[n++] = pid;
    args[n] = NULL;
    snprintf(out, sizeof out, "%s/err", dir);
    for (int i = 0; args[i]; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "'%s' ", args[i]);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), ">/dev/null 2>'%s'", out);
    int ws = system(cmd);
    char *err = e2e_slurp(out);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 1, "status %#x: %s", ws, err);
    char want[600];
    snprintf(want, sizeof want, "strays: inspect: cannot inspect process %d: %s", (int)t->bg.pid,
             because);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s\nwanted %s", err, want);
    free(err);
    e2e_rmdir(dir);
    assert_running((int)t->bg.pid);
}

Test(inspect, refuses_another_users_process_naming_the_user_and_the_capability)
{
    struct target t;
    start_target(&t, "few");
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv (util-linux)");
    assert_refused(&t,
                   (const char *const[]){"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                         "--clear-groups", NULL},
                   "it belongs to user root (uid 0) and strays runs as uid 65534 without "
                   "CAP_SYS_PTRACE: run strays inspect as that user, or as root");
    e2e_bg_stop(&t.bg);
}

Test(inspect, refuses_without_cap_sys_ptrace_even_as_root)
{
    struct target t;
    start_target_as_nobody(&t, "few");
    assert_refused(&t,
                   (const char *const[]){"/usr/bin/setpriv", "--inh-caps=-all",
                                         "--bounding-set=-sys_ptrace", NULL},
                   "it belongs to user nobody (uid 65534) and strays runs as uid 0 without "
                   "CAP_SYS_PTRACE");
    e2e_bg_stop(&t.bg);
}

Test(inspect, refuses_a_process_that_is_not_dumpable)
{
    struct target t;
    start_target_as_nobody(&t, "undumpable");
    assert_refused(&t,
                   (const char *const[]){"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                         "--clear-groups", NULL},
                   "it is not dumpable (a setuid, setgid or file-capability program, or one "
                   "that called prctl(PR_SET_DUMPABLE, 0))");
    e2e_bg_stop(&t.bg);
}

Test(inspect, bad_arguments_and_missing_processes_exit_2)
{
    const char *const *const cases[] = {
        (const char *const[]){"inspect", NULL},
        (const char *const[]){"inspect", "12x", NULL},
        (const char *const[]){"inspect", "1", "--format", "xml", NULL},
        (const char *const[]){"inspect", "999999999", NULL},
    };
    static const char *const reasons[] = {
        "strays: inspect: no process id given\n",
        "strays: inspect: '12x' is not a process id\n",
        "strays: inspect: unknown format 'xml' (text, json or pprof)\n",
        "strays: inspect: no process with pid 999999999\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_cli run;
        e2e_cli_run(&run, cases[i]);
        cr_assert_eq(run.status, 2, "case %zu: %d %s", i, run.status, run.err);
        cr_assert_str_eq(run.err, reasons[i]);
        e2e_cli_free(&run);
    }
}
