/* Growth between live dumps: per creation site and kind, the count at the
 * previous dump and for how many dumps in a row it has grown. A site that
 * grew in several dumps in a row is flagged as growing, the shape of a leak
 * in a service that runs for days. */
#ifndef STRAYS_GROWTH_H
#define STRAYS_GROWTH_H

#include "report/report.h"
#include "collect/report_build.h"

/* Dumps in a row a site must grow in to be flagged as growing. */
#define ST_GROWTH_STREAK 2

/* Fills r->growth from r's threads, timers and fds, compared with the
 * previous call; then remembers this dump for the next one. si maps the
 * report's stack indexes back to interned stacks (stable in the process). */
void st_growth_compute(struct st_report *r, struct st_stack_index *si);
/* Forgets the previous dump (fork child, tests). */
void st_growth_reset(void);

#endif
