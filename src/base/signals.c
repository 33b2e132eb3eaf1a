/* Signals strays has taken over; see signals.h. The table is written at
 * initialisation and by the program's sigaction calls; handlers read it,
 * and write it only to emulate SA_RESETHAND. */
#define _GNU_SOURCE
#include "base/signals.h"

#include "base/libc.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

struct taken {
    bool taken;
    struct sigaction program; /* what the program asked for (or had) */
    st_signal_claim_fn on_claim;
};

static struct taken table[NSIG];

static bool valid(int sig) { return sig > 0 && sig < NSIG; }

int st_signal_take(int sig, st_signal_fn fn, int flags, const sigset_t *mask,
                   st_signal_claim_fn on_claim)
{
    if (!valid(sig))
        return -EINVAL;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    int rc = st_libc_sigaction(sig, &sa, &old);
    if (rc != 0)
        return rc;
    if (!table[sig].taken)
        table[sig].program = old;
    table[sig].on_claim = on_claim;
    __atomic_store_n(&table[sig].taken, true, __ATOMIC_RELEASE);
    return 0;
}

bool st_signal_taken(int sig)
{
    return valid(sig) && __atomic_load_n(&table[sig].taken, __ATOMIC_ACQUIRE);
}

bool st_signal_is_handler(const struct sigaction *action)
{
    /* sa_handler and sa_sigaction share their storage. */
    return action->sa_handler != SIG_DFL && action->sa_handler != SIG_IGN;
}

void st_signal_program_sets(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (old)
        *old = table[sig].program;
    if (!act)
        return;
    table[sig].program = *act;
    if (st_signal_is_handler(act) && table[sig].on_claim)
        table[sig].on_claim(sig);
}

void st_signal_program_action(int sig, struct sigaction *out)
{
    if (st_signal_taken(sig))
        *out = table[sig].program;
    else
        st_libc_sigaction(sig, NULL, out);
}

/* What the kernel does on delivery to a handler with SA_RESETHAND: the
 * action becomes SIG_DFL before the handler runs (sigaction(2)). */
static void reset_to_default(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    table[sig].program = dfl;
}

bool st_signal_chain(int sig, siginfo_t *info, void *ucontext)
{
    if (!st_signal_taken(sig))
        return false;
    struct sigaction p = table[sig].program;
    if (!st_signal_is_handler(&p))
        return false;
    if (p.sa_flags & SA_RESETHAND)
        reset_to_default(sig);
    /* The mask the program's handler would have run with: the one the
     * signal interrupted, its sa_mask, and sig itself unless SA_NODEFER. */
    sigset_t mask, before;
    sigorset(&mask, &((ucontext_t *)ucontext)->uc_sigmask, &p.sa_mask);
    if (p.sa_flags & SA_NODEFER)
        sigdelset(&mask, sig);
    else
        sigaddset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, &before);
    if (p.sa_flags & SA_SIGINFO)
        p.sa_sigaction(sig, info, ucontext);
    else
        p.sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return true;
}

void st_signal_format(int sig, char *buf, size_t len)
{
    const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX && sig - SIGRTMIN <= SIGRTMAX - sig)
        snprintf(buf, len, sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+%d", sig - SIGRTMIN);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, len, sig == SIGRTMAX ? "SIGRTMAX" : "SIGRTMAX-%d", SIGRTMAX - sig);
    else
        snprintf(buf, len, "%d", sig);
}

void st_signal_release(int sig)
{
    if (!st_signal_taken(sig))
        return;
    __atomic_store_n(&table[sig].taken, false, __ATOMIC_RELEASE);
    st_libc_sigaction(sig, &table[sig].program, NULL);
}
