/* Leaks of one report grouped the way CI formats show them: one group per
 * kind and creation stack (blocked threads apart from other threads), with
 * the titles and details the JUnit and SARIF writers put in their output. */
#include "cli.h"

#include "base/sort.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN 8

static const char *const rule_ids[CLI_LEAK_KINDS] = {
    [CLI_LEAK_THREAD] = "strays/thread-leak",
    [CLI_LEAK_BLOCKED] = "strays/blocked-thread",
    [CLI_LEAK_TIMER] = "strays/timer-leak",
    [CLI_LEAK_FD] = "strays/fd-leak",
};

const char *cli_leak_rule_id(enum cli_leak_kind kind)
{
    return rule_ids[kind];
}

struct member {
    enum cli_leak_kind kind;
    int created_by;
    uint32_t index;
};

static int cmp_member(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct member *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->created_by != y->created_by)
        return x->created_by < y->created_by ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Kind order first (threads, blocked threads, timers, fds), then largest. */
static int cmp_group(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct cli_leak_group *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->created_by > y->created_by) - (x->created_by < y->created_by);
}

int cli_leaks_group(const struct st_report *r, struct cli_leaks *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = r->nthreads + r->ntimers + r->nfds, used = 0;
    struct member *m = calloc((size_t)n + 1, sizeof *m);
    out->members = calloc((size_t)n + 1, sizeof *out->members);
    out->groups = calloc((size_t)n + 1, sizeof *out->groups);
    if (!m || !out->members || !out->groups) {
        free(m);
        cli_leaks_free(out);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < r->nthreads; i++)
        m[used++] = (struct member){r->threads[i].state == ST_RT_BLOCKED ? CLI_LEAK_BLOCKED
                                                                         : CLI_LEAK_THREAD,
                                    r->threads[i].created_by, i};
    for (uint32_t i = 0; i < r->ntimers; i++)
        m[used++] = (struct member){CLI_LEAK_TIMER, r->timers[i].created_by, i};
    for (uint32_t i = 0; i < r->nfds; i++)
        m[used++] = (struct member){CLI_LEAK_FD, r->fds[i].created_by, i};
    st_sort(m, used, sizeof *m, cmp_member, NULL);
    for (uint32_t i = 0; i < used; i++) {
        out->members[i] = m[i].index;
        struct cli_leak_group *last = out->n ? &out->groups[out->n - 1] : NULL;
        if (last && last->kind == m[i].kind && last->created_by == m[i].created_by) {
            last->count++;
            continue;
        }
        out->groups[out->n++] =
            (struct cli_leak_group){m[i].kind, m[i].created_by, 1, &out->members[i]};
    }
    free(m);
    st_sort(out->groups, out->n, sizeof *out->groups, cmp_group, NULL);
    return 0;
}

void cli_leaks_free(struct cli_leaks *l)
{
    free(l->groups);
    free(l->members);
    memset(l, 0, sizeof *l);
}

static const struct st_report_stack *stack_at(const struct st_report *r, int index)
{
    if (index < 0 || (uint32_t)index >= r->nstacks || !r->stacks[index].depth)
        return NULL;
    return &r->stacks[index];
}

const struct st_frame *cli_frame_with_line(const struct st_report *r, int stack)
{
    const struct st_report_stack *s = stack_at(r, stack);
    for (uint32_t i = 0; s && i < s->depth; i++)
        if (s->frames[i].file && s->frames[i].line > 0)
            return &s->frames[i];
    return NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void cli_buf_frame_label(struct cli_buf *b, const struct st_frame *f)
{
    if (f->function)
        cli_buf_printf(b, "%s", f->function);
    else if (f->module)
        cli_buf_printf(b, "%s+0x%" PRIx64, base_name(f->module), f->offset);
    else
        cli_buf_printf(b, "0x%" PRIx64, f->address);
    if (f->file)
        cli_buf_printf(b, " (%s:%d)", base_name(f->file), f->line);
}

void cli_buf_site(struct cli_buf *b, const struct st_report *r, int stack)
{
    const struct st_report_stack *s = stack_at(r, stack);
    if (s)
        cli_buf_frame_label(b, &s->frames[0]);
    else
        cli_buf_printf(b, "an unknown site (no stack)");
}

/* "50ms", "1s", "1.5s", "3m12s". */
static void buf_duration(struct cli_buf *b, uint64_t ns)
{
    uint64_t ms = ns / 1000000u;
    if (ms < 1000)
        cli_buf_printf(b, "%" PRIu64 "ms", ms);
    else if (ms < 60000 && ms % 1000 == 0)
        cli_buf_printf(b, "%" PRIu64 "s", ms / 1000);
    else if (ms < 60000)
        cli_buf_printf(b, "%" PRIu64 ".%" PRIu64 "s", ms / 1000, ms % 1000 / 100);
    else
        cli_buf_printf(b, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000, ms / 1000 % 60);
}

static void thread_title(struct cli_buf *b, const struct st_report *r,
                         const struct cli_leak_group *g)
{
    uint32_t exited = 0;
    for (uint32_t i = 0; i < g->count; i++)
        exited += r->threads[g->members[i]].state == ST_RT_EXITED;
    cli_buf_printf(b, "%" PRIu32 " %s %s, created at ", g->count,
                   g->count == 1 ? "thread" : "threads",
                   exited == g->count ? "exited but never joined"
                   : exited           ? "left running or never joined"
                                      : "still running");
}

static void blocked_title(struct cli_buf *b, const struct st_report *r,
                          const struct cli_leak_group *g)
{
    const struct st_report_blocked *first = NULL;
    uint64_t longest = 0;
    bool stuck = false, same_call = true;
    for (uint32_t i = 0; i < g->count; i++) {
        const struct st_report_blocked *bl = r->threads[g->members[i]].blocked;
        if (!bl)
            continue;
        if (!first)
            first = bl;
        else if (!bl->call || !first->call || strcmp(bl->call, first->call))
            same_call = false;
        if (bl->blocked_ns > longest)
            longest = bl->blocked_ns;
        stuck |= bl->stuck;
    }
    cli_buf_printf(b, "%" PRIu32 " %s blocked", g->count, g->count == 1 ? "thread" : "threads");
    if (first && first->call && same_call)
        cli_buf_printf(b, " in %s", first->call);
    cli_buf_printf(b, " for ");
    buf_duration(b, longest);
    cli_buf_printf(b, "%s, created at ", stuck ? " [stuck]" : "");
}

static void timer_title(struct cli_buf *b, const struct st_report *r,
                        const struct cli_leak_group *g)
{
    const struct st_report_timer *t = &r->timers[g->members[0]];
    cli_buf_printf(b, "%" PRIu32 " %s never deleted (%s, %s", g->count,
                   g->count == 1 ? "timer" : "timers", t->clock ? t->clock : "?",
                   t->notify ? t->notify : "?");
    if (!t->armed) {
        cli_buf_printf(b, ", disarmed");
    } else if (t->interval_ns) {
        cli_buf_printf(b, ", armed, every ");
        buf_duration(b, t->interval_ns);
    } else {
        cli_buf_printf(b, ", armed, one-shot");
    }
    cli_buf_printf(b, "%s), created at ", g->count > 1 ? ", ..." : "");
}

static void fd_title(struct cli_buf *b, const struct st_report *r, const struct cli_leak_group *g)
{
    cli_buf_printf(b, "%" PRIu32 " %s left open (", g->count, g->count == 1 ? "fd" : "fds");
    for (uint32_t i = 0; i < g->count && i < 3; i++) {
        const struct st_report_fd *f = &r->fds[g->members[i]];
        cli_buf_printf(b, "%s%s %s", i ? ", " : "", f->kind ? f->kind : "?",
                       f->target ? f->target : "?");
    }
    cli_buf_printf(b, "%s), opened at ", g->count > 3 ? ", ..." : "");
}

void cli_buf_leak_title(struct cli_buf *b, const struct st_report *r,
                        const struct cli_leak_group *g)
{
    switch (g->kind) {
    case CLI_LEAK_THREAD:
        thread_title(b, r, g);
        break;
    case CLI_LEAK_BLOCKED:
        blocked_title(b, r, g);
        break;
    case CLI_LEAK_TIMER:
        timer_title(b, r, g);
        break;
    case CLI_LEAK_FD:
        fd_title(b, r, g);
        break;
    case CLI_LEAK_KINDS:
        break;
    }
    cli_buf_site(b, r, g->created_by);
}

void cli_buf_leak_name(struct cli_buf *b, const struct st_report *r,
                       const struct cli_leak_group *g)
{
    static const char *const nouns[CLI_LEAK_KINDS] = {
        [CLI_LEAK_THREAD] = "thread leak",
        [CLI_LEAK_BLOCKED] = "blocked thread",
        [CLI_LEAK_TIMER] = "timer leak",
        [CLI_LEAK_FD] = "fd leak",
    };
    cli_buf_printf(b, "%s at ", nouns[g->kind]);
    cli_buf_site(b, r, g->created_by);
}

static void buf_stack(struct cli_buf *b, const struct st_report *r, int index)
{
    const struct st_report_stack *s = stack_at(r, index);
    if (!s) {
        cli_buf_printf(b, "    (no stack)\n");
        return;
    }
    for (uint32_t i = 0; i < s->depth; i++) {
        const struct st_frame *f = &s->frames[i];
        cli_buf_printf(b, "    #%" PRIu32 " %s", i, f->function ? f->function : "??");
        if (f->file)
            cli_buf_printf(b, " (%s:%d)", f->file, f->line);
        if (f->module)
            cli_buf_printf(b, " [%s+0x%" PRIx64 "]\n", f->module, f->offset);
        else
            cli_buf_printf(b, " [0x%" PRIx64 "]\n", f->address);
    }
}

static void member_list(struct cli_buf *b, const struct st_report *r,
                        const struct cli_leak_group *g)
{
    bool threads = g->kind == CLI_LEAK_THREAD || g->kind == CLI_LEAK_BLOCKED;
    cli_buf_printf(b, "%s:", threads ? "threads" : g->kind == CLI_LEAK_TIMER ? "timers" : "fds");
    for (uint32_t i = 0; i < g->count && i < SHOWN; i++) {
        uint32_t m = g->members[i];
        cli_buf_printf(b, i ? ", " : " ");
        if (threads) {
            const struct st_report_thread *t = &r->threads[m];
            cli_buf_printf(b, "%d", t->tid);
            if (t->name && *t->name)
                cli_buf_printf(b, " \"%s\"", t->name);
        } else if (g->kind == CLI_LEAK_TIMER) {
            const struct st_report_timer *t = &r->timers[m];
            if (t->fd >= 0)
                cli_buf_printf(b, "timerfd %d", t->fd);
            else
                cli_buf_printf(b, "%s", t->id ? t->id : "?");
        } else {
            const struct st_report_fd *f = &r->fds[m];
            cli_buf_printf(b, "%d %s", f->fd, f->target ? f->target : "?");
        }
    }
    if (g->count > SHOWN)
        cli_buf_printf(b, " (+%" PRIu32 " more)", g->count - SHOWN);
    cli_buf_printf(b, "\n");
}

void cli_buf_leak_details(struct cli_buf *b, const struct st_report *r,
                          const struct cli_leak_group *g)
{
    cli_buf_leak_title(b, r, g);
    cli_buf_printf(b, "\nin %s (pid %d)\n", r->command ? r->command : r->exe ? r->exe : "?",
                   r->pid);
    member_list(b, r, g);
    if (g->kind == CLI_LEAK_BLOCKED || g->kind == CLI_LEAK_THREAD) {
        const struct st_report_thread *t = &r->threads[g->members[0]];
        if (t->stack >= 0 && stack_at(r, t->stack)) {
            cli_buf_printf(b, "%s:\n", g->kind == CLI_LEAK_BLOCKED ? "waiting at" : "now at");
            buf_stack(b, r, t->stack);
        }
    }
    cli_buf_printf(b, "%s at:\n", g->kind == CLI_LEAK_FD ? "opened" : "created");
    buf_stack(b, r, g->created_by);
}
