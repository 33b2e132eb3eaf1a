/* Signals strays has taken over; see signals.h. The table is written at
 * initialisation and by the program's sigaction calls; handlers read it,
 * and write it only to emulate SA_RESETHAND. */
#define _GNU_SOURCE
#include "base/signals.h"

#include "base/st.h"
#include "base/libc.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

/* A sigaction as the kernel keeps it: glibc passes the first 64 bits of
 * sa_mask to the kernel and gives back only those (its sigaction.c). */
struct action {
    void (*handler)(int, siginfo_t *, void *);
    void (*restorer)(void);
    uint64_t mask;
    int flags;
};

struct taken {
    bool taken;
    struct action program; /* what the program asked for (or had) */
    st_signal_claim_fn on_claim;
};

ST_EVERY_PROCESS
static struct action packed(const struct sigaction *sa)
{
    struct action a = {.handler = sa->sa_sigaction, .restorer = sa->sa_restorer,
                       .flags = sa->sa_flags};
    memcpy(&a.mask, &sa->sa_mask, sizeof a.mask);
    return a;
}

static struct sigaction unpacked(const struct action *a)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = a->handler;
    sa.sa_restorer = a->restorer;
    sa.sa_flags = a->flags;
    memcpy(&sa.sa_mask, &a->mask, sizeof a->mask);
    return sa;
}

/* strays takes few signals: the five crash signals, SIGTERM and SIGINT
 * (catch_term), the dump signal and the current-stack signal. A slot is
 * given to a signal the first time it is taken and stays its own; slots
 * rather than one entry per signal keep the table on the page of variables
 * every process writes at start (st.h), not on three pages of its own. */
#define SLOTS 12
ST_HOT_DATA static struct taken slots[SLOTS];
ST_HOT_DATA static unsigned char slot_of[NSIG]; /* 1 + index into slots; 0: never taken */
ST_HOT_DATA static unsigned slots_given;

static bool valid(int sig) { return sig > 0 && sig < NSIG; }

/* sig's slot if it has one (taken now or before), else NULL. */
static struct taken *slot(int sig)
{
    unsigned i = valid(sig) ? __atomic_load_n(&slot_of[sig], __ATOMIC_ACQUIRE) : 0;
    return i ? &slots[i - 1] : NULL;
}

/* sig's slot, given now if it had none; NULL when all are given. */
ST_EVERY_PROCESS
static struct taken *slot_for(int sig)
{
    struct taken *t = slot(sig);
    if (t)
        return t;
    unsigned i = __atomic_fetch_add(&slots_given, 1, __ATOMIC_ACQ_REL);
    if (i >= SLOTS)
        return NULL;
    /* Another thread taking sig for the first time too keeps its slot. */
    unsigned char none = 0;
    if (!__atomic_compare_exchange_n(&slot_of[sig], &none, (unsigned char)(i + 1), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return &slots[none - 1];
    return &slots[i];
}

ST_EVERY_PROCESS
int st_signal_take(int sig, st_signal_fn fn, int flags, const sigset_t *mask,
                   st_signal_claim_fn on_claim)
{
    if (!valid(sig))
        return -EINVAL;
    struct taken *t = slot_for(sig);
    if (!t)
        return -ENOSPC;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask) /* else empty, as memset left it */
        sa.sa_mask = *mask;
    int rc = st_libc_sigaction(sig, &sa, &old);
    if (rc != 0)
        return rc;
    if (!t->taken)
        t->program = packed(&old);
    t->on_claim = on_claim;
    __atomic_store_n(&t->taken, true, __ATOMIC_RELEASE);
    return 0;
}

bool st_signal_taken(int sig)
{
    struct taken *t = slot(sig);
    return t && __atomic_load_n(&t->taken, __ATOMIC_ACQUIRE);
}

ST_EVERY_PROCESS
bool st_signal_is_handler(const struct sigaction *action)
{
    /* sa_handler and sa_sigaction share their storage. */
    return action->sa_handler != SIG_DFL && action->sa_handler != SIG_IGN;
}

void st_signal_program_sets(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct taken *t = slot(sig); /* the caller saw sig taken */
    if (old)
        *old = unpacked(&t->program);
    if (!act)
        return;
    t->program = packed(act);
    if (st_signal_is_handler(act) && t->on_claim)
        t->on_claim(sig);
}

void st_signal_program_action(int sig, struct sigaction *out)
{
    if (st_signal_taken(sig))
        *out = unpacked(&slot(sig)->program);
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
    slot(sig)->program = packed(&dfl);
}

bool st_signal_chain(int sig, siginfo_t *info, void *ucontext)
{
    if (!st_signal_taken(sig))
        return false;
    struct sigaction p = unpacked(&slot(sig)->program);
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
    struct taken *t = slot(sig);
    __atomic_store_n(&t->taken, false, __ATOMIC_RELEASE);
    struct sigaction program = unpacked(&t->program);
    st_libc_sigaction(sig, &program, NULL);
}
