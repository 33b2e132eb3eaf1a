/* The shape every interposer shares. REAL(name) is the function the hook
 * stands in front of (the next definition after strays', found on first
 * use: hooks run before any constructor). CORE(...) runs strays' own
 * bookkeeping with the recursion guard up and the caller's errno kept. */
#ifndef STRAYS_INTERPOSE_H
#define STRAYS_INTERPOSE_H

#include "runtime/runtime.h"
#include "base/st.h"
#include "track/waits.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <threads.h>
#include <time.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <pty.h> /* forkpty: struct termios, struct winsize */
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>

/* For the functions that never return (exit, pthread_exit...): part of
 * their type, so the real function's pointer has it too. */
#define NORETURN __attribute__((noreturn))

/* ret and params are a type and a parameter list: they cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define HOOK(ret, name, params)                                                            \
    typedef ret(*st_real_##name##_t) params;                                               \
    extern st_real_##name##_t st_real_##name;
#define VHOOK(ret, name, tag, version, params)                                             \
    typedef ret(*st_real_##name##_##tag##_t) params;                                       \
    extern st_real_##name##_##tag##_t st_real_##name##_##tag;
/* NOLINTEND(bugprone-macro-parentheses) */
#include "hooks.def"
#undef HOOK
#undef VHOOK

/* Set on a thread between vfork and the parent's return from it: the guard
 * is up then for the child's sake, not for strays' own work (hooks_vfork.c). */
extern ST_TLS int st_in_vfork_child;

/* Looks up the next definition of name after strays; aborts with a message
 * if there is none, since the program could not have run without it. */
__attribute__((cold)) void *st_interpose_resolve(const char *name);
/* The same for one version of a versioned symbol. */
__attribute__((cold)) void *st_interpose_resolve_version(const char *name, const char *version);

/* The name a hook looks up, beside the start code: every process looks up
 * __libc_start_main and exit, and would read a page of .rodata for them. */
#define HOOK_NAME(name)                                                                    \
    ({                                                                                     \
        static const char name_[] ST_EVERY_PROCESS_DATA = #name;                           \
        name_;                                                                             \
    })

/* One load on the common path; the lookup is out of line (cold). */
#define REAL(name)                                                                         \
    ({                                                                                     \
        st_real_##name##_t real_ = __atomic_load_n(&st_real_##name, __ATOMIC_RELAXED);     \
        ST_LIKELY(real_ != NULL)                                                           \
            ? real_                                                                        \
            : (st_real_##name = (st_real_##name##_t)st_interpose_resolve(HOOK_NAME(name))); \
    })

#define REAL_V(name, tag, version)                                                         \
    ({                                                                                     \
        st_real_##name##_##tag##_t real_ =                                                 \
            __atomic_load_n(&st_real_##name##_##tag, __ATOMIC_RELAXED);                    \
        ST_LIKELY(real_ != NULL)                                                           \
            ? real_                                                                        \
            : (st_real_##name##_##tag = (st_real_##name##_##tag##_t)                       \
                   st_interpose_resolve_version(#name, version));                          \
    })

/* Exports fn as symbol@version ("name@V", or "name@@V" for the default). */
#define SYMVER(fn, symbol) __asm__(".symver " #fn "," symbol)

#define CORE(...)                                                                          \
    do {                                                                                   \
        int *errno_ = st_errno();                                                          \
        int saved_errno_ = *errno_;                                                        \
        st_guard_enter();                                                                  \
        __VA_ARGS__;                                                                       \
        st_guard_leave();                                                                  \
        *errno_ = saved_errno_;                                                            \
    } while (0)

/* A wait starts and ends; see src/waits.h. */
#define WAIT_BEGIN(call, object, fd, timeout_ns)                                           \
    CORE(st_wait_begin(call, object, fd, timeout_ns))
#define WAIT_END(timed_out) CORE(st_wait_end(timed_out))

#define INTERPOSER ST_EXPORT

#endif
