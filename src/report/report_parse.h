/* Reading a JSON report back into the report model, for the CLI. Report
 * files may be truncated or corrupt: every field is checked, and an error
 * names the file, the field and what was wrong. */
#ifndef STRAYS_REPORT_PARSE_H
#define STRAYS_REPORT_PARSE_H

#include "report/json.h"
#include "report/report.h"

#include <stddef.h>

/* Fills r from a parsed report. Returns 0, or -EINVAL with a message in err. */
int st_report_from_json(struct st_report *r, const struct st_json *root, char *err,
                        size_t errlen);
/* Reads, parses and loads a report file. Returns 0, or -errno with a
 * message naming the file in err. */
int st_report_load(struct st_report *r, const char *path, char *err, size_t errlen);

#endif
