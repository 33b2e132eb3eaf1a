/* The thread registry; see registry_thread.h. A tracked thread's start and
 * end reach it from its trampoline and exit path (per_thread.c), which
 * also hold the calling thread's record.
 *
 * The table is split in shards by handle, each with its own lock, so
 * threads that create and join threads do not queue on one lock. A record
 * belongs to the shard of its handle: the creator (from pthread_create's
 * result) and the new thread (from pthread_self) reach the same shard, and
 * that shard's lock guards the record's fields. */
#include "track/registry_thread.h"

#include "base/lock.h"
#include "base/options.h"
#include "track/registry_memory.h"
#include "track/scope.h"
#include "base/st.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define SHARD_BITS 4
#define SHARDS (1u << SHARD_BITS)

/* Each shard chains its records in buckets by handle. The buckets stay
 * when the shard empties (a thread churn would otherwise free and
 * reallocate them every time) and double when chains average two. */
static struct shard {
    st_lock_t lock;
    uint32_t mask;  /* buckets - 1 */
    unsigned count; /* records in this shard */
    struct st_thread **buckets;
} __attribute__((aligned(64))) shards[SHARDS] ST_LARGE_BSS;
/* Set by the first record: a process that never had one (most do not) has
 * st_thread_count and st_thread_foreach read no shard, so neither a clean
 * exit nor its report touches a page of them. */
ST_HOT_DATA static bool any_record;

#define MIN_BUCKETS 16u
#define MAX_BUCKETS (1u << 20)

/* pthread_t is the address of glibc's thread descriptor, in page-aligned
 * regions, so its low bits say little. Fibonacci hashing: the top bits of
 * the product choose the shard, the next ones the bucket. */
static uint64_t hash_handle(pthread_t handle)
{
    return (uint64_t)(uintptr_t)handle * 0x9e3779b97f4a7c15u;
}

static struct shard *shard_of(pthread_t handle)
{
    return &shards[hash_handle(handle) >> (64 - SHARD_BITS)];
}

/* ---------------------------------------------------------------- buckets */
/* Shard lock held for all of these. */

static struct st_thread **bucket_of(const struct shard *s, pthread_t handle)
{
    return &s->buckets[(uint32_t)(hash_handle(handle) >> (64 - SHARD_BITS - 20)) & s->mask];
}

static struct st_thread *lookup_locked(const struct shard *s, pthread_t handle)
{
    if (!s->buckets)
        return NULL;
    struct st_thread *rec = *bucket_of(s, handle);
    while (rec && !pthread_equal(rec->handle, handle))
        rec = rec->next;
    return rec;
}

static void rehash_locked(struct shard *s, uint32_t nbuckets)
{
    struct st_thread **buckets = st_mem_calloc(ST_MEM_THREADS, nbuckets * sizeof *buckets);
    if (!buckets)
        return; /* keep the old ones: longer chains, still correct */
    struct shard old = *s;
    s->buckets = buckets;
    s->mask = nbuckets - 1;
    if (!old.buckets)
        return;
    for (uint32_t i = 0; i <= old.mask; i++) {
        struct st_thread *rec = old.buckets[i], *next;
        for (; rec; rec = next) {
            next = rec->next;
            struct st_thread **b = bucket_of(s, rec->handle);
            rec->next = *b;
            *b = rec;
        }
    }
    st_mem_free(ST_MEM_THREADS, old.buckets);
}

/* False only when the shard has no buckets and none can be had. */
static bool link_locked(struct shard *s, struct st_thread *rec)
{
    if (!s->buckets)
        rehash_locked(s, MIN_BUCKETS);
    else if (s->count >= 2 * (s->mask + 1) && s->mask + 1 < MAX_BUCKETS)
        rehash_locked(s, 2 * (s->mask + 1));
    if (!s->buckets)
        return false;
    /* Before the record is in: a reader that finds no record yet is right. */
    if (!__atomic_load_n(&any_record, __ATOMIC_RELAXED))
        __atomic_store_n(&any_record, true, __ATOMIC_SEQ_CST);
    struct st_thread **b = bucket_of(s, rec->handle);
    rec->next = *b;
    *b = rec;
    __atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED); /* st_thread_count reads it */
    return true;
}

static void unlink_locked(struct shard *s, struct st_thread *rec)
{
    struct st_thread **p = bucket_of(s, rec->handle);
    while (*p != rec)
        p = &(*p)->next;
    *p = rec->next;
    __atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- records */

struct st_thread *st_thread_prepare(void *(*fn)(void *), void *arg, const pthread_attr_t *attr)
{
    if (!(st_opt.track & ST_TRACK_THREADS))
        return NULL;
    struct st_thread *rec = st_mem_calloc(ST_MEM_THREADS, sizeof *rec);
    if (!rec) {
        st_mem_not_tracked(ST_MEM_THREADS);
        return NULL;
    }
    rec->created_by = st_stack_here();
    rec->created_ns = st_uptime_ns();
    rec->parent_tid = st_gettid();
    rec->state = ST_THREAD_STARTING;
    int detach_state = PTHREAD_CREATE_JOINABLE;
    if (attr && pthread_attr_getdetachstate(attr, &detach_state) == 0)
        rec->detached = detach_state == PTHREAD_CREATE_DETACHED;
    rec->u.start.fn = fn;
    rec->u.start.arg = arg;
    rec->scope = st_scope_current();
    return rec;
}

/* A record is freed once the thread is gone for good (finished) and no
 * hook still holds it: neither the creator, before pthread_create returns,
 * nor a joiner. Every operation calls this once, last, and does not touch
 * the record after it. Shard lock held for the helpers below. */
static void release_locked(struct st_thread *rec)
{
    if (rec->finished && rec->creator_done && rec->joiners == 0)
        st_mem_free(ST_MEM_THREADS, rec);
}

/* The threads that ended last (joined, or detached and finished). The
 * kernel keeps a thread in /proc/self/task a moment after the program is
 * done with it (glibc's teardown after the exit handler, and the kernel's
 * own after pthread_join wakes): such a tid is no untracked thread. 64
 * slots; a tid is reused only after the pid space wraps. */
#define RECENT_ENDS 64
static int recent_ends[RECENT_ENDS] ST_LARGE_BSS;
static unsigned recent_next;

static void note_gone(int tid)
{
    if (tid <= 0)
        return;
    unsigned slot = __atomic_fetch_add(&recent_next, 1, __ATOMIC_RELAXED) % RECENT_ENDS;
    __atomic_store_n(&recent_ends[slot], tid, __ATOMIC_RELEASE);
}

bool st_thread_recently_gone(int tid)
{
    for (int i = 0; tid > 0 && i < RECENT_ENDS; i++)
        if (__atomic_load_n(&recent_ends[i], __ATOMIC_ACQUIRE) == tid)
            return true;
    return false;
}

static void finish_locked(struct shard *s, struct st_thread *rec)
{
    if (!rec->finished)
        note_gone(__atomic_load_n(&rec->tid, __ATOMIC_RELAXED));
    if (rec->in_table) {
        unlink_locked(s, rec);
        __atomic_store_n(&rec->in_table, false, __ATOMIC_RELAXED);
    }
    rec->finished = true;
}

/* Puts rec in the table under its handle. A record already there under the
 * same handle belongs to a thread whose handle glibc has since reused: it
 * was joined or detached behind strays' back, or its joiner has not yet
 * taken it out. */
static void insert_locked(struct shard *s, struct st_thread *rec)
{
    if (rec->in_table || rec->finished)
        return;
    struct st_thread *old = lookup_locked(s, rec->handle);
    if (old) {
        finish_locked(s, old);
        release_locked(old);
    }
    if (!link_locked(s, rec)) {
        st_mem_not_tracked(ST_MEM_THREADS);
        return;
    }
    /* Release: the new thread, seeing it set, skips the lock. */
    __atomic_store_n(&rec->in_table, true, __ATOMIC_RELEASE);
}

/* First thing a tracked thread does (its trampoline, per_thread.c): note
 * its tid and make sure the record is in the table. The creator inserts
 * too, after pthread_create returns; whoever comes first does it, so a join
 * from any thread finds it. The creator is usually first: then the lock is
 * not needed, since only this thread writes tid and state, and its record
 * cannot go before it ends. */
void st_thread_record_started(struct st_thread *rec)
{
    st_scope_inherit(rec->scope);
    __atomic_store_n(&rec->tid, st_gettid(), __ATOMIC_RELAXED);
    __atomic_store_n(&rec->state, ST_THREAD_RUNNING, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&rec->in_table, __ATOMIC_ACQUIRE)) {
        pthread_t self = pthread_self();
        struct shard *s = shard_of(self);
        st_lock(&s->lock);
        if (!rec->in_table && !rec->finished) {
            rec->handle = self;
            insert_locked(s, rec);
        }
        st_unlock(&s->lock);
    }
}

void st_thread_created(struct st_thread *rec, int rc, pthread_t handle)
{
    if (rc != 0) {
        st_mem_free(ST_MEM_THREADS, rec); /* no thread was started, so nobody else has seen rec */
        return;
    }
    struct shard *s = shard_of(handle);
    st_lock(&s->lock);
    rec->creator_done = true;
    /* A thread the scheduler has not run yet has no tid from itself; its
     * descriptor has one already, so a report taken before it runs (a
     * crash a moment later, on a loaded machine) still lists it. */
    if (!rec->finished && __atomic_load_n(&rec->tid, __ATOMIC_RELAXED) == 0) {
        int tid = st_tid_of(handle);
        if (tid > 0)
            __atomic_store_n(&rec->tid, tid, __ATOMIC_RELAXED);
    }
    if (!rec->finished && !rec->in_table) {
        rec->handle = handle;
        insert_locked(s, rec);
    }
    release_locked(rec);
    st_unlock(&s->lock);
}

/* The thread's end, from its exit path (per_thread.c), on the thread
 * itself: the record stays until the thread is joined, or goes now if it
 * is detached. */
void st_thread_record_ended(struct st_thread *rec)
{
    /* The name is kept for the report of a thread that ended and was never
     * joined. Reading it is a system call (about 1 us in some VMs, a tenth
     * of a whole pthread_create and join), skipped when no such report can
     * come: a detached thread's record goes now, and a join already waiting
     * returns as soon as this thread is gone. Read without the lock: a
     * detach or a join that comes later only makes the name unneeded. */
    char name[16] = "";
    if (!__atomic_load_n(&rec->detached, __ATOMIC_RELAXED) &&
        __atomic_load_n(&rec->waiters, __ATOMIC_RELAXED) == 0)
        prctl(PR_GET_NAME, name, 0, 0, 0);
    struct shard *s = shard_of(pthread_self());
    st_lock(&s->lock);
    __atomic_store_n(&rec->state, ST_THREAD_EXITED, __ATOMIC_RELAXED);
    rec->ended = true;
    memcpy(rec->u.name, name, sizeof name);
    if (rec->detached)
        finish_locked(s, rec);
    release_locked(rec);
    st_unlock(&s->lock);
}

void st_thread_record_exiting(struct st_thread *rec)
{
    struct shard *s = shard_of(pthread_self());
    st_lock(&s->lock);
    if (rec->state == ST_THREAD_RUNNING)
        __atomic_store_n(&rec->state, ST_THREAD_EXITED, __ATOMIC_RELAXED);
    st_unlock(&s->lock);
}

static struct st_thread *join_begin(pthread_t handle, bool waits)
{
    struct shard *s = shard_of(handle);
    st_lock(&s->lock);
    struct st_thread *rec = lookup_locked(s, handle);
    if (rec) {
        rec->joiners++;
        if (waits)
            __atomic_store_n(&rec->waiters, rec->waiters + 1, __ATOMIC_RELAXED);
    }
    st_unlock(&s->lock);
    return rec;
}

static void join_end(struct st_thread *rec, int rc, bool waits)
{
    if (!rec)
        return;
    /* A record's handle never changes once it is in the table. */
    struct shard *s = shard_of(rec->handle);
    st_lock(&s->lock);
    rec->joiners--;
    if (waits)
        __atomic_store_n(&rec->waiters, rec->waiters - 1, __ATOMIC_RELAXED);
    if (rc == 0)
        finish_locked(s, rec);
    release_locked(rec);
    st_unlock(&s->lock);
}

struct st_thread *st_thread_join_begin(pthread_t handle) { return join_begin(handle, false); }

void st_thread_join_end(struct st_thread *rec, int rc) { join_end(rec, rc, false); }

struct st_thread *st_thread_join_wait_begin(pthread_t handle) { return join_begin(handle, true); }

void st_thread_join_wait_end(struct st_thread *rec, int rc) { join_end(rec, rc, true); }

struct st_thread *st_thread_detach_begin(pthread_t handle) { return join_begin(handle, false); }

void st_thread_detach_end(struct st_thread *rec, int rc)
{
    if (!rec)
        return;
    struct shard *s = shard_of(rec->handle);
    st_lock(&s->lock);
    rec->joiners--;
    if (rc == 0) {
        __atomic_store_n(&rec->detached, true, __ATOMIC_RELAXED);
        /* Detaching a thread that has ended frees it at once: so do we. One
         * that called pthread_exit but still runs its cleanup handlers is
         * not gone yet; its exit handler finishes the record. */
        if (rec->ended)
            finish_locked(s, rec);
    }
    release_locked(rec);
    st_unlock(&s->lock);
}

static void fill_view(const struct st_thread *rec, struct st_thread_view *v)
{
    v->handle = rec->handle;
    v->created_by = rec->created_by;
    v->created_ns = rec->created_ns;
    v->tid = __atomic_load_n(&rec->tid, __ATOMIC_RELAXED);
    v->parent_tid = rec->parent_tid;
    v->state = (enum st_thread_state)__atomic_load_n(&rec->state, __ATOMIC_RELAXED);
    v->detached = rec->detached;
    v->ignored = __atomic_load_n(&rec->ignored, __ATOMIC_RELAXED);
    v->scope = rec->scope;
    if (rec->ended)
        memcpy(v->name, rec->u.name, sizeof v->name);
    else
        v->name[0] = '\0';
}

static void unlock_first(unsigned n)
{
    while (n > 0)
        st_unlock(&shards[--n].lock);
}

/* Takes every shard's lock, in order (the only place that holds more than
 * one, so the order cannot deadlock). */
static void lock_all(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        st_lock(&shards[i].lock);
}

/* The crash path: a shard lock taken by a thread that may never run again
 * (blocked on malloc's lock, which the crashing thread holds) is waited for
 * a little only. Returns which shards it holds. */
_Static_assert(SHARDS <= 32, "one bit per shard");
static uint32_t lock_all_within(unsigned long long ns)
{
    uint32_t held = 0;
    for (unsigned i = 0; i < SHARDS; i++)
        if (st_lock_within(&shards[i].lock, ns))
            held |= 1u << i;
    return held;
}

ST_EVERY_REPORT
int st_thread_foreach(void (*fn)(const struct st_thread_view *, void *), void *ctx,
                      unsigned *unread)
{
    if (!__atomic_load_n(&any_record, __ATOMIC_SEQ_CST))
        return 0; /* none was ever made: no shard's page to touch */
    uint32_t held = ~0u;
    if (unread)
        held = lock_all_within(5 * 1000 * 1000);
    else
        lock_all();
    int n = 0;
    for (unsigned i = 0; i < SHARDS; i++) {
        const struct shard *s = &shards[i];
        if (!(held & (1u << i))) {
            *unread += __atomic_load_n(&s->count, __ATOMIC_RELAXED);
            continue;
        }
        for (uint32_t b = 0; s->buckets && b <= s->mask; b++) {
            for (const struct st_thread *rec = s->buckets[b]; rec; rec = rec->next) {
                struct st_thread_view v;
                fill_view(rec, &v);
                fn(&v, ctx);
                n++;
            }
        }
    }
    for (unsigned i = SHARDS; i-- > 0;)
        if (held & (1u << i))
            st_unlock(&shards[i].lock);
    return n;
}

void st_thread_ignore_all(void)
{
    lock_all();
    for (unsigned i = 0; i < SHARDS; i++)
        for (uint32_t b = 0; shards[i].buckets && b <= shards[i].mask; b++)
            for (struct st_thread *rec = shards[i].buckets[b]; rec; rec = rec->next)
                __atomic_store_n(&rec->ignored, true, __ATOMIC_RELAXED);
    unlock_first(SHARDS);
}

int st_thread_ignore(pthread_t handle)
{
    struct shard *s = shard_of(handle);
    st_lock(&s->lock);
    struct st_thread *rec = lookup_locked(s, handle);
    if (rec)
        __atomic_store_n(&rec->ignored, true, __ATOMIC_RELAXED);
    st_unlock(&s->lock);
    return rec ? 0 : -ESRCH;
}

ST_EVERY_PROCESS
unsigned st_thread_count(void)
{
    unsigned n = 0;
    if (!__atomic_load_n(&any_record, __ATOMIC_SEQ_CST))
        return 0;
    for (unsigned i = 0; i < SHARDS; i++)
        n += __atomic_load_n(&shards[i].count, __ATOMIC_RELAXED);
    return n;
}

/* strays' own threads' tids (see st_thread_own_add, at the end). */
static int own_tids[ST_OWN_THREADS];

ST_EVERY_FORK
void st_thread_before_fork(void) { lock_all(); }

ST_EVERY_FORK
void st_thread_after_fork_parent(void) { unlock_first(SHARDS); }

ST_EVERY_FORK
void st_thread_after_fork_child(struct st_thread *self)
{
    /* The parent's threads do not exist here. The forking thread may be a
     * tracked one (self): it is the child's only thread now, not a leak,
     * and its exit path must still find its record, so that one is kept,
     * marked so the exit path frees it. A process that never had a record
     * has nothing here to reset, and writes none of these pages (a child
     * copies each page it writes). */
    unsigned shards_to_reset = __atomic_load_n(&any_record, __ATOMIC_RELAXED) ? SHARDS : 0;
    for (unsigned i = 0; i < shards_to_reset; i++) {
        struct shard *s = &shards[i];
        st_lock_reset(&s->lock);
        for (uint32_t b = 0; s->buckets && b <= s->mask; b++) {
            struct st_thread *rec = s->buckets[b], *next;
            if (!rec)
                continue;
            for (; rec; rec = next) {
                next = rec->next;
                rec->in_table = false;
                if (rec != self)
                    st_mem_free(ST_MEM_THREADS, rec);
            }
            s->buckets[b] = NULL;
        }
        ST_STORE_IF_CHANGED(s->count, 0);
    }
    for (unsigned i = 0; i < ST_OWN_THREADS; i++) /* they did not come along */
        ST_STORE_IF_CHANGED(own_tids[i], 0);
    if (self) {
        self->finished = true;
        self->creator_done = true;
        self->joiners = 0;
        self->waiters = 0;
        self->detached = true;
    }
}

/* ---- strays' own threads ----
 * A few slots written with a compare-and-swap; a report reads them without
 * a lock. 0 is a free slot. */

int st_thread_own_add(int tid)
{
    for (int i = 0; i < ST_OWN_THREADS; i++) {
        int free_slot = 0;
        if (__atomic_compare_exchange_n(&own_tids[i], &free_slot, tid, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return 0;
    }
    return -ENOSPC;
}

void st_thread_own_remove(int tid)
{
    for (int i = 0; i < ST_OWN_THREADS; i++) {
        int expected = tid;
        __atomic_compare_exchange_n(&own_tids[i], &expected, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
}

bool st_thread_is_own(int tid)
{
    for (int i = 0; tid != 0 && i < ST_OWN_THREADS; i++)
        if (__atomic_load_n(&own_tids[i], __ATOMIC_ACQUIRE) == tid)
            return true;
    return false;
}
