/* The registry of POSIX timers (timer_create until timer_delete). Timer ids
 * are reused at once, like fds, so a record is removed before the real
 * timer_delete and added after a successful timer_create. glibc's old
 * (GLIBC_2.2.5) ABI hands out small integer ids of its own, kept apart. */
#ifndef STRAYS_REGISTRY_TIMER_H
#define STRAYS_REGISTRY_TIMER_H

#include "track/stack.h"

#include <stdbool.h>
#include <stdint.h>

struct st_timer_view {
    uintptr_t id;      /* the timer_t value as the program holds it */
    bool compat;       /* created through the GLIBC_2.2.5 ABI */
    int clock;
    int notify;        /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID */
    int signo;         /* SIGEV_SIGNAL / SIGEV_THREAD_ID */
    int notify_tid;    /* SIGEV_THREAD_ID */
    bool armed;        /* as last set by timer_settime (a report asks the kernel) */
    uint64_t interval_ns;
    int tid;           /* creating thread */
    const struct st_stack *created_by;
    uint64_t created_ns;
    bool ignored;      /* in the baseline (strays_snapshot) */
    const char *scope; /* the scope it was created in, or NULL */
};

/* After a successful timer_create; sigev may be NULL (SIGEV_SIGNAL/SIGALRM). */
void st_timer_created(uintptr_t id, bool compat, int clock, int notify, int signo, int notify_tid);
/* After a successful timer_settime. */
void st_timer_set(uintptr_t id, bool compat, bool armed, uint64_t interval_ns);
/* Before the real timer_delete. */
void st_timer_deleted(uintptr_t id, bool compat);

/* Calls fn with a copy of every record, under the registry lock. With
 * unread (the crash path), a lock that stays taken for a few milliseconds
 * is given up on, and the records are added to *unread instead. */
int st_timer_foreach(void (*fn)(const struct st_timer_view *, void *), void *ctx,
                     unsigned *unread);
/* strays_snapshot: every timer tracked now is left out of later reports. */
void st_timer_ignore_all(void);
/* Timers tracked now. */
unsigned st_timer_count(void);
void st_timer_before_fork(void);
void st_timer_after_fork_parent(void);
/* Timers are not inherited across fork (timer_create(2)). */
void st_timer_after_fork_child(void);
void st_timer_reset(void);

#endif
