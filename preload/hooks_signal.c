/* Interposers for sigaction and signal. For a signal strays has taken over
 * (the dump signal, the crash signals) the program's handler is recorded
 * rather than installed: strays' handler stays and runs the program's
 * after its own part, and the program is told what it would have been
 * told without strays. Every other signal goes straight through. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/signals.h"

#include <string.h>

INTERPOSER int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (st_guard_depth > 0 || !st_signal_taken(sig))
        return REAL(sigaction)(sig, act, old);
    CORE(st_signal_program_sets(sig, act, old));
    return 0;
}

/* glibc's signal() has BSD semantics: the handler stays, calls restart. */
INTERPOSER sighandler_t signal(int sig, sighandler_t handler)
{
    if (st_guard_depth > 0 || !st_signal_taken(sig))
        return REAL(signal)(sig, handler);
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    CORE(st_signal_program_sets(sig, &act, &old));
    return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void (*)(void))old.sa_sigaction
                                       : old.sa_handler;
}
