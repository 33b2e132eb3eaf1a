/* The crash handler; see crash.h. Only the first crashing thread writes a
 * report; a crash inside strays itself (its guard is up) skips the report,
 * so the process still ends with the original signal. The report is built
 * without libdw (it allocates, and the crash may be inside malloc):
 * function names come from the ELF symbol tables (symbolize_elf.c). */
#define _GNU_SOURCE
#include "runtime/crash.h"

#include "base/options.h"
#include "base/libc.h"
#include "base/signals.h"
#include "base/st.h"
#include "base/sys.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALT_STACK_SIZE (64 * 1024) /* SIGSTKSZ is no longer a constant */

static int crashed;

static bool is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

/* Gives the signal to whoever would have had it without strays. */
static void pass_on(int sig, siginfo_t *info, void *ucontext)
{
    if (st_signal_chain(sig, info, ucontext))
        return; /* the program's handler ran; what happens next is its business */
    st_guard_enter();
    st_signal_release(sig); /* its SIG_DFL or SIG_IGN, for real */
    st_guard_leave();
    /* A fault re-executes the faulting instruction on return and meets the
     * default action there; a sent signal (kill, raise, abort) must be sent
     * again. It stays pending until this handler returns. */
    if (!is_fault(sig) || info->si_code <= 0)
        st_sys_tgkill(getpid(), st_gettid(), sig);
}

/* The signal whose report this thread is writing, 0 when none. */
static ST_TLS int reporting;

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

static void on_crash(int sig, siginfo_t *info, void *ucontext)
{
    int saved = errno;
    if (reporting)
        die_of(reporting);
    if (!__atomic_exchange_n(&crashed, 1, __ATOMIC_ACQ_REL) && st_guard_depth == 0 &&
        __atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_READY &&
        !st_runtime_foreign_process()) {
        reporting = sig;
        st_guard_enter();
        st_runtime_crash_report(sig, is_fault(sig) ? (uintptr_t)info->si_addr : 0, ucontext);
        st_guard_leave();
        reporting = 0;
    }
    errno = saved;
    pass_on(sig, info, ucontext);
}

static void alt_stack_for_this_thread(void)
{
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE))
        return; /* the program has one */
    void *mem = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = mem, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    sigaltstack(&ss, NULL);
}

int st_crash_install(void)
{
    static const int always[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    alt_stack_for_this_thread();
    int rc = 0;
    for (size_t i = 0; i < ST_ARRAY_LEN(always); i++)
        if (!rc)
            rc = st_signal_take(always[i], on_crash, SA_ONSTACK);
    if (!rc && st_opt.catch_term) {
        rc = st_signal_take(SIGTERM, on_crash, SA_ONSTACK);
        if (!rc)
            rc = st_signal_take(SIGINT, on_crash, SA_ONSTACK);
    }
    return rc;
}
