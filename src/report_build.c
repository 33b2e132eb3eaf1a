/* Builds a report model from the live registries: copies the records under
 * their locks, then, without locks, turns interned stacks into the report's
 * stacks table (module, offset, build-id, symbols) and reads what only
 * /proc knows (names of live threads, threads strays never saw created). */
#define _GNU_SOURCE
#include "report_build.h"

#include "growth.h"
#include "modules.h"
#include "registry_thread.h"
#include "runtime.h"
#include "st.h"
#include "suppressions.h"
#include "symbolize.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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

static const char *thread_name(int tid, struct st_arena *a)
{
    char path[64], buf[64];
    /* Terminated below, with "/comm". */
    memcpy(path, "/proc/self/task/", 16); // NOLINT(bugprone-not-null-terminated-result)
    int n = 16;
    char digits[16];
    int d = 0;
    do {
        digits[d++] = (char)('0' + tid % 10);
        tid /= 10;
    } while (tid && d < 15);
    while (d)
        path[n++] = digits[--d];
    memcpy(path + n, "/comm", 6);
    long len = st_sys_read_file(path, buf, sizeof buf);
    if (len <= 0)
        return "";
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
        len--;
    return st_arena_strndup(a, buf, (size_t)len);
}

static void fill_threads(struct st_report *r, const struct thread_copy *c, struct st_stack_index *si)
{
    r->threads = st_arena_alloc(&r->arena, (c->count + 1) * sizeof *r->threads);
    if (!r->threads)
        return;
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
                                                : thread_name(v->tid, &r->arena);
        t->created_by = st_stack_index_of(si, v->created_by);
        t->stack = -1;
        t->created_ms = v->created_ns / 1000000u;
        t->scope = v->scope;
    }
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool known_tid(const int *sorted, uint32_t n, int tid)
{
    return bsearch(&tid, sorted, n, sizeof *sorted, cmp_int) != NULL;
}

/* Threads in /proc/self/task that strays did not see created: the main
 * thread and strays' own are left out, the rest are listed as untracked. */
static void fill_untracked(struct st_report *r, const struct thread_copy *known)
{
    /* Every thread strays knows, reported or not (set aside, another scope). */
    int *tids = st_arena_alloc(&r->arena, (known->count + 1) * sizeof *tids);
    if (!tids)
        return;
    uint32_t ntids = 0;
    for (uint32_t i = 0; i < known->count; i++)
        tids[ntids++] = known->views[i].tid;
    qsort(tids, ntids, sizeof *tids, cmp_int);
    long fd = st_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return;
    uint32_t cap = 0;
    char buf[4096];
    long n;
    while ((n = st_sys_getdents((int)fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            char *end;
            long tid = strtol(d->d_name, &end, 10);
            if (*end || tid <= 0 || tid == r->pid || known_tid(tids, ntids, (int)tid) ||
                st_runtime_is_own_thread((int)tid))
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
            r->untracked[r->nuntracked++].name = thread_name((int)tid, &r->arena);
        }
    }
    st_sys_close((int)fd);
}

static void fill_stacks(struct st_report *r, const struct st_stack_index *si, bool symbolize)
{
    struct st_module_map map;
    st_modules_snapshot(&map, &r->arena);
    struct st_symbolizer *sym = symbolize ? st_symbolizer_open_self() : NULL;
    r->stacks = st_arena_alloc(&r->arena, (si->count + 1) * sizeof *r->stacks);
    if (!r->stacks)
        goto out;
    for (uint32_t i = 0; i < si->count; i++) {
        const struct st_stack *s = si->order[i];
        struct st_report_stack *rs = &r->stacks[r->nstacks++];
        rs->frames = st_arena_alloc(&r->arena, (s->depth + 1) * sizeof *rs->frames);
        if (!rs->frames)
            continue;
        for (uint32_t j = 0; j < s->depth; j++) {
            struct st_frame *f = &rs->frames[rs->depth++];
            f->address = s->frames[j];
            const struct st_module *m = st_modules_find(&map, s->frames[j]);
            if (m) {
                f->module = m->path;
                f->offset = s->frames[j] - m->base;
                f->build_id = m->build_id;
            }
            if (sym)
                st_symbolize_frame(sym, f, &r->arena);
        }
    }
out:
    if (sym)
        st_symbolizer_close(sym);
}

static void fill_header(struct st_report *r, const char *reason, int exit_status)
{
    r->version = STRAYS_VERSION;
    r->pid = getpid();
    r->reason = reason;
    r->exit_status = exit_status;
    char buf[PATH_MAX];
    long n = st_sys_readlink("/proc/self/exe", buf, sizeof buf - 1);
    r->exe = n > 0 ? st_arena_strndup(&r->arena, buf, (size_t)n) : NULL;
    n = st_sys_read_file("/proc/self/cmdline", buf, sizeof buf);
    r->command = n > 0 ? st_arena_strdup(&r->arena, buf) : r->exe;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r->time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    r->uptime_ms = st_uptime_ns() / 1000000u;
}

static struct {
    int signal, tid;
    uintptr_t address;
    const struct st_stack *stack;
} crash;

static const char *scope_filter;

void st_report_build_set_scope(const char *interned) { scope_filter = interned; }

void st_report_build_set_crash(int signal, uintptr_t address, int tid, const struct st_stack *stack)
{
    crash.signal = signal;
    crash.address = address;
    crash.tid = tid;
    crash.stack = stack;
}

/* The crashing thread's own stack is the one it crashed with. */
static void fill_crash(struct st_report *r, struct st_stack_index *si)
{
    r->crash_stack = -1;
    if (!crash.signal)
        return;
    r->signal = crash.signal;
    r->fault_address = crash.address;
    r->crash_tid = crash.tid;
    r->crash_stack = st_stack_index_of(si, crash.stack);
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].tid == crash.tid && r->threads[i].state == ST_RT_RUNNING)
            r->threads[i].stack = r->crash_stack;
}

static void count_starting(const struct st_thread_view *v, void *ctx)
{
    *(int *)ctx += v->tid == 0;
}

/* A thread created just before the exit may not have run yet, so its tid is
 * unknown. It will have one within moments: wait for it (a little). */
static void let_new_threads_start(void)
{
    for (int waited_ms = 0; waited_ms < 100; waited_ms++) {
        int starting = 0;
        st_thread_foreach(count_starting, &starting, false);
        if (!starting)
            return;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int st_report_build(struct st_report *r, const char *reason, int exit_status, bool symbolize)
{
    bool final = !strcmp(reason, "exit") || !strcmp(reason, "crash");
    if (!strcmp(reason, "exit") || !strcmp(reason, "verify"))
        let_new_threads_start();
    memset(r, 0, sizeof *r);
    fill_header(r, reason, exit_status);
    r->scope = scope_filter;
    struct thread_copy copy = {NULL, 0, 0, &r->arena};
    st_thread_foreach(copy_thread, &copy, false);
    struct st_stack_index si = {.arena = &r->arena};
    fill_threads(r, &copy, &si);
    st_report_collect_waits(r, &si);
    fill_crash(r, &si);
    if (final)
        st_report_collect_current_stacks(r, &si);
    fill_untracked(r, &copy);
    st_report_collect_objects(r, &si);
    r->growth_since_ms = -1;
    if (!strcmp(reason, "signal") || !strcmp(reason, "interval"))
        st_growth_compute(r, &si);
    fill_stacks(r, &si, symbolize);
    /* After symbolization: rules match function and file names. */
    st_suppressions_apply(r, symbolize);
    return 0;
}
