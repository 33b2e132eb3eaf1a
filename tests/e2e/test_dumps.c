/* End-to-end: live dumps (the dump signal, dump_interval, growth between
 * dumps, metrics), post-mortem crash reports, and report=failure. */
#define _GNU_SOURCE
#include "e2e.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Crash fixtures must not leave core files behind. */
static void no_core_files(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
}

static int count_reason(const struct e2e_run *run, const char *reason)
{
    int n = 0;
    for (int i = 0; i < run->nreports; i++)
        n += !strcmp(run->reports[i].reason, reason);
    return n;
}

static const struct st_report *nth_reason(const struct e2e_run *run, const char *reason, int nth)
{
    for (int i = 0; i < run->nreports; i++)
        if (!strcmp(run->reports[i].reason, reason) && nth-- == 0)
            return &run->reports[i];
    return NULL;
}

Test(dumps, two_signal_dumps_show_growth_at_the_creation_site)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_growing_server", "exitcode=0", NULL);
    cr_assert_eq(run.status, 0, "exit status as without strays; stderr:\n%s", run.err);
    cr_assert_str_eq(run.out, "served\n");
    cr_assert_eq(count_reason(&run, "signal"), 2, "%d reports; stderr:\n%s", run.nreports,
                 run.err);
    cr_assert_eq(count_reason(&run, "exit"), 1);
    const struct st_report *first = nth_reason(&run, "signal", 0);
    const struct st_report *second = nth_reason(&run, "signal", 1);
    cr_assert_eq(first->nthreads, 4);
    cr_assert_eq(first->growth_since_ms, -1, "the first dump has nothing to compare with");
    cr_assert_eq(second->nthreads, 14);
    cr_assert_geq(second->growth_since_ms, 400);
    cr_assert_eq(second->ngrowth, 1);
    const struct st_report_growth *g = &second->growth[0];
    cr_assert_str_eq(g->kind, "threads");
    cr_assert_eq(g->count, 14);
    cr_assert_eq(g->delta, 10);
    cr_assert_eq(e2e_frame_of(second, g->created_by, "accept_requests"), 0);
    for (uint32_t i = 0; i < second->nthreads; i++)
        cr_assert_eq(second->threads[i].state, ST_RT_BLOCKED);
    e2e_free(&run);
}

/* The second of the run's text reports, r.PID.1.txt; free() it. */
static char *second_text_report(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, versionsort);
    cr_assert_geq(n, 0, "cannot list %s", dir);
    char *text = NULL;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (!text && len > 6 && !strcmp(name + len - 6, ".1.txt")) {
            char path[300];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            text = e2e_slurp(path);
        }
        free(names[i]);
    }
    free(names);
    cr_assert_not_null(text, "no second text report in %s", dir);
    return text;
}

/* Text reports in files (the fixture waits for each dump's file): the
 * second dump says the growth. */
Test(dumps, growth_is_said_in_text)
{
    char dir[] = "/tmp/strays-text.XXXXXX", options[128], cmd[100];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(options, sizeof options, "exitcode=0:log_path=%s/r", dir);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/dump_growing_server", options, NULL, true);
    cr_assert_eq(run.status, 0, "%s", run.err);
    char *text = second_text_report(dir);
    cr_assert_not_null(strstr(text, "strays: report (signal) of "), "%s", text);
    cr_assert_not_null(strstr(text, "    +10 threads at accept_requests (dump_growing_server.c:"),
                       "%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    e2e_free(&run);
}

struct tally {
    int dumps, exits;
};

static void tally_report(struct st_report *r, void *ctx)
{
    struct tally *t = ctx;
    t->dumps += !strcmp(r->reason, "signal");
    t->exits += !strcmp(r->reason, "exit");
    st_report_free(r);
}

/* The fixture waits for the first dump before it exits, and the reports
 * (there may be hundreds) are counted from their files. */
Test(dumps, a_storm_of_dump_signals_is_coalesced_and_harmless)
{
    char dir[] = "/tmp/strays-storm.XXXXXX", prefix[64], options[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(prefix, sizeof prefix, "%s/r", dir);
    snprintf(options, sizeof options, "format=json:log_path=%s", prefix);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/dump_growing_server", options,
                (const char *[]){"storm", prefix, NULL}, true);
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    cr_assert_str_eq(run.out, "stormed\n");
    struct tally t = {0, 0};
    e2e_for_each_report(dir, tally_report, &t);
    cr_assert_geq(t.dumps, 1);
    cr_assert_lt(t.dumps, 1000, "signals during a dump are coalesced");
    cr_assert_eq(t.exits, 1);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    e2e_free(&run);
}

/* The program installs its own handler for the dump signal: the signal is
 * its own from then on (strays gives it back and says so once), no dump. */
Test(dumps, program_with_its_own_dump_signal_handler_gets_the_signal_back)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_growing_server", "exitcode=0:verbosity=1",
            (const char *[]){"own", NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.out, "own handler ran 2 times\nserved\n");
    cr_assert_eq(count_reason(&run, "signal"), 0, "the signals were the program's");
    cr_assert_eq(count_reason(&run, "exit"), 1);
    const char *said = "strays: the program installed its own handler for SIGRTMAX-4, the dump "
                       "signal: it is the program's; strays takes no live dumps by signal "
                       "(dump_signal= chooses another)\n";
    const char *at = strstr(run.err, said);
    cr_assert_not_null(at, "stderr:\n%s", run.err);
    cr_assert_null(strstr(at + 1, said), "said once");
    e2e_free(&run);
}

Test(dumps, dump_signal_zero_turns_dumps_off_and_the_signal_is_the_programs)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_growing_server", "dump_signal=0", (const char *[]){"own", NULL});
    cr_assert_str_eq(run.out, "own handler ran 2 times\nserved\n");
    cr_assert_eq(count_reason(&run, "signal"), 0);
    e2e_free(&run);
}

/* One sample line of the Prometheus text format: name{labels} value. */
static bool is_prometheus_text(const char *text, char *why, size_t len)
{
    regex_t sample, comment;
    regcomp(&sample,
            "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})? "
            "-?[0-9]+(\\.[0-9]+)?$",
            REG_EXTENDED | REG_NOSUB);
    regcomp(&comment, "^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", REG_EXTENDED | REG_NOSUB);
    bool ok = true;
    char *copy = strdup(text), *save = NULL;
    int samples = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regex_t *re = line[0] == '#' ? &comment : &sample;
        if (regexec(re, line, 0, NULL, 0) != 0) {
            snprintf(why, len, "bad line: %s", line);
            ok = false;
            break;
        }
        samples += line[0] != '#';
    }
    if (ok && samples == 0) {
        snprintf(why, len, "no samples");
        ok = false;
    }
    free(copy);
    regfree(&sample);
    regfree(&comment);
    return ok;
}

Test(dumps, dump_interval_writes_periodic_dumps_and_metrics)
{
    char dir[] = "/tmp/strays-metrics.XXXXXX", opts[200], path[100], why[300] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/strays.prom", dir);
    snprintf(opts, sizeof opts, "dump_interval=100ms:metrics_path=%s:exitcode=0", path);
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_interval_workers", opts, NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.out, "worked\n");
    /* No timing is asserted: the fixture waited for three dumps, and the
     * k-th cannot start before k intervals of the watchdog's life, which
     * the exit report's uptime bounds (one more may begin while the exit
     * report is built): periodic, not one per millisecond. */
    int dumps = count_reason(&run, "interval");
    const struct st_report *exit_report = nth_reason(&run, "exit", 0);
    cr_assert_not_null(exit_report, "%s", run.err);
    cr_assert(dumps >= 3 && dumps <= (int)(exit_report->uptime_ms / 100) + 1,
              "%d dumps at 100 ms in %llu ms", dumps, (unsigned long long)exit_report->uptime_ms);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "metrics file written");
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cr_assert(is_prometheus_text(text, why, sizeof why), "%s\n%s", why, text);
    cr_assert_not_null(strstr(text, "strays_threads{state=\"blocked\"} 3\n"), "%s", text);
    cr_assert_not_null(strstr(text, "strays_site_objects{kind=\"threads\",site=\"main (dump_interval_workers.c:"),
                       "%s", text);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    e2e_free(&run);
}

Test(crash, segfault_reports_the_crash_and_the_blocked_worker_then_dies_the_same_way)
{
    no_core_files();
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_segv_with_worker", NULL, NULL);
    cr_assert_eq(run.status, 128 + 11, "killed by SIGSEGV as without strays: %d", run.status);
    cr_assert_eq(run.nreports, 1, "stderr:\n%s", run.err);
    const struct st_report *r = &run.reports[0];
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->signal, 11);
    cr_assert_eq(r->fault_address, 0);
    cr_assert_eq(r->crash_tid, r->pid, "the main thread crashed");
    cr_assert_eq(e2e_frame_of(r, r->crash_stack, "write_through"), 0);
    cr_assert(e2e_stack_has(r, r->crash_stack, "main"));
    const struct st_report_thread *w = e2e_thread_named(r, "worker");
    cr_assert_not_null(w);
    cr_assert_eq(w->state, ST_RT_BLOCKED);
    cr_assert_str_eq(w->blocked->call, "pthread_cond_wait");
    cr_assert_eq(e2e_frame_of(r, w->stack, "worker"), 0);
    e2e_free(&run);
}

/* The handler has no stack left to run on but the alternate one strays set
 * up at start (in its .lbss since this test): the report is written, and the
 * process dies of the SIGSEGV as without strays. */
Test(crash, stack_overflow_reports_from_the_alternate_stack_then_dies_the_same_way)
{
    no_core_files();
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_stack_overflow", NULL, NULL);
    cr_assert_eq(run.status, 128 + 11, "killed by SIGSEGV as without strays: %d\n%s", run.status,
                 run.err);
    cr_assert_eq(run.nreports, 1, "stderr:\n%.3000s", run.err);
    const struct st_report *r = &run.reports[0];
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->signal, 11);
    cr_assert_eq(r->crash_tid, r->pid, "the main thread crashed");
    cr_assert(e2e_stack_has(r, r->crash_stack, "descend"));
    e2e_free(&run);
}

/* Its own handler ends the process with _exit(3): that is its exit, with
 * the report of an exit (built in the handler as a crash report is). */
Test(crash, program_with_its_own_sigsegv_handler_keeps_it)
{
    no_core_files();
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_segv_with_worker", NULL, (const char *[]){"own", NULL});
    cr_assert_eq(run.status, 3, "its handler exits 3");
    cr_assert_str_eq(run.out, "own handler\n");
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_eq(r->exit_status, 3);
    cr_assert_eq(r->signal, 0);
    const struct st_report_thread *w = e2e_thread_named(r, "worker");
    cr_assert_not_null(w);
    cr_assert_eq(w->state, ST_RT_BLOCKED);
    e2e_free(&run);
}

Test(crash, failed_assertion_reports_the_timer_and_fd_and_aborts)
{
    no_core_files();
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_abort_with_timer_fd", NULL, NULL);
    cr_assert_eq(run.status, 128 + 6, "SIGABRT: %d", run.status);
    cr_assert_not_null(strstr(run.err, "Assertion"), "the program's own message: %s", run.err);
    cr_assert_eq(run.nreports, 1);
    const struct st_report *r = &run.reports[0];
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->signal, 6);
    cr_assert_eq(r->ntimers, 1);
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/etc/hostname");
    cr_assert(e2e_stack_has(r, r->crash_stack, "main"));
    e2e_free(&run);
}

/* glibc's malloc aborts from inside _int_free, its arena locked: the crash
 * report is built and written without malloc (a qsort of 64 waits once
 * called it and hung the process for ever). */
Test(crash, abort_inside_malloc_with_its_lock_held_still_reports)
{
    no_core_files();
    e2e_set_timeout(20000);
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_malloc_lock", NULL, NULL);
    cr_assert_eq(run.status, 128 + 6, "SIGABRT: %d", run.status);
    cr_assert_str_eq(run.out, "freeing twice\n");
    cr_assert_not_null(strstr(run.err, "double free or corruption (!prev)"), "%s", run.err);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->signal, 6);
    cr_assert_eq(r->nthreads, 64);
    cr_assert_eq(e2e_count_threads_named(r, "worker"), 64);
    for (uint32_t i = 0; i < r->nthreads; i++)
        cr_assert_eq(r->threads[i].state, ST_RT_BLOCKED);
    cr_assert(e2e_stack_has(r, r->crash_stack, "abort"));
    cr_assert(e2e_stack_has(r, r->crash_stack, "main"));
    e2e_free(&run);
}

/* Nothing on the crash path calls malloc: the fixture's own malloc says so
 * when it is called on the crashing thread once the crash began. 300
 * threads, fds of every kind, a timer and a running thread make the report
 * sort, name and format all it can. */
Test(crash, crash_report_calls_no_malloc)
{
    no_core_files();
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_no_malloc", NULL, NULL);
    cr_assert_eq(run.status, 128 + 11);
    cr_assert_str_eq(run.out, "crashing\n");
    cr_assert_null(strstr(run.err, "malloc called after the crash"), "%s", run.err);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->nthreads, 302, "300 waiting, a spinner, one never joined");
    cr_assert_eq(r->ntimers, 1);
    cr_assert_str_eq(r->timers[0].notify, "signal:SIGRTMIN+1");
    cr_assert_eq(r->nfds, 6);
    e2e_free(&run);
}

/* A thread stopped in fork's prepare handlers for good holds strays' thread
 * and timer tables (and a fork under way) when another thread crashes: the
 * crash report waits a little for them, then goes out without their
 * records, saying how many it left out (it once waited for ever). */
Test(crash, crash_while_a_fork_holds_strays_tables_reports_what_it_can_read)
{
    no_core_files();
    e2e_set_timeout(20000);
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_early_handler", NULL, (const char *[]){"fork-held", NULL});
    cr_assert_eq(run.status, 128 + 11);
    cr_assert_str_eq(run.out, "fork holds the locks; crashing\n");
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->tracking.threads_unread, 4, "three waiters and the forker");
    cr_assert_eq(r->tracking.timers_unread, 1);
    cr_assert_eq(r->nthreads + r->ntimers + r->nuntracked, 0);
    cr_assert_eq(r->nfds, 4, "the fd table takes no lock: both pipes are there");
    cr_assert(e2e_stack_has(r, r->crash_stack, "crash_while_fork_holds_the_locks"));
    e2e_free(&run);
}

Test(report_option, failure_writes_nothing_for_a_passing_run)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/exit_status_from_arg", "report=failure", (const char *[]){"0", NULL});
    cr_assert_eq(run.status, 0, "a passing run keeps its status");
    cr_assert_eq(run.nreports, 0);
    e2e_free(&run);
}

Test(report_option, failure_writes_the_report_of_a_failing_run)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/exit_status_from_arg", "report=failure", (const char *[]){"3", NULL});
    cr_assert_eq(run.status, 3);
    cr_assert_eq(run.nreports, 1);
    cr_assert_eq(run.reports[0].exit_status, 3);
    cr_assert_eq(run.reports[0].nfds, 1);
    e2e_free(&run);
}

Test(dumps, single_threaded_program_gets_no_strays_thread_until_a_dump_is_asked_for)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_single_threaded", NULL, NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.out, "before: 1\nafter: 2 (usleep 0, errno 0)\n",
                     "the watchdog came with the dump, errno as the call left it");
    cr_assert_eq(count_reason(&run, "signal"), 1);
    cr_assert_eq(count_reason(&run, "exit"), 1);
    e2e_free(&run);
}

/* The first hooked call after the dump signal runs inside another signal
 * handler: strays' thread is not started there (the handler interrupted
 * who knows what), but by the next call outside it. */
Test(dumps, watchdog_is_never_started_inside_a_signal_handler)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_single_threaded", NULL, (const char *[]){"in-handler", NULL});
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.out,
                     "before: 1\nin a handler: 1, then 1\nafter: 2 (usleep 0, errno 0)\n");
    cr_assert_eq(count_reason(&run, "signal"), 1);
    e2e_free(&run);
}
