/* Interposers for POSIX timers. glibc exports timer_create, timer_settime
 * and timer_delete in three versions: GLIBC_2.2.5 (the old ABI, whose ids
 * are small integers of glibc's own), GLIBC_2.3.3 and GLIBC_2.34 (the same
 * code, moved from librt into libc). Each version gets its own hook,
 * forwarding to the version the program was linked against. */
#define _GNU_SOURCE
#include "interpose.h"

#include "runtime/exhaustion.h"
#include "track/registry_timer.h"

#include <signal.h>

static void note_created(uintptr_t id, bool compat, clockid_t clock, const struct sigevent *sev)
{
    int notify = sev ? sev->sigev_notify : SIGEV_SIGNAL;
    int signo = sev ? sev->sigev_signo : SIGALRM; /* timer_create(2): NULL means SIGALRM */
    int tid = sev && notify == SIGEV_THREAD_ID ? sev->_sigev_un._tid : 0;
    if (notify == SIGEV_NONE || notify == SIGEV_THREAD)
        signo = 0;
    CORE(st_timer_created(id, compat, (int)clock, notify, signo, tid));
}

static void note_set(uintptr_t id, bool compat, const struct itimerspec *value)
{
    if (!value)
        return;
    bool armed = value->it_value.tv_sec || value->it_value.tv_nsec;
    uint64_t interval =
        (uint64_t)value->it_interval.tv_sec * 1000000000u + (uint64_t)value->it_interval.tv_nsec;
    CORE(st_timer_set(id, compat, armed, armed ? interval : 0));
}

/* timer_create fails with EAGAIN at RLIMIT_SIGPENDING (each timer holds a
 * queued signal): ask for a dump (exhaustion.h). */
static inline void create_failed(void)
{
    if (ST_UNLIKELY(errno == EAGAIN) && st_active())
        CORE(st_exhaustion_hit(ST_LIMIT_TIMERS, EAGAIN));
}

INTERPOSER int st_hook_timer_create_compat(clockid_t clock, struct sigevent *sev, int *id)
{
    int rc = REAL_V(timer_create, compat, "GLIBC_2.2.5")(clock, sev, id);
    if (rc != 0)
        create_failed();
    else if (st_active())
        note_created((uintptr_t)(unsigned)*id, true, clock, sev);
    return rc;
}
SYMVER(st_hook_timer_create_compat, "timer_create@GLIBC_2.2.5");

#define TIMER_CREATE_HOOK(tag, version, symbol)                                            \
    INTERPOSER int st_hook_timer_create_##tag(clockid_t clock, struct sigevent *sev,       \
                                              timer_t *id)                                 \
    {                                                                                      \
        int rc = REAL_V(timer_create, tag, version)(clock, sev, id);                       \
        if (rc != 0)                                                                       \
            create_failed();                                                               \
        else if (st_active())                                                              \
            note_created((uintptr_t)*id, false, clock, sev);                               \
        return rc;                                                                         \
    }                                                                                      \
    SYMVER(st_hook_timer_create_##tag, symbol);
TIMER_CREATE_HOOK(v2_3_3, "GLIBC_2.3.3", "timer_create@GLIBC_2.3.3")
TIMER_CREATE_HOOK(v2_34, "GLIBC_2.34", "timer_create@@GLIBC_2.34")

INTERPOSER int st_hook_timer_settime_compat(int id, int flags, const struct itimerspec *value,
                                            struct itimerspec *old)
{
    int rc = REAL_V(timer_settime, compat, "GLIBC_2.2.5")(id, flags, value, old);
    if (rc == 0 && st_active())
        note_set((uintptr_t)(unsigned)id, true, value);
    return rc;
}
SYMVER(st_hook_timer_settime_compat, "timer_settime@GLIBC_2.2.5");

#define TIMER_SETTIME_HOOK(tag, version, symbol)                                           \
    INTERPOSER int st_hook_timer_settime_##tag(timer_t id, int flags,                      \
                                               const struct itimerspec *value,             \
                                               struct itimerspec *old)                     \
    {                                                                                      \
        int rc = REAL_V(timer_settime, tag, version)(id, flags, value, old);               \
        if (rc == 0 && st_active())                                                        \
            note_set((uintptr_t)id, false, value);                                         \
        return rc;                                                                         \
    }                                                                                      \
    SYMVER(st_hook_timer_settime_##tag, symbol);
TIMER_SETTIME_HOOK(v2_3_3, "GLIBC_2.3.3", "timer_settime@GLIBC_2.3.3")
TIMER_SETTIME_HOOK(v2_34, "GLIBC_2.34", "timer_settime@@GLIBC_2.34")

/* The record goes before the real call: the id may be reused at once. */
INTERPOSER int st_hook_timer_delete_compat(int id)
{
    if (st_active())
        CORE(st_timer_deleted((uintptr_t)(unsigned)id, true));
    return REAL_V(timer_delete, compat, "GLIBC_2.2.5")(id);
}
SYMVER(st_hook_timer_delete_compat, "timer_delete@GLIBC_2.2.5");

#define TIMER_DELETE_HOOK(tag, version, symbol)                                            \
    INTERPOSER int st_hook_timer_delete_##tag(timer_t id)                                  \
    {                                                                                      \
        if (st_active())                                                                   \
            CORE(st_timer_deleted((uintptr_t)id, false));                                  \
        return REAL_V(timer_delete, tag, version)(id);                                     \
    }                                                                                      \
    SYMVER(st_hook_timer_delete_##tag, symbol);
TIMER_DELETE_HOOK(v2_3_3, "GLIBC_2.3.3", "timer_delete@GLIBC_2.3.3")
TIMER_DELETE_HOOK(v2_34, "GLIBC_2.34", "timer_delete@@GLIBC_2.34")
