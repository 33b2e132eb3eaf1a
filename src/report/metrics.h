/* Counts from a live dump in the Prometheus text exposition format, for
 * node_exporter's textfile collector: written to a new temporary file
 * (own_files.h: checked directory, exclusive, mode file_mode) and renamed
 * over metrics_path, so a scrape never reads half a file. */
#ifndef STRAYS_METRICS_H
#define STRAYS_METRICS_H

#include "report/report.h"

/* How many creation sites get their own series. */
#define ST_METRICS_TOP_SITES 10

/* Writes r's counts to path; returns 0 or -errno (strays says why). */
int st_metrics_write(const struct st_report *r, const char *path);

#endif
