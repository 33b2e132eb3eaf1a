/* libc functions for the core, past strays' hooks; see libc.h. */
#define _GNU_SOURCE
#include "base/libc.h"

#include "base/st.h"
#include "base/sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

/* Exported by glibc since 2.2.5 beside sigaction, which is its weak alias. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's own name for it */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

ST_EVERY_PROCESS
int st_libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    int saved = errno;
    int rc = __sigaction(sig, act, old) == 0 ? 0 : -errno;
    errno = saved;
    return rc;
}

/* The next definition of name after strays; the process cannot have started
 * without it, so a miss is said and ends it, as the hooks' lookup does. */
static void *next(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        static const char msg[] = "strays: cannot find the real ";
        st_sys_write_all(2, msg, sizeof msg - 1);
        st_sys_write_all(2, name, strlen(name));
        st_sys_write_all(2, "\n", 1);
        st_sys_exit_group(127);
    }
    return fn;
}

#define LOOKUP(type, name)                                                                 \
    ({                                                                                     \
        static type fn_;                                                                   \
        type f_ = __atomic_load_n(&fn_, __ATOMIC_ACQUIRE);                                 \
        if (!f_) {                                                                         \
            f_ = (type)next(#name);                                                        \
            __atomic_store_n(&fn_, f_, __ATOMIC_RELEASE);                                  \
        }                                                                                  \
        f_;                                                                                \
    })

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef void (*exit_fn)(int);
typedef int (*dlclose_fn)(void *);

int st_libc_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                           void *(*start)(void *), void *arg)
{
    return LOOKUP(pthread_create_fn, pthread_create)(thread, attr, start, arg);
}

_Noreturn void st_libc_exit(int status)
{
    LOOKUP(exit_fn, exit)(status);
    st_sys_exit_group(status);
}

int st_libc_dlclose(void *handle) { return LOOKUP(dlclose_fn, dlclose)(handle); }
