/* Builds a report model from the live registries: copies the records under
 * their locks, then, without locks, turns interned stacks into the report's
 * stacks table (module, offset, build-id, symbols) and reads what only
 * /proc knows (names of live threads, threads strays never saw created). */
#define _GNU_SOURCE
#include "collect/report_build.h"

#include "collect/growth.h"
#include "base/command_line.h"
#include "base/log.h"
#include "base/options.h"
#include "base/sort.h"
#include "track/modules.h"
#include "track/registry_fd.h"
#include "track/registry_memory.h"
#include "track/registry_thread.h"
#include "track/registry_timer.h"
#include "base/st.h"
#include "collect/suppressions.h"
#include "collect/thread_settle.h"
#include "symbolize/symbolize.h"
#include "base/sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

/* Open addressing on the stack's address; grows by rehashing. */
static int stack_index_grow(struct st_stack_index *si)
{
    uint32_t cap = si->capacity ? si->capacity * 2 : 64;
    size_t size = (size_t)cap * 2;
    const struct st_stack **keys = st_arena_alloc(si->arena, size * sizeof *keys);
    int *values = st_arena_alloc(si->arena, size * sizeof *values);
    const struct st_stack **order = st_arena_alloc(si->arena, cap * sizeof *order);
    if (!keys || !values || !order)
        return -ENOMEM;
    memset(keys, 0, size * sizeof *keys);
    if (si->count)
        memcpy(order, si->order, si->count * sizeof *order);
    si->keys = keys;
    si->values = values;
    si->order = order;
    si->mask = size - 1;
    si->capacity = cap;
    for (uint32_t i = 0; i < si->count; i++) {
        size_t h = ((uintptr_t)order[i] >> 4) * 0x9e3779b97f4a7c15ull;
        size_t j = h & si->mask;
        while (keys[j])
            j = (j + 1) & si->mask;
        keys[j] = order[i];
        values[j] = (int)i;
    }
    return 0;
}

int st_stack_index_of(struct st_stack_index *si, const struct st_stack *s)
{
    if (!s)
        return -1;
    if (si->count >= si->capacity && stack_index_grow(si) != 0)
        return -1;
    size_t h = ((uintptr_t)s >> 4) * 0x9e3779b97f4a7c15ull;
    for (size_t i = h & si->mask;; i = (i + 1) & si->mask) {
        if (si->keys[i] == s)
            return si->values[i];
        if (!si->keys[i]) {
            si->keys[i] = s;
            si->values[i] = (int)si->count;
            si->order[si->count] = s;
            return (int)si->count++;
        }
    }
}

struct thread_copy {
    struct st_thread_view *views;
    uint32_t count, capacity;
    struct st_arena *arena;
};

static void copy_thread(const struct st_thread_view *v, void *ctx)
{
    struct thread_copy *c = ctx;
    if (c->count == c->capacity) {
        uint32_t cap = c->capacity ? c->capacity * 2 : 64;
        struct st_thread_view *grown = st_arena_alloc(c->arena, cap * sizeof *grown);
        if (!grown)
            return;
        if (c->count)
            memcpy(grown, c->views, c->count * sizeof *grown);
        c->views = grown;
        c->capacity = cap;
    }
    c->views[c->count++] = *v;
}

/* A thread's name from /proc: task is /proc/self/task opened, so each of
 * ten thousand threads costs one name lookup, not five. */
static const char *thread_name(int task, int tid, struct st_arena *a)
{
    char path[32], buf[64];
    int n = st_sys_format_uint((unsigned)tid, path);
    memcpy(path + n, "/comm", 6);
    long fd = task >= 0 ? st_sys_openat(task, path, O_RDONLY | O_CLOEXEC, 0) : -1;
    long len = fd >= 0 ? st_sys_read((int)fd, buf, sizeof buf) : -1;
    if (fd >= 0)
        st_sys_close((int)fd);
    if (len <= 0)
        return "";
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
        len--;
    return st_arena_strndup(a, buf, (size_t)len);
}

static int open_task_dir(void)
{
    return (int)st_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static void fill_threads(struct st_report *r, const struct thread_copy *c, struct st_stack_index *si)
{
    r->threads = st_arena_alloc(&r->arena, (c->count + 1) * sizeof *r->threads);
    if (!r->threads)
        return;
    int task = c->count ? open_task_dir() : -1;
    for (uint32_t i = 0; i < c->count; i++) {
        const struct st_thread_view *v = &c->views[i];
        /* Being created this very moment (a live dump): its tid is not
         * known yet; /proc lists it as untracked, the next dump sees it. */
        if (v->tid == 0 || v->ignored || (r->scope && v->scope != r->scope))
            continue;
        struct st_report_thread *t = &r->threads[r->nthreads++];
        t->tid = v->tid;
        t->parent_tid = v->parent_tid;
        t->detached = v->detached;
        t->state = v->state == ST_THREAD_EXITED ? ST_RT_EXITED : ST_RT_RUNNING;
        t->name = v->state == ST_THREAD_EXITED ? st_arena_strdup(&r->arena, v->name)
                                                : thread_name(task, v->tid, &r->arena);
        t->created_by = st_stack_index_of(si, v->created_by);
        t->stack = -1;
        t->created_ms = v->created_ns / 1000000u;
        t->scope = v->scope;
    }
    if (task >= 0)
        st_sys_close(task);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* For st_sort: glibc's qsort may call malloc, and crash reports are built
 * inside whatever the program was doing, malloc included. */
static int sort_ints(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return cmp_int(a, b);
}

static bool known_tid(const int *sorted, uint32_t n, int tid)
{
    return bsearch(&tid, sorted, n, sizeof *sorted, cmp_int) != NULL;
}

/* Threads in /proc/self/task that strays did not see created: the main
 * thread and strays' own are left out, the rest are listed as untracked.
 * A process in which no thread was ever created has none to list, and
 * glibc knows that: it clears __libc_single_threaded when pthread_create
 * makes the first thread (its own timer and AIO helpers included) and
 * never sets it again, so a clean single-threaded process reads nothing
 * here. (Only a thread made by a raw clone system call in a process that
 * never called pthread_create goes unseen then.) */
ST_EVERY_REPORT
static void fill_untracked(struct st_report *r, const struct thread_copy *known)
{
    if (__libc_single_threaded && known->count == 0)
        return;
    /* Every thread strays knows, reported or not (set aside, another scope). */
    int *tids = st_arena_alloc(&r->arena, (known->count + 1) * sizeof *tids);
    if (!tids)
        return;
    uint32_t ntids = 0;
    for (uint32_t i = 0; i < known->count; i++)
        tids[ntids++] = known->views[i].tid;
    st_sort(tids, ntids, sizeof *tids, sort_ints, NULL);
    int fd = open_task_dir();
    if (fd < 0)
        return;
    uint32_t cap = 0;
    char buf[4096] __attribute__((aligned(8))); /* dirent64 records */
    long n;
    while ((n = st_sys_getdents(fd, buf, sizeof buf)) > 0) {
        long off = 0;
        const struct dirent64 *d;
        while ((d = st_sys_dirent_next(buf, n, &off))) {
            char *end;
            long tid = strtol(d->d_name, &end, 10);
            if (*end || tid <= 0 || tid > INT_MAX || tid == r->pid ||
                known_tid(tids, ntids, (int)tid) || st_thread_is_own((int)tid) ||
                st_thread_recently_gone((int)tid))
                continue;
            if (r->nuntracked == cap) {
                cap = cap ? cap * 2 : 16;
                struct st_report_untracked *grown =
                    st_arena_alloc(&r->arena, cap * sizeof *grown);
                if (!grown)
                    break;
                if (r->nuntracked)
                    memcpy(grown, r->untracked, r->nuntracked * sizeof *grown);
                r->untracked = grown;
            }
            r->untracked[r->nuntracked].tid = (int)tid;
            r->untracked[r->nuntracked++].name = thread_name(fd, (int)tid, &r->arena);
        }
    }
    st_sys_close(fd);
}

static void fill_stacks(struct st_report *r, const struct st_stack_index *si, bool symbolize)
{
    if (si->count == 0)
        return; /* nothing to place or name: no module list, no symbolizer */
    struct st_module_map map;
    st_modules_snapshot(&map, &r->arena);
    r->stacks = st_arena_alloc(&r->arena, (si->count + 1) * sizeof *r->stacks);
    if (!r->stacks)
        return;
    for (uint32_t i = 0; i < si->count; i++) {
        const struct st_stack *s = si->order[i];
        struct st_report_stack *rs = &r->stacks[r->nstacks++];
        rs->frames = st_arena_alloc(&r->arena, (s->depth + 1) * sizeof *rs->frames);
        if (!rs->frames)
            continue;
        const struct st_unloaded_module *const *unloaded =
            __atomic_load_n(&s->unloaded, __ATOMIC_ACQUIRE);
        for (uint32_t j = 0; j < s->depth; j++) {
            struct st_frame *f = &rs->frames[rs->depth++];
            f->address = s->frames[j];
            if (unloaded && unloaded[j]) {
                /* Its code is gone: named from the record, never looked up. */
                f->module = unloaded[j]->path;
                f->offset = s->frames[j] - unloaded[j]->base;
                f->build_id = unloaded[j]->build_id;
                f->unloaded = true;
                continue;
            }
            const struct st_module *m = st_modules_find(&map, s->frames[j]);
            if (m) {
                f->module = m->path;
                f->offset = s->frames[j] - m->base;
                f->build_id = m->build_id;
            }
        }
    }
    if (symbolize)
        st_symbolize_report(r);
}

ST_EVERY_REPORT
static void fill_header(struct st_report *r, const char *reason, int exit_status)
{
    r->version = STRAYS_VERSION;
    r->pid = getpid();
    r->reason = reason;
    r->exit_status = exit_status;
    char buf[PATH_MAX];
    long n = st_sys_readlink("/proc/self/exe", buf, sizeof buf - 1);
    r->exe = n > 0 ? st_arena_strndup(&r->arena, buf, (size_t)n) : NULL;
    n = st_command_line_name(buf, sizeof buf);
    if (n == -ENOENT) /* the core linked into a program: no constructor told us */
        n = st_sys_read_file("/proc/self/cmdline", buf, sizeof buf);
    r->command = n > 0 ? st_arena_strdup(&r->arena, buf) : r->exe;
    /* System calls, not the vDSO: the report of a clean process (each
     * process's under `strays run`) would otherwise fault in the vDSO's data
     * pages and a page of libc's code for two clock reads (sys.h). */
    struct timespec ts = {0, 0};
    st_sys_clock_gettime(CLOCK_REALTIME, &ts);
    r->time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    r->uptime_ms = st_uptime_at(st_now_ns_by_syscall()) / 1000000u;
}

/* What strays' tables hold and missed, as of now. */
static void fill_tracking(struct st_report *r)
{
    struct st_mem_stats m;
    st_mem_stats(&m);
    struct st_report_tracking *t = &r->tracking;
    t->present = true;
    t->table_bytes = m.bytes[ST_MEM_THREADS] + m.bytes[ST_MEM_TIMERS] + m.bytes[ST_MEM_FDS];
    t->stack_bytes = m.bytes[ST_MEM_STACKS];
    t->limit_bytes = m.limit;
    t->threads_not_tracked = m.not_tracked[ST_MEM_THREADS];
    t->timers_not_tracked = m.not_tracked[ST_MEM_TIMERS];
    t->fds_not_tracked = m.not_tracked[ST_MEM_FDS];
    t->stacks_not_kept = m.not_tracked[ST_MEM_STACKS];
}

/* The crashing thread's own stack is the one it crashed with. */
static void fill_crash(struct st_report *r, const struct st_report_request *req,
                       struct st_stack_index *si)
{
    r->crash_stack = -1;
    if (!req->crash.signal)
        return;
    r->signal = req->crash.signal;
    r->fault_address = req->crash.address;
    r->crash_tid = req->crash.tid;
    r->crash_stack = st_stack_index_of(si, req->crash.stack);
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].tid == req->crash.tid && r->threads[i].state == ST_RT_RUNNING)
            r->threads[i].stack = r->crash_stack;
}

/* verbosity=2: how long each step of a build took, in one line (to the
 * microsecond: st_uptime_ns's coarse clock moves in 4 ms steps). */
struct build_clock {
    uint64_t start, last;
    char line[256];
    size_t used;
};

static uint64_t fine_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lap(struct build_clock *c, const char *step)
{
    if (st_opt.verbosity < 2)
        return;
    uint64_t now = fine_ns();
    int n = snprintf(c->line + c->used, sizeof c->line - c->used, " %s %.2f,", step,
                     (double)(now - c->last) / 1e6);
    if (n > 0 && (size_t)n < sizeof c->line - c->used)
        c->used += (size_t)n;
    c->last = now;
}

ST_EVERY_REPORT
int st_report_build(struct st_report *r, const struct st_report_request *req)
{
    struct build_clock clock = {.start = st_opt.verbosity >= 2 ? fine_ns() : 0};
    clock.last = clock.start;
    const char *reason = req->reason;
    bool final = !strcmp(reason, "exit") || !strcmp(reason, "crash");
    bool crash_safe = req->crash_safe || req->crash.signal != 0;
    if ((!strcmp(reason, "exit") || !strcmp(reason, "verify")) && !crash_safe)
        st_threads_settle();
    memset(r, 0, sizeof *r);
    if (req->arena_first)
        st_arena_init_with(&r->arena, req->arena_first, req->arena_first_len);
    r->crash_safe = crash_safe;
    fill_header(r, reason, req->exit_status);
    fill_tracking(r);
    r->scope = req->scope;
    if (req->limit)
        r->limit = *req->limit;
    lap(&clock, "start");
    struct thread_copy copy = {NULL, 0, 0, &r->arena};
    st_thread_foreach(copy_thread, &copy, crash_safe ? &r->tracking.threads_unread : NULL);
    struct st_stack_index si = {.arena = &r->arena};
    fill_threads(r, &copy, &si);
    lap(&clock, "threads");
    st_report_collect_waits(r, &si);
    fill_crash(r, req, &si);
    lap(&clock, "waits");
    if (final)
        st_report_collect_current_stacks(r, &si);
    lap(&clock, "current-stacks");
    /* Threads whose records could not be read would be listed as never seen
     * created: the count of those left out says it instead. */
    if (!r->tracking.threads_unread)
        fill_untracked(r, &copy);
    lap(&clock, "untracked");
    st_report_collect_objects(r, &si);
    lap(&clock, "timers+fds");
    r->growth_since_ms = -1;
    if (!strcmp(reason, "signal") || !strcmp(reason, "interval") || req->limit)
        st_growth_compute(r, &si); /* live dumps: counts per site, and their change */
    fill_stacks(r, &si, req->symbolize);
    lap(&clock, "stacks");
    /* After symbolization: rules match function and file names. */
    st_suppressions_apply(r, req->symbolize);
    lap(&clock, "suppressions");
    if (st_opt.verbosity >= 2)
        st_logf("%s report built in %.2f ms (ms per step:%s)", reason,
                (double)(fine_ns() - clock.start) / 1e6, clock.line);
    return 0;
}

ST_EVERY_PROCESS
bool st_report_would_be_empty(void)
{
    return __libc_single_threaded && st_thread_count() == 0 && st_timer_count() == 0 &&
           !st_fd_any_tracked();
}
