/* strays' fds at the program's fd limit; see fd_headroom.h. */
#include "runtime/fd_headroom.h"
#include "base/st.h"

#include "base/log.h"
#include "track/registry_fd.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

/* Enough for a report: its file, /proc/self/fd and /proc/self/task, libdw's
 * module files. */
#define REPORT_FDS 64

void st_fd_note_emfile(void)
{
    static int said;
    if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        return;
    struct rlimit rl;
    if (st_sys_getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    /* strays' fds live in its high range, with close-on-exec; the program's
     * there are tracked, and what it inherited is not close-on-exec.
     * (/proc/self/fd cannot be opened now: no fd is left.) */
    int own = 0;
    for (long fd = st_private_fd_floor(); fd < (long)rl.rlim_cur; fd++)
        own += st_sys_fcntl((int)fd, F_GETFD, 0) == FD_CLOEXEC && !st_fd_is_tracked((int)fd);
    st_logf("the program ran out of file descriptors (EMFILE, limit %ld); %d of them are "
            "strays' own (its copy of stderr, the watchdog's eventfd, libunwind's pipe)",
            (long)rl.rlim_cur, own);
}

ST_EVERY_REPORT
long st_fd_headroom_begin(void)
{
    /* One fd more for the program? A copy of strays' own stderr tells (no
     * path to look up), else /dev/null. */
    int log = st_log_fd();
    long probe = log >= 0 ? st_sys_fcntl(log, F_DUPFD_CLOEXEC, 0)
                          : st_sys_open("/dev/null", O_RDONLY | O_CLOEXEC, 0);
    if (probe >= 0) {
        st_sys_close((int)probe);
        return -1;
    }
    struct rlimit rl;
    if (probe != -EMFILE || st_sys_getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= rl.rlim_max)
        return -1;
    long old = (long)rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max - rl.rlim_cur > REPORT_FDS ? rl.rlim_cur + REPORT_FDS : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    return old;
}

ST_EVERY_REPORT
void st_fd_headroom_end(long token)
{
    struct rlimit rl;
    if (token < 0 || st_sys_getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = (rlim_t)token;
    setrlimit(RLIMIT_NOFILE, &rl);
}
