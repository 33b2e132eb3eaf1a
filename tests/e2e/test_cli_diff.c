/* End-to-end: `strays diff` between two reports written here, valid per
 * docs/report.schema.json: sites that grow, shrink, stay, appear and go,
 * matched by frame content although stack indexes and addresses differ. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* In these strings ' stands for ", to keep the JSON readable. */
#define SRV(addr, off, fn, file, line)                                                       \
    "{'address':'" addr "','module':'/srv/server','offset':'" off "','function':'" fn      \
    "','file':'/src/" file "','line':" line "}"

/* Old report's stacks. */
#define OLD_HANDLE "[" SRV("0x555555555100", "0x1100", "handle_request", "server.c", "88") "," \
    SRV("0x555555555200", "0x1200", "main", "server.c", "120") "]"
#define OLD_POOL "[" SRV("0x555555555300", "0x1300", "start_pool", "pool.c", "40") "," \
    SRV("0x555555555210", "0x1210", "main", "server.c", "118") "]"
#define OLD_STATS "[" SRV("0x555555555400", "0x1400", "start_stats", "stats.c", "20") "," \
    SRV("0x555555555220", "0x1220", "main", "server.c", "119") "]"
#define OLD_LOG "[" SRV("0x555555555500", "0x1500", "open_log", "log.c", "12") "," \
    SRV("0x555555555230", "0x1230", "main", "server.c", "117") "]"
/* A library without debug info: matched by module and offset. */
#define OLD_FOO "[{'address':'0x7f0000001234','module':'/usr/lib/libfoo.so','offset':'0x1234'," \
    "'build_id':'abcdef01','function':'foo_open'}," \
    SRV("0x555555555240", "0x1240", "main", "server.c", "121") "]"

/* New report's: another load address, and the same call sites in another
 * order; libfoo's frame not symbolized this time. */
#define NEW_ACCEPT "[" SRV("0x565555555600", "0x1600", "accept_client", "server.c", "51") "," \
    SRV("0x565555555250", "0x1250", "main", "server.c", "122") "]"
#define NEW_FOO "[{'address':'0x7f1000001234','module':'/usr/lib/libfoo.so','offset':'0x1234'," \
    "'build_id':'abcdef01'}," SRV("0x565555555240", "0x1240", "main", "server.c", "121") "]"
#define NEW_ADMIN "[" SRV("0x565555555100", "0x1100", "handle_request", "server.c", "88") "," \
    SRV("0x565555555700", "0x1700", "serve_admin", "admin.c", "30") "," \
    SRV("0x565555555260", "0x1260", "main", "server.c", "123") "]"
#define NEW_STATS "[" SRV("0x565555555400", "0x1400", "start_stats", "stats.c", "20") "," \
    SRV("0x565555555220", "0x1220", "main", "server.c", "119") "]"
#define NEW_POOL "[" SRV("0x565555555300", "0x1300", "start_pool", "pool.c", "40") "," \
    SRV("0x565555555210", "0x1210", "main", "server.c", "118") "]"
#define NEW_HANDLE "[" SRV("0x565555555100", "0x1100", "handle_request", "server.c", "88") "," \
    SRV("0x565555555200", "0x1200", "main", "server.c", "120") "]"

#define T0 1700000000000LL

/* count objects of kind ("threads", "timers", "fds") created at stack. */
struct spec {
    const char *kind;
    int count;
    const char *stack;
};

static void put(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\'' ? '"' : *s, f);
}

static void put_objects(FILE *f, const char *kind, const struct spec *specs, int n)
{
    fprintf(f, ",\n\"%s\":[", kind);
    int written = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < specs[i].count && !strcmp(specs[i].kind, kind); j++, written++) {
            fputs(written ? ",\n " : "\n ", f);
            if (!strcmp(kind, "threads"))
                fprintf(f, "{\"tid\":%d,\"name\":\"t\",\"state\":\"running\",\"detached\":false,"
                           "\"blocked\":null,\"created_by\":%d,\"stack\":null,\"created_ms\":0,"
                           "\"parent_tid\":4242}",
                        5000 + written, i);
            else if (!strcmp(kind, "timers"))
                fprintf(f, "{\"id\":\"0x%x\",\"clock\":\"CLOCK_MONOTONIC\",\"notify\":\"none\","
                           "\"armed\":true,\"interval_ns\":1000000000,\"fd\":null,\"tid\":4242,"
                           "\"created_by\":%d,\"created_ms\":0}",
                        written + 1, i);
            else
                fprintf(f, "{\"fd\":%d,\"kind\":\"file\",\"target\":\"/var/log/x\","
                           "\"stream\":null,\"tid\":4242,\"created_by\":%d,\"created_ms\":0}",
                        written + 3, i);
        }
    fputc(']', f);
}

/* Writes a live-dump report of pid 4242 at time with the given sites
 * (stacks in the given order) to dir/name. */
static void write_report(char *path, size_t len, const char *dir, const char *name,
                         long long time, const struct spec *specs, int n)
{
    char *text;
    size_t size;
    FILE *f = open_memstream(&text, &size);
    fprintf(f, "{\"tool\":\"strays\",\"version\":\"0.1.0\",\"pid\":4242,\"exe\":\"/srv/server\","
               "\"command\":\"server\",\"reason\":\"signal\",\"exit_status\":null,"
               "\"time\":%lld,\"uptime_ms\":%lld",
            time, time - T0 + 5000);
    put_objects(f, "threads", specs, n);
    fputs(",\n\"untracked_threads\":[]", f);
    put_objects(f, "timers", specs, n);
    put_objects(f, "fds", specs, n);
    fputs(",\n\"deadlocks\":[],\n\"stacks\":[", f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ",\n " : "\n ", f);
        put(f, specs[i].stack);
    }
    fputs("]}\n", f);
    fclose(f);
    e2e_write_file(path, len, dir, name, text);
    free(text);
}

static const struct spec old_sites[] = {
    {"threads", 2, OLD_HANDLE}, {"threads", 3, OLD_POOL}, {"timers", 1, OLD_STATS},
    {"fds", 3, OLD_LOG},        {"fds", 1, OLD_FOO},
};
static const struct spec new_sites[] = {
    {"fds", 1, NEW_ACCEPT},  {"fds", 1, NEW_FOO},     {"threads", 1, NEW_ADMIN},
    {"timers", 2, NEW_STATS}, {"threads", 3, NEW_POOL}, {"threads", 5, NEW_HANDLE},
};

struct reports {
    char dir[256];
    char old[512], new[512], empty[512];
};

/* old; new 60 s later; a report with nothing in it 30 s after old. */
static void write_reports(struct reports *r)
{
    e2e_tmpdir(r->dir, sizeof r->dir);
    write_report(r->old, sizeof r->old, r->dir, "old.json", T0, old_sites, 5);
    write_report(r->new, sizeof r->new, r->dir, "new.json", T0 + 60000, new_sites, 6);
    write_report(r->empty, sizeof r->empty, r->dir, "empty.json", T0 + 30000, NULL, 0);
}

Test(cli_diff, prints_sites_that_changed_largest_first_and_fails_on_growth)
{
    struct reports r;
    write_reports(&r);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", r.old, r.new, NULL});
    cr_assert_str_eq(run.err, "");
    cr_assert_str_eq(
        run.out,
        "+3 threads at handle_request (server.c:88) via main (server.c:120) since the report "
        "60s before (now 5)\n"
        "-3 fds at open_log (log.c:12) since the report 60s before (now 0)\n"
        "+1 thread at handle_request (server.c:88) via serve_admin (admin.c:30) since the "
        "report 60s before (now 1)\n"
        "+1 timer at start_stats (stats.c:20) since the report 60s before (now 2)\n"
        "+1 fd at accept_client (server.c:51) since the report 60s before (now 1)\n"
        "strays: 4 sites grew, 1 shrank, 2 unchanged in 60s: threads 5 -> 9, timers 1 -> 2, "
        "fds 4 -> 2 (pid 4242)\n");
    cr_assert_eq(run.status, 1, "a site grew: status 1 as diff(1), got %d", run.status);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

Test(cli_diff, exits_0_when_sites_only_shrank)
{
    struct reports r;
    write_reports(&r);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", r.old, r.empty, NULL});
    cr_assert_str_eq(run.err, "");
    cr_assert_str_eq(run.out,
                     "-3 threads at start_pool (pool.c:40) since the report 30s before (now 0)\n"
                     "-3 fds at open_log (log.c:12) since the report 30s before (now 0)\n"
                     "-2 threads at handle_request (server.c:88) since the report 30s before "
                     "(now 0)\n"
                     "-1 timer at start_stats (stats.c:20) since the report 30s before (now 0)\n"
                     "-1 fd at foo_open (libfoo.so+0x1234) since the report 30s before (now 0)\n"
                     "strays: 5 sites shrank in 30s: threads 5 -> 0, timers 1 -> 0, fds 4 -> 0 "
                     "(pid 4242)\n");
    cr_assert_eq(run.status, 0);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

Test(cli_diff, report_against_itself_is_one_summary_line)
{
    struct reports r;
    write_reports(&r);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", r.new, r.new, NULL});
    cr_assert_str_eq(run.out, "strays: 6 sites unchanged in 0s: threads 9, timers 2, fds 2 "
                              "(pid 4242)\n");
    cr_assert_eq(run.status, 0);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

static const struct st_json *site(const struct st_json *sites, size_t i)
{
    cr_assert_lt(i, sites->length);
    return sites->items[i];
}

static int64_t int_of(const struct st_json *obj, const char *key)
{
    int64_t v;
    cr_assert(st_json_as_int(st_json_get(obj, key), &v), "\"%s\" is not an integer", key);
    return v;
}

static const char *str_of(const struct st_json *obj, const char *key)
{
    const char *s;
    cr_assert(st_json_as_string(st_json_get(obj, key), &s), "\"%s\" is not a string", key);
    return s;
}

static void assert_site(const struct st_json *s, const char *kind, int old, int new,
                        const char *function, int line)
{
    cr_assert_str_eq(str_of(s, "kind"), kind);
    cr_assert_eq(int_of(s, "old"), old);
    cr_assert_eq(int_of(s, "new"), new);
    cr_assert_eq(int_of(s, "delta"), new - old);
    const struct st_json *stack = st_json_get(s, "stack");
    cr_assert(stack && stack->type == ST_JSON_ARRAY && stack->length >= 2);
    if (function) {
        cr_assert_str_eq(str_of(stack->items[0], "function"), function);
        cr_assert_eq(int_of(stack->items[0], "line"), line);
    }
}

Test(cli_diff, json_lists_every_site_with_its_frames)
{
    struct reports r;
    write_reports(&r);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", "--json", r.old, r.new, NULL});
    cr_assert_eq(run.status, 1);
    struct st_json_error jerr;
    struct st_json *root = st_json_parse(run.out, strlen(run.out), &jerr);
    cr_assert_not_null(root, "--json output does not parse: %d:%d: %s\n%s", jerr.line,
                       jerr.column, jerr.message, run.out);
    cr_assert_str_eq(str_of(root, "tool"), "strays");
    const struct st_json *diff = st_json_get(root, "diff");
    const struct st_json *old = st_json_get(diff, "old"), *new = st_json_get(diff, "new");
    cr_assert_eq(int_of(old, "pid"), 4242);
    cr_assert_eq(int_of(old, "time"), T0);
    cr_assert_str_eq(str_of(old, "reason"), "signal");
    cr_assert_eq(int_of(new, "time"), T0 + 60000);
    const struct st_json *seconds = st_json_get(diff, "seconds");
    cr_assert(seconds && seconds->type == ST_JSON_NUMBER && seconds->number == 60.0);
    const struct st_json *sites = st_json_get(diff, "sites");
    cr_assert(sites && sites->type == ST_JSON_ARRAY);
    cr_assert_eq(sites->length, 7, "every site, unchanged ones too");
    assert_site(site(sites, 0), "threads", 2, 5, "handle_request", 88);
    cr_assert_str_eq(str_of(st_json_get(site(sites, 0), "stack")->items[1], "function"), "main");
    assert_site(site(sites, 1), "fds", 3, 0, "open_log", 12);
    assert_site(site(sites, 2), "threads", 0, 1, "handle_request", 88);
    cr_assert_str_eq(str_of(st_json_get(site(sites, 2), "stack")->items[1], "function"),
                     "serve_admin");
    assert_site(site(sites, 3), "timers", 1, 2, "start_stats", 20);
    assert_site(site(sites, 4), "fds", 0, 1, "accept_client", 51);
    assert_site(site(sites, 5), "threads", 3, 3, "start_pool", 40);
    assert_site(site(sites, 6), "fds", 1, 1, NULL, 0);
    const struct st_json *foo = st_json_get(site(sites, 6), "stack")->items[0];
    cr_assert_str_eq(str_of(foo, "module"), "/usr/lib/libfoo.so");
    cr_assert_str_eq(str_of(foo, "offset"), "0x1234");
    cr_assert_str_eq(str_of(foo, "address"), "0x7f1000001234", "frames of the new report");
    st_json_free(root);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

/* stdout on a full disk (/dev/full): the comparison is lost, which status 2
 * and the message say (1 would read as "a site grew"), in both formats. */
Test(cli_diff, output_that_cannot_be_written_exits_2_with_a_message)
{
    struct reports r;
    write_reports(&r);
    char cmd[4096], err_path[600];
    snprintf(err_path, sizeof err_path, "%s/cli.err", r.dir);
    static const char *const formats[] = {"", "--json"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "'%s' diff %s '%s' '%s' >/dev/full 2>'%s'", e2e_cli_path(),
                 formats[i], r.old, r.new, err_path);
        int status = system(cmd);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "'%s': status %d", formats[i],
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        char *err = e2e_slurp(err_path);
        cr_assert_str_eq(err, "strays: diff: cannot write the output\n", "'%s'", formats[i]);
        free(err);
    }
    e2e_rmdir(r.dir);
}

Test(cli_diff, corrupt_report_is_named_with_line_and_column)
{
    struct reports r;
    write_reports(&r);
    char cut[512], expected[700];
    e2e_write_file(cut, sizeof cut, r.dir, "cut.json", "{\"tool\":\"strays\",\n\"pid\":42,\"ex");
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", r.old, cut, NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.out, "");
    snprintf(expected, sizeof expected,
             "strays: diff: %s:2:13: not a valid JSON report: unexpected end of input inside a "
             "string\n",
             cut);
    cr_assert_str_eq(run.err, expected);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

Test(cli_diff, unreadable_or_invalid_reports_exit_2_naming_the_file)
{
    struct reports r;
    write_reports(&r);
    char missing[512], invalid[512], expected[1200];
    snprintf(missing, sizeof missing, "%s/missing.json", r.dir);
    e2e_write_file(invalid, sizeof invalid, r.dir, "invalid.json", "{\"tool\":\"strays\"}");
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"diff", missing, invalid, NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.out, "");
    snprintf(expected, sizeof expected,
             "strays: diff: %s: cannot read: No such file or directory\n"
             "strays: diff: %s: not a valid strays report: ",
             missing, invalid);
    cr_assert_eq(strncmp(run.err, expected, strlen(expected)), 0, "got:\n%s", run.err);
    e2e_cli_free(&run);
    e2e_rmdir(r.dir);
}

Test(cli_diff, usage_errors_exit_2)
{
    const char *const *const cases[] = {
        (const char *const[]){"diff", NULL},
        (const char *const[]){"diff", "a.json", NULL},
        (const char *const[]){"diff", "--jsn", "a.json", "b.json", NULL},
        (const char *const[]){"diff", "a.json", "b.json", "c.json", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_cli run;
        e2e_cli_run(&run, cases[i]);
        cr_assert_eq(run.status, 2, "case %zu: status %d", i, run.status);
        cr_assert_str_eq(run.out, "");
        cr_assert_neq(run.err[0], '\0', "case %zu says why", i);
        e2e_cli_free(&run);
    }
}

Test(cli_diff, help_describes_both_new_commands)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"--help", NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_not_null(strstr(run.out, "  diff [--json] OLD.json NEW.json\n"));
    cr_assert_not_null(strstr(run.out, "  dump PID [--wait SECONDS]\n"));
    e2e_cli_free(&run);
    e2e_cli_run(&run, (const char *const[]){"diff", "--help", NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_eq(strncmp(run.out, "usage: strays diff [--json] OLD.json NEW.json\n", 46), 0);
    e2e_cli_free(&run);
}
