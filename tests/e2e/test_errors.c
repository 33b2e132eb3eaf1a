/* End-to-end: the documented error paths the other suites leave out (docs/,
 * strays(1), strays-options(7), the options' help). Each checks the
 * message's exact text, the exit status, and that the program strays
 * watches prints and exits as it would have without the error. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* thread_blocked_on_cond prints "done", exits 0 and leaves one thread
 * blocked: 23 under strays with the default exitcode. */
#define LEAKY "fixtures/thread_blocked_on_cond"
#define LEAKY_OUT "done\n"

/* The pid in "(pid N" after the first `after` in text. */
static int pid_in(const char *text, const char *after)
{
    const char *at = strstr(text, after);
    int pid = 0;
    cr_assert(at && sscanf(at + strlen(after), "%d", &pid) == 1, "no pid in:\n%s", text);
    return pid;
}

/* The first line of text (with its newline); free() it. */
static char *first_line(const char *text)
{
    return strndup(text, strcspn(text, "\n") + (strchr(text, '\n') != NULL));
}

/* ------------------------------------------------ the preload's errors */

static void expect_report_on_stderr_instead(const char *log_path, const char *why)
{
    char opts[600];
    snprintf(opts, sizeof opts, "log_path=%s", log_path);
    struct e2e_run run;
    e2e_run_raw(&run, LEAKY, opts, NULL, true);
    cr_assert_str_eq(run.out, LEAKY_OUT, "the program's output is unchanged");
    cr_assert_eq(run.status, 23, "the status is as with a writable path");
    int pid = pid_in(run.err, ".");
    char expected[2000];
    snprintf(expected, sizeof expected,
             "strays: cannot create report file %s.%d.*: %s; writing the report to stderr "
             "instead\nstrays: report (exit, status 0) of %s (pid %d)\n",
             log_path, pid, why, e2e_build_path(LEAKY), pid);
    cr_assert_eq(strncmp(run.err, expected, strlen(expected)), 0, "got:\n%s\nexpected:\n%s",
                 run.err, expected);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group"), "%s", run.err);
    e2e_free(&run);
}

Test(errors, log_path_in_a_missing_directory_sends_the_report_to_stderr)
{
    expect_report_on_stderr_instead("/nonexistent/strays/r", "No such file or directory");
}

Test(errors, log_path_under_a_regular_file_sends_the_report_to_stderr)
{
    expect_report_on_stderr_instead("/etc/hostname/r", "Not a directory");
}

/* A CI log or a `| head` that has gone: the report's write to stderr fails
 * with EPIPE, and the SIGPIPE it raised must not end the program (plain, it
 * writes nothing there and exits 0; under strays 23 for its leak). */
Test(errors, a_stderr_pipe_nobody_reads_does_not_kill_the_program_with_sigpipe)
{
    int pipe_fds[2];
    cr_assert_eq(pipe(pipe_fds), 0);
    close(pipe_fds[0]);
    char *env[] = {NULL, NULL};
    cr_assert_gt(asprintf(&env[0], "LD_PRELOAD=%s", e2e_build_path("libstrays.so")), 0);
    const char *prog = e2e_build_path(LEAKY);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipe_fds[1], 2);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, prog, &fa, NULL, (char *[]){(char *)prog, NULL}, env), 0);
    close(pipe_fds[1]);
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws), "killed by signal %d", WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    cr_assert_eq(WEXITSTATUS(ws), 23);
    posix_spawn_file_actions_destroy(&fa);
    free(env[0]);
}

/* A bad STRAYS_OPTIONS pair is one line, and the program runs with the
 * default: same output, status 23 for its leak. */
static void expect_one_option_error(const char *options, const char *message)
{
    struct e2e_run run;
    e2e_run(&run, LEAKY, options, NULL);
    char *line = first_line(run.err);
    cr_assert_str_eq(line, message);
    cr_assert_str_eq(run.err, message, "nothing else on stderr (the report went to its file)");
    cr_assert_str_eq(run.out, LEAKY_OUT);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(run.nreports, 1, "the report is still written");
    free(line);
    e2e_free(&run);
}

Test(errors, an_option_without_a_value_is_named_and_ignored)
{
    expect_one_option_error("exitcode",
                            "strays: option 'exitcode' has no value (expected exitcode=VALUE)\n");
}

Test(errors, a_bad_file_mode_is_named_and_0600_kept)
{
    expect_one_option_error("file_mode=0999",
                            "strays: bad value '0999' for option file_mode: expected permissions "
                            "in octal, from 0 to 0777, such as 0600 or 0644; keeping 0600\n");
}

Test(errors, an_unterminated_quote_stops_the_parse_and_the_program_runs)
{
    struct e2e_run run;
    e2e_run_raw(&run, LEAKY, "verbosity=1:log_path=\"/tmp/unfinished", NULL, true);
    char *line = first_line(run.err);
    cr_assert_str_eq(line, "strays: unterminated quote in STRAYS_OPTIONS after 'log_path'\n");
    /* What came before the quote applies (verbosity=1 says strays starts
     * before the message); log_path keeps stderr. */
    free(line);
    cr_assert_str_eq(run.out, LEAKY_OUT);
    cr_assert_eq(run.status, 23);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group"), "%s", run.err);
    e2e_free(&run);
}

/* -------------------------------------------------- the CLI's own errors */

static void expect_cli(const char *const *args, int status, const char *err, const char *out)
{
    struct e2e_cli run;
    e2e_cli_run(&run, args);
    cr_assert_str_eq(run.err, err);
    cr_assert_eq(run.status, status, "status %d, stderr:\n%s", run.status, run.err);
    if (out)
        cr_assert_str_eq(run.out, out);
    e2e_cli_free(&run);
}

Test(errors, an_unknown_command_is_a_usage_error)
{
    expect_cli((const char *const[]){"frobnicate", NULL}, 2,
               "strays: unknown command 'frobnicate' (strays --help lists them)\n", "");
}

Test(errors, no_command_at_all_prints_the_usage_on_stderr_with_status_2)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.out, "");
    cr_assert_eq(strncmp(run.err, "usage: strays ", 14), 0, "%s", run.err);
    e2e_cli_free(&run);
}

Test(errors, run_usage_errors_exit_2_without_running_anything)
{
    const char *prog = e2e_build_path(LEAKY);
    expect_cli((const char *const[]){"run", NULL}, 2, "strays: run: no command given\n", "");
    expect_cli((const char *const[]){"run", "--", NULL}, 2, "strays: run: no command given\n", "");
    expect_cli((const char *const[]){"run", "--jsn", "x", "--", prog, NULL}, 2,
               "strays: run: unknown argument '--jsn'\n", "");
    expect_cli((const char *const[]){"run", "--json", NULL}, 2,
               "strays: run: --json needs a value\n", "");
    expect_cli((const char *const[]){"run", "-o", "log_path=/tmp/x", "--", prog, NULL}, 2,
               "strays: run: -o log_path=/tmp/x: the run command sets log_path and format "
               "itself; use --json FILE or --text FILE\n",
               "");
    expect_cli((const char *const[]){"run", "-o", "format=text", "--", prog, NULL}, 2,
               "strays: run: -o format=text: the run command sets log_path and format itself; "
               "use --json FILE or --text FILE\n",
               "");
}

Test(errors, run_with_a_bad_option_value_names_it_and_runs_with_the_default)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "-o", "exitcode=banana", "--",
                                            e2e_build_path(LEAKY), NULL});
    char *line = first_line(run.err);
    cr_assert_str_eq(line, "strays: run: -o: bad value 'banana' for option exitcode: expected a "
                           "number from 0 to 255; keeping 23\n");
    cr_assert_eq(run.status, 23, "the default exitcode applies");
    cr_assert_str_eq(run.out, LEAKY_OUT);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group"), "%s", run.err);
    free(line);
    e2e_cli_free(&run);
}

Test(errors, run_of_a_missing_program_exits_127_as_a_shell_would)
{
    expect_cli((const char *const[]){"run", "--", "/nonexistent/prog", NULL}, 127,
               "strays: run: cannot run /nonexistent/prog: No such file or directory\n", "");
}

Test(errors, run_without_the_library_fails_with_status_1_and_does_not_run_the_command)
{
    setenv("STRAYS_LIB", "/nonexistent/libstrays.so", 1);
    expect_cli((const char *const[]){"run", "--", e2e_build_path(LEAKY), NULL}, 1,
               "strays: run: cannot find libstrays.so beside the strays executable or in "
               "../lib (set STRAYS_LIB)\n",
               "");
}

Test(errors, run_without_a_usable_tmpdir_fails_with_status_1)
{
    setenv("TMPDIR", "/nonexistent", 1);
    expect_cli((const char *const[]){"run", "--", e2e_build_path(LEAKY), NULL}, 1,
               "strays: run: cannot create a directory for reports in /nonexistent: No such "
               "file or directory\n",
               "");
}

Test(errors, run_of_a_command_killed_before_its_report_says_so_and_gives_128_plus_n)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--", "/bin/sh", "-c", "kill -9 $$", NULL});
    cr_assert_eq(run.status, 137);
    char expected[300];
    snprintf(expected, sizeof expected,
             "strays: run: no report from /bin/sh (pid %d): killed by signal 9 (Killed) before "
             "it could write one\n",
             pid_in(run.err, "(pid "));
    cr_assert_str_eq(run.err, expected);
    e2e_cli_free(&run);
}

Test(errors, run_of_a_command_that_drops_the_preload_says_no_report_came)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--", "/usr/bin/env", "-u", "LD_PRELOAD",
                                            "/bin/sh", "-c", "echo ran; exit 3", NULL});
    cr_assert_eq(run.status, 3, "its own status");
    cr_assert_str_eq(run.out, "ran\n");
    char expected[300];
    snprintf(expected, sizeof expected,
             "strays: run: no report from /usr/bin/env (pid %d): strays was not loaded into it "
             "(its LD_PRELOAD was removed, or the loader ignored it)\n",
             pid_in(run.err, "(pid "));
    cr_assert_str_eq(run.err, expected);
    e2e_cli_free(&run);
}

Test(errors, run_names_an_incomplete_report_left_in_its_directory)
{
    struct e2e_cli run;
    /* The command leaves a .tmp where reports go, as a process killed while
     * writing its report would. */
    e2e_cli_run(&run, (const char *const[]){"run", "--", "/bin/sh", "-c",
                                            "d=${STRAYS_OPTIONS##*log_path=}; "
                                            ": > \"$d.99999.0.json.tmp\"",
                                            NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_eq(strncmp(run.err,
                         "strays: run: an incomplete report was left behind "
                         "(report.99999.0.json.tmp); the process died while writing it\n",
                         strlen("strays: run: an incomplete report was left behind "
                                "(report.99999.0.json.tmp); the process died while writing it\n")),
                 0, "%s", run.err);
    e2e_cli_free(&run);
}

Test(errors, run_with_an_unwritable_text_file_prints_on_stderr_and_keeps_the_status)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--text", "/nonexistent/t.txt", "--",
                                            e2e_build_path(LEAKY), NULL});
    char *line = first_line(run.err);
    cr_assert_str_eq(line, "strays: run: cannot write /nonexistent/t.txt: No such file or "
                           "directory; printing the report on stderr instead\n");
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group"), "%s", run.err);
    cr_assert_str_eq(run.out, LEAKY_OUT);
    cr_assert_eq(run.status, 23);
    free(line);
    e2e_cli_free(&run);
}

Test(errors, run_with_an_unwritable_json_file_says_so_and_keeps_the_status)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--json", "/nonexistent/r.json", "--",
                                            e2e_build_path(LEAKY), NULL});
    cr_assert_not_null(strstr(run.err, "strays: run: cannot write /nonexistent/r.json: No such "
                                       "file or directory\n"),
                       "%s", run.err);
    cr_assert_str_eq(run.out, LEAKY_OUT);
    cr_assert_eq(run.status, 23);
    e2e_cli_free(&run);
}

Test(errors, diff_usage_errors_name_the_problem)
{
    expect_cli((const char *const[]){"diff", "--jsn", "a.json", "b.json", NULL}, 2,
               "strays: diff: unknown argument '--jsn'\n", "");
    expect_cli((const char *const[]){"diff", "a.json", "b.json", "c.json", NULL}, 2,
               "strays: diff: too many files ('c.json'); diff compares two reports\n", "");
}
