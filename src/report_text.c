/* The text report, shaped like a goroutine dump: objects grouped by
 * creation stack and state, the largest group first, each stack printed
 * once, and a one-line summary at the end. Uses only the arena and out.h,
 * so it can run on the crash path. */
#include "report.h"
#include "sort.h"

#include <string.h>

#define NAMES_SHOWN 8

struct group {
    int created_by;
    enum st_report_thread_state state;
    uint32_t first; /* index into the sorted order */
    uint32_t count;
};

static int cmp_thread(const void *a, const void *b, void *ctx)
{
    const struct st_report *r = ctx;
    const struct st_report_thread *x = &r->threads[*(const uint32_t *)a];
    const struct st_report_thread *y = &r->threads[*(const uint32_t *)b];
    if (x->created_by != y->created_by)
        return x->created_by < y->created_by ? -1 : 1;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_group(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1; /* largest first */
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
    if (g->count > NAMES_SHOWN) {
        st_out_str(o, " (+");
        st_out_uint(o, g->count - NAMES_SHOWN);
        st_out_str(o, " more)");
    }
    st_out_char(o, '\n');
}

static void write_group(struct st_out *o, const struct st_report *r, const uint32_t *order,
                        const struct group *g)
{
    st_out_uint(o, g->count);
    st_out_str(o, g->count == 1 ? " thread " : " threads ");
    if (g->state == ST_RT_EXITED)
        st_out_str(o, "exited but never joined");
    else
        st_out_str(o, st_report_thread_state_name(g->state));
    st_out_str(o, ", created at:\n");
    write_thread_list(o, r, order, g);
    write_stack(o, r, g->created_by);
    st_out_char(o, '\n');
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
        if (last && last->created_by == t->created_by && last->state == t->state) {
            last->count++;
            continue;
        }
        groups[ngroups++] = (struct group){t->created_by, t->state, i, 1};
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

static void write_untracked(struct st_out *o, const struct st_report *r)
{
    if (r->nuntracked == 0)
        return;
    st_out_uint(o, r->nuntracked);
    st_out_str(o, r->nuntracked == 1 ? " untracked thread" : " untracked threads");
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

static void write_summary_groups(const struct st_report *r, struct st_out *o, uint32_t ngroups)
{
    st_out_str(o, "strays: ");
    if (r->nthreads == 0) {
        st_out_str(o, "no leaks");
    } else {
        st_out_uint(o, r->nthreads);
        st_out_str(o, r->nthreads == 1 ? " leaked thread in " : " leaked threads in ");
        st_out_uint(o, ngroups);
        st_out_str(o, ngroups == 1 ? " group" : " groups");
    }
    st_out_str(o, " (pid ");
    st_out_int(o, r->pid);
    st_out_str(o, ", ");
    st_out_str(o, r->command ? r->command : (r->exe ? r->exe : "?"));
    st_out_char(o, ')');
}

void st_report_write_summary(const struct st_report *r, struct st_out *o)
{
    struct st_arena scratch = {0};
    uint32_t *order;
    struct group *groups;
    uint32_t ngroups = group_count(r, &scratch, &order, &groups);
    write_summary_groups(r, o, ngroups);
    st_arena_free(&scratch);
}

void st_report_write_text(const struct st_report *r, struct st_out *o)
{
    struct st_arena scratch = {0};
    uint32_t *order;
    struct group *groups;
    uint32_t ngroups = group_count(r, &scratch, &order, &groups);
    st_out_str(o, "strays: report (");
    st_out_str(o, r->reason ? r->reason : "?");
    if (r->exit_status >= 0) {
        st_out_str(o, ", status ");
        st_out_int(o, r->exit_status);
    }
    st_out_str(o, ") of ");
    st_out_str(o, r->command ? r->command : (r->exe ? r->exe : "?"));
    st_out_str(o, " (pid ");
    st_out_int(o, r->pid);
    st_out_str(o, ")\n\n");
    for (uint32_t i = 0; i < ngroups; i++)
        write_group(o, r, order, &groups[i]);
    write_untracked(o, r);
    write_summary_groups(r, o, ngroups);
    st_out_char(o, '\n');
    st_arena_free(&scratch);
}
