/* strays' message channel; see log.h. */
#include "base/log.h"

#include "base/st.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>

static int log_fd = -1;
int st_private_fd_min = INT_MAX;

/* Before fd becomes strays' own anywhere another thread could see it. */
static void mark_private(long fd)
{
    int min = __atomic_load_n(&st_private_fd_min, __ATOMIC_RELAXED);
    while (fd >= 0 && fd < min &&
           !__atomic_compare_exchange_n(&st_private_fd_min, &min, (int)fd, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

#define FLOOR_CEILING 1024 /* the floor is 64 below the soft limit, or below this */

int st_private_fd_floor(void)
{
    /* Far above where programs allocate, but below the soft limit so a
     * program that raises nothing still lets strays have a few. */
    struct rlimit rl;
    long limit = FLOOR_CEILING;
    if (st_sys_getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = (long)rl.rlim_cur;
    if (limit > FLOOR_CEILING)
        limit = FLOOR_CEILING;
    long floor = limit - 64;
    return floor < 10 ? 10 : (int)floor;
}

/* A copy of fd at or above the floor, close-on-exec, or -errno. The floor
 * for a soft limit of 1024 or more (most systems) is tried first: a limit
 * below it makes that fail with EINVAL, and only then is the limit asked
 * for. Two system calls fewer in every process's start. */
static long dup_high(int fd)
{
    long high = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, FLOOR_CEILING - 64);
    return high == -EINVAL ? st_sys_fcntl(fd, F_DUPFD_CLOEXEC, st_private_fd_floor()) : high;
}

ST_EVERY_PROCESS
int st_fd_hide(int fd)
{
    long high = dup_high(fd);
    if (high < 0) {
        st_sys_fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
    st_sys_close(fd);
    return (int)high;
}

ST_EVERY_PROCESS
void st_log_init(void)
{
    if (log_fd >= 0)
        return;
    long fd = dup_high(2);
    if (fd < 0)
        fd = st_sys_fcntl(2, F_DUPFD_CLOEXEC, 3);
    mark_private(fd);
    log_fd = fd < 0 ? -1 : (int)fd;
}

int st_log_fd(void) { return log_fd; }

/* strays' own long-lived fds besides the log: the watchdog's eventfd. */
#define MAX_PRIVATE 4
static int private_fds[MAX_PRIVATE] = {-1, -1, -1, -1};

ST_EVERY_PROCESS
int st_fd_add_private(int fd)
{
    mark_private(fd);
    for (int i = 0; i < MAX_PRIVATE; i++) {
        int expected = -1;
        if (__atomic_compare_exchange_n(&private_fds[i], &expected, fd, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return i;
    }
    return -1;
}

ST_EVERY_FORK
int st_fd_private(int slot)
{
    return slot >= 0 && slot < MAX_PRIVATE ? __atomic_load_n(&private_fds[slot], __ATOMIC_RELAXED)
                                           : -1;
}

bool st_fd_is_private_slow(int fd)
{
    if (fd == __atomic_load_n(&log_fd, __ATOMIC_RELAXED))
        return true;
    for (int i = 0; i < MAX_PRIVATE; i++)
        if (fd == __atomic_load_n(&private_fds[i], __ATOMIC_RELAXED))
            return true;
    return false;
}

/* Moves private fd away (dup elsewhere) and returns the new number. */
static int move_fd(int fd)
{
    long moved = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, st_private_fd_floor());
    if (moved < 0 || moved == fd)
        moved = st_sys_fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return moved < 0 ? -1 : (int)moved;
}

int st_fd_private_evacuate(int fd)
{
    if (!st_fd_is_private(fd))
        return fd;
    int moved = move_fd(fd);
    mark_private(moved);
    /* The old number is the program's now; it is closed by the call that
     * takes it (dup2 replaces it atomically). */
    if (fd == __atomic_load_n(&log_fd, __ATOMIC_RELAXED))
        __atomic_store_n(&log_fd, moved, __ATOMIC_RELAXED);
    for (int i = 0; i < MAX_PRIVATE; i++)
        if (fd == __atomic_load_n(&private_fds[i], __ATOMIC_RELAXED))
            __atomic_store_n(&private_fds[i], moved, __ATOMIC_RELAXED);
    return moved;
}

int st_fd_private_in_range(unsigned first, unsigned last, int *out, int max)
{
    int candidates[MAX_PRIVATE + 1], n = 0;
    candidates[n++] = __atomic_load_n(&log_fd, __ATOMIC_RELAXED);
    for (int i = 0; i < MAX_PRIVATE; i++)
        candidates[n++] = __atomic_load_n(&private_fds[i], __ATOMIC_RELAXED);
    int found = 0;
    for (int i = 0; i < n; i++)
        if (candidates[i] >= 0 && (unsigned)candidates[i] >= first &&
            (unsigned)candidates[i] <= last && found < max)
            out[found++] = candidates[i];
    /* Increasing order, for closing the gaps between them. */
    for (int i = 1; i < found; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return found;
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
