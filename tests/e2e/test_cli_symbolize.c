/* End-to-end: `strays report --symbolize` on the report of a stripped
 * binary, written with symbolize=0, against its separate debug file laid
 * out by build-id under --debug-dir; the frames must come out as the
 * preload itself symbolizes the unstripped binary. A file whose build-id
 * differs is refused, once. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/json.h"
#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE "fd_error_path_leak"

struct setup {
    char dir[256];
    char prog[512];      /* DIR/bin/prog: the fixture, stripped */
    char debug_dir[512]; /* DIR/debug/.build-id/xx/rest.debug */
    char report[512];    /* its report, written with symbolize=0 */
    struct st_report reference; /* the unstripped fixture's, symbolized in the process */
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "failed (%d): %s", rc, cmd);
}

static void only_report(char *path, size_t len, const char *pattern)
{
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no report %s", pattern);
    cr_assert_eq(g.gl_pathc, 1);
    snprintf(path, len, "%s", g.gl_pathv[0]);
    globfree(&g);
}

/* The creation stack of the report's only fd. */
static const struct st_report_stack *fd_stack(const struct st_report *r)
{
    cr_assert_eq(r->nfds, 1);
    cr_assert(r->fds[0].created_by >= 0 && (uint32_t)r->fds[0].created_by < r->nstacks);
    return &r->stacks[r->fds[0].created_by];
}

static void set_up(struct setup *s)
{
    memset(s, 0, sizeof *s);
    e2e_tmpdir(s->dir, sizeof s->dir);
    char fixture[4096], path[600], err[700];
    snprintf(fixture, sizeof fixture, "%s", e2e_build_path("fixtures/" FIXTURE));
    /* The reference: the same code, symbolized by the preload. */
    snprintf(path, sizeof path, "format=json:log_path=%s/reference", s->dir);
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/" FIXTURE, path, NULL, true);
    e2e_rmdir(run.dir);
    e2e_free(&run);
    snprintf(path, sizeof path, "%s/reference.*.json", s->dir);
    char reference[600];
    only_report(reference, sizeof reference, path);
    cr_assert_eq(st_report_load(&s->reference, reference, err, sizeof err), 0, "%s", err);
    cr_assert_eq(strcmp(fd_stack(&s->reference)->frames[0].function, "read_setting"), 0);

    snprintf(s->prog, sizeof s->prog, "%s/bin/prog", s->dir);
    sh("mkdir '%s/bin' && cp '%s' '%s'", s->dir, fixture, s->prog);
    sh("cd '%s/bin' && objcopy --only-keep-debug prog prog.debug && "
       "strip --strip-debug --strip-unneeded prog && objcopy --add-gnu-debuglink=prog.debug prog",
       s->dir);
    sh("cd '%s' && STRAYS_OPTIONS=format=json:log_path=%s/r:symbolize=0 LD_PRELOAD='%s' "
       "./bin/prog >/dev/null 2>&1; test $? -eq 23",
       s->dir, s->dir, e2e_build_path("libstrays.so"));
    snprintf(path, sizeof path, "%s/r.*.json", s->dir);
    only_report(s->report, sizeof s->report, path);

    /* Its debug file goes where --debug-dir finds it by build-id. */
    struct st_report r;
    cr_assert_eq(st_report_load(&r, s->report, err, sizeof err), 0, "%s", err);
    const struct st_frame *f = &fd_stack(&r)->frames[0];
    cr_assert_str_eq(f->module, s->prog);
    cr_assert_null(f->function, "symbolize=0 leaves no names");
    cr_assert_null(f->file);
    cr_assert_not_null(f->build_id);
    snprintf(s->debug_dir, sizeof s->debug_dir, "%s/debug", s->dir);
    sh("mkdir -p '%s/.build-id/%.2s' && mv '%s/bin/prog.debug' '%s/.build-id/%.2s/%s.debug'",
       s->debug_dir, f->build_id, s->dir, s->debug_dir, f->build_id, f->build_id + 2);
    st_report_free(&r);
}

static void tear_down(struct setup *s)
{
    st_report_free(&s->reference);
    e2e_rmdir(s->dir);
}

/* The JSON the CLI printed, loaded; its fd's stack must read as the
 * reference's frame for frame in the fixture's own code. */
static void check_symbolized_like_reference(const struct setup *s, const char *json)
{
    struct st_json_error jerr;
    struct st_json *root = st_json_parse(json, strlen(json), &jerr);
    cr_assert_not_null(root, "%s", jerr.message);
    struct st_report r;
    char err[600];
    cr_assert_eq(st_report_from_json(&r, root, err, sizeof err), 0, "%s", err);
    const struct st_report_stack *got = fd_stack(&r), *want = fd_stack(&s->reference);
    cr_assert_eq(got->depth, want->depth);
    int compared = 0;
    for (uint32_t i = 0; i < got->depth; i++) {
        if (!want->frames[i].module || !strstr(want->frames[i].module, "/fixtures/" FIXTURE))
            continue;
        cr_assert_eq(got->frames[i].offset, want->frames[i].offset);
        cr_assert_str_eq(got->frames[i].function, want->frames[i].function, "frame %u", i);
        if (want->frames[i].file) {
            cr_assert_str_eq(got->frames[i].file, want->frames[i].file, "frame %u", i);
            cr_assert_eq(got->frames[i].line, want->frames[i].line, "frame %u", i);
            compared++;
        }
    }
    cr_assert_geq(compared, 2, "read_setting and main have files and lines");
    st_report_free(&r);
    st_json_free(root);
}

Test(cli_symbolize, stripped_binary_is_symbolized_from_its_debug_file_found_by_build_id)
{
    struct setup s;
    set_up(&s);
    struct e2e_cli run;
    /* Without its debug file the stripped binary has no names to give. */
    e2e_cli_run(&run, (const char *const[]){"report", "--symbolize", s.report, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_str_eq(run.err, "");
    cr_assert_null(strstr(run.out, "read_setting"), "%s", run.out);
    e2e_cli_free(&run);

    e2e_cli_run(&run, (const char *const[]){"report", "--debug-dir", s.debug_dir, s.report, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_str_eq(run.err, "");
    char line[700];
    const struct st_frame *want = &fd_stack(&s.reference)->frames[0];
    snprintf(line, sizeof line, "    #0 read_setting (" FIXTURE ".c:%d) [%s+0x%lx]\n", want->line,
             s.prog, (unsigned long)want->offset);
    cr_assert_not_null(strstr(run.out, line), "no '%s' in:\n%s", line, run.out);
    e2e_cli_free(&run);

    e2e_cli_run(&run, (const char *const[]){"report", "--format", "json", "--symbolize",
                                            "--debug-dir", s.debug_dir, s.report, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    check_symbolized_like_reference(&s, run.out);
    e2e_cli_free(&run);

    /* A relative --debug-dir (libdwfl searches absolute ones only). */
    char relative[4096] = "", cwd[2048];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    for (const char *p = cwd; *p; p++)
        if (*p == '/' && p[1])
            strcat(relative, "../");
    strcat(relative, s.debug_dir + 1);
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "json", "--debug-dir",
                                            relative, s.report, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_str_eq(run.err, "");
    check_symbolized_like_reference(&s, run.out);
    e2e_cli_free(&run);
    tear_down(&s);
}

Test(cli_symbolize, debug_file_alone_does_when_the_binary_is_not_on_this_machine)
{
    struct setup s;
    set_up(&s);
    cr_assert_eq(unlink(s.prog), 0);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "json", "--debug-dir",
                                            s.debug_dir, s.report, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_str_eq(run.err, "");
    check_symbolized_like_reference(&s, run.out);
    e2e_cli_free(&run);

    /* With nowhere to look, strays says so once for the module. */
    e2e_cli_run(&run, (const char *const[]){"report", "--symbolize", s.report, NULL});
    cr_assert_eq(run.status, 23);
    char expected[1200];
    snprintf(expected, sizeof expected, "strays: report: --symbolize: no file for %s (build-id ",
             s.prog);
    cr_assert_eq(strncmp(run.err, expected, strlen(expected)), 0, "%s", run.err);
    cr_assert_eq(strchr(run.err, '\n') + 1, run.err + strlen(run.err), "one line: %s", run.err);
    e2e_cli_free(&run);
    tear_down(&s);
}

Test(cli_symbolize, file_with_another_build_id_is_refused_once)
{
    struct setup s;
    set_up(&s);
    /* Another program where the report's was. */
    sh("cp '%s' '%s'", e2e_build_path("fixtures/thread_clean"), s.prog);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"report", "--symbolize", s.report, NULL});
    cr_assert_eq(run.status, 23);
    char expected[1200];
    snprintf(expected, sizeof expected, "strays: report: --symbolize: %s on this machine is not "
                                        "the file the report was written with (build-id ",
             s.prog);
    cr_assert_eq(strncmp(run.err, expected, strlen(expected)), 0, "%s", run.err);
    cr_assert_eq(strchr(run.err, '\n') + 1, run.err + strlen(run.err), "once: %s", run.err);
    /* Its frames stay as they were: the other file's names would be lies. */
    char unnamed[700];
    snprintf(unnamed, sizeof unnamed, "    #0 ?? [%s+0x", s.prog);
    cr_assert_not_null(strstr(run.out, unnamed), "%s", run.out);
    e2e_cli_free(&run);

    /* The right debug file, found by build-id, still serves. */
    e2e_cli_run(&run, (const char *const[]){"report", "--format", "json", "--debug-dir",
                                            s.debug_dir, s.report, NULL});
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.err, "");
    check_symbolized_like_reference(&s, run.out);
    e2e_cli_free(&run);
    tear_down(&s);
}
