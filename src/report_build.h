/* Building a report of this process from strays' registries. */
#ifndef STRAYS_REPORT_BUILD_H
#define STRAYS_REPORT_BUILD_H

#include "report.h"

/* Fills r (st_report_free releases it). reason: "exit", "signal", ...;
 * exit_status -1 when not an exit. Returns 0 or -errno. */
int st_report_build(struct st_report *r, const char *reason, int exit_status, bool symbolize);

#endif
