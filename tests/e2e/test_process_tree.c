/* End-to-end: exit statuses in a tree of processes (issue 15). Parents
 * (make, shells, Python's multiprocessing) read their children's statuses,
 * so a child's leak must not look like its failure: under `strays run`
 * every process keeps its own status and the run alone gives 23; under a
 * plain LD_PRELOAD only the root of the processes running strays does
 * (exitcode_for=root), unless exitcode_for=every asks for LeakSanitizer's
 * behaviour. A daemon that outlives the run says so, in text. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Prints "setting: -1", leaks one fd (/etc/hostname) and exits 0. */
#define LEAKY "fixtures/fd_error_path_leak"
#define PYTHON "/usr/bin/python3"

/* `sh -c SCRIPT LEAKY`: the script finds the leaky program in $0. */
static void run_sh(struct e2e_cli *run, const char *script, const char *strays_options)
{
    e2e_cmd_run(run, "/bin/sh", (const char *const[]){"-c", script, e2e_build_path(LEAKY), NULL},
                e2e_build_path("libstrays.so"), strays_options);
}

static void strays_run(struct e2e_cli *run, const char *const *command)
{
    const char *args[16] = {"run", "--"};
    for (int i = 0; command[i] && i < 13; i++)
        args[i + 2] = command[i];
    e2e_cli_run(run, args);
}

/* The pid in the merged summary's entry for program, or 0. */
static int leaked_pid(const char *err, const char *program)
{
    char entry[4200];
    snprintf(entry, sizeof entry, "%s (pid ", program);
    const char *at = strstr(err, entry);
    return at ? atoi(at + strlen(entry)) : 0;
}

static void need_python(void)
{
    if (access(PYTHON, X_OK) != 0)
        cr_skip_test(PYTHON " is not installed");
}

/* Starts a multiprocessing child of context (fork or spawn) that opens a
 * file and never closes it, and prints its exit code and pid. */
static const char python_child[] =
    "import multiprocessing as mp, os, sys\n"
    "if __name__ == '__main__':\n"
    "    p = mp.get_context(sys.argv[1]).Process(target=os.open, "
    "args=('/etc/hostname', os.O_RDONLY))\n"
    "    p.start(); p.join()\n"
    "    print('exitcode', p.exitcode, 'pid', p.pid)\n";

/* ------------------------------------------------ plain LD_PRELOAD */

/* The child keeps its 0 for the shell to read, and its leak climbs to the
 * root, which fails and names it. */
Test(tree, exec_child_of_a_preloaded_shell_keeps_0_and_the_root_exits_23_naming_it)
{
    struct e2e_cli run;
    run_sh(&run, "\"$0\"; echo child=$?", NULL);
    cr_assert_str_eq(run.out, "setting: -1\nchild=0\n", "stderr:\n%s", run.err);
    cr_assert_eq(run.status, 23, "the shell leaked nothing, its child did:\n%s", run.err);
    const char *report = strstr(run.err, "strays: 1 leaked fd in 1 group (pid ");
    cr_assert_not_null(report, "%s", run.err);
    int child = atoi(report + strlen("strays: 1 leaked fd in 1 group (pid "));
    char verdict[200];
    snprintf(verdict, sizeof verdict,
             "strays: exit status 23 instead of 0: 1 process this one started left threads, "
             "timers or fds behind: fd_error_path_leak (pid %d)\n",
             child);
    cr_assert_not_null(strstr(run.err, verdict), "expected \"%s\" in:\n%s", verdict, run.err);
    e2e_cli_free(&run);
}

/* Through a middle process that leaked nothing itself: it keeps its 0 too. */
Test(tree, a_grandchild_s_leak_climbs_past_its_parent_to_the_root)
{
    struct e2e_cli run;
    run_sh(&run, "sh -c '\"$0\"; echo child=$?' \"$0\"; echo middle=$?", NULL);
    cr_assert_str_eq(run.out, "setting: -1\nchild=0\nmiddle=0\n", "stderr:\n%s", run.err);
    cr_assert_eq(run.status, 23, "%s", run.err);
    e2e_cli_free(&run);
}

/* The clean twin: nothing leaked, nothing changes, no mark stays behind. */
Test(tree, a_clean_tree_exits_0_and_leaves_no_mark)
{
    struct e2e_cli run;
    run_sh(&run, "sh -c 'exit 0'; echo child=$?; echo $$", NULL);
    int root = 0;
    cr_assert_eq(sscanf(run.out, "child=0\n%d\n", &root), 1, "%s", run.out);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.err, "");
    char mark[128];
    snprintf(mark, sizeof mark, "/dev/shm/strays-%u/leaked.%d", (unsigned)geteuid(), root);
    cr_assert_neq(access(mark, F_OK), 0, "%s is left", mark);
    e2e_cli_free(&run);
}

Test(tree, the_root_of_the_preloaded_processes_exits_23)
{
    struct e2e_cli run;
    /* The leaky program replaces the shell: its parent (the test) does not
     * run strays. */
    run_sh(&run, "exec \"$0\"", NULL);
    cr_assert_str_eq(run.out, "setting: -1\n");
    cr_assert_eq(run.status, 23, "stderr:\n%s", run.err);
    e2e_cli_free(&run);
}

Test(tree, fork_child_keeps_its_status_and_the_parent_fails_for_it)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fork_child_leak", NULL, NULL);
    int child = 0;
    cr_assert_eq(sscanf(run.out, "child %d exited", &child), 1, "%s", run.out);
    char expected[64];
    snprintf(expected, sizeof expected, "child %d exited 0\n", child);
    cr_assert_str_eq(run.out, expected);
    cr_assert_eq(run.status, 23, "the parent, the root, fails for its child's leak");
    const struct st_report *r = e2e_report(&run, child);
    cr_assert_not_null(r);
    cr_assert_eq(r->nfds, 1, "the child's leak is still reported");
    cr_assert_eq(r->exit_status, 0);
    e2e_free(&run);
}

Test(tree, exitcode_for_every_gives_each_leaking_process_23_as_leaksanitizer_does)
{
    struct e2e_cli run;
    run_sh(&run, "\"$0\"; echo child=$?", "exitcode_for=every");
    cr_assert_str_eq(run.out, "setting: -1\nchild=23\n", "stderr:\n%s", run.err);
    cr_assert_eq(run.status, 0);
    e2e_cli_free(&run);

    struct e2e_run forked;
    e2e_run(&forked, "fixtures/fd_fork_child_leak", "exitcode_for=every", NULL);
    cr_assert_not_null(strstr(forked.out, " exited 23\n"), "%s", forked.out);
    cr_assert_eq(forked.status, 0);
    e2e_free(&forked);
}

Test(tree, python_multiprocessing_children_keep_exit_code_0)
{
    need_python();
    static const char *const contexts[] = {"fork", "spawn"};
    for (size_t i = 0; i < 2; i++) {
        struct e2e_cli run;
        e2e_cmd_run(&run, PYTHON, (const char *const[]){"-c", python_child, contexts[i], NULL},
                    e2e_build_path("libstrays.so"), NULL);
        cr_assert_eq(strncmp(run.out, "exitcode 0 pid ", 15), 0, "%s: %s\nstderr:\n%s",
                     contexts[i], run.out, run.err);
        cr_assert_not_null(strstr(run.err, "1 fd (file /etc/hostname) opened at:"), "%s",
                           run.err);
        e2e_cli_free(&run);
    }
}

/* The check costs nothing and marks nothing: the program's environment is
 * what it would be without strays (but for LD_PRELOAD itself). */
Test(tree, the_environment_the_program_sees_is_unchanged)
{
    struct e2e_cli plain, preloaded;
    e2e_cmd_run(&plain, "/usr/bin/env", (const char *const[]){NULL}, NULL, "exitcode_for=root");
    e2e_cmd_run(&preloaded, "/usr/bin/env", (const char *const[]){NULL},
                e2e_build_path("libstrays.so"), "exitcode_for=root");
    char *line = strstr(preloaded.out, "LD_PRELOAD=");
    cr_assert_not_null(line);
    memmove(line, line + strcspn(line, "\n") + 1, strlen(line + strcspn(line, "\n") + 1) + 1);
    cr_assert_str_eq(preloaded.out, plain.out);
    cr_assert_eq(preloaded.status, 0);
    e2e_cli_free(&plain);
    e2e_cli_free(&preloaded);
}

/* ------------------------------------------------------ strays run */

Test(run_tree, sh_c_child_keeps_0_and_the_run_exits_23)
{
    struct e2e_cli run;
    strays_run(&run, (const char *const[]){"sh", "-c", "\"$0\"; echo child=$?",
                                           e2e_build_path(LEAKY), NULL});
    cr_assert_str_eq(run.out, "setting: -1\nchild=0\n", "stderr:\n%s", run.err);
    cr_assert_eq(run.status, 23, "stderr:\n%s", run.err);
    int pid = leaked_pid(run.err, e2e_build_path(LEAKY));
    char summary[4400];
    snprintf(summary, sizeof summary, "strays: 2 processes, 1 leaked: %s (pid %d): 1 fd\n",
             e2e_build_path(LEAKY), pid);
    cr_assert_not_null(strstr(run.err, summary), "%s", run.err);
    e2e_cli_free(&run);
}

Test(run_tree, recursive_make_finishes_though_a_recipe_leaked_and_the_run_exits_23)
{
    if (access("/usr/bin/make", X_OK) != 0)
        cr_skip_test("make is not installed");
    char dir[256];
    e2e_tmpdir(dir, sizeof dir);
    struct e2e_cli run;
    strays_run(&run,
               (const char *const[]){e2e_build_path("fixtures/run_make_recursive.sh"), dir, NULL});
    cr_assert_str_eq(run.out, "setting: -1\nsub make finished\ntop make finished\n",
                     "stderr:\n%s", run.err);
    cr_assert_null(strstr(run.err, "Error"), "%s", run.err);
    cr_assert_eq(run.status, 23, "stderr:\n%s", run.err);
    cr_assert_gt(leaked_pid(run.err, e2e_build_path(LEAKY)), 0, "%s", run.err);
    cr_assert_not_null(strstr(run.err, " processes, 1 leaked: "), "%s", run.err);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(run_tree, python_multiprocessing_child_keeps_exit_code_0)
{
    need_python();
    struct e2e_cli run;
    strays_run(&run, (const char *const[]){PYTHON, "-c", python_child, "fork", NULL});
    int child = 0;
    cr_assert_eq(sscanf(run.out, "exitcode 0 pid %d", &child), 1, "%s\nstderr:\n%s", run.out,
                 run.err);
    cr_assert_eq(run.status, 23, "stderr:\n%s", run.err);
    /* The child leaked its file, and the /dev/null multiprocessing put on
     * its stdin (at fd 3 or above once stdin is closed). */
    char entry[64];
    snprintf(entry, sizeof entry, " (pid %d): ", child);
    cr_assert_not_null(strstr(run.err, entry), "%s", run.err);
    e2e_cli_free(&run);
}

Test(run_tree, exitcode_for_is_the_runs_own_to_set)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "-o", "exitcode_for=every", "--", "true", NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.err, "strays: run: -o exitcode_for=every: under the run command every "
                              "process keeps its own status and the run gives the verdict for "
                              "all of them (-o exitcode=N sets its status)\n");
    e2e_cli_free(&run);
}

/* Waits (up to 30 s) until a reader has the FIFO open, then closes it: the
 * daemon reads end of file and exits. */
static void wake_daemon(const char *fifo, pid_t daemon)
{
    for (int waited_ms = 0; waited_ms < 30000; waited_ms += 5) {
        int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            return;
        }
        cr_assert_eq(errno, ENXIO, "open %s: %s", fifo, strerror(errno));
        cr_assert_eq(waitpid(daemon, NULL, WNOHANG), 0, "the daemon ended early");
        usleep(5 * 1000); /* sleep-ok: the poll interval of a bounded wait */
    }
    cr_assert_fail("the daemon never opened %s", fifo);
}

/* The daemon, until it has been seen to end: a failed assertion must not
 * leave it waiting on its FIFO for good. */
static pid_t daemon_left;

static void kill_daemon_left(void)
{
    if (daemon_left > 0 && waitpid(daemon_left, NULL, WNOHANG) == 0) {
        kill(daemon_left, SIGKILL);
        waitpid(daemon_left, NULL, 0);
    }
}

Test(run_tree, daemon_that_outlives_the_run_is_named_and_says_so_in_text,
     .fini = kill_daemon_left)
{
    /* The daemon's parent exits: it is reparented to this test process, so
     * its exit status can be read here. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char dir[256], fifo[300];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/wake", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    const char *fixture = e2e_build_path("fixtures/run_daemon_outlives");
    struct e2e_bg bg;
    e2e_bg_start(&bg, "strays", (const char *const[]){"run", "--", fixture, fifo, NULL}, NULL,
                 NULL, NULL, "daemon pid ");
    int ws;
    cr_assert_eq(waitpid(bg.pid, &ws, 0), bg.pid);
    char *out = e2e_bg_output(&bg), err_path[300];
    int daemon = 0;
    cr_assert_eq(sscanf(out, "daemon pid %d", &daemon), 1, "%s", out);
    daemon_left = daemon;
    snprintf(err_path, sizeof err_path, "%s/stderr", bg.dir);
    char *err = e2e_slurp(err_path), expected[4600];
    cr_assert_eq(WEXITSTATUS(ws), 0, "the run's processes leaked nothing yet:\n%s", err);
    snprintf(expected, sizeof expected,
             "strays: run: 1 process started under this run is still running: pid %d (%s). It "
             "is not in the run's verdict: if it leaks, its report goes to the stderr it "
             "started with, in text, when it exits\n",
             daemon, fixture);
    cr_assert_not_null(strstr(err, expected), "got:\n%s\nexpected:\n%s", err, expected);
    size_t run_said = strlen(err);
    free(err);

    wake_daemon(fifo, daemon);
    cr_assert_eq(waitpid(daemon, &ws, 0), daemon);
    daemon_left = 0;
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the daemon keeps its status: %#x", ws);
    err = e2e_slurp(err_path);
    const char *said = err + run_said;
    const char *base = e2e_run_report_base();
    snprintf(expected, sizeof expected,
             "strays: this process (pid %d) outlived the `strays run` that started it: the run "
             "has ended and removed its report directory %s/strays.",
             daemon, base);
    cr_assert_eq(strncmp(said, expected, strlen(expected)), 0, "got:\n%s", said);
    snprintf(expected, sizeof expected,
             ", so this report is not in the run's verdict; it follows here, in text\n"
             "strays: report (exit, status 0) of %s (pid %d)\n",
             fixture, daemon);
    cr_assert_not_null(strstr(said, expected), "got:\n%s", said);
    cr_assert_not_null(strstr(said, "1 fd (file /etc/hostname) opened at:\n"), "%s", said);
    cr_assert_null(strstr(said, "{"), "no JSON on the caller's stderr:\n%s", said);
    free(err);
    free(out);
    e2e_rmdir(bg.dir);
    e2e_rmdir(dir);
}
