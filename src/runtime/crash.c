/* The crash handler; see crash.h. A crash is a signal about to end the
 * process: its action is the default one (or SIG_IGN for a fault, which
 * the kernel does not let a program ignore), or the program's own handler
 * made it so (restored SIG_DFL and raised it again, SA_RESETHAND, or
 * abort() after a SIGABRT handler returned). A signal the program's handler
 * deals with (a JVM's null check, a wasm bounds trap, a siglongjmp out) is
 * no crash and leaves no trace. Only the first crash writes a report; a
 * crash inside strays itself (its guard is up) writes none, so the process
 * still ends with the original signal. The report is built without libdw
 * (it allocates, and the crash may be inside malloc): function names come
 * from the ELF symbol tables (symbolize_elf.c). */
#define _GNU_SOURCE
#include "runtime/crash.h"

#include "base/options.h"
#include "base/libc.h"
#include "base/signals.h"
#include "base/st.h"
#include "base/sys.h"
#include "runtime/runtime.h"
#include "track/modules.h"
#include "track/stack.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALT_STACK_SIZE (64 * 1024) /* SIGSTKSZ is no longer a constant */

static int crashed;

/* The signal whose report this thread is writing, 0 when none. */
static ST_TLS int reporting;

/* The program's own handler for a crash signal running on this thread
 * (called from strays' handler): its signal, strays' frame below it, and
 * whether the handler runs with its signal unblocked. */
static ST_TLS struct {
    int sig;
    bool nodefer;
    uintptr_t frame;
} in_handler;

/* glibc's abort(): [lo, hi). */
ST_HOT_DATA static uintptr_t abort_lo, abort_hi;

static bool is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

/* A fault re-executes the faulting instruction when its handler returns; a
 * signal sent with kill, raise or abort (si_code <= 0) does not. */
static bool comes_back(int sig, const siginfo_t *info) { return is_fault(sig) && info->si_code > 0; }

/* Whether the kernel, given the program's action, ends the process: the
 * default action of every crash signal does; SIG_IGN does not, except for
 * a fault, whose signal the kernel forces through. */
static bool ends_process(const struct sigaction *action, int sig, const siginfo_t *info)
{
    if (st_signal_is_handler(action))
        return false;
    return action->sa_handler == SIG_DFL || comes_back(sig, info);
}

/* Gives the signal to its default action (or SIG_IGN), for real. */
static void pass_on(int sig, const siginfo_t *info)
{
    st_guard_enter();
    st_signal_release(sig);
    st_guard_leave();
    /* A fault meets the action again when the instruction re-executes; a
     * sent signal must be sent again. It stays pending until this handler
     * returns. */
    if (!comes_back(sig, info))
        st_sys_tgkill(getpid(), st_gettid(), sig);
}

/* strays itself crashed while writing the report of sig: the process must
 * still end with sig, not with strays' own fault. */
static void die_of(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    st_libc_sigaction(sig, &dfl, NULL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    st_sys_tgkill(getpid(), st_gettid(), sig);
    pthread_sigmask(SIG_UNBLOCK, &only, NULL);
    st_sys_exit_group(128 + sig); /* not reached: the default action of sig ends the process */
}

static void report(int sig, const siginfo_t *info, void *ucontext)
{
    if (__atomic_exchange_n(&crashed, 1, __ATOMIC_ACQ_REL) || st_guard_depth != 0 ||
        __atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) != ST_READY ||
        st_runtime_foreign_process())
        return;
    reporting = sig;
    st_guard_enter();
    st_runtime_crash_report(sig, is_fault(sig) ? (uintptr_t)info->si_addr : 0, ucontext);
    st_guard_leave();
    reporting = 0;
}

/* Whether this thread has sig pending: raised again from inside the
 * program's handler, blocked until the handler returns. */
static bool pending(int sig)
{
    sigset_t set;
    return sigpending(&set) == 0 && sigismember(&set, sig) == 1;
}

/* Whether this SIGABRT comes from glibc's abort(). After a handler
 * returns, abort() puts SIGABRT back to SIG_DFL with its internal
 * sigaction (strays' hook never sees it) and raises it again: the process
 * dies then, and strays would not be called. */
static bool from_abort(int sig)
{
    if (sig != SIGABRT || !abort_lo)
        return false;
    uintptr_t frames[24];
    int n = st_stack_capture_crashing(frames, (int)ST_ARRAY_LEN(frames));
    for (int i = 0; i < n; i++)
        if (frames[i] >= abort_lo && frames[i] < abort_hi)
            return true;
    return false;
}

/* The program's handler has run and returned: did it make the signal fatal? */
static bool made_fatal(int sig, const siginfo_t *info)
{
    struct sigaction now;
    st_signal_program_action(sig, &now);
    /* Restored the default and raised it again (or SA_RESETHAND and a
     * fault that comes back: that one reaches this handler again). */
    if (ends_process(&now, sig, info) && pending(sig))
        return true;
    return from_abort(sig);
}

static void run_program_handler(int sig, siginfo_t *info, void *ucontext, bool nodefer)
{
    char frame;
    in_handler.sig = sig;
    in_handler.nodefer = nodefer;
    in_handler.frame = (uintptr_t)&frame;
    st_signal_chain(sig, info, ucontext);
    in_handler.sig = 0; /* not reached when the handler jumps out (siglongjmp) */
}

static void on_crash(int sig, siginfo_t *info, void *ucontext)
{
    int saved = errno;
    if (reporting)
        die_of(reporting);
    struct sigaction action;
    st_signal_program_action(sig, &action);
    if (ends_process(&action, sig, info)) {
        report(sig, info, ucontext);
        pass_on(sig, info);
    } else if (st_signal_is_handler(&action)) {
        run_program_handler(sig, info, ucontext, action.sa_flags & SA_NODEFER);
        saved = errno; /* what the program's handler left */
        if (made_fatal(sig, info)) {
            report(sig, info, ucontext);
            st_signal_release(sig); /* the pending signal meets its default action */
        }
    } else if (from_abort(sig)) {
        report(sig, info, ucontext); /* ignored, but abort() does not give up */
    }
    errno = saved;
}

ST_EVERY_PROCESS
bool st_crash_in_program_handler(void)
{
    int sig = in_handler.sig;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (!sig || sp >= in_handler.frame || in_handler.frame - sp > (1u << 20))
        return false; /* none, or the handler jumped out of it long ago */
    sigset_t now;
    if (in_handler.nodefer || pthread_sigmask(SIG_SETMASK, NULL, &now) != 0)
        return true;
    return sigismember(&now, sig) == 1; /* a siglongjmp out would have unblocked it */
}

/* The main thread's alternate stack: in .lbss, not mapped at start (a system
 * call and a mapping in every process); its pages are touched only when a
 * crash handler runs on it. */
static char alt_stack[ALT_STACK_SIZE] ST_LARGE_BSS __attribute__((aligned(64)));

static void alt_stack_for_this_thread(void)
{
    stack_t current;
    if (st_sys_sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE))
        return; /* the program has one, or this ran before */
    stack_t ss = {.ss_sp = alt_stack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    st_sys_sigaltstack(&ss, NULL);
}

/* Where glibc's abort() lies, looked up now: not in a signal handler. */
static void find_abort(void)
{
    static const char name[] ST_EVERY_PROCESS_DATA = "abort";
    void *fn = dlsym(RTLD_NEXT, name);
    uintptr_t lo, hi;
    if (fn && st_modules_function_extent((uintptr_t)fn, name, &lo, &hi) == 0) {
        abort_lo = lo;
        abort_hi = hi;
    }
}

ST_EVERY_PROCESS
int st_crash_install(void)
{
    static const int always[] ST_EVERY_PROCESS_DATA = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    alt_stack_for_this_thread();
    find_abort();
    int rc = 0;
    for (size_t i = 0; i < ST_ARRAY_LEN(always); i++)
        if (!rc)
            rc = st_signal_take(always[i], on_crash, SA_ONSTACK, NULL, NULL);
    if (!rc && st_opt.catch_term) {
        rc = st_signal_take(SIGTERM, on_crash, SA_ONSTACK, NULL, NULL);
        if (!rc)
            rc = st_signal_take(SIGINT, on_crash, SA_ONSTACK, NULL, NULL);
    }
    return rc;
}
