/* The table of interned stacks: open addressing over pointers to stacks,
 * searched without a lock, so a stack seen before costs one hash and one
 * compare. Only insertion takes the lock. Stacks are never freed and a slot,
 * once filled, never changes: a reader sees either a whole stack or an empty
 * slot, and on an empty slot looks again under the lock (the table may have
 * grown meanwhile). A grown table replaces the old one, which is kept
 * because a reader may still be in it; all the old ones together are
 * smaller than the current one. */
#include "base/lock.h"
#include "track/modules.h"
#include "track/registry_memory.h"
#include "track/stack.h"
#include "base/st.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct table {
    uint32_t mask; /* slots - 1; slots is a power of two */
    uint32_t used;
    struct st_stack *slot[];
};

#define MIN_SLOTS 256u

static struct table *current;
static unsigned count;
static st_lock_t table_lock = ST_LOCK_INIT;

/* Return addresses differ in their low bits and share the high ones: mix
 * every word fully (the multiply-xorshift step of splitmix64). */
static uint32_t hash_frames(const uintptr_t *frames, int depth)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)depth;
    for (int i = 0; i < depth; i++) {
        h ^= frames[i];
        h *= 0xbf58476d1ce4e5b9u;
        h ^= h >> 31;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static const struct st_stack *find(const struct table *t, const uintptr_t *frames, int depth,
                                   uint32_t hash)
{
    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        const struct st_stack *s = __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);
        if (!s)
            return NULL;
        if (s->hash == hash && s->depth == (uint32_t)depth &&
            !__atomic_load_n(&s->unloaded, __ATOMIC_RELAXED) &&
            memcmp(s->frames, frames, (size_t)depth * sizeof *frames) == 0)
            return s;
    }
}

/* Lock held. Readers only ever look at a slot after loading it. */
static void put(struct table *t, struct st_stack *s)
{
    uint32_t i = s->hash & t->mask;
    while (t->slot[i])
        i = (i + 1) & t->mask;
    __atomic_store_n(&t->slot[i], s, __ATOMIC_RELEASE);
    t->used++;
}

/* Lock held. Keeps the load at most one half, so probes stay short. */
static struct table *room_for_one_more(void)
{
    struct table *t = current;
    if (t && (t->used + 1) * 2 <= t->mask + 1)
        return t;
    uint32_t slots = t ? (t->mask + 1) * 2 : MIN_SLOTS;
    struct table *bigger =
        st_mem_calloc(ST_MEM_STACKS, sizeof *bigger + slots * sizeof bigger->slot[0]);
    if (!bigger)
        return NULL;
    bigger->mask = slots - 1;
    if (t)
        for (uint32_t i = 0; i <= t->mask; i++)
            if (t->slot[i])
                put(bigger, t->slot[i]);
    __atomic_store_n(&current, bigger, __ATOMIC_RELEASE);
    return bigger;
}

static const struct st_stack *intern_locked(const uintptr_t *frames, int depth, uint32_t hash)
{
    if (current) {
        const struct st_stack *found = find(current, frames, depth, hash);
        if (found)
            return found;
    }
    struct table *t = room_for_one_more();
    size_t keylen = (size_t)depth * sizeof *frames;
    struct st_stack *s = t ? st_mem_calloc(ST_MEM_STACKS, sizeof *s + keylen) : NULL;
    if (!s) {
        st_mem_not_tracked(ST_MEM_STACKS); /* the object is tracked without its stack */
        return NULL;
    }
    s->hash = hash;
    s->depth = (uint32_t)depth;
    s->unloaded = NULL;
    if (keylen)
        memcpy(s->frames, frames, keylen);
    put(t, s);
    __atomic_store_n(&count, count + 1, __ATOMIC_RELAXED);
    return s;
}

const struct st_stack *st_stack_intern(const uintptr_t *frames, int depth)
{
    if (depth < 0)
        depth = 0;
    uint32_t hash = hash_frames(frames, depth);
    const struct table *t = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (ST_LIKELY(t != NULL)) {
        const struct st_stack *found = find(t, frames, depth, hash);
        if (ST_LIKELY(found != NULL))
            return found;
    }
    st_lock(&table_lock);
    const struct st_stack *s = intern_locked(frames, depth, hash);
    st_unlock(&table_lock);
    return s;
}

/* Lock held. The frames of s in m, added to what s knew: a new array
 * (a reader may hold the old one, which is kept), or s's own when none is. */
static void mark_one(struct st_stack *s, const struct st_unloaded_module *m)
{
    const struct st_unloaded_module *const *known = s->unloaded;
    const struct st_unloaded_module **marks = NULL;
    for (uint32_t i = 0; i < s->depth; i++) {
        if (s->frames[i] < m->lo || s->frames[i] >= m->hi || (known && known[i]))
            continue;
        if (!marks) {
            marks = calloc(s->depth, sizeof *marks);
            if (!marks)
                return;
            if (known)
                memcpy(marks, known, s->depth * sizeof *marks);
        }
        marks[i] = m;
    }
    if (marks)
        __atomic_store_n(&s->unloaded, (const struct st_unloaded_module *const *)marks,
                         __ATOMIC_RELEASE);
}

void st_stack_mark_unloaded(const struct st_unloaded_module *m)
{
    st_lock(&table_lock);
    struct table *t = current;
    for (uint32_t i = 0; t && i <= t->mask; i++)
        if (t->slot[i])
            mark_one(t->slot[i], m);
    st_unlock(&table_lock);
}

unsigned st_stack_interned_count(void)
{
    return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

ST_EVERY_FORK
void st_stack_before_fork(void) { st_lock(&table_lock); }

ST_EVERY_FORK
void st_stack_after_fork_parent(void) { st_unlock(&table_lock); }

ST_EVERY_FORK
void st_stack_after_fork_child(void) { st_lock_reset(&table_lock); }

const struct st_stack *st_stack_standalone(const uintptr_t *frames, int depth)
{
    if (depth < 0)
        depth = 0;
    size_t keylen = (size_t)depth * sizeof(uintptr_t);
    void *mem = mmap(NULL, sizeof(struct st_stack) + keylen, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct st_stack *s = mem;
    s->depth = (uint32_t)depth;
    if (keylen)
        memcpy(s->frames, frames, keylen);
    return s;
}
