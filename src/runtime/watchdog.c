/* The watchdog thread; see watchdog.h. It sleeps in poll on a private
 * eventfd: the dump signal's handler writes to it (the one thing it does,
 * async-signal-safe), so any number of signals during a dump leave one
 * wake-up behind. The thread runs with every signal blocked but the dump
 * signal, and with the recursion guard up for good, so nothing it does is
 * tracked.
 *
 * The dump signal is strays' only while the program does not use it. When
 * the program installs a handler of its own for it, or a signal sent to the
 * process lands on the watchdog because every thread of the program blocks
 * it (it waits for it with sigwait or a signalfd), strays gives it back:
 * the watchdog blocks it first (so it never takes one meant for the
 * program), then the program's own action is installed for real, and a
 * signal strays took by mistake is queued again for the program. */
#define _GNU_SOURCE
#include "runtime/watchdog.h"

#include "base/log.h"
#include "base/options.h"
#include "base/libc.h"
#include "base/signals.h"
#include "base/st.h"
#include "base/sys.h"
#include "collect/report_build.h"
#include "collect/thread_stacks.h"
#include "runtime/exhaustion.h"
#include "runtime/runtime.h"
#include "track/registry_thread.h"
#include "track/stack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int wake_slot = -1; /* the eventfd, in the private fd table */
static int watchdog_tid;
static int running; /* 0 no thread, 1 starting or running (or never, in a fork child) */
ST_HOT_DATA int st_watchdog_wanted;

/* The dump signal, 0 when off; given_back once it is the program's. */
ST_HOT_DATA static int dump_sig;
static int given_back;

/* What the watchdog is woken for (bits of asked). */
enum { DO_DUMP = 1, DO_CHECK = 2 };
static int asked;
/* A signal sent to the process that the kernel gave to the watchdog: it
 * may be one no thread of the program takes. Kept for DO_CHECK. */
static siginfo_t landed ST_LARGE_BSS;

/* The watchdog's own mask: settled once it has decided whether it takes
 * the dump signal (takes), and blocks set when it has blocked it since. */
static int mask_settled, takes, blocks;

/* glibc's signal trampoline (__restore_rt): the return address of every
 * handler it runs, so a stack holding it is inside a signal handler. */
ST_HOT_DATA static uintptr_t restorer;

/* Async-signal-safe. Without a watchdog yet (a single-threaded program),
 * the next hooked call outside a signal handler starts it, and it finds
 * this wake-up waiting. */
static void wake(int what)
{
    __atomic_or_fetch(&asked, what, __ATOMIC_ACQ_REL);
    uint64_t one = 1;
    int fd = st_fd_private(wake_slot);
    if (fd >= 0)
        st_sys_write(fd, &one, sizeof one);
    if (!__atomic_load_n(&running, __ATOMIC_RELAXED))
        __atomic_store_n(&st_watchdog_wanted, 1, __ATOMIC_RELAXED);
}

void st_watchdog_wake(void) { wake(0); }

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

/* ------------------------------------------------- giving the signal back */

static bool said_default(void) { return dump_sig == st_signal_default_dump(); }

/* Said once, where the user chose the signal (or asked to hear more). */
static void say_given_back(const char *why)
{
    if (st_opt.verbosity < 1 && said_default())
        return;
    char name[32];
    st_signal_format(dump_sig, name, sizeof name);
    st_logf("%s %s, the dump signal: it is the program's; strays takes no live dumps by signal "
            "(dump_signal= chooses another)",
            why, name);
}

/* Waits (a little) for flag to be set; false if it was not. */
static bool wait_for(const int *flag)
{
    for (int i = 0; i < 10000 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
        st_sys_sleep_ns(100000);
    return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Has the watchdog block the dump signal, called from another thread:
 * sent to it, the signal's handler blocks it there (see pass_on). */
static void block_in_watchdog(void)
{
    if (!__atomic_load_n(&running, __ATOMIC_ACQUIRE) || !wait_for(&mask_settled) ||
        !__atomic_load_n(&takes, __ATOMIC_ACQUIRE) || __atomic_load_n(&blocks, __ATOMIC_ACQUIRE))
        return;
    st_sys_tgkill(getpid(), __atomic_load_n(&watchdog_tid, __ATOMIC_ACQUIRE), dump_sig);
    if (!wait_for(&blocks))
        st_logf("the watchdog did not block the dump signal in time; it may still take one");
}

/* From here on the dump signal is the program's. */
static void give_back(const char *why, bool on_watchdog)
{
    if (!dump_sig || __atomic_exchange_n(&given_back, 1, __ATOMIC_ACQ_REL))
        return;
    if (!on_watchdog)
        block_in_watchdog();
    st_signal_release(dump_sig);
    say_given_back(why);
}

/* The program installed a handler of its own for the dump signal (through
 * the sigaction hook, whose guard and errno save cover this). */
static void program_claims(int sig)
{
    (void)sig;
    give_back("the program installed its own handler for", false);
}

void st_watchdog_program_waits(const sigset_t *set)
{
    if (dump_sig && !__atomic_load_n(&given_back, __ATOMIC_ACQUIRE) &&
        sigismember(set, dump_sig) == 1)
        give_back("the program waits (sigwait, signalfd) for", false);
}

/* Puts a signal strays took by mistake back to the process, for the
 * program. The kernel lets a thread queue a signal that looks sent by kill
 * (si_code SI_USER) only to itself, so it goes as sigqueue's (SI_QUEUE)
 * with the sender's pid and uid: sigwaitinfo tells that apart, sigwait and
 * a handler without SA_SIGINFO do not. Async-signal-safe. */
static void requeue(int sig, const siginfo_t *info)
{
    siginfo_t again = *info;
    if (again.si_code >= 0 || again.si_code == SI_TKILL)
        again.si_code = SI_QUEUE;
    st_sys_sigqueueinfo(getpid(), sig, &again);
}

/* A dump signal after it was given back (it came meanwhile). On the
 * watchdog: blocked there for good, and queued again for the program,
 * unless it is strays' own request to block it. Elsewhere: what the
 * program's action says. */
static void pass_on(int sig, siginfo_t *info, ucontext_t *uc, bool on_watchdog)
{
    if (on_watchdog) {
        sigaddset(&uc->uc_sigmask, sig);
        __atomic_store_n(&blocks, 1, __ATOMIC_RELEASE);
        if (info->si_code != SI_TKILL || info->si_pid != getpid())
            requeue(sig, info);
        return;
    }
    if (st_signal_chain(sig, info, uc))
        return;
    struct sigaction action;
    st_signal_program_action(sig, &action);
    if (action.sa_handler == SIG_DFL) { /* as without strays: the default action */
        st_signal_release(sig);
        st_sys_tgkill(getpid(), st_gettid(), sig);
    }
}

/* Whether every thread of the program (strays' own left out) blocks sig:
 * a signal sent to the process can only be for its sigwait or signalfd. */
static bool every_program_thread_blocks(int sig)
{
    long dir = st_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dir < 0)
        return false;
    bool all = true, any = false;
    char buf[4096] __attribute__((aligned(8)));
    long n;
    while (all && (n = st_sys_getdents((int)dir, buf, sizeof buf)) > 0) {
        long off = 0;
        const struct dirent64 *d;
        while (all && (d = st_sys_dirent_next(buf, n, &off))) {
            char *end;
            long tid = strtol(d->d_name, &end, 10);
            if (*end || tid <= 0 || tid > INT_MAX || st_thread_is_own((int)tid))
                continue;
            any = true;
            all = st_thread_blocks_signal((int)tid, sig);
        }
    }
    st_sys_close((int)dir);
    return all && any;
}

/* A signal sent to the process landed on the watchdog (blocked there since,
 * see on_dump_signal): the program's, or a dump request. */
static bool check_landed(void)
{
    /* A thread in sigwait has the signal unblocked while it waits: the
     * sigwait hook gave the signal back before it began waiting, so that is
     * looked at after the masks. */
    bool all_block = every_program_thread_blocks(dump_sig);
    if (all_block || __atomic_load_n(&given_back, __ATOMIC_ACQUIRE)) {
        give_back("every thread of the program blocks", true);
        requeue(dump_sig, &landed); /* now for the program's sigwait */
        return false;
    }
    __atomic_store_n(&blocks, 0, __ATOMIC_RELEASE);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, dump_sig);
    pthread_sigmask(SIG_UNBLOCK, &only, NULL);
    return true;
}

/* ------------------------------------------------------------- the thread */

/* Blocks every signal but the dump signal (none once given back). */
static void settle_mask(void)
{
    sigset_t mask;
    sigfillset(&mask);
    if (dump_sig && !__atomic_load_n(&given_back, __ATOMIC_ACQUIRE)) {
        sigdelset(&mask, dump_sig);
        __atomic_store_n(&takes, 1, __ATOMIC_RELEASE);
    }
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    __atomic_store_n(&mask_settled, 1, __ATOMIC_RELEASE);
}

static void serve(int wake_fd)
{
    uint64_t count;
    st_sys_read(wake_fd, &count, sizeof count);
    st_exhaustion_dump_pending();
    int what = __atomic_exchange_n(&asked, 0, __ATOMIC_ACQ_REL);
    if ((what & DO_CHECK) && check_landed())
        what |= DO_DUMP;
    if (what & DO_DUMP)
        dump("signal");
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    st_guard_enter();
    /* Named, so `strays dump` can send the dump signal to this thread alone
     * (then it interrupts none of the program's sleeps). */
    prctl(PR_SET_NAME, "strays-watchdog");
    st_thread_own_add(st_gettid());
    __atomic_store_n(&watchdog_tid, st_gettid(), __ATOMIC_RELEASE);
    settle_mask();
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
            serve(wake_fd);
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

/* The dump signal's handler: a dump request wakes the watchdog. */
static void on_dump_signal(int sig, siginfo_t *info, void *ucontext)
{
    int saved = errno;
    ucontext_t *uc = ucontext;
    bool on_watchdog = st_gettid() == __atomic_load_n(&watchdog_tid, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&given_back, __ATOMIC_ACQUIRE)) {
        pass_on(sig, info, uc, on_watchdog);
    } else if (on_watchdog && info->si_code != SI_TKILL) {
        /* Sent to the process, and the kernel chose strays' thread: maybe
         * because every thread of the program blocks it. The watchdog looks,
         * with the signal blocked meanwhile. */
        landed = *info;
        sigaddset(&uc->uc_sigmask, sig);
        __atomic_store_n(&blocks, 1, __ATOMIC_RELEASE);
        wake(DO_CHECK);
    } else {
        wake(DO_DUMP);
    }
    errno = saved;
}

/* ----------------------------------------------------------- starting it */

/* Whether the caller runs inside a signal handler (its stack goes through
 * glibc's trampoline). A thread started there would be created in the
 * middle of whatever the handler interrupted. */
static bool in_signal_handler(void)
{
    if (!restorer)
        return false;
    uintptr_t frames[ST_STACK_MAX];
    int n = st_stack_capture_in_handler(frames, ST_STACK_MAX);
    for (int i = 0; i < n; i++)
        if (frames[i] - restorer < 16)
            return true;
    return false;
}

static int start_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = st_libc_pthread_create(&t, &attr, watchdog_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Its tid now, so no report lists it as the program's (it says so
     * itself too, when it first runs). */
    int tid = rc == 0 ? st_tid_of(t) : -1;
    if (tid > 0)
        st_thread_own_add(tid);
    /* Then a moment for it to run: the wake-up that asked for it (a dump
     * signal, a limit the program hit) is served before the program has
     * gone far (a second crossing of fd_warn would otherwise share the
     * first one's dump). Never in a signal handler: see st_watchdog_ensure. */
    for (int i = 0; rc == 0 && i < 1000 && !__atomic_load_n(&watchdog_tid, __ATOMIC_ACQUIRE); i++)
        st_sys_sleep_ns(100000);
    return -rc;
}

static void start(void)
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

void st_watchdog_ensure(void)
{
    /* This runs in st_active(), before the hook saves errno. */
    int saved = errno;
    if (!__atomic_load_n(&running, __ATOMIC_ACQUIRE) && wake_slot >= 0) {
        st_guard_enter();
        bool in_handler = in_signal_handler();
        st_guard_leave();
        if (!in_handler) /* else a later call, outside it, starts it */
            start();
    }
    errno = saved;
}

void st_watchdog_program_starts_a_thread(void)
{
    /* As safe a moment as the program's own pthread_create. */
    int saved = errno;
    start();
    errno = saved;
}

/* Takes the dump signal, unless the program already handles it (a handler
 * installed by a library's constructor before strays started). */
ST_EVERY_PROCESS
static int take_dump_signal(void)
{
    struct sigaction now;
    if (st_libc_sigaction(dump_sig, NULL, &now) == 0 && st_signal_is_handler(&now)) {
        __atomic_store_n(&given_back, 1, __ATOMIC_RELEASE);
        say_given_back("the program handles");
        return 0;
    }
    int rc = st_signal_take(dump_sig, on_dump_signal, SA_RESTART, NULL, program_claims);
    /* glibc installs every handler with its trampoline as the restorer. */
    if (rc == 0 && st_libc_sigaction(dump_sig, NULL, &now) == 0)
        restorer = (uintptr_t)now.sa_restorer;
    return rc;
}

ST_EVERY_PROCESS
int st_watchdog_start(void)
{
    dump_sig = st_opt.dump_signal;
    if (!dump_sig && !st_opt.dump_interval && !st_exhaustion_wanted())
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
    int rc = dump_sig ? take_dump_signal() : 0;
    /* A second thread costs a single-threaded program more than itself:
     * glibc drops its single-thread fast paths (locks without the lock
     * prefix, malloc without arena locks). So the watchdog starts only when
     * it has work: periodic dumps, the program's first thread, the first
     * dump signal, or a limit the program hits (exhaustion.h). */
    if (st_opt.dump_interval)
        start();
    return rc;
}

/* ------------------------------------------------------------------ fork */

static bool fork_from_one_thread;

ST_EVERY_FORK
void st_watchdog_before_fork(void)
{
    ST_STORE_IF_CHANGED(fork_from_one_thread, (bool)__libc_single_threaded);
}

/* The child's own wake-up eventfd, in place of the parent's (the same
 * object after fork: the child's signals would wake the parent's watchdog). */
ST_EVERY_FORK
static void new_wake_fd(void)
{
    int old = st_fd_private(wake_slot);
    long fd = st_sys_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (old < 0 || fd < 0)
        return;
    st_sys_dup3((int)fd, old, O_CLOEXEC);
    st_sys_close((int)fd);
}

ST_EVERY_FORK
void st_watchdog_after_fork_child(void)
{
    __atomic_store_n(&watchdog_tid, 0, __ATOMIC_RELAXED);
    mask_settled = takes = blocks = asked = 0;
    st_watchdog_wanted = 0;
    if (wake_slot >= 0)
        new_wake_fd();
    if (fork_from_one_thread) {
        running = 0; /* as in any single-threaded program: started when there is work */
        return;
    }
    /* Only the forking thread came along, and starting a thread in the
     * child of a threaded process before exec is not safe: no live dumps
     * here (the exit report is still written). The dump signal then does
     * what the program's action says, as without strays, and `strays dump`
     * sees that the process does not catch it. */
    running = 1;
    if (dump_sig && !__atomic_exchange_n(&given_back, 1, __ATOMIC_ACQ_REL))
        st_signal_release(dump_sig);
}
