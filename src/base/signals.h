/* Signals strays handles for itself (the dump signal, the crash signals,
 * the current-stack signal) while the program keeps its own handlers for
 * them. strays' handler stays installed; when the program installs one,
 * through sigaction or signal, strays records it instead and runs it after
 * doing its part, as the kernel would have run it (its mask, SA_NODEFER,
 * SA_RESETHAND), and tells the program what it would have been told
 * without strays (its own previous action). */
#ifndef STRAYS_SIGNALS_H
#define STRAYS_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* strays' own real-time signals, counted down from SIGRTMAX (glibc keeps
 * 32 and 33 for itself; runtimes that take real-time signals start from
 * SIGRTMIN: .NET, Mono; the JDK's NIO uses SIGRTMAX-2, profilers
 * SIGRTMAX-1, valgrind SIGRTMAX). */
static inline int st_signal_current_stack(void) { return SIGRTMAX - 3; }
static inline int st_signal_default_dump(void) { return SIGRTMAX - 4; }

typedef void (*st_signal_fn)(int sig, siginfo_t *info, void *ucontext);
/* Told when the program installs a handler of its own (a function, not
 * SIG_DFL or SIG_IGN) for a signal strays has taken; runs in the program's
 * sigaction call, with the guard up. */
typedef void (*st_signal_claim_fn)(int sig);

/* Installs fn for sig (SA_SIGINFO | flags, with mask blocked while it runs;
 * NULL: none but sig) and takes the signal over: returns 0 or -errno. The
 * action that was there becomes the program's. on_claim may be NULL. */
int st_signal_take(int sig, st_signal_fn fn, int flags, const sigset_t *mask,
                   st_signal_claim_fn on_claim);
/* Whether strays has taken sig over. */
bool st_signal_taken(int sig);
/* The program calls sigaction(sig, act, old) on a taken signal: records act
 * as the program's and fills old with the previous one. */
void st_signal_program_sets(int sig, const struct sigaction *act, struct sigaction *old);
/* A copy of the program's own action for a taken signal. */
void st_signal_program_action(int sig, struct sigaction *out);
/* True when the action runs a function (neither SIG_DFL nor SIG_IGN). */
bool st_signal_is_handler(const struct sigaction *action);
/* Runs the program's own handler for sig, if it has one, as the kernel
 * would have: with its sa_mask (and sig, unless SA_NODEFER) blocked, the
 * action reset to SIG_DFL first with SA_RESETHAND. The handler may not
 * return (siglongjmp): nothing is held across it. Returns true if it ran. */
bool st_signal_chain(int sig, siginfo_t *info, void *ucontext);
/* Gives sig back to the program: its own action is installed for real. */
void st_signal_release(int sig);
/* sig's name as the dump_signal option reads it back: "SIGUSR2",
 * "SIGRTMAX-4" (real-time ones from the nearer end), or the number. Not
 * for signal handlers (snprintf). */
void st_signal_format(int sig, char *buf, size_t len);

#endif
