/* Post-mortem reports: on SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (and
 * SIGTERM, SIGINT with catch_term=1) a report with reason "crash" is
 * written before the process dies, then the signal goes on to the
 * program's own handler, or its default action: the exit status and the
 * core dump are what they would have been without strays. */
#ifndef STRAYS_CRASH_H
#define STRAYS_CRASH_H

/* Installs the crash handlers (with an alternate signal stack for the
 * thread that calls it). Returns 0 or -errno. */
int st_crash_install(void);

#endif
