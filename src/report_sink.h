/* Where a report goes (log_path): strays' private stderr copy, stdout, or a
 * new file per report. Files are written under a temporary name and linked
 * to their final name only when complete, so a report cut short (disk
 * full, process killed) never looks like a whole one. */
#ifndef STRAYS_REPORT_SINK_H
#define STRAYS_REPORT_SINK_H

#include "options.h"

#include <limits.h>
#include <stdbool.h>

struct st_sink {
    int fd;
    bool is_file;
    char tmp_path[PATH_MAX];
    char final_path[PATH_MAX];
};

/* Opens the destination for one report. When the file cannot be created it
 * says so on strays' channel and falls back to stderr: a report is never
 * lost. Returns 0 or -errno (no destination at all). */
int st_sink_open(struct st_sink *s, const char *log_path, enum st_format format);
/* Finishes the report: a file is renamed into place only if complete.
 * Returns 0, or -errno when it could not be completed. */
int st_sink_close(struct st_sink *s, int write_error);
/* True when log_path names a file prefix rather than stderr or stdout. */
bool st_sink_is_file(const char *log_path);

#endif
