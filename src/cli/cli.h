/* The strays command-line tool: runs programs under the preload and reads
 * the reports it writes. It never runs inside the watched process. */
#ifndef STRAYS_CLI_H
#define STRAYS_CLI_H

#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of the CLI itself (the run command passes the program's on). */
enum {
    CLI_OK = 0,
    CLI_INTERNAL = 1,
    CLI_USAGE = 2,
    CLI_LEAKS = 23,
};

int cli_run(int argc, char **argv);
/* `strays run`, once its command has ended: names the processes it started
 * that still run (found by report_dir in their environment), but for those
 * whose report is among the count reports collected. */
void cli_run_note_survivors(const char *report_dir, const struct st_report *reports, int count);
int cli_report(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_dump(int argc, char **argv);
int cli_inspect(int argc, char **argv);

/* A growable string (the CI writers build labels and messages in one
 * before escaping them). Zero-initialise; an allocation failure leaves it
 * empty. */
struct cli_buf {
    char *s;
    size_t len, cap;
    bool failed;
};
void cli_buf_printf(struct cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *cli_buf_str(const struct cli_buf *b);
void cli_buf_reset(struct cli_buf *b);
void cli_buf_free(struct cli_buf *b);

/* Leaks grouped for the CI formats: one group per kind and creation stack
 * (leak_groups.c). A blocked thread is its own kind there, so code
 * scanning can tell "left blocked" from "left running or unjoined". */
enum cli_leak_kind {
    CLI_LEAK_THREAD,
    CLI_LEAK_BLOCKED,
    CLI_LEAK_TIMER,
    CLI_LEAK_FD,
    CLI_LEAK_KINDS,
};

struct cli_leak_group {
    enum cli_leak_kind kind;
    int created_by;
    uint32_t count;
    const uint32_t *members; /* indexes into the report's threads, timers or fds */
};

struct cli_leaks {
    struct cli_leak_group *groups; /* threads, blocked threads, timers, fds; largest first */
    uint32_t n;
    uint32_t *members;
};

/* Returns 0 or -ENOMEM. */
int cli_leaks_group(const struct st_report *r, struct cli_leaks *out);
void cli_leaks_free(struct cli_leaks *l);
/* "strays/thread-leak", "strays/blocked-thread", "strays/timer-leak", "strays/fd-leak". */
const char *cli_leak_rule_id(enum cli_leak_kind kind);
/* The innermost frame of a stack that has a file and line, or NULL. */
const struct st_frame *cli_frame_with_line(const struct st_report *r, int stack);
/* "start_pool (demo.c:32)", "libfoo.so+0x1234". */
void cli_buf_frame_label(struct cli_buf *b, const struct st_frame *f);
/* The label of a stack's innermost frame. */
void cli_buf_site(struct cli_buf *b, const struct st_report *r, int stack);
/* "2 threads blocked in pthread_cond_wait for 3.0s, created at start_pool (demo.c:32)". */
void cli_buf_leak_title(struct cli_buf *b, const struct st_report *r,
                        const struct cli_leak_group *g);
/* A name that stays the same from run to run: "fd leak at open_log (log.c:12)". */
void cli_buf_leak_name(struct cli_buf *b, const struct st_report *r,
                       const struct cli_leak_group *g);
/* The title, the process, the objects and the stacks, one per line. */
void cli_buf_leak_details(struct cli_buf *b, const struct st_report *r,
                          const struct cli_leak_group *g);

/* JUnit XML and SARIF 2.1.0 renderings of reports (files[i] is the file
 * reports[i] came from). Return 0, or -1 when out of memory or the write
 * failed. */
int cli_write_junit(struct st_report *reports, const char *const *files, int count, int fd);
int cli_write_sarif(struct st_report *reports, const char *const *files, int count, int fd);

/* `strays run`: fills in function, file and line that the processes left
 * out (separate debug files), once per module for all count reports, and
 * writes each report that changed back to paths[i] (run_symbolize.c).
 * Returns 0, or -1 when libdw cannot be loaded (said on stderr). */
int cli_run_symbolize(struct st_report *reports, char *const *paths, int count);
/* pprof profiles, one per report (format_pprof.c): to output (a file, or
 * NULL for stdout) for one report, into output (a directory) for several.
 * cli_pprof_check_output says what is wrong with the arguments (0 or -1).
 * Returns 0, or -1 when a profile could not be written (said). */
int cli_pprof_check_output(const char *output, int nfiles);
int cli_write_pprof(struct st_report *reports, const char *const *files, int count,
                    const char *output, bool current_stacks);

/* "strays: " + message on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes the text rendering of every report, then one summary line per
 * report, to fd. Returns 0, or the -errno of the first write that failed. */
int cli_print_text(struct st_report *reports, int count, int fd);

#endif
