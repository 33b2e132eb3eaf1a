/* The fds and timers of a report. Each record is checked against the
 * kernel before it is reported: glibc and other libraries close fds and
 * delete timers behind the hooks' back, and the number may since belong to
 * something else. An fd must still be open and be the kind of object its
 * creating call made (and, opened by path, the same file); a timer must
 * still exist. A record that fails is stale and dropped, never reported.
 * The script a shell runs is open until the shell ends, by design: it is
 * left out and counted as suppressed. */
#define _GNU_SOURCE
#include "base/command_line.h"
#include "base/describe.h"
#include "base/options.h"
#include "base/out.h"
#include "track/registry_fd.h"
#include "track/registry_timer.h"
#include "collect/report_build.h"
#include "base/st.h"
#include "base/sys.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- names ---- */

/* Text here is built with st_out's string writer, not snprintf: reports
 * are built on the crash path too, where stdio has no place. */
static const char *notify_text(const struct st_timer_view *v, struct st_arena *a)
{
    struct st_out o;
    st_out_init_string(&o);
    switch (v->notify) {
    case SIGEV_NONE:
        return "none";
    case SIGEV_THREAD:
        return "thread";
    case SIGEV_THREAD_ID:
        st_out_str(&o, "thread_id:");
        st_out_int(&o, v->notify_tid);
        st_out_char(&o, ':');
        break;
    default:
        st_out_str(&o, "signal:");
        break;
    }
    st_describe_signal_to(&o, v->signo);
    return st_arena_strdup(a, st_out_string(&o));
}

static uint64_t timespec_ns(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* Grows an arena array by one element; NULL when memory runs out. */
static void *push(struct st_arena *a, void **array, uint32_t *count, uint32_t *cap, size_t size)
{
    if (*count == *cap) {
        uint32_t grown_cap = *cap ? *cap * 2 : 16;
        void *grown = st_arena_alloc(a, grown_cap * size);
        if (!grown)
            return NULL;
        if (*count)
            memcpy(grown, *array, *count * size);
        *array = grown;
        *cap = grown_cap;
    }
    return (char *)*array + (*count)++ * size;
}

/* ---- timers ---- */

struct timer_copy {
    struct st_timer_view *views;
    uint32_t count, cap;
    struct st_arena *arena;
};

static void copy_timer(const struct st_timer_view *v, void *ctx)
{
    struct timer_copy *c = ctx;
    struct st_timer_view *slot =
        push(c->arena, (void **)&c->views, &c->count, &c->cap, sizeof *slot);
    if (slot)
        *slot = *v;
}

/* Asks the kernel through the timer's own ABI; -1 when it no longer exists. */
static int timer_state(const struct st_timer_view *v, struct itimerspec *its)
{
    if (!v->compat)
        return timer_gettime((timer_t)v->id, its);
    typedef int (*old_gettime_fn)(int, struct itimerspec *);
    static old_gettime_fn old_gettime;
    if (!old_gettime)
        old_gettime = (old_gettime_fn)dlvsym(RTLD_DEFAULT, "timer_gettime", "GLIBC_2.2.5");
    return old_gettime ? old_gettime((int)v->id, its) : -1;
}

static struct st_report_timer *new_timer(struct st_report *r, uint32_t *cap)
{
    return push(&r->arena, (void **)&r->timers, &r->ntimers, cap, sizeof *r->timers);
}

/* The kernel finds a timer by id in one hash table for the whole system,
 * sized by CPUs (512 buckets each on 6.x kernels), so a lookup walks a
 * chain as long as the timers alive over its size: with 100 000 timers a
 * timer_gettime costs tens of microseconds, and checking all of them
 * seconds. Past the check_budget option the rest are reported as the
 * registry knows them (armed as last set by the program) and counted as
 * unchecked. */
static __attribute__((noinline)) void check_timers(struct st_report *r,
                                                   struct st_stack_index *si,
                                                   uint32_t *timer_cap,
                                                   const struct timer_copy *copied);

/* Copying the registry is apart from checking what it holds, whose buffers
 * take 16 KiB of stack: a process with nothing to report (each one under
 * `strays run` writes that report) does not fault in those pages. */
ST_EVERY_REPORT
static void collect_timers(struct st_report *r, struct st_stack_index *si, uint32_t *timer_cap)
{
    struct timer_copy c = {.arena = &r->arena};
    st_timer_foreach(copy_timer, &c, r->crash_safe ? &r->tracking.timers_unread : NULL);
    if (c.count)
        check_timers(r, si, timer_cap, &c);
}

static void check_timers(struct st_report *r, struct st_stack_index *si, uint32_t *timer_cap,
                         const struct timer_copy *copied)
{
    const struct timer_copy c = *copied;
    uint64_t deadline = st_uptime_ns() + st_opt.check_budget;
    bool checking = st_opt.check_budget > 0;
    for (uint32_t i = 0; i < c.count; i++) {
        const struct st_timer_view *v = &c.views[i];
        if (v->ignored || (r->scope && v->scope != r->scope))
            continue;
        /* The clock is read every 64 timers: a read costs as much as a check. */
        if (checking && (i & 63) == 0 && st_uptime_ns() > deadline)
            checking = false;
        struct itimerspec its = {0};
        if (checking) {
            int saved = errno;
            int rc = timer_state(v, &its);
            errno = saved;
            if (rc != 0)
                continue; /* deleted behind strays' back */
        } else {
            r->tracking.timers_unchecked++;
            its.it_value.tv_sec = v->armed;
            its.it_interval.tv_sec = (time_t)(v->interval_ns / 1000000000u);
            its.it_interval.tv_nsec = (long)(v->interval_ns % 1000000000u);
        }
        struct st_report_timer *t = new_timer(r, timer_cap);
        if (!t)
            return;
        struct st_out id;
        st_out_init_string(&id);
        st_out_hex(&id, (uintptr_t)v->id);
        t->id = st_arena_strdup(&r->arena, st_out_string(&id));
        t->clock = st_describe_clock(v->clock);
        t->notify = notify_text(v, &r->arena);
        t->armed = its.it_value.tv_sec || its.it_value.tv_nsec;
        t->interval_ns = timespec_ns(&its.it_interval);
        t->fd = -1;
        t->tid = v->tid;
        t->created_by = st_stack_index_of(si, v->created_by);
        t->created_ms = v->created_ns / 1000000u;
        t->scope = v->scope;
    }
}

/* ---- fds ---- */

struct fd_copy {
    struct st_fd_view *views;
    uint32_t count, cap;
    struct st_arena *arena;
};

static void copy_fd(const struct st_fd_view *v, void *ctx)
{
    struct fd_copy *c = ctx;
    struct st_fd_view *slot = push(c->arena, (void **)&c->views, &c->count, &c->cap, sizeof *slot);
    if (slot)
        *slot = *v;
}

/* The last path component, without the " (deleted)" /proc adds. */
static size_t base_of(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    size_t len = strlen(*base);
    static const char deleted[] = " (deleted)";
    if (len >= sizeof deleted - 1 && !strcmp(*base + len - (sizeof deleted - 1), deleted))
        len -= sizeof deleted - 1;
    return len;
}

/* 1 when path leads to the file open at fd (same device and inode), 0 when
 * to another file (or fd cannot be looked at), -errno when it leads nowhere. */
static int path_leads_to_fd(const char *path, int fd)
{
    struct stat by_path, by_fd;
    long rc = st_sys_fstatat(AT_FDCWD, path, &by_path, 0);
    if (rc != 0)
        return (int)rc;
    return st_sys_fstatat(fd, "", &by_fd, AT_EMPTY_PATH) == 0 &&
           by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
}

/* Whether the file open at fd (whose /proc link is link) is the one the
 * program opened by name. Names differ when a symlink was opened; then
 * the name, if strays kept all of it, is looked up again. */
static bool same_file(int fd, const char *link, const struct st_fd_view *v)
{
    if (!v->name[0])
        return true; /* tmpfile(), a dup of one: nothing to compare */
    const char *b1, *b2;
    size_t l1 = base_of(link, &b1), l2 = base_of(v->name, &b2);
    if (l1 == l2 && !memcmp(b1, b2, l1))
        return true;
    return !v->name_truncated && path_leads_to_fd(v->name, fd) == 1;
}

static bool still_valid(int fd, const char *link, enum st_fd_kind now,
                        const struct st_fd_view *v)
{
    switch (v->kind) {
    case ST_FD_ANY:
        return true;
    case ST_FD_FILE:
    case ST_FD_DIR:
        return (now == ST_FD_FILE || now == ST_FD_DIR) && same_file(fd, link, v);
    case ST_FD_MEMFD:
        return now == ST_FD_MEMFD && !strncmp(link + strlen("/memfd:"), v->name, strlen(v->name));
    default:
        return now == v->kind;
    }
}

/* What /proc/self/fd says fd points to, into link (len bytes); false when
 * the fd is not open. dir is /proc/self/fd opened, or -1: a report of a
 * hundred thousand fds then looks up one name each, not four. */
static bool read_fd_link(int dir, int fd, char *link, size_t len)
{
    char path[48];
    if (dir >= 0) {
        st_sys_format_uint((unsigned)fd, path);
    } else {
        memcpy(path, "/proc/self/fd/", 14); // NOLINT(bugprone-not-null-terminated-result): st_sys_format_uint ends it
        st_sys_format_uint((unsigned)fd, path + 14);
    }
    long n = st_sys_readlinkat(dir >= 0 ? dir : AT_FDCWD, path, link, len - 1);
    if (n <= 0)
        return false;
    link[n] = '\0';
    return true;
}

const char *st_report_fd_target(int fd, struct st_arena *a)
{
    char link[4096];
    int saved = errno;
    const char *target = read_fd_link(-1, fd, link, sizeof link)
                             ? st_describe_fd_target(fd, link, st_describe_fd_kind(fd, link, ST_FD_ANY), a)
                             : NULL;
    errno = saved;
    return target;
}

static const char *stream_name(enum st_fd_stream s)
{
    switch (s) {
    case ST_STREAM_FILE:
        return "FILE";
    case ST_STREAM_DIR:
        return "DIR";
    case ST_STREAM_POPEN:
        return "popen";
    default:
        return NULL;
    }
}

static void add_timerfd(struct st_report *r, struct st_stack_index *si, const struct st_fd_view *v,
                        uint32_t *timer_cap)
{
    struct itimerspec its;
    if (timerfd_gettime(v->fd, &its) != 0)
        return;
    struct st_report_timer *t = new_timer(r, timer_cap);
    if (!t)
        return;
    struct st_out id;
    st_out_init_string(&id);
    st_out_str(&id, "fd:");
    st_out_int(&id, v->fd);
    t->id = st_arena_strdup(&r->arena, st_out_string(&id));
    t->clock = st_describe_clock(v->clock);
    t->notify = "fd";
    t->armed = its.it_value.tv_sec || its.it_value.tv_nsec;
    t->interval_ns = timespec_ns(&its.it_interval);
    t->fd = v->fd;
    t->tid = v->tid;
    t->created_by = st_stack_index_of(si, v->created_by);
    t->created_ms = v->created_ns / 1000000u;
    t->scope = v->scope;
}

/* An fd reported without asking the kernel. */
static void fill_unchecked(struct st_report_fd *f, const struct st_fd_view *v, struct st_arena *a)
{
    f->kind = st_describe_fd_kind_name(v->kind);
    f->target = st_arena_strdup(a, v->name[0] ? v->name : "(not checked)");
}

/* Whether fd, open on target, is the script the program (a shell) runs:
 * the file the script's path leads to, or, when that path leads nowhere now
 * (the script changed directory), a target that ends with it. */
static bool is_shell_script(int fd, const char *target)
{
    const char *script = st_command_line_shell_script();
    if (!script || !target)
        return false;
    int same = path_leads_to_fd(script, fd);
    if (same >= 0)
        return same == 1;
    while (!strncmp(script, "./", 2))
        script += 2;
    if (script[0] == '/')
        return !strcmp(target, script);
    size_t target_len = strlen(target), script_len = strlen(script);
    return target_len > script_len && target[target_len - script_len - 1] == '/' &&
           !strcmp(target + target_len - script_len, script);
}

/* Checking an fd costs a readlink of /proc/self/fd (4-6 us in a VM with
 * page-table isolation), and more for a socket: 100 000 fds would take most
 * of a second. Past the check_budget option the rest are reported as the
 * registry knows them (kind and name as created) and counted as unchecked. */
static __attribute__((noinline)) void check_fds(struct st_report *r, struct st_stack_index *si,
                                                uint32_t *timer_cap, const struct fd_copy *copied);

/* As for timers, copying is apart from checking (12 KiB of stack). */
ST_EVERY_REPORT
static void collect_fds(struct st_report *r, struct st_stack_index *si, uint32_t *timer_cap)
{
    struct fd_copy c = {.arena = &r->arena};
    st_fd_foreach(copy_fd, &c);
    if (c.count)
        check_fds(r, si, timer_cap, &c);
}

static void check_fds(struct st_report *r, struct st_stack_index *si, uint32_t *timer_cap,
                      const struct fd_copy *copied)
{
    const struct fd_copy c = *copied;
    uint32_t cap = r->nfds;
    int saved = errno;
    uint64_t deadline = st_uptime_ns() + st_opt.check_budget;
    bool checking = st_opt.check_budget > 0;
    long dir = c.count && checking
                   ? st_sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
                   : -1;
    for (uint32_t i = 0; i < c.count; i++) {
        const struct st_fd_view *v = &c.views[i];
        if (v->ignored || (r->scope && v->scope != r->scope))
            continue;
        /* The clock is read every 64 fds, as for timers. */
        if (checking && (i & 63) == 0 && st_uptime_ns() > deadline)
            checking = false;
        char link[4096];
        enum st_fd_kind now = v->kind;
        if (checking) {
            if (!read_fd_link((int)dir, v->fd, link, sizeof link))
                continue; /* closed behind strays' back */
            now = st_describe_fd_kind(v->fd, link, v->kind);
            if (!still_valid(v->fd, link, now, v))
                continue;
            if (now == ST_FD_FILE && is_shell_script(v->fd, link)) {
                r->suppressed.fds++;
                continue;
            }
        }
        if (now == ST_FD_TIMERFD) {
            add_timerfd(r, si, v, timer_cap);
            continue;
        }
        struct st_report_fd *f =
            push(&r->arena, (void **)&r->fds, &r->nfds, &cap, sizeof *r->fds);
        if (!f)
            break;
        f->fd = v->fd;
        if (checking) {
            f->kind = st_describe_fd_kind_name(now);
            f->target = st_describe_fd_target(v->fd, link, now, &r->arena);
        } else {
            fill_unchecked(f, v, &r->arena);
            r->tracking.fds_unchecked++;
        }
        f->stream = stream_name(v->stream_kind);
        f->stream_address = (uintptr_t)v->stream;
        f->tid = v->tid;
        f->created_by = st_stack_index_of(si, v->created_by);
        f->created_ms = v->created_ns / 1000000u;
        f->scope = v->scope;
    }
    if (dir >= 0)
        st_sys_close((int)dir);
    errno = saved;
}

ST_EVERY_REPORT
void st_report_collect_objects(struct st_report *r, struct st_stack_index *si)
{
    uint32_t timer_cap = 0;
    collect_timers(r, si, &timer_cap);
    collect_fds(r, si, &timer_cap);
}
