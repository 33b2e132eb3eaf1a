/* Post-mortem reports: when SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT
 * (and SIGTERM, SIGINT with catch_term=1) is about to end the process, a
 * report with reason "crash" is written first; then the signal meets its
 * default action, so the exit status and the core dump are what they would
 * have been without strays. A signal the program's own handler deals with
 * is not a crash: the handler runs as it would have, and nothing is
 * written. */
#ifndef STRAYS_CRASH_H
#define STRAYS_CRASH_H

#include <stdbool.h>

/* Installs the crash handlers (with an alternate signal stack for the
 * thread that calls it). Returns 0 or -errno. */
int st_crash_install(void);
/* True while this thread runs the program's own handler for a crash signal
 * (and has not jumped out of it): an exit from there is reported as a crash
 * is, without malloc or locks another thread may hold. */
bool st_crash_in_program_handler(void);

#endif
