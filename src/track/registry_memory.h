/* What strays' own tables cost, and what they could not hold. The
 * registries and the intern table take their memory through here: it
 * counts the bytes (so a report can say what tracking costs per object) and
 * holds them under table_memory_limit. When the limit or the system says
 * no, the object is simply not tracked: the program runs on as it would,
 * the miss is counted per kind, and reports say tracking was incomplete. */
#ifndef STRAYS_REGISTRY_MEMORY_H
#define STRAYS_REGISTRY_MEMORY_H

#include <stddef.h>
#include <stdint.h>

enum st_mem_pool { ST_MEM_THREADS, ST_MEM_TIMERS, ST_MEM_FDS, ST_MEM_STACKS, ST_MEM_POOLS };

/* Zeroed memory from malloc, counted with its allocator overhead; NULL when
 * the limit would be passed or malloc fails. */
void *st_mem_calloc(enum st_mem_pool pool, size_t size);
void st_mem_free(enum st_mem_pool pool, void *p);
/* Zeroed pages from mmap (size counted as mapped); NULL as above. */
void *st_mem_map(enum st_mem_pool pool, size_t size);
void st_mem_unmap(enum st_mem_pool pool, void *p, size_t size);

/* An object of this kind (ST_MEM_STACKS: a creation stack) went untracked
 * for want of memory. */
void st_mem_not_tracked(enum st_mem_pool pool);

struct st_mem_stats {
    uint64_t bytes[ST_MEM_POOLS];
    uint64_t not_tracked[ST_MEM_POOLS];
    uint64_t limit; /* table_memory_limit, 0: none */
};
void st_mem_stats(struct st_mem_stats *out);
/* Forgets the not-tracked counts (fork child: what its parent missed is
 * not its own; tests). Bytes stay counted: the memory is still there. */
void st_mem_reset_misses(void);

#endif
