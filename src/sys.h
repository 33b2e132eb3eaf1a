/* Raw system calls for strays' own I/O. strays interposes open, close, read
 * and friends; going to the kernel directly keeps its own files out of the
 * registries and keeps its work from re-entering a hook. All return the
 * result or -errno, and none of them touches errno. */
#ifndef STRAYS_SYS_H
#define STRAYS_SYS_H

#include <stddef.h>
#include <sys/types.h>

long st_sys_open(const char *path, int flags, int mode);
long st_sys_openat(int dirfd, const char *path, int flags, int mode);
long st_sys_close(int fd);
long st_sys_read(int fd, void *buf, size_t len);
long st_sys_write(int fd, const void *buf, size_t len);
/* Writes everything (retrying short writes and EINTR) or returns -errno. */
long st_sys_write_all(int fd, const void *buf, size_t len);
long st_sys_fcntl(int fd, int cmd, long arg);
long st_sys_eventfd(unsigned initval, int flags);
long st_sys_rename(const char *from, const char *to);
long st_sys_link(const char *from, const char *to);
long st_sys_unlink(const char *path);
long st_sys_readlink(const char *path, char *buf, size_t len);
long st_sys_getdents(int fd, void *buf, size_t len);
/* Reads a whole small file (/proc) into buf, NUL-terminated; bytes or -errno. */
long st_sys_read_file(const char *path, char *buf, size_t len);

#endif
