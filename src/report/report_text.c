/* The text report, shaped like a goroutine dump: objects grouped by
 * creation stack and state, the largest group first, each stack printed
 * once, and a one-line summary at the end. Uses only the arena and out.h,
 * so it can run on the crash path. */
#include "report/report.h"
#include "base/sort.h"

#include "base/st.h"

#include <signal.h>
#include <string.h>

#define NAMES_SHOWN 8

/* " (+992 more)" after the first NAMES_SHOWN of a group's members. */
static void write_more(struct st_out *o, uint32_t count)
{
    if (count > NAMES_SHOWN) {
        st_out_str(o, " (+");
        st_out_uint(o, count - NAMES_SHOWN);
        st_out_str(o, " more)");
    }
}

struct group {
    int created_by;
    enum st_report_thread_state state;
    int stack;        /* where its threads stand (blocked: the stack at the wait) */
    const char *call; /* blocked: the call they wait in */
    bool stuck;       /* some thread of it is stuck: listed first */
    uint32_t first;   /* index into the sorted order */
    uint32_t count;
};

static void write_duration_ns(struct st_out *o, uint64_t ns);

static const char *call_of(const struct st_report_thread *t)
{
    return t->blocked && t->blocked->call ? t->blocked->call : "";
}

/* What a blocked thread waits on, for ordering: its fd, then its object. */
static int cmp_wait(const struct st_report_blocked *x, const struct st_report_blocked *y)
{
    if (!x || !y)
        return (x != NULL) - (y != NULL);
    if (x->fd != y->fd)
        return x->fd < y->fd ? -1 : 1;
    return (x->object > y->object) - (x->object < y->object);
}

/* Groups' members lie together, and within a group the threads that wait on
 * one fd or object lie together (write_waits_differ counts them in one pass). */
static int cmp_thread(const void *a, const void *b, void *ctx)
{
    const struct st_report *r = ctx;
    const struct st_report_thread *x = &r->threads[*(const uint32_t *)a];
    const struct st_report_thread *y = &r->threads[*(const uint32_t *)b];
    if (x->created_by != y->created_by)
        return x->created_by < y->created_by ? -1 : 1;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    int calls = strcmp(call_of(x), call_of(y));
    if (calls)
        return calls;
    int waits = cmp_wait(x->blocked, y->blocked);
    if (waits)
        return waits;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_group(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct group *x = a, *y = b;
    if (x->stuck != y->stuck)
        return x->stuck ? -1 : 1; /* stuck first, then largest */
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->created_by > y->created_by) - (x->created_by < y->created_by);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void write_frame(struct st_out *o, uint32_t n, const struct st_frame *f)
{
    st_out_str(o, "    #");
    st_out_uint(o, n);
    st_out_char(o, ' ');
    st_out_str(o, f->function ? f->function : "??");
    if (f->file) {
        st_out_str(o, " (");
        st_out_str(o, base_name(f->file));
        st_out_char(o, ':');
        st_out_int(o, f->line);
        st_out_char(o, ')');
    }
    st_out_str(o, " [");
    if (f->module) {
        st_out_str(o, f->module);
        st_out_char(o, '+');
        st_out_hex(o, f->offset);
        if (f->unloaded)
            st_out_str(o, ", unloaded");
    } else {
        st_out_hex(o, f->address);
    }
    st_out_str(o, "]\n");
}

static void write_stack(struct st_out *o, const struct st_report *r, int index)
{
    if (index < 0 || (uint32_t)index >= r->nstacks || r->stacks[index].depth == 0) {
        st_out_str(o, "    (no stack)\n");
        return;
    }
    const struct st_report_stack *s = &r->stacks[index];
    for (uint32_t i = 0; i < s->depth; i++)
        write_frame(o, i, &s->frames[i]);
}

static void write_thread_list(struct st_out *o, const struct st_report *r, const uint32_t *order,
                              const struct group *g)
{
    st_out_str(o, "    threads:");
    for (uint32_t i = 0; i < g->count && i < NAMES_SHOWN; i++) {
        const struct st_report_thread *t = &r->threads[order[g->first + i]];
        st_out_str(o, i ? ", " : " ");
        st_out_int(o, t->tid);
        if (t->name && *t->name) {
            st_out_str(o, " \"");
            st_out_str(o, t->name);
            st_out_char(o, '"');
        }
    }
    write_more(o, g->count);
    st_out_char(o, '\n');
}

static const char *name_of_tid(const struct st_report *r, int tid)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].tid == tid)
            return r->threads[i].name;
    for (uint32_t i = 0; i < r->nuntracked; i++)
        if (r->untracked[i].tid == tid)
            return r->untracked[i].name;
    return NULL;
}

static void write_tid_and_name(struct st_out *o, const struct st_report *r, int tid)
{
    st_out_str(o, "tid ");
    st_out_int(o, tid);
    const char *name = name_of_tid(r, tid);
    if (name && *name) {
        st_out_str(o, " \"");
        st_out_str(o, name);
        st_out_char(o, '"');
    }
}

/* Whether every thread of g waits on what its first one waits on: the same
 * fd, object and lock holder. */
static bool same_wait(const struct st_report *r, const uint32_t *order, const struct group *g)
{
    const struct st_report_blocked *b = r->threads[order[g->first]].blocked;
    for (uint32_t i = 1; i < g->count; i++) {
        const struct st_report_blocked *bi = r->threads[order[g->first + i]].blocked;
        if (!bi || bi->fd != b->fd || bi->object != b->object || bi->owner_tid != b->owner_tid)
            return false;
    }
    return true;
}

/* Threads of one group that wait on different things: "(fds 3, 5, 8)"
 * (the first few, then "..."), or "(2 objects)". The group is in wait
 * order (cmp_thread): a thread waits on something new when its
 * predecessor waits on something else. */
static void write_waits_differ(struct st_out *o, const struct st_report *r, const uint32_t *order,
                               const struct group *g)
{
    bool fds = r->threads[order[g->first]].blocked->fd >= 0;
    uint32_t distinct = 0;
    st_out_str(o, fds ? "(fds " : "(");
    for (uint32_t i = 0; i < g->count; i++) {
        const struct st_report_blocked *bi = r->threads[order[g->first + i]].blocked;
        if (!bi || (i > 0 && !cmp_wait(r->threads[order[g->first + i - 1]].blocked, bi)))
            continue;
        if (fds && distinct < NAMES_SHOWN) {
            st_out_str(o, distinct ? ", " : "");
            st_out_int(o, bi->fd);
        }
        distinct++;
    }
    if (fds && distinct > NAMES_SHOWN)
        st_out_str(o, ", ...");
    if (!fds)
        st_out_count(o, distinct, " object", " objects");
    st_out_char(o, ')');
}

/* "blocked in pthread_mutex_lock(0x55d0c0a0 held by tid 4242 "flusher") for 3m12s". */
static void write_blocked_header(struct st_out *o, const struct st_report *r,
                                 const uint32_t *order, const struct group *g)
{
    const struct st_report_blocked *b = r->threads[order[g->first]].blocked;
    uint64_t longest = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        const struct st_report_blocked *bi = r->threads[order[g->first + i]].blocked;
        if (bi && bi->blocked_ns > longest)
            longest = bi->blocked_ns;
    }
    st_out_str(o, "blocked in ");
    st_out_str(o, b->call);
    if (!same_wait(r, order, g)) {
        write_waits_differ(o, r, order, g);
    } else if (b->object || b->fd >= 0) {
        st_out_char(o, '(');
        if (b->fd >= 0) {
            st_out_str(o, "fd ");
            st_out_int(o, b->fd);
            if (b->target) {
                st_out_char(o, ' ');
                st_out_str(o, b->target);
            }
        } else {
            st_out_hex(o, b->object);
        }
        if (b->owner_tid > 0) {
            st_out_str(o, " held by ");
            write_tid_and_name(o, r, b->owner_tid);
        }
        st_out_char(o, ')');
    }
    if (b->wchan) {
        st_out_str(o, " (kernel: ");
        st_out_str(o, b->wchan);
        st_out_char(o, ')');
    }
    if (!b->since_unknown) {
        st_out_str(o, " for ");
        st_out_duration(o, longest);
    }
    if (b->timeouts > 0) {
        st_out_str(o, ", timed out ");
        st_out_count(o, b->timeouts, " time", " times in a row");
        if (b->timeout_ns) {
            st_out_str(o, " (");
            write_duration_ns(o, b->timeout_ns);
            st_out_str(o, " each)");
        }
    }
    if (g->stuck)
        st_out_str(o, " [stuck]");
}

/* The creation stack of a group that stands somewhere; a report of
 * strays inspect has none, and says so once at its top. */
static void write_created_at(struct st_out *o, const struct st_report *r, int created_by)
{
    if (created_by < 0 && st_report_is_inspect(r))
        return;
    st_out_str(o, "  created at:\n");
    write_stack(o, r, created_by);
}

static void write_group(struct st_out *o, const struct st_report *r, const uint32_t *order,
                        const struct group *g)
{
    st_out_count(o, g->count, " thread ", " threads ");
    if (g->state == ST_RT_EXITED) {
        st_out_str(o, "exited but never joined, created at:\n");
    } else if (g->state == ST_RT_BLOCKED && r->threads[order[g->first]].blocked) {
        write_blocked_header(o, r, order, g);
        st_out_str(o, ":\n");
        write_thread_list(o, r, order, g);
        write_stack(o, r, g->stack);
        write_created_at(o, r, g->created_by);
        st_out_char(o, '\n');
        return;
    } else if (g->stack >= 0) {
        /* Running, with the stack it was at when asked (exit, crash). */
        st_out_str(o, st_report_thread_state_name(g->state));
        st_out_str(o, ", now at:\n");
        write_thread_list(o, r, order, g);
        write_stack(o, r, g->stack);
        write_created_at(o, r, g->created_by);
        st_out_char(o, '\n');
        return;
    } else {
        st_out_str(o, st_report_thread_state_name(g->state));
        st_out_str(o, ", created at:\n");
    }
    write_thread_list(o, r, order, g);
    write_stack(o, r, g->created_by);
    st_out_char(o, '\n');
}

/* "handle_request (server.c:88)", from a stack's innermost frame. */
static void write_site(struct st_out *o, const struct st_report *r, int stack)
{
    if (stack < 0 || (uint32_t)stack >= r->nstacks || !r->stacks[stack].depth) {
        st_out_str(o, "(no stack)");
        return;
    }
    const struct st_frame *f = &r->stacks[stack].frames[0];
    if (f->function)
        st_out_str(o, f->function);
    else if (f->module) {
        st_out_str(o, f->module);
        st_out_char(o, '+');
        st_out_hex(o, f->offset);
        if (f->unloaded)
            st_out_str(o, ", unloaded");
    } else {
        st_out_hex(o, f->address);
    }
    if (f->file) {
        st_out_str(o, " (");
        st_out_str(o, base_name(f->file));
        st_out_char(o, ':');
        st_out_int(o, f->line);
        st_out_char(o, ')');
    }
}

static int cmp_growth(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct st_report_growth *x = a, *y = b;
    if (x->growing != y->growing)
        return x->growing ? -1 : 1;
    if (x->delta != y->delta)
        return x->delta > y->delta ? -1 : 1;
    return (x->created_by > y->created_by) - (x->created_by < y->created_by);
}

/* Live dumps: what changed per creation site since the previous dump,
 * sites growing dump after dump first. */
static void write_growth(struct st_out *o, const struct st_report *r, struct st_arena *scratch)
{
    if (!r->growth || r->growth_since_ms < 0)
        return;
    struct st_report_growth *sorted = st_arena_alloc(scratch, (r->ngrowth + 1) * sizeof *sorted);
    if (!sorted)
        return;
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->ngrowth; i++)
        if (r->growth[i].delta != 0 || r->growth[i].growing)
            sorted[n++] = r->growth[i];
    st_sort(sorted, n, sizeof *sorted, cmp_growth, NULL);
    st_out_str(o, "Since the dump ");
    st_out_duration(o, (uint64_t)r->growth_since_ms * 1000000u);
    st_out_str(o, n ? " ago:\n" : " ago: no change\n");
    for (uint32_t i = 0; i < n; i++) {
        const struct st_report_growth *g = &sorted[i];
        st_out_str(o, g->delta > 0 ? "    +" : "    ");
        st_out_int(o, g->delta);
        st_out_char(o, ' ');
        /* "+1 thread", "+4 threads": the kind's name less its plural s. */
        size_t kind_len = strlen(g->kind);
        bool one = g->delta == 1 || g->delta == -1;
        st_out_mem(o, g->kind, one && kind_len > 1 && g->kind[kind_len - 1] == 's'
                                     ? kind_len - 1
                                     : kind_len);
        st_out_str(o, " at ");
        write_site(o, r, g->created_by);
        st_out_str(o, ", now ");
        st_out_uint(o, g->count);
        if (g->growing) {
            st_out_str(o, " [growing: ");
            st_out_uint(o, g->streak);
            st_out_str(o, " dumps in a row]");
        }
        st_out_char(o, '\n');
    }
    st_out_char(o, '\n');
}

static int cmp_count(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct st_report_growth *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->created_by > y->created_by) - (x->created_by < y->created_by);
}

#define TOP_SITES 5

/* "exhausted" and "fd_warn" dumps: the limit, then the largest creation
 * sites of that kind, as fdtrack names the sites holding the most fds. */
static void write_limit(struct st_out *o, const struct st_report *r, struct st_arena *scratch)
{
    const struct st_report_limit *l = &r->limit;
    if (!l->present)
        return;
    const char *rlimit = !strcmp(l->kind, "fds")       ? "RLIMIT_NOFILE"
                         : !strcmp(l->kind, "threads") ? "RLIMIT_NPROC"
                                                       : "RLIMIT_SIGPENDING";
    if (l->error) {
        st_out_str(o, "The program ran out of ");
        st_out_str(o, l->kind);
        st_out_str(o, ": ");
        st_out_count(o, l->hits, " call", " calls");
        st_out_str(o, " failed with ");
        st_out_str(o, l->error);
        st_out_str(o, " since the last such dump (");
    } else {
        st_out_str(o, "The program's fds crossed ");
        st_out_int(o, l->warn_percent);
        st_out_str(o, "% of ");
        st_out_str(o, rlimit);
        st_out_str(o, ": fd ");
        st_out_int(o, l->fd);
        st_out_str(o, " was created (");
    }
    st_out_str(o, rlimit);
    st_out_char(o, ' ');
    if (l->rlimit >= 0)
        st_out_int(o, l->rlimit);
    else
        st_out_str(o, "unlimited");
    st_out_str(o, ").\nLargest creation sites of ");
    st_out_str(o, l->kind);
    st_out_str(o, ":\n");
    struct st_report_growth *sites = st_arena_alloc(scratch, (r->ngrowth + 1) * sizeof *sites);
    uint32_t n = 0;
    for (uint32_t i = 0; sites && i < r->ngrowth; i++)
        if (!strcmp(r->growth[i].kind, l->kind))
            sites[n++] = r->growth[i];
    if (sites)
        st_sort(sites, n, sizeof *sites, cmp_count, NULL);
    for (uint32_t i = 0; i < n && i < TOP_SITES; i++) {
        st_out_str(o, "    ");
        st_out_uint(o, sites[i].count);
        st_out_str(o, " at ");
        write_site(o, r, sites[i].created_by);
        st_out_char(o, '\n');
    }
    if (n == 0)
        st_out_str(o, "    (none that strays tracks)\n");
    st_out_char(o, '\n');
}

/* jstack's "Found one Java-level deadlock", for native threads. */
static void write_deadlocks(struct st_out *o, const struct st_report *r)
{
    for (uint32_t i = 0; i < r->ndeadlocks; i++) {
        const struct st_report_cycle *c = &r->deadlocks[i];
        st_out_str(o, "Found a deadlock: ");
        st_out_uint(o, c->n);
        st_out_str(o, " threads wait for locks held by each other:\n");
        for (uint32_t j = 0; j < c->n; j++) {
            st_out_str(o, "    ");
            write_tid_and_name(o, r, c->tids[j]);
            st_out_str(o, " waits for a lock held by ");
            write_tid_and_name(o, r, c->tids[(j + 1) % c->n]);
            st_out_char(o, '\n');
        }
        st_out_char(o, '\n');
    }
}

/* Groups threads by (creation stack, state). Returns the number of groups. */
static uint32_t make_groups(const struct st_report *r, uint32_t *order, struct group *groups)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        order[i] = i;
    st_sort(order, r->nthreads, sizeof *order, cmp_thread, (void *)r);
    uint32_t ngroups = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const struct st_report_thread *t = &r->threads[order[i]];
        struct group *last = ngroups ? &groups[ngroups - 1] : NULL;
        bool stuck = t->blocked && t->blocked->stuck;
        if (last && last->created_by == t->created_by && last->state == t->state &&
            last->stack == t->stack && !strcmp(last->call, call_of(t))) {
            last->count++;
            last->stuck |= stuck;
            continue;
        }
        groups[ngroups++] = (struct group){t->created_by, t->state, t->stack, call_of(t), stuck,
                                           i, 1};
    }
    st_sort(groups, ngroups, sizeof *groups, cmp_group, NULL);
    return ngroups;
}

static uint32_t group_count(const struct st_report *r, struct st_arena *scratch, uint32_t **order,
                            struct group **groups)
{
    *order = st_arena_alloc(scratch, (r->nthreads + 1) * sizeof **order);
    *groups = st_arena_alloc(scratch, (r->nthreads + 1) * sizeof **groups);
    if (!*order || !*groups)
        return 0;
    return make_groups(r, *order, *groups);
}

/* ---- timers and fds: grouped by creation stack alone ---- */

struct site_group {
    int created_by;
    uint32_t first, count;
};

struct site_sort {
    const struct st_report *r;
    bool fds;
};

static int site_of(const struct site_sort *s, uint32_t i)
{
    return s->fds ? s->r->fds[i].created_by : s->r->timers[i].created_by;
}

static int cmp_site(const void *a, const void *b, void *ctx)
{
    const struct site_sort *s = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int sx = site_of(s, x), sy = site_of(s, y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return (x > y) - (x < y);
}

static int cmp_site_group(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct site_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->created_by > y->created_by) - (x->created_by < y->created_by);
}

/* Groups n timers or fds by creation stack, largest first. */
static uint32_t make_site_groups(const struct st_report *r, bool fds, uint32_t n,
                                 struct st_arena *scratch, uint32_t **order,
                                 struct site_group **groups)
{
    *order = st_arena_alloc(scratch, (n + 1) * sizeof **order);
    *groups = st_arena_alloc(scratch, (n + 1) * sizeof **groups);
    if (!*order || !*groups)
        return 0;
    struct site_sort s = {r, fds};
    for (uint32_t i = 0; i < n; i++)
        (*order)[i] = i;
    st_sort(*order, n, sizeof **order, cmp_site, &s);
    uint32_t ngroups = 0;
    for (uint32_t i = 0; i < n; i++) {
        int site = site_of(&s, (*order)[i]);
        if (ngroups && (*groups)[ngroups - 1].created_by == site) {
            (*groups)[ngroups - 1].count++;
            continue;
        }
        (*groups)[ngroups++] = (struct site_group){site, i, 1};
    }
    st_sort(*groups, ngroups, sizeof **groups, cmp_site_group, NULL);
    return ngroups;
}

static void write_duration_ns(struct st_out *o, uint64_t ns)
{
    if (ns % 1000000000u == 0) {
        st_out_uint(o, ns / 1000000000u);
        st_out_str(o, "s");
    } else if (ns % 1000000u == 0) {
        st_out_uint(o, ns / 1000000u);
        st_out_str(o, "ms");
    } else if (ns % 1000u == 0) {
        st_out_uint(o, ns / 1000u);
        st_out_str(o, "us");
    } else {
        st_out_uint(o, ns);
        st_out_str(o, "ns");
    }
}

static void write_timer_traits(struct st_out *o, const struct st_report_timer *t)
{
    st_out_str(o, t->clock ? t->clock : "?");
    st_out_str(o, ", ");
    st_out_str(o, t->notify ? t->notify : "?");
    if (t->armed_unknown) {
        st_out_str(o, ", armed or not unknown");
    } else if (!t->armed) {
        st_out_str(o, ", disarmed");
    } else if (t->interval_ns) {
        st_out_str(o, ", armed, every ");
        write_duration_ns(o, t->interval_ns);
    } else {
        st_out_str(o, ", armed, one-shot");
    }
}

static void write_timer_group(struct st_out *o, const struct st_report *r, const uint32_t *order,
                              const struct site_group *g)
{
    const struct st_report_timer *first = &r->timers[order[g->first]];
    st_out_count(o, g->count, " timer (", " timers (");
    write_timer_traits(o, first);
    st_out_str(o, g->count > 1 ? ", ...)" : ")");
    bool site = g->created_by >= 0 || !st_report_is_inspect(r);
    st_out_str(o, site ? " created at:\n    timers:" : ":\n    timers:");
    for (uint32_t i = 0; i < g->count && i < NAMES_SHOWN; i++) {
        const struct st_report_timer *t = &r->timers[order[g->first + i]];
        st_out_str(o, i ? ", " : " ");
        if (t->fd >= 0) {
            st_out_str(o, "timerfd ");
            st_out_int(o, t->fd);
        } else {
            st_out_str(o, t->id ? t->id : "?");
        }
    }
    write_more(o, g->count);
    st_out_char(o, '\n');
    if (site)
        write_stack(o, r, g->created_by);
    st_out_char(o, '\n');
}

#define TARGETS_SHOWN 3

static void write_fd_group(struct st_out *o, const struct st_report *r, const uint32_t *order,
                           const struct site_group *g)
{
    st_out_count(o, g->count, " fd (", " fds (");
    for (uint32_t i = 0; i < g->count && i < TARGETS_SHOWN; i++) {
        const struct st_report_fd *f = &r->fds[order[g->first + i]];
        if (i)
            st_out_str(o, ", ");
        st_out_str(o, f->kind ? f->kind : "?");
        st_out_char(o, ' ');
        st_out_str(o, f->target ? f->target : "?");
    }
    if (g->count > TARGETS_SHOWN)
        st_out_str(o, ", ...");
    bool site = g->created_by >= 0 || !st_report_is_inspect(r);
    st_out_str(o, site ? ") opened at:\n    fds:" : "):\n    fds:");
    for (uint32_t i = 0; i < g->count && i < NAMES_SHOWN; i++) {
        const struct st_report_fd *f = &r->fds[order[g->first + i]];
        st_out_str(o, i ? ", " : " ");
        st_out_int(o, f->fd);
        if (f->stream) {
            st_out_str(o, " (");
            st_out_str(o, f->stream);
            st_out_str(o, " ");
            st_out_hex(o, f->stream_address);
            st_out_char(o, ')');
        }
    }
    write_more(o, g->count);
    st_out_char(o, '\n');
    if (site)
        write_stack(o, r, g->created_by);
    st_out_char(o, '\n');
}

static void write_untracked(struct st_out *o, const struct st_report *r)
{
    if (r->nuntracked == 0)
        return;
    st_out_count(o, r->nuntracked, " untracked thread", " untracked threads");
    st_out_str(o, " (not started through a hooked call; not counted):");
    for (uint32_t i = 0; i < r->nuntracked; i++) {
        st_out_str(o, i ? ", " : " ");
        st_out_int(o, r->untracked[i].tid);
        if (r->untracked[i].name && *r->untracked[i].name) {
            st_out_str(o, " \"");
            st_out_str(o, r->untracked[i].name);
            st_out_char(o, '"');
        }
    }
    st_out_str(o, "\n\n");
}

/* LeakSanitizer's "Suppressions used:" block (print_suppressions=1): the
 * rules that matched something, with how many objects each left out. */
static void write_suppressions_used(struct st_out *o, const struct st_report *r)
{
    const struct st_report_suppressed *s = &r->suppressed;
    bool any = false;
    for (uint32_t i = 0; i < s->nrules; i++)
        any |= s->rules[i].matched > 0;
    if (!any)
        return;
    st_out_str(o, "Suppressions used:\n  count  rule\n");
    for (uint32_t i = 0; i < s->nrules; i++) {
        const struct st_report_supp_rule *rule = &s->rules[i];
        if (!rule->matched)
            continue;
        char digits[24];
        int n = 0;
        for (uint32_t v = rule->matched; v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        for (int pad = n; pad < 7; pad++)
            st_out_char(o, ' ');
        while (n)
            st_out_char(o, digits[--n]);
        st_out_str(o, "  ");
        st_out_str(o, rule->rule ? rule->rule : "?");
        st_out_str(o, " (");
        st_out_str(o, rule->file ? rule->file : "?");
        st_out_char(o, ':');
        st_out_int(o, rule->line);
        st_out_str(o, ")\n");
    }
    st_out_char(o, '\n');
}

/* "3 leaked threads, 1 timer and 2 fds in 4 groups". */
static void write_summary_groups(const struct st_report *r, struct st_out *o, uint32_t ngroups)
{
    st_out_str(o, "strays: ");
    const struct {
        uint32_t n;
        const char *one, *many;
    } parts[] = {{r->nthreads, "thread", "threads"},
                 {r->ntimers, "timer", "timers"},
                 {r->nfds, "fd", "fds"}};
    int nonzero = 0, written = 0;
    for (size_t i = 0; i < ST_ARRAY_LEN(parts); i++)
        nonzero += parts[i].n > 0;
    if (nonzero == 0)
        st_out_str(o, "no leaks");
    for (size_t i = 0; i < ST_ARRAY_LEN(parts); i++) {
        if (!parts[i].n)
            continue;
        if (written)
            st_out_str(o, written == nonzero - 1 ? " and " : ", ");
        st_out_uint(o, parts[i].n);
        /* A process strays did not start has objects, not leaks. */
        st_out_str(o, written || st_report_is_inspect(r) ? " " : " leaked ");
        st_out_str(o, parts[i].n == 1 ? parts[i].one : parts[i].many);
        written++;
    }
    if (nonzero) {
        st_out_str(o, " in ");
        st_out_count(o, ngroups, " group", " groups");
    }
    uint32_t suppressed = r->suppressed.threads + r->suppressed.timers + r->suppressed.fds;
    if (suppressed) {
        st_out_str(o, " (");
        st_out_uint(o, suppressed);
        st_out_str(o, " suppressed)");
    }
    st_out_str(o, " (pid ");
    st_out_int(o, r->pid);
    st_out_str(o, ", ");
    st_out_str(o, r->command ? r->command : (r->exe ? r->exe : "?"));
    st_out_char(o, ')');
}

struct all_groups {
    uint32_t *thread_order, *timer_order, *fd_order;
    struct group *thread_groups;
    struct site_group *timer_groups, *fd_groups;
    uint32_t nthread_groups, ntimer_groups, nfd_groups;
};

static uint32_t make_all_groups(const struct st_report *r, struct st_arena *scratch,
                                struct all_groups *g)
{
    g->nthread_groups = group_count(r, scratch, &g->thread_order, &g->thread_groups);
    g->ntimer_groups =
        make_site_groups(r, false, r->ntimers, scratch, &g->timer_order, &g->timer_groups);
    g->nfd_groups = make_site_groups(r, true, r->nfds, scratch, &g->fd_order, &g->fd_groups);
    return g->nthread_groups + g->ntimer_groups + g->nfd_groups;
}

void st_report_write_summary(const struct st_report *r, struct st_out *o)
{
    struct st_arena scratch = {0};
    struct all_groups g;
    write_summary_groups(r, o, make_all_groups(r, &scratch, &g));
    st_arena_free(&scratch);
}

/* "strays: N things what", when a check of the report left n undone. */
static void undone_line(struct st_out *o, uint32_t n, const char *one, const char *many,
                        const char *what)
{
    if (!n)
        return;
    st_out_str(o, "strays: ");
    st_out_count(o, n, one, many);
    st_out_str(o, what);
}

/* "strays: tracking incomplete: 120 fds, 3 timers not tracked (...)": the
 * report is missing objects, or stacks, for want of table memory. Then
 * what the report left unchecked to stay fast: both before the summary. */
static void write_tracking(struct st_out *o, const struct st_report_tracking *t)
{
    if (st_report_tracking_incomplete(t)) {
        const struct {
            uint64_t n;
            const char *one, *many;
        } parts[] = {{t->threads_not_tracked, " thread", " threads"},
                     {t->timers_not_tracked, " timer", " timers"},
                     {t->fds_not_tracked, " fd", " fds"}};
        st_out_str(o, "strays: tracking incomplete: ");
        bool any = false;
        for (size_t i = 0; i < ST_ARRAY_LEN(parts); i++) {
            if (!parts[i].n)
                continue;
            st_out_str(o, any ? ", " : "");
            st_out_count(o, parts[i].n, parts[i].one, parts[i].many);
            any = true;
        }
        if (any)
            st_out_str(o, " not tracked");
        if (t->stacks_not_kept) {
            st_out_str(o, any ? ", " : "");
            st_out_count(o, t->stacks_not_kept, " stack not kept", " stacks not kept");
        }
        if (t->limit_bytes) {
            st_out_str(o, " (strays' tables reached table_memory_limit=");
            st_out_uint(o, t->limit_bytes);
            st_out_str(o, " bytes, or memory ran out)\n");
        } else {
            st_out_str(o, " (out of memory for strays' tables)\n");
        }
    }
    undone_line(o, t->timers_unchecked, " timer", " timers",
                " not checked against the kernel within the report's time budget: armed state "
                "as last set by the program\n");
    undone_line(o, t->fds_unchecked, " fd", " fds",
                " not checked against /proc within the report's time budget: kind and name as "
                "created\n");
    undone_line(o, t->threads_without_stack, " running thread", " running threads",
                " gave no current stack (blocking strays' signal, or not answering within the "
                "report's time budget)\n");
    undone_line(o, t->threads_unread, " thread", " threads",
                " left out: strays' thread table stayed locked when the crash came\n");
    undone_line(o, t->timers_unread, " timer", " timers",
                " left out: strays' timer table stayed locked when the crash came\n");
}

void st_report_write_text(const struct st_report *r, struct st_out *o)
{
    struct st_arena scratch = {0};
    struct all_groups g;
    uint32_t ngroups = make_all_groups(r, &scratch, &g);
    st_out_str(o, "strays: report (");
    st_out_str(o, r->reason ? r->reason : "?");
    if (r->signal) {
        st_out_str(o, ": ");
        st_out_str(o, st_report_signal_name(r->signal));
        if (r->signal == SIGSEGV || r->signal == SIGBUS || r->signal == SIGFPE ||
            r->signal == SIGILL) {
            st_out_str(o, " at ");
            st_out_hex(o, r->fault_address);
        }
        st_out_str(o, " in tid ");
        st_out_int(o, r->crash_tid);
    }
    if (r->scope) {
        st_out_str(o, ", scope \"");
        st_out_str(o, r->scope);
        st_out_char(o, '"');
    }
    if (r->exit_status >= 0) {
        st_out_str(o, ", status ");
        st_out_int(o, r->exit_status);
    }
    st_out_str(o, ") of ");
    st_out_str(o, r->command ? r->command : (r->exe ? r->exe : "?"));
    st_out_str(o, " (pid ");
    st_out_int(o, r->pid);
    st_out_str(o, ")\n\n");
    if (st_report_is_inspect(r))
        st_out_str(o, "The process was not started under strays: no creation stacks. Threads "
                      "are shown where they stand\n(ptrace), with the call /proc says they "
                      "block in; fds and timers as /proc shows them.\n\n");
    if (r->signal && r->crash_stack >= 0) {
        st_out_str(o, "The crash, in ");
        write_tid_and_name(o, r, r->crash_tid);
        st_out_str(o, ":\n");
        write_stack(o, r, r->crash_stack);
        st_out_char(o, '\n');
    }
    write_limit(o, r, &scratch);
    write_growth(o, r, &scratch);
    write_deadlocks(o, r);
    for (uint32_t i = 0; i < g.nthread_groups; i++)
        write_group(o, r, g.thread_order, &g.thread_groups[i]);
    for (uint32_t i = 0; i < g.ntimer_groups; i++)
        write_timer_group(o, r, g.timer_order, &g.timer_groups[i]);
    for (uint32_t i = 0; i < g.nfd_groups; i++)
        write_fd_group(o, r, g.fd_order, &g.fd_groups[i]);
    write_untracked(o, r);
    write_suppressions_used(o, r);
    write_tracking(o, &r->tracking);
    write_summary_groups(r, o, ngroups);
    st_out_char(o, '\n');
    st_arena_free(&scratch);
}
