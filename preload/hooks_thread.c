/* Interposers for thread creation, joining and exit (POSIX and C11). The
 * registry (src/track/registry_thread.c) does the bookkeeping; these only call
 * the real function and tell it what happened; the trampoline and the
 * thread's exit path are in src/track/per_thread.c. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/timeout.h"
#include "runtime/exhaustion.h"
#include "track/per_thread.h"
#include "track/registry_thread.h"

INTERPOSER int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                              void *(*start)(void *), void *arg)
{
    if (!st_active())
        return REAL(pthread_create)(thread, attr, start, arg);
    st_watchdog_program_starts_a_thread();
    struct st_thread *rec;
    CORE(rec = st_thread_prepare(start, arg, attr));
    if (!rec)
        return REAL(pthread_create)(thread, attr, start, arg);
    int rc = REAL(pthread_create)(thread, attr, st_thread_trampoline, rec);
    CORE(st_thread_created(rec, rc, rc == 0 ? *thread : 0));
    if (ST_UNLIKELY(rc == EAGAIN))
        CORE(st_exhaustion_hit(ST_LIMIT_THREADS, EAGAIN));
    return rc;
}

/* The four joins differ only in how they wait; the record is looked up
 * before the real call because the handle may be reused the moment it
 * returns. pthread_join waits for the end (the wait_ pair of calls), the
 * others may give up. The blocking ones also record a wait, on the
 * joined thread's handle. */
#define JOIN_HOOK(name, kind, wait_call, timeout, params, ...)                             \
    INTERPOSER int name params                                                             \
    {                                                                                      \
        if (!st_active())                                                                  \
            return REAL(name)(__VA_ARGS__);                                                \
        struct st_thread *rec;                                                             \
        CORE(rec = st_thread_##kind##begin(thread));                                       \
        if (wait_call != ST_WAIT_NONE)                                                     \
            WAIT_BEGIN(wait_call, (const void *)thread, -1, timeout);                      \
        int rc = REAL(name)(__VA_ARGS__);                                                  \
        if (wait_call != ST_WAIT_NONE)                                                     \
            WAIT_END(rc == ETIMEDOUT);                                                     \
        CORE(st_thread_##kind##end(rec, rc));                                              \
        return rc;                                                                         \
    }

JOIN_HOOK(pthread_join, join_wait_, ST_WAIT_JOIN, 0, (pthread_t thread, void **ret), thread,
          ret)
JOIN_HOOK(pthread_tryjoin_np, join_, ST_WAIT_NONE, 0, (pthread_t thread, void **ret), thread,
          ret)
JOIN_HOOK(pthread_timedjoin_np, join_, ST_WAIT_TIMEDJOIN, st_timeout_until(CLOCK_REALTIME, abstime),
          (pthread_t thread, void **ret, const struct timespec *abstime), thread, ret, abstime)
JOIN_HOOK(pthread_clockjoin_np, join_, ST_WAIT_TIMEDJOIN, st_timeout_until(clock, abstime),
          (pthread_t thread, void **ret, clockid_t clock, const struct timespec *abstime), thread,
          ret, clock, abstime)

INTERPOSER int pthread_detach(pthread_t thread)
{
    if (!st_active())
        return REAL(pthread_detach)(thread);
    struct st_thread *rec;
    CORE(rec = st_thread_detach_begin(thread));
    int rc = REAL(pthread_detach)(thread);
    CORE(st_thread_detach_end(rec, rc));
    return rc;
}

INTERPOSER void pthread_exit(void *retval)
{
    if (st_active())
        CORE(st_per_thread_exiting());
    REAL(pthread_exit)(retval);
    __builtin_unreachable();
}

/* C11 threads: glibc implements them on its own internal pthread calls,
 * which no pthread hook sees, so they are hooked by their own names. */
INTERPOSER int thrd_create(thrd_t *thread, thrd_start_t start, void *arg)
{
    if (!st_active())
        return REAL(thrd_create)(thread, start, arg);
    struct st_thread *rec;
    /* Stored as the pthread type; st_thread_trampoline_c11 casts it back. */
    CORE(rec = st_thread_prepare((void *(*)(void *))(void (*)(void))start, arg, NULL));
    if (!rec)
        return REAL(thrd_create)(thread, start, arg);
    int rc = REAL(thrd_create)(thread, st_thread_trampoline_c11, rec);
    CORE(st_thread_created(rec, rc == thrd_success ? 0 : -1, rc == thrd_success ? *thread : 0));
    /* glibc maps pthread_create's EAGAIN to thrd_error (thrd_nomem: ENOMEM). */
    if (ST_UNLIKELY(rc == thrd_error || rc == thrd_nomem))
        CORE(st_exhaustion_hit(ST_LIMIT_THREADS, EAGAIN));
    return rc;
}

INTERPOSER int thrd_join(thrd_t thread, int *res)
{
    if (!st_active())
        return REAL(thrd_join)(thread, res);
    struct st_thread *rec;
    CORE(rec = st_thread_join_wait_begin(thread));
    int rc = REAL(thrd_join)(thread, res);
    CORE(st_thread_join_wait_end(rec, rc == thrd_success ? 0 : -1));
    return rc;
}

INTERPOSER int thrd_detach(thrd_t thread)
{
    if (!st_active())
        return REAL(thrd_detach)(thread);
    struct st_thread *rec;
    CORE(rec = st_thread_detach_begin(thread));
    int rc = REAL(thrd_detach)(thread);
    CORE(st_thread_detach_end(rec, rc == thrd_success ? 0 : -1));
    return rc;
}

INTERPOSER void thrd_exit(int res)
{
    if (st_active())
        CORE(st_per_thread_exiting());
    REAL(thrd_exit)(res);
    __builtin_unreachable();
}
