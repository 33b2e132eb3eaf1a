/* Building a report of this process from strays' registries. */
#ifndef STRAYS_REPORT_BUILD_H
#define STRAYS_REPORT_BUILD_H

#include "report/report.h"

/* Fills r (st_report_free releases it). reason: "exit", "signal", ...;
 * exit_status -1 when not an exit. Returns 0 or -errno. */
int st_report_build(struct st_report *r, const char *reason, int exit_status, bool symbolize);

struct st_stack;

/* Builds from now on cover only what was created in this scope (an
 * interned name, see scope.h); NULL: everything. */
void st_report_build_set_scope(const char *interned);

/* The next build is a crash report: signal, fault address, the crashing
 * thread and its stack at the crash. */
void st_report_build_set_crash(int signal, uintptr_t address, int tid,
                               const struct st_stack *stack);

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
