/* A thread's own state and its one exit path; see per_thread.h.
 * The exit path runs from one of two places: the cleanup handler of the
 * trampoline strays starts a thread with (a setjmp and two calls), or, for
 * a thread strays did not start, the destructor of one thread-specific key,
 * set only once the thread holds a part (a key set makes glibc scan every
 * key slot at the thread's exit, about 700 instructions). */
#include "track/per_thread.h"

#include "track/registry_thread.h"
#include "track/stack.h"
#include "track/waits.h"

#include <errno.h>
#include <pthread.h>

ST_TLS struct st_per_thread st_per_thread_self;

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

/* ------------------------------------------------------------ the exit path */

/* Tears down what the thread holds, what other threads read first: the
 * registry record (joins and reports read it; it now says "ended"), then
 * the wait record (reports read it; back to its pool, for the next
 * thread), then the stack cache, which only this thread reads. Each part
 * is unhooked from
 * the state before it is freed, and the phase is advanced before any of
 * it: a hook that runs meanwhile (a signal handler's, or another key's
 * destructor's) sees no part and makes none it would leak. The key may
 * still be set afterwards for a wait made later (phase ENDED), never once
 * the key's own destructor has run (phase GONE). */
static void end(struct st_per_thread *ts, enum st_per_thread_phase next)
{
    int saved_errno = errno;
    st_guard_enter();
    ts->phase = (uint8_t)next;
    ts->exit_by = ST_EXIT_BY_NONE;
    struct st_thread *record = ts->record;
    struct st_wait_record *wait = ts->wait;
    struct st_stack_cache *cache = ts->cache;
    ts->record = NULL;
    ts->wait = NULL;
    ts->cache = NULL;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (record)
        st_thread_record_ended(record);
    if (wait)
        st_wait_record_release(wait);
    if (cache)
        st_stack_cache_release(cache);
    st_guard_leave();
    errno = saved_errno;
}

static void end_by_handler(void *state) { end(state, ST_PHASE_ENDED); }

static void end_by_key(void *state) { end(state, ST_PHASE_GONE); }

static void create_exit_key(void) { exit_key_ok = pthread_key_create(&exit_key, end_by_key) == 0; }

bool st_per_thread_keep(struct st_per_thread *ts)
{
    if (ST_LIKELY(ts->exit_by != ST_EXIT_BY_NONE))
        return true;
    if (ts->phase == ST_PHASE_GONE)
        return false;
    pthread_once(&exit_key_once, create_exit_key);
    if (!exit_key_ok || pthread_setspecific(exit_key, ts) != 0)
        return false;
    ts->exit_by = ST_EXIT_BY_KEY;
    return true;
}

/* ------------------------------------------------------------ the trampoline */

static void begin(struct st_per_thread *ts, struct st_thread *rec)
{
    ts->record = rec;
    ts->exit_by = ST_EXIT_BY_HANDLER;
    st_thread_record_started(rec);
}

/* glibc runs the cleanup handler for every way out of the start routine:
 * return, pthread_exit, thrd_exit, cancellation. */
void *st_thread_trampoline(void *record)
{
    struct st_thread *rec = record;
    void *(*fn)(void *) = rec->u.start.fn;
    void *arg = rec->u.start.arg;
    void *ret;
    begin(st_per_thread(), rec);
    pthread_cleanup_push(end_by_handler, st_per_thread());
    ret = fn(arg);
    pthread_cleanup_pop(1);
    return ret;
}

int st_thread_trampoline_c11(void *record)
{
    struct st_thread *rec = record;
    int (*fn)(void *) = (int (*)(void *))(void (*)(void))rec->u.start.fn;
    void *arg = rec->u.start.arg;
    int ret;
    begin(st_per_thread(), rec);
    pthread_cleanup_push(end_by_handler, st_per_thread());
    ret = fn(arg);
    pthread_cleanup_pop(1);
    return ret;
}

void st_per_thread_exiting(void)
{
    struct st_thread *rec = st_per_thread()->record;
    if (rec)
        st_thread_record_exiting(rec);
}

/* ------------------------------------------------------------------- fork */

ST_EVERY_FORK
void st_per_thread_after_fork_child(void)
{
    struct st_per_thread *ts = st_per_thread();
    st_thread_after_fork_child(ts->record);
    st_wait_after_fork_child(ts->wait);
    st_stack_cache_after_fork_child(ts->cache);
}
