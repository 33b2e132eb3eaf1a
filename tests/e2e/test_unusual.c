/* End-to-end: programs that do unusual things (issue 8). Each runs under
 * strays and, where it is cheap, also without it: the report is checked
 * field by field, and the program's output and exit status must be the
 * same as without strays (except 23 for a leak, strays' own verdict). */
#define _GNU_SOURCE
#include "e2e.h"

#include "../../src/report_parse.h"

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
