/* Dumps when the program hits a limit, as Android's fdtrack does: a hooked
 * call that fails for want of fds (EMFILE, ENFILE), threads (EAGAIN from
 * pthread_create, thrd_create) or timers (EAGAIN from timer_create) asks
 * strays' watchdog for one live dump, reason "exhausted", naming the
 * largest creation sites of that kind; fd_warn=PERCENT asks for one, reason
 * "fd_warn", when the program's fds cross that share of RLIMIT_NOFILE.
 * The failing call itself only counts, sets a flag and wakes the watchdog:
 * its return value, errno and timing stay the program's. */
#ifndef STRAYS_EXHAUSTION_H
#define STRAYS_EXHAUSTION_H

#include "base/st.h"

#include <limits.h>

enum st_limit_kind { ST_LIMIT_FDS, ST_LIMIT_THREADS, ST_LIMIT_TIMERS, ST_LIMIT_KINDS };

/* A hooked call of kind failed with err (EMFILE, ENFILE, EAGAIN). */
void st_exhaustion_hit(enum st_limit_kind kind, int err);
/* Whether a kind last dumped at last (a coarse-clock time | 1; 0: never)
 * must wait at now: one dump of a kind a minute. */
bool st_exhaustion_too_soon(uint64_t now, uint64_t last);

/* fd_warn: fds numbered in [st_fd_warn_lo, st_fd_warn_hi) change nothing;
 * a created fd outside asks st_exhaustion_fd_outside. The kernel hands out
 * the lowest free number, so an fd at the threshold means every number
 * below it is taken (fdtrack judges the same way). */
extern ST_HOT_DATA int st_fd_warn_lo, st_fd_warn_hi;
void st_exhaustion_fd_outside(int fd);
static inline void st_exhaustion_fd_created(int fd)
{
    int lo = __atomic_load_n(&st_fd_warn_lo, __ATOMIC_RELAXED);
    int hi = __atomic_load_n(&st_fd_warn_hi, __ATOMIC_RELAXED);
    if (ST_UNLIKELY((unsigned)(fd - lo) >= (unsigned)(hi - lo))) st_exhaustion_fd_outside(fd);
}

/* Whether the watchdog must exist for these dumps (exhausted_dump, fd_warn). */
bool st_exhaustion_wanted(void);
/* Reads RLIMIT_NOFILE for fd_warn; at start, and again at each dump. */
void st_exhaustion_init(void);
/* The watchdog, when woken: writes the dumps asked for. */
void st_exhaustion_dump_pending(void);

#endif
