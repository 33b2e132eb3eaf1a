/* Before a final report (exit, verify): threads whose state is about to
 * change get a moment to change it, so the verdict does not depend on the
 * scheduler. A thread just created has not run yet; a thread its program
 * has already joined may still be tearing down (Python releases the lock
 * its join waits on at the very end of the thread's bootstrap, then frees
 * the thread's state before its start routine returns). */
#ifndef STRAYS_THREAD_SETTLE_H
#define STRAYS_THREAD_SETTLE_H

/* Waits (at most 100 ms, in 1 ms steps) while a tracked thread has not
 * started, or is running outside any hooked wait and on a CPU or waiting
 * for one (/proc state R). A process with no live tracked thread pays one
 * look at the registry; one whose threads all sleep, one /proc read each
 * for those outside a hooked wait. */
void st_threads_settle(void);

#endif
