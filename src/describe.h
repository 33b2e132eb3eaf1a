/* Names of kernel objects as reports write them: clocks, signals, and an
 * fd's kind and target from its /proc link. Shared by the preload's report
 * (report_fds.c) and `strays inspect`, which looks at another process's fds
 * through duplicates of them (pidfd_getfd). */
#ifndef STRAYS_DESCRIBE_H
#define STRAYS_DESCRIBE_H

#include "arena.h"
#include "registry_fd.h"

#include <stddef.h>

/* "CLOCK_MONOTONIC", "CPU clock" (negative ids), "unknown clock". */
const char *st_describe_clock(int clock);
/* "SIGALRM", "SIGRTMIN+3", or the number. */
void st_describe_signal(int signo, char *buf, size_t len);
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
