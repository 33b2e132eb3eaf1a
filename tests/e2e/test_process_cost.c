/* End-to-end: what a process pays for strays (issue 16). One that leaks
 * nothing loads no unwinder and no libdw and reads nothing from /proc; a
 * leaky one names its frames from ELF symbol tables and reads line tables
 * only from modules that carry their own; `strays run` adds what separate
 * debug files know (libc6-dbg), reading each module once for the whole job.
 * The /proc checks need strace, the debug-file checks libc's debug file:
 * without them those tests say so and pass. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A single-threaded program that opens, dups and closes every kind of fd
 * and creates and deletes timers: stacks are captured, nothing is left. */
#define CLEAN "fixtures/fd_timer_clean"

static bool have(const char *program)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", program);
    return system(cmd) == 0;
}

/* Every line of text that mentions needle, for a failure message. */
static void lines_with(const char *text, const char *needle, char *out, size_t len)
{
    out[0] = '\0';
    size_t used = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = strcspn(p, "\n");
        if (memmem(p, n, needle, strlen(needle)) && used + n + 2 < len) {
            memcpy(out + used, p, n);
            used += n;
            out[used++] = '\n';
            out[used] = '\0';
        }
    }
}

/* LD_DEBUG=files lists every library the loader maps, dlopen'ed or not. */
Test(process_cost, a_clean_process_loads_no_unwinder_and_no_libdw)
{
    cr_assert_eq(setenv("LD_DEBUG", "files", 1), 0);
    cr_assert_eq(unsetenv("LD_DEBUG_OUTPUT"), 0);
    struct e2e_run run;
    e2e_run_raw(&run, CLEAN, NULL, NULL, true);
    unsetenv("LD_DEBUG");
    cr_assert_eq(run.status, 0, "stderr:\n%.3000s", run.err);
    cr_assert_not_null(strstr(run.err, "libstrays.so"), "LD_DEBUG=files said nothing?");
    char found[4096];
    const char *libraries[] = {"libunwind", "libdw", "libgcc_s"};
    for (size_t i = 0; i < sizeof libraries / sizeof libraries[0]; i++) {
        lines_with(run.err, libraries[i], found, sizeof found);
        cr_assert_str_eq(found, "", "%s was loaded:\n%s", libraries[i], found);
    }
    e2e_free(&run);
}

/* The file-related system calls of fixture under strace, into a string. */
static char *traced_file_calls(const char *fixture, const char *strays_options, bool preload)
{
    char dir[256], trace[300], cmd[2048];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(trace, sizeof trace, "%s/trace", dir);
    /* -E: the environment of the traced program only, not strace's. */
    snprintf(cmd, sizeof cmd,
             "env -u STRAYS_OPTIONS -u LD_PRELOAD strace -f -qq -e trace=%%file %s%s%s %s%s "
             "-o '%s' '%s' >/dev/null 2>&1",
             strays_options ? "-E 'STRAYS_OPTIONS=" : "", strays_options ? strays_options : "",
             strays_options ? "'" : "", preload ? "-E LD_PRELOAD=" : "",
             preload ? e2e_build_path("libstrays.so") : "", trace, e2e_build_path(fixture));
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d", cmd, status);
    char *text = e2e_slurp(trace);
    e2e_rmdir(dir);
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

Test(process_cost, a_clean_process_reads_nothing_from_proc)
{
    if (!have("strace")) {
        cr_log_warn("strace is not installed: not checked");
        return;
    }
    char *plain = traced_file_calls(CLEAN, NULL, false);
    char *preloaded = traced_file_calls(CLEAN, NULL, true);
    char found[4096];
    lines_with(preloaded, "/proc/", found, sizeof found);
    cr_assert_eq(count(preloaded, "/proc/"), count(plain, "/proc/"),
                 "strays touched /proc:\n%s", found);
    free(preloaded);

    /* With a report file (what `strays run` asks for) the report of nothing
     * is written: its header's exe is the only /proc access, one per
     * process (the fixture and the shell its popen starts). */
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r", dir);
    preloaded = traced_file_calls(CLEAN, options, true);
    lines_with(preloaded, "/proc/", found, sizeof found);
    struct e2e_run loaded = {0};
    e2e_load_reports(&loaded, dir);
    int exe_reads = count(preloaded, "readlink(\"/proc/self/exe\"");
    cr_assert_eq(exe_reads, loaded.nreports, "%d reads of /proc/self/exe, %d reports:\n%s", exe_reads,
                 loaded.nreports, found);
    cr_assert_eq(count(preloaded, "/proc/") - exe_reads, count(plain, "/proc/"), "%s", found);
    const struct st_report *r = e2e_main_report(&loaded, CLEAN);
    cr_assert_not_null(r);
    cr_assert_str_eq(r->reason, "exit");
    cr_assert_str_eq(r->exe, e2e_build_path(CLEAN));
    cr_assert_str_eq(r->command, e2e_build_path(CLEAN), "argv[0], read from memory");
    cr_assert_eq(st_report_leak_count(r) + r->nuntracked, 0);
    e2e_free(&loaded);
    e2e_rmdir(dir);
    free(plain);
    free(preloaded);
}

/* Every process under `strays run` writes a report file, and publishes it
 * with one renameat2(RENAME_NOREPLACE), which never replaces a name that
 * exists, in place of linkat and unlinkat of the temporary name. */
Test(process_cost, a_report_file_is_published_with_one_rename)
{
    if (!have("strace")) {
        cr_log_warn("strace is not installed: not checked");
        return;
    }
    char dir[256], options[400];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/r", dir);
    char *trace = traced_file_calls(CLEAN, options, true);
    struct e2e_run loaded = {0};
    e2e_load_reports(&loaded, dir);
    cr_assert_geq(loaded.nreports, 1);
    char found[4096];
    lines_with(trace, "renameat2(", found, sizeof found);
    cr_assert_eq(count(trace, "RENAME_NOREPLACE) = 0"), loaded.nreports, "%d reports:\n%s",
                 loaded.nreports, found);
    cr_assert_eq(count(trace, "linkat("), 0, "%s", trace);
    e2e_free(&loaded);
    e2e_rmdir(dir);
    free(trace);
}

/* What fork costs a single-threaded process that leaks nothing: the pages
 * strays' fork handlers write are copied (a page fault each), and a child
 * faults in again each window of code it runs. Before, a fork and a child's
 * _exit cost some 22 faults more than without strays: the child wiped the
 * parent's registries, looked up the real _exit (dlsym), called libc for
 * getpid and free, and ran code spread over strays' text; the parent locked
 * and unlocked every registry. A count, not a time: it does not vary with
 * the machine's load. */
static long faults_per_fork(bool preload)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/fork_children_exit", NULL, NULL, preload);
    cr_assert_eq(run.status, 0, "stderr:\n%.3000s", run.err);
    const char *line = strstr(run.out, "faults per fork: ");
    cr_assert_not_null(line, "stdout:\n%s", run.out);
    long n = strtol(line + strlen("faults per fork: "), NULL, 10);
    e2e_free(&run);
    return n;
}

Test(process_cost, a_fork_and_its_childs_exit_copy_few_pages)
{
    long plain = faults_per_fork(false), preloaded = faults_per_fork(true);
    cr_assert_leq(preloaded - plain, 8,
                  "a fork and a child's _exit cost %ld page faults with strays, %ld without", preloaded,
                  plain);
}

/* At exit a clean process looks for its children's leak marks
 * (exitcode_for=root) with one stat per directory, opening nothing: the
 * directory's checks and the read wait until a mark is there. */
Test(process_cost, a_clean_process_looks_for_marks_without_opening_anything)
{
    if (!have("strace")) {
        cr_log_warn("strace is not installed: not checked");
        return;
    }
    char *preloaded = traced_file_calls(CLEAN, NULL, true);
    char dir_name[64], stats[4096], dir_opens[4096], mark_opens[4096];
    snprintf(dir_name, sizeof dir_name, "/strays-%u\"", (unsigned)geteuid());
    lines_with(preloaded, dir_name, dir_opens, sizeof dir_opens);
    lines_with(preloaded, "\"leaked.", mark_opens, sizeof mark_opens);
    dir_name[strlen(dir_name) - 1] = '/';
    lines_with(preloaded, dir_name, stats, sizeof stats);
    int looks = count(stats, "newfstatat(AT_FDCWD, \"/dev/shm/strays-");
    cr_assert_gt(looks, 0, "no look for a mark:\n%s", preloaded);
    cr_assert_eq(count(stats, "\n"), 2 * looks, "only a stat in each directory:\n%s", stats);
    cr_assert_eq(count(stats, "newfstatat(AT_FDCWD, \"/tmp/strays-"), looks, "%s", stats);
    cr_assert_str_eq(dir_opens, "", "the marks' directory opened");
    cr_assert_str_eq(mark_opens, "", "a mark opened");
    free(preloaded);
}

/* The frames' names come from ELF symbol tables (libc's static
 * start_thread included when its debug file is installed: its .symtab),
 * files and lines from the fixture's own line table. */
static const struct st_report_thread *blocked_thread(const struct st_report *r)
{
    cr_assert_eq(r->nthreads, 1);
    cr_assert_eq(r->threads[0].state, ST_RT_BLOCKED);
    return &r->threads[0];
}

Test(process_cost, a_leaky_process_names_frames_in_process_and_lines_from_own_debug_info)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", NULL, NULL);
    cr_assert_eq(run.status, 23);
    const struct st_report *r = e2e_only_report(&run);
    const struct st_report_thread *t = blocked_thread(r);
    const struct st_report_stack *created = &r->stacks[t->created_by];
    cr_assert_str_eq(created->frames[0].function, "start_worker");
    cr_assert_not_null(strstr(created->frames[0].file, "thread_blocked_on_cond.c"));
    const struct st_report_stack *at = &r->stacks[t->stack];
    bool libc_named = false;
    for (uint32_t i = 0; i < at->depth; i++) {
        const struct st_frame *f = &at->frames[i];
        if (!f->module || !strstr(f->module, "/libc.so"))
            continue;
        cr_assert_null(f->file, "libc's lines are `strays run`'s to add, not the process's");
        libc_named |= f->function != NULL;
    }
    cr_assert(libc_named, "libc's frames have names (its exported __clone3 at least)");
    e2e_free(&run);
}

/* The debug file of the libc this test runs with, or NULL. */
static bool libc_debug_file(const struct st_report *r, char *path, size_t len)
{
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            const struct st_frame *f = &r->stacks[i].frames[j];
            if (f->module && strstr(f->module, "/libc.so") && f->build_id) {
                snprintf(path, len, "/usr/lib/debug/.build-id/%.2s/%s.debug", f->build_id,
                         f->build_id + 2);
                return access(path, R_OK) == 0;
            }
        }
    return false;
}

/* Three leaky processes in one `strays run`: libc's frames get files and
 * lines from its separate debug file, which the CLI opens once. */
Test(process_cost, strays_run_adds_lines_from_debug_files_reading_each_module_once)
{
    char dir[256], json[300], trace[300], cmd[4096];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(json, sizeof json, "%s/main.json", dir);
    snprintf(trace, sizeof trace, "%s/trace", dir);
    const char *fixture = e2e_build_path("fixtures/thread_blocked_on_cond");
    bool traced = have("strace");
    snprintf(cmd, sizeof cmd,
             "env -u STRAYS_OPTIONS -u LD_PRELOAD %s%s%s '%s' run --json '%s' -- sh -c "
             "\"'%s'; '%s'; exec '%s'\" >/dev/null 2>&1",
             traced ? "strace -qq -e trace=openat -o '" : "", traced ? trace : "",
             traced ? "'" : "", e2e_cli_path(), json, fixture, fixture, fixture);
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 23, "%s: status %d", cmd, status);
    struct st_report r;
    char err[600], debug[512];
    cr_assert_eq(st_report_load(&r, json, err, sizeof err), 0, "%s", err);
    if (!libc_debug_file(&r, debug, sizeof debug)) {
        cr_log_warn("libc's debug file (libc6-dbg) is not installed: not checked");
    } else {
        const struct st_report_stack *at = &r.stacks[blocked_thread(&r)->stack];
        bool libc_lines = false;
        for (uint32_t i = 0; i < at->depth; i++)
            libc_lines |= at->frames[i].module && strstr(at->frames[i].module, "/libc.so") &&
                          at->frames[i].file && at->frames[i].line > 0;
        cr_assert(libc_lines, "libc's frames got files and lines from its debug file");
    }
    if (traced) {
        char *calls = e2e_slurp(trace);
        char quoted[600];
        snprintf(quoted, sizeof quoted, "\"%s\"", fixture);
        cr_assert_eq(count(calls, quoted), 1, "the fixture's file, read once for 3 reports");
        snprintf(quoted, sizeof quoted, "\"%s\"", debug);
        if (access(debug, R_OK) == 0)
            cr_assert_eq(count(calls, quoted), 1, "libc's debug file, read once for 3 reports");
        free(calls);
    }
    st_report_free(&r);
    e2e_rmdir(dir);
}
