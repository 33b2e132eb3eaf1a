/* `strays inspect`: what /proc says of a process strays did not start.
 * Threads from task/TID (name, state, start time, the system call it is
 * in and its arguments, the kernel function it sleeps in), fds from fd/
 * and fdinfo/ (kind and target read through a duplicate taken with
 * pidfd_getfd, so a socket shows its addresses), POSIX timers from
 * timers. Nothing here stops or signals the process. */
#define _GNU_SOURCE
#include "inspect.h"

#include "base/describe.h"
#include "base/st.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* System call names by number, generated from <sys/syscall.h> at build
 * time (Makefile: syscall_names.h). */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};

struct proc {
    int pid;
    int dir; /* /proc/PID */
    uint64_t start_ticks;
    long ticks_per_s;
};

/* The whole of /proc/PID/name into buf (NUL-terminated); -errno. */
static int read_at(int dir, const char *name, char *buf, size_t len)
{
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t used = 0;
    ssize_t n = 0;
    while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
        used += (size_t)n;
    int e = errno;
    close(fd);
    buf[used] = '\0';
    return used || n == 0 ? 0 : -e;
}

/* Field n (1-based, as proc(5) counts) of a stat line, after the name. */
static const char *stat_field(const char *stat, int n)
{
    const char *p = strrchr(stat, ')');
    if (!p) return NULL;
    p++; /* the blank before field 3 */
    for (int field = 3; field < n && p; field++)
        p = strchr(p + 1, ' ');
    return p ? p + 1 : NULL;
}

static uint64_t stat_start_ticks(const char *stat)
{
    const char *f = stat_field(stat, 22);
    return f ? strtoull(f, NULL, 10) : 0;
}

static uint64_t ticks_ms(const struct proc *p, uint64_t ticks)
{
    return ticks * 1000u / (uint64_t)p->ticks_per_s;
}

/* /proc/PID/name as a directory stream, or NULL with -errno in *err. */
static DIR *open_dir(const struct proc *p, const char *name, int *err)
{
    int fd = openat(p->dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    *err = d ? 0 : -errno;
    if (!d && fd >= 0) close(fd);
    return d;
}

/* ---- the header ---- */

static int read_header(struct st_report *r, struct proc *p)
{
    char buf[4096], path[64];
    int rc = read_at(p->dir, "stat", buf, sizeof buf);
    if (rc != 0) return rc;
    p->start_ticks = stat_start_ticks(buf);
    snprintf(path, sizeof path, "/proc/%d/exe", p->pid);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        r->exe = st_arena_strdup(&r->arena, buf);
    }
    if (read_at(p->dir, "cmdline", buf, sizeof buf) == 0 && buf[0])
        r->command = st_arena_strdup(&r->arena, buf);
    r->version = STRAYS_VERSION;
    r->pid = p->pid;
    r->reason = "inspect";
    r->exit_status = -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r->time_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    /* /proc/uptime: seconds since boot, as the start time's ticks count. */
    double up = read_at(AT_FDCWD, "/proc/uptime", buf, sizeof buf) == 0 ? strtod(buf, NULL) : 0;
    if (up * 1000 > (double)ticks_ms(p, p->start_ticks))
        r->uptime_ms = (uint64_t)(up * 1000) - ticks_ms(p, p->start_ticks);
    r->crash_stack = -1;
    r->growth_since_ms = -1;
    r->tracking.present = true;
    return 0;
}

/* ---- fds ---- */

static long pidfd = -1;

/* A duplicate of the process's fd in this one, or -1. */
static int dup_of(int fd)
{
    if (pidfd < 0) return -1;
    long local = syscall(SYS_pidfd_getfd, (int)pidfd, fd, 0);
    return local < 0 ? -1 : (int)local;
}

/* "it_value: (0, 999984542)" in a timerfd's fdinfo, as nanoseconds. */
static uint64_t fdinfo_time(const char *info, const char *key)
{
    const char *at = strstr(info, key);
    if (!at || !(at = strchr(at, '('))) return 0;
    char *end;
    unsigned long long s = strtoull(at + 1, &end, 10);
    unsigned long long ns = *end == ',' ? strtoull(end + 1, NULL, 10) : 0;
    return (uint64_t)s * 1000000000u + ns;
}

/* Room for element n of an arena array whose capacity is 16, 32, 64...: a
 * new block when n reaches it (the old one stays in the arena). */
static void *grow(struct st_arena *a, void *array, uint32_t n, size_t size)
{
    if (n == 0) return st_arena_alloc(a, 16 * size);
    if (n < 16 || (n & (n - 1))) return array;
    void *bigger = st_arena_alloc(a, 2 * (size_t)n * size);
    if (bigger) memcpy(bigger, array, (size_t)n * size);
    return bigger;
}

static int add_timerfd(struct st_report *r, struct proc *p, int fd)
{
    char name[32], info[1024];
    snprintf(name, sizeof name, "fdinfo/%d", fd);
    if (read_at(p->dir, name, info, sizeof info) != 0) return 0;
    if (!(r->timers = grow(&r->arena, r->timers, r->ntimers, sizeof *r->timers))) return -ENOMEM;
    struct st_report_timer *t = &r->timers[r->ntimers++];
    memset(t, 0, sizeof *t);
    const char *clock = strstr(info, "clockid:");
    snprintf(name, sizeof name, "fd:%d", fd);
    t->id = st_arena_strdup(&r->arena, name);
    t->clock = st_describe_clock(clock ? (int)strtol(clock + 8, NULL, 10) : -1);
    t->notify = "fd";
    t->armed = fdinfo_time(info, "it_value") != 0;
    t->interval_ns = fdinfo_time(info, "it_interval");
    t->fd = fd;
    t->created_by = -1;
    return 0;
}

static int add_fd(struct st_report *r, struct proc *p, int fd, const char *link)
{
    int local = dup_of(fd);
    enum st_fd_kind kind = st_describe_fd_kind(local, link, ST_FD_ANY);
    int rc = 0;
    if (kind == ST_FD_TIMERFD) {
        rc = add_timerfd(r, p, fd);
    } else if ((r->fds = grow(&r->arena, r->fds, r->nfds, sizeof *r->fds))) {
        struct st_report_fd *f = &r->fds[r->nfds++];
        memset(f, 0, sizeof *f);
        f->fd = fd;
        f->kind = st_describe_fd_kind_name(kind);
        f->target = local >= 0 ? st_describe_fd_target(local, link, kind, &r->arena)
                               : st_arena_strdup(&r->arena, link);
        f->created_by = -1;
    } else {
        rc = -ENOMEM;
    }
    if (local >= 0) close(local);
    return rc;
}

/* fds 0, 1 and 2 are left out, as in every strays report. */
static int read_fds(struct st_report *r, struct proc *p)
{
    int rc;
    DIR *d = open_dir(p, "fd", &rc);
    if (!d) return rc;
    int dfd = dirfd(d);
    pidfd = syscall(SYS_pidfd_open, p->pid, 0);
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        char link[4096];
        int fd = (int)strtol(e->d_name, NULL, 10);
        if (e->d_name[0] == '.' || fd <= 2) continue;
        ssize_t n = readlinkat(dfd, e->d_name, link, sizeof link - 1);
        if (n <= 0) continue; /* closed meanwhile */
        link[n] = '\0';
        rc = add_fd(r, p, fd, link);
    }
    closedir(d);
    if (pidfd >= 0) close((int)pidfd);
    pidfd = -1;
    return rc;
}

/* ---- POSIX timers (/proc/PID/timers, one block per timer) ---- */

/* "signal/pid.42" or "signal/tid.43" with signal 14: the report's notify.
 * glibc makes SIGEV_THREAD timers SIGEV_THREAD_ID ones for its helper
 * thread, with its internal signal SIGRTMIN-0 (32). */
static const char *notify_of(struct st_report *r, const char *how, int target, int signo)
{
    char sig[32], buf[96];
    st_describe_signal(signo, sig, sizeof sig);
    if (!strncmp(how, "none", 4)) return "none";
    if (!strcmp(how, "signal/tid") && signo == 32) return "thread";
    if (!strcmp(how, "signal/tid"))
        snprintf(buf, sizeof buf, "thread_id:%d:%s", target, sig);
    else
        snprintf(buf, sizeof buf, "signal:%s", sig);
    return st_arena_strdup(&r->arena, buf);
}

/* The number after "key" in a block of /proc/PID/timers, or fallback. */
static int timer_number(const char *block, const char *key, int fallback)
{
    const char *at = strstr(block, key);
    if (!at) return fallback;
    char *end;
    long v = strtol(at + strlen(key), &end, 10);
    return end == at + strlen(key) ? fallback : (int)v;
}

/* A block reads "ID: 0\nsignal: 14/0000...\nnotify: signal/pid.42\nClockID: 1". */
static int add_posix_timer(struct st_report *r, const char *block)
{
    int id = timer_number(block, "ID:", -1), signo = timer_number(block, "signal:", 0);
    int clock = timer_number(block, "ClockID:", 0);
    const char *notify = strstr(block, "notify:");
    const char *dot = notify ? strchr(notify, '.') : NULL;
    int target = dot ? (int)strtol(dot + 1, NULL, 10) : 0;
    char how[16] = "";
    if (notify) {
        notify += strlen("notify:");
        notify += strspn(notify, " ");
        snprintf(how, sizeof how, "%.*s", (int)strcspn(notify, ".\n"), notify);
    }
    if (id < 0) return 0;
    if (!(r->timers = grow(&r->arena, r->timers, r->ntimers, sizeof *r->timers))) return -ENOMEM;
    struct st_report_timer *t = &r->timers[r->ntimers++];
    memset(t, 0, sizeof *t);
    char name[24];
    snprintf(name, sizeof name, "0x%x", (unsigned)id);
    t->id = st_arena_strdup(&r->arena, name);
    t->clock = st_describe_clock(clock);
    t->notify = notify_of(r, how, target, signo);
    t->armed_unknown = true; /* only timer_gettime in the process could say */
    t->fd = -1;
    t->created_by = -1;
    return 0;
}

static int read_timers(struct st_report *r, struct proc *p)
{
    static char text[1 << 20];
    if (read_at(p->dir, "timers", text, sizeof text) != 0)
        return 0; /* a kernel without CONFIG_CHECKPOINT_RESTORE */
    int rc = 0;
    for (char *block = strncmp(text, "ID:", 3) ? NULL : text; block && !rc;) {
        char *next = strstr(block, "\nID:");
        if (next) *next++ = '\0';
        rc = add_posix_timer(r, block);
        block = next;
    }
    return rc;
}

/* ---- threads ---- */

static const char *syscall_name(long nr)
{
    if (nr >= 0 && (size_t)nr < ST_ARRAY_LEN(syscall_names) && syscall_names[nr])
        return syscall_names[nr];
    return NULL;
}

/* Calls whose first argument is the fd they wait on. */
static bool waits_on_fd(long nr)
{
    static const long calls[] = {
        SYS_read,     SYS_readv,   SYS_pread64,    SYS_preadv,      SYS_write,   SYS_writev,
        SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg,   SYS_sendto,      SYS_sendmsg, SYS_accept,
        SYS_accept4,  SYS_connect, SYS_epoll_wait, SYS_epoll_pwait, SYS_flock,   SYS_fcntl,
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(calls); i++)
        if (calls[i] == nr) return true;
    return false;
}

static const char *fd_target(struct st_report *r, struct proc *p, int fd)
{
    for (uint32_t i = 0; i < r->nfds; i++)
        if (r->fds[i].fd == fd) return r->fds[i].target;
    char name[32], link[4096];
    snprintf(name, sizeof name, "fd/%d", fd);
    ssize_t n = readlinkat(p->dir, name, link, sizeof link - 1);
    if (n <= 0) return NULL;
    link[n] = '\0';
    return st_arena_strdup(&r->arena, link);
}

/* A thread asleep in a system call: what /proc/PID/task/TID/syscall and
 * wchan say. NULL when it is not (running, or /proc would not say). */
static struct st_report_blocked *blocked_of(struct st_report *r, struct proc *p, int tid,
                                            char state)
{
    char name[64], buf[512];
    snprintf(name, sizeof name, "task/%d/syscall", tid);
    if ((state != 'S' && state != 'D') || read_at(p->dir, name, buf, sizeof buf) != 0) return NULL;
    /* "NR ARG1 ... ARG6 SP PC", the arguments in hex; "running" or -1 otherwise. */
    char *at;
    long nr = strtol(buf, &at, 10);
    uint64_t args[6] = {0};
    for (int i = 0; i < 6 && *at == ' '; i++)
        args[i] = strtoull(at + 1, &at, 16);
    if (at == buf || !syscall_name(nr)) return NULL;
    struct st_report_blocked *b = st_arena_alloc(&r->arena, sizeof *b);
    if (!b) return NULL;
    b->call = syscall_name(nr);
    b->fd = -1;
    b->deadline_ms = -1;
    b->since_unknown = true;
    if (nr == SYS_futex) b->object = args[0];
    if (waits_on_fd(nr)) {
        b->fd = (int)args[0];
        b->target = fd_target(r, p, b->fd);
    }
    snprintf(name, sizeof name, "task/%d/wchan", tid);
    if (read_at(p->dir, name, buf, sizeof buf) == 0 && buf[0] && strcmp(buf, "0"))
        b->wchan = st_arena_strdup(&r->arena, buf);
    return b;
}

static int add_thread(struct st_report *r, struct proc *p, int tid)
{
    char name[64], stat[1024], comm[64] = "";
    snprintf(name, sizeof name, "task/%d/stat", tid);
    if (read_at(p->dir, name, stat, sizeof stat) != 0) return 0; /* ended meanwhile */
    snprintf(name, sizeof name, "task/%d/comm", tid);
    read_at(p->dir, name, comm, sizeof comm);
    comm[strcspn(comm, "\n")] = '\0';
    if (!(r->threads = grow(&r->arena, r->threads, r->nthreads, sizeof *r->threads)))
        return -ENOMEM;
    struct st_report_thread *t = &r->threads[r->nthreads++];
    memset(t, 0, sizeof *t);
    const char *state = stat_field(stat, 3);
    t->tid = tid;
    t->name = st_arena_strdup(&r->arena, comm);
    t->blocked = state ? blocked_of(r, p, tid, *state) : NULL;
    t->state = t->blocked ? ST_RT_BLOCKED : ST_RT_RUNNING;
    t->created_by = -1;
    t->stack = -1;
    uint64_t start = stat_start_ticks(stat);
    t->created_ms = start > p->start_ticks ? ticks_ms(p, start - p->start_ticks) : 0;
    return 0;
}

static int cmp_tid(const void *a, const void *b)
{
    int x = ((const struct st_report_thread *)a)->tid,
        y = ((const struct st_report_thread *)b)->tid;
    return (x > y) - (x < y);
}

static int read_threads(struct st_report *r, struct proc *p)
{
    int rc;
    DIR *d = open_dir(p, "task", &rc);
    if (!d) return rc;
    struct dirent *e;
    while (!rc && (e = readdir(d)))
        if (e->d_name[0] != '.') rc = add_thread(r, p, (int)strtol(e->d_name, NULL, 10));
    closedir(d);
    if (r->nthreads) qsort(r->threads, r->nthreads, sizeof *r->threads, cmp_tid);
    return rc;
}

int inspect_read_proc(struct st_report *r, int pid, char *err, size_t errlen)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d", pid);
    struct proc p = {pid, open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, sysconf(_SC_CLK_TCK)};
    if (p.dir < 0) {
        snprintf(err, errlen, "no process with pid %d", pid);
        return -ESRCH;
    }
    int rc = read_header(r, &p);
    const char *what = "stat";
    if (rc == 0 && (rc = read_fds(r, &p)) != 0) what = "fd";
    if (rc == 0 && (rc = read_timers(r, &p)) != 0) what = "timers";
    if (rc == 0 && (rc = read_threads(r, &p)) != 0) what = "task";
    close(p.dir);
    if (rc == -ENOENT || rc == -ESRCH)
        snprintf(err, errlen, "process %d ended while strays read it", pid);
    else if (rc != 0)
        snprintf(err, errlen, "cannot read /proc/%d/%s: %s", pid, what, strerror(-rc));
    return rc;
}
