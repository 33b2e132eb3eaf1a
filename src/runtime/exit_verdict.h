/* Which process of a tree turns a clean exit into exitcode when it leaked
 * (the exitcode_for option): the root of the processes that run strays,
 * every process, or none under `strays run`, which gives one verdict for
 * all of them. Parents (make, shells, test runners) read their children's
 * statuses: a child's leak must not look like its failure to them. */
#ifndef STRAYS_EXIT_VERDICT_H
#define STRAYS_EXIT_VERDICT_H

#include <sys/types.h>

/* The status this process exits with: status, or exitcode when it would
 * exit 0 and it leaked (or, for exitcode_for=root, a process it started
 * did) and exitcode_for says it is one to change. For exitcode_for=root a
 * process that keeps its status passes its leak up to its parent (a mark
 * in strays' private directory, see exit_verdict.c), so the root of the
 * tree still fails. A clean process pays two stats; only a process
 * whose status could change looks in its parent's /proc maps for strays
 * (a fork child knows without looking). self is this process's pid, as
 * the caller found it (one getpid fewer in every exit). */
int st_exit_verdict(int status, int leaks, pid_t self);
/* strays starts in this process (and again in a fork child, with its
 * parent): marks older than this are a previous process's. */
void st_exit_verdict_start(void);
/* In a fork child: parent is the process it forked from, which runs strays. */
void st_exit_verdict_after_fork_child(pid_t parent);

#endif
