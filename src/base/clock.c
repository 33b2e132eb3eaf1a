/* Time stamps and thread ids for records. Both sit on hot paths: the clock
 * is the coarse vDSO one, the tid is cached per thread. */
#include "base/st.h"

#include "base/sys.h"

#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

ST_TLS int st_guard_depth;
ST_TLS int st_cached_tid;
ST_HOT_DATA uint64_t st_start_ns;

ST_HOT uint64_t st_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ST_EVERY_PROCESS
uint64_t st_now_ns_by_syscall(void)
{
    struct timespec ts = {0, 0};
    st_sys_clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ST_EVERY_PROCESS
uint64_t st_uptime_ns_first(uint64_t now)
{
    /* First use (normally strays' initialisation) fixes time zero. */
    uint64_t expected = 0;
    __atomic_compare_exchange_n(&st_start_ns, &expected, now, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
    uint64_t start = __atomic_load_n(&st_start_ns, __ATOMIC_RELAXED);
    return now > start ? now - start : 0;
}

ST_TLS int *st_errno_ptr;

int *st_errno_first(void)
{
    st_errno_ptr = &errno;
    return st_errno_ptr;
}

/* glibc keeps every thread's kernel tid in its descriptor (the kernel
 * writes it there at clone), and pthread_getcpuclockid encodes it in the
 * clock id it returns, following the kernel's CPU-clock ABI: ~tid << 3 |
 * CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2); see glibc's
 * kernel-posix-cpu-timers.h and the kernel's CPUCLOCK_PID(). That reads
 * the tid without a system call, which matters: gettid(2) costs about a
 * microsecond in some VMs, more than all the rest of a thread's bookkeeping.
 * The encoding is checked once against gettid(2) before it is trusted. */
static int tid_from_clock(pthread_t thread)
{
    clockid_t clock;
    if (pthread_getcpuclockid(thread, &clock) != 0 || (clock & 7) != 6)
        return -1;
    return ~(clock >> 3);
}

/* 0 unchecked, 1 the clock id is right, -1 it is not: use the syscall. */
ST_HOT_DATA static int clock_ok;

/* Checks the encoding on the calling thread, once. Not on the way of a
 * process's first tid (its exit claims one): pthread_self and
 * pthread_getcpuclockid lie on two pages of libc's code that a small
 * program never touches, and a forked child would fault them in again. */
static int clock_check(void)
{
    int ok = __atomic_load_n(&clock_ok, __ATOMIC_RELAXED);
    if (ok == 0) {
        ok = tid_from_clock(pthread_self()) == (int)st_sys_gettid() ? 1 : -1;
        __atomic_store_n(&clock_ok, ok, __ATOMIC_RELAXED);
    }
    return ok;
}

ST_EVERY_PROCESS
static int tid_uncached(void)
{
    if (__atomic_load_n(&clock_ok, __ATOMIC_RELAXED) > 0) {
        int tid = tid_from_clock(pthread_self());
        if (ST_LIKELY(tid > 0))
            return tid;
    }
    return (int)st_sys_gettid();
}

int st_tid_of(pthread_t thread)
{
    return clock_check() > 0 ? tid_from_clock(thread) : -1;
}

ST_EVERY_PROCESS
int st_gettid_slow(void)
{
    st_cached_tid = tid_uncached();
    return st_cached_tid;
}

ST_EVERY_FORK
void st_clock_after_fork(void)
{
    st_cached_tid = 0;
    /* By system call: the vDSO's pages would be faulted in again (sys.h). */
    __atomic_store_n(&st_start_ns, st_now_ns_by_syscall(), __ATOMIC_RELAXED);
}
