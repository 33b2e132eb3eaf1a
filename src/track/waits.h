/* What each thread is blocked in: a per-thread record written on entry to
 * a waiting call and cleared on return. Records come from a pool and are
 * never freed (a report may read one while its thread exits); a thread's
 * record is recycled after it ends. The owner writes its own record under a
 * sequence count, so entering a wait takes no lock and a report reads a
 * consistent copy. */
#ifndef STRAYS_WAITS_H
#define STRAYS_WAITS_H

#include "track/stack.h"

#include <stdbool.h>
#include <stdint.h>

#define ST_WAIT_CALLS(X)                                                                   \
    X(NONE, "")                                                                            \
    X(COND_WAIT, "pthread_cond_wait")                                                      \
    X(COND_TIMEDWAIT, "pthread_cond_timedwait")                                            \
    X(COND_CLOCKWAIT, "pthread_cond_clockwait")                                            \
    X(MUTEX_LOCK, "pthread_mutex_lock")                                                    \
    X(MUTEX_TIMEDLOCK, "pthread_mutex_timedlock")                                          \
    X(MUTEX_CLOCKLOCK, "pthread_mutex_clocklock")                                          \
    X(RWLOCK_RDLOCK, "pthread_rwlock_rdlock")                                              \
    X(RWLOCK_WRLOCK, "pthread_rwlock_wrlock")                                              \
    X(RWLOCK_TIMEDRDLOCK, "pthread_rwlock_timedrdlock")                                    \
    X(RWLOCK_TIMEDWRLOCK, "pthread_rwlock_timedwrlock")                                    \
    X(SPIN_LOCK, "pthread_spin_lock")                                                      \
    X(BARRIER_WAIT, "pthread_barrier_wait")                                                \
    X(SEM_WAIT, "sem_wait")                                                                \
    X(SEM_TIMEDWAIT, "sem_timedwait")                                                      \
    X(SEM_CLOCKWAIT, "sem_clockwait")                                                      \
    X(JOIN, "pthread_join")                                                                \
    X(TIMEDJOIN, "pthread_timedjoin_np")                                                   \
    X(READ, "read")                                                                        \
    X(RECV, "recv")                                                                        \
    X(RECVFROM, "recvfrom")                                                                \
    X(RECVMSG, "recvmsg")                                                                  \
    X(ACCEPT, "accept")                                                                    \
    X(ACCEPT4, "accept4")                                                                  \
    X(POLL, "poll")                                                                        \
    X(PPOLL, "ppoll")                                                                      \
    X(SELECT, "select")                                                                    \
    X(PSELECT, "pselect")                                                                  \
    X(EPOLL_WAIT, "epoll_wait")                                                            \
    X(EPOLL_PWAIT, "epoll_pwait")                                                          \
    X(NANOSLEEP, "nanosleep")                                                              \
    X(CLOCK_NANOSLEEP, "clock_nanosleep")                                                  \
    X(SLEEP, "sleep")                                                                      \
    X(USLEEP, "usleep")                                                                    \
    X(PAUSE, "pause")                                                                      \
    X(SIGWAIT, "sigwait")                                                                  \
    X(SIGTIMEDWAIT, "sigtimedwait")                                                        \
    X(SIGWAITINFO, "sigwaitinfo")                                                          \
    X(WAITPID, "waitpid")                                                                  \
    X(WAIT4, "wait4")                                                                      \
    X(MSGRCV, "msgrcv")                                                                    \
    X(SEMOP, "semop")

enum st_wait_call {
#define ST_WAIT_ENUM(name, text) ST_WAIT_##name,
    ST_WAIT_CALLS(ST_WAIT_ENUM)
#undef ST_WAIT_ENUM
        ST_WAIT_CALL_COUNT
};

const char *st_wait_call_name(enum st_wait_call call);
/* Whether threads waiting in call wait for a lock with an owner. */
bool st_wait_call_is_lock(enum st_wait_call call);

/* A wait about to start on this thread. object: the mutex, condition,
 * semaphore... (NULL for I/O and sleeps); fd: -1 unless I/O; timeout_ns:
 * the length of a timed wait (0: untimed). The stack at the wait is
 * captured here. */
void st_wait_begin(enum st_wait_call call, const void *object, int fd, uint64_t timeout_ns);
/* The wait returned; timed_out when it ended by its timeout. */
void st_wait_end(bool timed_out);
struct st_wait_record;
/* The thread that held w has ended (its exit path, per_thread.c): w is
 * free for the next thread. */
void st_wait_record_release(struct st_wait_record *w);
/* Records claimed by threads now (for tests: each goes with its thread). */
unsigned st_wait_records_claimed(void);

struct st_wait_view {
    int tid;
    enum st_wait_call call;
    const void *object;
    int fd;
    uint64_t since_ns;   /* st_uptime_ns() at entry */
    uint64_t timeout_ns; /* length of the timed wait, 0 if untimed */
    uint32_t timeouts;   /* timed waits on this call and object in a row that timed out */
    const struct st_stack *stack;
};

/* Calls fn for every thread in a wait now. */
int st_wait_foreach(void (*fn)(const struct st_wait_view *, void *), void *ctx);
/* Fork, in the child: the forking thread's record (self, or NULL) is the
 * only one left claimed. */
void st_wait_after_fork_child(struct st_wait_record *self);

#endif
