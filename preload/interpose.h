/* The shape every interposer shares. REAL(name) is the function the hook
 * stands in front of (the next definition after strays', found on first
 * use: hooks run before any constructor). CORE(...) runs strays' own
 * bookkeeping with the recursion guard up and the caller's errno kept. */
#ifndef STRAYS_INTERPOSE_H
#define STRAYS_INTERPOSE_H

#include "../src/runtime.h"
#include "../src/st.h"

#include <errno.h>
#include <pthread.h>
#include <threads.h>
#include <time.h>

#define HOOK(ret, name, params)                                                            \
    typedef ret(*st_real_##name##_t) params;                                               \
    extern st_real_##name##_t st_real_##name;
#include "hooks.def"
#undef HOOK

/* Looks up the next definition of name after strays; aborts with a message
 * if there is none, since the program could not have run without it. */
void *st_interpose_resolve(const char *name);

#define REAL(name)                                                                         \
    (__atomic_load_n(&st_real_##name, __ATOMIC_RELAXED)                                    \
         ? st_real_##name                                                                  \
         : (st_real_##name = (st_real_##name##_t)st_interpose_resolve(#name)))

#define CORE(...)                                                                          \
    do {                                                                                   \
        int saved_errno_ = errno;                                                          \
        st_guard_enter();                                                                  \
        __VA_ARGS__;                                                                       \
        st_guard_leave();                                                                  \
        errno = saved_errno_;                                                              \
    } while (0)

#define INTERPOSER ST_EXPORT

#endif
