/* Interposers for every call that creates or closes a file descriptor. A
 * record is made after a call succeeds and dropped before a call closes,
 * since the number can be reused the moment a close returns. The standard
 * streams 0, 1 and 2 are never tracked: whatever a program puts there
 * (a daemon's /dev/null, a redirection) is not a leak. strays' own fds are
 * invisible: closing one fails as if it did not exist, taking its number
 * moves strays' copy away first. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/fd_ranges.h"
#include "runtime/exhaustion.h"
#include "runtime/fd_headroom.h"
#include "base/log.h"
#include "track/registry_fd.h"
#include "base/sys.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#define FIRST_TRACKED_FD 3

static inline void track(int fd, enum st_fd_kind kind, const char *name)
{
    if (fd >= FIRST_TRACKED_FD)
        CORE(st_fd_track(fd, kind, name));
    st_exhaustion_fd_created(fd);
}

static inline void track_stream(int fd, enum st_fd_kind kind, const char *name, void *stream,
                                enum st_fd_stream stream_kind)
{
    if (fd >= FIRST_TRACKED_FD)
        CORE(st_fd_track_stream(fd, kind, name, stream, stream_kind));
    st_exhaustion_fd_created(fd);
}

static inline void untrack(int fd)
{
    if (fd >= FIRST_TRACKED_FD)
        CORE(st_fd_untrack(fd));
}

/* An fd made by strays' own work (libunwind's pipe, libdw's files) while
 * the guard is up goes to strays' high range, so the program's next fd gets
 * the number it would have had without strays. A vfork child's fds are its
 * own business (the guard is up there too). */
static inline bool own_work(void) { return st_guard_depth > 0 && !st_in_vfork_child; }

static inline int hide_own(int fd)
{
    if (fd < 0 || !own_work())
        return fd;
    int saved = errno;
    fd = st_fd_hide(fd);
    errno = saved;
    return fd;
}

static inline void hide_own_pair(int fds[2])
{
    if (own_work()) {
        fds[0] = hide_own(fds[0]);
        fds[1] = hide_own(fds[1]);
    }
}

/* fileno and dirfd set errno on a stream without an fd; a hook must not.
 * (FILE's _fileno field cannot be read instead: a stream from fopencookie
 * or fmemopen never sets it, and fileno checks a private flag first.) */
static inline int stream_fd(FILE *stream)
{
    int saved = errno;
    int fd = fileno(stream);
    errno = saved;
    return fd;
}

static inline int dir_fd(DIR *dir)
{
    int saved = errno;
    int fd = dirfd(dir);
    errno = saved;
    return fd;
}

/* The mode argument exists only when the flags ask to create a file. */
static inline bool open_has_mode(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* ---- open and friends ---- */

/* What every hook that creates one fd does with the real call's result:
 * track it, or, made by strays' own work, move it out of the program's way. */
/* The program is out of fds (EMFILE: its own limit; ENFILE: the
 * system's): say how many strays holds (once), and ask the watchdog for a
 * dump (exhaustion.h). Every hook that creates fds calls this on failure. */
static inline void failed(void)
{
    int e = errno;
    if (ST_UNLIKELY(e == EMFILE || e == ENFILE) && st_active()) {
        if (e == EMFILE)
            CORE(st_fd_note_emfile());
        CORE(st_exhaustion_hit(ST_LIMIT_FDS, e));
    }
}

static inline int created(int fd, enum st_fd_kind kind, const char *name)
{
    if (fd < 0) {
        failed();
        return fd;
    }
    if (!st_active())
        return hide_own(fd);
    track(fd, kind, name);
    return fd;
}

/* The same for the calls that create two (pipe, socketpair). */
static inline int created_pair(int rc, int fds[2], enum st_fd_kind kind)
{
    if (rc != 0) {
        failed();
        return rc;
    }
    if (!st_active()) {
        hide_own_pair(fds);
        return rc;
    }
    track(fds[0], kind, NULL);
    track(fds[1], kind, NULL);
    return rc;
}

/* Opened by path: a file, or a directory when the flags say so. */
static inline int opened(int fd, int flags, const char *path)
{
    return created(fd, (flags & O_DIRECTORY) ? ST_FD_DIR : ST_FD_FILE, path);
}

/* The optional mode argument of open and openat, declared as mode. */
#define OPEN_MODE(flags)                                                                   \
    mode_t mode = 0;                                                                       \
    if (open_has_mode(flags)) {                                                            \
        va_list ap;                                                                        \
        va_start(ap, flags);                                                               \
        mode = va_arg(ap, mode_t);                                                         \
        va_end(ap);                                                                        \
    }

#define OPEN_HOOK(name)                                                                    \
    INTERPOSER int name(const char *path, int flags, ...)                                  \
    {                                                                                      \
        OPEN_MODE(flags)                                                                   \
        return opened(REAL(name)(path, flags, mode), flags, path);                         \
    }

#define OPENAT_HOOK(name)                                                                  \
    INTERPOSER int name(int dirfd, const char *path, int flags, ...)                       \
    {                                                                                      \
        OPEN_MODE(flags)                                                                   \
        return opened(REAL(name)(dirfd, path, flags, mode), flags, path);                  \
    }

ST_HOT OPEN_HOOK(open)
ST_HOT OPEN_HOOK(open64)
ST_HOT OPENAT_HOOK(openat)
ST_HOT OPENAT_HOOK(openat64)

/* The _FORTIFY_SOURCE entry points, used when the compiler cannot see that
 * the flags need no mode. */
#define OPEN_2_HOOK(name)                                                                  \
    INTERPOSER int name(const char *path, int flags)                                       \
    {                                                                                      \
        return opened(REAL(name)(path, flags), flags, path);                               \
    }
OPEN_2_HOOK(__open_2)
OPEN_2_HOOK(__open64_2)

#define OPENAT_2_HOOK(name)                                                                \
    INTERPOSER int name(int dirfd, const char *path, int flags)                            \
    {                                                                                      \
        return opened(REAL(name)(dirfd, path, flags), flags, path);                        \
    }
OPENAT_2_HOOK(__openat_2)
OPENAT_2_HOOK(__openat64_2)

#define CREAT_HOOK(name)                                                                   \
    INTERPOSER int name(const char *path, mode_t mode)                                     \
    {                                                                                      \
        return opened(REAL(name)(path, mode), 0, path);                                    \
    }
CREAT_HOOK(creat)
CREAT_HOOK(creat64)

/* mkstemp opens inside glibc, where no open hook sees it. */
INTERPOSER int mkstemp(char *template)
{
    return created(REAL(mkstemp)(template), ST_FD_FILE, template);
}

INTERPOSER int mkostemp(char *template, int flags)
{
    return created(REAL(mkostemp)(template, flags), ST_FD_FILE, template);
}

/* ---- stdio and dirent: glibc opens and closes their fds internally ---- */

#define FOPEN_HOOK(name)                                                                   \
    INTERPOSER FILE *name(const char *path, const char *mode)                              \
    {                                                                                      \
        FILE *f = REAL(name)(path, mode);                                                  \
        if (!f)                                                                            \
            failed();                                                                      \
        else if (st_active())                                                              \
            track_stream(stream_fd(f), ST_FD_FILE, path, f, ST_STREAM_FILE);                  \
        return f;                                                                          \
    }
ST_HOT FOPEN_HOOK(fopen)
ST_HOT FOPEN_HOOK(fopen64)

INTERPOSER FILE *fdopen(int fd, const char *mode)
{
    FILE *f = REAL(fdopen)(fd, mode);
    if (f && fd >= FIRST_TRACKED_FD && st_active())
        CORE(st_fd_attach_stream(fd, f, ST_STREAM_FILE));
    return f;
}

/* freopen(path) closes the stream's fd inside glibc and opens path, maybe
 * on the same number: the old record goes first. freopen(NULL) reopens the
 * same file onto the same fd number: the record stays as it is, unless the
 * reopening failed, which closes the stream. */
#define FREOPEN_HOOK(name)                                                                 \
    INTERPOSER FILE *name(const char *path, const char *mode, FILE *stream)                \
    {                                                                                      \
        bool active = st_active();                                                         \
        int old_fd = active && stream ? stream_fd(stream) : -1;                            \
        if (path)                                                                          \
            untrack(old_fd);                                                               \
        FILE *f = REAL(name)(path, mode, stream);                                          \
        if (f && active && path)                                                           \
            track_stream(stream_fd(f), ST_FD_FILE, path, f, ST_STREAM_FILE);               \
        else if (!f && !path)                                                              \
            untrack(old_fd);                                                               \
        return f;                                                                          \
    }
FREOPEN_HOOK(freopen)
FREOPEN_HOOK(freopen64)

#define TMPFILE_HOOK(name)                                                                 \
    INTERPOSER FILE *name(void)                                                            \
    {                                                                                      \
        FILE *f = REAL(name)();                                                            \
        if (!f)                                                                            \
            failed();                                                                      \
        else if (st_active())                                                              \
            track_stream(stream_fd(f), ST_FD_FILE, NULL, f, ST_STREAM_FILE);                  \
        return f;                                                                          \
    }
TMPFILE_HOOK(tmpfile)
TMPFILE_HOOK(tmpfile64)

INTERPOSER DIR *opendir(const char *path)
{
    DIR *d = REAL(opendir)(path);
    if (!d)
        failed();
    else if (st_active())
        track_stream(dir_fd(d), ST_FD_DIR, path, d, ST_STREAM_DIR);
    return d;
}

INTERPOSER DIR *fdopendir(int fd)
{
    DIR *d = REAL(fdopendir)(fd);
    if (d && fd >= FIRST_TRACKED_FD && st_active())
        CORE(st_fd_attach_stream(fd, d, ST_STREAM_DIR));
    return d;
}

INTERPOSER FILE *popen(const char *command, const char *type)
{
    FILE *f = REAL(popen)(command, type);
    if (!f)
        failed();
    else if (st_active())
        track_stream(stream_fd(f), ST_FD_PIPE, NULL, f, ST_STREAM_POPEN);
    return f;
}

ST_HOT INTERPOSER int fclose(FILE *stream)
{
    if (stream && st_active())
        untrack(stream_fd(stream));
    return REAL(fclose)(stream);
}

/* glibc declares closedir's argument nonnull, so the compiler would drop a
 * plain NULL check; an empty asm hides what the pointer is known to be. */
static inline bool is_null(const void *p)
{
    __asm__("" : "+r"(p));
    return p == NULL;
}

/* closedir(NULL) fails with EINVAL in glibc; dirfd(NULL) would crash. */
INTERPOSER int closedir(DIR *dir)
{
    if (!is_null(dir) && st_active())
        untrack(dir_fd(dir));
    return REAL(closedir)(dir);
}

INTERPOSER int pclose(FILE *stream)
{
    if (stream && st_active())
        untrack(stream_fd(stream));
    return REAL(pclose)(stream);
}

/* ---- sockets, pipes and the special fds ---- */

ST_HOT INTERPOSER int socket(int domain, int type, int protocol)
{
    return created(REAL(socket)(domain, type, protocol), ST_FD_SOCKET, NULL);
}

INTERPOSER int socketpair(int domain, int type, int protocol, int sv[2])
{
    return created_pair(REAL(socketpair)(domain, type, protocol, sv), sv, ST_FD_SOCKET);
}

/* accept waits for a connection, then creates an fd. */
INTERPOSER int accept(int sockfd, struct sockaddr *addr, socklen_t *len)
{
    if (!st_active())
        return hide_own(REAL(accept)(sockfd, addr, len));
    WAIT_BEGIN(ST_WAIT_ACCEPT, NULL, sockfd, 0);
    int fd = REAL(accept)(sockfd, addr, len);
    WAIT_END(false);
    if (fd >= 0)
        track(fd, ST_FD_SOCKET, NULL);
    else
        failed();
    return fd;
}

INTERPOSER int accept4(int sockfd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!st_active())
        return hide_own(REAL(accept4)(sockfd, addr, len, flags));
    WAIT_BEGIN(ST_WAIT_ACCEPT4, NULL, sockfd, 0);
    int fd = REAL(accept4)(sockfd, addr, len, flags);
    WAIT_END(false);
    if (fd >= 0)
        track(fd, ST_FD_SOCKET, NULL);
    else
        failed();
    return fd;
}

INTERPOSER int pipe(int fds[2])
{
    return created_pair(REAL(pipe)(fds), fds, ST_FD_PIPE);
}

INTERPOSER int pipe2(int fds[2], int flags)
{
    return created_pair(REAL(pipe2)(fds, flags), fds, ST_FD_PIPE);
}

INTERPOSER int eventfd(unsigned int initval, int flags)
{
    return created(REAL(eventfd)(initval, flags), ST_FD_EVENTFD, NULL);
}

INTERPOSER int epoll_create(int size)
{
    return created(REAL(epoll_create)(size), ST_FD_EPOLL, NULL);
}

INTERPOSER int epoll_create1(int flags)
{
    return created(REAL(epoll_create1)(flags), ST_FD_EPOLL, NULL);
}

/* signalfd(fd, ...) with fd != -1 changes an existing signalfd. */
INTERPOSER int signalfd(int fd, const sigset_t *mask, int flags)
{
    if (mask && st_active())
        CORE(st_watchdog_program_waits(mask));
    int rc = REAL(signalfd)(fd, mask, flags);
    if (rc < 0)
        failed();
    else if (fd == -1 && st_active())
        track(rc, ST_FD_SIGNALFD, NULL);
    return rc;
}

INTERPOSER int inotify_init(void)
{
    return created(REAL(inotify_init)(), ST_FD_INOTIFY, NULL);
}

INTERPOSER int inotify_init1(int flags)
{
    return created(REAL(inotify_init1)(flags), ST_FD_INOTIFY, NULL);
}

INTERPOSER int memfd_create(const char *name, unsigned int flags)
{
    return created(REAL(memfd_create)(name, flags), ST_FD_MEMFD, name);
}

/* A timerfd is reported once, as a timer that has an fd. */
INTERPOSER int timerfd_create(int clock, int flags)
{
    int fd = REAL(timerfd_create)(clock, flags);
    if (fd < 0)
        failed();
    else if (fd >= FIRST_TRACKED_FD && st_active())
        CORE(st_fd_track_timerfd(fd, clock));
    return fd;
}

/* fds passed over a unix socket (SCM_RIGHTS) are new in this process. */
INTERPOSER ssize_t recvmsg(int sockfd, struct msghdr *msg, int flags)
{
    if (!st_active())
        return REAL(recvmsg)(sockfd, msg, flags);
    WAIT_BEGIN(ST_WAIT_RECVMSG, NULL, sockfd, 0);
    ssize_t n = REAL(recvmsg)(sockfd, msg, flags);
    WAIT_END(false);
    if (n >= 0)
        CORE(st_fd_track_received(msg));
    return n;
}

/* ---- dup and fcntl ---- */

INTERPOSER int dup(int oldfd)
{
    int fd = REAL(dup)(oldfd);
    if (fd < 0)
        failed();
    else if (fd >= FIRST_TRACKED_FD && st_active())
        CORE(st_fd_track_dup(oldfd, fd));
    return fd;
}

/* dup2/dup3 onto an open fd close it first. Onto an fd strays tracks, the
 * record is replaced; onto one open but untracked (inherited), the new fd
 * stands in for the inherited one and is not a leak either. */
static bool dup_target_is_inherited(int newfd)
{
    return newfd >= FIRST_TRACKED_FD && !st_fd_is_tracked(newfd) &&
           st_sys_fcntl(newfd, F_GETFD, 0) >= 0;
}

INTERPOSER int dup2(int oldfd, int newfd)
{
    if (!st_active() || oldfd == newfd)
        return REAL(dup2)(oldfd, newfd);
    bool inherited;
    CORE(st_fd_private_evacuate(newfd); inherited = dup_target_is_inherited(newfd));
    int fd = REAL(dup2)(oldfd, newfd);
    if (fd >= FIRST_TRACKED_FD && !inherited)
        CORE(st_fd_track_dup(oldfd, fd));
    return fd;
}

INTERPOSER int dup3(int oldfd, int newfd, int flags)
{
    if (!st_active() || oldfd == newfd)
        return REAL(dup3)(oldfd, newfd, flags);
    bool inherited;
    CORE(st_fd_private_evacuate(newfd); inherited = dup_target_is_inherited(newfd));
    int fd = REAL(dup3)(oldfd, newfd, flags);
    if (fd >= FIRST_TRACKED_FD && !inherited)
        CORE(st_fd_track_dup(oldfd, fd));
    return fd;
}

/* fcntl's third argument is an int or a pointer; passing it on as a long
 * covers both (the x86-64 and aarch64 ABIs pass either in one register). */
#define FCNTL_HOOK(name)                                                                   \
    INTERPOSER int name(int fd, int cmd, ...)                                              \
    {                                                                                      \
        va_list ap;                                                                        \
        va_start(ap, cmd);                                                                 \
        long arg = va_arg(ap, long);                                                       \
        va_end(ap);                                                                        \
        int rc = REAL(name)(fd, cmd, arg);                                                 \
        if (rc < 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))                          \
            failed();                                                                      \
        else if (rc >= FIRST_TRACKED_FD && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&     \
            st_active())                                                                   \
            CORE(st_fd_track_dup(fd, rc));                                                 \
        return rc;                                                                         \
    }
FCNTL_HOOK(fcntl)
FCNTL_HOOK(fcntl64)

/* ---- closing ---- */

ST_HOT INTERPOSER int close(int fd)
{
    if (st_active()) {
        if (ST_UNLIKELY(st_fd_is_private(fd))) {
            errno = EBADF; /* as without strays: the program never had this fd */
            return -1;
        }
        untrack(fd);
    }
    return REAL(close)(fd);
}

/* Closes [first, last] except strays' own fds, in the pieces around them
 * (src/base/fd_ranges.h). */
static int close_range_around_private(unsigned first, unsigned last, int flags)
{
    struct st_fd_range piece[ST_FD_RANGES_MAX];
    int n;
    CORE(n = st_fd_program_ranges(first, last, piece, ST_FD_RANGES_MAX));
    if (flags & CLOSE_RANGE_CLOEXEC) /* marks, closes nothing: strays' own are cloexec anyway */
        return REAL(close_range)(first, last, flags);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = REAL(close_range)(piece[i].first, piece[i].last, flags);
    return rc;
}

INTERPOSER int close_range(unsigned int first, unsigned int last, int flags)
{
    if (!st_active() || first > last)
        return REAL(close_range)(first, last, flags);
    if (!(flags & CLOSE_RANGE_CLOEXEC))
        CORE(st_fd_untrack_range(first < FIRST_TRACKED_FD ? FIRST_TRACKED_FD : first, last));
    return close_range_around_private(first, last, flags);
}

INTERPOSER void closefrom(int lowfd)
{
    if (!st_active() || lowfd < 0) {
        REAL(closefrom)(lowfd);
        return;
    }
    CORE(st_fd_untrack_range(lowfd < FIRST_TRACKED_FD ? FIRST_TRACKED_FD : (unsigned)lowfd, ~0u));
    struct st_fd_range piece[ST_FD_RANGES_MAX];
    int n;
    CORE(n = st_fd_program_ranges((unsigned)lowfd, ~0u, piece, ST_FD_RANGES_MAX));
    /* The pieces below strays' last fd, then closefrom above it (the last
     * piece always runs to ~0u: strays' fds are below INT_MAX). */
    int saved = errno;
    for (int i = 0; i + 1 < n; i++)
        REAL(close_range)(piece[i].first, piece[i].last, 0);
    errno = saved; /* closefrom returns nothing and sets no errno */
    if (n > 0)
        REAL(closefrom)((int)piece[n - 1].first);
}
