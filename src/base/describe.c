/* Names of kernel objects as reports write them; see describe.h. */
#define _GNU_SOURCE
#include "base/describe.h"

#include "base/out.h"

#include "base/st.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

const char *st_describe_clock(int clock)
{
    static const char names[][28] = { /* characters, not relocated pointers */
        [CLOCK_REALTIME] = "CLOCK_REALTIME",
        [CLOCK_MONOTONIC] = "CLOCK_MONOTONIC",
        [CLOCK_PROCESS_CPUTIME_ID] = "CLOCK_PROCESS_CPUTIME_ID",
        [CLOCK_THREAD_CPUTIME_ID] = "CLOCK_THREAD_CPUTIME_ID",
        [CLOCK_MONOTONIC_RAW] = "CLOCK_MONOTONIC_RAW",
        [CLOCK_REALTIME_COARSE] = "CLOCK_REALTIME_COARSE",
        [CLOCK_MONOTONIC_COARSE] = "CLOCK_MONOTONIC_COARSE",
        [CLOCK_BOOTTIME] = "CLOCK_BOOTTIME",
        [CLOCK_REALTIME_ALARM] = "CLOCK_REALTIME_ALARM",
        [CLOCK_BOOTTIME_ALARM] = "CLOCK_BOOTTIME_ALARM",
        [CLOCK_TAI] = "CLOCK_TAI",
    };
    if (clock < 0) return "CPU clock"; /* clock_getcpuclockid / pthread_getcpuclockid */
    if ((size_t)clock < ST_ARRAY_LEN(names) && names[clock][0]) return names[clock];
    return "unknown clock";
}

/* Text here is built with st_out's string writer, not snprintf: reports
 * are built on the crash path too, where stdio has no place. */
void st_describe_signal_to(struct st_out *o, int signo)
{
    const char *abbrev = signo > 0 ? sigabbrev_np(signo) : NULL;
    if (abbrev) {
        st_out_str(o, "SIG");
        st_out_str(o, abbrev);
    } else if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
        st_out_str(o, "SIGRTMIN+");
        st_out_int(o, signo - SIGRTMIN);
    } else {
        st_out_int(o, signo);
    }
}

void st_describe_signal(int signo, char *buf, size_t len)
{
    struct st_out o;
    st_out_init_string(&o);
    st_describe_signal_to(&o, signo);
    const char *name = st_out_string(&o);
    size_t n = strnlen(name, len ? len - 1 : 0);
    memcpy(buf, name, n);
    if (len)
        buf[n] = '\0';
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What /proc/self/fd says the fd is now. A path is a file or a directory:
 * which one, the record tells when the fd was opened by name (recorded),
 * saving a stat per fd; otherwise fstat does. */
enum st_fd_kind st_describe_fd_kind(int fd, const char *link, enum st_fd_kind recorded)
{
    static const struct {
        char prefix[24]; /* characters, not a relocated pointer */
        enum st_fd_kind kind;
    } anon[] = {
        {"socket:[", ST_FD_SOCKET},
        {"pipe:[", ST_FD_PIPE},
        {"anon_inode:[eventfd]", ST_FD_EVENTFD},
        {"anon_inode:[eventpoll]", ST_FD_EPOLL},
        {"anon_inode:[signalfd]", ST_FD_SIGNALFD},
        {"anon_inode:inotify", ST_FD_INOTIFY},
        {"anon_inode:[timerfd]", ST_FD_TIMERFD},
        {"/memfd:", ST_FD_MEMFD},
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(anon); i++)
        if (starts_with(link, anon[i].prefix)) return anon[i].kind;
    if (link[0] != '/') return ST_FD_OTHER;
    if (recorded == ST_FD_FILE || recorded == ST_FD_DIR) return recorded;
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? ST_FD_DIR : ST_FD_FILE;
}

const char *st_describe_fd_kind_name(enum st_fd_kind kind)
{
    static const char names[ST_FD_KIND_COUNT][12] = {
        [ST_FD_ANY] = "other",     [ST_FD_FILE] = "file",         [ST_FD_DIR] = "dir",
        [ST_FD_SOCKET] = "socket", [ST_FD_PIPE] = "pipe",         [ST_FD_EVENTFD] = "eventfd",
        [ST_FD_EPOLL] = "epoll",   [ST_FD_SIGNALFD] = "signalfd", [ST_FD_INOTIFY] = "inotify",
        [ST_FD_MEMFD] = "memfd",   [ST_FD_TIMERFD] = "timerfd",   [ST_FD_OTHER] = "other",
    };
    return (unsigned)kind < ST_FD_KIND_COUNT ? names[kind] : "other";
}

/* (inet_ntop formats into the caller's buffer: no allocation, no lock.) */
static void format_inet(struct st_out *o, const struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        st_out_str(o, host);
        port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        st_out_char(o, '[');
        st_out_str(o, host);
        st_out_char(o, ']');
        port = ntohs(in6->sin6_port);
    }
    st_out_char(o, ':');
    st_out_uint(o, port);
}

static void format_unix(struct st_out *o, const struct sockaddr_storage *ss, socklen_t sl)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    size_t path_len = sl > offsetof(struct sockaddr_un, sun_path)
                          ? sl - offsetof(struct sockaddr_un, sun_path)
                          : 0;
    if (path_len == 0) {
        st_out_str(o, "(unnamed)");
    } else if (un->sun_path[0] == '\0') { /* abstract namespace */
        st_out_char(o, '@');
        st_out_mem(o, un->sun_path + 1, strnlen(un->sun_path + 1, path_len - 1));
    } else {
        st_out_mem(o, un->sun_path, strnlen(un->sun_path, path_len));
    }
}

/* The socket's own address, or its peer's (nothing when it has none). */
static void format_address(struct st_out *o, int fd, bool peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (rc != 0) {
        st_out_str(o, peer ? "" : "?");
    } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        format_inet(o, &ss);
    } else if (ss.ss_family == AF_UNIX) {
        format_unix(o, &ss, sl);
    } else {
        st_out_str(o, "family ");
        st_out_int(o, ss.ss_family);
    }
}

/* "socket:[1234] tcp 127.0.0.1:8080 -> 127.0.0.1:5000", "... unix stream /run/x (listening)". */
static const char *socket_target(int fd, const char *link, struct st_arena *a)
{
    int domain = 0, type = 0, listening = 0;
    socklen_t sl = sizeof domain;
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl);
    sl = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl);
    sl = sizeof listening;
    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl);
    const char *proto;
    if (domain == AF_INET || domain == AF_INET6)
        proto = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "ip";
    else if (domain == AF_UNIX)
        proto = type == SOCK_STREAM  ? "unix stream"
                : type == SOCK_DGRAM ? "unix dgram"
                                     : "unix seqpacket";
    else
        return st_arena_strdup(a, link);
    struct st_out o;
    st_out_init_string(&o);
    st_out_str(&o, link);
    st_out_char(&o, ' ');
    st_out_str(&o, proto);
    st_out_char(&o, ' ');
    format_address(&o, fd, false);
    size_t before_peer = o.used;
    st_out_str(&o, " -> ");
    size_t after_arrow = o.used;
    format_address(&o, fd, true);
    if (o.used == after_arrow)
        o.used = before_peer; /* no peer: no arrow */
    if (listening)
        st_out_str(&o, " (listening)");
    return st_arena_strdup(a, st_out_string(&o));
}

/* The target as reports write it: a socket with its addresses, else the link. */
const char *st_describe_fd_target(int fd, const char *link, enum st_fd_kind kind,
                                  struct st_arena *a)
{
    return kind == ST_FD_SOCKET ? socket_target(fd, link, a) : st_arena_strdup(a, link);
}
