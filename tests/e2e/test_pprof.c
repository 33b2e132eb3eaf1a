/* End-to-end: pprof profiles, read back by real consumers: `go tool pprof`
 * (-raw, -top: counts per stack, labels, function names, mappings) and
 * `protoc --decode_raw` (the wire format), from `strays report --format
 * pprof` and from the preload's profile_path on a live dump. The fixture
 * pprof_mixed holds known objects: 3 blocked workers, 1 sleeper, a timer,
 * a pipe and /dev/null. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <fnmatch.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output and status of a shell command. */
static char *sh(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    int rc = pclose(p);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    return out;
}

static void need(const char *tool, const char *package)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) != 0)
        cr_skip_test("%s is not installed (Debian package %s; scripts/install-deps.sh installs it)",
                     tool, package);
}

/* Runs pprof_mixed to its exit under the preload; its JSON report's path. */
static void mixed_report(char *path, size_t len, const char *dir, const char *extra)
{
    char options[1024], pattern[600];
    snprintf(options, sizeof options, "format=json:log_path=%s/r:exitcode=0%s%s", dir,
             extra ? ":" : "", extra ? extra : "");
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/pprof_mixed", options, NULL, true);
    cr_assert_eq(run.status, 0, "%s", run.err);
    e2e_free(&run);
    snprintf(pattern, sizeof pattern, "%s/r.*.json", dir);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no report");
    cr_assert_eq(g.gl_pathc, 1);
    snprintf(path, len, "%s", g.gl_pathv[0]);
    globfree(&g);
}

static void to_profile(const char *report, const char *profile, const char *stack)
{
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "pprof", "--stack", stack,
                                            "--output", profile, report, NULL});
    cr_assert_eq(run.status, 23, "status %d: %s", run.status, run.err);
    cr_assert_str_eq(run.err, "");
    cr_assert_str_eq(run.out, "");
    e2e_cli_free(&run);
}

/* pprof_mixed's exit report (extra: more options) as a profile: both in
 * the new directory dir, the profile's path in profile. */
static void mixed_profile(char *dir, char *report, char *profile, const char *stack,
                          const char *extra)
{
    e2e_tmpdir(dir, 256);
    mixed_report(report, 512, dir, extra);
    snprintf(profile, 600, "%s/p.pb.gz", dir);
    to_profile(report, profile, stack);
}

/* `go tool pprof -raw` of a profile, as one string per sample:
 * "THREADS TIMERS FDS|FUNCTION OF THE FIRST LOCATION|LABELS". */
struct raw {
    char *text;
    char samples[16][512];
    int nsamples;
};

/* The function a location line names: "     3: 0x55d1 M=1 main file.c:35 s=0". */
static void location_function(const char *text, int id, char *out, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, "\n%6d: 0x", id);
    const char *at = strstr(strstr(text, "\nLocations"), key);
    cr_assert_not_null(at, "no location %d", id);
    const char *sp = strchr(at + strlen(key), ' ');
    sp = strchr(sp + 1, ' '); /* after M=N */
    size_t n = strcspn(sp + 1, " \n");
    snprintf(out, len, "%.*s", (int)n, sp + 1);
}

static void read_raw(struct raw *r, const char *profile)
{
    char cmd[1024];
    int status;
    snprintf(cmd, sizeof cmd, "go tool pprof -raw '%s' 2>&1", profile);
    r->text = sh(cmd, &status);
    cr_assert_eq(status, 0, "go tool pprof failed:\n%s", r->text);
    r->nsamples = 0;
    const char *line = strstr(r->text, "\nSamples:\n");
    cr_assert_not_null(line, "%s", r->text);
    line = strchr(line + 10, '\n') + 1; /* past the sample types */
    while (strncmp(line, "Locations", 9)) {
        long values[3] = {0};
        int n = 0, consumed, first_location = 0;
        const char *p = line;
        while (n < 3 && sscanf(p, " %ld%n", &values[n], &consumed) == 1 && p[consumed] != ':') {
            p += consumed;
            n++;
        }
        sscanf(p, " %ld%n", &values[n], &consumed);
        n++;
        p += consumed + 1;
        sscanf(p, " %d", &first_location);
        const char *labels = strchr(line, '\n') + 1;
        const char *end = strchr(labels, '\n');
        char function[128];
        location_function(r->text, first_location, function, sizeof function);
        while (*labels == ' ')
            labels++;
        snprintf(r->samples[r->nsamples++], sizeof r->samples[0], "%ld %ld %ld|%s|%.*s", values[0],
                 n > 1 ? values[1] : 0, n > 2 ? values[2] : 0, function, (int)(end - labels),
                 labels);
        line = end + 1;
    }
}

/* pattern: '*' matches anything, every other character itself. */
static void assert_sample(const struct raw *r, const char *pattern)
{
    char escaped[1024];
    size_t n = 0;
    for (const char *p = pattern; *p && n + 3 < sizeof escaped; p++) {
        if (*p == '[' || *p == ']' || *p == '?') escaped[n++] = '\\';
        escaped[n++] = *p;
    }
    escaped[n] = '\0';
    for (int i = 0; i < r->nsamples; i++)
        if (!fnmatch(escaped, r->samples[i], 0)) return;
    char all[8192] = "";
    for (int i = 0; i < r->nsamples; i++)
        strcat(strcat(all, r->samples[i]), "\n");
    cr_assert_fail("no sample matches %s among:\n%s", pattern, all);
}

Test(pprof, profile_counts_threads_timers_and_fds_per_creation_stack_with_labels)
{
    need("go", "golang-go");
    char dir[256], report[512], profile[600];
    mixed_profile(dir, report, profile, "created", NULL);
    struct raw r;
    read_raw(&r, profile);
    cr_assert_not_null(strstr(r.text, "\nthreads/count[dflt] timers/count fds/count\n"), "%s",
                       r.text);
    cr_assert_not_null(strstr(r.text, "exit report of "), "%s", r.text);
    cr_assert_eq(r.nsamples, 5, "%s", r.text);
    assert_sample(&r, "3 0 0|start_workers|call:[pthread_cond_wait] kind:[thread] "
                      "state:[blocked] target:[0x*] thread_name:[worker]");
    assert_sample(&r, "1 0 0|start_sleeper|call:[pause] kind:[thread] state:[blocked] "
                      "thread_name:[sleeper]");
    assert_sample(&r, "0 1 0|start_timer|clock:[CLOCK_MONOTONIC] kind:[timer] notify:[none] "
                      "state:[armed]");
    assert_sample(&r, "0 0 2|open_pipe|kind:[pipe] target:[pipe:[*]]");
    assert_sample(&r, "0 0 1|open_null|kind:[file] target:[/dev/null]");
    /* Symbolized frames: the mapping says so, with its build-id. */
    cr_assert_not_null(strstr(r.text, "/build/fixtures/pprof_mixed "), "%s", r.text);
    free(r.text);
    e2e_rmdir(dir);
}

Test(pprof, top_sums_each_kind_per_function)
{
    need("go", "golang-go");
    char dir[256], report[512], profile[600], cmd[1024];
    mixed_profile(dir, report, profile, "created", NULL);
    int status;
    snprintf(cmd, sizeof cmd, "go tool pprof -sample_index=fds -top '%s' 2>&1", profile);
    char *top = sh(cmd, &status);
    cr_assert_eq(status, 0, "%s", top);
    cr_assert_not_null(strstr(top, "Showing nodes accounting for 3, 100% of 3 total"), "%s", top);
    cr_assert_not_null(strstr(top, " 2 66.67% 66.67%          2 66.67%  open_pipe\n"), "%s", top);
    cr_assert_not_null(strstr(top, " 1 33.33%   100%          1 33.33%  open_null\n"), "%s", top);
    cr_assert_not_null(strstr(top, " 0     0%   100%          3   100%  main\n"), "%s", top);
    free(top);
    snprintf(cmd, sizeof cmd, "go tool pprof -top '%s' 2>&1", profile);
    top = sh(cmd, &status);
    cr_assert_not_null(strstr(top, "Type: threads\n"), "%s", top);
    cr_assert_not_null(strstr(top, "of 4 total"), "%s", top);
    cr_assert_not_null(strstr(top, " 3 75.00% 75.00%          3 75.00%  start_workers\n"), "%s",
                       top);
    free(top);
    e2e_rmdir(dir);
}

Test(pprof, current_stacks_show_threads_where_they_wait)
{
    need("go", "golang-go");
    char dir[256], report[512], profile[600];
    mixed_profile(dir, report, profile, "current", NULL);
    struct raw r;
    read_raw(&r, profile);
    cr_assert_not_null(strstr(r.text, "\nthreads/count[dflt]\n"), "%s", r.text);
    cr_assert_not_null(strstr(r.text, "by current stack"), "%s", r.text);
    cr_assert_eq(r.nsamples, 2, "%s", r.text);
    assert_sample(&r, "3 0 0|worker|call:[pthread_cond_wait] kind:[thread] state:[blocked] "
                      "target:[0x*] thread_name:[worker]");
    assert_sample(&r, "1 0 0|sleeper|call:[pause] kind:[thread] state:[blocked] "
                      "thread_name:[sleeper]");
    free(r.text);
    e2e_rmdir(dir);
}

/* "N: 0xSTART/0xLIMIT/0xOFFSET PATH BUILDID [FLAGS]" of mapping id. */
static void mapping_of(const char *text, int id, unsigned long long *start, char *rest, size_t len)
{
    char key[16];
    snprintf(key, sizeof key, "\n%d: 0x", id);
    const char *at = strstr(strstr(text, "\nMappings\n") + 1, key);
    cr_assert_not_null(at, "no mapping %d:\n%s", id, text);
    *start = strtoull(at + strlen(key), NULL, 16);
    const char *sp = strchr(at + strlen(key), ' ');
    snprintf(rest, len, "%.*s", (int)strcspn(sp + 1, "\n"), sp + 1);
}

Test(pprof, unsymbolized_report_keeps_module_offset_and_build_id_for_the_backend)
{
    need("go", "golang-go");
    char dir[256], report[512], profile[600], err[600];
    mixed_profile(dir, report, profile, "created", "symbolize=0");
    struct raw r;
    read_raw(&r, profile);
    struct st_report rep;
    cr_assert_eq(st_report_load(&rep, report, err, sizeof err), 0, "%s", err);
    /* Every frame of every stack is a location at the call (return
     * address - 1) in a mapping that starts at the module's load base and
     * names the module and its build-id, so a backend that symbolizes by
     * build-id finds the report's offset - 1. */
    int checked = 0;
    for (uint32_t t = 0; t < rep.nthreads + rep.ntimers + rep.nfds; t++) {
        int s = t < rep.nthreads ? rep.threads[t].created_by
                : t < rep.nthreads + rep.ntimers
                    ? rep.timers[t - rep.nthreads].created_by
                    : rep.fds[t - rep.nthreads - rep.ntimers].created_by;
        for (uint32_t f = 0; f < rep.stacks[s].depth; f++) {
            const struct st_frame *fr = &rep.stacks[s].frames[f];
            char key[64], rest[1024], want[1024];
            snprintf(key, sizeof key, ": 0x%llx M=", (unsigned long long)fr->address - 1);
            const char *loc = strstr(strstr(r.text, "\nLocations\n"), key);
            cr_assert_not_null(loc, "no location at %s:\n%s", key, r.text);
            unsigned long long start;
            mapping_of(r.text, atoi(loc + strlen(key)), &start, rest, sizeof rest);
            cr_assert_eq(start, fr->address - fr->offset, "mapping start of %s", fr->module);
            snprintf(want, sizeof want, "%s %s ", fr->module, fr->build_id);
            cr_assert_eq(strncmp(rest, want, strlen(want)), 0, "%s vs %s", rest, want);
            cr_assert_null(strstr(rest, "[FN]"), "unsymbolized, yet %s", rest);
            checked++;
        }
    }
    cr_assert_eq(checked, 8 * 5, "%d frames checked", checked); /* 8 objects, 5 frames each */
    st_report_free(&rep);
    free(r.text);
    e2e_rmdir(dir);
}

Test(pprof, protoc_reads_the_wire_format_string_table_first_entry_empty)
{
    need("protoc", "protobuf-compiler");
    char dir[256], report[512], profile[600], cmd[1024];
    mixed_profile(dir, report, profile, "created", NULL);
    int status;
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' | protoc --decode_raw 2>&1", profile);
    char *raw = sh(cmd, &status);
    cr_assert_eq(status, 0, "%s", raw);
    /* Field 6 is the string table; its entry 0 must be "". */
    const char *first = strstr(raw, "\n6: ");
    cr_assert_not_null(first, "%s", raw);
    cr_assert_eq(strncmp(first, "\n6: \"\"\n", 7), 0, "%.40s", first);
    cr_assert_not_null(strstr(raw, "\n6: \"threads\"\n"));
    cr_assert_not_null(strstr(raw, "\n6: \"start_workers\"\n"));
    /* Five samples (field 2), each a message. */
    int samples = 0;
    for (const char *p = strstr(raw, "\n2 {\n"); p; p = strstr(p + 1, "\n2 {\n"))
        samples++;
    cr_assert_eq(samples + (strncmp(raw, "2 {\n", 4) == 0), 5, "%s", raw);
    free(raw);
    e2e_rmdir(dir);
}

Test(pprof, several_reports_need_an_output_directory_and_get_a_profile_each)
{
    char dir[256], report[512], copy[600], out[600], cmd[2000];
    e2e_tmpdir(dir, sizeof dir);
    mixed_report(report, sizeof report, dir, NULL);
    snprintf(copy, sizeof copy, "%s/second.json", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", report, copy);
    cr_assert_eq(system(cmd), 0);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "pprof", report, copy, NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.err, "strays: report: --format pprof writes one profile per report: "
                              "with 2 reports, give --output DIR, an existing directory\n");
    e2e_cli_free(&run);
    e2e_cli_run(&run, (const char *const[]){"report", "--stack", "current", report, NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.err, "strays: report: --output and --stack are for --format pprof\n");
    e2e_cli_free(&run);
    e2e_cli_run(
        &run, (const char *const[]){"report", "--format", "pprof", "--stack", "now", report, NULL});
    cr_assert_eq(run.status, 2);
    cr_assert_str_eq(run.err, "strays: report: unknown --stack 'now' (created or current)\n");
    e2e_cli_free(&run);
    snprintf(out, sizeof out, "%s/profiles", dir);
    cr_assert_eq(mkdir(out, 0700), 0);
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "pprof", "--output", out, report,
                                            copy, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    e2e_cli_free(&run);
    const char *slash = strrchr(report, '/');
    snprintf(cmd, sizeof cmd, "cmp -s '%s/%.*s.pb.gz' '%s/second.pb.gz'", out,
             (int)strlen(slash + 1) - 5, slash + 1, out);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    e2e_rmdir(dir);
}

/* Waits up to 30 s for a file matching pattern; its path, or "". */
static void wait_for_file(const char *pattern, char *path, size_t len)
{
    path[0] = '\0';
    for (int i = 0; i < 3000 && !path[0]; i++) {
        glob_t g;
        if (glob(pattern, 0, NULL, &g) == 0) {
            snprintf(path, len, "%s", g.gl_pathv[0]);
            globfree(&g);
            return;
        }
        usleep(10000); /* sleep-ok: the poll interval of a bounded wait */
    }
}

Test(pprof, profile_path_writes_a_profile_at_each_live_dump)
{
    need("go", "golang-go");
    char dir[256], options[600], pattern[600], profile[700];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "profile_path=%s/p:log_path=%s/r:format=json", dir, dir);
    struct e2e_bg bg;
    e2e_bg_start(&bg, "fixtures/pprof_mixed", (const char *const[]){"wait", NULL},
                 e2e_build_path("libstrays.so"), options, NULL, "ready");
    snprintf(pattern, sizeof pattern, "%s/p.%d.*.pb.gz", dir, (int)bg.pid);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH, "a profile before any dump");
    kill(bg.pid, SIGRTMAX - 4); /* strays' dump signal */
    wait_for_file(pattern, profile, sizeof profile);
    cr_assert_neq(profile[0], '\0', "no profile after the dump signal");
    e2e_bg_stop(&bg);
    struct raw r;
    read_raw(&r, profile);
    cr_assert_not_null(strstr(r.text, ": signal report of "), "%s", r.text);
    cr_assert_eq(r.nsamples, 5, "%s", r.text);
    assert_sample(&r, "3 0 0|start_workers|call:[pthread_cond_wait] kind:[thread] "
                      "state:[blocked] target:[0x*] thread_name:[worker]");
    assert_sample(&r, "0 0 2|open_pipe|kind:[pipe] target:[pipe:[*]]");
    free(r.text);
    e2e_rmdir(dir);
}

Test(pprof, profile_path_writes_nothing_for_an_exit_report)
{
    char dir[256], report[512], options[300], pattern[600];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "profile_path=%s/p", dir);
    mixed_report(report, sizeof report, dir, options);
    snprintf(pattern, sizeof pattern, "%s/p.*", dir);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH, "a profile of the exit report");
    e2e_rmdir(dir);
}
