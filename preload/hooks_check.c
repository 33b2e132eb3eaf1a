/* Compile-time check of hooks.def: each hooked function's type, as strays
 * calls the real one (REAL(name)), must be the type libc declares, so a
 * typo in a parameter list cannot pass arguments the wrong way. Built with
 * _FORTIFY_SOURCE (Makefile), which declares the __open_2 family. Emits no
 * code. */
#define _GNU_SOURCE
#include "interpose.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* No public header declares __libc_start_main: this is its prototype in
 * glibc's csu/libc-start.c, so that line is checked against the source. */
extern int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                             void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
                             void *stack_end);

/* Nor __fork and __register_atfork: glibc's posix/unistd.h (internal) and
 * the LSB give these. */
extern pid_t __fork(void);
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);

#define CHECK(type, name)                                                                  \
    _Static_assert(__builtin_types_compatible_p(type, __typeof__(&name)),                  \
                   "hooks.def: " #name " differs from libc's prototype");
#define HOOK(ret, name, params) CHECK(st_real_##name##_t, name)
/* Versioned hooks: the headers declare the default version, the newest
 * (GLIBC_2.34 for timer_*, GLIBC_2.3.2 for pthread_cond_*). The old ones
 * take other types on purpose (timer_t was an int). */
#define VHOOK(ret, name, tag, version, params) VCHECK_##tag(name, tag)
#define VCHECK_v2_34(name, tag) CHECK(st_real_##name##_##tag##_t, name)
#define VCHECK_v2_3_2(name, tag) CHECK(st_real_##name##_##tag##_t, name)
#define VCHECK_v2_3_3(name, tag) CHECK(st_real_##name##_##tag##_t, name)
#define VCHECK_compat(name, tag)
#include "hooks.def"
