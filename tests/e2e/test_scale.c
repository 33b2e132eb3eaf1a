/* End-to-end: reports of a process holding thousands of threads, fds and
 * timers (issue 7, "Scale", at a size the test suite can afford): every
 * object counted exactly, grouped by creation site, strays' table memory
 * within its budget per object. And strays' tables out of memory (issue 8,
 * table_memory_limit): the program runs on unchanged, the report says what
 * went untracked, and `strays report` keeps saying it. No timing is
 * asserted. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"
#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 2000
#define FDS 10000
#define TIMERS 10000

/* The site of a creation stack: the fixture's function that called
 * start_threads, or that created the fd or timer itself. */
static bool made_by(const struct st_report *r, int stack, const char *function)
{
    return stack >= 0 && e2e_stack_has(r, stack, function);
}

struct site_count {
    const char *function;
    int count;
    int stacks[4]; /* distinct creation stack indexes seen */
    int nstacks;
};

static void count_site(struct site_count *sites, int nsites, const struct st_report *r, int stack)
{
    for (int i = 0; i < nsites; i++) {
        if (!made_by(r, stack, sites[i].function))
            continue;
        sites[i].count++;
        bool seen = false;
        for (int k = 0; k < sites[i].nstacks; k++)
            seen |= sites[i].stacks[k] == stack;
        if (!seen && sites[i].nstacks < 4)
            sites[i].stacks[sites[i].nstacks++] = stack;
        return;
    }
    cr_assert_fail("an object whose creation stack is none of the fixture's sites (stack %d)",
                   stack);
}

static void assert_sites(const struct site_count *sites, int nsites, int each)
{
    for (int i = 0; i < nsites; i++) {
        cr_assert_eq(sites[i].count, each, "%s: %d objects, expected %d", sites[i].function,
                     sites[i].count, each);
        cr_assert_eq(sites[i].nstacks, 1, "%s: %d creation stacks, expected one",
                     sites[i].function, sites[i].nstacks);
    }
}

/* The text report of r, written by the same writer the preload uses. */
static char *text_of(const struct st_report *r)
{
    char path[] = "/tmp/strays-scale-text.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    struct st_out o;
    st_out_init(&o, fd);
    st_report_write_text(r, &o);
    st_out_flush(&o);
    close(fd);
    char *text = e2e_slurp(path);
    unlink(path);
    return text;
}

/* Lines of text that start with a count and the word kind ("5000 fds ..."). */
static int group_lines(const char *text, const char *kind, int *total)
{
    int groups = 0;
    *total = 0;
    for (const char *p = text; *p;) {
        int n;
        char word[16];
        if (*p >= '0' && *p <= '9' && sscanf(p, "%d %15s", &n, word) == 2 &&
            !strncmp(word, kind, strlen(kind))) {
            groups++;
            *total += n;
        }
        p += strcspn(p, "\n");
        p += *p == '\n';
    }
    return groups;
}

Test(scale, thousands_of_objects_are_counted_exactly_and_grouped_by_site, .timeout = 120)
{
    struct e2e_run run;
    const char *args[] = {"2000", "10000", "10000", NULL};
    e2e_run(&run, "fixtures/scale_objects", NULL, args);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "status %d; stderr:\n%s", run.status, run.err);
    cr_assert_eq(r->nthreads, THREADS);
    cr_assert_eq(r->nfds, FDS);
    cr_assert_eq(r->ntimers, TIMERS);

    struct site_count threads[] = {{.function = "start_cond_waiters"}, {.function = "start_futex_sleepers"}};
    int blocked = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const struct st_report_thread *t = &r->threads[i];
        count_site(threads, 2, r, t->created_by);
        if (made_by(r, t->created_by, "start_cond_waiters")) {
            cr_assert_eq(t->state, ST_RT_BLOCKED, "cond waiter %d is %s", t->tid,
                         st_report_thread_state_name(t->state));
            cr_assert_str_eq(t->blocked->call, "pthread_cond_wait");
            blocked++;
        } else {
            cr_assert_eq(t->state, ST_RT_RUNNING, "futex sleeper %d is %s", t->tid,
                         st_report_thread_state_name(t->state));
        }
    }
    assert_sites(threads, 2, THREADS / 2);
    cr_assert_eq(blocked, THREADS / 2);

    struct site_count fds[] = {{.function = "open_null_files"}, {.function = "make_eventfds"}};
    for (uint32_t i = 0; i < r->nfds; i++) {
        const struct st_report_fd *f = &r->fds[i];
        count_site(fds, 2, r, f->created_by);
        if (made_by(r, f->created_by, "open_null_files")) {
            cr_assert_str_eq(f->kind, "file");
            cr_assert_str_eq(f->target, "/dev/null");
        } else {
            cr_assert_str_eq(f->kind, "eventfd");
        }
    }
    assert_sites(fds, 2, FDS / 2);

    struct site_count timers[] = {{.function = "make_idle_timers"}, {.function = "make_hourly_timers"}};
    for (uint32_t i = 0; i < r->ntimers; i++) {
        const struct st_report_timer *t = &r->timers[i];
        count_site(timers, 2, r, t->created_by);
        cr_assert_str_eq(t->notify, "none");
        if (made_by(r, t->created_by, "make_idle_timers")) {
            cr_assert_str_eq(t->clock, "CLOCK_MONOTONIC");
            cr_assert(!t->armed);
        } else {
            cr_assert_str_eq(t->clock, "CLOCK_REALTIME");
            cr_assert(t->armed);
            cr_assert_eq(t->interval_ns, 3600ull * 1000000000ull);
        }
    }
    assert_sites(timers, 2, TIMERS / 2);

    cr_assert(r->tracking.present);
    cr_assert(!st_report_tracking_incomplete(&r->tracking));

    /* The text report: one group per creation site for timers and fds;
     * the futex sleepers may split by whether they gave a current stack
     * in time, but every group counts whole sites. */
    char *text = text_of(r);
    int total;
    cr_assert_eq(group_lines(text, "fd", &total), 2, "fd groups in:\n%.3000s", text);
    cr_assert_eq(total, FDS);
    cr_assert_eq(group_lines(text, "timer", &total), 2);
    cr_assert_eq(total, TIMERS);
    int thread_groups = group_lines(text, "thread", &total);
    cr_assert(thread_groups >= 2 && thread_groups <= 3, "%d thread groups", thread_groups);
    cr_assert_eq(total, THREADS);
    cr_assert(strstr(text, "1000 threads blocked in pthread_cond_wait"), "%.3000s", text);
    cr_assert(strstr(text, "strays: 2000 leaked threads, 10000 timers and 10000 fds in "));
    free(text);
    e2e_free(&run);
}

Test(scale, table_memory_per_object_stays_within_128_bytes, .timeout = 120)
{
    struct e2e_run run;
    const char *args[] = {"1000", "8000", "8000", NULL};
    e2e_run(&run, "fixtures/scale_objects", NULL, args);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert_eq(run.status, 23, "status %d; stderr:\n%s", run.status, run.err);
    cr_assert_eq(r->nthreads + r->nfds + r->ntimers, 17000);
    const struct st_report_tracking *t = &r->tracking;
    cr_assert(t->present);
    /* Every record of every kind, with its share of the tables, counted. */
    cr_assert_gt(t->table_bytes, 17000ull * 64);
    cr_assert_leq(t->table_bytes, 17000ull * 128, "%llu bytes for 17000 objects: %.1f each",
                  (unsigned long long)t->table_bytes, (double)t->table_bytes / 17000);
    /* Six creation sites and a few wait and current stacks, interned once. */
    cr_assert_gt(t->stack_bytes, 0);
    cr_assert_lt(t->stack_bytes, 64 * 1024, "%llu bytes of stacks",
                 (unsigned long long)t->stack_bytes);
    e2e_free(&run);
}

/* The fixture's first line without the parts that vary from run to run. */
static void created_line(const char *out, char *line, size_t len)
{
    const char *varying = strstr(out, "rss_kb");
    snprintf(line, len, "%.*s", varying ? (int)(varying - out) : (int)strlen(out), out);
}

Test(scale, table_memory_limit_stops_tracking_without_harming_the_program, .timeout = 120)
{
    const char *args[] = {"200", "3000", "3000", NULL};
    struct e2e_run plain;
    e2e_run_raw(&plain, "fixtures/scale_objects", NULL, args, false);
    char dir[256];
    e2e_tmpdir(dir, sizeof dir);
    char options[512];
    snprintf(options, sizeof options,
             "format=json:log_path=%s/r:table_memory_limit=128k:exitcode=0", dir);
    struct e2e_run capped;
    e2e_run_raw(&capped, "fixtures/scale_objects", options, args, true);

    /* The program: same output, same status, nothing from strays on stderr
     * (incomplete tracking is the report's business). */
    char want[128], got[128];
    created_line(plain.out, want, sizeof want);
    created_line(capped.out, got, sizeof got);
    cr_assert_str_eq(got, want);
    cr_assert_str_eq(want, "created 200 3000 3000 ");
    cr_assert_eq(capped.status, plain.status);
    cr_assert_eq(capped.status, 0);
    cr_assert_str_eq(capped.err, "", "stderr: %s", capped.err);

    glob_t g;
    char pattern[300];
    snprintf(pattern, sizeof pattern, "%s/r.*.json", dir);
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
    cr_assert_eq(g.gl_pathc, 1);
    struct st_report r;
    char err[256];
    cr_assert_eq(st_report_load(&r, g.gl_pathv[0], err, sizeof err), 0, "%s", err);
    const struct st_report_tracking *t = &r.tracking;
    cr_assert(t->present);
    cr_assert(st_report_tracking_incomplete(t));
    cr_assert_eq(t->limit_bytes, 128 * 1024);
    cr_assert_leq(t->table_bytes + t->stack_bytes, 128 * 1024);
    /* What was tracked plus what was not is what the program made: 200
     * threads (made first, while there was room: all tracked), 3000 timers,
     * and 3000 fds plus the one it reads its RSS through, opened after the
     * others in a part of the table never mapped. */
    cr_assert_eq(r.nthreads, 200);
    cr_assert_eq(t->threads_not_tracked, 0);
    cr_assert_eq(r.ntimers + t->timers_not_tracked, 3000);
    cr_assert_eq(r.nfds + t->fds_not_tracked, 3001, "%u fds reported, %llu not tracked", r.nfds,
                 (unsigned long long)t->fds_not_tracked);
    cr_assert_gt(t->fds_not_tracked, 0);
    cr_assert_gt(t->timers_not_tracked, 0);

    /* `strays report` reads it back and says so, as text and as JSON. */
    struct e2e_cli cli;
    const char *text_args[] = {"report", g.gl_pathv[0], NULL};
    e2e_cli_run(&cli, text_args);
    char expect[256];
    snprintf(expect, sizeof expect,
             "strays: tracking incomplete: %llu timers, %llu fds not tracked (strays' tables "
             "reached table_memory_limit=131072 bytes, or memory ran out)\n",
             (unsigned long long)t->timers_not_tracked, (unsigned long long)t->fds_not_tracked);
    cr_assert(strstr(cli.out, expect), "expected \"%s\" in:\n%s", expect, cli.out);
    e2e_cli_free(&cli);
    const char *json_args[] = {"report", "--format", "json", g.gl_pathv[0], NULL};
    e2e_cli_run(&cli, json_args);
    snprintf(expect, sizeof expect,
             "\"not_tracked\":{\"threads\":%llu,\"timers\":%llu,\"fds\":%llu,\"stacks\":%llu}",
             (unsigned long long)t->threads_not_tracked, (unsigned long long)t->timers_not_tracked,
             (unsigned long long)t->fds_not_tracked, (unsigned long long)t->stacks_not_kept);
    cr_assert(strstr(cli.out, expect), "expected %s in:\n%.2000s", expect, cli.out);
    cr_assert(strstr(cli.out, "\"complete\":false"));
    e2e_cli_free(&cli);

    st_report_free(&r);
    globfree(&g);
    e2e_rmdir(dir);
    e2e_free(&plain);
    e2e_free(&capped);
}
