/* Signals strays handles for itself (the dump signal, the crash signals)
 * while the program keeps its own handlers for them. strays' handler stays
 * installed; when the program installs one, through sigaction or signal,
 * strays records it instead and runs it after doing its part, and tells the
 * program what it would have been told without strays (its own previous
 * action). */
#ifndef STRAYS_SIGNALS_H
#define STRAYS_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

typedef void (*st_signal_fn)(int sig, siginfo_t *info, void *ucontext);

/* Installs fn for sig (SA_SIGINFO | flags) and takes the signal over:
 * returns 0 or -errno. The action that was there becomes the program's. */
int st_signal_take(int sig, st_signal_fn fn, int flags);
/* Whether strays has taken sig over. */
bool st_signal_taken(int sig);
/* The program calls sigaction(sig, act, old) on a taken signal: records act
 * as the program's and fills old with the previous one. */
void st_signal_program_sets(int sig, const struct sigaction *act, struct sigaction *old);
/* Runs the program's own handler for sig, if it has one (not SIG_DFL or
 * SIG_IGN). Returns true if it did. */
bool st_signal_chain(int sig, siginfo_t *info, void *ucontext);
/* Gives sig back to the program: its own action is installed for real. */
void st_signal_release(int sig);

#endif
