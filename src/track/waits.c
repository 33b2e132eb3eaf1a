/* Per-thread wait records; see waits.h. A record is found through a
 * thread-local pointer, so entering a wait costs a few stores and a cheap
 * clock read. The stack at the wait is captured on entry through
 * st_stack_here, whose checked per-position cache makes a loop of waits
 * from one place cheap. */
#define _GNU_SOURCE
#include "track/waits.h"

#include "base/lock.h"
#include "track/registry_thread.h"
#include "base/st.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wait_record {
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
    struct wait_record *next;      /* all records, never unlinked */
    struct wait_record *next_free; /* free records, under alloc_lock */
};

static struct wait_record *all_records;
/* Records whose thread ended, for the next thread: taking one is a pop, not
 * a walk over every record (10 000 threads starting would walk 50 million). */
static struct wait_record *free_records;
static st_lock_t alloc_lock = ST_LOCK_INIT;
static pthread_key_t exit_key;
static int exit_key_state; /* 0 none, 1 creating, 2 ready */
static ST_TLS struct wait_record *self;
static ST_TLS bool self_in_key; /* self is freed by exit_key's destructor */

static const char *const call_names[] = {
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

/* The thread ends: its record is free for the next thread. */
static void on_thread_exit(void *record)
{
    struct wait_record *w = record;
    __atomic_store_n(&w->call, ST_WAIT_NONE, __ATOMIC_RELAXED);
    w->last_call = ST_WAIT_NONE;
    w->timeouts = 0;
    __atomic_store_n(&w->tid, 0, __ATOMIC_RELEASE);
    st_lock(&alloc_lock);
    w->next_free = free_records;
    free_records = w;
    st_unlock(&alloc_lock);
    self = NULL;
}

static void ensure_exit_key(void)
{
    int expected = 0;
    if (__atomic_load_n(&exit_key_state, __ATOMIC_ACQUIRE) == 2)
        return;
    if (__atomic_compare_exchange_n(&exit_key_state, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        int rc = pthread_key_create(&exit_key, on_thread_exit);
        __atomic_store_n(&exit_key_state, rc == 0 ? 2 : 0, __ATOMIC_RELEASE);
    }
}

static struct wait_record *claim_record(void)
{
    int tid = st_gettid();
    st_lock(&alloc_lock);
    struct wait_record *w = free_records;
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

static struct wait_record *my_record(void)
{
    if (ST_LIKELY(self != NULL))
        return self;
    struct wait_record *w = claim_record();
    if (!w)
        return NULL;
    /* Freed at the thread's end: by its exit handler when the thread
     * registry has one (see st_thread_self_tracked), else by a key. */
    self_in_key = !st_thread_self_tracked();
    if (self_in_key) {
        ensure_exit_key();
        if (__atomic_load_n(&exit_key_state, __ATOMIC_ACQUIRE) == 2)
            pthread_setspecific(exit_key, w);
    }
    self = w;
    return w;
}

unsigned st_wait_records_claimed(void)
{
    unsigned n = 0;
    for (struct wait_record *w = __atomic_load_n(&all_records, __ATOMIC_ACQUIRE); w; w = w->next)
        n += __atomic_load_n(&w->tid, __ATOMIC_RELAXED) != 0;
    return n;
}

void st_wait_thread_ended(void)
{
    if (self && !self_in_key)
        on_thread_exit(self);
}

static void write_begin(struct wait_record *w)
{
    __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct wait_record *w)
{
    __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
}

ST_HOT void st_wait_begin(enum st_wait_call call, const void *object, int fd, uint64_t timeout_ns)
{
    struct wait_record *w = my_record();
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
    struct wait_record *w = self;
    if (!w || w->call == ST_WAIT_NONE)
        return;
    write_begin(w);
    w->timeouts = timed_out ? w->timeouts + 1 : 0;
    w->last_call = w->call;
    w->last_object = w->object;
    w->call = ST_WAIT_NONE;
    write_end(w);
}

static bool read_record(const struct wait_record *w, struct st_wait_view *v)
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

int st_wait_foreach(void (*fn)(const struct st_wait_view *, void *), void *ctx)
{
    int n = 0;
    for (struct wait_record *w = __atomic_load_n(&all_records, __ATOMIC_ACQUIRE); w;
         w = w->next) {
        struct st_wait_view v;
        if (read_record(w, &v)) {
            fn(&v, ctx);
            n++;
        }
    }
    return n;
}

void st_wait_after_fork_child(void)
{
    st_lock_reset(&alloc_lock);
    free_records = NULL;
    for (struct wait_record *w = all_records; w; w = w->next) {
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
