/* The watchdog thread; see watchdog.h. It sleeps in poll on a private
 * eventfd: the dump signal's handler writes to it (the one thing it does,
 * async-signal-safe), so any number of signals during a dump leave one
 * wake-up behind. The thread runs with every signal blocked and with the
 * recursion guard up for good, so nothing it does is tracked. */
#define _GNU_SOURCE
#include "runtime/watchdog.h"

#include "base/log.h"
#include "base/options.h"
#include "base/libc.h"
#include "base/signals.h"
#include "base/st.h"
#include "base/sys.h"
#include "report/metrics.h"
#include "collect/report_build.h"
#include "runtime/exhaustion.h"
#include "runtime/runtime.h"
#include "track/registry_thread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int wake_slot = -1; /* the eventfd, in the private fd table */
static int watchdog_tid;
static int running; /* 0 no thread, 1 starting or running */
static int signal_asked; /* the dump signal came: a wake-up may also be exhaustion.c's */
ST_HOT_DATA int st_watchdog_wanted;

static void dump(const char *reason)
{
    struct st_report_request req = {.reason = reason, .exit_status = -1,
                                     .symbolize = st_opt.symbolize};
    st_runtime_emit(&req, true);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread that started the watchdog blocked the dump signal: the program
 * takes that signal itself (sigwait, signalfd) and blocks it in every thread
 * it starts. The watchdog then blocks it too, or a signal sent to the
 * process would land on strays' thread and never reach the program. */
static bool starter_blocks_dump_signal;

static void *watchdog_main(void *arg)
{
    (void)arg;
    st_guard_enter();
    /* Named, so `strays dump` can send the dump signal to this thread alone
     * (then it interrupts none of the program's sleeps); that one signal is
     * the only one it takes. */
    prctl(PR_SET_NAME, "strays-watchdog");
    if (st_opt.dump_signal && !starter_blocks_dump_signal) {
        sigset_t dump_only;
        sigemptyset(&dump_only);
        sigaddset(&dump_only, st_opt.dump_signal);
        pthread_sigmask(SIG_UNBLOCK, &dump_only, NULL);
    }
    st_thread_own_add(st_gettid());
    __atomic_store_n(&watchdog_tid, st_gettid(), __ATOMIC_RELEASE);
    uint64_t interval = st_opt.dump_interval;
    uint64_t next = interval ? now_ns() + interval : 0;
    for (;;) {
        int timeout = -1;
        if (interval) {
            uint64_t t = now_ns();
            timeout = next > t ? (int)((next - t + 999999) / 1000000) : 0;
        }
        int wake_fd = st_fd_private(wake_slot);
        struct pollfd p = {.fd = wake_fd, .events = POLLIN};
        long n = st_sys_poll(&p, 1, timeout);
        if (n > 0 && (p.revents & POLLIN)) {
            uint64_t count;
            st_sys_read(wake_fd, &count, sizeof count);
            st_exhaustion_dump_pending();
            if (__atomic_exchange_n(&signal_asked, 0, __ATOMIC_ACQ_REL))
                dump("signal");
        } else if (n == 0 && interval) {
            dump("interval");
            next += interval;
            if (next < now_ns())
                next = now_ns() + interval; /* a dump longer than the interval: no catching up */
        } else if (n < 0 && n != -EINTR) {
            st_logf("watchdog: poll failed (%s); live dumps stop", strerror((int)-n));
            return NULL;
        }
    }
}

/* The dump signal's handler: wake the watchdog, then the program's own
 * handler for the signal, if it installed one. */
static void on_dump_signal(int sig, siginfo_t *info, void *ucontext)
{
    int saved = errno;
    __atomic_store_n(&signal_asked, 1, __ATOMIC_RELEASE);
    st_watchdog_wake();
    errno = saved;
    st_signal_chain(sig, info, ucontext);
}

void st_watchdog_wake(void)
{
    uint64_t one = 1;
    int wake_fd = st_fd_private(wake_slot);
    if (wake_fd >= 0)
        st_sys_write(wake_fd, &one, sizeof one);
    /* No watchdog yet (a single-threaded program): the next hooked call
     * starts it, and it finds this wake-up waiting. */
    if (!__atomic_load_n(&running, __ATOMIC_RELAXED))
        __atomic_store_n(&st_watchdog_wanted, 1, __ATOMIC_RELAXED);
}

static int start_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    starter_blocks_dump_signal = st_opt.dump_signal && sigismember(&old, st_opt.dump_signal) == 1;
    if (starter_blocks_dump_signal && st_opt.verbosity >= 1)
        st_logf("the program blocks the dump signal (%d) itself; no live dumps by signal",
                st_opt.dump_signal);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = st_libc_pthread_create(&t, &attr, watchdog_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Wait until it knows its tid, so no report lists it as the program's. */
    for (int i = 0; rc == 0 && i < 1000 && !__atomic_load_n(&watchdog_tid, __ATOMIC_ACQUIRE); i++) {
        st_sys_sleep_ns(100000);
    }
    return -rc;
}

void st_watchdog_ensure(void)
{
    if (__atomic_load_n(&running, __ATOMIC_ACQUIRE) || wake_slot < 0)
        return;
    __atomic_store_n(&st_watchdog_wanted, 0, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&running, 1, __ATOMIC_ACQ_REL))
        return;
    st_guard_enter();
    if (start_thread() != 0) {
        __atomic_store_n(&running, 0, __ATOMIC_RELEASE);
        st_logf("cannot start the watchdog thread; no live dumps");
    }
    st_guard_leave();
}

int st_watchdog_start(void)
{
    if (!st_opt.dump_signal && !st_opt.dump_interval && !st_exhaustion_wanted())
        return 0;
    st_exhaustion_init();
    if (wake_slot < 0) {
        long fd = st_sys_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
            return (int)fd;
        wake_slot = st_fd_add_private(st_fd_hide((int)fd));
        if (wake_slot < 0)
            return -EMFILE;
    }
    /* A second thread costs a single-threaded program more than itself:
     * glibc drops its single-thread fast paths (locks without the lock
     * prefix, malloc without arena locks). So the watchdog starts only when
     * it has work: periodic dumps, the program's first thread, or the first
     * dump signal. */
    int rc = 0;
    if (st_opt.dump_interval)
        st_watchdog_ensure();
    if (st_opt.dump_signal)
        rc = st_signal_take(st_opt.dump_signal, on_dump_signal, SA_RESTART);
    return rc;
}

void st_watchdog_after_fork_child(void)
{
    /* Only the forking thread exists in the child, and starting a thread
     * there is not safe before exec: a forked child that goes on without
     * exec has no live dumps (its exit report is still written). */
    running = 1; /* never started here */
    __atomic_store_n(&watchdog_tid, 0, __ATOMIC_RELAXED);
}
