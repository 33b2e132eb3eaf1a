/* End-to-end: a dump when the program hits a limit (exhausted_dump) and
 * when its fds cross fd_warn, with limit_exhaust: each limit hit once (fds
 * at RLIMIT_NOFILE, threads at RLIMIT_NPROC, timers at RLIMIT_SIGPENDING),
 * the dump's limit and largest creation site checked, one dump however
 * often the limit is hit, the failing calls failing as without strays;
 * and a clean twin that stays below every limit and gets none. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Counts the reports in dir with the given reason; loads the first into r
 * when r is not NULL. */
static int reports_with_reason(const char *dir, const char *reason, struct st_report *r)
{
    char pattern[400], err[600];
    snprintf(pattern, sizeof pattern, "%s/r.*.json", dir);
    glob_t g;
    int n = 0;
    if (glob(pattern, 0, NULL, &g) != 0) return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct st_report rep;
        cr_assert_eq(st_report_load(&rep, g.gl_pathv[i], err, sizeof err), 0, "%s", err);
        bool match = !strcmp(rep.reason, reason);
        if (match && n++ == 0 && r)
            *r = rep;
        else
            st_report_free(&rep);
    }
    globfree(&g);
    return n;
}

/* Waits up to 30 s for n reports of reason in dir. */
static void wait_reports(const char *dir, const char *reason, int n)
{
    for (int i = 0; i < 3000 && reports_with_reason(dir, reason, NULL) < n; i++)
        usleep(10000); /* sleep-ok: the poll interval of a bounded wait */
    cr_assert_geq(reports_with_reason(dir, reason, NULL), n, "no %s report in %s", reason, dir);
}

/* The fixture may still have a dump to write: a signal dump, asked for
 * after it, is written after it (one watchdog, one queue). */
static void flush_dumps(struct e2e_bg *bg, const char *dir)
{
    kill(bg->pid, SIGRTMAX - 4); /* strays' dump signal */
    wait_reports(dir, "signal", 1);
}

/* The growth site of kind with the largest count: its count and the
 * function of its innermost frame. */
static uint32_t top_site(const struct st_report *r, const char *kind, const char **function)
{
    const struct st_report_growth *top = NULL;
    for (uint32_t i = 0; i < r->ngrowth; i++)
        if (!strcmp(r->growth[i].kind, kind) && (!top || r->growth[i].count > top->count))
            top = &r->growth[i];
    cr_assert_not_null(top, "no %s site", kind);
    const struct st_report_stack *s = &r->stacks[top->created_by];
    *function = s->frames[0].function;
    return top->count;
}

static void start(struct e2e_bg *bg, const char *mode, const char *options, const char *ready)
{
    e2e_bg_start(bg, "fixtures/limit_exhaust", (const char *const[]){mode, NULL},
                 e2e_build_path("libstrays.so"), options, NULL, ready);
}

Test(exhaustion, fd_limit_writes_one_dump_naming_the_top_site_and_the_calls_still_fail)
{
    struct e2e_bg bg;
    start(&bg, "fds", NULL, "hit ");
    char *out = e2e_bg_output(&bg), path[300];
    int made = 0;
    char errs[3][16];
    cr_assert_eq(sscanf(out, "hit %d %15s %15s %15s", &made, errs[0], errs[1], errs[2]), 4, "%s",
                 out);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(errs[i], "EMFILE", "call %d: %s", i, out);
    /* At its fd limit the process has no fd for a report file: the dump
     * goes to stderr (strays does not raise the program's limit for it). */
    snprintf(path, sizeof path, "%s/stderr", bg.dir);
    char *err = NULL;
    for (int i = 0; i < 3000; i++) {
        free(err);
        err = e2e_slurp(path);
        const char *dump = strstr(err, "report (exhausted)");
        if (dump && strstr(dump, "\nstrays: ")) break;
        usleep(10000); /* sleep-ok: the poll interval of a bounded wait */
    }
    char want[200];
    snprintf(want, sizeof want,
             " failed with EMFILE since the last such dump (RLIMIT_NOFILE "
             "32).\nLargest creation sites of fds:\n    %d at ",
             made);
    cr_assert_not_null(strstr(err, "\nThe program ran out of fds: "), "%s", err);
    cr_assert_not_null(strstr(err, want), "%s", err);
    kill(bg.pid, SIGRTMAX - 4); /* then nothing more: the limit was dumped once */
    for (int i = 0; i < 3000 && !strstr(err, "report (signal)"); i++) {
        free(err);
        err = e2e_slurp(path);
        usleep(10000); /* sleep-ok: the poll interval of a bounded wait */
    }
    int dumps = 0;
    for (const char *p = strstr(err, "report (exhausted)"); p;
         p = strstr(p + 1, "report (exhausted)"))
        dumps++;
    cr_assert_eq(dumps, 1, "%s", err);
    free(err);
    free(out);
    e2e_bg_stop(&bg);
}

Test(exhaustion, timer_limit_writes_a_dump_with_the_limit_and_the_top_site)
{
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r", dir);
    struct e2e_bg bg;
    start(&bg, "timers", options, "hit 3 EAGAIN");
    wait_reports(dir, "exhausted", 1);
    flush_dumps(&bg, dir);
    struct st_report r;
    cr_assert_eq(reports_with_reason(dir, "exhausted", &r), 1);
    cr_assert(r.limit.present);
    cr_assert_str_eq(r.limit.kind, "timers");
    cr_assert_str_eq(r.limit.error, "EAGAIN");
    cr_assert_eq(r.limit.rlimit, 0);
    cr_assert_eq(r.limit.fd, -1);
    cr_assert_geq(r.limit.hits, 1);
    const char *function;
    cr_assert_eq(top_site(&r, "timers", &function), 3);
    cr_assert_str_eq(function, "start_timers");
    cr_assert_eq(r.ntimers, 3);
    st_report_free(&r);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(exhaustion, thread_limit_writes_a_dump_with_the_limit_and_the_top_site)
{
    /* Root is not held to RLIMIT_NPROC: the fixture runs as nobody. */
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv (util-linux)");
    char dir[256], options[400], lib[600], prog[400], copy[400];
    e2e_tmpdir(dir, sizeof dir);
    e2e_copy_from_build(copy, sizeof copy, dir, "libstrays.so", "libstrays.so");
    e2e_copy_from_build(prog, sizeof prog, dir, "fixtures/limit_exhaust", "limit_exhaust");
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    snprintf(options, sizeof options, "STRAYS_OPTIONS=format=json:log_path=%s/r", dir);
    snprintf(lib, sizeof lib, "LD_PRELOAD=%s", copy);
    struct e2e_bg bg;
    e2e_tmpdir(bg.dir, sizeof bg.dir);
    char out[300];
    snprintf(out, sizeof out, "%s/stdout", bg.dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *argv[] = {"/usr/bin/setpriv",
                          "--reuid=nobody",
                          "--regid=nogroup",
                          "--clear-groups",
                          "/usr/bin/env",
                          options,
                          lib,
                          prog,
                          "threads",
                          NULL};
    cr_assert_eq(posix_spawn(&bg.pid, argv[0], &fa, NULL, (char **)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert(e2e_bg_wait_output(&bg, "hit 2 EAGAIN", 30000), "the fixture hit no limit");
    wait_reports(dir, "exhausted", 1);
    flush_dumps(&bg, dir);
    struct st_report r;
    cr_assert_eq(reports_with_reason(dir, "exhausted", &r), 1);
    cr_assert_str_eq(r.limit.kind, "threads");
    cr_assert_str_eq(r.limit.error, "EAGAIN");
    cr_assert_eq(r.limit.rlimit, 1);
    const char *function;
    cr_assert_eq(top_site(&r, "threads", &function), 2);
    cr_assert_str_eq(function, "start_sleepers");
    st_report_free(&r);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(exhaustion, fd_warn_dumps_once_per_crossing_and_again_after_falling_back)
{
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r:fd_warn=50", dir);
    struct rlimit nofile = {64, 64};
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = 64; /* inherited: strays reads it at start */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &nofile), 0);
    struct e2e_bg bg;
    start(&bg, "fd_warn", options, "done");
    wait_reports(dir, "fd_warn", 2);
    flush_dumps(&bg, dir);
    cr_assert_eq(reports_with_reason(dir, "fd_warn", NULL), 2);
    cr_assert_eq(reports_with_reason(dir, "exhausted", NULL), 0);
    struct st_report r;
    reports_with_reason(dir, "fd_warn", &r);
    cr_assert_str_eq(r.limit.kind, "fds");
    cr_assert_null(r.limit.error);
    cr_assert_eq(r.limit.fd, 32, "the fd that reached 50%% of 64");
    cr_assert_eq(r.limit.rlimit, 64);
    cr_assert_eq(r.limit.warn_percent, 50);
    st_report_free(&r);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(exhaustion, clean_twin_far_from_every_limit_gets_no_such_dump)
{
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r:fd_warn=50", dir);
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = 64;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &nofile), 0);
    struct e2e_bg bg;
    start(&bg, "clean", options, "done");
    flush_dumps(&bg, dir);
    cr_assert_eq(reports_with_reason(dir, "exhausted", NULL), 0);
    cr_assert_eq(reports_with_reason(dir, "fd_warn", NULL), 0);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(exhaustion, exhausted_dump_0_writes_none)
{
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r:exhausted_dump=0", dir);
    struct e2e_bg bg;
    start(&bg, "timers", options, "hit 3 EAGAIN");
    flush_dumps(&bg, dir);
    cr_assert_eq(reports_with_reason(dir, "exhausted", NULL), 0);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}
