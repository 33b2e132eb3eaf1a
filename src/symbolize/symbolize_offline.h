/* Symbolizing a saved report after the fact (`strays report --symbolize`):
 * function, file and line for frames that lack them, read with elfutils'
 * libdwfl from the module files on this machine or from separate debug
 * files found by build-id, never from a file whose build-id differs from
 * the one the report recorded. */
#ifndef STRAYS_SYMBOLIZE_OFFLINE_H
#define STRAYS_SYMBOLIZE_OFFLINE_H

#include "report/report.h"

#include <stddef.h>

struct st_offline_symbolizer;

/* Told once per module why its frames stay as module+offset. */
typedef void (*st_offline_note_fn)(void *ctx, const char *message);

/* Loads libdw (dlopen, as the preload does). debug_dir, when not NULL, is
 * searched like /usr/lib/debug: DIR/.build-id/xx/rest.debug (and the
 * debug link names). Returns 0, or -ENOENT / -ENOMEM with a message in err. */
int st_offline_symbolizer_open(struct st_offline_symbolizer **out, const char *debug_dir,
                               st_offline_note_fn note, void *ctx, char *err, size_t errlen);
/* Fills function, file and line of r's frames where they are missing
 * (strings go to r's arena). Returns the number of frames it changed. */
unsigned st_offline_symbolize_report(struct st_offline_symbolizer *s, struct st_report *r);
void st_offline_symbolizer_close(struct st_offline_symbolizer *s);

#endif
