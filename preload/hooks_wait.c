/* Interposers for the calls a thread blocks in. Each records the wait on
 * entry and clears it on return (src/waits.c); a report reads what every
 * thread is waiting for. A lock that is free goes straight to the real
 * call (after a look at its lock word, or through the real trylock) and
 * records nothing: the uncontended path stays as cheap as the real call. pthread_cond_wait and _timedwait exist in two ABIs (the old
 * GLIBC_2.2.5 condition variable and the GLIBC_2.3.2 one); each has its
 * own hook forwarding to the same version. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/timeout.h"

#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- timeouts (src/base/timeout.h) ---- */

/* glibc keeps a condition variable's clock in bit 0 of __wrefs
 * (nptl/pthread_cond_common.c): set for CLOCK_MONOTONIC. */
static clockid_t cond_clock(const pthread_cond_t *cond)
{
    return (cond->__data.__wrefs & 1) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/* ---- condition variables ---- */

#define COND_WAIT_HOOK(tag, version, symbol)                                               \
    INTERPOSER int st_hook_pthread_cond_wait_##tag(pthread_cond_t *cond,                   \
                                                   pthread_mutex_t *mutex)                 \
    {                                                                                      \
        if (!st_active())                                                                  \
            return REAL_V(pthread_cond_wait, tag, version)(cond, mutex);                   \
        WAIT_BEGIN(ST_WAIT_COND_WAIT, cond, -1, 0);                                        \
        int rc = REAL_V(pthread_cond_wait, tag, version)(cond, mutex);                     \
        WAIT_END(false);                                                                   \
        return rc;                                                                         \
    }                                                                                      \
    SYMVER(st_hook_pthread_cond_wait_##tag, symbol);
COND_WAIT_HOOK(v2_3_2, "GLIBC_2.3.2", "pthread_cond_wait@@GLIBC_2.3.2")
COND_WAIT_HOOK(compat, "GLIBC_2.2.5", "pthread_cond_wait@GLIBC_2.2.5")

#define COND_TIMEDWAIT_HOOK(tag, version, symbol, clock_of)                                \
    INTERPOSER int st_hook_pthread_cond_timedwait_##tag(                                   \
        pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abstime)     \
    {                                                                                      \
        if (!st_active())                                                                  \
            return REAL_V(pthread_cond_timedwait, tag, version)(cond, mutex, abstime);     \
        WAIT_BEGIN(ST_WAIT_COND_TIMEDWAIT, cond, -1, st_timeout_until(clock_of, abstime));            \
        int rc = REAL_V(pthread_cond_timedwait, tag, version)(cond, mutex, abstime);       \
        WAIT_END(rc == ETIMEDOUT);                                                         \
        return rc;                                                                         \
    }                                                                                      \
    SYMVER(st_hook_pthread_cond_timedwait_##tag, symbol);
COND_TIMEDWAIT_HOOK(v2_3_2, "GLIBC_2.3.2", "pthread_cond_timedwait@@GLIBC_2.3.2",
                    cond_clock(cond))
COND_TIMEDWAIT_HOOK(compat, "GLIBC_2.2.5", "pthread_cond_timedwait@GLIBC_2.2.5",
                    CLOCK_REALTIME)

INTERPOSER int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                      clockid_t clock, const struct timespec *abstime)
{
    if (!st_active())
        return REAL(pthread_cond_clockwait)(cond, mutex, clock, abstime);
    WAIT_BEGIN(ST_WAIT_COND_CLOCKWAIT, cond, -1, st_timeout_until(clock, abstime));
    int rc = REAL(pthread_cond_clockwait)(cond, mutex, clock, abstime);
    WAIT_END(rc == ETIMEDOUT);
    return rc;
}

/* ---- locks: the free case goes straight through ---- */

static __attribute__((noinline)) int lock_contended(pthread_mutex_t *mutex)
{
    if (!st_active())
        return REAL(pthread_mutex_lock)(mutex);
    WAIT_BEGIN(ST_WAIT_MUTEX_LOCK, mutex, -1, 0);
    int rc = REAL(pthread_mutex_lock)(mutex);
    WAIT_END(false);
    return rc;
}

/* The hottest hook of all. A free mutex has a zero lock word (glibc's
 * __data.__lock, for every mutex kind): then the real lock is a tail call
 * and nothing is recorded. Anything else (held, or held by this thread
 * for a recursive relock) records a wait around the real call. The real
 * function is read here rather than through REAL, whose lookup would make
 * this a function with a frame: as it is, the free case is two loads and a
 * jump. */
INTERPOSER int pthread_mutex_lock(pthread_mutex_t *mutex)
{
    st_real_pthread_mutex_lock_t real =
        __atomic_load_n(&st_real_pthread_mutex_lock, __ATOMIC_RELAXED);
    if (ST_LIKELY(real != NULL && __atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) == 0))
        return real(mutex);
    return lock_contended(mutex);
}

INTERPOSER int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *abstime)
{
    int rc = REAL(pthread_mutex_trylock)(mutex);
    if (rc != EBUSY || !st_active())
        return rc != EBUSY ? rc : REAL(pthread_mutex_timedlock)(mutex, abstime);
    WAIT_BEGIN(ST_WAIT_MUTEX_TIMEDLOCK, mutex, -1, st_timeout_until(CLOCK_REALTIME, abstime));
    rc = REAL(pthread_mutex_timedlock)(mutex, abstime);
    WAIT_END(rc == ETIMEDOUT);
    return rc;
}

INTERPOSER int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock,
                                       const struct timespec *abstime)
{
    int rc = REAL(pthread_mutex_trylock)(mutex);
    if (rc != EBUSY || !st_active())
        return rc != EBUSY ? rc : REAL(pthread_mutex_clocklock)(mutex, clock, abstime);
    WAIT_BEGIN(ST_WAIT_MUTEX_CLOCKLOCK, mutex, -1, st_timeout_until(clock, abstime));
    rc = REAL(pthread_mutex_clocklock)(mutex, clock, abstime);
    WAIT_END(rc == ETIMEDOUT);
    return rc;
}

/* A reader may not be let in by trylock where lock would wait its turn
 * behind a writer, and the other way round: both end in the real lock. */
#define RWLOCK_HOOK(name, try_name, call)                                                  \
    INTERPOSER int name(pthread_rwlock_t *lock)                                            \
    {                                                                                      \
        int rc = REAL(try_name)(lock);                                                     \
        if (rc != EBUSY || !st_active())                                                   \
            return rc != EBUSY ? rc : REAL(name)(lock);                                    \
        WAIT_BEGIN(call, lock, -1, 0);                                                     \
        rc = REAL(name)(lock);                                                             \
        WAIT_END(false);                                                                   \
        return rc;                                                                         \
    }
RWLOCK_HOOK(pthread_rwlock_rdlock, pthread_rwlock_tryrdlock, ST_WAIT_RWLOCK_RDLOCK)
RWLOCK_HOOK(pthread_rwlock_wrlock, pthread_rwlock_trywrlock, ST_WAIT_RWLOCK_WRLOCK)

#define RWLOCK_TIMED_HOOK(name, try_name, call)                                            \
    INTERPOSER int name(pthread_rwlock_t *lock, const struct timespec *abstime)            \
    {                                                                                      \
        int rc = REAL(try_name)(lock);                                                     \
        if (rc != EBUSY || !st_active())                                                   \
            return rc != EBUSY ? rc : REAL(name)(lock, abstime);                           \
        WAIT_BEGIN(call, lock, -1, st_timeout_until(CLOCK_REALTIME, abstime));                        \
        rc = REAL(name)(lock, abstime);                                                    \
        WAIT_END(rc == ETIMEDOUT);                                                         \
        return rc;                                                                         \
    }
RWLOCK_TIMED_HOOK(pthread_rwlock_timedrdlock, pthread_rwlock_tryrdlock,
                  ST_WAIT_RWLOCK_TIMEDRDLOCK)
RWLOCK_TIMED_HOOK(pthread_rwlock_timedwrlock, pthread_rwlock_trywrlock,
                  ST_WAIT_RWLOCK_TIMEDWRLOCK)

/* A spinlock is an int, zero when free. */
INTERPOSER int pthread_spin_lock(pthread_spinlock_t *lock)
{
    if (ST_LIKELY(__atomic_load_n(lock, __ATOMIC_RELAXED) == 0) || !st_active())
        return REAL(pthread_spin_lock)(lock);
    WAIT_BEGIN(ST_WAIT_SPIN_LOCK, (const void *)lock, -1, 0);
    int rc = REAL(pthread_spin_lock)(lock);
    WAIT_END(false);
    return rc;
}

INTERPOSER int pthread_barrier_wait(pthread_barrier_t *barrier)
{
    if (!st_active())
        return REAL(pthread_barrier_wait)(barrier);
    WAIT_BEGIN(ST_WAIT_BARRIER_WAIT, barrier, -1, 0);
    int rc = REAL(pthread_barrier_wait)(barrier);
    WAIT_END(false);
    return rc;
}

/* ---- semaphores: sem_trywait fails with EAGAIN, which the caller must
 * not see ---- */

static bool sem_taken_at_once(sem_t *sem)
{
    int saved = errno;
    bool taken = REAL(sem_trywait)(sem) == 0;
    errno = saved;
    return taken;
}

INTERPOSER int sem_wait(sem_t *sem)
{
    if (sem_taken_at_once(sem))
        return 0;
    if (!st_active())
        return REAL(sem_wait)(sem);
    WAIT_BEGIN(ST_WAIT_SEM_WAIT, sem, -1, 0);
    int rc = REAL(sem_wait)(sem);
    WAIT_END(false);
    return rc;
}

INTERPOSER int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
    if (sem_taken_at_once(sem))
        return 0;
    if (!st_active())
        return REAL(sem_timedwait)(sem, abstime);
    WAIT_BEGIN(ST_WAIT_SEM_TIMEDWAIT, sem, -1, st_timeout_until(CLOCK_REALTIME, abstime));
    int rc = REAL(sem_timedwait)(sem, abstime);
    WAIT_END(rc != 0 && errno == ETIMEDOUT);
    return rc;
}

INTERPOSER int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    if (sem_taken_at_once(sem))
        return 0;
    if (!st_active())
        return REAL(sem_clockwait)(sem, clock, abstime);
    WAIT_BEGIN(ST_WAIT_SEM_CLOCKWAIT, sem, -1, st_timeout_until(clock, abstime));
    int rc = REAL(sem_clockwait)(sem, clock, abstime);
    WAIT_END(rc != 0 && errno == ETIMEDOUT);
    return rc;
}

/* ---- I/O ---- */

ST_HOT INTERPOSER ssize_t read(int fd, void *buf, size_t len)
{
    if (!st_active())
        return REAL(read)(fd, buf, len);
    WAIT_BEGIN(ST_WAIT_READ, NULL, fd, 0);
    ssize_t n = REAL(read)(fd, buf, len);
    WAIT_END(false);
    return n;
}

INTERPOSER ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    if (!st_active())
        return REAL(recv)(fd, buf, len, flags);
    WAIT_BEGIN(ST_WAIT_RECV, NULL, fd, 0);
    ssize_t n = REAL(recv)(fd, buf, len, flags);
    WAIT_END(false);
    return n;
}

INTERPOSER ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                            socklen_t *fromlen)
{
    if (!st_active())
        return REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
    WAIT_BEGIN(ST_WAIT_RECVFROM, NULL, fd, 0);
    ssize_t n = REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
    WAIT_END(false);
    return n;
}

INTERPOSER int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (!st_active() || timeout == 0)
        return REAL(poll)(fds, n, timeout);
    WAIT_BEGIN(ST_WAIT_POLL, NULL, n == 1 ? fds[0].fd : -1, st_timeout_ms(timeout));
    int rc = REAL(poll)(fds, n, timeout);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                     const sigset_t *mask)
{
    if (!st_active() || (timeout && !timeout->tv_sec && !timeout->tv_nsec))
        return REAL(ppoll)(fds, n, timeout, mask);
    WAIT_BEGIN(ST_WAIT_PPOLL, NULL, n == 1 ? fds[0].fd : -1, st_timeout_of(timeout));
    int rc = REAL(ppoll)(fds, n, timeout, mask);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
    if (!st_active() || (timeout && !timeout->tv_sec && !timeout->tv_usec))
        return REAL(select)(n, r, w, e, timeout);
    WAIT_BEGIN(ST_WAIT_SELECT, NULL, -1, st_timeout_of_timeval(timeout));
    int rc = REAL(select)(n, r, w, e, timeout);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
                       const sigset_t *mask)
{
    if (!st_active() || (timeout && !timeout->tv_sec && !timeout->tv_nsec))
        return REAL(pselect)(n, r, w, e, timeout, mask);
    WAIT_BEGIN(ST_WAIT_PSELECT, NULL, -1, st_timeout_of(timeout));
    int rc = REAL(pselect)(n, r, w, e, timeout, mask);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    if (!st_active() || timeout == 0)
        return REAL(epoll_wait)(epfd, events, max, timeout);
    WAIT_BEGIN(ST_WAIT_EPOLL_WAIT, NULL, epfd, st_timeout_ms(timeout));
    int rc = REAL(epoll_wait)(epfd, events, max, timeout);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout,
                           const sigset_t *mask)
{
    if (!st_active() || timeout == 0)
        return REAL(epoll_pwait)(epfd, events, max, timeout, mask);
    WAIT_BEGIN(ST_WAIT_EPOLL_PWAIT, NULL, epfd, st_timeout_ms(timeout));
    int rc = REAL(epoll_pwait)(epfd, events, max, timeout, mask);
    WAIT_END(rc == 0);
    return rc;
}

/* ---- sleeps: a sleep that runs its course counts as a timed-out wait, so
 * a loop of sleeps shows how long it has gone round ---- */

INTERPOSER int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!st_active())
        return REAL(nanosleep)(req, rem);
    WAIT_BEGIN(ST_WAIT_NANOSLEEP, NULL, -1, st_timeout_of(req));
    int rc = REAL(nanosleep)(req, rem);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                               struct timespec *rem)
{
    if (!st_active())
        return REAL(clock_nanosleep)(clock, flags, req, rem);
    uint64_t t = !req ? 0 : (flags & TIMER_ABSTIME) ? st_timeout_until(clock, req) : st_timeout_of(req);
    WAIT_BEGIN(ST_WAIT_CLOCK_NANOSLEEP, NULL, -1, t);
    int rc = REAL(clock_nanosleep)(clock, flags, req, rem);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER unsigned int sleep(unsigned int seconds)
{
    if (!st_active())
        return REAL(sleep)(seconds);
    WAIT_BEGIN(ST_WAIT_SLEEP, NULL, -1, (uint64_t)seconds * 1000000000u);
    unsigned int left = REAL(sleep)(seconds);
    WAIT_END(left == 0);
    return left;
}

INTERPOSER int usleep(useconds_t usec)
{
    if (!st_active())
        return REAL(usleep)(usec);
    WAIT_BEGIN(ST_WAIT_USLEEP, NULL, -1, (uint64_t)usec * 1000u);
    int rc = REAL(usleep)(usec);
    WAIT_END(rc == 0);
    return rc;
}

INTERPOSER int pause(void)
{
    if (!st_active())
        return REAL(pause)();
    WAIT_BEGIN(ST_WAIT_PAUSE, NULL, -1, 0);
    int rc = REAL(pause)();
    WAIT_END(false);
    return rc;
}

/* ---- signals, children, System V IPC ---- */

INTERPOSER int sigwait(const sigset_t *set, int *sig)
{
    if (!st_active())
        return REAL(sigwait)(set, sig);
    CORE(st_watchdog_program_waits(set));
    WAIT_BEGIN(ST_WAIT_SIGWAIT, NULL, -1, 0);
    int rc = REAL(sigwait)(set, sig);
    WAIT_END(false);
    return rc;
}

INTERPOSER int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    if (!st_active())
        return REAL(sigtimedwait)(set, info, timeout);
    CORE(st_watchdog_program_waits(set));
    WAIT_BEGIN(ST_WAIT_SIGTIMEDWAIT, NULL, -1, st_timeout_of(timeout));
    int rc = REAL(sigtimedwait)(set, info, timeout);
    WAIT_END(rc < 0 && errno == EAGAIN);
    return rc;
}

INTERPOSER int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    if (!st_active())
        return REAL(sigwaitinfo)(set, info);
    CORE(st_watchdog_program_waits(set));
    WAIT_BEGIN(ST_WAIT_SIGWAITINFO, NULL, -1, 0);
    int rc = REAL(sigwaitinfo)(set, info);
    WAIT_END(false);
    return rc;
}

INTERPOSER pid_t waitpid(pid_t pid, int *status, int options)
{
    if (!st_active() || (options & WNOHANG))
        return REAL(waitpid)(pid, status, options);
    WAIT_BEGIN(ST_WAIT_WAITPID, NULL, -1, 0);
    pid_t rc = REAL(waitpid)(pid, status, options);
    WAIT_END(false);
    return rc;
}

INTERPOSER pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    if (!st_active() || (options & WNOHANG))
        return REAL(wait4)(pid, status, options, usage);
    WAIT_BEGIN(ST_WAIT_WAIT4, NULL, -1, 0);
    pid_t rc = REAL(wait4)(pid, status, options, usage);
    WAIT_END(false);
    return rc;
}

INTERPOSER ssize_t msgrcv(int id, void *msg, size_t size, long type, int flags)
{
    if (!st_active() || (flags & IPC_NOWAIT))
        return REAL(msgrcv)(id, msg, size, type, flags);
    WAIT_BEGIN(ST_WAIT_MSGRCV, NULL, -1, 0);
    ssize_t rc = REAL(msgrcv)(id, msg, size, type, flags);
    WAIT_END(false);
    return rc;
}

INTERPOSER int semop(int id, struct sembuf *ops, size_t n)
{
    if (!st_active())
        return REAL(semop)(id, ops, n);
    WAIT_BEGIN(ST_WAIT_SEMOP, NULL, -1, 0);
    int rc = REAL(semop)(id, ops, n);
    WAIT_END(false);
    return rc;
}
