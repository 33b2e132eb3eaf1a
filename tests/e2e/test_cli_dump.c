/* End-to-end: `strays dump PID` against a live process. The fixture
 * (dump_fake_reporter) handles the dump signal itself and writes a fake
 * report named as the preload names them, so these tests pin the CLI's
 * side alone: reading the process's options, choosing the signal, finding
 * the new report and printing it, and refusing what cannot work. Its
 * LD_PRELOAD names a libstrays.so that does not exist: the loader ignores
 * it, and the CLI sees a process started under strays. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define FIXTURE "fixtures/dump_fake_reporter"

struct dumpee {
    struct e2e_bg bg;
    char dir[256];     /* where its reports go */
    char prefix[300];  /* log_path */
    char pid[16];
    char preload[300]; /* a libstrays.so that is not there */
};

/* Starts the fixture with log_path=DIR/r (or `log_path` when not NULL,
 * relative to DIR, its working directory) plus extra options. */
static void start_as(struct dumpee *d, const char *mode, const char *log_path, const char *extra,
                     bool under_strays, const char *how)
{
    char options[1024];
    e2e_tmpdir(d->dir, sizeof d->dir);
    snprintf(d->prefix, sizeof d->prefix, "%s/r", d->dir);
    snprintf(d->preload, sizeof d->preload, "%s/libstrays.so", d->dir);
    const char *prefix = log_path ? log_path : d->prefix;
    snprintf(options, sizeof options, "format=json:log_path=%s%s%s", prefix, extra ? ":" : "",
             extra ? extra : "");
    const char *args[] = {prefix, mode, how, NULL};
    e2e_bg_start(&d->bg, FIXTURE, args, under_strays ? d->preload : NULL, options, d->dir,
                 "ready\n");
    snprintf(d->pid, sizeof d->pid, "%d", (int)d->bg.pid);
}

static void start(struct dumpee *d, const char *mode, const char *log_path, const char *extra,
                  bool under_strays, bool handler)
{
    start_as(d, mode, log_path, extra, under_strays, handler ? NULL : "nohandler");
}

static void stop(struct dumpee *d)
{
    e2e_bg_stop(&d->bg);
    e2e_rmdir(d->dir);
}

static void dump(struct e2e_cli *run, const struct dumpee *d, const char *wait)
{
    if (wait)
        e2e_cli_run(run, (const char *const[]){"dump", d->pid, "--wait", wait, NULL});
    else
        e2e_cli_run(run, (const char *const[]){"dump", d->pid, NULL});
}

static char *expected_text(const struct dumpee *d, unsigned seq)
{
    char *s;
    int pid = (int)d->bg.pid;
    cr_assert_gt(asprintf(&s,
                          "strays: report (signal) of fake (pid %d)\n\n"
                          "1 thread running, created at:\n"
                          "    threads: %d \"dump-%u\"\n"
                          "    #0 fake_site (fake.c:7) [/fake+0x1000]\n\n"
                          "strays: 1 leaked thread in 1 group (pid %d, fake)\n",
                          pid, pid + 1, seq, pid),
                 0);
    return s;
}

Test(cli_dump, prints_the_report_the_signal_asked_for_and_the_process_goes_on)
{
    struct dumpee d;
    start(&d, "json", NULL, NULL, true, true);
    for (unsigned seq = 0; seq < 2; seq++) {
        struct e2e_cli run;
        dump(&run, &d, "20");
        cr_assert_eq(run.status, 0, "status %d, stderr:\n%s", run.status, run.err);
        char *text = expected_text(&d, seq), note[600];
        cr_assert_str_eq(run.out, text, "the report in text, as `strays report` prints it");
        snprintf(note, sizeof note, "strays: dump: process %s wrote %s.%s.%u.json\n", d.pid,
                 d.prefix, d.pid, seq);
        cr_assert_str_eq(run.err, note, "the second dump is the new file, not the first");
        free(text);
        e2e_cli_free(&run);
    }
    char *out = e2e_bg_output(&d.bg);
    cr_assert_str_eq(out, "ready\ngot SIGRTMAX-4\ndumped 0\ngot SIGRTMAX-4\ndumped 1\n");
    free(out);
    cr_assert(e2e_bg_alive(&d.bg), "a dump does not stop the process");
    stop(&d);
}

/* stdout on a full disk (/dev/full): the dump is lost, and the status and
 * the message say so, for a JSON report and for a text one. */
Test(cli_dump, output_that_cannot_be_written_exits_1_with_a_message)
{
    static const char *const modes[] = {"json", "txt"};
    for (size_t i = 0; i < 2; i++) {
        struct dumpee d;
        start(&d, modes[i], NULL, i ? "format=text" : NULL, true, true);
        char cmd[4096], err_path[300];
        snprintf(err_path, sizeof err_path, "%s/cli.err", d.dir);
        snprintf(cmd, sizeof cmd, "'%s' dump %s --wait 20 >/dev/full 2>'%s'", e2e_cli_path(),
                 d.pid, err_path);
        int status = system(cmd);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: status %d", modes[i],
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        char *err = e2e_slurp(err_path);
        cr_assert_not_null(strstr(err, "strays: dump: cannot write the output\n"), "%s: %s",
                           modes[i], err);
        free(err);
        stop(&d);
    }
}

Test(cli_dump, text_report_under_a_relative_log_path_is_printed_as_written)
{
    struct dumpee d;
    start(&d, "txt", "reports", "format=text", true, true);
    struct e2e_cli run;
    dump(&run, &d, "20");
    cr_assert_eq(run.status, 0, "status %d, stderr:\n%s", run.status, run.err);
    char *text = expected_text(&d, 0), note[600];
    cr_assert_str_eq(run.out, text);
    snprintf(note, sizeof note, "strays: dump: process %s wrote %s/reports.%s.0.txt\n", d.pid,
             d.dir, d.pid);
    cr_assert_str_eq(run.err, note, "relative to the process's working directory");
    free(text);
    e2e_cli_free(&run);
    stop(&d);
}

Test(cli_dump, dump_signal_option_of_the_process_chooses_the_signal)
{
    struct dumpee d;
    start(&d, "json", NULL, "dump_signal=USR2", true, true);
    struct e2e_cli run;
    dump(&run, &d, "20");
    cr_assert_eq(run.status, 0, "status %d, stderr:\n%s", run.status, run.err);
    cr_assert(e2e_bg_wait_output(&d.bg, "got SIGUSR2\ndumped 0\n", 5000));
    e2e_cli_free(&run);
    stop(&d);
}

Test(cli_dump, bad_dump_signal_is_noted_and_the_default_used_as_the_process_does)
{
    struct dumpee d;
    start(&d, "json", NULL, "dump_signal=USR9", true, true);
    struct e2e_cli run;
    dump(&run, &d, "20");
    cr_assert_eq(run.status, 0, "status %d, stderr:\n%s", run.status, run.err);
    char note[100];
    snprintf(note, sizeof note, "strays: dump: note: process %s: bad value 'USR9' for option "
                                "dump_signal", d.pid);
    cr_assert_eq(strncmp(run.err, note, strlen(note)), 0, "got:\n%s", run.err);
    cr_assert(e2e_bg_wait_output(&d.bg, "got SIGRTMAX-4\ndumped 0\n", 5000));
    e2e_cli_free(&run);
    stop(&d);
}

Test(cli_dump, no_report_in_time_is_a_clear_failure)
{
    struct dumpee d;
    start(&d, "none", NULL, NULL, true, true);
    struct e2e_cli run;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dump(&run, &d, "0.3");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char expected[700];
    snprintf(expected, sizeof expected,
             "strays: dump: no new report %s.%s.*.json|txt from process %s within 0.3s of "
             "SIGRTMAX-4\n",
             d.prefix, d.pid, d.pid);
    cr_assert_str_eq(run.err, expected);
    cr_assert_str_eq(run.out, "");
    cr_assert_eq(run.status, 1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_lt(took, 4.0, "waited %.1fs for a --wait of 0.3s", took);
    cr_assert(e2e_bg_wait_output(&d.bg, "got SIGRTMAX-4\n", 5000), "the signal was sent");
    e2e_cli_free(&run);
    stop(&d);
}

/* The process writes its exit report (it is exiting) where the dump was
 * awaited: that is not the dump, and is not printed as one. */
Test(cli_dump, exit_report_that_comes_instead_of_the_dump_is_not_the_answer)
{
    struct dumpee d;
    start(&d, "json-exit", NULL, NULL, true, true);
    struct e2e_cli run;
    dump(&run, &d, "20");
    char expected[700];
    snprintf(expected, sizeof expected,
             "strays: dump: process %s wrote its exit report %s.%s.0.json instead of the dump: "
             "it is ending\n",
             d.pid, d.prefix, d.pid);
    cr_assert_str_eq(run.err, expected);
    cr_assert_str_eq(run.out, "");
    cr_assert_eq(run.status, 1);
    e2e_cli_free(&run);
    stop(&d);
}

/* Its environment was written over (a process title): the options it ran
 * with are not known, so nothing is claimed of where the dump went, and -o
 * says where its reports go. */
Test(cli_dump, process_that_wrote_over_its_environment_needs_o_for_its_options)
{
    struct dumpee d;
    start_as(&d, "json", NULL, NULL, true, "retitle");
    struct e2e_cli run;
    dump(&run, &d, "20");
    char expected[900];
    snprintf(expected, sizeof expected,
             "strays: dump: note: /proc/%s/environ no longer holds the process's environment "
             "(the program wrote over it, as PostgreSQL does for its process title): its strays "
             "options are not known here, the defaults are assumed (-o gives them)\n"
             "strays: dump: sent SIGRTMAX-4 to process %s; where it writes the dump is not known "
             "here (its own stderr, unless its log_path says otherwise)\n",
             d.pid, d.pid);
    cr_assert_str_eq(run.err, expected);
    cr_assert_eq(run.status, 0);
    cr_assert(e2e_bg_wait_output(&d.bg, "got SIGRTMAX-4\ndumped 0\n", 5000));
    e2e_cli_free(&run);
    char log_path[400];
    snprintf(log_path, sizeof log_path, "log_path=%s", d.prefix);
    e2e_cli_run(&run, (const char *const[]){"dump", d.pid, "--wait", "20", "-o", log_path, NULL});
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    char *text = expected_text(&d, 1);
    cr_assert_str_eq(run.out, text);
    free(text);
    e2e_cli_free(&run);
    stop(&d);
}

Test(cli_dump, log_path_stderr_only_sends_the_signal)
{
    struct dumpee d;
    start(&d, "none", "stderr", NULL, true, true);
    struct e2e_cli run;
    dump(&run, &d, NULL);
    char expected[300];
    snprintf(expected, sizeof expected,
             "strays: dump: sent SIGRTMAX-4 to process %s; it writes the dump to its own stderr "
             "(log_path=stderr)\n",
             d.pid);
    cr_assert_str_eq(run.err, expected);
    cr_assert_eq(run.status, 0);
    cr_assert(e2e_bg_wait_output(&d.bg, "got SIGRTMAX-4\n", 5000));
    e2e_cli_free(&run);
    stop(&d);
}

/* Refusals: nothing is sent, and the process runs on. */
static void assert_refused(struct dumpee *d, const char *message)
{
    struct e2e_cli run;
    dump(&run, d, "0.3");
    char expected[600];
    snprintf(expected, sizeof expected, message, d->pid);
    cr_assert_str_eq(run.err, expected);
    cr_assert_str_eq(run.out, "");
    cr_assert_eq(run.status, 2);
    char *out = e2e_bg_output(&d->bg);
    cr_assert_str_eq(out, "ready\n", "no signal was sent");
    free(out);
    cr_assert(e2e_bg_alive(&d->bg));
    e2e_cli_free(&run);
    stop(d);
}

Test(cli_dump, process_not_under_strays_is_refused)
{
    struct dumpee d;
    start(&d, "json", NULL, NULL, false, true);
    assert_refused(&d, "strays: dump: process %s is not running under strays (no libstrays in "
                       "its LD_PRELOAD)\n");
}

Test(cli_dump, dumps_turned_off_are_refused)
{
    struct dumpee d;
    start(&d, "json", NULL, "dump_signal=0", true, true);
    assert_refused(&d, "strays: dump: live dumps are off in process %s (dump_signal=0)\n");
}

Test(cli_dump, signal_that_would_kill_the_process_is_not_sent)
{
    struct dumpee d;
    start(&d, "json", NULL, NULL, true, false);
    assert_refused(&d, "strays: dump: process %s does not catch SIGRTMAX-4, which would kill "
                       "it: it takes no live dumps (a fork child of a threaded process, before "
                       "exec), or its program took the signal back; not sending it\n");
}

Test(cli_dump, no_such_process_exits_2)
{
    /* pid_max itself is never a pid. */
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    int pid_max = 0;
    cr_assert(f && fscanf(f, "%d", &pid_max) == 1);
    fclose(f);
    char pid[16], expected[100];
    snprintf(pid, sizeof pid, "%d", pid_max);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"dump", pid, NULL});
    snprintf(expected, sizeof expected, "strays: dump: no process with pid %d\n", pid_max);
    cr_assert_str_eq(run.err, expected);
    cr_assert_eq(run.status, 2);
    e2e_cli_free(&run);
}

Test(cli_dump, bad_arguments_exit_2)
{
#define BAD_WAIT(v) "strays: dump: bad --wait value '" v "' (expected seconds, such as 5 or 0.5)\n"
    static const struct {
        const char *args[4];
        const char *err;
    } cases[] = {
        {{"1", "--wait", "abc"}, BAD_WAIT("abc")},
        {{"1", "--wait", "-1"}, BAD_WAIT("-1")},
        {{"1", "--wait=5s"}, BAD_WAIT("5s")},
        {{"1", "--wait"}, "strays: dump: no value for '--wait' (strays dump --help)\n"},
        {{"1", "-o"}, "strays: dump: no value for '-o' (strays dump --help)\n"},
        {{"x1"}, "strays: dump: 'x1' is not a process id\n"},
        {{"1", "2"}, "strays: dump: unknown argument '2' (strays dump --help)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[6] = {"dump"};
        for (int j = 0; j < 4 && cases[i].args[j]; j++)
            argv[j + 1] = cases[i].args[j];
        struct e2e_cli run;
        e2e_cli_run(&run, argv);
        cr_assert_eq(run.status, 2, "case %zu: status %d", i, run.status);
        cr_assert_str_eq(run.err, cases[i].err, "case %zu", i);
        e2e_cli_free(&run);
    }
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"dump", NULL});
    cr_assert_eq(run.status, 2);
    const char *usage = "usage: strays dump PID [--wait SECONDS] [-o OPTION=VALUE]...\n";
    cr_assert_eq(strncmp(run.err, usage, strlen(usage)), 0, "%s", run.err);
    e2e_cli_free(&run);
}

/* Against the real preload: the dump goes to strays' watchdog thread alone,
 * so the program's own sleep is not cut short (it sleeps until the dump is
 * written). With blocked-start, the
 * watchdog was started in a pthread_create made with every signal blocked
 * (Node does that): it still takes its dump signal. */
static void dump_real_process(const char *mode)
{
    char dir[256], prefix[300], opts[400], pid_arg[16], lib[4096];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(lib, sizeof lib, "%s", e2e_build_path("libstrays.so"));
    snprintf(prefix, sizeof prefix, "%s/r", dir);
    snprintf(opts, sizeof opts, "format=json:log_path=%s:exitcode=0", prefix);
    struct e2e_bg bg;
    e2e_bg_start(&bg, "fixtures/dump_sleeping_server", (const char *[]){mode, prefix, NULL}, lib,
                 opts, NULL, "ready");
    snprintf(pid_arg, sizeof pid_arg, "%d", (int)bg.pid);
    struct e2e_cli cli;
    e2e_cli_run(&cli, (const char *[]){"dump", pid_arg, "--wait", "5", NULL});
    cr_assert_eq(cli.status, 0, "%s: printed: %d\nstdout:\n%s\nstderr:\n%s", mode, cli.status,
                 cli.out, cli.err);
    cr_assert_not_null(strstr(cli.out, "strays: report (signal) of "), "%s", cli.out);
    cr_assert_not_null(strstr(cli.out, "2 threads blocked in pthread_cond_wait("), "%s", cli.out);
    cr_assert(e2e_bg_wait_output(&bg, "slept fully\n", 5000), "the program's sleep was cut short");
    e2e_cli_free(&cli);
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(cli_dump, live_dump_of_a_real_process_leaves_its_sleep_alone)
{
    dump_real_process("normal");
}

Test(cli_dump, watchdog_started_with_every_signal_blocked_still_takes_the_dump_signal)
{
    dump_real_process("blocked-start");
}

/* The child of a forking process, going on without exec: with a threaded
 * parent it takes no live dumps (strays starts no thread there), and its
 * dump signal does what the program's action says, as without strays, so
 * `strays dump` refuses rather than claim a dump; with a single-threaded
 * parent it dumps as any single-threaded program does. The parent writes
 * no dump either way. */
static void dump_fork_child(const char *parent, int want_status)
{
    char dir[256], opts[400], lib[4096], child[16] = "";
    e2e_tmpdir(dir, sizeof dir);
    snprintf(lib, sizeof lib, "%s", e2e_build_path("libstrays.so"));
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r:exitcode=0", dir);
    struct e2e_bg bg;
    e2e_bg_start(&bg, "fixtures/dump_fork_child", (const char *[]){parent, NULL}, lib, opts, NULL,
                 "ready\n");
    char *out = e2e_bg_output(&bg);
    cr_assert_eq(sscanf(out, "child %15s", child), 1, "%s", out);
    free(out);
    struct e2e_cli cli;
    e2e_cli_run(&cli, (const char *[]){"dump", child, "--wait", "10", NULL});
    cr_assert_eq(cli.status, want_status, "%s: status %d\nstdout:\n%s\nstderr:\n%s", parent,
                 cli.status, cli.out, cli.err);
    if (want_status == 0) {
        char clean[100];
        snprintf(clean, sizeof clean, "strays: no leaks (pid %s, ", child);
        cr_assert_eq(strncmp(cli.out, clean, strlen(clean)), 0, "the child's dump: %s", cli.out);
    } else {
        char expected[400];
        snprintf(expected, sizeof expected,
                 "strays: dump: process %s does not catch SIGRTMAX-4, which would kill it: it "
                 "takes no live dumps (a fork child of a threaded process, before exec), or its "
                 "program took the signal back; not sending it\n",
                 child);
        cr_assert_str_eq(cli.err, expected);
    }
    e2e_cli_free(&cli);
    char parent_reports[300];
    snprintf(parent_reports, sizeof parent_reports, "ls %s | grep -q 'r\\.%d\\.'", dir,
             (int)bg.pid);
    cr_assert_neq(system(parent_reports), 0, "the parent wrote a report it was not asked for");
    e2e_bg_stop(&bg);
    e2e_rmdir(dir);
}

Test(cli_dump, fork_child_of_a_threaded_process_is_refused_and_its_parent_left_alone)
{
    dump_fork_child("threaded", 2);
}

Test(cli_dump, fork_child_of_a_single_threaded_process_dumps)
{
    dump_fork_child("single", 0);
}
