/* profile_path: a pprof profile of each live dump, in a file of its own
 * (PREFIX.PID.SEQ.pb.gz), written by the watchdog after the report. */
#ifndef STRAYS_PROFILE_FILE_H
#define STRAYS_PROFILE_FILE_H

#include "report/report.h"

/* Writes r's profile under prefix; says why on strays' channel when it
 * cannot. Returns 0 or -errno. */
int st_profile_file_write(const struct st_report *r, const char *prefix);

#endif
