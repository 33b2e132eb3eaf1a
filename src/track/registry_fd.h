/* The registry of file descriptors the program created: a dense table
 * indexed by fd number, one slot per fd, written by the hooks after a call
 * creates an fd and cleared before a call closes one. Each slot has its own
 * sequence lock, so threads opening and closing different fds never wait on
 * each other and a report reads a consistent copy without stopping them. */
#ifndef STRAYS_REGISTRY_FD_H
#define STRAYS_REGISTRY_FD_H

#include "base/describe.h"
#include "track/stack.h"

#include <stdbool.h>
#include <stdint.h>

/* The stdio or dirent object an fd belongs to, if any. */
enum st_fd_stream { ST_STREAM_NONE, ST_STREAM_FILE, ST_STREAM_DIR, ST_STREAM_POPEN };

/* Room for the tail of the path an fd was opened with (or a memfd's name). */
#define ST_FD_NAME_MAX 64

struct st_fd_view {
    int fd;
    enum st_fd_kind kind;
    enum st_fd_stream stream_kind;
    bool name_truncated;
    int tid;        /* creating thread */
    int clock;      /* timerfd: its clock */
    void *stream;   /* FILE * or DIR * */
    const struct st_stack *created_by;
    uint64_t created_ns;
    bool ignored;      /* in the baseline (strays_snapshot) */
    const char *scope; /* the scope it was created in, or NULL */
    char name[ST_FD_NAME_MAX]; /* "" when not opened by name */
};

/* A call created fd (stack captured here). name is the path it was opened
 * with, or NULL. */
void st_fd_track(int fd, enum st_fd_kind kind, const char *name);
/* As st_fd_track, and the fd belongs to a stdio or dirent object. */
void st_fd_track_stream(int fd, enum st_fd_kind kind, const char *name, void *stream,
                        enum st_fd_stream stream_kind);
/* A timerfd on clock. */
void st_fd_track_timerfd(int fd, int clock);
/* dup/dup2/dup3/F_DUPFD made newfd from oldfd: a new record that keeps
 * what oldfd's record knew of its kind and name. */
void st_fd_track_dup(int oldfd, int newfd);
/* recvmsg received msg: every fd passed in it (SCM_RIGHTS) is new in this
 * process. The standard streams (0, 1, 2) are left alone, as everywhere. */
struct msghdr;
void st_fd_track_received(const struct msghdr *msg);
/* fdopen / fdopendir: fd now belongs to stream (no new record if the fd
 * was not created under strays' eyes: it was inherited). */
void st_fd_attach_stream(int fd, void *stream, enum st_fd_stream stream_kind);
/* fd is about to be closed (before the real call: the number may be reused
 * the moment the call returns). */
void st_fd_untrack(int fd);
/* Every fd in [first, last] is about to be closed. */
void st_fd_untrack_range(unsigned first, unsigned last);
bool st_fd_is_tracked(int fd);
/* Whether any fd is tracked now. */
bool st_fd_any_tracked(void);

/* Calls fn with a consistent copy of every live slot. Returns the count. */
int st_fd_foreach(void (*fn)(const struct st_fd_view *, void *), void *ctx);
/* strays_snapshot: every fd tracked now is left out of later reports. */
void st_fd_ignore_all(void);
/* Fork, in the child: fds it inherited are not its leaks. */
void st_fd_after_fork_child(void);

#endif
