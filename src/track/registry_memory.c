/* Accounting of strays' table memory; see registry_memory.h. One counter of
 * all bytes decides against the limit (a reservation, taken back when the
 * allocation fails); per-pool counters are only for reports. All relaxed
 * atomics: a report reads a near-exact figure, no hook ever waits. */
#define _GNU_SOURCE
#include "track/registry_memory.h"
#include "base/st.h"

#include "base/options.h"
#include "base/sys.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SMALL_BLOCK 1024 /* bytes: the per-thread cache holds blocks up to about this size */

static uint64_t total;
static uint64_t bytes[ST_MEM_POOLS];
static uint64_t misses[ST_MEM_POOLS];

static bool reserve(uint64_t size)
{
    uint64_t limit = st_opt.table_memory_limit;
    uint64_t now = __atomic_add_fetch(&total, size, __ATOMIC_RELAXED);
    if (limit && now > limit) {
        __atomic_sub_fetch(&total, size, __ATOMIC_RELAXED);
        return false;
    }
    return true;
}

static void unreserve(uint64_t size) { __atomic_sub_fetch(&total, size, __ATOMIC_RELAXED); }

/* What malloc really holds for p: its usable size and the chunk header. */
static uint64_t held(void *p) { return malloc_usable_size(p) + sizeof(size_t); }

void *st_mem_calloc(enum st_mem_pool pool, size_t size)
{
    /* Reserve the request first; settle to what malloc really took after. */
    if (!reserve(size))
        return NULL;
    /* A small block from malloc and cleared here: glibc's calloc goes past
     * the per-thread cache to the arena every time (about 180 instructions
     * more per thread record in a create+join loop). A large one from
     * calloc, which knows fresh pages are zero already. */
    void *p = size <= SMALL_BLOCK ? malloc(size) : calloc(1, size);
    if (p && size <= SMALL_BLOCK)
        explicit_bzero(p, size); /* memset would be folded back into calloc by GCC */
    if (!p) {
        unreserve(size);
        return NULL;
    }
    uint64_t real = held(p);
    if (real > size)
        __atomic_add_fetch(&total, real - size, __ATOMIC_RELAXED);
    __atomic_add_fetch(&bytes[pool], real, __ATOMIC_RELAXED);
    return p;
}

void st_mem_free(enum st_mem_pool pool, void *p)
{
    if (!p)
        return;
    uint64_t real = held(p);
    free(p);
    unreserve(real);
    __atomic_sub_fetch(&bytes[pool], real, __ATOMIC_RELAXED);
}

void *st_mem_map(enum st_mem_pool pool, size_t size)
{
    if (!reserve(size))
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        unreserve(size);
        return NULL;
    }
    __atomic_add_fetch(&bytes[pool], size, __ATOMIC_RELAXED);
    return p;
}

void st_mem_unmap(enum st_mem_pool pool, void *p, size_t size)
{
    if (!p)
        return;
    st_sys_munmap(p, size);
    unreserve(size);
    __atomic_sub_fetch(&bytes[pool], size, __ATOMIC_RELAXED);
}

void st_mem_not_tracked(enum st_mem_pool pool)
{
    __atomic_add_fetch(&misses[pool], 1, __ATOMIC_RELAXED);
}

ST_EVERY_REPORT
void st_mem_stats(struct st_mem_stats *out)
{
    for (int i = 0; i < ST_MEM_POOLS; i++) {
        out->bytes[i] = __atomic_load_n(&bytes[i], __ATOMIC_RELAXED);
        out->not_tracked[i] = __atomic_load_n(&misses[i], __ATOMIC_RELAXED);
    }
    out->limit = st_opt.table_memory_limit;
}

ST_EVERY_FORK
void st_mem_reset_misses(void)
{
    for (int i = 0; i < ST_MEM_POOLS; i++)
        ST_STORE_IF_CHANGED(misses[i], 0);
}
