/* Building a report of this process from strays' registries. */
#ifndef STRAYS_REPORT_BUILD_H
#define STRAYS_REPORT_BUILD_H

#include "report/report.h"

struct st_stack;

/* What one report is asked to be. Everything that varies between reports
 * travels here, never in globals, so reports can be built on several
 * threads at once (two tests verifying their own scopes, a dump beside an
 * exit) and each gets exactly what it asked for. */
struct st_report_request {
    const char *reason;   /* "exit", "crash", "signal", "interval", "verify", "api",
                           * "exhausted", "fd_warn" */
    int exit_status;      /* -1 when not an exit */
    const char *scope;    /* only what this scope created (interned, scope.h); NULL: all */
    bool symbolize;       /* names, files and lines from libdw, in the process */
    /* Built inside a signal handler, as a crash report is (an exit from the
     * program's own crash handler): no malloc, no waiting for a lock that
     * another thread may hold for good. A crash report always is. */
    bool crash_safe;
    const struct st_report_limit *limit; /* "exhausted", "fd_warn": the limit hit */
    /* The process ends after this report (its exit, a crash): its memory is
     * left to the kernel, which unmaps it all at once anyway. */
    bool process_ends;
    /* Zeroed memory for the report's first arena chunk (st_arena_init_with),
     * or NULL. */
    void *arena_first;
    size_t arena_first_len;
    /* A crash report: the signal, the fault address, the crashing thread
     * and its stack at the crash. signal 0: not a crash. Built without
     * waiting for a lock another thread may hold for ever. */
    struct {
        int signal;
        uintptr_t address;
        int tid;
        const struct st_stack *stack;
    } crash;
};

/* Fills r as req asks (st_report_free releases it). Returns 0 or -errno. */
int st_report_build(struct st_report *r, const struct st_report_request *req);
/* Whether a report built now would list nothing: no thread, timer or fd is
 * tracked, and no thread but the caller was ever made (so /proc has no
 * untracked one to show). Reads no file. */
bool st_report_would_be_empty(void);

/* ---- shared by the report_*.c builders ---- */

/* Maps interned stacks to indexes of the report's stacks table. */
struct st_stack_index {
    const struct st_stack **keys;
    int *values;
    size_t mask;
    const struct st_stack **order; /* index -> stack */
    uint32_t count, capacity;
    struct st_arena *arena;
};

/* The report's index for s (added on first sight), or -1 for NULL or when
 * memory runs out. */
int st_stack_index_of(struct st_stack_index *si, const struct st_stack *s);

/* Adds the live POSIX timers and fds (timerfds among the timers), each
 * checked against the kernel first: a record whose object is gone is
 * dropped (report_fds.c). */
void st_report_collect_objects(struct st_report *r, struct st_stack_index *si);
/* What fd refers to, as a person reads it ("pipe:[123]", a path, a socket
 * with its addresses); NULL if it is not open. */
const char *st_report_fd_target(int fd, struct st_arena *a);
/* Marks the report's threads that are in a wait as blocked (what in, on
 * what, since when, the stack at the wait, a lock's holder) and finds the
 * cycles of threads waiting on each other's locks (report_waits.c). */
void st_report_collect_waits(struct st_report *r, struct st_stack_index *si);
/* The current stacks of the report's running threads that are in no hooked
 * wait, unwound by each thread in a signal handler: only for reports where
 * a signal cannot hurt (exit, crash), never in live dumps. */
void st_report_collect_current_stacks(struct st_report *r, struct st_stack_index *si);

#endif
