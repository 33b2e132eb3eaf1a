/* The modules (executable, shared objects) mapped in this process, read at
 * report time: path, load base, address range and GNU build-id, so frames
 * can be written as module+offset and symbolized later on another machine. */
#ifndef STRAYS_MODULES_H
#define STRAYS_MODULES_H

#include "base/arena.h"

#include <stddef.h>
#include <stdint.h>

struct st_module {
    uintptr_t base;       /* load bias: file address = runtime address - base */
    uintptr_t lo, hi;     /* span of its PT_LOAD segments */
    const char *path;
    const char *build_id; /* lower-case hex, or NULL */
};

struct st_module_map {
    struct st_module *modules;
    size_t count;
};

/* A module unloaded by dlclose, as it was while loaded. Kept for good:
 * stacks captured before the unload still point at it. */
struct st_unloaded_module {
    uintptr_t base, lo, hi;
    const char *path;
    const char *build_id; /* lower-case hex, or NULL */
};

/* dlclose, before the real call: what the module of handle is now (NULL if
 * not known). After it: st_modules_closed with that, which finds whether the
 * module really went (dlclose only drops a reference) and, if it did, tells
 * the interned stacks. Returns the module when it was unloaded. */
struct st_unloaded_module *st_modules_closing(void *handle);
const struct st_unloaded_module *st_modules_closed(struct st_unloaded_module *m);

/* Reads the current module list into map (memory from arena). Returns 0 or -errno. */
int st_modules_snapshot(struct st_module_map *map, struct st_arena *arena);
/* The module containing addr, or NULL. */
const struct st_module *st_modules_find(const struct st_module_map *map, uintptr_t addr);
/* The executable span of the module that holds addr (for strays' own code). */
int st_modules_span_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, int *is_main);
/* The extent [lo, hi) of the function fn (an exported symbol called name
 * in fn's module), from that module's own GNU hash table in memory: what
 * dladdr1(RTLD_DL_SYMENT) gives, without its walk over every symbol
 * (80 000 instructions for libc). 0, or -ENOENT. */
int st_modules_function_extent(uintptr_t fn, const char *name, uintptr_t *lo, uintptr_t *hi);

#endif
