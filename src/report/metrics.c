/* The metrics file; see metrics.h. Series:
 *   strays_threads{state}     threads alive (running, blocked, exited unjoined)
 *   strays_stuck_threads      blocked longer than blocked_threshold
 *   strays_timers, strays_fds{kind}
 *   strays_site_objects{kind,site}, strays_site_growth{kind,site}
 *                             the largest creation sites, and their change
 *                             since the previous dump
 *   strays_deadlocks, strays_dump_timestamp_seconds */
#define _GNU_SOURCE
#include "report/metrics.h"

#include "base/log.h"
#include "base/options.h"
#include "base/own_files.h"
#include "base/sort.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void label_value(struct st_out *o, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"') {
            st_out_char(o, '\\');
            st_out_char(o, *s);
        } else if (*s == '\n') {
            st_out_str(o, "\\n");
        } else {
            st_out_char(o, *s);
        }
    }
}

static void header(struct st_out *o, const char *name, const char *help)
{
    st_out_str(o, "# HELP ");
    st_out_str(o, name);
    st_out_char(o, ' ');
    st_out_str(o, help);
    st_out_str(o, "\n# TYPE ");
    st_out_str(o, name);
    st_out_str(o, " gauge\n");
}

static void sample(struct st_out *o, const char *name, const char *label, const char *value,
                   long long n)
{
    st_out_str(o, name);
    if (label) {
        st_out_char(o, '{');
        st_out_str(o, label);
        st_out_str(o, "=\"");
        label_value(o, value);
        st_out_str(o, "\"}");
    }
    st_out_char(o, ' ');
    st_out_int(o, n);
    st_out_char(o, '\n');
}

/* "function (file:line)" of a stack's innermost frame. */
static void site_name(const struct st_report *r, int stack, char *buf, size_t len)
{
    if (stack < 0 || (uint32_t)stack >= r->nstacks || !r->stacks[stack].depth) {
        snprintf(buf, len, "unknown");
        return;
    }
    const struct st_frame *f = &r->stacks[stack].frames[0];
    const char *file = f->file ? strrchr(f->file, '/') : NULL;
    file = file ? file + 1 : f->file;
    if (f->function && file)
        snprintf(buf, len, "%s (%s:%d)", f->function, file, f->line);
    else if (f->function)
        snprintf(buf, len, "%s", f->function);
    else
        snprintf(buf, len, "%s+0x%llx", f->module ? f->module : "?",
                 (unsigned long long)f->offset);
}

static int cmp_count(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct st_report_growth *x = a, *y = b;
    return (x->count < y->count) - (x->count > y->count);
}

static void write_sites(struct st_out *o, const struct st_report *r)
{
    if (!r->growth || !r->ngrowth)
        return;
    struct st_arena scratch = {0};
    struct st_report_growth *top = st_arena_alloc(&scratch, r->ngrowth * sizeof *top);
    if (!top)
        return;
    memcpy(top, r->growth, r->ngrowth * sizeof *top);
    st_sort(top, r->ngrowth, sizeof *top, cmp_count, NULL);
    uint32_t n = r->ngrowth < ST_METRICS_TOP_SITES ? r->ngrowth : ST_METRICS_TOP_SITES;
    const char *names[] = {"strays_site_objects", "strays_site_growth"};
    const char *helps[] = {"Objects alive per creation site (the largest sites).",
                           "Change per creation site since the previous dump."};
    for (int series = 0; series < 2; series++) {
        header(o, names[series], helps[series]);
        for (uint32_t i = 0; i < n; i++) {
            char site[512];
            site_name(r, top[i].created_by, site, sizeof site);
            st_out_str(o, names[series]);
            st_out_str(o, "{kind=\"");
            label_value(o, top[i].kind);
            st_out_str(o, "\",site=\"");
            label_value(o, site);
            st_out_str(o, "\"} ");
            st_out_int(o, series ? top[i].delta : (long long)top[i].count);
            st_out_char(o, '\n');
        }
    }
    st_arena_free(&scratch);
}

static void write_all(struct st_out *o, const struct st_report *r)
{
    long long by_state[3] = {0, 0, 0}, stuck = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        by_state[r->threads[i].state]++;
        stuck += r->threads[i].blocked && r->threads[i].blocked->stuck;
    }
    header(o, "strays_threads", "Threads the program created that are alive or unjoined.");
    sample(o, "strays_threads", "state", "running", by_state[ST_RT_RUNNING]);
    sample(o, "strays_threads", "state", "blocked", by_state[ST_RT_BLOCKED]);
    sample(o, "strays_threads", "state", "exited", by_state[ST_RT_EXITED]);
    header(o, "strays_stuck_threads", "Threads blocked longer than blocked_threshold.");
    sample(o, "strays_stuck_threads", NULL, NULL, stuck);
    header(o, "strays_timers", "POSIX timers and timerfds alive.");
    sample(o, "strays_timers", NULL, NULL, r->ntimers);
    static const char kinds[][12] = {"file",     "dir",     "socket", "pipe",
                                        "eventfd",  "epoll",   "signalfd", "inotify",
                                        "memfd",    "other"};
    header(o, "strays_fds", "File descriptors the program opened that are open.");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        long long n = 0;
        for (uint32_t i = 0; i < r->nfds; i++)
            n += r->fds[i].kind && !strcmp(r->fds[i].kind, kinds[k]);
        sample(o, "strays_fds", "kind", kinds[k], n);
    }
    header(o, "strays_deadlocks", "Cycles of threads waiting for each other's locks.");
    sample(o, "strays_deadlocks", NULL, NULL, r->ndeadlocks);
    write_sites(o, r);
    header(o, "strays_dump_timestamp_seconds", "When the dump was taken (Unix time).");
    sample(o, "strays_dump_timestamp_seconds", NULL, NULL, (long long)(r->time_ms / 1000));
}

/* The last failure said, so a failing dump_interval does not repeat it. */
static int last_error;

static void say_once(int rc, const char *path, const char *why)
{
    if (rc != __atomic_exchange_n(&last_error, rc, __ATOMIC_RELAXED))
        st_logf("cannot write metrics file %s: %s", path, why);
}

/* Creates a new BASE.PID.N.tmp beside the metrics file, exclusively. */
static int create_tmp(int dirfd, const char *base, char *tmp, size_t len)
{
    static unsigned next;
    int fd = -EEXIST;
    for (int attempt = 0; attempt < 1000 && fd == -EEXIST; attempt++) {
        unsigned n = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
        int used = snprintf(tmp, len, "%s.%d.%u.tmp", base, (int)getpid(), n);
        if (used < 0 || (size_t)used >= len)
            return -ENAMETOOLONG;
        fd = st_own_file_create(dirfd, tmp, st_opt.file_mode);
    }
    return fd;
}

int st_metrics_write(const struct st_report *r, const char *path)
{
    char dir[PATH_MAX], tmp[NAME_MAX + 1], why[PATH_MAX + 200] = "";
    const char *base;
    int rc = st_own_split_path(path, dir, sizeof dir, &base);
    int dirfd = rc ? rc : st_own_dir_open(dir, why, sizeof why);
    int fd = dirfd < 0 ? dirfd : create_tmp(dirfd, base, tmp, sizeof tmp);
    if (fd < 0) {
        say_once(fd, path, why[0] ? why : strerror(-fd));
        if (dirfd >= 0)
            st_sys_close(dirfd);
        return fd;
    }
    struct st_out o;
    st_out_init(&o, fd);
    write_all(&o, r);
    st_out_flush(&o);
    st_sys_close(fd);
    /* The rename replaces what is at path, a symlink included, without
     * following it; a failed write never replaces the last good file. */
    if (o.error) {
        st_sys_unlinkat(dirfd, tmp);
        rc = o.error;
    } else {
        rc = st_own_file_publish(dirfd, tmp, base, true);
    }
    st_sys_close(dirfd);
    if (rc != 0)
        say_once(rc, path, strerror(-rc));
    else
        __atomic_store_n(&last_error, 0, __ATOMIC_RELAXED);
    return rc;
}
