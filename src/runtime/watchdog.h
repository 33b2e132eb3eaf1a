/* strays' own thread, which writes live dumps: on the dump signal (whose
 * handler only wakes it) and every dump_interval. Reports are never built
 * inside a signal handler, and the thread is never started in one. Signals
 * that arrive while a dump is being written are coalesced into one more
 * dump, not lost and not piled up. The dump signal stays strays' only while
 * the program does not use it (watchdog.c). */
#ifndef STRAYS_WATCHDOG_H
#define STRAYS_WATCHDOG_H

#include <signal.h>
#include <stdbool.h>

/* Takes the dump signal and starts the watchdog if dump_interval asks for
 * it. Returns 0 or -errno (then strays says so and runs without live dumps). */
int st_watchdog_start(void);
/* A hooked call saw st_watchdog_wanted: starts the watchdog thread, unless
 * the call comes from inside a signal handler (a later one will). Keeps errno. */
void st_watchdog_ensure(void);
/* The program starts its first thread: the watchdog costs nothing more now. */
void st_watchdog_program_starts_a_thread(void);
/* The program waits for the signals in set (sigwait and its kin, a
 * signalfd): the dump signal among them is the program's. */
void st_watchdog_program_waits(const sigset_t *set);
/* Wakes the watchdog (async-signal-safe): the dump signal's handler, and
 * exhaustion.c when the program hits a limit. Without a watchdog yet, the
 * next hooked call starts it. */
void st_watchdog_wake(void);
/* Set by the dump signal's handler when there is no watchdog thread yet. */
extern int st_watchdog_wanted;

/* Fork: notes whether the process has one thread (then the child may start
 * a watchdog as any single-threaded program may); in the child, the parent's
 * watchdog did not come along. */
void st_watchdog_before_fork(void);
void st_watchdog_after_fork_child(void);

#endif
