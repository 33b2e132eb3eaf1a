/* A thread's own state in strays, in one thread-local object: its registry
 * record, its wait record, its stack cache and the flags around them. One
 * exit path tears it all down, in one order (per_thread.c), and one call
 * resets it in a fork child. The modules that own the parts
 * (registry_thread.c, waits.c, stack_capture.c) keep no thread-local state
 * of their own. */
#ifndef STRAYS_PER_THREAD_H
#define STRAYS_PER_THREAD_H

#include "base/st.h"

#include <stdbool.h>
#include <stdint.h>

struct st_thread;
struct st_wait_record;
struct st_stack_cache;

/* Who runs the exit path for the parts the thread holds now. */
enum st_per_thread_exit_by {
    ST_EXIT_BY_NONE,    /* nobody yet: the thread holds no part that needs it */
    ST_EXIT_BY_HANDLER, /* the cleanup handler of the trampoline that started it */
    ST_EXIT_BY_KEY,     /* the destructor of strays' one thread-specific key */
};

enum st_per_thread_phase {
    ST_PHASE_LIVE,  /* zeroed TLS: every thread starts here */
    ST_PHASE_ENDED, /* the trampoline's exit handler ran: no stack cache is made
                     * again; a later wait (a C++ thread_local's destructor
                     * joining) gets a record freed by the key */
    ST_PHASE_GONE,  /* the key's destructor ran: no part is made again */
};

#define ST_STACK_RECENT 4 /* sps of recent cache misses (stack_capture.c) */

struct st_per_thread {
    struct st_thread *record;     /* registry_thread.c: set by the trampoline */
    struct st_wait_record *wait;  /* waits.c: claimed at the first wait */
    struct st_stack_cache *cache; /* stack_capture.c: made at a repeated capture */
    uint8_t phase;                /* enum st_per_thread_phase */
    uint8_t exit_by;              /* enum st_per_thread_exit_by */
    /* stack_capture.c's, kept here so that a capture costs no other TLS. */
    volatile bool cache_busy; /* inside the cache: a signal handler goes around it */
    bool no_cache;            /* no stack bounds or unwinder for this thread */
    uint8_t last_unwinder;    /* enum st_unwinder, for tests */
    unsigned unwinds;         /* unwinds so far, to move on to libunwind */
    unsigned recent_next;
    uintptr_t recent[ST_STACK_RECENT];
    unsigned long cache_hits; /* for tests: proof the cache served a capture */
};

/* The calling thread's state: zeroed (LIVE, no parts) until first used.
 * Initial-exec TLS, so the address is one add to the thread pointer;
 * reachable from signal handlers and from thread-specific destructors. */
extern ST_TLS struct st_per_thread st_per_thread_self;

static inline struct st_per_thread *st_per_thread(void) { return &st_per_thread_self; }

/* Asks whether the calling thread may take one more part (a wait record,
 * a stack cache) and makes sure the exit path will free it: a thread
 * strays did not start gets the key set on its first part (one key set
 * makes glibc scan every key slot at the thread's exit, so it is set only
 * when needed). False once the thread's state is gone, or when the key
 * cannot be had: the caller then goes without the part. Not for signal
 * handlers (pthread_setspecific may allocate). */
bool st_per_thread_keep(struct st_per_thread *ts);

/* The start routines to hand to the real pthread_create (thrd_create)
 * with a record from st_thread_prepare: they mark the thread started and
 * push the cleanup handler that runs the exit path, however the thread
 * ends (return, pthread_exit, thrd_exit, cancellation). */
void *st_thread_trampoline(void *record);
int st_thread_trampoline_c11(void *record);
/* The calling thread is leaving through pthread_exit or thrd_exit. */
void st_per_thread_exiting(void);

/* Fork, in the child: the forking thread is the only one left. The
 * registry and the wait pool drop every other thread's part and keep this
 * one's, which its exit path still frees. */
void st_per_thread_after_fork_child(void);

#endif
