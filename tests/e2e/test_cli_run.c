/* End-to-end: `strays run` on a shell script that starts several processes
 * (fixtures/run_forks_leaky_child.sh): the per-process reports are merged
 * into one summary line, and the exit status is the script's own, or 23
 * when the script succeeded and one of its processes leaked. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define SCRIPT "fixtures/run_forks_leaky_child.sh"

/* The line of text that starts with prefix, without its newline; "" if none. */
static char *line_starting(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix)))
            return strndup(p, strcspn(p, "\n"));
    return strdup("");
}

static void run_script(struct e2e_cli *run, const char *child, const char *status)
{
    char script[4096];
    snprintf(script, sizeof script, "%s", e2e_build_path(SCRIPT));
    e2e_cli_run(run, (const char *const[]){"run", "--", script, child, status, NULL});
}

Test(cli_run, script_forking_a_leaky_child_gets_one_merged_summary_and_status_23)
{
    struct e2e_cli run;
    run_script(&run, "fd_error_path_leak", "0");
    cr_assert_eq(run.status, 23, "status %d, stderr:\n%s", run.status, run.err);
    /* The script's three processes: a clean program, the leaky child, and
     * the clean program the script execs into (under the shell's pid). */
    char *summary = line_starting(run.err, "strays: 3 processes");
    char expected[8192];
    int pid = 0;
    const char *at = strstr(summary, "fd_error_path_leak (pid ");
    cr_assert_not_null(at, "no merged summary naming the leaky child in:\n%s", run.err);
    sscanf(at, "fd_error_path_leak (pid %d)", &pid);
    /* The child's name is its argv[0], as the script ran it. */
    snprintf(expected, sizeof expected, "strays: 3 processes, 1 leaked: %s (pid %d): 1 fd",
             e2e_build_path("fixtures/fd_error_path_leak"), pid);
    cr_assert_str_eq(summary, expected);
    /* The leaky child's own report is printed in full; the clean ones only
     * counted. */
    cr_assert_not_null(strstr(run.err, "1 fd (file /etc/hostname) opened at:\n"));
    cr_assert_not_null(strstr(run.err, "#0 read_setting (fd_error_path_leak.c:"));
    cr_assert_null(strstr(run.err, "no leaks"), "clean processes print nothing:\n%s", run.err);
    cr_assert_str_eq(run.out, "");
    free(summary);
    e2e_cli_free(&run);
}

Test(cli_run, clean_twin_says_none_leaked_and_exits_0)
{
    struct e2e_cli run;
    run_script(&run, "thread_clean", "0");
    cr_assert_eq(run.status, 0, "status %d, stderr:\n%s", run.status, run.err);
    cr_assert_str_eq(run.err, "strays: 3 processes, none leaked\n");
    e2e_cli_free(&run);
}

Test(cli_run, failing_script_keeps_its_own_status_though_a_child_leaked)
{
    struct e2e_cli run;
    run_script(&run, "fd_error_path_leak", "3");
    cr_assert_eq(run.status, 3, "status %d, stderr:\n%s", run.status, run.err);
    char *summary = line_starting(run.err, "strays: 3 processes, ");
    /* The shell itself exits this time, so it reports the script file it
     * holds open; the leaky child is named either way. */
    cr_assert_not_null(strstr(summary, "/fd_error_path_leak (pid "), "summary: %s\nstderr:\n%s",
                       summary, run.err);
    free(summary);
    e2e_cli_free(&run);
}

Test(cli_run, single_process_prints_its_report_without_a_merged_line)
{
    struct e2e_cli run;
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", e2e_build_path("fixtures/fd_error_path_leak"));
    e2e_cli_run(&run, (const char *const[]){"run", "--", prog, NULL});
    cr_assert_eq(run.status, 23);
    cr_assert_null(strstr(run.err, " processes, "), "stderr:\n%s", run.err);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked fd in 1 group (pid "));
    e2e_cli_free(&run);
}

Test(cli_run, text_file_gets_the_reports_and_the_summary_line)
{
    char dir[256], text[512], script[4096];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(text, sizeof text, "%s/report.txt", dir);
    snprintf(script, sizeof script, "%s", e2e_build_path(SCRIPT));
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--text", text, "--", script, NULL});
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.err, "");
    char *saved = e2e_slurp(text);
    char *summary = line_starting(saved, "strays: 3 processes, 1 leaked: ");
    cr_assert_neq(summary[0], '\0', "report.txt:\n%s", saved);
    cr_assert_not_null(strstr(saved, "opened at:\n"));
    free(summary);
    free(saved);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(cli_run, help_describes_the_merged_summary_and_the_exit_status)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--help", NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_not_null(strstr(run.out, "  strays: 3 processes, 1 leaked: ./worker (pid 812): "
                                       "2 threads, 1 fd\n"));
    cr_assert_not_null(strstr(run.out, "exitcode option (23)"));
    e2e_cli_free(&run);
}

/* The pid of the run's command: its only child. */
static pid_t child_of(pid_t run)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)run, (int)run);
    char *children = e2e_slurp(path);
    pid_t child = (pid_t)atoi(children);
    free(children);
    return child;
}

/* Where process pid writes its reports: log_path in its STRAYS_OPTIONS. */
static void log_prefix_of(pid_t pid, char *prefix, size_t len)
{
    char path[64], env[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    env[n] = '\0';
    prefix[0] = '\0';
    for (const char *v = env; v < env + n; v += strlen(v) + 1) {
        const char *at = strncmp(v, "STRAYS_OPTIONS=", 15) ? NULL : strstr(v, "log_path=");
        if (at)
            snprintf(prefix, len, "%.*s", (int)strcspn(at + 9, ":"), at + 9);
    }
    cr_assert(prefix[0], "no log_path in the environment of %d", (int)pid);
}

/* The dump signal sent to the run goes on to the command, as SIGINT and
 * SIGUSR1 do: a live dump of the command, not a run killed by a real-time
 * signal's default action. */
Test(cli_run, the_dump_signal_sent_to_the_run_reaches_the_command)
{
    struct e2e_bg run;
    e2e_bg_start(&run, "strays",
                 (const char *const[]){"run", "--", e2e_build_path("fixtures/run_dump_target"), NULL},
                 NULL, NULL, NULL, "ready");
    pid_t command = child_of(run.pid);
    cr_assert_gt(command, 0);
    char prefix[4096], dump[4200];
    log_prefix_of(command, prefix, sizeof prefix);
    snprintf(dump, sizeof dump, "%s.%d.0.json", prefix, (int)command);
    cr_assert_eq(kill(run.pid, SIGRTMAX - 4), 0);
    /* The dump is the first report the command writes; then it is ended. */
    cr_assert(e2e_wait_for_file(dump, 30000), "no dump %s", dump);
    cr_assert_eq(kill(run.pid, SIGTERM), 0);
    int status;
    cr_assert_eq(waitpid(run.pid, &status, 0), run.pid);
    cr_assert(WIFEXITED(status), "the run died of signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 128 + SIGTERM, "the command's own end, passed on");
    char file[300];
    snprintf(file, sizeof file, "%s/stderr", run.dir);
    char *err = e2e_slurp(file);
    cr_assert_not_null(strstr(err, "strays: report (signal) of "), "%s", err);
    free(err);
    e2e_rmdir(run.dir);
}

/* Every process of the run creates its report file in the run's directory:
 * in memory (/dev/shm, when it has room) unless TMPDIR says where, since a
 * disk's file system can take a quarter of a millisecond per file created. */
Test(cli_run, report_directory_is_in_dev_shm_unless_tmpdir_says_where)
{
    unsetenv("TMPDIR");
    if (strcmp(e2e_run_report_base(), "/dev/shm") != 0)
        cr_skip_test("no /dev/shm with 256 MiB free here");
    const char *const show[] = {"run", "--", "/bin/sh", "-c", "echo \"$STRAYS_OPTIONS\"", NULL};
    struct e2e_cli run;
    e2e_cli_run(&run, show);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_not_null(strstr(run.out, "log_path=/dev/shm/strays."), "%s", run.out);
    free(run.out);
    free(run.err);

    setenv("TMPDIR", "/tmp", 1);
    e2e_cli_run(&run, show);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_not_null(strstr(run.out, "log_path=/tmp/strays."), "%s", run.out);
    free(run.out);
    free(run.err);
}
