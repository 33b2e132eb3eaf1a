/* Signals strays has taken over; see signals.h. The table is written at
 * initialisation and by the program's sigaction calls; handlers only read
 * it. */
#define _GNU_SOURCE
#include "base/signals.h"

#include "base/libc.h"
#include <errno.h>
#include <string.h>

struct taken {
    bool taken;
    struct sigaction program; /* what the program asked for (or had) */
};

static struct taken table[NSIG];

static bool valid(int sig) { return sig > 0 && sig < NSIG; }

int st_signal_take(int sig, st_signal_fn fn, int flags)
{
    if (!valid(sig))
        return -EINVAL;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    int rc = st_libc_sigaction(sig, &sa, &old);
    if (rc != 0)
        return rc;
    if (!table[sig].taken)
        table[sig].program = old;
    __atomic_store_n(&table[sig].taken, true, __ATOMIC_RELEASE);
    return 0;
}

bool st_signal_taken(int sig)
{
    return valid(sig) && __atomic_load_n(&table[sig].taken, __ATOMIC_ACQUIRE);
}

void st_signal_program_sets(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (old)
        *old = table[sig].program;
    if (act)
        table[sig].program = *act;
}

bool st_signal_chain(int sig, siginfo_t *info, void *ucontext)
{
    if (!st_signal_taken(sig))
        return false;
    const struct sigaction *p = &table[sig].program;
    if (p->sa_flags & SA_SIGINFO) {
        if (!p->sa_sigaction)
            return false;
        p->sa_sigaction(sig, info, ucontext);
        return true;
    }
    if (p->sa_handler == SIG_DFL || p->sa_handler == SIG_IGN || !p->sa_handler)
        return false;
    p->sa_handler(sig);
    return true;
}

void st_signal_release(int sig)
{
    if (!st_signal_taken(sig))
        return;
    __atomic_store_n(&table[sig].taken, false, __ATOMIC_RELEASE);
    st_libc_sigaction(sig, &table[sig].program, NULL);
}
