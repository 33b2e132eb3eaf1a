/* Dumps at a limit; see exhaustion.h. At most one "exhausted" dump per
 * kind per EXHAUSTED_INTERVAL: a service stuck at its fd limit retries
 * accept thousands of times a second, and one dump a minute says as much
 * as all of them (each counts the failures since the previous one). fd_warn
 * fires once per crossing and is re-armed when a created fd's number falls
 * below 90% of the threshold, so a count hovering at it does not flap. */
#define _GNU_SOURCE
#include "runtime/exhaustion.h"

#include "base/options.h"
#include "base/sys.h"
#include "collect/report_build.h"
#include "runtime/runtime.h"
#include "runtime/watchdog.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#define EXHAUSTED_INTERVAL_NS (60ull * 1000000000u)
#define DUMPING (-1) /* a limit's pending state while its dump is taken */

struct limit {
    int pending;      /* the errno of a failure not yet dumped, 0, or DUMPING */
    uint32_t hits;    /* failures since the last dump of this kind */
    uint64_t last_ns; /* when the last dump of this kind was written, 0: never */
};

static struct limit limits[ST_LIMIT_KINDS];
static const char *const kind_names[ST_LIMIT_KINDS] = {"fds", "threads", "timers"};
static const int rlimits[ST_LIMIT_KINDS] = {RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_SIGPENDING};

ST_HOT_DATA int st_fd_warn_lo = 0, st_fd_warn_hi = INT_MAX;
static int warn_armed = 1;
static int warn_pending; /* the fd that crossed, plus one; 0: none */

bool st_exhaustion_wanted(void)
{
    return st_opt.exhausted_dump || st_opt.fd_warn;
}

bool st_exhaustion_too_soon(uint64_t now, uint64_t last)
{
    /* last is the dump's time | 1: within the same tick of the coarse clock
     * it lies past now, where now - last would wrap around to a huge
     * interval and let a second dump through. */
    return last && now < last + EXHAUSTED_INTERVAL_NS;
}

void st_exhaustion_hit(enum st_limit_kind kind, int err)
{
    struct limit *l = &limits[kind];
    __atomic_add_fetch(&l->hits, 1, __ATOMIC_RELAXED);
    if (!st_opt.exhausted_dump) return;
    if (st_exhaustion_too_soon(st_now_ns(), __atomic_load_n(&l->last_ns, __ATOMIC_RELAXED)))
        return;
    int none = 0;
    if (__atomic_compare_exchange_n(&l->pending, &none, err, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        st_watchdog_wake();
}

/* The threshold for fd_warn from the soft RLIMIT_NOFILE now; 0: none. */
ST_EVERY_PROCESS
static int threshold(void)
{
    struct rlimit nofile;
    if (!st_opt.fd_warn || st_sys_getrlimit(RLIMIT_NOFILE, &nofile) != 0 ||
        nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > INT_MAX)
        return 0;
    int at = (int)(nofile.rlim_cur * (unsigned)st_opt.fd_warn / 100u);
    return at > 3 ? at : 0;
}

/* The window of fd numbers that change nothing, in the state armed. */
ST_EVERY_PROCESS
static void set_window(int at, bool armed)
{
    int lo = !at || armed ? 0 : at - at / 10, hi = at && armed ? at : INT_MAX;
    __atomic_store_n(&st_fd_warn_lo, lo, __ATOMIC_RELAXED);
    __atomic_store_n(&st_fd_warn_hi, hi, __ATOMIC_RELAXED);
}

ST_EVERY_PROCESS
void st_exhaustion_init(void)
{
    set_window(threshold(), __atomic_load_n(&warn_armed, __ATOMIC_ACQUIRE));
}

void st_exhaustion_fd_outside(int fd)
{
    /* The limit is read again here, rarely: a program that raised its own
     * RLIMIT_NOFILE after start is not warned at the old threshold. */
    int at = threshold();
    bool crossed = at && fd >= at;
    int from = crossed ? 1 : 0;
    if (!at || !__atomic_compare_exchange_n(&warn_armed, &from, !from, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
        set_window(at, __atomic_load_n(&warn_armed, __ATOMIC_ACQUIRE));
        return; /* below a raised threshold, or another thread was first */
    }
    set_window(at, !crossed);
    if (crossed) {
        __atomic_store_n(&warn_pending, fd + 1, __ATOMIC_RELEASE);
        st_watchdog_wake();
    }
}

/* -1: unlimited. */
static int64_t soft_limit(enum st_limit_kind kind)
{
    struct rlimit rl;
    if (st_sys_getrlimit(rlimits[kind], &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > INT64_MAX)
        return -1;
    return (int64_t)rl.rlim_cur;
}

static void dump(const char *reason, enum st_limit_kind kind, int err, int fd)
{
    struct st_report_limit limit = {
        .present = true,
        .kind = kind_names[kind],
        .error = err ? strerrorname_np(err) : NULL,
        .rlimit = soft_limit(kind),
        .hits = err ? __atomic_exchange_n(&limits[kind].hits, 0, __ATOMIC_RELAXED) : 0,
        .fd = fd,
        .warn_percent = fd >= 0 ? st_opt.fd_warn : 0,
    };
    struct st_report_request req = {
        .reason = reason, .exit_status = -1, .symbolize = st_opt.symbolize, .limit = &limit};
    st_runtime_emit(&req, true);
}

void st_exhaustion_dump_pending(void)
{
    for (int kind = 0; kind < ST_LIMIT_KINDS; kind++) {
        struct limit *l = &limits[kind];
        int err = __atomic_load_n(&l->pending, __ATOMIC_ACQUIRE);
        /* DUMPING until the interval has started: failures meanwhile are
         * counted for the next dump, not dumped again. */
        if (err <= 0 || !__atomic_compare_exchange_n(&l->pending, &err, DUMPING, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        __atomic_store_n(&l->last_ns, st_now_ns() | 1, __ATOMIC_RELAXED);
        __atomic_store_n(&l->pending, 0, __ATOMIC_RELEASE);
        dump("exhausted", (enum st_limit_kind)kind, err, -1);
    }
    int crossed = __atomic_exchange_n(&warn_pending, 0, __ATOMIC_ACQ_REL);
    if (crossed) dump("fd_warn", ST_LIMIT_FDS, 0, crossed - 1);
    st_exhaustion_init(); /* the program may have changed RLIMIT_NOFILE */
}
