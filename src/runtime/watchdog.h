/* strays' own thread, which writes live dumps: on the dump signal (whose
 * handler only wakes it) and every dump_interval. Reports are never built
 * inside a signal handler. Signals that arrive while a dump is being
 * written are coalesced into one more dump, not lost and not piled up. */
#ifndef STRAYS_WATCHDOG_H
#define STRAYS_WATCHDOG_H

#include <stdbool.h>

/* Starts the watchdog if dump_signal or dump_interval ask for it. Returns 0
 * or -errno (then strays says so and runs without live dumps). */
int st_watchdog_start(void);
/* Starts the watchdog thread if it is not running yet (a hooked call
 * does when st_watchdog_wanted is set, or the program starts a thread). */
void st_watchdog_ensure(void);
/* Wakes the watchdog (async-signal-safe): the dump signal's handler, and
 * exhaustion.c when the program hits a limit. Without a watchdog yet, the
 * next hooked call starts it. */
void st_watchdog_wake(void);
/* Set by the dump signal's handler when there is no watchdog thread yet. */
extern int st_watchdog_wanted;

/* Fork, in the child: the watchdog thread did not come along. */
void st_watchdog_after_fork_child(void);

#endif
