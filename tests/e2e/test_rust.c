/* End-to-end: a Rust program (tests/fixtures/rust_thread_leak.rs) that
 * leaks a thread, built with rustc's default mangling (legacy names for the
 * crate) and with v0: every frame name is demangled, in the process, by
 * `strays report --symbolize` and from the ELF tables (symbolize=0), and a
 * suppression rule matches the names as the report shows them. Skipped
 * where rustc is not installed (the fixtures are then not built). */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const builds[] = {"fixtures/rust_thread_leak", "fixtures/rust_thread_leak_v0"};

static void need_rust_fixtures(void)
{
    for (size_t i = 0; i < 2; i++)
        if (access(e2e_build_path(builds[i]), X_OK) != 0)
            cr_skip_test("%s was not built: rustc is not installed", builds[i]);
}

static bool looks_mangled(const char *name)
{
    return name && (!strncmp(name, "_ZN", 3) || !strncmp(name, "_R", 2));
}

/* The leaked worker and its creation stack: the crate's own frames by
 * their demangled names (no legacy hash), none left mangled. */
static void check_names(const struct st_report *r, const char *build)
{
    cr_assert_eq(r->nthreads, 1, "%s: %u threads", build, r->nthreads);
    const struct st_report_thread *t = &r->threads[0];
    cr_assert_str_eq(t->name, "rust-worker");
    cr_assert(e2e_stack_has(r, t->created_by, "rust_thread_leak::start_worker"), "%s", build);
    cr_assert(e2e_stack_has(r, t->created_by, "rust_thread_leak::main"), "%s", build);
    int std_frames = 0;
    for (uint32_t s = 0; s < r->nstacks; s++)
        for (uint32_t i = 0; i < r->stacks[s].depth; i++) {
            const char *f = r->stacks[s].frames[i].function;
            cr_assert(!looks_mangled(f), "%s: frame %u of stack %u is mangled: %s", build, i, s, f);
            std_frames += f && (!strncmp(f, "std::", 5) || !strncmp(f, "<std::", 6));
        }
    cr_assert_gt(std_frames, 0, "%s: no frame of std named", build);
}

Test(rust, thread_leak_frames_are_demangled_in_both_manglings)
{
    need_rust_fixtures();
    for (size_t i = 0; i < 2; i++) {
        struct e2e_run run;
        e2e_run(&run, builds[i], NULL, NULL);
        cr_assert_eq(run.status, 23, "%s: status %d\n%s", builds[i], run.status, run.err);
        cr_assert_str_eq(run.out, "started\n");
        check_names(e2e_only_report(&run), builds[i]);
        e2e_free(&run);
    }
}

/* symbolize=0 leaves names out of the report; `strays report --symbolize`
 * puts them in, demangled. */
Test(rust, report_symbolize_demangles_rust_names)
{
    need_rust_fixtures();
    for (size_t i = 0; i < 2; i++) {
        char dir[256], opts[400], path[600] = "";
        e2e_tmpdir(dir, sizeof dir);
        snprintf(opts, sizeof opts, "format=json:symbolize=0:log_path=%s/r", dir);
        struct e2e_cli run;
        e2e_cmd_run(&run, e2e_build_path(builds[i]), (const char *const[]){NULL},
                    e2e_build_path("libstrays.so"), opts);
        cr_assert_eq(run.status, 23);
        e2e_cli_free(&run);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "ls %s/r.*.json", dir);
        FILE *ls = popen(cmd, "r");
        cr_assert(ls && fgets(path, sizeof path, ls), "no report in %s", dir);
        pclose(ls);
        path[strcspn(path, "\n")] = '\0';
        e2e_cli_run(&run, (const char *const[]){"report", "--format", "json", "--symbolize", path,
                                                 NULL});
        cr_assert_eq(run.status, 23, "%s", run.err);
        char named[300], err[600];
        e2e_write_file(named, sizeof named, dir, "named.json", run.out);
        struct st_report r;
        cr_assert_eq(st_report_load(&r, named, err, sizeof err), 0, "%s", err);
        check_names(&r, builds[i]);
        st_report_free(&r);
        e2e_cli_free(&run);
        e2e_rmdir(dir);
    }
}

/* A rule written with the name the report shows matches, whether names
 * come from libdw in the process or from the ELF tables (symbolize=0). */
Test(rust, suppression_matches_the_demangled_name)
{
    need_rust_fixtures();
    char dir[256], rules[300], opts[600];
    e2e_tmpdir(dir, sizeof dir);
    e2e_write_file(rules, sizeof rules, dir, "rust.supp",
                   "thread:rust_thread_leak::start_worker\n");
    for (size_t i = 0; i < 2; i++)
        for (int symbolize = 0; symbolize < 2; symbolize++) {
            snprintf(opts, sizeof opts, "suppressions=%s:symbolize=%d", rules, symbolize);
            struct e2e_run run;
            e2e_run(&run, builds[i], opts, NULL);
            const struct st_report *r = e2e_only_report(&run);
            cr_assert_eq(r->nthreads, 0, "%s, symbolize=%d: not suppressed", builds[i], symbolize);
            cr_assert_eq(r->suppressed.threads, 1);
            cr_assert_eq(run.status, 0, "%s, symbolize=%d", builds[i], symbolize);
            e2e_free(&run);
        }
    e2e_rmdir(dir);
}
