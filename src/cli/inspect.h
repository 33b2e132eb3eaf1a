/* `strays inspect PID`, between its parts: cmd_inspect.c (arguments,
 * permissions, output), inspect_proc.c (threads, fds and timers from
 * /proc) and inspect_stacks.c (current stacks through ptrace and libdw). */
#ifndef STRAYS_CLI_INSPECT_H
#define STRAYS_CLI_INSPECT_H

#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>

/* Fills r (an empty report) with the header, threads, fds and timers of
 * pid as /proc shows them; no stacks yet. Returns 0, or -errno with a
 * message in err (-EACCES: no permission; -ESRCH: no such process). */
int inspect_read_proc(struct st_report *r, int pid, char *err, size_t errlen);

/* Every thread's current stack, through ptrace (each thread stopped, its
 * stack unwound by libdw, then let go). No thread is left stopped, on any
 * path: a signal that ends strays meanwhile lets them go first. Returns 0
 * (threads that vanished, or that could not be stopped in time, keep no
 * stack and are counted in r's tracking), or -errno with a message in err
 * (-EPERM: ptrace refused; -ENOENT: no libdw). */
int inspect_read_stacks(struct st_report *r, int pid, char *err, size_t errlen);

/* Why ptrace or /proc refused pid, as one sentence naming the cause
 * (another user, kernel.yama.ptrace_scope, no CAP_SYS_PTRACE, a process
 * that is not dumpable). */
void inspect_explain_eperm(int pid, char *out, size_t len);

#endif
