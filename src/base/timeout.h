/* The length of a timed wait in nanoseconds, from the forms the waiting
 * calls take (a relative timespec or timeval, milliseconds, an absolute
 * deadline on some clock), for the wait records (track/waits.h). 0 means
 * untimed; a deadline already past gives 1, so the wait still counts as
 * timed. Inline: the hooks of poll and the timed waits use them on every
 * call. */
#ifndef STRAYS_TIMEOUT_H
#define STRAYS_TIMEOUT_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

/* A relative timespec (nanosleep, ppoll, sigtimedwait); negative gives 0. */
static inline uint64_t st_timeout_of(const struct timespec *t)
{
    if (!t || t->tv_sec < 0 || t->tv_nsec < 0)
        return 0;
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* A relative timeval (select). */
static inline uint64_t st_timeout_of_timeval(const struct timeval *t)
{
    if (!t || t->tv_sec < 0 || t->tv_usec < 0)
        return 0;
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_usec * 1000u;
}

/* Milliseconds (poll, epoll_wait): negative waits for ever. */
static inline uint64_t st_timeout_ms(int ms) { return ms > 0 ? (uint64_t)ms * 1000000u : 0; }

/* From now until the absolute deadline on clock (pthread_cond_timedwait,
 * sem_timedwait, the timed joins, clock_nanosleep with TIMER_ABSTIME). */
static inline uint64_t st_timeout_until(clockid_t clock, const struct timespec *deadline)
{
    struct timespec now;
    if (!deadline || clock_gettime(clock, &now) != 0)
        return 0;
    uint64_t end = st_timeout_of(deadline), start = st_timeout_of(&now);
    return end > start ? end - start : 1;
}

#endif
