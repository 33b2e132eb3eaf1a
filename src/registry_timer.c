/* The timer registry; see registry_timer.h. Timers are created far less
 * often than fds, so one hash table under one lock is enough. */
#include "registry_timer.h"

#include "lock.h"
#include "options.h"
#include "scope.h"
#include "st.h"

#include <stdlib.h>
#include <string.h>

struct timer_key {
    uintptr_t id;
    uintptr_t compat;
};

struct timer_record {
    UT_hash_handle hh;
    struct timer_key key;
    struct st_timer_view view;
};

static struct timer_record *table;
static st_lock_t lock = ST_LOCK_INIT;

static struct timer_record *find_locked(uintptr_t id, bool compat)
{
    struct timer_key key = {id, compat};
    struct timer_record *rec;
    /* The key has no padding: both members are set. The analyzer loses
     * track of them in uthash's byte-wise hash. */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    HASH_FIND(hh, table, &key, sizeof key, rec);
    return rec;
}

static void remove_locked(struct timer_record *rec)
{
    HASH_DELETE(hh, table, rec);
    free(rec);
}

void st_timer_created(uintptr_t id, bool compat, int clock, int notify, int signo, int notify_tid)
{
    if (!(st_opt.track & ST_TRACK_TIMERS))
        return;
    struct timer_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return;
    rec->key.id = id;
    rec->key.compat = compat;
    rec->view = (struct st_timer_view){
        .id = id,
        .compat = compat,
        .clock = clock,
        .notify = notify,
        .signo = signo,
        .notify_tid = notify_tid,
        .tid = st_gettid(),
        .created_by = st_stack_here(),
        .created_ns = st_uptime_ns(),
        .scope = st_scope_current(),
    };
    st_lock(&lock);
    /* An id still in the table was deleted behind strays' back. */
    struct timer_record *old = find_locked(id, compat);
    if (old)
        remove_locked(old);
    HASH_ADD(hh, table, key, sizeof rec->key, rec);
    IF_HASH_NONFATAL_OOM(if (!rec->hh.tbl) {
        st_unlock(&lock);
        free(rec);
        return;
    })
    st_unlock(&lock);
}

void st_timer_set(uintptr_t id, bool compat, bool armed, uint64_t interval_ns)
{
    st_lock(&lock);
    struct timer_record *rec = find_locked(id, compat);
    if (rec) {
        rec->view.armed = armed;
        rec->view.interval_ns = interval_ns;
    }
    st_unlock(&lock);
}

void st_timer_deleted(uintptr_t id, bool compat)
{
    st_lock(&lock);
    struct timer_record *rec = find_locked(id, compat);
    if (rec)
        remove_locked(rec);
    st_unlock(&lock);
}

int st_timer_foreach(void (*fn)(const struct st_timer_view *, void *), void *ctx)
{
    int n = 0;
    st_lock(&lock);
    for (struct timer_record *rec = table; rec; rec = rec->hh.next, n++)
        fn(&rec->view, ctx);
    st_unlock(&lock);
    return n;
}

void st_timer_ignore_all(void)
{
    st_lock(&lock);
    for (struct timer_record *rec = table; rec; rec = rec->hh.next)
        rec->view.ignored = true;
    st_unlock(&lock);
}

void st_timer_before_fork(void) { st_lock(&lock); }

void st_timer_after_fork_parent(void) { st_unlock(&lock); }

void st_timer_reset(void)
{
    struct timer_record *rec, *tmp;
    /* HASH_ITER holds the next record in tmp before rec is freed. */
    /* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
    HASH_ITER(hh, table, rec, tmp)
    {
        HASH_DELETE(hh, table, rec);
        free(rec);
    }
    /* NOLINTEND(clang-analyzer-unix.Malloc) */
}

void st_timer_after_fork_child(void)
{
    st_lock_reset(&lock);
    st_timer_reset();
}
