/* JSON report -> report model; see report_parse.h. The schema is in
 * docs/report.schema.json; this reader accepts exactly what it promises
 * and says which field broke it when a file does not. */
#include "report/report_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct loader {
    struct st_report *r;
    char *err;
    size_t errlen;
};

static int fail(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, l->errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A string member copied into the arena; NULL (absent or null) allowed when optional. */
static int get_str(struct loader *l, const struct st_json *obj, const char *key, bool optional,
                   const char **out, const char *where)
{
    const struct st_json *v = st_json_get(obj, key);
    const char *s;
    if ((!v || v->type == ST_JSON_NULL) && optional) {
        *out = NULL;
        return 0;
    }
    if (!st_json_as_string(v, &s))
        return fail(l, "%s: \"%s\" must be a string", where, key);
    *out = st_arena_strdup(&l->r->arena, s);
    return *out ? 0 : -ENOMEM;
}

static int get_int(struct loader *l, const struct st_json *obj, const char *key, int64_t min,
                   int64_t max, int64_t *out, const char *where)
{
    if (!st_json_as_int(st_json_get(obj, key), out) || *out < min || *out > max)
        return fail(l, "%s: \"%s\" must be an integer from %lld to %lld", where, key,
                    (long long)min, (long long)max);
    return 0;
}

/* A stack index: an integer below the number of stacks, or null. */
static int get_index(struct loader *l, const struct st_json *obj, const char *key, int *out,
                     const char *where)
{
    const struct st_json *v = st_json_get(obj, key);
    if (!v || v->type == ST_JSON_NULL) {
        *out = -1;
        return 0;
    }
    int64_t n;
    if (!st_json_as_int(v, &n) || n < 0 || n >= (int64_t)l->r->nstacks)
        return fail(l, "%s: \"%s\" must be null or a stack index below %u", where, key,
                    l->r->nstacks);
    *out = (int)n;
    return 0;
}

static int get_hex(struct loader *l, const struct st_json *obj, const char *key, uint64_t *out,
                   const char *where)
{
    const char *s;
    if (!st_json_as_string(st_json_get(obj, key), &s) || strncmp(s, "0x", 2) != 0 || !s[2])
        return fail(l, "%s: \"%s\" must be a hex string \"0x...\"", where, key);
    char *end;
    errno = 0;
    *out = strtoull(s + 2, &end, 16);
    if (*end || errno)
        return fail(l, "%s: \"%s\" is not a valid hex number", where, key);
    return 0;
}

static int get_bool(struct loader *l, const struct st_json *obj, const char *key, bool *out,
                    const char *where);

static int load_frame(struct loader *l, const struct st_json *f, struct st_frame *out,
                      const char *where)
{
    if (!f || f->type != ST_JSON_OBJECT)
        return fail(l, "%s: must be an object", where);
    int rc = get_hex(l, f, "address", &out->address, where);
    if (!rc)
        rc = get_str(l, f, "module", true, &out->module, where);
    if (!rc && out->module)
        rc = get_hex(l, f, "offset", &out->offset, where);
    if (!rc)
        rc = get_str(l, f, "build_id", true, &out->build_id, where);
    if (!rc)
        rc = get_str(l, f, "function", true, &out->function, where);
    if (!rc)
        rc = get_str(l, f, "file", true, &out->file, where);
    int64_t line = 0;
    if (!rc && out->file)
        rc = get_int(l, f, "line", 0, INT32_MAX, &line, where);
    out->line = (int)line;
    if (!rc && st_json_get(f, "unloaded"))
        rc = get_bool(l, f, "unloaded", &out->unloaded, where);
    return rc;
}

static const struct st_json *get_array(struct loader *l, const struct st_json *obj,
                                       const char *key)
{
    const struct st_json *v = st_json_get(obj, key);
    if (!v || v->type != ST_JSON_ARRAY) {
        fail(l, "\"%s\" must be an array", key);
        return NULL;
    }
    return v;
}

static int load_stacks(struct loader *l, const struct st_json *root)
{
    const struct st_json *stacks = get_array(l, root, "stacks");
    if (!stacks)
        return -EINVAL;
    struct st_report *r = l->r;
    r->stacks = st_arena_alloc(&r->arena, (stacks->length + 1) * sizeof *r->stacks);
    if (!r->stacks)
        return -ENOMEM;
    for (size_t i = 0; i < stacks->length; i++) {
        const struct st_json *s = stacks->items[i];
        if (s->type != ST_JSON_ARRAY)
            return fail(l, "stacks[%zu]: must be an array of frames", i);
        struct st_report_stack *rs = &r->stacks[r->nstacks++];
        rs->frames = st_arena_alloc(&r->arena, (s->length + 1) * sizeof *rs->frames);
        if (!rs->frames)
            return -ENOMEM;
        for (size_t j = 0; j < s->length; j++) {
            char where[64];
            snprintf(where, sizeof where, "stacks[%zu][%zu]", i, j);
            int rc = load_frame(l, s->items[j], &rs->frames[rs->depth++], where);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int parse_state(const char *s, enum st_report_thread_state *out)
{
    static const enum st_report_thread_state all[] = {ST_RT_RUNNING, ST_RT_BLOCKED,
                                                      ST_RT_EXITED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, st_report_thread_state_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
}

static const struct st_json *get_list(struct loader *l, const struct st_json *root, const char *key,
                                      size_t size, void **out);

static int get_optional_int(struct loader *l, const struct st_json *obj, const char *key,
                            int64_t min, int64_t max, int64_t *out, int64_t absent,
                            const char *where)
{
    const struct st_json *v = st_json_get(obj, key);
    if (!v || v->type == ST_JSON_NULL) {
        *out = absent;
        return 0;
    }
    return get_int(l, obj, key, min, max, out, where);
}

static int load_blocked(struct loader *l, const struct st_json *t, struct st_report_thread *out,
                        const char *where)
{
    const struct st_json *b = st_json_get(t, "blocked");
    if (!b || b->type == ST_JSON_NULL)
        return 0;
    if (b->type != ST_JSON_OBJECT)
        return fail(l, "%s: \"blocked\" must be null or an object", where);
    struct st_report_blocked *bl = st_arena_alloc(&l->r->arena, sizeof *bl);
    if (!bl)
        return -ENOMEM;
    memset(bl, 0, sizeof *bl);
    int64_t fd, deadline, timeout_ns, timeouts, owner;
    int rc = get_str(l, b, "call", false, &bl->call, where);
    const struct st_json *obj = st_json_get(b, "object");
    if (!rc && obj && obj->type != ST_JSON_NULL)
        rc = get_hex(l, b, "object", &bl->object, where);
    if (!rc)
        rc = get_optional_int(l, b, "fd", 0, INT32_MAX, &fd, -1, where);
    if (!rc)
        rc = get_str(l, b, "target", true, &bl->target, where);
    /* blocked_ns is a uint64_t: beyond 2^64 ns (584 years) the conversion
     * below would be undefined. */
    const struct st_json *secs = st_json_get(b, "seconds");
    bl->since_unknown = secs && secs->type == ST_JSON_NULL; /* strays inspect */
    if (!rc && !bl->since_unknown &&
        (!secs || secs->type != ST_JSON_NUMBER || secs->number < 0 ||
         secs->number * 1e9 >= 18446744073709551616.0))
        rc = fail(l, "%s: \"blocked\".\"seconds\" must be a number of seconds", where);
    if (!rc)
        rc = get_optional_int(l, b, "deadline", 0, INT64_MAX, &deadline, -1, where);
    if (!rc)
        rc = get_optional_int(l, b, "timeout_ns", 0, INT64_MAX, &timeout_ns, 0, where);
    if (!rc)
        rc = get_int(l, b, "timeouts", 0, UINT32_MAX, &timeouts, where);
    if (!rc)
        rc = get_optional_int(l, b, "owner_tid", 0, INT32_MAX, &owner, 0, where);
    if (!rc)
        rc = get_bool(l, b, "stuck", &bl->stuck, where);
    if (!rc)
        rc = get_str(l, b, "wchan", true, &bl->wchan, where);
    if (rc)
        return rc;
    bl->fd = (int)fd;
    bl->blocked_ns = secs && secs->type == ST_JSON_NUMBER ? (uint64_t)(secs->number * 1e9) : 0;
    bl->deadline_ms = deadline;
    bl->timeout_ns = (uint64_t)timeout_ns;
    bl->timeouts = (uint32_t)timeouts;
    bl->owner_tid = (int)owner;
    out->blocked = bl;
    return 0;
}

/* "limit": only in exhausted and fd_warn dumps (absent before them). */
static int load_limit(struct loader *l, const struct st_json *root)
{
    const struct st_json *g = st_json_get(root, "limit");
    if (!g || g->type == ST_JSON_NULL)
        return 0;
    if (g->type != ST_JSON_OBJECT)
        return fail(l, "\"limit\" must be an object");
    struct st_report_limit *lim = &l->r->limit;
    int64_t rlimit, hits, fd, percent;
    int rc = get_str(l, g, "kind", false, &lim->kind, "limit");
    if (!rc)
        rc = get_str(l, g, "error", true, &lim->error, "limit");
    if (!rc)
        rc = get_optional_int(l, g, "rlimit", 0, INT64_MAX, &rlimit, -1, "limit");
    if (!rc)
        rc = get_int(l, g, "hits", 0, UINT32_MAX, &hits, "limit");
    if (!rc)
        rc = get_optional_int(l, g, "fd", 0, INT32_MAX, &fd, -1, "limit");
    if (!rc)
        rc = get_int(l, g, "warn_percent", 0, 100, &percent, "limit");
    if (rc)
        return rc;
    lim->present = true;
    lim->rlimit = rlimit;
    lim->hits = (uint32_t)hits;
    lim->fd = (int)fd;
    lim->warn_percent = (int)percent;
    return 0;
}

static int load_deadlocks(struct loader *l, const struct st_json *root)
{
    const struct st_json *list = st_json_get(root, "deadlocks");
    if (!list)
        return 0; /* reports before 0.2 had none */
    if (list->type != ST_JSON_ARRAY)
        return fail(l, "\"deadlocks\" must be an array");
    struct st_report *r = l->r;
    r->deadlocks = st_arena_alloc(&r->arena, (list->length + 1) * sizeof *r->deadlocks);
    if (!r->deadlocks)
        return -ENOMEM;
    for (size_t i = 0; i < list->length; i++) {
        const struct st_json *c = list->items[i];
        if (c->type != ST_JSON_ARRAY || c->length < 2)
            return fail(l, "deadlocks[%zu]: must be an array of at least two tids", i);
        struct st_report_cycle *cy = &r->deadlocks[r->ndeadlocks++];
        cy->tids = st_arena_alloc(&r->arena, c->length * sizeof *cy->tids);
        if (!cy->tids)
            return -ENOMEM;
        for (size_t j = 0; j < c->length; j++) {
            int64_t tid;
            if (!st_json_as_int(c->items[j], &tid) || tid <= 0 || tid > INT32_MAX)
                return fail(l, "deadlocks[%zu][%zu]: must be a tid", i, j);
            cy->tids[cy->n++] = (int)tid;
        }
    }
    return 0;
}

static int load_growth(struct loader *l, const struct st_json *root)
{
    struct st_report *r = l->r;
    r->growth_since_ms = -1;
    const struct st_json *g = st_json_get(root, "growth");
    if (!g || g->type == ST_JSON_NULL)
        return 0;
    if (g->type != ST_JSON_OBJECT)
        return fail(l, "\"growth\" must be null or an object");
    int64_t since;
    int rc = get_optional_int(l, g, "since_ms", 0, INT64_MAX, &since, -1, "growth");
    if (rc)
        return rc;
    r->growth_since_ms = since;
    const struct st_json *sites = get_list(l, g, "sites", sizeof *r->growth, (void **)&r->growth);
    if (!sites)
        return -EINVAL;
    for (size_t i = 0; i < sites->length; i++) {
        char where[40];
        snprintf(where, sizeof where, "growth.sites[%zu]", i);
        const struct st_json *s = sites->items[i];
        if (s->type != ST_JSON_OBJECT)
            return fail(l, "%s: must be an object", where);
        struct st_report_growth *out = &r->growth[r->ngrowth++];
        int64_t count, delta, streak;
        rc = get_str(l, s, "kind", false, &out->kind, where);
        if (!rc)
            rc = get_index(l, s, "created_by", &out->created_by, where);
        if (!rc)
            rc = get_int(l, s, "count", 0, UINT32_MAX, &count, where);
        if (!rc)
            rc = get_int(l, s, "delta", INT32_MIN, INT32_MAX, &delta, where);
        if (!rc)
            rc = get_int(l, s, "streak", 0, UINT32_MAX, &streak, where);
        if (!rc)
            rc = get_bool(l, s, "growing", &out->growing, where);
        if (rc)
            return rc;
        out->count = (uint32_t)count;
        out->delta = (int32_t)delta;
        out->streak = (uint32_t)streak;
    }
    return 0;
}

static int load_crash(struct loader *l, const struct st_json *root)
{
    l->r->crash_stack = -1;
    const struct st_json *c = st_json_get(root, "crash");
    if (!c || c->type == ST_JSON_NULL)
        return 0;
    if (c->type != ST_JSON_OBJECT)
        return fail(l, "\"crash\" must be null or an object");
    int64_t sig = 0, tid = 0;
    int rc = get_int(l, c, "signal", 1, 64, &sig, "crash");
    if (!rc)
        rc = get_hex(l, c, "fault_address", &l->r->fault_address, "crash");
    if (!rc)
        rc = get_int(l, c, "tid", 0, INT32_MAX, &tid, "crash");
    if (!rc)
        rc = get_index(l, c, "stack", &l->r->crash_stack, "crash");
    l->r->signal = (int)sig;
    l->r->crash_tid = (int)tid;
    return rc;
}

static int load_supp_rule(struct loader *l, const struct st_json *j,
                          struct st_report_supp_rule *out, const char *where)
{
    if (j->type != ST_JSON_OBJECT)
        return fail(l, "%s: must be an object", where);
    int64_t line, matched;
    int rc = get_str(l, j, "rule", false, &out->rule, where);
    if (!rc)
        rc = get_str(l, j, "file", false, &out->file, where);
    if (!rc)
        rc = get_int(l, j, "line", 1, INT32_MAX, &line, where);
    if (!rc)
        rc = get_int(l, j, "matched", 0, UINT32_MAX, &matched, where);
    if (rc)
        return rc;
    out->line = (int)line;
    out->matched = (uint32_t)matched;
    return 0;
}

/* What suppression rules left out; absent in reports before suppressions. */
static int load_suppressed(struct loader *l, const struct st_json *root)
{
    struct st_report_suppressed *s = &l->r->suppressed;
    const struct st_json *j = st_json_get(root, "suppressed");
    if (!j)
        return 0;
    if (j->type != ST_JSON_OBJECT)
        return fail(l, "\"suppressed\" must be an object");
    int64_t threads, timers, fds;
    int rc = get_int(l, j, "threads", 0, UINT32_MAX, &threads, "suppressed");
    if (!rc)
        rc = get_int(l, j, "timers", 0, UINT32_MAX, &timers, "suppressed");
    if (!rc)
        rc = get_int(l, j, "fds", 0, UINT32_MAX, &fds, "suppressed");
    if (rc)
        return rc;
    s->threads = (uint32_t)threads;
    s->timers = (uint32_t)timers;
    s->fds = (uint32_t)fds;
    const struct st_json *rules = get_list(l, j, "rules", sizeof *s->rules, (void **)&s->rules);
    if (!rules)
        return -EINVAL;
    for (size_t i = 0; i < rules->length; i++) {
        char where[40];
        snprintf(where, sizeof where, "suppressed.rules[%zu]", i);
        rc = load_supp_rule(l, rules->items[i], &s->rules[s->nrules++], where);
        if (rc)
            return rc;
    }
    return 0;
}

/* What tracking cost and missed; absent or null in reports before it. */
static int load_tracking(struct loader *l, const struct st_json *root)
{
    struct st_report_tracking *t = &l->r->tracking;
    const struct st_json *j = st_json_get(root, "tracking");
    if (!j || j->type == ST_JSON_NULL)
        return 0;
    if (j->type != ST_JSON_OBJECT)
        return fail(l, "\"tracking\" must be null or an object");
    const struct st_json *missed = st_json_get(j, "not_tracked");
    if (!missed || missed->type != ST_JSON_OBJECT)
        return fail(l, "tracking: \"not_tracked\" must be an object");
    int64_t table, stack, limit, threads, timers, fds, stacks, unchecked, fds_unchecked, stackless;
    int64_t threads_unread = 0, timers_unread = 0;
    int rc = get_int(l, j, "table_bytes", 0, INT64_MAX, &table, "tracking");
    if (!rc)
        rc = get_int(l, j, "stack_bytes", 0, INT64_MAX, &stack, "tracking");
    if (!rc)
        rc = get_optional_int(l, j, "limit_bytes", 1, INT64_MAX, &limit, 0, "tracking");
    if (!rc)
        rc = get_int(l, missed, "threads", 0, INT64_MAX, &threads, "tracking.not_tracked");
    if (!rc)
        rc = get_int(l, missed, "timers", 0, INT64_MAX, &timers, "tracking.not_tracked");
    if (!rc)
        rc = get_int(l, missed, "fds", 0, INT64_MAX, &fds, "tracking.not_tracked");
    if (!rc)
        rc = get_int(l, missed, "stacks", 0, INT64_MAX, &stacks, "tracking.not_tracked");
    if (!rc)
        rc = get_int(l, j, "timers_unchecked", 0, UINT32_MAX, &unchecked, "tracking");
    if (!rc) /* absent from reports written before fd checks had a budget */
        rc = get_optional_int(l, j, "fds_unchecked", 0, UINT32_MAX, &fds_unchecked, 0, "tracking");
    if (!rc)
        rc = get_int(l, j, "threads_without_stack", 0, UINT32_MAX, &stackless, "tracking");
    if (!rc) /* these two are absent from reports written before them */
        rc = get_optional_int(l, j, "threads_unread", 0, UINT32_MAX, &threads_unread, 0,
                              "tracking");
    if (!rc)
        rc = get_optional_int(l, j, "timers_unread", 0, UINT32_MAX, &timers_unread, 0,
                              "tracking");
    if (rc)
        return rc;
    *t = (struct st_report_tracking){
        .present = true,
        .table_bytes = (uint64_t)table,
        .stack_bytes = (uint64_t)stack,
        .limit_bytes = (uint64_t)limit,
        .threads_not_tracked = (uint64_t)threads,
        .timers_not_tracked = (uint64_t)timers,
        .fds_not_tracked = (uint64_t)fds,
        .stacks_not_kept = (uint64_t)stacks,
        .timers_unchecked = (uint32_t)unchecked,
        .fds_unchecked = (uint32_t)fds_unchecked,
        .threads_without_stack = (uint32_t)stackless,
        .threads_unread = (uint32_t)threads_unread,
        .timers_unread = (uint32_t)timers_unread,
    };
    return 0;
}

static int load_thread(struct loader *l, const struct st_json *t, struct st_report_thread *out,
                       const char *where)
{
    if (t->type != ST_JSON_OBJECT)
        return fail(l, "%s: must be an object", where);
    int64_t tid = 0, parent = 0, created = 0;
    const char *state = ""; /* set by get_str when it returns 0 */
    int rc = get_int(l, t, "tid", 0, INT32_MAX, &tid, where);
    if (!rc)
        rc = get_str(l, t, "name", true, &out->name, where);
    if (!rc)
        rc = get_str(l, t, "state", false, &state, where);
    if (!rc && parse_state(state, &out->state))
        rc = fail(l, "%s: unknown state \"%s\"", where, state);
    if (!rc && !st_json_as_bool(st_json_get(t, "detached"), &out->detached))
        rc = fail(l, "%s: \"detached\" must be true or false", where);
    if (!rc)
        rc = get_index(l, t, "created_by", &out->created_by, where);
    if (!rc)
        rc = get_index(l, t, "stack", &out->stack, where);
    if (!rc)
        rc = get_int(l, t, "created_ms", 0, INT64_MAX, &created, where);
    if (!rc)
        rc = get_int(l, t, "parent_tid", 0, INT32_MAX, &parent, where);
    if (!rc)
        rc = load_blocked(l, t, out, where);
    if (!rc)
        rc = get_str(l, t, "scope", true, &out->scope, where);
    if (!rc && out->blocked && out->state != ST_RT_BLOCKED)
        rc = fail(l, "%s: \"blocked\" must be null unless the state is blocked", where);
    out->tid = (int)tid;
    out->parent_tid = (int)parent;
    out->created_ms = (uint64_t)created;
    return rc;
}

static int load_threads(struct loader *l, const struct st_json *root)
{
    const struct st_json *threads = get_array(l, root, "threads");
    if (!threads)
        return -EINVAL;
    struct st_report *r = l->r;
    r->threads = st_arena_alloc(&r->arena, (threads->length + 1) * sizeof *r->threads);
    if (!r->threads)
        return -ENOMEM;
    for (size_t i = 0; i < threads->length; i++) {
        char where[32];
        snprintf(where, sizeof where, "threads[%zu]", i);
        int rc = load_thread(l, threads->items[i], &r->threads[r->nthreads++], where);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_untracked(struct loader *l, const struct st_json *root)
{
    const struct st_json *list = st_json_get(root, "untracked_threads");
    if (!list)
        return 0; /* optional */
    if (list->type != ST_JSON_ARRAY)
        return fail(l, "\"untracked_threads\" must be an array");
    struct st_report *r = l->r;
    r->untracked = st_arena_alloc(&r->arena, (list->length + 1) * sizeof *r->untracked);
    if (!r->untracked)
        return -ENOMEM;
    for (size_t i = 0; i < list->length; i++) {
        char where[40];
        snprintf(where, sizeof where, "untracked_threads[%zu]", i);
        struct st_report_untracked *u = &r->untracked[r->nuntracked++];
        int64_t tid;
        if (list->items[i]->type != ST_JSON_OBJECT)
            return fail(l, "%s: must be an object", where);
        int rc = get_int(l, list->items[i], "tid", 0, INT32_MAX, &tid, where);
        if (!rc)
            rc = get_str(l, list->items[i], "name", true, &u->name, where);
        if (rc)
            return rc;
        u->tid = (int)tid;
    }
    return 0;
}

/* The array under key, allocated in the arena as n elements of size. */
static const struct st_json *get_list(struct loader *l, const struct st_json *root, const char *key,
                                      size_t size, void **out)
{
    const struct st_json *list = get_array(l, root, key);
    if (!list)
        return NULL;
    *out = st_arena_alloc(&l->r->arena, (list->length + 1) * size);
    if (!*out) {
        fail(l, "out of memory");
        return NULL;
    }
    return list;
}

static int get_bool(struct loader *l, const struct st_json *obj, const char *key, bool *out,
                    const char *where)
{
    if (!st_json_as_bool(st_json_get(obj, key), out))
        return fail(l, "%s: \"%s\" must be true or false", where, key);
    return 0;
}

static int load_timer(struct loader *l, const struct st_json *t, struct st_report_timer *out,
                      const char *where)
{
    if (t->type != ST_JSON_OBJECT)
        return fail(l, "%s: must be an object", where);
    int64_t interval = 0, tid = 0, created = 0, fd = -1;
    int rc = get_str(l, t, "id", false, &out->id, where);
    if (!rc)
        rc = get_str(l, t, "clock", false, &out->clock, where);
    if (!rc)
        rc = get_str(l, t, "notify", false, &out->notify, where);
    const struct st_json *armed = st_json_get(t, "armed");
    out->armed_unknown = armed && armed->type == ST_JSON_NULL; /* strays inspect */
    if (!rc && !out->armed_unknown)
        rc = get_bool(l, t, "armed", &out->armed, where);
    if (!rc)
        rc = get_int(l, t, "interval_ns", 0, INT64_MAX, &interval, where);
    const struct st_json *f = st_json_get(t, "fd");
    if (!rc && f && f->type != ST_JSON_NULL)
        rc = get_int(l, t, "fd", 0, INT32_MAX, &fd, where);
    if (!rc)
        rc = get_int(l, t, "tid", 0, INT32_MAX, &tid, where);
    if (!rc)
        rc = get_index(l, t, "created_by", &out->created_by, where);
    if (!rc)
        rc = get_int(l, t, "created_ms", 0, INT64_MAX, &created, where);
    if (!rc)
        rc = get_str(l, t, "scope", true, &out->scope, where);
    out->interval_ns = (uint64_t)interval;
    out->fd = (int)fd;
    out->tid = (int)tid;
    out->created_ms = (uint64_t)created;
    return rc;
}

static int load_timers(struct loader *l, const struct st_json *root)
{
    struct st_report *r = l->r;
    const struct st_json *list = get_list(l, root, "timers", sizeof *r->timers, (void **)&r->timers);
    if (!list)
        return -EINVAL;
    for (size_t i = 0; i < list->length; i++) {
        char where[32];
        snprintf(where, sizeof where, "timers[%zu]", i);
        int rc = load_timer(l, list->items[i], &r->timers[r->ntimers++], where);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_stream(struct loader *l, const struct st_json *f, struct st_report_fd *out,
                       const char *where)
{
    const struct st_json *s = st_json_get(f, "stream");
    if (!s || s->type == ST_JSON_NULL)
        return 0;
    if (s->type != ST_JSON_OBJECT)
        return fail(l, "%s: \"stream\" must be null or an object", where);
    int rc = get_str(l, s, "type", false, &out->stream, where);
    if (!rc)
        rc = get_hex(l, s, "address", &out->stream_address, where);
    return rc;
}

static int load_fd(struct loader *l, const struct st_json *f, struct st_report_fd *out,
                   const char *where)
{
    if (f->type != ST_JSON_OBJECT)
        return fail(l, "%s: must be an object", where);
    int64_t fd = 0, tid = 0, created = 0;
    int rc = get_int(l, f, "fd", 0, INT32_MAX, &fd, where);
    if (!rc)
        rc = get_str(l, f, "kind", false, &out->kind, where);
    if (!rc)
        rc = get_str(l, f, "target", true, &out->target, where);
    if (!rc)
        rc = load_stream(l, f, out, where);
    if (!rc)
        rc = get_int(l, f, "tid", 0, INT32_MAX, &tid, where);
    if (!rc)
        rc = get_index(l, f, "created_by", &out->created_by, where);
    if (!rc)
        rc = get_int(l, f, "created_ms", 0, INT64_MAX, &created, where);
    if (!rc)
        rc = get_str(l, f, "scope", true, &out->scope, where);
    out->fd = (int)fd;
    out->tid = (int)tid;
    out->created_ms = (uint64_t)created;
    return rc;
}

static int load_fds(struct loader *l, const struct st_json *root)
{
    struct st_report *r = l->r;
    const struct st_json *list = get_list(l, root, "fds", sizeof *r->fds, (void **)&r->fds);
    if (!list)
        return -EINVAL;
    for (size_t i = 0; i < list->length; i++) {
        char where[32];
        snprintf(where, sizeof where, "fds[%zu]", i);
        int rc = load_fd(l, list->items[i], &r->fds[r->nfds++], where);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_header(struct loader *l, const struct st_json *root)
{
    const char *tool = ""; /* set by get_str when it returns 0 */
    int64_t pid = 0, status = -1, time_ms = 0, uptime = 0;
    if (get_str(l, root, "tool", false, &tool, "report") || strcmp(tool, "strays") != 0)
        return fail(l, "not a strays report (\"tool\" is not \"strays\")");
    int rc = get_str(l, root, "version", false, &l->r->version, "report");
    if (!rc)
        rc = get_int(l, root, "pid", 0, INT32_MAX, &pid, "report");
    if (!rc)
        rc = get_str(l, root, "exe", true, &l->r->exe, "report");
    if (!rc)
        rc = get_str(l, root, "command", true, &l->r->command, "report");
    if (!rc)
        rc = get_str(l, root, "reason", false, &l->r->reason, "report");
    if (!rc)
        rc = get_str(l, root, "scope", true, &l->r->scope, "report");
    const struct st_json *st = st_json_get(root, "exit_status");
    if (!rc && st && st->type != ST_JSON_NULL)
        rc = get_int(l, root, "exit_status", 0, 255, &status, "report");
    if (!rc)
        rc = get_int(l, root, "time", 0, INT64_MAX, &time_ms, "report");
    if (!rc)
        rc = get_int(l, root, "uptime_ms", 0, INT64_MAX, &uptime, "report");
    l->r->pid = (int)pid;
    l->r->exit_status = (int)status;
    l->r->time_ms = (uint64_t)time_ms;
    l->r->uptime_ms = (uint64_t)uptime;
    return rc;
}

int st_report_from_json(struct st_report *r, const struct st_json *root, char *err,
                        size_t errlen)
{
    struct loader l = {r, err, errlen};
    memset(r, 0, sizeof *r);
    if (!root || root->type != ST_JSON_OBJECT)
        return fail(&l, "a report must be a JSON object");
    int rc = load_header(&l, root);
    /* Stacks first: threads refer to them by index. */
    if (!rc)
        rc = load_stacks(&l, root);
    if (!rc)
        rc = load_threads(&l, root);
    if (!rc)
        rc = load_untracked(&l, root);
    if (!rc)
        rc = load_timers(&l, root);
    if (!rc)
        rc = load_fds(&l, root);
    if (!rc)
        rc = load_deadlocks(&l, root);
    if (!rc)
        rc = load_growth(&l, root);
    if (!rc)
        rc = load_crash(&l, root);
    if (!rc)
        rc = load_suppressed(&l, root);
    if (!rc)
        rc = load_tracking(&l, root);
    if (!rc)
        rc = load_limit(&l, root);
    if (rc == -ENOMEM)
        fail(&l, "out of memory");
    return rc;
}

static int read_all(const char *path, char **text, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    ssize_t n = 0;
    while (buf && (n = read(fd, buf + used, cap - used)) > 0) {
        used += (size_t)n;
        if (used == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    int saved = n < 0 ? errno : 0;
    close(fd);
    if (!buf)
        return -ENOMEM;
    if (saved) {
        free(buf);
        return -saved;
    }
    *text = buf;
    *len = used;
    return 0;
}

int st_report_load(struct st_report *r, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    memset(r, 0, sizeof *r);
    int rc = read_all(path, &text, &len);
    if (rc) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        return rc;
    }
    struct st_json_error jerr;
    struct st_json *root = st_json_parse(text, len, &jerr);
    free(text);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: not a valid JSON report: %s", path, jerr.line,
                 jerr.column, jerr.message);
        return -EINVAL;
    }
    char why[400];
    rc = st_report_from_json(r, root, why, sizeof why);
    st_json_free(root);
    if (rc) {
        snprintf(err, errlen, "%s: not a valid strays report: %s", path, why);
        st_report_free(r);
    }
    return rc;
}
