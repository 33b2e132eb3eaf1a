/* Raw system calls for strays' own work. strays interposes open, close,
 * read, poll, nanosleep and friends; going to the kernel directly keeps its
 * own files out of the registries and keeps its work from re-entering a
 * hook, so the core behaves the same with or without the recursion guard
 * (and unit tests run the production paths). All return the result or
 * -errno, and none of them touches errno. For the few interposed functions
 * that are more than a system call, see libc.h. */
#ifndef STRAYS_SYS_H
#define STRAYS_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct dirent64;

long st_sys_open(const char *path, int flags, int mode);
long st_sys_openat(int dirfd, const char *path, int flags, int mode);
long st_sys_close(int fd);
/* For the start and a clean exit: libc's getpid, geteuid and vDSO clock
 * would fault in a page of libc's code (and the vDSO's data) that a small
 * program never touches, at 12-20 us each on some VMs; a system call is 1. */
long st_sys_getpid(void);
long st_sys_geteuid(void);
long st_sys_clock_gettime(int clock, struct timespec *ts);
long st_sys_read(int fd, void *buf, size_t len);
long st_sys_pread(int fd, void *buf, size_t len, unsigned long offset);
long st_sys_write(int fd, const void *buf, size_t len);
/* Writes everything (retrying short writes and EINTR) or returns -errno. */
long st_sys_write_all(int fd, const void *buf, size_t len);
/* The same to a regular file, which raises no SIGPIPE: three system calls
 * fewer (every process under `strays run` writes a report file). */
long st_sys_write_file(int fd, const void *buf, size_t len);
long st_sys_fcntl(int fd, int cmd, long arg);
long st_sys_eventfd(unsigned initval, int flags);
long st_sys_rename(const char *from, const char *to);
long st_sys_link(const char *from, const char *to);
long st_sys_unlink(const char *path);
/* linkat(2) without following a symlink at `from`. */
long st_sys_linkat(int from_dir, const char *from, int to_dir, const char *to);
long st_sys_unlinkat(int dirfd, const char *path);
/* renameat2(RENAME_NOREPLACE) within one directory: fails with -EEXIST
 * rather than replace what is at `to`. */
long st_sys_rename_noreplace(int dirfd, const char *from, const char *to);
long st_sys_renameat(int dirfd, const char *from, const char *to);
long st_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
long st_sys_fchmod(int fd, unsigned mode);
long st_sys_mkdirat(int dirfd, const char *path, unsigned mode);
long st_sys_readlink(const char *path, char *buf, size_t len);
long st_sys_readlinkat(int dirfd, const char *path, char *buf, size_t len);
long st_sys_getdents(int fd, void *buf, size_t len);
/* Sleeps for ns nanoseconds (CLOCK_MONOTONIC); -EINTR when a signal cut it short. */
long st_sys_sleep_ns(unsigned long long ns);
/* poll(2); timeout_ms < 0 waits for ever. */
struct pollfd;
long st_sys_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms);
/* Waits for a signal (pause(2)). */
long st_sys_pause(void);
/* Sends sig to one thread of process pid. */
long st_sys_tgkill(int pid, int tid, int sig);
/* rt_sigqueueinfo: queues sig to process pid with info (the kernel takes
 * an si_code of kill's or the kernel's only from pid's own main thread). */
long st_sys_sigqueueinfo(int pid, int sig, const siginfo_t *info);
long st_sys_dup3(int from, int to, int flags);
long st_sys_gettid(void);
/* getrlimit(2) of this process, by prlimit64. */
struct rlimit;
long st_sys_getrlimit(int resource, struct rlimit *out);
long st_sys_munmap(void *addr, size_t len);
long st_sys_sigaltstack(const stack_t *ss, stack_t *old);
/* FUTEX_WAIT_PRIVATE while *word == expected (no timeout), FUTEX_WAKE_PRIVATE. */
long st_sys_futex_wait(int *word, int expected);
long st_sys_futex_wake(int *word, int count);
/* Ends the process at once (exit_group), as _exit does, without running
 * anything: no handlers, no hooks. */
_Noreturn void st_sys_exit_group(int status);
/* The next record of a getdents64 buffer of len bytes at *offset, checked:
 * NULL at the end or when a record is malformed (a kernel is trusted to
 * write them, but strays does not walk off a buffer whatever it holds). */
const struct dirent64 *st_sys_dirent_next(const char *buf, long len, long *offset);
/* The decimal digits of n into buf, NUL-terminated (11 bytes hold any
 * unsigned int, 21 any 64-bit value); returns how many. No stdio: for /proc
 * paths and reports on the crash path too. */
int st_sys_format_uint(unsigned long long n, char *buf);
/* Reads a whole small file (/proc) into buf, NUL-terminated; bytes or -errno. */
long st_sys_read_file(const char *path, char *buf, size_t len);
/* The same for /proc/self/task/TID/NAME ("stat", "status"); no stdio, for
 * the crash path too. */
long st_sys_read_task_file(int tid, const char *name, char *buf, size_t len);

#endif
