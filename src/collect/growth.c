/* Growth between live dumps; see growth.h. Only the watchdog thread makes
 * dumps, one at a time, so the remembered table needs no lock of its own. */
#include "collect/growth.h"

#include "base/st.h"

#include <stdlib.h>
#include <string.h>

enum { KIND_THREADS, KIND_TIMERS, KIND_FDS, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"threads", "timers", "fds"};

struct site {
    const struct st_stack *stack;
    int kind;
    uint32_t count;
    uint32_t streak;
};

static struct site *previous;
static uint32_t nprevious;
static uint64_t previous_ns;
static bool have_previous;

static int cmp_site(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    return (x->stack > y->stack) - (x->stack < y->stack);
}

static const struct site *find_previous(const struct site *key)
{
    return nprevious ? bsearch(key, previous, nprevious, sizeof *previous, cmp_site) : NULL;
}

/* Counts per (kind, site) of the report, sorted. */
static struct site *count_sites(const struct st_report *r, const struct st_stack_index *si,
                                uint32_t *n)
{
    uint32_t total = r->nthreads + r->ntimers + r->nfds;
    struct site *all = calloc(total + 1, sizeof *all);
    if (!all)
        return NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
        all[k++] = (struct site){r->threads[i].created_by >= 0 ? si->order[r->threads[i].created_by]
                                                             : NULL,
                                 KIND_THREADS, 1, 0};
    for (uint32_t i = 0; i < r->ntimers; i++)
        all[k++] = (struct site){r->timers[i].created_by >= 0 ? si->order[r->timers[i].created_by]
                                                            : NULL,
                                 KIND_TIMERS, 1, 0};
    for (uint32_t i = 0; i < r->nfds; i++)
        all[k++] = (struct site){r->fds[i].created_by >= 0 ? si->order[r->fds[i].created_by]
                                                         : NULL,
                                 KIND_FDS, 1, 0};
    qsort(all, k, sizeof *all, cmp_site);
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (m && !cmp_site(&all[m - 1], &all[i]))
            all[m - 1].count++;
        else
            all[m++] = all[i];
    }
    *n = m;
    return all;
}

void st_growth_compute(struct st_report *r, struct st_stack_index *si)
{
    uint32_t n = 0;
    struct site *now = count_sites(r, si, &n);
    if (!now)
        return;
    uint64_t t = st_uptime_ns();
    r->growth_since_ms = have_previous ? (int64_t)((t - previous_ns) / 1000000u) : -1;
    r->growth = st_arena_alloc(&r->arena, (n + nprevious + 1) * sizeof *r->growth);
    for (uint32_t i = 0; i < n; i++) {
        const struct site *old = find_previous(&now[i]);
        int32_t delta = (int32_t)now[i].count - (int32_t)(old ? old->count : 0);
        now[i].streak = have_previous && delta > 0 ? (old ? old->streak : 0) + 1 : 0;
        if (r->growth)
            r->growth[r->ngrowth++] = (struct st_report_growth){
                kind_names[now[i].kind], st_stack_index_of(si, now[i].stack), now[i].count,
                have_previous ? delta : 0, now[i].streak, now[i].streak >= ST_GROWTH_STREAK};
    }
    /* Sites that are gone since the previous dump shrank to nothing; their
     * stacks are not in this report's table, so they are counted only. */
    free(previous);
    previous = now;
    nprevious = n;
    previous_ns = t;
    have_previous = true;
}

/* Writes nothing when there was no dump (a forked child copies each page
 * it writes, and free would be a call into libc). */
ST_EVERY_FORK
void st_growth_reset(void)
{
    if (!previous && !have_previous)
        return;
    free(previous);
    previous = NULL;
    nprevious = 0;
    have_previous = false;
}
