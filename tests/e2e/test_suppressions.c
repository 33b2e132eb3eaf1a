/* End-to-end: suppression rules (suppressions=FILE) on the leak fixtures.
 * Suppressed threads, timers and fds vanish from the report and are counted;
 * a run whose every leak is suppressed exits 0; print_suppressions lists
 * each rule with its count (JSON) and the rules used (text); a bad line is
 * named by file and line while the other rules still apply; an unreadable
 * file is named and the program still runs and reports. */
#define _GNU_SOURCE
#include "e2e.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A suppressions file in a private directory. */
struct supp {
    char dir[64];
    char path[128];
    char options[512];
};

/* Writes text to a new file; options = "suppressions=PATH" + more. */
static void supp_write(struct supp *s, const char *text, const char *more)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/strays-supp.XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/rules.supp", s->dir);
    FILE *f = fopen(s->path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(s->options, sizeof s->options, "suppressions=%s%s%s", s->path, more ? ":" : "",
             more ? more : "");
}

static void supp_remove(struct supp *s)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    cr_assert_eq(system(cmd), 0);
}

static uint32_t total_suppressed(const struct st_report *r)
{
    return r->suppressed.threads + r->suppressed.timers + r->suppressed.fds;
}

/* ------------------------------------------------------------ each kind */

Test(suppressions_e2e, suppressed_thread_vanishes_is_counted_and_the_run_passes)
{
    struct supp s;
    supp_write(&s, "# the worker waits forever by design\nthread:top:start_worker\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "everything leaked was suppressed: status %d; stderr:\n%s",
                 run.status, run.err);
    cr_assert_str_eq(run.out, "done\n");
    cr_assert_str_eq(run.err, "", "a good file says nothing");
    cr_assert_eq(r->nthreads, 0);
    cr_assert_eq(r->suppressed.threads, 1);
    cr_assert_eq(r->suppressed.timers, 0);
    cr_assert_eq(r->suppressed.fds, 0);
    cr_assert_eq(r->suppressed.nrules, 0, "rules are listed with print_suppressions=1 only");
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, an_fd_suppressed_by_target_vanishes_and_the_other_still_fails_the_run)
{
    struct supp s;
    supp_write(&s, "fd:target=/etc/passwd\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fopen_opendir", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nfds, 1);
    cr_assert_str_eq(r->fds[0].target, "/etc");
    cr_assert_str_eq(r->fds[0].kind, "dir");
    cr_assert_eq(r->suppressed.fds, 1);
    cr_assert_eq(total_suppressed(r), 1);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, both_fds_suppressed_make_a_clean_run)
{
    struct supp s;
    supp_write(&s, "fd:target=/etc/passwd\nfd:top:scan_dir\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fopen_opendir", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    cr_assert_eq(r->nfds, 0);
    cr_assert_eq(r->suppressed.fds, 2);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, creator_is_the_caller_of_the_function_that_made_the_timer)
{
    /* start_ticker calls timer_create (frame 0); main calls start_ticker (frame 1). */
    struct supp s;
    supp_write(&s, "timer:creator:main\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/timer_periodic_leak", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    cr_assert_str_eq(run.out, "ticked\n");
    cr_assert_eq(r->ntimers, 0);
    cr_assert_eq(r->suppressed.timers, 1);
    e2e_free(&run);
    supp_remove(&s);

    supp_write(&s, "timer:creator:start_ticker\n", NULL);
    e2e_run(&run, "fixtures/timer_periodic_leak", s.options, NULL);
    r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "start_ticker is frame 0, not the creator");
    cr_assert_eq(r->ntimers, 1);
    cr_assert_eq(r->suppressed.timers, 0);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, rules_match_a_module_and_a_source_file)
{
    struct supp s;
    supp_write(&s, "thread:*/fixtures/thread_blocked_on_cond\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", s.options, NULL);
    cr_assert_eq(e2e_only_report(&run)->suppressed.threads, 1, "by the executable's full path");
    cr_assert_eq(run.status, 0);
    e2e_free(&run);
    supp_remove(&s);

    supp_write(&s, "fd:fd_fopen_*.c\n", NULL);
    e2e_run(&run, "fixtures/fd_fopen_opendir", s.options, NULL);
    cr_assert_eq(e2e_only_report(&run)->suppressed.fds, 2, "by the source file's basename");
    cr_assert_eq(run.status, 0);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, a_rule_of_another_kind_suppresses_nothing)
{
    struct supp s;
    supp_write(&s, "fd:start_worker\ntimer:*\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(total_suppressed(r), 0);
    e2e_free(&run);
    supp_remove(&s);
}

/* -------------------------------------------------------------- listing */

Test(suppressions_e2e, print_suppressions_lists_every_rule_with_its_count_in_json)
{
    struct supp s;
    supp_write(&s, "# fds\nfd:target=/etc/passwd\nfd:top:scan_dir\n\nthread:never_matches\n",
               "print_suppressions=1");
    struct e2e_run run;
    e2e_run(&run, "fixtures/fd_fopen_opendir", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(r->suppressed.nrules, 3);
    const struct st_report_supp_rule *rules = r->suppressed.rules;
    const struct {
        const char *rule;
        int line;
        uint32_t matched;
    } want[] = {{"fd:target=/etc/passwd", 2, 1}, {"fd:top:scan_dir", 3, 1},
                {"thread:never_matches", 5, 0}};
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(rules[i].rule, want[i].rule);
        cr_assert_str_eq(rules[i].file, s.path);
        cr_assert_eq(rules[i].line, want[i].line, "%s", want[i].rule);
        cr_assert_eq(rules[i].matched, want[i].matched, "%s", want[i].rule);
    }
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, text_report_lists_the_rules_used_and_counts_in_the_summary)
{
    struct supp s;
    supp_write(&s, "fd:target=/etc/passwd\nthread:unused\n", "print_suppressions=1");
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/fd_fopen_opendir", s.options, NULL, true);
    cr_assert_eq(run.status, 23);
    char want[512];
    snprintf(want, sizeof want,
             "Suppressions used:\n"
             "  count  rule\n"
             "      1  fd:target=/etc/passwd (%s:1)\n"
             "\n"
             "strays: 1 leaked fd in 1 group (1 suppressed) (pid ",
             s.path);
    cr_assert_not_null(strstr(run.err, want), "%s", run.err);
    cr_assert_null(strstr(run.err, "/etc/passwd) opened at"), "%s", run.err);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, a_fully_suppressed_run_prints_nothing_at_verbosity_0)
{
    struct supp s;
    supp_write(&s, "thread:start_worker\n", NULL);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_blocked_on_cond", s.options, NULL, true);
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.err, "", "clean, like LeakSanitizer");
    e2e_free(&run);
    supp_remove(&s);
}

/* ---------------------------------------------------------------- errors */

Test(suppressions_e2e, a_bad_line_is_named_by_file_and_line_and_the_other_rules_apply)
{
    struct supp s;
    supp_write(&s, "# workers\nthrad:start_worker\nthread:top:start_worker\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    char want[512];
    snprintf(want, sizeof want,
             "strays: %s:2: bad suppression \"thrad:start_worker\": unknown kind \"thrad\" "
             "(expected thread, timer or fd); ignoring it\n",
             s.path);
    cr_assert_str_eq(run.err, want);
    cr_assert_eq(run.status, 0, "line 3 still suppresses the worker");
    cr_assert_eq(r->nthreads, 0);
    cr_assert_eq(r->suppressed.threads, 1);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, an_unreadable_file_is_named_and_the_program_runs_and_reports)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "suppressions=/nonexistent/strays.supp",
            NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_str_eq(run.err, "strays: cannot read the suppressions file /nonexistent/strays.supp: "
                              "No such file or directory; running without suppressions\n");
    cr_assert_str_eq(run.out, "done\n");
    cr_assert_eq(run.status, 23);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(total_suppressed(r), 0);
    e2e_free(&run);
}

/* ------------------------------------------------- other kinds of report */

Test(suppressions_e2e, with_symbolize_0_names_still_match_and_the_report_stays_unnamed)
{
    struct supp s;
    supp_write(&s, "thread:top:start_worker\n", "symbolize=0");
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    cr_assert_eq(r->suppressed.threads, 1);
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++)
            cr_assert_null(r->stacks[i].frames[j].function, "symbolize=0 report has no names");
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, crash_report_leaves_out_suppressed_threads)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    struct supp s;
    supp_write(&s, "thread:top:main\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/crash_segv_with_worker", s.options, NULL);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 128 + 11, "still dies the same way");
    cr_assert_str_eq(r->reason, "crash");
    cr_assert_eq(r->nthreads, 0);
    cr_assert_eq(r->suppressed.threads, 1);
    cr_assert(e2e_stack_has(r, r->crash_stack, "write_through"), "the crash is still reported");
    e2e_free(&run);
    supp_remove(&s);
}

static const struct st_report *nth_reason(const struct e2e_run *run, const char *reason, int n)
{
    for (int i = 0; i < run->nreports; i++)
        if (!strcmp(run->reports[i].reason, reason) && n-- == 0)
            return &run->reports[i];
    return NULL;
}

Test(suppressions_e2e, live_dumps_leave_out_suppressed_threads_and_their_growth)
{
    struct supp s;
    supp_write(&s, "thread:top:accept_requests\n", NULL);
    struct e2e_run run;
    e2e_run(&run, "fixtures/dump_growing_server", s.options, NULL);
    cr_assert_eq(run.status, 0, "stderr:\n%s", run.err);
    const struct st_report *second = nth_reason(&run, "signal", 1);
    cr_assert_not_null(second, "%d reports; stderr:\n%s", run.nreports, run.err);
    cr_assert_eq(second->nthreads, 0);
    cr_assert_eq(second->suppressed.threads, 14);
    cr_assert_eq(second->ngrowth, 0, "the suppressed site's growth is not shown");
    const struct st_report *exit_report = nth_reason(&run, "exit", 0);
    cr_assert_not_null(exit_report);
    cr_assert_eq(exit_report->nthreads, 0);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions_e2e, report_with_rules_matches_the_schema)
{
    struct supp s;
    char opts[700];
    supp_write(&s, "fd:target=/etc/passwd\nthread:unused\n", NULL);
    snprintf(opts, sizeof opts, "%s:print_suppressions=1:format=json:log_path=%s/r", s.options,
             s.dir);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/fd_fopen_opendir", opts, NULL, true);
    cr_assert_eq(run.status, 23);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json, sys, jsonschema\n"
             "v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\n"
             "r = json.load(open(sys.argv[2]))\n"
             "assert len(r[\"suppressed\"][\"rules\"]) == 2, r[\"suppressed\"]\n"
             "v.validate(r)' docs/report.schema.json %s/r.*.json",
             s.dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    e2e_free(&run);
    supp_remove(&s);
}

Test(suppressions, print_suppressions_speaks_even_when_everything_was_suppressed)
{
    char dir[] = "/tmp/strays-supp-print.XXXXXX", path[200], opts[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/all.supp", dir);
    FILE *f = fopen(path, "w");
    fputs("thread:start_worker\n", f);
    fclose(f);
    snprintf(opts, sizeof opts, "suppressions=%s:print_suppressions=1", path);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_blocked_on_cond", opts, NULL, true);
    cr_assert_eq(run.status, 0, "everything suppressed: its own status");
    cr_assert_not_null(strstr(run.err, "Suppressions used:"), "%s", run.err);
    cr_assert_not_null(strstr(run.err, "no leaks"), "%s", run.err);
    unlink(path);
    rmdir(dir);
    e2e_free(&run);
}
