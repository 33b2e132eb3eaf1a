/* A report as a pprof profile (profile.proto, the format of Go's pprof and
 * of every continuous-profiling backend): live threads, timers and fds
 * counted by stack, with labels for state, kind, call and target. Shared by
 * `strays report --format pprof` and the preload's profile_path. */
#ifndef STRAYS_PPROF_H
#define STRAYS_PPROF_H

#include "report/report.h"

#include <stddef.h>
#include <stdint.h>

/* Which stack a sample stands on. */
enum st_pprof_stacks {
    /* The creation stack (threads, timers and fds), as Go's goroutine
     * profile is "live goroutines by stack", here by where they were
     * made. A thread without one (strays inspect) stands on its current
     * stack, labelled stack=current. */
    ST_PPROF_CREATED,
    /* Threads only, by where they stand now (the stack at the wait). */
    ST_PPROF_CURRENT,
};

/* The profile, uncompressed, in *out (malloc'd, *len bytes; free() it).
 * Returns 0 or -ENOMEM. */
int st_pprof_encode(const struct st_report *r, enum st_pprof_stacks stacks, uint8_t **out,
                    size_t *len);

/* The profile gzipped (zlib loaded privately), or uncompressed when zlib
 * cannot be loaded (pprof reads both): *compressed says which. Returns 0
 * or -ENOMEM. */
int st_pprof_encode_gz(const struct st_report *r, enum st_pprof_stacks stacks, uint8_t **out,
                       size_t *len, bool *compressed);

#endif
