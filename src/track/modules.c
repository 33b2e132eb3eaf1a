/* Module map via dl_iterate_phdr, and the modules dlclose unloaded; see
 * modules.h. */
#define _GNU_SOURCE
#include "track/modules.h"

#include "base/st.h"
#include "base/lock.h"
#include "track/stack.h"
#include "base/sys.h"
#include "base/text.h"

#include <elf.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>

struct collect {
    struct st_module_map *map;
    struct st_arena *arena;
    size_t capacity;
    int error;
};

/* Hex of the NT_GNU_BUILD_ID note in a loaded PT_NOTE segment, or NULL. */
static const char *build_id_of(struct dl_phdr_info *info, struct st_arena *arena)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *n;
            const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
            const char *next = (const char *)desc + ((n->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
                n->n_descsz <= 64) {
                char *hex = st_arena_alloc(arena, n->n_descsz * 2 + 1);
                if (!hex)
                    return NULL;
                for (unsigned j = 0; j < n->n_descsz; j++) {
                    hex[2 * j] = "0123456789abcdef"[desc[j] >> 4];
                    hex[2 * j + 1] = "0123456789abcdef"[desc[j] & 15];
                }
                return hex;
            }
            p = next;
        }
    }
    return NULL;
}

static const char *path_of(struct dl_phdr_info *info, struct st_arena *arena)
{
    if (info->dlpi_name && info->dlpi_name[0])
        return st_arena_strdup(arena, info->dlpi_name);
    char exe[PATH_MAX];
    long n = st_sys_readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    return st_arena_strndup(arena, exe, (size_t)n);
}

ST_EVERY_PROCESS
static void span_of(struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi, bool exec_only)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (exec_only && !(ph->p_flags & PF_X)))
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < *lo)
            *lo = start;
        if (start + ph->p_memsz > *hi)
            *hi = start + ph->p_memsz;
    }
}

static int collect_one(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct collect *c = data;
    if (c->map->count == c->capacity) {
        size_t cap = c->capacity ? c->capacity * 2 : 64;
        struct st_module *grown = st_arena_alloc(c->arena, cap * sizeof *grown);
        if (!grown) {
            c->error = -ENOMEM;
            return 1;
        }
        if (c->map->count)
            memcpy(grown, c->map->modules, c->map->count * sizeof *grown);
        c->map->modules = grown;
        c->capacity = cap;
    }
    struct st_module *m = &c->map->modules[c->map->count];
    span_of(info, &m->lo, &m->hi, false);
    if (m->lo >= m->hi)
        return 0;
    m->base = info->dlpi_addr;
    m->path = path_of(info, c->arena);
    m->build_id = build_id_of(info, c->arena);
    c->map->count++;
    return 0;
}

int st_modules_snapshot(struct st_module_map *map, struct st_arena *arena)
{
    struct collect c = {map, arena, 0, 0};
    map->modules = NULL;
    map->count = 0;
    dl_iterate_phdr(collect_one, &c);
    return c.error;
}

const struct st_module *st_modules_find(const struct st_module_map *map, uintptr_t addr)
{
    for (size_t i = 0; i < map->count; i++)
        if (addr >= map->modules[i].lo && addr < map->modules[i].hi)
            return &map->modules[i];
    return NULL;
}

struct span_query {
    uintptr_t addr, lo, hi;
    int index, found_index;
};

ST_EVERY_PROCESS
static int find_span(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct span_query *q = data;
    uintptr_t lo, hi;
    span_of(info, &lo, &hi, true);
    if (q->addr >= lo && q->addr < hi) {
        q->lo = lo;
        q->hi = hi;
        q->found_index = q->index;
        return 1;
    }
    q->index++;
    return 0;
}

ST_EVERY_PROCESS
int st_modules_span_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, int *is_main)
{
    struct span_query q = {addr, 0, 0, 0, -1};
    dl_iterate_phdr(find_span, &q);
    if (q.found_index < 0)
        return -ENOENT;
    *lo = q.lo;
    *hi = q.hi;
    *is_main = q.found_index == 0; /* the executable comes first */
    return 0;
}

/* ---- a function's extent, by its module's GNU hash table ---- */

struct dynamic_tables {
    const uint32_t *gnu_hash;
    const ElfW(Sym) *symtab;
    const char *strtab;
};

/* A table address from the dynamic section: glibc stores them relocated,
 * but a value below the load base is taken as not relocated yet. */
static const void *table_at(const struct dl_phdr_info *info, uintptr_t ptr)
{
    return (const void *)(ptr >= info->dlpi_addr ? ptr : ptr + info->dlpi_addr);
}

static bool dynamic_tables_of(const struct dl_phdr_info *info, struct dynamic_tables *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
            continue;
        for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
             d->d_tag != DT_NULL; d++) {
            if (d->d_tag == DT_GNU_HASH)
                t->gnu_hash = table_at(info, d->d_un.d_ptr);
            else if (d->d_tag == DT_SYMTAB)
                t->symtab = table_at(info, d->d_un.d_ptr);
            else if (d->d_tag == DT_STRTAB)
                t->strtab = table_at(info, d->d_un.d_ptr);
        }
    }
    return t->gnu_hash && t->symtab && t->strtab;
}

/* The GNU hash lookup of name (the ELF gABI extension glibc's loader uses). */
static const ElfW(Sym) *gnu_lookup(const struct dynamic_tables *t, const char *name)
{
    uint32_t nbuckets = t->gnu_hash[0], first = t->gnu_hash[1], bloom_words = t->gnu_hash[2];
    const ElfW(Addr) *bloom = (const ElfW(Addr) *)(t->gnu_hash + 4);
    const uint32_t *buckets = (const uint32_t *)(bloom + bloom_words);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = h * 33 + *p;
    uint32_t i = nbuckets ? buckets[h % nbuckets] : 0;
    if (i < first)
        return NULL;
    for (;; i++) {
        uint32_t h2 = chain[i - first];
        if ((h | 1) == (h2 | 1) && st_text_eq(name, t->strtab + t->symtab[i].st_name))
            return &t->symtab[i];
        if (h2 & 1)
            return NULL;
    }
}

struct extent_query {
    uintptr_t fn, lo, hi;
    const char *name;
    int rc;
};

ST_EVERY_PROCESS
static int find_extent(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct extent_query *q = data;
    uintptr_t lo, hi;
    span_of(info, &lo, &hi, true);
    if (q->fn < lo || q->fn >= hi)
        return 0;
    struct dynamic_tables t;
    const ElfW(Sym) *sym = dynamic_tables_of(info, &t) ? gnu_lookup(&t, q->name) : NULL;
    if (sym && sym->st_size && info->dlpi_addr + sym->st_value == q->fn) {
        q->lo = q->fn;
        q->hi = q->fn + sym->st_size;
        q->rc = 0;
    }
    return 1;
}

ST_EVERY_PROCESS
int st_modules_function_extent(uintptr_t fn, const char *name, uintptr_t *lo, uintptr_t *hi)
{
    struct extent_query q = {fn, 0, 0, name, -ENOENT};
    dl_iterate_phdr(find_extent, &q);
    *lo = q.lo;
    *hi = q.hi;
    return q.rc;
}

/* ---- modules dlclose unloaded ---- */

/* Records of unloaded modules live here for good. */
static struct st_arena unloaded_arena;
static st_lock_t unloaded_lock = ST_LOCK_INIT;

struct find_loaded {
    uintptr_t base;
    const char *name;
    struct st_unloaded_module *out; /* filled when found, if not NULL */
    bool found;
};

static int find_loaded(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct find_loaded *q = data;
    if (info->dlpi_addr != q->base || !info->dlpi_name || strcmp(info->dlpi_name, q->name))
        return 0;
    q->found = true;
    if (q->out) {
        span_of(info, &q->out->lo, &q->out->hi, false);
        q->out->build_id = build_id_of(info, &unloaded_arena);
    }
    return 1;
}

struct st_unloaded_module *st_modules_closing(void *handle)
{
    struct link_map *lm = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_name || !lm->l_name[0])
        return NULL;
    st_lock(&unloaded_lock);
    struct st_unloaded_module *m = st_arena_alloc(&unloaded_arena, sizeof *m);
    if (m) {
        m->base = lm->l_addr;
        m->path = st_arena_strdup(&unloaded_arena, lm->l_name);
        struct find_loaded q = {m->base, lm->l_name, m, false};
        dl_iterate_phdr(find_loaded, &q);
        if (!q.found || !m->path || m->lo >= m->hi)
            m = NULL; /* a few bytes of the arena, left unused */
    }
    st_unlock(&unloaded_lock);
    return m;
}

const struct st_unloaded_module *st_modules_closed(struct st_unloaded_module *m)
{
    if (!m)
        return NULL;
    struct find_loaded q = {m->base, m->path, NULL, false};
    dl_iterate_phdr(find_loaded, &q);
    if (q.found)
        return NULL; /* still loaded: another reference, or RTLD_NODELETE */
    st_stack_mark_unloaded(m);
    return m;
}
