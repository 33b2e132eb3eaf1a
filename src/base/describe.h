/* Names of kernel objects as reports write them: clocks, signals, and an
 * fd's kind and target from its /proc link (the kinds are the fd registry's
 * too: track/registry_fd.h). Shared by the preload's report
 * (report_fds.c) and `strays inspect`, which looks at another process's fds
 * through duplicates of them (pidfd_getfd). */
#ifndef STRAYS_DESCRIBE_H
#define STRAYS_DESCRIBE_H

#include "base/arena.h"

#include <stddef.h>

/* What the creating call says the fd is. A report checks it against what
 * /proc says the fd is now, so a record whose fd was closed and reused
 * behind the hooks' back is dropped, not reported. */
enum st_fd_kind {
    ST_FD_ANY,  /* dup, fcntl(F_DUPFD), recvmsg: whatever /proc says */
    ST_FD_FILE, /* opened by path: a file or a directory */
    ST_FD_DIR,
    ST_FD_SOCKET,
    ST_FD_PIPE,
    ST_FD_EVENTFD,
    ST_FD_EPOLL,
    ST_FD_SIGNALFD,
    ST_FD_INOTIFY,
    ST_FD_MEMFD,
    ST_FD_TIMERFD,
    ST_FD_OTHER,
    ST_FD_KIND_COUNT
};

/* "CLOCK_MONOTONIC", "CPU clock" (negative ids), "unknown clock". */
const char *st_describe_clock(int clock);
/* "SIGALRM", "SIGRTMIN+3", or the number; without stdio (the crash path). */
void st_describe_signal(int signo, char *buf, size_t len);
struct st_out;
void st_describe_signal_to(struct st_out *o, int signo);
/* The kind of fd, whose /proc link reads link. A path is a file or a
 * directory: recorded says which when known (saving an fstat). */
enum st_fd_kind st_describe_fd_kind(int fd, const char *link, enum st_fd_kind recorded);
/* "file", "socket", ... */
const char *st_describe_fd_kind_name(enum st_fd_kind kind);
/* The target as reports write it: a socket with its protocol and
 * addresses ("socket:[1234] tcp 127.0.0.1:8080 -> 127.0.0.1:5000"), else
 * the link. In a's memory; NULL when out of memory. */
const char *st_describe_fd_target(int fd, const char *link, enum st_fd_kind kind,
                                  struct st_arena *a);

#endif
