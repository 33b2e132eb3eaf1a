/* Unit tests for a thread's strays state (src/track/per_thread.c): its
 * parts are made on first use, one exit path frees them all, a hook run
 * from another thread-specific key's destructor after that neither crashes
 * nor leaves a part behind, and a fork child keeps only the forking
 * thread's parts. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "base/options.h"
#include "base/st.h"
#include "track/per_thread.h"
#include "track/registry_thread.h"
#include "track/stack.h"
#include "track/waits.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void setup(void)
{
    st_options_defaults(&st_opt);
}

TestSuite(per_thread, .init = setup, .timeout = 20);

/* ------------------------------------------------------------------ helpers */

/* What the pthread_create hook does, minus the hooking. */
static pthread_t spawn_tracked(void *(*fn)(void *), void *arg)
{
    struct st_thread *rec = st_thread_prepare(fn, arg, NULL);
    cr_assert_not_null(rec);
    pthread_t h;
    int rc = pthread_create(&h, NULL, st_thread_trampoline, rec);
    cr_assert_eq(rc, 0);
    st_thread_created(rec, rc, h);
    return h;
}

static void join_tracked(pthread_t h)
{
    struct st_thread *rec = st_thread_join_begin(h);
    int rc = pthread_join(h, NULL);
    st_thread_join_end(rec, rc);
    cr_assert_eq(rc, 0);
}

static pthread_t spawn_plain(void *(*fn)(void *), void *arg)
{
    pthread_t h;
    cr_assert_eq(pthread_create(&h, NULL, fn, arg), 0);
    return h;
}

__attribute__((noinline)) static const struct st_stack *capture_here(void)
{
    return st_stack_here();
}

/* What a hooked call does on this thread: a wait (which takes a wait
 * record) and captures repeated from one place (which make a stack cache). */
static void use_hooks(void)
{
    st_wait_begin(ST_WAIT_SLEEP, NULL, -1, 0);
    st_wait_end(false);
    for (int i = 0; i < 3; i++)
        capture_here();
}

/* A copy of the calling thread's state, as a test looks at it. */
struct seen {
    bool record, wait, cache;
    uint8_t phase, exit_by;
};

static struct seen look(void)
{
    const struct st_per_thread *ts = st_per_thread();
    return (struct seen){ts->record != NULL, ts->wait != NULL, ts->cache != NULL, ts->phase,
                         ts->exit_by};
}

/* -------------------------------------------------------- made on first use */

struct first_use {
    struct seen before, after;
};

static void *looks_before_and_after_use(void *arg)
{
    struct first_use *fu = arg;
    fu->before = look();
    use_hooks();
    fu->after = look();
    return NULL;
}

Test(per_thread, a_thread_strays_did_not_start_gets_its_parts_and_the_key_on_first_use)
{
    struct first_use fu;
    cr_assert_eq(pthread_join(spawn_plain(looks_before_and_after_use, &fu), NULL), 0);
    cr_assert(!fu.before.record && !fu.before.wait && !fu.before.cache, "no part before use");
    cr_assert_eq(fu.before.phase, ST_PHASE_LIVE);
    cr_assert_eq(fu.before.exit_by, ST_EXIT_BY_NONE, "no key set before a part needs it");
    cr_assert(!fu.after.record && fu.after.wait && fu.after.cache, "a wait record and a cache");
    cr_assert_eq(fu.after.exit_by, ST_EXIT_BY_KEY);
}

Test(per_thread, a_tracked_thread_holds_its_record_and_leaves_its_parts_to_the_handler)
{
    struct first_use fu;
    join_tracked(spawn_tracked(looks_before_and_after_use, &fu));
    cr_assert(fu.before.record && !fu.before.wait && !fu.before.cache, "only its record");
    cr_assert_eq(fu.before.exit_by, ST_EXIT_BY_HANDLER);
    cr_assert(fu.after.record && fu.after.wait && fu.after.cache);
    cr_assert_eq(fu.after.exit_by, ST_EXIT_BY_HANDLER, "no key: the handler frees them");
}

/* ---------------------------------------------------------- one exit path */

struct held {
    bool cache, wait;
};

static void *uses_hooks_and_says_what_it_holds(void *arg)
{
    struct held *h = arg;
    unsigned caches = st_stack_caches_live(), records = st_wait_records_claimed();
    use_hooks();
    h->cache = st_stack_caches_live() == caches + 1;
    h->wait = st_wait_records_claimed() == records + 1;
    return NULL;
}

/* A tracked thread's parts go in its trampoline's cleanup handler, an
 * untracked thread's in strays' key's destructor: either way, none is left
 * behind, and the tracked thread's record goes when it is joined. */
Test(per_thread, a_thread_ending_leaves_no_stack_cache_or_wait_record_behind)
{
    use_hooks(); /* this thread's own parts, made now rather than during the test */
    unsigned caches = st_stack_caches_live(), records = st_wait_records_claimed();
    unsigned threads = st_thread_count();
    struct held tracked = {0}, untracked = {0};
    join_tracked(spawn_tracked(uses_hooks_and_says_what_it_holds, &tracked));
    cr_assert(tracked.cache && tracked.wait, "the worker held both");
    cr_assert_eq(st_stack_caches_live(), caches);
    cr_assert_eq(st_wait_records_claimed(), records);
    cr_assert_eq(st_thread_count(), threads);

    cr_assert_eq(pthread_join(spawn_plain(uses_hooks_and_says_what_it_holds, &untracked), NULL),
                 0);
    cr_assert(untracked.cache && untracked.wait, "the worker held both");
    cr_assert_eq(st_stack_caches_live(), caches);
    cr_assert_eq(st_wait_records_claimed(), records);
}

/* ------------------------------------------ after the exit path: late hooks */

/* A thread-specific key created after strays' own (its destructor runs
 * after strays' in each round), whose destructor uses hooks in every round
 * glibc runs (PTHREAD_DESTRUCTOR_ITERATIONS, 4), as a library's exit
 * destructor may: it re-arms itself each time. */
static pthread_key_t late_key;
struct late_rounds {
    int rounds;
    struct seen at[8];
};

static void late_destructor(void *arg)
{
    struct late_rounds *lr = arg;
    use_hooks();
    if (lr->rounds < (int)ST_ARRAY_LEN(lr->at))
        lr->at[lr->rounds++] = look();
    pthread_setspecific(late_key, lr);
}

static void *uses_hooks_then_ends(void *arg)
{
    use_hooks();
    pthread_setspecific(late_key, arg);
    return NULL;
}

/* strays' key exists (this thread made it) before the test's; this
 * thread's own parts are made now rather than during the test. */
static void make_late_key(void)
{
    use_hooks();
    cr_assert_eq(pthread_key_create(&late_key, late_destructor), 0);
}

Test(per_thread, hooks_after_the_key_destructor_neither_crash_nor_leave_a_part_behind)
{
    make_late_key();
    unsigned records = st_wait_records_claimed(), caches = st_stack_caches_live();
    struct late_rounds lr = {0};
    cr_assert_eq(pthread_join(spawn_plain(uses_hooks_then_ends, &lr), NULL), 0);
    cr_assert_eq(lr.rounds, 4, "glibc ran the late destructor %d times", lr.rounds);
    for (int i = 0; i < lr.rounds; i++) {
        cr_assert_eq(lr.at[i].phase, ST_PHASE_GONE, "round %d", i);
        cr_assert(!lr.at[i].wait && !lr.at[i].cache, "round %d made a part again", i);
    }
    cr_assert_eq(st_wait_records_claimed(), records, "a wait record left claimed");
    cr_assert_eq(st_stack_caches_live(), caches, "a stack cache left behind");
}

/* A tracked thread's handler runs before any key destructor: a wait made
 * in one (a C++ thread_local's destructor joining) still gets a record,
 * freed by strays' key in the next round; no cache is made again. */
Test(per_thread, a_wait_after_the_handler_is_recorded_and_freed_by_the_key)
{
    make_late_key();
    unsigned records = st_wait_records_claimed(), caches = st_stack_caches_live();
    unsigned threads = st_thread_count();
    struct late_rounds lr = {0};
    join_tracked(spawn_tracked(uses_hooks_then_ends, &lr));
    cr_assert_eq(lr.rounds, 4);
    cr_assert_eq(lr.at[0].phase, ST_PHASE_ENDED);
    cr_assert(!lr.at[0].record && lr.at[0].wait && !lr.at[0].cache,
              "after the handler: a wait record, no cache, no registry record");
    cr_assert_eq(lr.at[0].exit_by, ST_EXIT_BY_KEY);
    for (int i = 1; i < lr.rounds; i++) {
        cr_assert_eq(lr.at[i].phase, ST_PHASE_GONE, "round %d", i);
        cr_assert(!lr.at[i].wait && !lr.at[i].cache, "round %d made a part again", i);
    }
    cr_assert_eq(st_wait_records_claimed(), records);
    cr_assert_eq(st_stack_caches_live(), caches);
    cr_assert_eq(st_thread_count(), threads, "the joined thread's record went");
}

/* ------------------------------------------------------------------- fork */

struct fork_parts {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ready, open;
    int child_status;
};

/* Holds a wait record and a cache, in a wait, until the gate opens. */
static void *holds_parts(void *arg)
{
    struct fork_parts *fp = arg;
    use_hooks();
    st_wait_begin(ST_WAIT_COND_WAIT, &fp->cond, -1, 0);
    pthread_mutex_lock(&fp->lock);
    fp->ready = true;
    pthread_cond_broadcast(&fp->cond);
    while (!fp->open)
        pthread_cond_wait(&fp->cond, &fp->lock);
    pthread_mutex_unlock(&fp->lock);
    st_wait_end(false);
    return NULL;
}

static int in_fork_child(const struct st_per_thread *before)
{
    st_per_thread_after_fork_child();
    const struct st_per_thread *ts = st_per_thread();
    int bad = 0;
    bad |= (ts->record != before->record || ts->wait != before->wait ||
            ts->cache != before->cache) << 0;
    bad |= (st_wait_records_claimed() != 1) << 1;
    bad |= (st_stack_caches_live() != 1) << 2;
    bad |= (st_thread_count() != 0) << 3;
    return bad;
}

/* Forks from a tracked thread while another thread holds its own parts. */
static void *forks(void *arg)
{
    struct fork_parts *fp = arg;
    use_hooks();
    struct st_per_thread before = *st_per_thread();
    st_thread_before_fork();
    pid_t pid = fork();
    if (pid == 0)
        _exit(in_fork_child(&before));
    st_thread_after_fork_parent();
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws))
        fp->child_status = -1;
    else
        fp->child_status = WEXITSTATUS(ws);
    return NULL;
}

Test(per_thread, a_fork_child_keeps_only_the_forking_threads_parts)
{
    use_hooks(); /* this thread's own parts, made now rather than during the test */
    unsigned records = st_wait_records_claimed(), caches = st_stack_caches_live();
    struct fork_parts fp = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0};
    pthread_t holder = spawn_tracked(holds_parts, &fp);
    pthread_mutex_lock(&fp.lock);
    while (!fp.ready)
        pthread_cond_wait(&fp.cond, &fp.lock);
    pthread_mutex_unlock(&fp.lock);
    join_tracked(spawn_tracked(forks, &fp));
    cr_assert_eq(fp.child_status, 0,
                 "child: bit 0 own parts changed, 1 wait records, 2 caches, 3 registry (%d)",
                 fp.child_status);
    pthread_mutex_lock(&fp.lock);
    fp.open = true;
    pthread_cond_broadcast(&fp.cond);
    pthread_mutex_unlock(&fp.lock);
    join_tracked(holder);
    cr_assert_eq(st_wait_records_claimed(), records);
    cr_assert_eq(st_stack_caches_live(), caches, "%u caches, %u before", st_stack_caches_live(),
                 caches);
}
