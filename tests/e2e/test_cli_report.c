/* End-to-end: `strays report` in the CI formats, on reports written here by
 * fixtures under the preload and on a hand-written one that holds what the
 * writers must escape: JUnit XML checked against tests/e2e/junit.xsd (with
 * xmllint, when it is installed) and by structure, SARIF parsed back and
 * checked for the fields SARIF 2.1.0 requires; then reports cut short, bad
 * arguments and the help. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/json.h"
#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs build/fixtures/FIXTURE under the preload with its JSON report in
 * dir, and puts the report's path in path. */
static void fixture_report(char *path, size_t len, const char *dir, const char *fixture,
                           const char *extra)
{
    char options[1024], name[300], pattern[600];
    snprintf(options, sizeof options, "format=json:log_path=%s/%s%s%s", dir, fixture,
             extra ? ":" : "", extra ? extra : "");
    snprintf(name, sizeof name, "fixtures/%s", fixture);
    struct e2e_run run;
    e2e_run_raw(&run, name, options, NULL, true);
    e2e_rmdir(run.dir);
    e2e_free(&run);
    snprintf(pattern, sizeof pattern, "%s/%s.*.json", dir, fixture);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "%s wrote no report", fixture);
    cr_assert_eq(g.gl_pathc, 1, "%s wrote %zu reports", fixture, g.gl_pathc);
    snprintf(path, len, "%s", g.gl_pathv[0]);
    globfree(&g);
}

/* A hand-written exit report of "./srv<1>": a running thread created in a
 * C++ function whose name needs escaping, the innermost frame of its stack
 * without a file (so locations come from the next one, a file with a space
 * in its name), a thread blocked on a lock, and two fd sites whose
 * innermost frames read the same. In these strings ' stands for ". */
static const char *const handmade[] = {
    "{'tool':'strays','version':'0.1.0','pid':4242,'exe':'/srv/server','command':'./srv<1>',",
    "'reason':'exit','exit_status':0,'time':1700000000000,'uptime_ms':2500,",
    "'threads':[{'tid':4243,'name':'pool','state':'running','detached':false,'blocked':null,",
    "'created_by':0,'stack':null,'created_ms':1,'parent_tid':4242},",
    "{'tid':4244,'name':'waiter','state':'blocked','detached':false,",
    "'blocked':{'call':'pthread_mutex_lock','object':'0x5000','fd':null,'target':null,",
    "'seconds':0.100,'deadline':null,'timeout_ns':0,'timeouts':0,'owner_tid':4243,",
    "'stuck':false},'created_by':0,'stack':1,'created_ms':2,'parent_tid':4242}],",
    "'untracked_threads':[],'timers':[],",
    "'fds':[{'fd':3,'kind':'file','target':'/var/log/a','stream':null,'tid':4242,",
    "'created_by':2,'created_ms':3},",
    "{'fd':4,'kind':'file','target':'/var/log/b','stream':null,'tid':4242,",
    "'created_by':3,'created_ms':4}],",
    "'deadlocks':[],'stacks':[",
    "[{'address':'0x7f0000001234','module':'/usr/lib/libpool.so','offset':'0x1234',",
    "'build_id':'abcdef01','function':'ns::Pool<int>::spawn(\\'a&b\\')'},",
    "{'address':'0x555555555100','module':'/srv/server','offset':'0x1100','function':'main',",
    "'file':'/src/server main.c','line':88}],",
    "[{'address':'0x555555555200','module':'/srv/server','offset':'0x1200',",
    "'function':'waiter','file':'src/srv.c','line':23}],",
    "[{'address':'0x555555555300','module':'/srv/server','offset':'0x1300',",
    "'function':'open_log','file':'src/log.c','line':12},",
    "{'address':'0x555555555310','module':'/srv/server','offset':'0x1310','function':'main',",
    "'file':'src/server.c','line':117}],",
    "[{'address':'0x555555555300','module':'/srv/server','offset':'0x1300',",
    "'function':'open_log','file':'src/log.c','line':12},",
    "{'address':'0x555555555320','module':'/srv/server','offset':'0x1320','function':'main',",
    "'file':'src/server.c','line':118}]]}",
    NULL,
};

static void write_handmade(char *path, size_t len, const char *dir)
{
    char text[8192] = "";
    for (int i = 0; handmade[i]; i++)
        strcat(text, handmade[i]);
    for (char *p = text; *p; p++)
        if (*p == '\'' && (p == text || p[-1] != '\\'))
            *p = '"';
    /* \' stood for an escaped quote inside a JSON string. */
    for (char *p = strstr(text, "\\'"); p; p = strstr(p, "\\'"))
        p[1] = '"';
    e2e_write_file(path, len, dir, "handmade.json", text);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The value of attribute name in the first element that starts with tag. */
static int int_attribute(const char *xml, const char *tag, const char *name)
{
    const char *el = strstr(xml, tag);
    cr_assert_not_null(el, "no %s", tag);
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *at = strstr(el, key);
    cr_assert(at && at < strchr(el, '>'), "%s has no %s", tag, name);
    return atoi(at + strlen(key));
}

/* Validates with xmllint against tests/e2e/junit.xsd when xmllint is
 * installed; the structural checks below hold either way. */
static void validate_junit(const char *dir, const char *xml)
{
    char path[512], cmd[8192];
    e2e_write_file(path, sizeof path, dir, "junit.xml", xml);
    if (system("command -v xmllint >/dev/null 2>&1") != 0) {
        cr_log_warn("xmllint is not installed: JUnit checked by structure only");
        return;
    }
    char schema[4096];
    snprintf(schema, sizeof schema, "%s", e2e_build_path("../tests/e2e/junit.xsd"));
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>'%s/xmllint.err'", schema,
             path, dir);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/xmllint.err", dir);
    char *err = e2e_slurp(path);
    cr_assert_eq(rc, 0, "xmllint rejects the JUnit output:\n%s\n%s", err, xml);
    free(err);
}

/* Every testcase is counted in its suite; failures are the failing ones. */
static void check_junit_structure(const char *xml, int suites, int cases, int failures)
{
    cr_assert_eq(strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 50), 0);
    cr_assert_eq(count(xml, "<testsuite "), suites, "%s", xml);
    cr_assert_eq(count(xml, "</testsuite>"), suites);
    cr_assert_eq(count(xml, "<testcase "), cases, "%s", xml);
    cr_assert_eq(count(xml, "<failure "), failures);
    cr_assert_eq(count(xml, "</failure>"), failures);
    cr_assert_eq(int_attribute(xml, "<testsuites ", "tests"), cases);
    cr_assert_eq(int_attribute(xml, "<testsuites ", "failures"), failures);
    int sum_tests = 0, sum_failures = 0;
    for (const char *s = strstr(xml, "<testsuite "); s; s = strstr(s + 1, "<testsuite ")) {
        sum_tests += int_attribute(s, "<testsuite ", "tests");
        sum_failures += int_attribute(s, "<testsuite ", "failures");
    }
    cr_assert_eq(sum_tests, cases);
    cr_assert_eq(sum_failures, failures);
    cr_assert_str_eq(xml + strlen(xml) - 14, "</testsuites>\n");
}

Test(cli_report, junit_has_a_failing_testcase_per_leak_group_and_a_passing_one_when_clean)
{
    char dir[256], fd_leak[512], timer[512], locks[512], clean[512];
    e2e_tmpdir(dir, sizeof dir);
    fixture_report(fd_leak, sizeof fd_leak, dir, "fd_error_path_leak", NULL);
    fixture_report(timer, sizeof timer, dir, "timer_periodic_leak", NULL);
    fixture_report(locks, sizeof locks, dir, "wait_lock_held", NULL);
    fixture_report(clean, sizeof clean, dir, "thread_clean", NULL);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "junit", fd_leak, timer, locks,
                                            clean, NULL});
    cr_assert_eq(run.status, 23, "stderr: %s", run.err);
    cr_assert_str_eq(run.err, "");
    validate_junit(dir, run.out);
    /* fd, timer, two blocked threads (one lock holder, one waiter), clean. */
    check_junit_structure(run.out, 4, 5, 4);
    cr_assert_not_null(strstr(run.out, "<testcase name=\"fd leak at read_setting "
                                       "(fd_error_path_leak.c:"));
    cr_assert_not_null(strstr(run.out, "classname=\"strays.fd_error_path_leak\""));
    cr_assert_not_null(strstr(run.out, "<failure message=\"1 fd left open (file /etc/hostname), "
                                       "opened at read_setting (fd_error_path_leak.c:"));
    cr_assert_not_null(strstr(run.out, "type=\"strays/fd-leak\">"));
    cr_assert_not_null(strstr(run.out, "<testcase name=\"timer leak at start_ticker "
                                       "(timer_periodic_leak.c:"));
    cr_assert_not_null(strstr(run.out, "type=\"strays/timer-leak\">"));
    cr_assert_eq(count(run.out, "type=\"strays/blocked-thread\">"), 2);
    cr_assert_not_null(strstr(run.out, "1 thread blocked in pthread_mutex_lock for "));
    cr_assert_not_null(strstr(run.out, "<testcase name=\"no leaks\" "
                                       "classname=\"strays.thread_clean\" time=\"0\"/>"));
    /* The failure's text holds the stack with files and lines. */
    cr_assert_not_null(strstr(run.out, "opened at:\n    #0 read_setting (tests/fixtures/"
                                       "fd_error_path_leak.c:"));
    char property[700];
    snprintf(property, sizeof property, "<property name=\"strays.report\" value=\"%s\"/>", clean);
    cr_assert_not_null(strstr(run.out, property));
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(cli_report, junit_escapes_what_xml_cannot_hold_and_tells_same_looking_sites_apart)
{
    char dir[256], path[512];
    e2e_tmpdir(dir, sizeof dir);
    write_handmade(path, sizeof path, dir);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format=junit", path, NULL});
    cr_assert_eq(run.status, 23, "stderr: %s", run.err);
    validate_junit(dir, run.out);
    check_junit_structure(run.out, 1, 4, 4);
    cr_assert_not_null(strstr(run.out, "<testsuite name=\"./srv&lt;1&gt;\" tests=\"4\" "
                                       "failures=\"4\" errors=\"0\" skipped=\"0\" time=\"2.500\" "
                                       "timestamp=\"2023-11-14T22:13:20\" id=\"0\">"));
    cr_assert_not_null(strstr(run.out, "<testcase name=\"thread leak at "
                                       "ns::Pool&lt;int&gt;::spawn(&quot;a&amp;b&quot;)\" "
                                       "classname=\"strays.srv&lt;1&gt;\" time=\"0\">"));
    cr_assert_not_null(strstr(run.out, "<failure message=\"1 thread blocked in "
                                       "pthread_mutex_lock for 100ms, created at "
                                       "ns::Pool&lt;int&gt;::spawn(&quot;a&amp;b&quot;)\" "
                                       "type=\"strays/blocked-thread\">"));
    /* Two sites whose innermost frames read the same: the second name
     * gets its stack's index. */
    cr_assert_not_null(strstr(run.out, "<testcase name=\"fd leak at open_log (log.c:12)\" "));
    cr_assert_not_null(strstr(run.out, "<testcase name=\"fd leak at open_log (log.c:12) "
                                       "(stack 3)\" "));
    /* In text, quotes stay as they are. */
    cr_assert_not_null(strstr(run.out, "\n    #0 ns::Pool&lt;int&gt;::spawn(\"a&amp;b\") "
                                       "[/usr/lib/libpool.so+0x1234]\n"));
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

static const struct st_json *member(const struct st_json *obj, const char *key)
{
    const struct st_json *v = st_json_get(obj, key);
    cr_assert_not_null(v, "SARIF: no \"%s\"", key);
    return v;
}

static const char *string_member(const struct st_json *obj, const char *key)
{
    const char *s = NULL;
    cr_assert(st_json_as_string(member(obj, key), &s), "SARIF: \"%s\" is not a string", key);
    return s;
}

static const struct st_json *array_member(const struct st_json *obj, const char *key)
{
    const struct st_json *v = member(obj, key);
    cr_assert_eq(v->type, ST_JSON_ARRAY, "SARIF: \"%s\" is not an array", key);
    return v;
}

/* What SARIF 2.1.0 requires of a log, a run and each result, and what
 * strays promises: a known rule, its index, a message, and a location with
 * a file and a line. Returns the parsed log. */
static struct st_json *parse_sarif(const char *text, size_t expected_results)
{
    struct st_json_error err;
    struct st_json *log = st_json_parse(text, strlen(text), &err);
    cr_assert_not_null(log, "SARIF does not parse: %d:%d: %s\n%s", err.line, err.column,
                       err.message, text);
    cr_assert_str_eq(string_member(log, "version"), "2.1.0");
    cr_assert_str_eq(string_member(log, "$schema"),
                     "https://json.schemastore.org/sarif-2.1.0.json");
    const struct st_json *runs = array_member(log, "runs");
    cr_assert_eq(runs->length, 1);
    const struct st_json *driver = member(member(runs->items[0], "tool"), "driver");
    cr_assert_str_eq(string_member(driver, "name"), "strays");
    const struct st_json *rules = array_member(driver, "rules");
    static const char *const ids[] = {"strays/thread-leak", "strays/blocked-thread",
                                      "strays/timer-leak", "strays/fd-leak"};
    cr_assert_eq(rules->length, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(string_member(rules->items[i], "id"), ids[i]);
        cr_assert_neq(string_member(member(rules->items[i], "shortDescription"), "text")[0], 0);
    }
    const struct st_json *results = array_member(runs->items[0], "results");
    cr_assert_eq(results->length, expected_results, "%s", text);
    for (size_t i = 0; i < results->length; i++) {
        const struct st_json *r = results->items[i];
        int64_t index = -1;
        cr_assert(st_json_as_int(member(r, "ruleIndex"), &index));
        cr_assert(index >= 0 && index < 4);
        cr_assert_str_eq(string_member(r, "ruleId"), ids[index]);
        cr_assert_str_eq(string_member(r, "level"), "error");
        cr_assert_neq(string_member(member(r, "message"), "text")[0], '\0');
        const struct st_json *locations = array_member(r, "locations");
        cr_assert_eq(locations->length, 1);
        const struct st_json *physical = member(locations->items[0], "physicalLocation");
        cr_assert_neq(string_member(member(physical, "artifactLocation"), "uri")[0], '\0');
        int64_t line = 0;
        cr_assert(st_json_as_int(member(member(physical, "region"), "startLine"), &line));
        cr_assert_gt(line, 0);
        cr_assert_gt(array_member(member(r, "stacks")->items[0], "frames")->length, 0);
    }
    return log;
}

static const struct st_json *result_with_rule(const struct st_json *log, const char *rule, int nth)
{
    const struct st_json *results = st_json_get(st_json_get(log, "runs")->items[0], "results");
    for (size_t i = 0; i < results->length; i++) {
        const char *id = NULL;
        st_json_as_string(st_json_get(results->items[i], "ruleId"), &id);
        if (id && !strcmp(id, rule) && nth-- == 0)
            return results->items[i];
    }
    cr_assert_fail("no result %d with rule %s", nth, rule);
    return NULL;
}

static const struct st_json *location_of(const struct st_json *result)
{
    return st_json_get(st_json_get(result, "locations")->items[0], "physicalLocation");
}

Test(cli_report, sarif_has_a_result_per_leak_group_at_its_creation_site)
{
    char dir[256], fd_leak[512], timer[512], locks[512], clean[512];
    e2e_tmpdir(dir, sizeof dir);
    fixture_report(fd_leak, sizeof fd_leak, dir, "fd_error_path_leak", NULL);
    fixture_report(timer, sizeof timer, dir, "timer_periodic_leak", NULL);
    fixture_report(locks, sizeof locks, dir, "wait_lock_held", NULL);
    fixture_report(clean, sizeof clean, dir, "thread_clean", NULL);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "sarif", fd_leak, timer, locks,
                                            clean, NULL});
    cr_assert_eq(run.status, 23, "stderr: %s", run.err);
    struct st_json *log = parse_sarif(run.out, 4);
    const struct st_json *fd = location_of(result_with_rule(log, "strays/fd-leak", 0));
    const char *uri = NULL;
    st_json_as_string(st_json_get(st_json_get(fd, "artifactLocation"), "uri"), &uri);
    cr_assert_str_eq(uri, "tests/fixtures/fd_error_path_leak.c");
    const char *base = NULL;
    st_json_as_string(st_json_get(st_json_get(fd, "artifactLocation"), "uriBaseId"), &base);
    cr_assert_str_eq(base, "%SRCROOT%");
    /* The line is the creation site's, as the preload symbolized it. */
    struct st_report r;
    char err[600];
    cr_assert_eq(st_report_load(&r, fd_leak, err, sizeof err), 0, "%s", err);
    int64_t line = 0;
    st_json_as_int(st_json_get(st_json_get(fd, "region"), "startLine"), &line);
    cr_assert_eq(line, r.stacks[r.fds[0].created_by].frames[0].line);
    st_report_free(&r);
    result_with_rule(log, "strays/timer-leak", 0);
    result_with_rule(log, "strays/blocked-thread", 1);
    st_json_free(log);
    e2e_cli_free(&run);

    e2e_cli_run(&run, (const char *const[]){"report", "--format", "sarif", clean, NULL});
    cr_assert_eq(run.status, 0);
    log = parse_sarif(run.out, 0);
    st_json_free(log);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(cli_report, sarif_location_is_the_innermost_frame_with_a_file_as_a_uri)
{
    char dir[256], path[512];
    e2e_tmpdir(dir, sizeof dir);
    write_handmade(path, sizeof path, dir);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "sarif", path, NULL});
    cr_assert_eq(run.status, 23);
    struct st_json *log = parse_sarif(run.out, 4);
    /* Frame 0 (libpool.so) has no file: the location is main's. */
    const struct st_json *thread = result_with_rule(log, "strays/thread-leak", 0);
    const struct st_json *at = location_of(thread);
    const char *uri = NULL;
    int64_t line = 0;
    st_json_as_string(st_json_get(st_json_get(at, "artifactLocation"), "uri"), &uri);
    st_json_as_int(st_json_get(st_json_get(at, "region"), "startLine"), &line);
    cr_assert_str_eq(uri, "file:///src/server%20main.c");
    cr_assert_null(st_json_get(st_json_get(at, "artifactLocation"), "uriBaseId"));
    cr_assert_eq(line, 88);
    const char *text = NULL;
    st_json_as_string(st_json_get(st_json_get(thread, "message"), "text"), &text);
    cr_assert_str_eq(text, "1 thread still running, created at ns::Pool<int>::spawn(\"a&b\"), "
                           "in ./srv<1> (pid 4242)");
    /* The whole creation stack comes along, frame 0 included. */
    const struct st_json *frames = st_json_get(st_json_get(thread, "stacks")->items[0], "frames");
    cr_assert_eq(frames->length, 2);
    const char *module = NULL;
    st_json_as_string(st_json_get(frames->items[0], "module"), &module);
    cr_assert_str_eq(module, "/usr/lib/libpool.so");
    /* Same-looking sites are two results with different fingerprints. */
    const char *fp[2];
    for (int i = 0; i < 2; i++)
        st_json_as_string(st_json_get(st_json_get(result_with_rule(log, "strays/fd-leak", i),
                                                  "partialFingerprints"),
                                      "strays/site/v1"),
                          &fp[i]);
    cr_assert_str_neq(fp[0], fp[1]);
    st_json_free(log);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(cli_report, truncated_report_is_refused_naming_the_file_and_the_others_still_print)
{
    char dir[256], good[512], cut[512];
    e2e_tmpdir(dir, sizeof dir);
    fixture_report(good, sizeof good, dir, "fd_error_path_leak", NULL);
    char *whole = e2e_slurp(good);
    whole[strlen(whole) / 2] = '\0';
    e2e_write_file(cut, sizeof cut, dir, "cut.json", whole);
    free(whole);
    static const char *const formats[] = {"text", "json", "junit", "sarif"};
    for (size_t i = 0; i < 4; i++) {
        struct e2e_cli run;
        e2e_cli_run(&run, (const char *const[]){"report", "--format", formats[i], cut, good,
                                                NULL});
        cr_assert_eq(run.status, 2, "%s: status %d", formats[i], run.status);
        char expected[700];
        snprintf(expected, sizeof expected, "strays: report: %s:", cut);
        cr_assert_eq(strncmp(run.err, expected, strlen(expected)), 0, "%s: %s", formats[i],
                     run.err);
        cr_assert_not_null(strstr(run.err, ": not a valid JSON report: unexpected end of input"),
                           "%s", run.err);
        cr_assert_eq(count(run.err, "\n"), 1, "one line: %s", run.err);
        cr_assert_not_null(strstr(run.out, "read_setting"), "%s: the good report is printed",
                           formats[i]);
        e2e_cli_free(&run);
    }
    e2e_rmdir(dir);
}

/* stdout on a full disk (/dev/full): the output is lost, and the status
 * and the message say so in every format, the text one included. */
Test(cli_report, output_that_cannot_be_written_exits_1_with_a_message_in_every_format)
{
    char dir[256], report[512], cmd[4096], err_path[300];
    e2e_tmpdir(dir, sizeof dir);
    fixture_report(report, sizeof report, dir, "fd_error_path_leak", NULL);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    static const char *const formats[] = {"text", "json", "junit", "sarif"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "'%s' report --format %s '%s' >/dev/full 2>'%s'",
                 e2e_cli_path(), formats[i], report, err_path);
        int status = system(cmd);
        cr_assert(WIFEXITED(status), "%s: %s", formats[i], cmd);
        cr_assert_eq(WEXITSTATUS(status), 1, "%s: status %d", formats[i], WEXITSTATUS(status));
        char *err = e2e_slurp(err_path);
        cr_assert_str_eq(err, "strays: report: cannot write the output\n", "%s: %s", formats[i],
                         err);
        free(err);
    }
    e2e_rmdir(dir);
}

Test(cli_report, bad_arguments_exit_2_with_a_reason)
{
    static const char *const cases[][5] = {
        {"report", "--format", "xml", "x.json"},
        {"report", "x.json", "--format", NULL},
        {"report", "--debug-dir", NULL, NULL},
        {"report", "--colour", "x.json", NULL},
        {"report", "--debug-dir", "/nonexistent", "x.json"},
        {"report", NULL, NULL, NULL},
    };
    static const char *const reasons[] = {
        "strays: report: unknown format 'xml' (text, json, junit, sarif or pprof)\n",
        "strays: report: --format needs a value\n",
        "strays: report: --debug-dir needs a value\n",
        "strays: report: unknown argument '--colour'\n",
        "strays: report: --debug-dir /nonexistent: No such file or directory\n",
        "strays: report: no report file given\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_cli run;
        e2e_cli_run(&run, cases[i]);
        cr_assert_eq(run.status, 2, "case %zu: status %d", i, run.status);
        cr_assert_str_eq(run.out, "");
        cr_assert_eq(strncmp(run.err, reasons[i], strlen(reasons[i])), 0, "case %zu: %s", i,
                     run.err);
        e2e_cli_free(&run);
    }
}

Test(cli_report, help_documents_the_formats_symbolization_and_exit_statuses)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--help", NULL});
    cr_assert_eq(run.status, 0);
    const char *head = "usage: strays report [--format text|json|junit|sarif|pprof] [--symbolize]\n"
                       "                     [--debug-dir DIR] [--stack created|current]\n"
                       "                     [--output PATH] FILE.json...\n";
    cr_assert_eq(strncmp(run.out, head, strlen(head)), 0, "%s", run.out);
    cr_assert_not_null(strstr(run.out, "  --format sarif "));
    cr_assert_not_null(strstr(run.out, "  --debug-dir DIR "));
    cr_assert_not_null(strstr(run.out, "Exit status: 0 when no report has leaks, 23 when one "
                                       "has, 2 for a bad\n"));
    e2e_cli_free(&run);
    e2e_cli_run(&run, (const char *const[]){"--help", NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_not_null(strstr(run.out, "  report [--format text|json|junit|sarif|pprof] [--symbolize] "
                                       "[--debug-dir DIR]\n"));
    static const char *const statuses[] = {"  0   clean", "  23  something leaked",
                                           "  2   usage error", "  1   strays itself failed"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_not_null(strstr(run.out, statuses[i]), "%s", statuses[i]);
    e2e_cli_free(&run);
    e2e_cli_run(&run, (const char *const[]){NULL});
    cr_assert_eq(run.status, 2);
    e2e_cli_free(&run);
}
