/* `strays report`: renders JSON reports written by the preload. */
#include "cli.h"

#include "../report_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char report_usage[] =
    "usage: strays report [--format text|json] FILE.json...\n"
    "Prints each report (text: grouped by creation stack). Exit status 0 when\n"
    "no report has leaks, 23 when one has, 2 for a bad argument, 1 when a file\n"
    "cannot be read or is not a valid report (the message names it).\n";

int cli_report(int argc, char **argv)
{
    const char *format = "text";
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "--help")) {
            fputs(report_usage, stdout);
            return CLI_OK;
        }
        if (!strcmp(argv[first], "--format") && first + 1 < argc) {
            format = argv[++first];
            continue;
        }
        cli_error("report: unknown argument '%s'", argv[first]);
        return CLI_USAGE;
    }
    if (strcmp(format, "text") && strcmp(format, "json")) {
        cli_error("report: unknown format '%s' (text or json)", format);
        return CLI_USAGE;
    }
    if (first == argc) {
        fputs(report_usage, stderr);
        return CLI_USAGE;
    }
    int count = argc - first, status = CLI_OK;
    struct st_report *reports = calloc((size_t)count, sizeof *reports);
    if (!reports)
        return CLI_INTERNAL;
    int loaded = 0;
    for (int i = first; i < argc; i++) {
        char err[600];
        if (st_report_load(&reports[loaded], argv[i], err, sizeof err) != 0) {
            cli_error("%s", err);
            status = CLI_INTERNAL;
            continue;
        }
        loaded++;
    }
    unsigned leaks = 0;
    if (!strcmp(format, "text")) {
        leaks = cli_print_text(reports, loaded, 1);
    } else {
        struct st_out out;
        st_out_init(&out, 1);
        for (int i = 0; i < loaded; i++) {
            leaks += st_report_leak_count(&reports[i]);
            st_report_write_json(&reports[i], &out);
        }
        st_out_flush(&out);
    }
    for (int i = 0; i < loaded; i++)
        st_report_free(&reports[i]);
    free(reports);
    if (status != CLI_OK)
        return status;
    return leaks ? CLI_LEAKS : CLI_OK;
}
