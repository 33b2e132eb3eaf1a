/* strays' message channel; see log.h. */
#include "log.h"

#include "st.h"
#include "sys.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>

static int log_fd = -1;

int st_private_fd_floor(void)
{
    /* Far above where programs allocate, but below the soft limit so a
     * program that raises nothing still lets strays have a few. */
    struct rlimit rl;
    long limit = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = (long)rl.rlim_cur;
    if (limit > 1024)
        limit = 1024;
    long floor = limit - 64;
    return floor < 10 ? 10 : (int)floor;
}

int st_fd_hide(int fd)
{
    long high = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, st_private_fd_floor());
    if (high < 0) {
        st_sys_fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
    st_sys_close(fd);
    return (int)high;
}

void st_log_init(void)
{
    if (log_fd >= 0)
        return;
    long fd = st_sys_fcntl(2, F_DUPFD_CLOEXEC, st_private_fd_floor());
    if (fd < 0)
        fd = st_sys_fcntl(2, F_DUPFD_CLOEXEC, 3);
    log_fd = fd < 0 ? -1 : (int)fd;
}

int st_log_fd(void) { return log_fd; }

bool st_fd_is_private(int fd) { return fd >= 0 && fd == __atomic_load_n(&log_fd, __ATOMIC_RELAXED); }

void st_fd_private_evacuate(int fd)
{
    if (!st_fd_is_private(fd))
        return;
    long moved = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, st_private_fd_floor());
    if (moved < 0 || moved == fd)
        moved = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, 3);
    /* The old number is the program's now; it is closed by the call that
     * takes it (dup2 replaces it atomically). */
    __atomic_store_n(&log_fd, moved < 0 ? -1 : (int)moved, __ATOMIC_RELAXED);
}

int st_fd_private_in_range(unsigned first, unsigned last, int *out, int max)
{
    int fd = __atomic_load_n(&log_fd, __ATOMIC_RELAXED);
    if (fd >= 0 && max > 0 && (unsigned)fd >= first && (unsigned)fd <= last) {
        out[0] = fd;
        return 1;
    }
    return 0;
}

void st_logf(const char *fmt, ...)
{
    char line[1024];
    int used = snprintf(line, sizeof line, "strays: ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + used, sizeof line - (size_t)used - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    used += n;
    if (used > (int)sizeof line - 2)
        used = (int)sizeof line - 2;
    line[used++] = '\n';
    st_sys_write_all(log_fd >= 0 ? log_fd : 2, line, (size_t)used);
}
