/* The registry of threads the program created: one record per thread from
 * pthread_create (or thrd_create) until it is joined, or until it finishes
 * if detached. Records are keyed by pthread_t, which glibc reuses at once, so
 * every operation holds the record it looked up rather than the key. */
#ifndef STRAYS_REGISTRY_THREAD_H
#define STRAYS_REGISTRY_THREAD_H

#include "track/stack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum st_thread_state {
    ST_THREAD_STARTING, /* created; its start routine has not run yet */
    ST_THREAD_RUNNING,
    ST_THREAD_EXITED, /* finished (returned, pthread_exit, cancelled) but not joined */
};

struct st_thread {
    struct st_thread *next; /* in its shard's hash chain (registry_thread.c) */
    pthread_t handle;
    const struct st_stack *created_by;
    uint64_t created_ns; /* st_uptime_ns() at creation */
    int tid;
    int parent_tid;
    uint8_t state;     /* enum st_thread_state */
    bool detached;
    bool in_table;     /* reachable by handle (false once finished) */
    bool finished;     /* joined, or detached and exited, or its handle reused */
    bool creator_done; /* pthread_create has returned to the creating hook */
    bool ended;        /* its exit handler has run: the thread is as good as gone */
    bool ignored;      /* in the baseline (strays_snapshot) or ignored by name */
    const char *scope; /* the scope it was created in (scope.h), or NULL */
    uint8_t joiners;   /* join and detach calls under way on this record */
    uint8_t waiters;   /* those of them that wait for the end (pthread_join, thrd_join) */
    union {
        struct {
            void *(*fn)(void *);
            void *arg;
        } start;       /* until the thread runs */
        char name[16]; /* after it exits: its name then (live threads are read from /proc) */
    } u;
};

/* Creates the record for a thread about to be created, with the caller's
 * stack; NULL when it cannot be tracked (no memory). */
struct st_thread *st_thread_prepare(void *(*fn)(void *), void *arg, const pthread_attr_t *attr);
/* The thread rec was made for runs (its trampoline, per_thread.c, on the
 * new thread). */
void st_thread_record_started(struct st_thread *rec);
/* After the real pthread_create: rc is its result, handle the new thread. */
void st_thread_created(struct st_thread *rec, int rc, pthread_t handle);

/* Join: begin before the real call (returns the record, or NULL if the
 * thread is unknown), end after it with the call's result. */
struct st_thread *st_thread_join_begin(pthread_t handle);
void st_thread_join_end(struct st_thread *rec, int rc);
/* The same for a join that waits for the thread's end, however long
 * (pthread_join, thrd_join, not the timed or try joins): it will succeed,
 * so a thread that ends while one waits need not keep its name. */
struct st_thread *st_thread_join_wait_begin(pthread_t handle);
void st_thread_join_wait_end(struct st_thread *rec, int rc);
/* Detach: begin before the real call, end after it with its result, as
 * for a join. Detaching a thread that has ended frees it, and glibc may
 * give its handle to a new thread before the call even returns: a lookup
 * after it could mark the new thread detached. */
struct st_thread *st_thread_detach_begin(pthread_t handle);
void st_thread_detach_end(struct st_thread *rec, int rc);
/* The calling thread, whose record rec is, leaves through pthread_exit or
 * thrd_exit (st_per_thread_exiting). */
void st_thread_record_exiting(struct st_thread *rec);
/* The calling thread, whose record rec is, has ended: its exit path
 * (per_thread.c) says so once, from the thread itself. */
void st_thread_record_ended(struct st_thread *rec);

/* Copy of one record, as a report sees it. */
struct st_thread_view {
    pthread_t handle;
    const struct st_stack *created_by;
    uint64_t created_ns;
    int tid;
    int parent_tid;
    enum st_thread_state state;
    bool detached;
    bool ignored;
    const char *scope;
    char name[16];
};
/* Calls fn for every record, under the registry lock (fn must not call
 * back into strays). Returns how many records it saw. With unread (the
 * crash path), a part of the table whose lock stays taken for a few
 * milliseconds is skipped and its records are added to *unread instead. */
int st_thread_foreach(void (*fn)(const struct st_thread_view *, void *), void *ctx,
                      unsigned *unread);
/* strays_snapshot: every thread known now is left out of later reports. */
void st_thread_ignore_all(void);
/* strays_ignore_thread: this one is. Returns 0, or -ESRCH if unknown. */
int st_thread_ignore(pthread_t handle);
/* Number of records. */
unsigned st_thread_count(void);
/* Whether tid is one of the last threads the program was done with
 * (joined, or detached and finished), which /proc may still list a moment. */
bool st_thread_recently_gone(int tid);
/* strays' own threads (the watchdog): never reported, nor listed as
 * untracked. At most ST_OWN_THREADS at once; returns 0 or -ENOSPC. */
#define ST_OWN_THREADS 4
int st_thread_own_add(int tid);
void st_thread_own_remove(int tid);
bool st_thread_is_own(int tid);
/* Fork, in the child: only the forking thread exists there; self is its
 * record, or NULL (st_per_thread_after_fork_child passes it). */
void st_thread_after_fork_child(struct st_thread *self);
void st_thread_before_fork(void);
void st_thread_after_fork_parent(void);

#endif
