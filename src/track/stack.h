/* Stack capture and interning. Hooks capture return addresses with
 * libgcc's unwinder (linked in) or libunwind's (loaded privately when a
 * thread first needs it; see stack_capture.c) and intern them: identical
 * stacks are stored once and records keep a pointer.
 * The intern table and the registries' tables are hand-written, not uthash:
 * they are searched on every hooked call without a lock (uthash needs one
 * for readers beside a writer) and take their memory through
 * registry_memory.h, under table_memory_limit. uthash serves off the hot
 * path (scope names, the CLI's caches). */
#ifndef STRAYS_STACK_H
#define STRAYS_STACK_H

#include <stdbool.h>
#include <stdint.h>

#define ST_STACK_MAX 128

struct st_unloaded_module;

struct st_stack {
    uint32_t hash; /* of the frames, for the intern table */
    uint32_t depth;
    /* NULL, or once a module that held some of the frames was unloaded
     * (dlclose), per frame the module it lay in then, or NULL. */
    const struct st_unloaded_module *const *unloaded;
    uintptr_t frames[]; /* return addresses, innermost first */
};

/* Loads libunwind and warms it up (its first use takes a lock and opens a
 * pipe), once; captures do this themselves when a thread first needs it.
 * Never from a signal handler. Returns 0, or -ENOENT when libunwind is not
 * there (then every capture uses libgcc's unwinder). */
int st_stack_capture_init(void);
/* Fills frames with up to max return addresses of the caller's stack,
 * leaving out strays' own frames. Returns how many. */
int st_stack_capture(uintptr_t *frames, int max);
/* The same from a signal handler (a request for the current stack): libgcc's
 * lock-free unwinder only, and nothing is loaded. */
int st_stack_capture_in_handler(uintptr_t *frames, int max);
/* The same for the crash path, also without waiting for a fork under way:
 * its thread may never finish it (it may wait for a lock the crashing
 * thread holds, such as malloc's). */
int st_stack_capture_crashing(uintptr_t *frames, int max);
/* Treats [lo, hi) as strays' own code, whose frames capture leaves out. */
void st_stack_set_own_range(uintptr_t lo, uintptr_t hi);

/* The one stored copy of this frame array (created on first sight), or NULL
 * when memory runs out. Never freed: stacks are few and records point at them.
 * A stack seen before costs a hash and a compare, without lock or allocation. */
const struct st_stack *st_stack_intern(const uintptr_t *frames, int depth);
/* A stack of its own, not interned, in memory from mmap: for the crash path
 * (where the crash may be inside malloc, or another thread may hold the
 * intern table's lock) and the stacks running threads give at exit. Never
 * freed. NULL when memory runs out. */
const struct st_stack *st_stack_standalone(const uintptr_t *frames, int depth);
/* Captures the caller's stack (st_opt.stack_depth frames) and interns it.
 * Called again at the same stack position, it checks the return addresses
 * it found there last time instead of unwinding (stack_capture.c). Not for
 * signal handlers: it may allocate and takes the intern table's lock. */
const struct st_stack *st_stack_here(void);
/* Which unwinder this thread's last capture used (tests; see stack_capture.c). */
enum st_unwinder { ST_UNWINDER_NONE, ST_UNWINDER_LIBGCC, ST_UNWINDER_LIBUNWIND };
enum st_unwinder st_stack_last_unwinder(void);
/* How many of this thread's st_stack_here calls the cache served (tests). */
unsigned long st_stack_cache_hits(void);
struct st_stack_cache;
/* The thread that held cache has ended (its exit path, per_thread.c). */
void st_stack_cache_release(struct st_stack_cache *cache);
/* Fork, in the child: self (or NULL) is the only cache left. */
void st_stack_cache_after_fork_child(const struct st_stack_cache *self);
/* Threads with a stack cache now (for tests: each goes with its thread). */
unsigned st_stack_caches_live(void);

/* A module was unloaded: every interned stack with frames in it learns
 * which (st_stack.unloaded), and is no longer handed out for the same
 * addresses, which may hold other code from now on. */
void st_stack_mark_unloaded(const struct st_unloaded_module *m);
/* Number of distinct stacks interned so far. */
unsigned st_stack_interned_count(void);
/* Fork: the table's lock is held across fork so the child's copy is whole. */
void st_stack_before_fork(void);
/* Fork waits until no thread is inside libunwind (its locks would stay
 * locked in the child); then captures wait until fork is done. */
void st_stack_capture_before_fork(void);
void st_stack_capture_after_fork(bool child);
void st_stack_after_fork_parent(void);
void st_stack_after_fork_child(void);

#endif
