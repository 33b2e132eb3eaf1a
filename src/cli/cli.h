/* The strays command-line tool: runs programs under the preload and reads
 * the reports it writes. It never runs inside the watched process. */
#ifndef STRAYS_CLI_H
#define STRAYS_CLI_H

#include "../report.h"

/* Exit statuses of the CLI itself (the run command passes the program's on). */
enum {
    CLI_OK = 0,
    CLI_INTERNAL = 1,
    CLI_USAGE = 2,
    CLI_LEAKS = 23,
};

int cli_run(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_dump(int argc, char **argv);

/* "strays: " + message on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes the text rendering of every report, then one summary line per
 * report, to fd. Returns the total number of leaks. */
unsigned cli_print_text(struct st_report *reports, int count, int fd);

#endif
