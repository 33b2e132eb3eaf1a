/* The timer registry; see registry_timer.h. Timers are created far less
 * often than fds, so one table under one lock is enough; but a program may
 * hold a hundred thousand of them, so records are small (64 bytes, from
 * slabs of 1024, no allocator overhead) and the table is open addressing
 * over pointers (linear probing, at most half full, deletion by backward
 * shift, so no tombstones pile up under churn). */
#include "track/registry_timer.h"

#include "base/lock.h"
#include "base/options.h"
#include "track/registry_memory.h"
#include "track/scope.h"
#include "base/st.h"

#include <string.h>

struct timer_record {
    uintptr_t id;
    const struct st_stack *created_by;
    const char *scope;
    uint64_t created_ns;
    uint64_t interval_ns;
    int32_t clock; /* CPU clocks are negative */
    int32_t tid;
    int32_t notify_tid;
    uint8_t notify;
    uint8_t signo;
    uint8_t compat : 1, armed : 1, ignored : 1;
    struct timer_record *next_free; /* only while on the free list */
};

#define SLAB_RECORDS 1024u
#define MIN_SLOTS 64u

static struct timer_record **slots; /* NULL or a record */
static uint32_t mask;               /* slots - 1 */
ST_HOT_DATA static uint32_t used;
static struct timer_record *free_list;
static st_lock_t lock = ST_LOCK_INIT;

static uint32_t slot_hash(uintptr_t id, bool compat)
{
    uint64_t h = ((uint64_t)id ^ ((uint64_t)compat << 63)) * 0x9e3779b97f4a7c15u;
    return (uint32_t)(h >> 32);
}

/* Lock held. The slot holding (id, compat), or the empty slot ending its probe. */
static uint32_t probe_locked(uintptr_t id, bool compat)
{
    uint32_t i = slot_hash(id, compat) & mask;
    while (slots[i] && (slots[i]->id != id || slots[i]->compat != compat))
        i = (i + 1) & mask;
    return i;
}

static struct timer_record *find_locked(uintptr_t id, bool compat)
{
    return slots ? slots[probe_locked(id, compat)] : NULL;
}

/* Lock held. A new record, from the free list or a fresh slab. */
static struct timer_record *record_alloc_locked(void)
{
    if (!free_list) {
        struct timer_record *slab =
            st_mem_map(ST_MEM_TIMERS, SLAB_RECORDS * sizeof(struct timer_record));
        if (!slab)
            return NULL;
        for (uint32_t i = 0; i < SLAB_RECORDS; i++) {
            slab[i].next_free = free_list;
            free_list = &slab[i];
        }
    }
    struct timer_record *rec = free_list;
    free_list = rec->next_free;
    memset(rec, 0, sizeof *rec);
    return rec;
}

static void record_free_locked(struct timer_record *rec)
{
    rec->next_free = free_list;
    free_list = rec;
}

/* Lock held. Doubles the table when it would pass half full; false when
 * there is no room and none can be had. */
static bool room_for_one_more_locked(void)
{
    if (slots && (used + 1) * 2 <= mask + 1)
        return true;
    uint32_t n = slots ? (mask + 1) * 2 : MIN_SLOTS;
    struct timer_record **grown = st_mem_map(ST_MEM_TIMERS, n * sizeof *grown);
    if (!grown)
        return false;
    struct timer_record **old = slots;
    uint32_t old_n = slots ? mask + 1 : 0;
    slots = grown;
    mask = n - 1;
    for (uint32_t i = 0; i < old_n; i++)
        if (old[i])
            slots[probe_locked(old[i]->id, old[i]->compat)] = old[i];
    st_mem_unmap(ST_MEM_TIMERS, old, old_n * sizeof *old);
    return true;
}

/* Lock held. Empties slot i, then moves back the records after it that
 * would otherwise be cut off from their home slot. */
static void remove_slot_locked(uint32_t i)
{
    record_free_locked(slots[i]);
    slots[i] = NULL;
    __atomic_store_n(&used, used - 1, __ATOMIC_RELAXED); /* st_timer_count reads it */
    for (uint32_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
        uint32_t home = slot_hash(slots[j]->id, slots[j]->compat) & mask;
        /* Movable into the hole when home is not cyclically within (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            slots[i] = slots[j];
            slots[j] = NULL;
            i = j;
        }
    }
}

void st_timer_created(uintptr_t id, bool compat, int clock, int notify, int signo, int notify_tid)
{
    if (!(st_opt.track & ST_TRACK_TIMERS))
        return;
    const struct st_stack *stack = st_stack_here();
    uint64_t now = st_uptime_ns();
    st_lock(&lock);
    /* An id still in the table was deleted behind strays' back. */
    struct timer_record *rec = find_locked(id, compat);
    if (!rec) {
        rec = room_for_one_more_locked() ? record_alloc_locked() : NULL;
        if (!rec) {
            st_unlock(&lock);
            st_mem_not_tracked(ST_MEM_TIMERS);
            return;
        }
        slots[probe_locked(id, compat)] = rec;
        __atomic_store_n(&used, used + 1, __ATOMIC_RELAXED);
    }
    *rec = (struct timer_record){
        .id = id,
        .compat = compat,
        .clock = clock,
        .notify = (uint8_t)notify,
        .signo = (uint8_t)signo,
        .notify_tid = notify_tid,
        .tid = st_gettid(),
        .created_by = stack,
        .created_ns = now,
        .scope = st_scope_current(),
    };
    st_unlock(&lock);
}

void st_timer_set(uintptr_t id, bool compat, bool armed, uint64_t interval_ns)
{
    st_lock(&lock);
    struct timer_record *rec = find_locked(id, compat);
    if (rec) {
        rec->armed = armed;
        rec->interval_ns = interval_ns;
    }
    st_unlock(&lock);
}

void st_timer_deleted(uintptr_t id, bool compat)
{
    st_lock(&lock);
    if (slots) {
        uint32_t i = probe_locked(id, compat);
        if (slots[i])
            remove_slot_locked(i);
    }
    st_unlock(&lock);
}

static void fill_view(const struct timer_record *rec, struct st_timer_view *v)
{
    *v = (struct st_timer_view){
        .id = rec->id,
        .compat = rec->compat,
        .clock = rec->clock,
        .notify = rec->notify,
        .signo = rec->signo,
        .notify_tid = rec->notify_tid,
        .armed = rec->armed,
        .interval_ns = rec->interval_ns,
        .tid = rec->tid,
        .created_by = rec->created_by,
        .created_ns = rec->created_ns,
        .ignored = rec->ignored,
        .scope = rec->scope,
    };
}

ST_EVERY_REPORT
int st_timer_foreach(void (*fn)(const struct st_timer_view *, void *), void *ctx,
                     unsigned *unread)
{
    int n = 0;
    if (!unread) {
        st_lock(&lock);
    } else if (!st_lock_within(&lock, 5 * 1000 * 1000)) {
        *unread += __atomic_load_n(&used, __ATOMIC_RELAXED);
        return 0;
    }
    for (uint32_t i = 0; slots && i <= mask; i++) {
        if (!slots[i])
            continue;
        struct st_timer_view v;
        fill_view(slots[i], &v);
        fn(&v, ctx);
        n++;
    }
    st_unlock(&lock);
    return n;
}

ST_EVERY_PROCESS
unsigned st_timer_count(void) { return __atomic_load_n(&used, __ATOMIC_RELAXED); }

void st_timer_ignore_all(void)
{
    st_lock(&lock);
    for (uint32_t i = 0; slots && i <= mask; i++)
        if (slots[i])
            slots[i]->ignored = 1;
    st_unlock(&lock);
}

ST_EVERY_FORK
void st_timer_before_fork(void) { st_lock(&lock); }

ST_EVERY_FORK
void st_timer_after_fork_parent(void) { st_unlock(&lock); }

/* Records go back to the free list; slabs and the table stay for reuse. */
ST_EVERY_FORK
void st_timer_reset(void)
{
    for (uint32_t i = 0; slots && i <= mask; i++)
        if (slots[i]) {
            record_free_locked(slots[i]);
            slots[i] = NULL;
        }
    used = 0;
}

ST_EVERY_FORK
void st_timer_after_fork_child(void)
{
    st_lock_reset(&lock);
    st_timer_reset();
}
