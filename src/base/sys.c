/* Raw system calls; see sys.h for why strays does not use libc's wrappers. */
#define _GNU_SOURCE /* struct dirent64, renameat2 flags */
#include "base/sys.h"

#include "base/st.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdio.h> /* RENAME_NOREPLACE */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The kernel's own calling convention, which returns -errno itself: no
 * errno to save and restore, and no call into libc's syscall(2), whose page
 * of code a small program never touches (a fault at 12-20 us on some VMs:
 * docs/performance.md), in a process's start, its clean exit, or a forked
 * child, which faults in again every page it runs for the first time. */
#if defined(__x86_64__)
static inline long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long rc;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return rc;
}
#elif defined(__aarch64__)
static inline long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
/* Elsewhere through syscall(2), which reports failure through errno:
 * strays leaves errno alone, so it is saved and turned into -errno. */
static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
    int saved = errno;
    long rc = syscall(nr, a, b, c, d, e, f);
    if (rc < 0)
        rc = -errno;
    errno = saved;
    return rc;
}
#endif

static inline long raw5(long nr, long a, long b, long c, long d, long e)
{
    return raw6(nr, a, b, c, d, e, 0);
}

static inline long raw(long nr, long a, long b, long c, long d) { return raw6(nr, a, b, c, d, 0, 0); }

ST_EVERY_REPORT
long st_sys_open(const char *path, int flags, int mode)
{
    return raw(SYS_openat, AT_FDCWD, (long)path, flags, mode);
}

ST_EVERY_REPORT
long st_sys_openat(int dirfd, const char *path, int flags, int mode)
{
    return raw(SYS_openat, dirfd, (long)path, flags, mode);
}

ST_EVERY_PROCESS
long st_sys_close(int fd) { return raw(SYS_close, fd, 0, 0, 0); }

ST_EVERY_PROCESS
long st_sys_getpid(void) { return raw(SYS_getpid, 0, 0, 0, 0); }

ST_EVERY_PROCESS
long st_sys_geteuid(void) { return raw(SYS_geteuid, 0, 0, 0, 0); }

ST_EVERY_PROCESS
long st_sys_clock_gettime(int clock, struct timespec *ts)
{
    return raw(SYS_clock_gettime, clock, (long)ts, 0, 0);
}

long st_sys_read(int fd, void *buf, size_t len)
{
    return raw(SYS_read, fd, (long)buf, (long)len, 0);
}

long st_sys_pread(int fd, void *buf, size_t len, unsigned long offset)
{
    return raw(SYS_pread64, fd, (long)buf, (long)len, (long)offset);
}

long st_sys_write(int fd, const void *buf, size_t len)
{
    return raw(SYS_write, fd, (long)buf, (long)len, 0);
}

static long write_everything(int fd, const char *p, size_t len)
{
    while (len > 0) {
        long n = st_sys_write(fd, p, len);
        if (n == -EINTR)
            continue;
        if (n < 0)
            return n;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A write to a pipe nobody reads any more (a CI log after its job ended, a
 * `| head` that has quit) raises SIGPIPE, which ends the process by
 * default: strays' own writes must not do that to the program. SIGPIPE is
 * blocked in this thread around the write, and one the write raised is
 * taken back (unless one was pending already) before the mask is restored.
 * Async-signal-safe. */
ST_EVERY_REPORT
long st_sys_write_file(int fd, const void *buf, size_t len)
{
    return write_everything(fd, buf, len);
}

ST_EVERY_REPORT
long st_sys_write_all(int fd, const void *buf, size_t len)
{
    const unsigned long pipe_bit = 1ul << (SIGPIPE - 1);
    unsigned long block = pipe_bit, old = 0, pending = 0;
    const long mask_size = sizeof block;
    raw(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, (long)&old, mask_size);
    raw(SYS_rt_sigpending, (long)&pending, mask_size, 0, 0);
    long rc = write_everything(fd, buf, len);
    if (rc == -EPIPE && !(pending & pipe_bit)) {
        struct timespec now = {0, 0};
        raw(SYS_rt_sigtimedwait, (long)&block, 0, (long)&now, mask_size);
    }
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, mask_size);
    return rc;
}

ST_EVERY_PROCESS
long st_sys_fcntl(int fd, int cmd, long arg) { return raw(SYS_fcntl, fd, cmd, arg, 0); }

ST_EVERY_PROCESS
long st_sys_eventfd(unsigned initval, int flags) { return raw(SYS_eventfd2, initval, flags, 0, 0); }

long st_sys_rename(const char *from, const char *to)
{
    return raw(SYS_rename, (long)from, (long)to, 0, 0);
}

long st_sys_link(const char *from, const char *to)
{
    return raw(SYS_link, (long)from, (long)to, 0, 0);
}

long st_sys_unlink(const char *path) { return raw(SYS_unlink, (long)path, 0, 0, 0); }

ST_EVERY_REPORT
long st_sys_linkat(int from_dir, const char *from, int to_dir, const char *to)
{
    /* No AT_SYMLINK_FOLLOW: a symlink at `from` is linked, never followed. */
    return raw5(SYS_linkat, from_dir, (long)from, to_dir, (long)to, 0);
}

ST_EVERY_REPORT
long st_sys_unlinkat(int dirfd, const char *path) { return raw(SYS_unlinkat, dirfd, (long)path, 0, 0); }

ST_EVERY_REPORT
long st_sys_rename_noreplace(int dirfd, const char *from, const char *to)
{
    return raw5(SYS_renameat2, dirfd, (long)from, dirfd, (long)to, RENAME_NOREPLACE);
}

long st_sys_renameat(int dirfd, const char *from, const char *to)
{
    return raw(SYS_renameat, dirfd, (long)from, dirfd, (long)to);
}

ST_EVERY_PROCESS
long st_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return raw(SYS_newfstatat, dirfd, (long)path, (long)st, flags);
}

ST_EVERY_REPORT
long st_sys_fchmod(int fd, unsigned mode) { return raw(SYS_fchmod, fd, mode, 0, 0); }

long st_sys_mkdirat(int dirfd, const char *path, unsigned mode)
{
    return raw(SYS_mkdirat, dirfd, (long)path, mode, 0);
}

ST_EVERY_REPORT
long st_sys_readlink(const char *path, char *buf, size_t len)
{
    return raw(SYS_readlink, (long)path, (long)buf, (long)len, 0);
}

long st_sys_readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
    return raw(SYS_readlinkat, dirfd, (long)path, (long)buf, (long)len);
}

long st_sys_getdents(int fd, void *buf, size_t len)
{
    return raw(SYS_getdents64, fd, (long)buf, (long)len, 0);
}

long st_sys_sleep_ns(unsigned long long ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return raw(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0);
}

long st_sys_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
    return raw5(SYS_ppoll, (long)fds, (long)nfds, timeout_ms < 0 ? 0 : (long)&ts, 0, 0);
}

long st_sys_pause(void) { return raw(SYS_pause, 0, 0, 0, 0); }

long st_sys_tgkill(int pid, int tid, int sig) { return raw(SYS_tgkill, pid, tid, sig, 0); }

long st_sys_sigqueueinfo(int pid, int sig, const siginfo_t *info)
{
    return raw(SYS_rt_sigqueueinfo, pid, sig, (long)info, 0);
}

ST_EVERY_FORK
long st_sys_dup3(int from, int to, int flags) { return raw(SYS_dup3, from, to, flags, 0); }

/* prlimit64 takes struct rlimit64: the same layout on 64-bit systems. */
_Static_assert(sizeof(struct rlimit) == 16, "struct rlimit is rlimit64's layout");

ST_EVERY_PROCESS
long st_sys_getrlimit(int resource, struct rlimit *out)
{
    return raw(SYS_prlimit64, 0, resource, 0, (long)out);
}

long st_sys_munmap(void *addr, size_t len) { return raw(SYS_munmap, (long)addr, (long)len, 0, 0); }

ST_EVERY_PROCESS
long st_sys_sigaltstack(const stack_t *ss, stack_t *old)
{
    return raw(SYS_sigaltstack, (long)ss, (long)old, 0, 0);
}

ST_EVERY_PROCESS
long st_sys_gettid(void) { return raw(SYS_gettid, 0, 0, 0, 0); }

long st_sys_futex_wait(int *word, int expected)
{
    return raw(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, expected, 0);
}

long st_sys_futex_wake(int *word, int count)
{
    return raw(SYS_futex, (long)word, FUTEX_WAKE_PRIVATE, count, 0);
}

_Noreturn void st_sys_exit_group(int status)
{
    for (;;)
        raw(SYS_exit_group, status, 0, 0, 0);
}

const struct dirent64 *st_sys_dirent_next(const char *buf, long len, long *offset)
{
    const size_t name_at = offsetof(struct dirent64, d_name);
    if (*offset < 0 || len <= *offset || (size_t)(len - *offset) < name_at + 1)
        return NULL;
    const struct dirent64 *d = (const struct dirent64 *)(buf + *offset);
    size_t reclen = d->d_reclen;
    /* A record shorter than its header, running past the data, or a name
     * without its NUL inside the record: the rest cannot be trusted. */
    if (reclen < name_at + 1 || reclen > (size_t)(len - *offset) ||
        !memchr(d->d_name, '\0', reclen - name_at))
        return NULL;
    *offset += (long)reclen;
    return d;
}

ST_EVERY_PROCESS
int st_sys_format_uint(unsigned long long n, char *buf)
{
    char digits[21];
    int d = 0;
    do {
        digits[d++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    int len = d;
    while (d)
        *buf++ = digits[--d];
    *buf = '\0';
    return len;
}

long st_sys_read_file(const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    size_t used = 0;
    while (used + 1 < len) {
        long n = st_sys_read((int)fd, buf + used, len - 1 - used);
        if (n == -EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    st_sys_close((int)fd);
    return (long)used;
}

long st_sys_read_task_file(int tid, const char *name, char *buf, size_t len)
{
    char path[64] = "/proc/self/task/";
    size_t at = strlen(path);
    at += (size_t)st_sys_format_uint((unsigned)tid, path + at);
    if (at + 1 + strlen(name) >= sizeof path)
        return -ENAMETOOLONG;
    path[at++] = '/';
    strcpy(path + at, name);
    return st_sys_read_file(path, buf, len);
}
