/* Interposers for the ways into a fork that runs fork handlers (fork,
 * __fork, and libc's own callers of it: daemon, forkpty) and for the
 * registrations of the program's handlers (__register_atfork, which
 * pthread_atfork calls, and the old pthread_atfork@GLIBC_2.2.5 that libc
 * still exports for binaries linked against its libpthread).
 *
 * strays registers its own fork handlers here, lazily, and not at start:
 * most processes never fork, and the first registration costs a page of
 * libc's that nothing else in a small program reads. Each hook registers
 * them before doing anything else, so they stay the first registered, as
 * they were when registered at start (runtime.c says why the order
 * matters). vfork, _Fork, posix_spawn and system run no fork handlers:
 * nothing to register for them. */
#define _GNU_SOURCE
#include "interpose.h"

#include <unistd.h>

/* One load when the handlers are registered, as they are after the first
 * fork or registration; the registration itself is out of line. */
ST_EVERY_FORK
static inline void ensure_fork_handlers(void)
{
    if (ST_UNLIKELY(!__atomic_load_n(&st_runtime_fork_handlers_registered, __ATOMIC_ACQUIRE))) {
        int saved_errno = errno;
        st_runtime_register_fork_handlers(REAL(__register_atfork));
        errno = saved_errno;
    }
}

/* Before a fork, in the parent: the handlers, and the real exit functions,
 * found here if not yet, are found for every child too. A child looking
 * them up itself would do it in every child (a dlsym, and the pages of
 * code and data it touches), as a shell's subshells and failed execs do
 * when they exit. */
ST_EVERY_FORK
static void before_fork(void)
{
    ensure_fork_handlers();
    int saved_errno = errno;
    (void)REAL(exit);
    (void)REAL(_exit);
    (void)REAL(_Exit);
    errno = saved_errno;
}

ST_EVERY_FORK
INTERPOSER pid_t fork(void)
{
    before_fork();
    return REAL(fork)();
}

/* glibc's other name for fork, exported beside it. */
ST_EVERY_FORK
INTERPOSER pid_t __fork(void) /* NOLINT(bugprone-reserved-identifier) */
{
    before_fork();
    return REAL(__fork)();
}

/* daemon and forkpty call libc's fork from inside libc, past any hook. */
INTERPOSER int daemon(int nochdir, int noclose)
{
    before_fork();
    return REAL(daemon)(nochdir, noclose);
}

INTERPOSER pid_t forkpty(int *amaster, char *name, const struct termios *termp,
                         const struct winsize *winp)
{
    before_fork();
    return REAL(forkpty)(amaster, name, termp, winp);
}

/* NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name (LSB) */
INTERPOSER int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                                 void *dso_handle)
{
    ensure_fork_handlers();
    return REAL(__register_atfork)(prepare, parent, child, dso_handle);
}

/* Programs built against glibc 2.27 or older call pthread_atfork in
 * libpthread, which is now this version in libc; it registers through
 * libc's internal __register_atfork, which the hook above never sees. New
 * programs carry their own pthread_atfork (libc_nonshared.a), which calls
 * __register_atfork. */
INTERPOSER int st_hook_pthread_atfork_compat(void (*prepare)(void), void (*parent)(void),
                                             void (*child)(void))
{
    ensure_fork_handlers();
    return REAL_V(pthread_atfork, compat, "GLIBC_2.2.5")(prepare, parent, child);
}
SYMVER(st_hook_pthread_atfork_compat, "pthread_atfork@GLIBC_2.2.5");
