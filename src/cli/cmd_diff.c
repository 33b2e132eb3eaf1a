/* `strays diff`: compares two reports of one program (two live dumps, say)
 * by creation site and prints what grew and what shrank, largest change
 * first. A site is the content of a creation stack, never its index: each
 * report numbers its stacks afresh, and addresses move with ASLR. */
#include "cli.h"

#include "report/report_parse.h"
#include "base/sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char diff_usage[] =
    "usage: strays diff [--json] OLD.json NEW.json\n"
    "Compares two reports of the same program (two live dumps a minute apart,\n"
    "say) by creation site: threads, timers and fds counted per creation stack,\n"
    "matched by frame content (function, file and line; module and offset for a\n"
    "frame without a file), so the reports may come from different runs.\n"
    "Prints the sites that changed, largest change first, then a summary line;\n"
    "--json prints {\"tool\":\"strays\",\"diff\":{\"old\",\"new\",\"seconds\",\"sites\"}}\n"
    "with every site, unchanged ones included.\n"
    "Exit status: 0 when no site grew, 1 when some site grew (as diff(1) says\n"
    "the files differ), 2 for a bad argument, a report that cannot be read or\n"
    "output that cannot be written.\n";

enum { KIND_THREADS, KIND_TIMERS, KIND_FDS, KIND_COUNT };
static const char *const kind_plural[KIND_COUNT] = {"threads", "timers", "fds"};
static const char *const kind_singular[KIND_COUNT] = {"thread", "timer", "fd"};

/* Objects of one kind created at one site, in the old and the new report. */
struct site {
    int kind;
    const struct st_report *r; /* where its frames are read: the new report if it is there */
    int stack;                 /* index into r->stacks, or -1 */
    uint32_t old, now;
    int via; /* frame that tells it from another site with the same label, or -1 */
};

struct sites {
    struct site *all;
    uint32_t n, cap;
};

static const struct st_report_stack *stack_of(const struct site *s)
{
    if (s->stack < 0 || (uint32_t)s->stack >= s->r->nstacks)
        return NULL;
    return &s->r->stacks[s->stack];
}

static uint32_t depth_of(const struct site *s)
{
    const struct st_report_stack *st = stack_of(s);
    return st ? st->depth : 0;
}

static int cmp_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_u64(uint64_t a, uint64_t b) { return (a > b) - (a < b); }

/* Frames are the same when function, file and line are (a frame with a
 * file), else when module and offset are; the address only when there is
 * no module at all. */
static int cmp_frame(const struct st_frame *a, const struct st_frame *b)
{
    if (a->file || b->file) {
        int c = cmp_str(a->file, b->file);
        if (!c)
            c = cmp_str(a->function, b->function);
        return c ? c : (a->line > b->line) - (a->line < b->line);
    }
    if (a->module || b->module) {
        int c = cmp_str(a->module, b->module);
        return c ? c : cmp_u64(a->offset, b->offset);
    }
    return cmp_u64(a->address, b->address);
}

/* Index of the first frame where the two sites differ. */
static uint32_t first_difference(const struct site *a, const struct site *b)
{
    uint32_t da = depth_of(a), db = depth_of(b), i = 0;
    while (i < da && i < db && !cmp_frame(&stack_of(a)->frames[i], &stack_of(b)->frames[i]))
        i++;
    return i;
}

static int cmp_site_key(const void *x, const void *y, void *ctx)
{
    (void)ctx;
    const struct site *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    uint32_t i = first_difference(a, b), da = depth_of(a), db = depth_of(b);
    if (i < da && i < db)
        return cmp_frame(&stack_of(a)->frames[i], &stack_of(b)->frames[i]);
    return (da > db) - (da < db);
}

static int add_site(struct sites *s, int kind, const struct st_report *r, int stack, bool is_new,
                    uint32_t count)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? 2 * s->cap : 64;
        struct site *grown = realloc(s->all, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->all = grown;
        s->cap = cap;
    }
    s->all[s->n++] = (struct site){kind, r, stack, is_new ? 0 : count, is_new ? count : 0, -1};
    return 0;
}

/* Adds one site per (kind, stack index) of r with its count. */
static int count_report(struct sites *s, const struct st_report *r, bool is_new)
{
    uint32_t n = r->nstacks + 1; /* slot 0: objects without a stack */
    uint32_t *counts = calloc((size_t)n * KIND_COUNT, sizeof *counts);
    if (!counts)
        return -1;
    /* A thread without a creation stack (strays inspect) is counted where
     * it stands: the only stack it has. */
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const struct st_report_thread *t = &r->threads[i];
        counts[KIND_THREADS * n + (uint32_t)((t->created_by >= 0 ? t->created_by : t->stack) + 1)]++;
    }
    for (uint32_t i = 0; i < r->ntimers; i++)
        counts[KIND_TIMERS * n + (uint32_t)(r->timers[i].created_by + 1)]++;
    for (uint32_t i = 0; i < r->nfds; i++)
        counts[KIND_FDS * n + (uint32_t)(r->fds[i].created_by + 1)]++;
    int rc = 0;
    for (int kind = 0; kind < KIND_COUNT && !rc; kind++)
        for (uint32_t i = 0; i < n && !rc; i++)
            if (counts[kind * n + i])
                rc = add_site(s, kind, r, (int)i - 1, is_new, counts[kind * n + i]);
    free(counts);
    return rc;
}

/* Sorts by site and merges the entries of equal sites (the same site in
 * both reports, or two stacks of one report that differ only in addresses). */
static void merge_sites(struct sites *s)
{
    st_sort(s->all, s->n, sizeof *s->all, cmp_site_key, NULL);
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        struct site *cur = &s->all[i];
        if (m && !cmp_site_key(&s->all[m - 1], cur, NULL)) {
            struct site *kept = &s->all[m - 1];
            if (cur->now && !kept->now) { /* read frames from the new report */
                kept->r = cur->r;
                kept->stack = cur->stack;
            }
            kept->old += cur->old;
            kept->now += cur->now;
            continue;
        }
        s->all[m++] = *cur;
    }
    s->n = m;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "handle_request (server.c:88)", "foo_open (libfoo.so+0x1234)". */
static void write_frame_label(struct st_out *o, const struct st_frame *f)
{
    if (f->function)
        st_out_str(o, f->function);
    if (f->file || f->module)
        st_out_str(o, f->function ? " (" : "");
    if (f->file) {
        st_out_str(o, base_name(f->file));
        st_out_char(o, ':');
        st_out_int(o, f->line);
    } else if (f->module) {
        st_out_str(o, base_name(f->module));
        st_out_char(o, '+');
        st_out_hex(o, f->offset);
    } else if (!f->function) {
        st_out_hex(o, f->address);
    }
    if (f->function && (f->file || f->module))
        st_out_char(o, ')');
}

static void write_label(struct st_out *o, const struct site *s)
{
    if (!depth_of(s)) {
        st_out_str(o, "an unknown site (no stack)");
        return;
    }
    write_frame_label(o, &stack_of(s)->frames[0]);
    if (s->via >= 0) {
        st_out_str(o, " via ");
        write_frame_label(o, &stack_of(s)->frames[s->via]);
    }
}

/* Sites of one kind whose innermost frames read the same get the frame
 * that sets each apart: the deepest first difference with any of them. */
static void disambiguate(struct sites *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        struct site *a = &s->all[i];
        uint32_t deepest = 0;
        for (uint32_t j = 0; j < s->n; j++) {
            const struct site *b = &s->all[j];
            if (j == i || b->kind != a->kind || !depth_of(a) || !depth_of(b) ||
                cmp_frame(&stack_of(a)->frames[0], &stack_of(b)->frames[0]))
                continue;
            uint32_t d = first_difference(a, b);
            if (d > deepest)
                deepest = d;
        }
        if (deepest > 0 && deepest < depth_of(a))
            a->via = (int)deepest;
    }
}

static int64_t delta_of(const struct site *s) { return (int64_t)s->now - (int64_t)s->old; }

/* Largest change first; growth before shrinkage; then threads, timers, fds. */
static int cmp_change(const void *x, const void *y, void *ctx)
{
    (void)ctx;
    const struct site *a = x, *b = y;
    int64_t da = delta_of(a), db = delta_of(b);
    int64_t ma = da < 0 ? -da : da, mb = db < 0 ? -db : db;
    if (ma != mb)
        return ma > mb ? -1 : 1;
    if ((da > 0) != (db > 0))
        return da > 0 ? -1 : 1;
    return cmp_site_key(a, b, NULL);
}

/* "60s", "1.5s", "300ms", "5m00s": how far apart the reports are. */
static void write_interval(struct st_out *o, uint64_t ms)
{
    if (ms > 0 && ms < 1000) {
        st_out_uint(o, ms);
        st_out_str(o, "ms");
    } else if (ms >= 120000) {
        st_out_duration(o, ms * 1000000u);
    } else if (ms % 1000 == 0) {
        st_out_uint(o, ms / 1000);
        st_out_char(o, 's');
    } else {
        st_out_seconds(o, ms * 1000000u);
        st_out_char(o, 's');
    }
}

struct pair {
    const struct st_report *old, *now;
};

static uint64_t apart_ms(const struct pair *p)
{
    return p->now->time_ms >= p->old->time_ms ? p->now->time_ms - p->old->time_ms
                                               : p->old->time_ms - p->now->time_ms;
}

static void write_change(struct st_out *o, const struct pair *p, const struct site *s)
{
    int64_t d = delta_of(s);
    st_out_char(o, d > 0 ? '+' : '-');
    st_out_uint(o, (uint64_t)(d < 0 ? -d : d));
    st_out_char(o, ' ');
    st_out_str(o, (d == 1 || d == -1 ? kind_singular : kind_plural)[s->kind]);
    st_out_str(o, " at ");
    write_label(o, s);
    if (p->now->time_ms >= p->old->time_ms)
        st_out_str(o, " since the report ");
    else
        st_out_str(o, " compared with the report ");
    write_interval(o, apart_ms(p));
    st_out_str(o, p->now->time_ms >= p->old->time_ms ? " before (now " : " after (now ");
    st_out_uint(o, s->now);
    st_out_str(o, ")\n");
}

/* "4 sites grew, 1 shrank, 2 unchanged": the parts that are not zero. */
static void write_tally(struct st_out *o, const struct sites *s)
{
    uint32_t n[3] = {0, 0, 0};
    static const char *const verbs[3] = {" grew", " shrank", " unchanged"};
    for (uint32_t i = 0; i < s->n; i++)
        n[delta_of(&s->all[i]) > 0 ? 0 : delta_of(&s->all[i]) < 0 ? 1 : 2]++;
    bool first = true;
    for (int i = 0; i < 3; i++) {
        if (!n[i])
            continue;
        st_out_str(o, first ? "" : ", ");
        st_out_uint(o, n[i]);
        if (first)
            st_out_str(o, n[i] == 1 ? " site" : " sites");
        st_out_str(o, verbs[i]);
        first = false;
    }
    if (first)
        st_out_str(o, "no sites");
}

static void write_summary(struct st_out *o, const struct pair *p, const struct sites *s)
{
    uint32_t was[KIND_COUNT] = {p->old->nthreads, p->old->ntimers, p->old->nfds};
    uint32_t now[KIND_COUNT] = {p->now->nthreads, p->now->ntimers, p->now->nfds};
    st_out_str(o, "strays: ");
    write_tally(o, s);
    st_out_str(o, " in ");
    write_interval(o, apart_ms(p));
    for (int k = 0; k < KIND_COUNT; k++) {
        st_out_str(o, k ? ", " : ": ");
        st_out_str(o, kind_plural[k]);
        st_out_char(o, ' ');
        st_out_uint(o, was[k]);
        if (now[k] != was[k]) {
            st_out_str(o, " -> ");
            st_out_uint(o, now[k]);
        }
    }
    st_out_str(o, p->old->pid == p->now->pid ? " (pid " : " (pids ");
    st_out_int(o, p->old->pid);
    if (p->old->pid != p->now->pid) {
        st_out_str(o, " and ");
        st_out_int(o, p->now->pid);
    }
    st_out_str(o, ")\n");
}

static void write_text(struct st_out *o, const struct pair *p, const struct sites *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (delta_of(&s->all[i]))
            write_change(o, p, &s->all[i]);
    write_summary(o, p, s);
}

/* ---------------------------------------------------------------- JSON */

static void json_key(struct st_out *o, const char *key)
{
    st_out_char(o, '"');
    st_out_str(o, key);
    st_out_str(o, "\":");
}

static void json_hex(struct st_out *o, const char *key, uint64_t v)
{
    json_key(o, key);
    st_out_char(o, '"');
    st_out_hex(o, v);
    st_out_char(o, '"');
}

static void json_str(struct st_out *o, const char *key, const char *v)
{
    json_key(o, key);
    if (v)
        st_out_json_str(o, v);
    else
        st_out_str(o, "null");
}

/* A frame exactly as reports write it (docs/report.schema.json). */
static void json_frame(struct st_out *o, const struct st_frame *f)
{
    st_out_char(o, '{');
    json_hex(o, "address", f->address);
    if (f->module) {
        st_out_char(o, ',');
        json_str(o, "module", f->module);
        st_out_char(o, ',');
        json_hex(o, "offset", f->offset);
    }
    if (f->build_id) {
        st_out_char(o, ',');
        json_str(o, "build_id", f->build_id);
    }
    if (f->function) {
        st_out_char(o, ',');
        json_str(o, "function", f->function);
    }
    if (f->file) {
        st_out_char(o, ',');
        json_str(o, "file", f->file);
        st_out_str(o, ",\"line\":");
        st_out_int(o, f->line);
    }
    st_out_char(o, '}');
}

static void json_report_header(struct st_out *o, const char *key, const struct st_report *r)
{
    json_key(o, key);
    st_out_str(o, "{\"pid\":");
    st_out_int(o, r->pid);
    st_out_char(o, ',');
    json_str(o, "exe", r->exe);
    st_out_str(o, ",\"time\":");
    st_out_uint(o, r->time_ms);
    st_out_char(o, ',');
    json_str(o, "reason", r->reason);
    st_out_char(o, '}');
}

static void json_site(struct st_out *o, const struct site *s)
{
    st_out_str(o, "{\"kind\":\"");
    st_out_str(o, kind_plural[s->kind]);
    st_out_str(o, "\",\"old\":");
    st_out_uint(o, s->old);
    st_out_str(o, ",\"new\":");
    st_out_uint(o, s->now);
    st_out_str(o, ",\"delta\":");
    st_out_int(o, delta_of(s));
    st_out_str(o, ",\"stack\":[");
    for (uint32_t i = 0; i < depth_of(s); i++) {
        if (i)
            st_out_char(o, ',');
        json_frame(o, &stack_of(s)->frames[i]);
    }
    st_out_str(o, "]}");
}

static void write_json(struct st_out *o, const struct pair *p, const struct sites *s)
{
    st_out_str(o, "{\"tool\":\"strays\",\"diff\":{");
    json_report_header(o, "old", p->old);
    st_out_str(o, ",\n");
    json_report_header(o, "new", p->now);
    st_out_str(o, ",\n\"seconds\":");
    if (p->now->time_ms < p->old->time_ms)
        st_out_char(o, '-');
    st_out_seconds(o, apart_ms(p) * 1000000u);
    st_out_str(o, ",\n\"sites\":[");
    for (uint32_t i = 0; i < s->n; i++) {
        st_out_str(o, i ? ",\n " : "\n ");
        json_site(o, &s->all[i]);
    }
    st_out_str(o, "]}}\n");
}

/* ------------------------------------------------------------- command */

static int parse_args(int argc, char **argv, bool *json, const char **files)
{
    int nfiles = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        if (options && !strcmp(argv[i], "--help"))
            return 1;
        if (options && !strcmp(argv[i], "--json")) {
            *json = true;
        } else if (options && !strcmp(argv[i], "--")) {
            options = false;
        } else if (options && argv[i][0] == '-' && argv[i][1]) {
            cli_error("diff: unknown argument '%s'", argv[i]);
            return -1;
        } else if (nfiles < 2) {
            files[nfiles++] = argv[i];
        } else {
            cli_error("diff: too many files ('%s'); diff compares two reports", argv[i]);
            return -1;
        }
    }
    if (nfiles < 2) {
        fputs(diff_usage, stderr);
        return -1;
    }
    return 0;
}

/* Notes what may make the comparison misleading; it is made anyway. */
static void warn_mismatch(const struct pair *p, const char *const *files)
{
    if (p->old->exe && p->now->exe && strcmp(p->old->exe, p->now->exe))
        cli_error("diff: note: the reports are of different programs (%s and %s)", p->old->exe,
                  p->now->exe);
    if (p->now->time_ms < p->old->time_ms)
        cli_error("diff: note: %s was written before %s; showing the changes from the first "
                  "file to the second",
                  files[1], files[0]);
}

static int compare(const struct pair *p, bool json)
{
    struct sites s = {0};
    if (count_report(&s, p->old, false) || count_report(&s, p->now, true)) {
        free(s.all);
        cli_error("diff: out of memory");
        return CLI_USAGE;
    }
    merge_sites(&s);
    disambiguate(&s);
    st_sort(s.all, s.n, sizeof *s.all, cmp_change, NULL);
    struct st_out out;
    st_out_init(&out, 1);
    if (json)
        write_json(&out, p, &s);
    else
        write_text(&out, p, &s);
    st_out_flush(&out);
    bool grew = false;
    for (uint32_t i = 0; i < s.n; i++)
        grew |= delta_of(&s.all[i]) > 0;
    free(s.all);
    if (out.error) {
        cli_error("diff: cannot write the output");
        return CLI_USAGE; /* 1 says a site grew */
    }
    return grew ? 1 : CLI_OK;
}

int cli_diff(int argc, char **argv)
{
    bool json = false;
    const char *files[2];
    int rc = parse_args(argc, argv, &json, files);
    if (rc > 0) {
        fputs(diff_usage, stdout);
        return CLI_OK;
    }
    if (rc < 0)
        return CLI_USAGE;
    struct st_report reports[2];
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        char err[600];
        if (st_report_load(&reports[i], files[i], err, sizeof err) != 0) {
            cli_error("diff: %s", err);
            bad++;
        }
    }
    if (!bad) {
        struct pair p = {&reports[0], &reports[1]};
        warn_mismatch(&p, files);
        rc = compare(&p, json);
    }
    for (int i = 0; i < 2; i++)
        st_report_free(&reports[i]);
    return bad ? CLI_USAGE : rc;
}
