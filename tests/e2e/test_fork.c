/* End-to-end: strays' fork handlers. They are registered lazily, at a
 * process's first fork or first registration of the program's own, and
 * must still be in place for every way into a fork that runs handlers,
 * and still be the first registered (runtime.c says why). A fork child
 * without them is a stranger to strays (its pid is not the one strays
 * started in) and writes no report. */
#define _GNU_SOURCE
#include "e2e.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The fixture's child leaked its /etc/hostname, opened in child_work, and
 * wrote its report; nobody else leaked. */
static void first_fork_through(const char *way)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fork_first_ways", NULL, (const char *const[]){way, NULL});
    int child_pid = 0;
    cr_assert_eq(sscanf(run.out, "child %d", &child_pid), 1, "stdout:\n%s\nstderr:\n%s", run.out,
                 run.err);
    const struct st_report *child = e2e_report(&run, child_pid);
    cr_assert_not_null(child, "no report from the child %d; stderr:\n%s", child_pid, run.err);
    cr_assert_str_eq(child->reason, "exit");
    cr_assert_eq(child->nfds, 1, "stderr:\n%s", run.err);
    cr_assert_str_eq(child->fds[0].target, "/etc/hostname");
    cr_assert_eq(e2e_frame_of(child, child->fds[0].created_by, "child_work"), 0);
    for (int i = 0; i < run.nreports; i++)
        if (run.reports[i].pid != child_pid)
            cr_assert_eq(st_report_leak_count(&run.reports[i]), 0, "pid %d",
                         run.reports[i].pid);
    e2e_free(&run);
}

Test(fork, a_first_fork_through_glibcs_other_name_for_fork_keeps_the_child_known)
{
    first_fork_through("__fork");
}

Test(fork, a_first_fork_through_forkpty_keeps_the_child_known) { first_fork_through("forkpty"); }

Test(fork, a_first_fork_through_daemon_keeps_the_daemon_known) { first_fork_through("daemon"); }

/* The parent's report names the file its prepare handler opened, the
 * child's the one its child handler opened, each with its handler. */
static void programs_handlers_around_strays(const char *how)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fork_atfork_order", NULL, (const char *const[]){how, NULL});
    int child_pid = 0;
    cr_assert_eq(sscanf(run.out, "child %d exited 0", &child_pid), 1, "stdout:\n%s\nstderr:\n%s",
                 run.out, run.err);
    cr_assert_eq(run.nreports, 2, "stderr:\n%s", run.err);
    const struct st_report *child = e2e_report(&run, child_pid);
    const struct st_report *parent = e2e_main_report(&run, "fixtures/fork_atfork_order");
    cr_assert_not_null(child);
    cr_assert_not_null(parent);
    cr_assert_neq(parent->pid, child->pid);
    cr_assert_eq(parent->nfds, 1, "the prepare handler ran before strays' took its guard");
    cr_assert_str_eq(parent->fds[0].target, "/etc/hostname");
    cr_assert_eq(e2e_frame_of(parent, parent->fds[0].created_by, "open_in_prepare"), 0);
    cr_assert_eq(child->nfds, 1, "the child handler ran after strays' let its guard down");
    cr_assert_str_eq(child->fds[0].target, "/dev/null");
    cr_assert_eq(e2e_frame_of(child, child->fds[0].created_by, "open_in_child"), 0);
    cr_assert_eq(parent->nthreads + parent->ntimers + child->nthreads + child->ntimers, 0);
    e2e_free(&run);
}

Test(fork, the_programs_fork_handlers_run_inside_strays_own)
{
    programs_handlers_around_strays("pthread_atfork");
}

Test(fork, handlers_registered_through_the_old_pthread_atfork_run_inside_strays_own)
{
    programs_handlers_around_strays("compat");
}
