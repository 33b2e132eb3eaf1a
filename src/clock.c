/* Time stamps and thread ids for records. Both sit on hot paths: the clock
 * is the coarse vDSO one, the tid is cached per thread. */
#include "st.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

ST_TLS int st_guard_depth;
static ST_TLS int cached_tid;
static uint64_t start_ns;

uint64_t st_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t st_uptime_ns(void)
{
    uint64_t now = st_now_ns();
    uint64_t start = __atomic_load_n(&start_ns, __ATOMIC_RELAXED);
    if (start == 0) {
        /* First use (normally strays' initialisation) fixes time zero. */
        uint64_t expected = 0;
        __atomic_compare_exchange_n(&start_ns, &expected, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
        start = __atomic_load_n(&start_ns, __ATOMIC_RELAXED);
    }
    return now > start ? now - start : 0;
}

int st_gettid(void)
{
    if (ST_UNLIKELY(cached_tid == 0))
        cached_tid = (int)syscall(SYS_gettid);
    return cached_tid;
}

void st_clock_after_fork(void)
{
    cached_tid = 0;
    __atomic_store_n(&start_ns, st_now_ns(), __ATOMIC_RELAXED);
}
