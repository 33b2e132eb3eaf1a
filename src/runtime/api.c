/* The public API of include/strays.h: the boundary where strays' internal
 * -errno results become the documented return values, and where errno is
 * kept as the caller left it. */
#define _GNU_SOURCE
#include <strays.h>

#include "base/log.h"
#include "base/options.h"
#include "base/st.h"
#include "base/sys.h"
#include "collect/report_build.h"
#include "runtime/runtime.h"
#include "track/registry_fd.h"
#include "track/registry_thread.h"
#include "track/registry_timer.h"
#include "track/scope.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DEFAULT_GRACE_MS 1000

static bool ready(void)
{
    return __atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_READY ||
           st_runtime_activate();
}

/* Leaks in the report strays would write now (scope: interned, or NULL). */
static unsigned count_leaks(const char *scope)
{
    struct st_report_request req = {.reason = "verify", .exit_status = -1, .scope = scope};
    struct st_report r;
    unsigned n = st_report_build(&r, &req) == 0 ? st_report_leak_count(&r) : 0;
    st_report_free(&r);
    return n;
}

/* Writes a report of scope to fd (0 or less: strays' channel); returns its leaks. */
static int write_report(const char *reason, const char *scope, int fd, const char *format)
{
    bool json = format ? !strcmp(format, "json") : st_opt.format == ST_FORMAT_JSON;
    struct st_report_request req = {.reason = reason, .exit_status = -1, .scope = scope,
                                    .symbolize = st_opt.symbolize};
    struct st_report r;
    if (st_report_build(&r, &req) != 0) {
        st_report_free(&r);
        return -1;
    }
    int leaks = (int)st_report_leak_count(&r);
    st_runtime_write_report(&r, fd > 0 ? fd : (st_log_fd() >= 0 ? st_log_fd() : 2), json, false);
    st_report_free(&r);
    return leaks;
}

ST_EXPORT int strays_verify_none(const struct strays_verify_options *opts)
{
    int saved = errno;
    if (!ready()) {
        errno = saved;
        return -1;
    }
    st_guard_enter();
    int grace = opts && opts->grace_ms ? opts->grace_ms : DEFAULT_GRACE_MS;
    const char *scope = opts && opts->scope ? st_scope_intern(opts->scope) : st_scope_current();
    /* Settle: threads on their way out get the grace, polled with backoff. */
    long waited = 0, step = 1;
    while (count_leaks(scope) > 0 && grace > 0 && waited < grace) {
        st_sys_sleep_ns((unsigned long long)step * 1000000u);
        waited += step;
        step = step * 2 > 100 ? 100 : step * 2;
    }
    int leaks = (int)count_leaks(scope);
    if (leaks > 0)
        leaks = write_report("verify", scope, opts ? opts->fd : 0, opts ? opts->format : NULL);
    st_guard_leave();
    errno = saved;
    return leaks;
}

ST_EXPORT void strays_snapshot(void)
{
    int saved = errno;
    if (ready()) {
        st_guard_enter();
        st_thread_ignore_all();
        st_timer_ignore_all();
        st_fd_ignore_all();
        st_guard_leave();
    }
    errno = saved;
}

ST_EXPORT void strays_ignore_current(void) { strays_snapshot(); }

ST_EXPORT int strays_scope_begin(const char *name)
{
    int saved = errno;
    int rc = -1;
    if (ready() && name) {
        st_guard_enter();
        rc = st_scope_set(name) == 0 ? 0 : -1;
        st_guard_leave();
    }
    errno = saved;
    return rc;
}

ST_EXPORT void strays_scope_end(void) { st_scope_set(NULL); }

ST_EXPORT int strays_ignore_thread(pthread_t thread, const char *reason)
{
    int saved = errno;
    int rc = -1;
    if (ready()) {
        st_guard_enter();
        rc = st_thread_ignore(thread) == 0 ? 0 : -1;
        if (rc == 0 && st_opt.verbosity >= 2)
            st_logf("ignoring thread %#lx: %s", (unsigned long)thread, reason ? reason : "");
        st_guard_leave();
    }
    errno = saved;
    return rc;
}

ST_EXPORT int strays_dump(int fd, const char *format)
{
    int saved = errno;
    int rc = -1;
    if (ready()) {
        st_guard_enter();
        rc = write_report("api", NULL, fd, format);
        st_guard_leave();
    }
    errno = saved;
    return rc;
}
