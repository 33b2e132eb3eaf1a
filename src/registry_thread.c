/* The thread registry; see registry_thread.h. Thread exit is seen by a
 * pthread_key destructor, the one place glibc runs for every way out of a
 * thread (return, pthread_exit, cancellation). */
#include "registry_thread.h"

#include "lock.h"
#include "st.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

static struct st_thread *table;
static unsigned record_count;
static st_lock_t lock = ST_LOCK_INIT;
static pthread_key_t exit_key;
static bool exit_key_ready;

/* The record of the calling thread, when strays saw it created. */
static ST_TLS struct st_thread *self_record;

static void on_thread_exit(void *record);

int st_thread_registry_init(void)
{
    if (exit_key_ready)
        return 0;
    int rc = pthread_key_create(&exit_key, on_thread_exit);
    if (rc == 0)
        exit_key_ready = true;
    return -rc;
}

struct st_thread *st_thread_prepare(void *(*fn)(void *), void *arg, const pthread_attr_t *attr)
{
    struct st_thread *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    rec->created_by = st_stack_here();
    rec->created_ns = st_uptime_ns();
    rec->parent_tid = st_gettid();
    rec->state = ST_THREAD_STARTING;
    int detach_state = PTHREAD_CREATE_JOINABLE;
    if (attr && pthread_attr_getdetachstate(attr, &detach_state) == 0)
        rec->detached = detach_state == PTHREAD_CREATE_DETACHED;
    rec->u.start.fn = fn;
    rec->u.start.arg = arg;
    return rec;
}

/* A record is freed once the thread is gone for good (finished) and no
 * hook still holds it: neither the creator, before pthread_create returns,
 * nor a joiner. Lock held for all three helpers. */
static void release_locked(struct st_thread *rec)
{
    if (rec->finished && rec->creator_done && rec->joiners == 0)
        free(rec);
}

static void finish_locked(struct st_thread *rec)
{
    if (rec->in_table) {
        HASH_DELETE(hh, table, rec);
        rec->in_table = false;
        record_count--;
    }
    rec->finished = true;
    release_locked(rec);
}

/* Puts rec in the table under its handle. A record already there under the
 * same handle belongs to a thread whose handle glibc has since reused: it
 * was joined or detached behind strays' back, or its joiner has not yet
 * taken it out. */
static void insert_locked(struct st_thread *rec)
{
    if (rec->in_table || rec->finished)
        return;
    struct st_thread *old;
    HASH_FIND(hh, table, &rec->handle, sizeof rec->handle, old);
    if (old)
        finish_locked(old);
    HASH_ADD(hh, table, handle, sizeof rec->handle, rec);
    IF_HASH_NONFATAL_OOM(if (!rec->hh.tbl) return;)
    rec->in_table = true;
    record_count++;
}

/* First thing a tracked thread does: note its tid and make sure the record
 * is in the table. The creator inserts too, after pthread_create returns;
 * whoever comes first does it, so a join from any thread finds it. */
static void thread_started(struct st_thread *rec)
{
    self_record = rec;
    st_lock(&lock);
    rec->tid = st_gettid();
    rec->state = ST_THREAD_RUNNING;
    if (!rec->in_table)
        rec->handle = pthread_self();
    insert_locked(rec);
    st_unlock(&lock);
    pthread_setspecific(exit_key, rec);
}

void *st_thread_trampoline(void *record)
{
    struct st_thread *rec = record;
    void *(*fn)(void *) = rec->u.start.fn;
    void *arg = rec->u.start.arg;
    thread_started(rec);
    return fn(arg);
}

int st_thread_trampoline_c11(void *record)
{
    struct st_thread *rec = record;
    int (*fn)(void *) = (int (*)(void *))(void (*)(void))rec->u.start.fn;
    void *arg = rec->u.start.arg;
    thread_started(rec);
    return fn(arg);
}

void st_thread_created(struct st_thread *rec, int rc, pthread_t handle)
{
    if (rc != 0) {
        free(rec); /* no thread was started, so nobody else has seen rec */
        return;
    }
    st_lock(&lock);
    rec->creator_done = true;
    if (rec->state == ST_THREAD_EXITED && rec->detached) {
        finish_locked(rec); /* detached and already finished */
    } else if (!rec->finished) {
        if (!rec->in_table)
            rec->handle = handle;
        insert_locked(rec);
    }
    release_locked(rec);
    st_unlock(&lock);
}

static void on_thread_exit(void *record)
{
    struct st_thread *rec = record;
    char name[16] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    self_record = NULL;
    st_lock(&lock);
    rec->state = ST_THREAD_EXITED;
    memcpy(rec->u.name, name, sizeof name);
    if (rec->detached)
        finish_locked(rec);
    st_unlock(&lock);
}

void st_thread_exiting(void)
{
    struct st_thread *rec = self_record;
    if (!rec)
        return;
    st_lock(&lock);
    if (rec->state == ST_THREAD_RUNNING)
        rec->state = ST_THREAD_EXITED;
    st_unlock(&lock);
}

struct st_thread *st_thread_join_begin(pthread_t handle)
{
    struct st_thread *rec;
    st_lock(&lock);
    HASH_FIND(hh, table, &handle, sizeof handle, rec);
    if (rec)
        rec->joiners++;
    st_unlock(&lock);
    return rec;
}

void st_thread_join_end(struct st_thread *rec, int rc)
{
    if (!rec)
        return;
    st_lock(&lock);
    rec->joiners--;
    if (rc == 0)
        finish_locked(rec);
    else
        release_locked(rec);
    st_unlock(&lock);
}

void st_thread_detached(pthread_t handle)
{
    struct st_thread *rec;
    st_lock(&lock);
    HASH_FIND(hh, table, &handle, sizeof handle, rec);
    if (rec) {
        rec->detached = true;
        /* Detaching a finished thread frees it at once: so do we. */
        if (rec->state == ST_THREAD_EXITED)
            finish_locked(rec);
    }
    st_unlock(&lock);
}

static void fill_view(const struct st_thread *rec, struct st_thread_view *v)
{
    v->handle = rec->handle;
    v->created_by = rec->created_by;
    v->created_ns = rec->created_ns;
    v->tid = rec->tid;
    v->parent_tid = rec->parent_tid;
    v->state = (enum st_thread_state)rec->state;
    v->detached = rec->detached;
    if (rec->state == ST_THREAD_EXITED)
        memcpy(v->name, rec->u.name, sizeof v->name);
    else
        v->name[0] = '\0';
}

int st_thread_foreach(void (*fn)(const struct st_thread_view *, void *), void *ctx, bool try_only)
{
    if (try_only) {
        if (!st_trylock(&lock))
            return -1;
    } else {
        st_lock(&lock);
    }
    int n = 0;
    struct st_thread *rec, *tmp;
    HASH_ITER(hh, table, rec, tmp)
    {
        struct st_thread_view v;
        fill_view(rec, &v);
        fn(&v, ctx);
        n++;
    }
    st_unlock(&lock);
    return n;
}

unsigned st_thread_count(void) { return __atomic_load_n(&record_count, __ATOMIC_RELAXED); }

void st_thread_before_fork(void) { st_lock(&lock); }

void st_thread_after_fork_parent(void) { st_unlock(&lock); }

void st_thread_after_fork_child(void)
{
    /* The parent's threads do not exist here. The forking thread may be a
     * tracked one: it is the child's only thread now, not a leak, and its
     * exit destructor must still find its record, so that one is kept,
     * marked so the destructor frees it. */
    st_lock_reset(&lock);
    struct st_thread *rec, *tmp;
    HASH_ITER(hh, table, rec, tmp)
    {
        HASH_DELETE(hh, table, rec);
        rec->in_table = false;
        if (rec != self_record)
            free(rec);
    }
    table = NULL;
    record_count = 0;
    if (self_record) {
        self_record->finished = true;
        self_record->creator_done = true;
        self_record->joiners = 0;
        self_record->detached = true;
    }
}
