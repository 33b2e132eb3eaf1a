/* The real versions of the few interposed functions strays' core needs
 * that are more than one system call (sigaction's restorer, pthread_create,
 * exit's handlers, dlclose's reference counts). Calling them here, never by
 * their plain names, keeps the core from entering its own hooks: what it
 * does does not depend on the recursion guard, and the rule can be checked
 * on the object files (scripts/check-raw-calls.py). */
#ifndef STRAYS_LIBC_H
#define STRAYS_LIBC_H

#include <pthread.h>
#include <signal.h>

/* glibc's sigaction under the name it also exports it by (__sigaction), which
 * strays does not interpose: usable in a signal handler. Returns 0 or -errno. */
int st_libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* The next pthread_create, exit and dlclose after strays' (dlsym(RTLD_NEXT));
 * not for signal handlers (the first call looks the function up). */
int st_libc_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                           void *(*start)(void *), void *arg);
_Noreturn void st_libc_exit(int status);
int st_libc_dlclose(void *handle);

#endif
