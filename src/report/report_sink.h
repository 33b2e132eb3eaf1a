/* Where a report goes (log_path): strays' private stderr copy, stdout, or a
 * new file per report. Files are created exclusively in a checked
 * directory (own_files.h), written under a temporary name and linked to
 * their final name only when complete, so a report cut short (disk full,
 * process killed) never looks like a whole one. */
#ifndef STRAYS_REPORT_SINK_H
#define STRAYS_REPORT_SINK_H

#include "base/options.h"

#include <limits.h>
#include <stdbool.h>

struct st_sink {
    int fd;
    enum st_format format;       /* to write the report in */
    bool is_file;
    bool file_only;              /* a profile: never written to stderr instead */
    int dirfd;                   /* the checked directory of a file */
    unsigned seq;                /* of the names below */
    const char *ext;             /* "json" or "txt" */
    const char *prefix;          /* log_path */
    const char *base;            /* its last component */
    char tmp_name[NAME_MAX + 1]; /* in dir */
    /* DIR/BASE.PID.SEQ.EXT, for messages: a path option's value (at most
     * ST_OPT_PATH_MAX) and its tail. Not PATH_MAX: the sink lives on the
     * stack of every report, and each 4 KiB of it touched first is a fault. */
    char final_path[ST_OPT_PATH_SIZE];
};

/* Opens the destination for one report, in format. When the file cannot be
 * created it says so on strays' channel and falls back to stderr: a report
 * is never lost. Under `strays run` (exitcode_for=run) a directory that is
 * gone means the run has ended: the process says it outlived the run, and
 * the report goes to stderr in text, for the person who reads it there;
 * or, when it is not for_terminal (a clean exit), nowhere: s->fd is then -1.
 * The file gets mode st_opt.file_mode. Returns 0 or -errno (no destination
 * at all). */
int st_sink_open(struct st_sink *s, const char *log_path, enum st_format format,
                 bool for_terminal);
/* Opens a new file PREFIX.PID.SEQ.EXT (SEQ shared with report files) for
 * output that only makes sense as a file (a binary profile): when it
 * cannot be created strays says so, naming what, and returns -errno. */
int st_sink_open_file(struct st_sink *s, const char *prefix, const char *ext, const char *what);
/* Returned by st_sink_close when a file could not be completed: strays has
 * said why, nothing is left under either name, and s is now the stderr
 * sink; the caller writes the report again and closes s again. */
#define ST_SINK_WRITE_AGAIN 1
/* Finishes the report: a file is given its final name only if complete.
 * write_error: 0 or the -errno of the writes. Returns 0, write_error for
 * stderr or stdout, or ST_SINK_WRITE_AGAIN (a file of st_sink_open_file:
 * the -errno, the file removed). */
int st_sink_close(struct st_sink *s, int write_error);
/* True when log_path names a file prefix rather than stderr or stdout. */
bool st_sink_is_file(const char *log_path);

#endif
