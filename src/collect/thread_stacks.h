/* The current stack of a thread that is not in a hooked wait. Only the
 * thread itself can unwind its stack, so strays sends it a signal whose
 * handler captures the stack into a buffer prepared for it. A signal can
 * break a blocking call with EINTR, so this is done only where it cannot
 * hurt: in the exit report (and on crash), never in a live dump. Threads
 * that block the signal, or are inside strays, do not answer in time and
 * keep no stack. */
#ifndef STRAYS_THREAD_STACKS_H
#define STRAYS_THREAD_STACKS_H

#include "track/stack.h"

#include <stdbool.h>

/* The signal used (a real-time one, so a program's own SIGUSR1/2 stay its own). */
int st_thread_stack_signal(void);
/* True when /proc says thread tid of this process blocks sig (its SigBlk
 * line); false when that cannot be read. No stdio: the crash path uses it. */
bool st_thread_blocks_signal(int tid, int sig);

/* Asks each of the n threads in tids for its current stack; out[i] is the
 * interned stack (standalone ones on the crash path, see
 * st_stack_standalone), or NULL when the thread did not answer within
 * timeout_ms (all threads share the time). Returns how many answered. */
int st_thread_stacks_capture(const int *tids, int n, const struct st_stack **out, int timeout_ms,
                             bool crashing);

/* Drops the frames of a signal's delivery from a stack captured in its
 * handler: the stack then starts at the interrupted instruction. */
int st_stack_from_interrupted_pc(uintptr_t *frames, int depth, const void *ucontext);

#endif
