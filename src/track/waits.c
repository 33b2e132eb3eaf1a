/* Per-thread wait records; see waits.h. A record is found through the
 * thread's state (per_thread.h), so entering a wait costs a few stores
 * and a cheap clock read. The stack at the wait is captured on entry through
 * st_stack_here, whose checked per-position cache makes a loop of waits
 * from one place cheap. */
#define _GNU_SOURCE
#include "track/waits.h"

#include "base/lock.h"
#include "base/st.h"
#include "track/per_thread.h"

#include <stdlib.h>
#include <string.h>

struct st_wait_record {
    uint32_t seq; /* odd while the owner writes */
    int tid;      /* 0: free for another thread */
    uint8_t call;
    int fd;
    const void *object;
    uint64_t since_ns;
    uint64_t timeout_ns;
    uint32_t timeouts;
    const struct st_stack *stack;
    /* Owner-only: the last wait, to count timeouts in a row, and the stack cache. */
    uint8_t last_call;
    const void *last_object;
    struct st_wait_record *next;      /* all records, never unlinked */
    struct st_wait_record *next_free; /* free records, under alloc_lock */
};

static struct st_wait_record *all_records;
/* Records whose thread ended, for the next thread: taking one is a pop, not
 * a walk over every record (10 000 threads starting would walk 50 million). */
static struct st_wait_record *free_records;
static st_lock_t alloc_lock = ST_LOCK_INIT;

/* Arrays of characters, not pointers: a table of pointers is relocated,
 * written, in every process that loads strays (see st.h, ST_HOT_DATA). */
static const char call_names[][32] = {
#define ST_WAIT_NAME(name, text) text,
    ST_WAIT_CALLS(ST_WAIT_NAME)
#undef ST_WAIT_NAME
};

const char *st_wait_call_name(enum st_wait_call call)
{
    return (unsigned)call < ST_WAIT_CALL_COUNT ? call_names[call] : "?";
}

bool st_wait_call_is_lock(enum st_wait_call call)
{
    return call == ST_WAIT_MUTEX_LOCK || call == ST_WAIT_MUTEX_TIMEDLOCK ||
           call == ST_WAIT_MUTEX_CLOCKLOCK || call == ST_WAIT_RWLOCK_WRLOCK ||
           call == ST_WAIT_RWLOCK_TIMEDWRLOCK || call == ST_WAIT_RWLOCK_RDLOCK ||
           call == ST_WAIT_RWLOCK_TIMEDRDLOCK;
}

void st_wait_record_release(struct st_wait_record *w)
{
    __atomic_store_n(&w->call, ST_WAIT_NONE, __ATOMIC_RELAXED);
    w->last_call = ST_WAIT_NONE;
    w->timeouts = 0;
    __atomic_store_n(&w->tid, 0, __ATOMIC_RELEASE);
    st_lock(&alloc_lock);
    w->next_free = free_records;
    free_records = w;
    st_unlock(&alloc_lock);
}

static struct st_wait_record *claim_record(void)
{
    int tid = st_gettid();
    st_lock(&alloc_lock);
    struct st_wait_record *w = free_records;
    if (w)
        free_records = w->next_free;
    st_unlock(&alloc_lock);
    if (w) {
        __atomic_store_n(&w->tid, tid, __ATOMIC_RELEASE);
        return w;
    }
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->tid = tid;
    w->fd = -1;
    st_lock(&alloc_lock);
    w->next = all_records;
    __atomic_store_n(&all_records, w, __ATOMIC_RELEASE);
    st_unlock(&alloc_lock);
    return w;
}

/* The calling thread's record, claimed at its first wait. None once its
 * state is gone (a wait from another key's destructor after strays' own):
 * a record claimed then would never be given back. */
static struct st_wait_record *my_record(struct st_per_thread *ts)
{
    if (ST_LIKELY(ts->wait != NULL))
        return ts->wait;
    if (!st_per_thread_keep(ts))
        return NULL;
    ts->wait = claim_record();
    return ts->wait;
}

unsigned st_wait_records_claimed(void)
{
    unsigned n = 0;
    for (struct st_wait_record *w = __atomic_load_n(&all_records, __ATOMIC_ACQUIRE); w; w = w->next)
        n += __atomic_load_n(&w->tid, __ATOMIC_RELAXED) != 0;
    return n;
}

static void write_begin(struct st_wait_record *w)
{
    __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct st_wait_record *w)
{
    __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
}

ST_HOT void st_wait_begin(enum st_wait_call call, const void *object, int fd, uint64_t timeout_ns)
{
    struct st_wait_record *w = my_record(st_per_thread());
    if (!w)
        return;
    /* st_stack_here checks its per-position cache against the words on
     * the stack, so a loop of waits costs a few loads, and never a wrong stack. */
    const struct st_stack *stack = st_stack_here();
    write_begin(w);
    if (w->last_call != call || w->last_object != object)
        w->timeouts = 0;
    w->call = (uint8_t)call;
    w->object = object;
    w->fd = fd;
    w->since_ns = st_uptime_ns();
    w->timeout_ns = timeout_ns;
    w->stack = stack;
    write_end(w);
}

ST_HOT void st_wait_end(bool timed_out)
{
    struct st_wait_record *w = st_per_thread()->wait;
    if (!w || w->call == ST_WAIT_NONE)
        return;
    write_begin(w);
    w->timeouts = timed_out ? w->timeouts + 1 : 0;
    w->last_call = w->call;
    w->last_object = w->object;
    w->call = ST_WAIT_NONE;
    write_end(w);
}

static bool read_record(const struct st_wait_record *w, struct st_wait_view *v)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t before = __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        v->tid = __atomic_load_n(&w->tid, __ATOMIC_RELAXED);
        v->call = (enum st_wait_call)__atomic_load_n(&w->call, __ATOMIC_RELAXED);
        v->object = w->object;
        v->fd = w->fd;
        v->since_ns = w->since_ns;
        v->timeout_ns = w->timeout_ns;
        v->timeouts = w->timeouts;
        v->stack = w->stack;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&w->seq, __ATOMIC_RELAXED) == before)
            return v->tid != 0 && v->call != ST_WAIT_NONE;
    }
    return false; /* its owner keeps writing: it is not stuck */
}

ST_EVERY_REPORT
int st_wait_foreach(void (*fn)(const struct st_wait_view *, void *), void *ctx)
{
    int n = 0;
    for (struct st_wait_record *w = __atomic_load_n(&all_records, __ATOMIC_ACQUIRE); w;
         w = w->next) {
        struct st_wait_view v;
        if (read_record(w, &v)) {
            fn(&v, ctx);
            n++;
        }
    }
    return n;
}

ST_EVERY_FORK
void st_wait_after_fork_child(struct st_wait_record *self)
{
    st_lock_reset(&alloc_lock);
    ST_STORE_IF_CHANGED(free_records, NULL);
    for (struct st_wait_record *w = all_records; w; w = w->next) {
        if (w == self) {
            w->tid = st_gettid();
            w->seq &= ~1u;
            continue;
        }
        w->call = ST_WAIT_NONE;
        w->seq = 0;
        w->tid = 0;
        w->next_free = free_records;
        free_records = w;
    }
}
