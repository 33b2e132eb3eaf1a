/* `strays report`: renders JSON reports written by the preload, for people
 * (text), for tools (json, re-emitted after checking), and for CI systems
 * (JUnit XML, SARIF); optionally symbolized here from the binaries' debug
 * info. */
#include "cli.h"

#include "report/report_parse.h"
#include "symbolize/symbolize_offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char report_usage[] =
    "usage: strays report [--format text|json|junit|sarif|pprof] [--symbolize]\n"
    "                     [--debug-dir DIR] [--stack created|current]\n"
    "                     [--output PATH] FILE.json...\n"
    "Prints reports written with format=json (by `strays run`, or with\n"
    "STRAYS_OPTIONS=format=json:log_path=PREFIX).\n"
    "  --format text    grouped by creation stack, for people (the default)\n"
    "  --format json    the reports again, checked, one after another\n"
    "  --format junit   JUnit XML: one testsuite per report, one failing testcase\n"
    "                   per leak group (kind and creation site) with its stacks;\n"
    "                   a clean report is one passing testcase \"no leaks\"\n"
    "  --format sarif   SARIF 2.1.0: one result per leak group, rules\n"
    "                   strays/thread-leak, strays/blocked-thread, strays/timer-leak,\n"
    "                   strays/fd-leak, located at the innermost frame of the\n"
    "                   creation stack that has a file and line\n"
    "  --format pprof   a gzipped pprof profile (profile.proto) per report, for\n"
    "                   go tool pprof, Pyroscope, Parca: sample types threads,\n"
    "                   timers, fds (count), labels kind, state, call, target;\n"
    "                   to stdout, or --output FILE; several reports need\n"
    "                   --output DIR (each written as DIR/NAME.pb.gz)\n"
    "  --stack created  pprof: samples stand on their creation stacks (default;\n"
    "                   a thread without one on its current stack)\n"
    "  --stack current  pprof: threads only, on the stack where they stand now\n"
    "  --symbolize      fill in function, file and line where the report lacks\n"
    "                   them (written with symbolize=0, or on another machine),\n"
    "                   from the modules' files and their debug info (libdw);\n"
    "                   a file whose build-id differs from the report's is not used\n"
    "  --debug-dir DIR  also look for debug files in DIR, by build-id\n"
    "                   (DIR/.build-id/xx/rest.debug) and by debug link, as in\n"
    "                   /usr/lib/debug; implies --symbolize\n"
    "Exit status: 0 when no report has leaks, 23 when one has, 2 for a bad\n"
    "argument or a file that is not a complete report (the message names it;\n"
    "the other files are still printed), 1 when strays itself fails.\n";

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_JUNIT, FORMAT_SARIF, FORMAT_PPROF };

struct report_args {
    enum format format;
    bool symbolize;
    bool current_stacks; /* pprof: --stack current */
    const char *output;  /* pprof: --output */
    const char *debug_dir;
    const char **files;
    int nfiles;
};

static int parse_format(const char *name, enum format *out)
{
    static const char *const names[] = {"text", "json", "junit", "sarif", "pprof"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i])) {
            *out = (enum format)i;
            return 0;
        }
    cli_error("report: unknown format '%s' (text, json, junit, sarif or pprof)", name);
    return -1;
}

/* The value of "--name VALUE" or "--name=VALUE" at argv[*i], or NULL when
 * argv[*i] is another argument. */
static const char *value_of(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    /* argv[*i] is an argument (*i < argc), never NULL. */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Returns 0, 1 for --help, -1 for a usage error (said). */
static int parse_report_args(int argc, char **argv, struct report_args *a)
{
    memset(a, 0, sizeof *a);
    a->files = calloc((size_t)argc, sizeof *a->files);
    if (!a->files)
        return -1;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        if (!options || arg[0] != '-' || !arg[1]) {
            a->files[a->nfiles++] = arg;
        } else if (!strcmp(arg, "--")) {
            options = false;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            return 1;
        } else if (!strcmp(arg, "--symbolize")) {
            a->symbolize = true;
        } else if ((v = value_of(argc, argv, &i, "--format", &missing))) {
            if (parse_format(v, &a->format) != 0)
                return -1;
        } else if ((v = value_of(argc, argv, &i, "--stack", &missing))) {
            if (strcmp(v, "created") && strcmp(v, "current")) {
                cli_error("report: unknown --stack '%s' (created or current)", v);
                return -1;
            }
            a->current_stacks = !strcmp(v, "current");
        } else if ((v = value_of(argc, argv, &i, "--output", &missing)) ||
                   (v = value_of(argc, argv, &i, "-o", &missing))) {
            a->output = v;
        } else if ((v = value_of(argc, argv, &i, "--debug-dir", &missing))) {
            a->debug_dir = v;
            a->symbolize = true;
        } else {
            cli_error(missing ? "report: %s needs a value" : "report: unknown argument '%s'",
                      arg);
            return -1;
        }
    }
    if (!a->nfiles) {
        cli_error("report: no report file given");
        fputs(report_usage, stderr);
        return -1;
    }
    if ((a->output || a->current_stacks) && a->format != FORMAT_PPROF) {
        cli_error("report: --output and --stack are for --format pprof");
        return -1;
    }
    if (a->format == FORMAT_PPROF && cli_pprof_check_output(a->output, a->nfiles) != 0)
        return -1;
    struct stat st;
    if (a->debug_dir && stat(a->debug_dir, &st) != 0) {
        cli_error("report: --debug-dir %s: %s", a->debug_dir, strerror(errno));
        return -1;
    }
    if (a->debug_dir && !S_ISDIR(st.st_mode)) {
        cli_error("report: --debug-dir %s: not a directory", a->debug_dir);
        return -1;
    }
    return 0;
}

static void print_note(void *ctx, const char *message)
{
    (void)ctx;
    cli_error("report: --symbolize: %s", message);
}

/* Symbolizes every report; returns 0, or -1 when libdw is not there. */
static int symbolize(struct st_report *reports, int count, const char *debug_dir)
{
    struct st_offline_symbolizer *s;
    char err[300];
    if (st_offline_symbolizer_open(&s, debug_dir, print_note, NULL, err, sizeof err) != 0) {
        cli_error("report: %s", err);
        return -1;
    }
    for (int i = 0; i < count; i++)
        st_offline_symbolize_report(s, &reports[i]);
    st_offline_symbolizer_close(s);
    return 0;
}

static int render(const struct report_args *a, struct st_report *reports, const char **files,
                  int count)
{
    if (a->format == FORMAT_TEXT)
        return cli_print_text(reports, count, 1) ? -1 : 0;
    if (a->format == FORMAT_JUNIT)
        return cli_write_junit(reports, files, count, 1);
    if (a->format == FORMAT_SARIF)
        return cli_write_sarif(reports, files, count, 1);
    if (a->format == FORMAT_PPROF) /* says itself what failed: 1 */
        return cli_write_pprof(reports, files, count, a->output, a->current_stacks) ? 1 : 0;
    struct st_out out;
    st_out_init(&out, 1);
    for (int i = 0; i < count; i++)
        st_report_write_json(&reports[i], &out);
    st_out_flush(&out);
    return out.error ? -1 : 0;
}

int cli_report(int argc, char **argv)
{
    struct report_args a;
    int rc = parse_report_args(argc, argv, &a);
    if (rc != 0) {
        free(a.files);
        if (rc > 0)
            fputs(report_usage, stdout);
        return rc > 0 ? CLI_OK : CLI_USAGE;
    }
    struct st_report *reports = calloc((size_t)a.nfiles, sizeof *reports);
    const char **loaded_files = calloc((size_t)a.nfiles, sizeof *loaded_files);
    if (!reports || !loaded_files) {
        free(reports);
        free(loaded_files);
        free(a.files);
        cli_error("report: out of memory");
        return CLI_INTERNAL;
    }
    int loaded = 0, status = CLI_OK;
    for (int i = 0; i < a.nfiles; i++) {
        char err[600];
        if (st_report_load(&reports[loaded], a.files[i], err, sizeof err) != 0) {
            cli_error("report: %s", err);
            status = CLI_USAGE;
            continue;
        }
        loaded_files[loaded++] = a.files[i];
    }
    unsigned leaks = 0;
    for (int i = 0; i < loaded; i++)
        leaks += st_report_leak_count(&reports[i]);
    if (a.symbolize && loaded && symbolize(reports, loaded, a.debug_dir) != 0)
        status = CLI_INTERNAL;
    else if (loaded && (rc = render(&a, reports, loaded_files, loaded)) != 0) {
        if (rc < 0)
            cli_error("report: cannot write the output");
        status = CLI_INTERNAL;
    }
    for (int i = 0; i < loaded; i++)
        st_report_free(&reports[i]);
    free(reports);
    free(loaded_files);
    free(a.files);
    if (status != CLI_OK)
        return status;
    return leaks ? CLI_LEAKS : CLI_OK;
}
