/* Unit tests for the thread registry (src/registry_thread.c), driven the way
 * the pthread hooks drive it (prepare, real pthread_create through the
 * trampoline, created; join_begin, real join, join_end) with real threads,
 * and with direct calls on made-up handles where glibc's reuse of pthread_t
 * must be forced: records appear, are found, and vanish when joined or when
 * a detached thread ends; exited-unjoined ones stay; a reused handle evicts
 * the old record and never brings it back. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "base/options.h"
#include "track/registry_thread.h"
#include "track/stack.h"
#include "track/per_thread.h"
#include "base/st.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void setup(void)
{
    st_options_defaults(&st_opt);
}

TestSuite(registry_thread, .init = setup, .timeout = 20);

/* ------------------------------------------------------------------ helpers */

/* A gate worker threads wait at until the test opens it. */
struct worker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started, open, exiting_first;
    int tid;
    char name[16];
};

static void worker_init(struct worker *w, const char *name)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    snprintf(w->name, sizeof w->name, "%s", name);
}

/* Names itself, says it started, waits for the gate, returns. */
static void *gated(void *arg)
{
    struct worker *w = arg;
    if (w->name[0]) pthread_setname_np(pthread_self(), w->name);
    pthread_mutex_lock(&w->lock);
    w->tid = st_gettid();
    w->started = true;
    pthread_cond_broadcast(&w->cond);
    if (w->exiting_first) st_per_thread_exiting(); /* what the pthread_exit hook does first */
    while (!w->open)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Names itself and returns at once. */
static void *quick(void *arg)
{
    struct worker *w = arg;
    if (w && w->name[0]) pthread_setname_np(pthread_self(), w->name);
    if (w) __atomic_store_n(&w->tid, st_gettid(), __ATOMIC_RELEASE);
    return NULL;
}

static void wait_started(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->started)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static void open_gate(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->open = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* What the pthread_create hook does, minus the hooking. Not inlined, so two
 * call sites give two creation stacks. */
__attribute__((noinline)) static pthread_t spawn(void *(*fn)(void *), void *arg, bool detached)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr,
                                detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
    struct st_thread *rec = st_thread_prepare(fn, arg, &attr);
    cr_assert_not_null(rec);
    pthread_t h;
    int rc = pthread_create(&h, &attr, st_thread_trampoline, rec);
    cr_assert_eq(rc, 0);
    st_thread_created(rec, rc, h);
    pthread_attr_destroy(&attr);
    return h;
}

/* What the pthread_join hook does. */
static int join(pthread_t h)
{
    struct st_thread *rec = st_thread_join_begin(h);
    int rc = pthread_join(h, NULL);
    st_thread_join_end(rec, rc);
    return rc;
}

/* What the pthread_detach hook does. */
static void detach(pthread_t h)
{
    struct st_thread *rec = st_thread_detach_begin(h);
    int rc = pthread_detach(h);
    cr_assert_eq(rc, 0);
    st_thread_detach_end(rec, rc);
}

#define MAX_VIEWS 64
struct views {
    int n;
    struct st_thread_view v[MAX_VIEWS];
};

static void add_view(const struct st_thread_view *v, void *ctx)
{
    struct views *vs = ctx;
    if (vs->n < MAX_VIEWS) vs->v[vs->n] = *v;
    vs->n++;
}

/* Every record, through st_thread_foreach; checks its count agrees. */
static struct views snapshot(void)
{
    struct views vs = {0};
    int n = st_thread_foreach(add_view, &vs, NULL);
    cr_assert_eq(n, vs.n, "foreach returned %d but called back %d times", n, vs.n);
    cr_assert_eq((unsigned)n, st_thread_count(), "st_thread_count disagrees with foreach");
    return vs;
}

static int records(void)
{
    return snapshot().n;
}

static bool first_state_is(enum st_thread_state s)
{
    struct views vs = snapshot();
    return vs.n == 1 && vs.v[0].state == s;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL); /* sleep-ok: WAIT_FOR's poll interval */
}

/* Polls cond for up to 30 s (a loaded machine may keep a thread waiting). */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int waited_ = 0;                                                                           \
        while (!(cond) && waited_ < 30000) {                                                       \
            sleep_ms(1); /* sleep-ok: the poll interval of a bounded wait */                       \
            waited_++;                                                                             \
        }                                                                                          \
        cr_assert(cond, "timed out waiting for " #cond);                                           \
    } while (0)

/* True once the kernel task is gone: its exit destructors have all run. */
static bool task_gone(int tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", tid);
    return access(path, F_OK) != 0;
}

/* A thread the scheduler has not run yet (here: one whose start routine is
 * not the trampoline, so it never says its tid) is listed with its tid all
 * the same: the creator reads it from the new thread's descriptor. */
Test(registry_thread, a_created_thread_has_its_tid_before_it_runs)
{
    struct worker w;
    worker_init(&w, "");
    struct st_thread *rec = st_thread_prepare(gated, &w, NULL);
    cr_assert_not_null(rec);
    pthread_t h;
    cr_assert_eq(pthread_create(&h, NULL, gated, &w), 0);
    st_thread_created(rec, 0, h);
    wait_started(&w);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].tid, w.tid, "tid %d, the thread's own %d", vs.v[0].tid, w.tid);
    open_gate(&w);
    cr_assert_eq(join(h), 0);
}

/* --------------------------------------------------- insert, lookup, remove */

Test(registry_thread, created_thread_is_recorded_running_with_its_site)
{
    struct worker w;
    worker_init(&w, "");
    uint64_t before = st_uptime_ns();
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    const struct st_thread_view *v = &vs.v[0];
    cr_assert(pthread_equal(v->handle, h));
    cr_assert_eq(v->tid, w.tid);
    cr_assert_neq(v->tid, st_gettid());
    cr_assert_eq(v->parent_tid, st_gettid());
    cr_assert_eq(v->state, ST_THREAD_RUNNING);
    cr_assert_eq(v->detached, false);
    cr_assert_str_eq(v->name, "", "live threads' names are read from /proc, not kept");
    cr_assert_not_null(v->created_by);
    cr_assert_gt(v->created_by->depth, 0);
    cr_assert_geq(v->created_ns, before);
    cr_assert_leq(v->created_ns, st_uptime_ns());
    open_gate(&w);
    cr_assert_eq(join(h), 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, join_begin_finds_the_record_by_handle)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    struct st_thread *rec = st_thread_join_begin(h);
    cr_assert_not_null(rec);
    cr_assert(pthread_equal(rec->handle, h));
    cr_assert_eq(rec->tid, w.tid);
    open_gate(&w);
    cr_assert_eq(pthread_join(h, NULL), 0);
    st_thread_join_end(rec, 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, unknown_handle_is_not_found)
{
    cr_assert_null(st_thread_join_begin(pthread_self()), "the main thread has no record");
    st_thread_join_end(NULL, 0); /* what the hook does then: nothing */
    cr_assert_null(st_thread_detach_begin(pthread_self()));
    st_thread_detach_end(NULL, 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, joined_thread_vanishes)
{
    pthread_t h = spawn(quick, NULL, false);
    cr_assert_eq(join(h), 0);
    cr_assert_eq(records(), 0);
    cr_assert_null(st_thread_join_begin(h), "no record left under the old handle");
}

Test(registry_thread, failed_join_keeps_the_record)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    struct st_thread *rec = st_thread_join_begin(h);
    int rc = pthread_tryjoin_np(h, NULL);
    cr_assert_neq(rc, 0, "still running: tryjoin fails");
    st_thread_join_end(rec, rc);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].tid, w.tid);
    open_gate(&w);
    cr_assert_eq(join(h), 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, exited_unjoined_thread_is_kept_with_its_name)
{
    struct worker w;
    worker_init(&w, "short-lived");
    pthread_t h = spawn(quick, &w, false);
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].state, ST_THREAD_EXITED);
    cr_assert_str_eq(vs.v[0].name, "short-lived", "name taken when it exited");
    cr_assert_eq(vs.v[0].tid, __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE));
    cr_assert(pthread_equal(vs.v[0].handle, h));
    WAIT_FOR(task_gone(w.tid)); /* its exit is over: nothing more will touch the record */
    cr_assert_eq(records(), 1, "an exited thread stays until joined");
    cr_assert_eq(join(h), 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, pthread_exit_marks_the_thread_exited)
{
    struct worker w;
    worker_init(&w, "");
    w.exiting_first = true;
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    open_gate(&w);
    cr_assert_eq(join(h), 0);
    cr_assert_eq(records(), 0);
}

/* ----------------------------------------------------------------- detached */

Test(registry_thread, detached_thread_vanishes_when_it_finishes)
{
    struct worker w;
    worker_init(&w, "");
    spawn(gated, &w, true);
    wait_started(&w);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].detached, true);
    cr_assert_eq(vs.v[0].state, ST_THREAD_RUNNING);
    open_gate(&w);
    WAIT_FOR(task_gone(w.tid));
    cr_assert_eq(records(), 0);
}

Test(registry_thread, thread_detached_while_running_vanishes_when_it_finishes)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    detach(h);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1, "still running: still recorded");
    cr_assert_eq(vs.v[0].detached, true);
    open_gate(&w);
    WAIT_FOR(task_gone(w.tid));
    cr_assert_eq(records(), 0);
}

Test(registry_thread, detaching_an_exited_thread_removes_it)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(quick, &w, false);
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    WAIT_FOR(task_gone(__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)));
    detach(h);
    cr_assert_eq(records(), 0);
}

/* Regression: st_thread_created() used to finish a detached, already-exited
 * record itself and then release it again, freeing it twice when the thread
 * ended before pthread_create returned ("free(): double free detected in
 * tcache 2"). */
Test(registry_thread, detached_thread_that_ends_before_create_returns)
{
    struct worker w;
    worker_init(&w, "");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    struct st_thread *rec = st_thread_prepare(quick, &w, &attr);
    cr_assert_not_null(rec);
    pthread_t h;
    cr_assert_eq(pthread_create(&h, &attr, st_thread_trampoline, rec), 0);
    /* The new thread runs to its end before the creator's hook goes on. */
    WAIT_FOR(__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE) != 0);
    WAIT_FOR(task_gone(__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)));
    st_thread_created(rec, 0, h);
    cr_assert_eq(records(), 0);
    pthread_attr_destroy(&attr);
}

/* Regression: st_thread_detached() used to free the record of a thread
 * whose state was EXITED, which st_per_thread_exiting() (the pthread_exit hook)
 * sets while the thread still runs its cleanup handlers and exit
 * destructors; the exit destructor then wrote into the freed record. The
 * probe takes a freed block back from malloc and would see those writes. */
Test(registry_thread, detach_between_pthread_exit_and_thread_end)
{
    struct worker w;
    worker_init(&w, "");
    w.exiting_first = true;
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    detach(h);
    /* malloc, not calloc: glibc's calloc skips the per-thread cache. */
    unsigned char *probe = malloc(sizeof(struct st_thread));
    cr_assert_not_null(probe);
    memset(probe, 0, sizeof(struct st_thread));
    /* Tell the compiler other code may write there, or it folds the memcmp. */
    __asm__ volatile("" : : "r"(probe) : "memory");
    open_gate(&w);
    WAIT_FOR(task_gone(w.tid));
    __asm__ volatile("" : : "r"(probe) : "memory");
    static const unsigned char zero[sizeof(struct st_thread)];
    cr_assert_eq(memcmp(probe, zero, sizeof zero), 0,
                 "the exit destructor wrote into a record already freed");
    cr_assert_eq(records(), 0);
    free(probe);
}

/* -------------------------------------------------------------- id reuse */

/* Two call sites, so two creation stacks (the marker keeps the compiler
 * from folding the two identical functions into one). */
static volatile int site_marker;

__attribute__((noinline)) static pthread_t spawn_at_site_a(void *(*fn)(void *), void *arg)
{
    pthread_t h = spawn(fn, arg, false);
    site_marker = 1;
    return h;
}

__attribute__((noinline)) static pthread_t spawn_at_site_b(void *(*fn)(void *), void *arg)
{
    pthread_t h = spawn(fn, arg, false);
    site_marker = 2;
    return h;
}

Test(registry_thread, reused_handle_evicts_the_old_record_and_never_revives_it)
{
    /* A finishes and is joined behind strays' back (its record stays, as
     * when the join went through an unhooked path). glibc hands A's
     * pthread_t to the next thread at once. */
    struct worker a;
    worker_init(&a, "old-one");
    pthread_t ha = spawn_at_site_a(quick, &a);
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    const struct st_stack *site_a = snapshot().v[0].created_by;
    cr_assert_eq(pthread_join(ha, NULL), 0);
    cr_assert_eq(records(), 1, "unhooked join: the stale record is still there");

    struct worker b;
    worker_init(&b, "");
    pthread_t hb = spawn_at_site_b(gated, &b);
    wait_started(&b);
    cr_assert(pthread_equal(ha, hb), "glibc reuses a joined thread's pthread_t at once");
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1, "the new thread evicted the old record");
    cr_assert_eq(vs.v[0].tid, b.tid);
    cr_assert_eq(vs.v[0].state, ST_THREAD_RUNNING, "not the old record's EXITED");
    cr_assert_str_eq(vs.v[0].name, "");
    cr_assert_neq(vs.v[0].created_by, site_a, "the new thread's own creation stack");
    struct st_thread *rec = st_thread_join_begin(hb);
    cr_assert_eq(rec->tid, b.tid, "lookup by the reused handle finds the new record");
    st_thread_join_end(rec, EBUSY);

    open_gate(&b);
    cr_assert_eq(join(hb), 0);
    cr_assert_eq(records(), 0, "the evicted record does not come back");
    cr_assert_null(st_thread_join_begin(ha));
}

Test(registry_thread, handle_reused_after_a_clean_join_starts_a_fresh_record)
{
    struct worker a;
    worker_init(&a, "first");
    pthread_t ha = spawn_at_site_a(quick, &a);
    cr_assert_eq(join(ha), 0);
    struct worker b;
    worker_init(&b, "second");
    pthread_t hb = spawn_at_site_b(quick, &b);
    cr_assert(pthread_equal(ha, hb), "glibc reuses a joined thread's pthread_t at once");
    WAIT_FOR(first_state_is(ST_THREAD_EXITED));
    struct views vs = snapshot();
    cr_assert_str_eq(vs.v[0].name, "second");
    cr_assert_eq(vs.v[0].tid, __atomic_load_n(&b.tid, __ATOMIC_ACQUIRE));
    cr_assert_eq(join(hb), 0);
    cr_assert_eq(records(), 0);
}

/* Direct calls on a made-up handle: no glibc behaviour involved. */
__attribute__((noinline)) static struct st_thread *record_at_site_a(pthread_t h)
{
    struct st_thread *rec = st_thread_prepare(quick, NULL, NULL);
    cr_assert_not_null(rec);
    st_thread_created(rec, 0, h);
    site_marker = 3;
    return rec;
}

__attribute__((noinline)) static struct st_thread *record_at_site_b(pthread_t h)
{
    struct st_thread *rec = st_thread_prepare(quick, NULL, NULL);
    cr_assert_not_null(rec);
    st_thread_created(rec, 0, h);
    site_marker = 4;
    return rec;
}

/* The handle the reuse tests give to two records: a real thread's, parked
 * at its gate (st_thread_created reads a tid from the handle's descriptor,
 * so it cannot be made up). */
static struct worker parked_worker;

static pthread_t park(void)
{
    pthread_t h;
    worker_init(&parked_worker, "");
    cr_assert_eq(pthread_create(&h, NULL, gated, &parked_worker), 0);
    wait_started(&parked_worker);
    return h;
}

static void unpark(pthread_t h)
{
    open_gate(&parked_worker);
    cr_assert_eq(pthread_join(h, NULL), 0);
}

Test(registry_thread, same_handle_inserted_twice_keeps_only_the_newer)
{
    pthread_t h = park();
    struct st_thread *old = record_at_site_a(h);
    const struct st_stack *old_site = old->created_by;
    cr_assert_eq(records(), 1);
    struct st_thread *young = record_at_site_b(h);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].created_by, young->created_by);
    cr_assert_neq(vs.v[0].created_by, old_site);
    struct st_thread *found = st_thread_join_begin(h);
    cr_assert_eq(found, young);
    st_thread_join_end(found, 0);
    cr_assert_eq(records(), 0);
    cr_assert_null(st_thread_join_begin(h), "the evicted record does not come back");
    unpark(h);
}

Test(registry_thread, joiner_of_an_evicted_record_leaves_the_new_one_alone)
{
    pthread_t h = park();
    /* A join is under way on the old record when the handle is reused. */
    struct st_thread *old = record_at_site_a(h);
    struct st_thread *joining = st_thread_join_begin(h);
    cr_assert_eq(joining, old);
    struct st_thread *young = record_at_site_b(h);
    cr_assert_eq(records(), 1);
    st_thread_join_end(joining, 0);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1, "finishing the old join must not remove the new record");
    cr_assert_eq(vs.v[0].created_by, young->created_by);
    cr_assert_eq(st_thread_join_begin(h), young);
    st_thread_join_end(young, 0);
    cr_assert_eq(records(), 0);
    unpark(h);
}

Test(registry_thread, detach_of_an_evicted_record_leaves_the_new_one_alone)
{
    pthread_t h = park();
    /* Detaching a thread that has ended frees its handle inside the real
     * call, and another thread's pthread_create may take it at once. */
    struct st_thread *old = record_at_site_a(h);
    struct st_thread *detaching = st_thread_detach_begin(h);
    cr_assert_eq(detaching, old);
    struct st_thread *young = record_at_site_b(h);
    st_thread_detach_end(detaching, 0);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].created_by, young->created_by);
    cr_assert_eq(vs.v[0].detached, false, "the new thread was not detached");
    st_thread_join_end(st_thread_join_begin(h), 0);
    cr_assert_eq(records(), 0);
    unpark(h);
}

Test(registry_thread, failed_create_leaves_no_record)
{
    struct st_thread *rec = st_thread_prepare(quick, NULL, NULL);
    cr_assert_not_null(rec);
    st_thread_created(rec, EAGAIN, 0);
    cr_assert_eq(records(), 0);
}

/* ------------------------------------------------------------------ counts */

#define POOL 16

Test(registry_thread, foreach_counts_every_live_thread_with_shared_sites)
{
    struct worker w[POOL];
    pthread_t h[POOL];
    volatile int pool = POOL; /* a loop the compiler cannot unroll into many call sites */
    for (int i = 0; i < pool; i++) {
        worker_init(&w[i], "");
        h[i] = spawn_at_site_a(gated, &w[i]);
    }
    struct worker other;
    worker_init(&other, "");
    pthread_t ho = spawn_at_site_b(gated, &other);
    for (int i = 0; i < POOL; i++)
        wait_started(&w[i]);
    wait_started(&other);

    struct views vs = snapshot();
    cr_assert_eq(vs.n, POOL + 1);
    const struct st_stack *site_a = NULL;
    int from_a = 0;
    for (int i = 0; i < vs.n; i++) {
        const struct st_thread_view *v = &vs.v[i];
        cr_assert_eq(v->state, ST_THREAD_RUNNING);
        cr_assert_eq(v->parent_tid, st_gettid());
        for (int j = 0; j < i; j++)
            cr_assert_neq(v->tid, vs.v[j].tid, "tids are distinct");
        if (v->tid == other.tid) continue;
        if (!site_a) site_a = v->created_by;
        cr_assert_eq(v->created_by, site_a, "one call site, one interned stack");
        from_a++;
    }
    cr_assert_eq(from_a, POOL);
    for (int i = 0; i < vs.n; i++)
        if (vs.v[i].tid == other.tid)
            cr_assert_neq(vs.v[i].created_by, site_a, "another call site, another stack");

    for (int i = 0; i < POOL; i++)
        open_gate(&w[i]);
    for (int i = 0; i < POOL / 2; i++)
        cr_assert_eq(join(h[i]), 0);
    cr_assert_eq(records(), POOL / 2 + 1);
    for (int i = POOL / 2; i < POOL; i++)
        cr_assert_eq(join(h[i]), 0);
    cr_assert_eq(records(), 1);
    open_gate(&other);
    cr_assert_eq(join(ho), 0);
    cr_assert_eq(records(), 0);
}

Test(registry_thread, churn_of_reused_handles_then_one_leak_leaves_one_record)
{
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(join(spawn(quick, NULL, false)), 0);
    cr_assert_eq(records(), 0);
    struct worker w;
    worker_init(&w, "the-leak");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    struct views vs = snapshot();
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].tid, w.tid);
    open_gate(&w);
    cr_assert_eq(join(h), 0);
}

/* The crash path's foreach: a locked table is waited for a little, then
 * left out and its records counted as unread; a free one is read whole. */
Test(registry_thread, crash_foreach_counts_what_a_held_lock_keeps_it_from_reading)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    struct views vs = {0};
    unsigned unread = 0;
    cr_assert_eq(st_thread_foreach(add_view, &vs, &unread), 1, "free locks: all is read");
    cr_assert_eq(unread, 0);
    st_thread_before_fork(); /* holds every lock of the registry */
    cr_assert_eq(st_thread_foreach(add_view, &vs, &unread), 0);
    cr_assert_eq(unread, 1, "the record left out is counted");
    st_thread_after_fork_parent();
    open_gate(&w);
    cr_assert_eq(join(h), 0);
}

Test(registry_thread, fork_child_has_no_records)
{
    struct worker w;
    worker_init(&w, "");
    pthread_t h = spawn(gated, &w, false);
    wait_started(&w);
    st_thread_before_fork();
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        st_thread_after_fork_child(NULL);
        int n = st_thread_foreach(add_view, &(struct views){0}, NULL);
        _exit(n == 0 && st_thread_count() == 0 ? 0 : 1);
    }
    st_thread_after_fork_parent();
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child still saw the parent's threads");
    cr_assert_eq(records(), 1, "the parent keeps its own");
    open_gate(&w);
    cr_assert_eq(join(h), 0);
}
