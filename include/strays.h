/* strays' in-process API, for test suites: check at the end of a test that
 * it left no threads, timers or fds behind, the way goleak's VerifyNone
 * does for goroutines.
 *
 * Two ways to get it:
 *   - link the library: cc test.c -lstrays (pkg-config --cflags --libs
 *     strays). The library is then loaded with the program and its hooks
 *     are active, as with LD_PRELOAD.
 *   - preload only (LD_PRELOAD=libstrays.so ./test): define STRAYS_WEAK
 *     before including this header. The functions become weak references:
 *     their address is NULL when strays is not loaded, so a test binary
 *     runs with or without strays:
 *         if (strays_verify_none) cr_assert_eq(strays_verify_none(NULL), 0);
 *
 * Every function returns promptly and never changes errno. */
#ifndef STRAYS_H
#define STRAYS_H

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef STRAYS_WEAK
#define STRAYS_API __attribute__((weak))
#else
#define STRAYS_API
#endif

struct strays_verify_options {
    /* How long threads on their way out may take to finish, in ms (polled
     * with backoff; 0 means the default, 1000; negative means no wait). */
    int grace_ms;
    /* Only what this scope created (see strays_scope_begin); NULL: the
     * calling thread's open scope if it has one, else everything. */
    const char *scope;
    /* Where the report goes when something leaked: an fd, or 0 (the
     * default) for strays' channel, its copy of stderr. */
    int fd;
    /* "text" or "json"; NULL: the format option (text by default). */
    const char *format;
};

/* Waits up to the grace for threads that are finishing, then reports what
 * is still alive (threads, timers, fds; not what strays_snapshot or
 * strays_ignore_thread set aside) and returns how many objects leaked: 0
 * when clean. Prints the report only when something leaked. opts may be
 * NULL for the defaults. Returns -1 when strays is not active. */
STRAYS_API int strays_verify_none(const struct strays_verify_options *opts);

/* What exists now is the baseline: it is left out of every later report
 * (goleak's IgnoreCurrent). strays_ignore_current is the same call. */
STRAYS_API void strays_snapshot(void);
STRAYS_API void strays_ignore_current(void);

/* Opens a scope on the calling thread: every thread, timer and fd created
 * on it until strays_scope_end, and by threads started from it, carries
 * name; strays_verify_none of that scope looks only at those, so tests that
 * run in parallel threads each see their own leaks. Returns 0, or -1 when
 * strays is not active or out of memory. */
STRAYS_API int strays_scope_begin(const char *name);
STRAYS_API void strays_scope_end(void);

/* A thread meant to live forever: left out of every report. reason is for
 * people (strays says it at verbosity=2). Returns 0, or -1 if strays does
 * not know the thread. */
STRAYS_API int strays_ignore_thread(pthread_t thread, const char *reason);

/* Writes a report of everything alive now to fd (0: strays' channel) as
 * "text" or "json" (NULL: the format option). Returns the number of
 * objects in it, or -1. */
STRAYS_API int strays_dump(int fd, const char *format);

#ifdef __cplusplus
}
#endif

#endif
