/* Raw system calls; see sys.h for why strays does not use libc's wrappers. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* syscall(2) reports failure through errno; strays must leave errno alone,
 * so every call goes through here and turns it into -errno. */
static long raw(long nr, long a, long b, long c, long d)
{
    int saved = errno;
    long rc = syscall(nr, a, b, c, d);
    if (rc < 0)
        rc = -errno;
    errno = saved;
    return rc;
}

long st_sys_open(const char *path, int flags, int mode)
{
    return raw(SYS_openat, AT_FDCWD, (long)path, flags, mode);
}

long st_sys_openat(int dirfd, const char *path, int flags, int mode)
{
    return raw(SYS_openat, dirfd, (long)path, flags, mode);
}

long st_sys_close(int fd) { return raw(SYS_close, fd, 0, 0, 0); }

long st_sys_read(int fd, void *buf, size_t len)
{
    return raw(SYS_read, fd, (long)buf, (long)len, 0);
}

long st_sys_write(int fd, const void *buf, size_t len)
{
    return raw(SYS_write, fd, (long)buf, (long)len, 0);
}

long st_sys_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
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

long st_sys_fcntl(int fd, int cmd, long arg) { return raw(SYS_fcntl, fd, cmd, arg, 0); }

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

long st_sys_readlink(const char *path, char *buf, size_t len)
{
    return raw(SYS_readlink, (long)path, (long)buf, (long)len, 0);
}

long st_sys_getdents(int fd, void *buf, size_t len)
{
    return raw(SYS_getdents64, fd, (long)buf, (long)len, 0);
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
