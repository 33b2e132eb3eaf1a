/* The blocked part of a report: which threads are in a wait, in what, on
 * what, for how long, and who holds the lock they want. Lock owners come
 * from glibc's own bookkeeping (a mutex records its owner's tid, a rwlock
 * its writer's), read with process_vm_readv so that a lock freed since the
 * wait began cannot fault the report. Threads that wait on each other's
 * locks in a cycle are listed as deadlocks, the way jstack does. */
#define _GNU_SOURCE
#include "base/options.h"
#include "base/sort.h"
#include "collect/report_build.h"
#include "base/st.h"
#include "collect/thread_stacks.h"
#include "track/waits.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct wait_copy {
    struct st_wait_view *views;
    uint32_t count, cap;
    struct st_arena *arena;
};

static void copy_wait(const struct st_wait_view *v, void *ctx)
{
    struct wait_copy *c = ctx;
    if (c->count == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 32;
        struct st_wait_view *grown = st_arena_alloc(c->arena, cap * sizeof *grown);
        if (!grown)
            return;
        if (c->count)
            memcpy(grown, c->views, c->count * sizeof *grown);
        c->views = grown;
        c->cap = cap;
    }
    c->views[c->count++] = *v;
}

/* Reads an int of this process's memory without faulting if it is gone. */
static bool peek_int(uintptr_t address, int *out)
{
    struct iovec local = {out, sizeof *out}, remote = {(void *)address, sizeof *out};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof *out;
}

static int lock_owner(const struct st_wait_view *v)
{
    int owner = 0;
    uintptr_t base = (uintptr_t)v->object;
    switch (v->call) {
    case ST_WAIT_MUTEX_LOCK:
    case ST_WAIT_MUTEX_TIMEDLOCK:
    case ST_WAIT_MUTEX_CLOCKLOCK:
        if (!peek_int(base + offsetof(pthread_mutex_t, __data.__owner), &owner))
            return 0;
        break;
    case ST_WAIT_RWLOCK_WRLOCK:
    case ST_WAIT_RWLOCK_TIMEDWRLOCK:
    case ST_WAIT_RWLOCK_RDLOCK:
    case ST_WAIT_RWLOCK_TIMEDRDLOCK:
        if (!peek_int(base + offsetof(pthread_rwlock_t, __data.__cur_writer), &owner))
            return 0;
        break;
    default:
        return 0;
    }
    /* Robust mutexes mark a dead owner with a flag bit. */
    owner &= 0x3fffffff;
    return owner > 0 && owner != v->tid ? owner : 0;
}

static int cmp_tid(const void *a, const void *b)
{
    int x = ((const struct st_wait_view *)a)->tid, y = ((const struct st_wait_view *)b)->tid;
    return (x > y) - (x < y);
}

/* For st_sort: glibc's qsort calls malloc past 1 KiB, and this runs on the
 * crash path, maybe inside malloc with its lock held. */
static int sort_by_tid(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return cmp_tid(a, b);
}

/* The wait of thread tid, or NULL (views sorted by tid: a report of 10 000
 * threads looks each one up). */
static const struct st_wait_view *wait_of(const struct wait_copy *c, int tid)
{
    struct st_wait_view key = {.tid = tid};
    return c->count ? bsearch(&key, c->views, c->count, sizeof *c->views, cmp_tid) : NULL;
}

static struct st_report_blocked *make_blocked(const struct st_wait_view *v, uint64_t now,
                                              struct st_arena *a)
{
    struct st_report_blocked *b = st_arena_alloc(a, sizeof *b);
    if (!b)
        return NULL;
    memset(b, 0, sizeof *b);
    b->call = st_wait_call_name(v->call);
    b->object = (uintptr_t)v->object;
    b->fd = v->fd;
    b->target = v->fd >= 0 ? st_report_fd_target(v->fd, a) : NULL;
    b->blocked_ns = now > v->since_ns ? now - v->since_ns : 0;
    b->timeout_ns = v->timeout_ns;
    b->deadline_ms = v->timeout_ns ? (int64_t)((v->since_ns + v->timeout_ns) / 1000000u) : -1;
    b->timeouts = v->timeouts;
    b->owner_tid = st_wait_call_is_lock(v->call) ? lock_owner(v) : 0;
    /* A wait that keeps timing out is stuck too: the time since its run
     * of timeouts began counts, not the current wait alone. */
    uint64_t stuck_for = b->blocked_ns + (uint64_t)v->timeouts * v->timeout_ns;
    b->stuck = st_opt.blocked_threshold > 0 && stuck_for >= st_opt.blocked_threshold;
    return b;
}

/* Cycles in "waits for a lock held by": each thread has at most one edge,
 * so following edges from every thread finds each cycle; it is recorded
 * once, starting from its smallest tid. */
ST_EVERY_REPORT
static void find_deadlocks(struct st_report *r, const struct wait_copy *c)
{
    enum { MAX_CYCLE = 64 };
    for (uint32_t i = 0; i < c->count; i++) {
        int path[MAX_CYCLE], n = 0, tid = c->views[i].tid;
        const struct st_wait_view *v = &c->views[i];
        while (v && n < MAX_CYCLE) {
            path[n++] = tid;
            tid = lock_owner(v);
            if (!tid)
                break;
            int seen = -1;
            for (int k = 0; k < n; k++)
                if (path[k] == tid)
                    seen = k;
            if (seen >= 0) {
                /* A cycle path[seen..n-1]; keep it only when found from its smallest tid. */
                int smallest = path[seen];
                for (int k = seen; k < n; k++)
                    if (path[k] < smallest)
                        smallest = path[k];
                if (seen != 0 || smallest != path[0])
                    break;
                struct st_report_cycle *grown =
                    st_arena_alloc(&r->arena, (r->ndeadlocks + 1) * sizeof *grown);
                int *tids = st_arena_alloc(&r->arena, (size_t)n * sizeof *tids);
                if (!grown || !tids)
                    return;
                if (r->ndeadlocks)
                    memcpy(grown, r->deadlocks, r->ndeadlocks * sizeof *grown);
                memcpy(tids, path, (size_t)n * sizeof *tids);
                grown[r->ndeadlocks++] = (struct st_report_cycle){(uint32_t)n, tids};
                r->deadlocks = grown;
                break;
            }
            v = wait_of(c, tid);
        }
    }
}

ST_EVERY_REPORT
void st_report_collect_waits(struct st_report *r, struct st_stack_index *si)
{
    struct wait_copy c = {.arena = &r->arena};
    st_wait_foreach(copy_wait, &c);
    if (c.count)
        st_sort(c.views, c.count, sizeof *c.views, sort_by_tid, NULL);
    uint64_t now = r->nthreads ? st_uptime_ns() : 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        struct st_report_thread *t = &r->threads[i];
        const struct st_wait_view *v = t->state == ST_RT_EXITED ? NULL : wait_of(&c, t->tid);
        if (!v)
            continue;
        t->blocked = make_blocked(v, now, &r->arena);
        if (!t->blocked)
            continue;
        t->state = ST_RT_BLOCKED;
        t->stack = st_stack_index_of(si, v->stack);
    }
    find_deadlocks(r, &c);
}

ST_EVERY_REPORT
void st_report_collect_current_stacks(struct st_report *r, struct st_stack_index *si)
{
    int *tids = st_arena_alloc(&r->arena, (r->nthreads + 1) * sizeof *tids);
    uint32_t *which = st_arena_alloc(&r->arena, (r->nthreads + 1) * sizeof *which);
    const struct st_stack **stacks = st_arena_alloc(&r->arena, (r->nthreads + 1) * sizeof *stacks);
    if (!tids || !which || !stacks)
        return;
    int n = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].state == ST_RT_RUNNING && r->threads[i].stack < 0) {
            tids[n] = r->threads[i].tid;
            which[n++] = i;
        }
    int answered = st_thread_stacks_capture(tids, n, stacks, 200, r->crash_safe);
    r->tracking.threads_without_stack = (uint32_t)(n - answered);
    for (int k = 0; k < n; k++)
        if (stacks[k])
            r->threads[which[k]].stack = st_stack_index_of(si, stacks[k]);
}
