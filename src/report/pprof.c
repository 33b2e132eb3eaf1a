/* pprof encoding; see pprof.h. The protobuf wire format is small enough to
 * write by hand: varints, and length-prefixed strings and nested messages.
 * The profile is first collected (strings, mappings, functions, locations
 * and samples, each deduplicated), then written in one pass. */
#include "report/pprof.h"

#include "base/gzip.h"
#include "base/sort.h"
#include "base/st.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the wire format ---- */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };
/* Room a nested message's length gets until the message is complete. */
#define LEN_ROOM 10

struct pb {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static bool pb_room(struct pb *b, size_t n)
{
    if (b->failed) return false;
    if (b->len + n <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *grown = realloc(b->p, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->p = grown;
    b->cap = cap;
    return true;
}

static size_t varint_to(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        out[n++] = (uint8_t)(v | 0x80);
    out[n++] = (uint8_t)v;
    return n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
    if (pb_room(b, LEN_ROOM)) b->len += varint_to(b->p + b->len, v);
}

static void pb_tag(struct pb *b, unsigned field, unsigned wire)
{
    pb_varint(b, (uint64_t)field << 3 | wire);
}

/* A scalar field; zero is the default and is left out, as proto3 does. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
    if (!v) return;
    pb_tag(b, field, WIRE_VARINT);
    pb_varint(b, v);
}

static void pb_string(struct pb *b, unsigned field, const char *s)
{
    size_t n = strlen(s);
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, n);
    if (pb_room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

/* A nested message (or a packed repeated field): the length is written by
 * pb_end, once known, and the room left for it closed up. */
static size_t pb_begin(struct pb *b, unsigned field)
{
    pb_tag(b, field, WIRE_LEN);
    size_t at = b->len;
    if (pb_room(b, LEN_ROOM)) b->len += LEN_ROOM;
    return at;
}

static void pb_end(struct pb *b, size_t at)
{
    if (b->failed) return;
    size_t body = b->len - at - LEN_ROOM;
    size_t n = varint_to(b->p + at, body);
    memmove(b->p + at + n, b->p + at + LEN_ROOM, body);
    b->len = at + n + body;
}

/* ---- tables: ids for strings, mappings, functions and locations ---- */

/* Open addressing from a non-zero 64-bit key to a non-zero id. */
struct idmap {
    uint64_t *keys;
    uint32_t *ids;
    size_t cap, n;
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    return k ^ (k >> 33);
}

static int idmap_grow(struct idmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 256;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *ids = calloc(cap, sizeof *ids);
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->ids[i]) continue;
        size_t j = mix(m->keys[i]) & (cap - 1);
        while (ids[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        ids[j] = m->ids[i];
    }
    free(m->keys);
    free(m->ids);
    m->keys = keys;
    m->ids = ids;
    m->cap = cap;
    return 0;
}

/* The slot of key: its id, or 0 where it would go. NULL when out of memory. */
static uint32_t *idmap_slot(struct idmap *m, uint64_t key)
{
    if ((m->n + 1) * 2 > m->cap && idmap_grow(m) != 0) return NULL;
    size_t j = mix(key) & (m->cap - 1);
    while (m->ids[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = key;
    return &m->ids[j];
}

static void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->ids);
}

struct mapping {
    const struct st_frame *first; /* module, build-id, load base */
    uint64_t start, limit;
    bool functions, filenames, lines;
};

struct location {
    uint32_t mapping;  /* id, 0 for none */
    uint64_t address;  /* of the call instruction */
    uint32_t function; /* id, 0 for none */
    int line;
};

struct function {
    uint32_t name, file; /* string ids */
};

#define MAX_LABELS 8

struct sample {
    uint32_t column; /* which value counts it: threads, timers, fds */
    int stack;       /* index into r->stacks, or -1 */
    uint32_t nlabels;
    uint32_t labels[MAX_LABELS][2]; /* key and value string ids */
    uint64_t count;
};

struct profile {
    const struct st_report *r;
    enum st_pprof_stacks stacks;
    bool failed;
    const char **strings;
    uint32_t nstrings, strings_cap;
    struct idmap string_ids, function_ids, location_ids;
    struct mapping *mappings;
    uint32_t nmappings, mappings_cap;
    struct function *functions;
    uint32_t nfunctions, functions_cap;
    struct location *locations;
    uint32_t nlocations, locations_cap;
    uint32_t **stack_locations; /* per report stack: location ids */
    uint32_t no_stack;          /* location of "(no stack)", 0 until needed */
    struct sample *samples;
    uint32_t nsamples, samples_cap;
    struct st_arena scratch; /* strings made here ("0x1234") */
};

/* Makes room for one more element of an array of *cap. */
static bool grow(struct profile *p, void **array, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap) return true;
    uint32_t more = *cap ? 2 * *cap : 64;
    void *grown = realloc(*array, (size_t)more * size);
    if (!grown) {
        p->failed = true;
        return false;
    }
    *array = grown;
    *cap = more;
    return true;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h | 1; /* never 0, the empty slot */
}

/* The string table's id of s (0 is ""). Strings must outlive p. */
static uint32_t str_id(struct profile *p, const char *s)
{
    if (!s || !*s) return 0;
    /* Keys are hashes; equal hashes of different strings take the next
     * key, so a lookup walks that chain comparing the strings. */
    for (uint64_t key = fnv(s);; key = key * 31 + 7) {
        uint32_t *slot = idmap_slot(&p->string_ids, key);
        if (!slot) {
            p->failed = true;
            return 0;
        }
        if (*slot && !strcmp(p->strings[*slot], s)) return *slot;
        if (*slot) continue;
        if (!grow(p, (void **)&p->strings, p->nstrings, &p->strings_cap, sizeof *p->strings))
            return 0;
        p->strings[p->nstrings] = s;
        p->string_ids.n++;
        return *slot = p->nstrings++;
    }
}

static uint32_t function_id(struct profile *p, const char *name, const char *file)
{
    uint32_t n = str_id(p, name), f = str_id(p, file);
    uint32_t *slot = idmap_slot(&p->function_ids, (uint64_t)n << 32 | f);
    if (!slot || *slot) return slot ? *slot : 0;
    if (!grow(p, (void **)&p->functions, p->nfunctions, &p->functions_cap, sizeof *p->functions))
        return 0;
    p->functions[p->nfunctions++] = (struct function){n, f};
    p->function_ids.n++;
    return *slot = p->nfunctions;
}

/* Frames of one module loaded at one base share a mapping. */
static uint32_t mapping_id(struct profile *p, const struct st_frame *f)
{
    if (!f->module) return 0;
    uint64_t base = f->address - f->offset;
    for (uint32_t i = 0; i < p->nmappings; i++) {
        struct mapping *m = &p->mappings[i];
        if (m->start == base && !strcmp(m->first->module, f->module)) {
            if (f->address >= m->limit) m->limit = f->address + 1;
            m->functions &= f->function != NULL;
            m->filenames &= f->file != NULL;
            m->lines &= f->line > 0;
            return i + 1;
        }
    }
    if (!grow(p, (void **)&p->mappings, p->nmappings, &p->mappings_cap, sizeof *p->mappings))
        return 0;
    p->mappings[p->nmappings++] = (struct mapping){
        f, base, f->address + 1, f->function != NULL, f->file != NULL, f->line > 0};
    return p->nmappings;
}

static uint32_t add_location(struct profile *p, struct location l)
{
    if (!grow(p, (void **)&p->locations, p->nlocations, &p->locations_cap, sizeof *p->locations))
        return 0;
    p->locations[p->nlocations++] = l;
    return p->nlocations;
}

/* One location per (mapping, address). The address is the call's, one
 * byte before the return address, as pprof's format asks of non-leaf
 * frames: backends that symbolize by build-id then find the same line the
 * report shows. */
static uint32_t location_id(struct profile *p, const struct st_frame *f)
{
    uint32_t mapping = mapping_id(p, f);
    uint64_t address = f->address ? f->address - 1 : 0;
    /* As for strings: a key taken by another location leads on to the next. */
    for (uint64_t key = mix(address) ^ mapping;; key = key * 31 + 7) {
        uint32_t *slot = idmap_slot(&p->location_ids, key);
        if (!slot) {
            p->failed = true;
            return 0;
        }
        const struct location *l = *slot ? &p->locations[*slot - 1] : NULL;
        if (l && l->mapping == mapping && l->address == address) return *slot;
        if (l) continue;
        uint32_t function = f->function ? function_id(p, f->function, f->file) : 0;
        uint32_t id = add_location(p, (struct location){mapping, address, function, f->line});
        p->location_ids.n += id != 0;
        return *slot = id;
    }
}

/* Locations for the stacks samples stand on (a report's table may hold
 * more: the stacks of suppressed objects). */
static int map_stacks(struct profile *p)
{
    const struct st_report *r = p->r;
    p->stack_locations = calloc((size_t)r->nstacks + 1, sizeof *p->stack_locations);
    if (!p->stack_locations) return -ENOMEM;
    for (uint32_t i = 0; i < p->nsamples; i++) {
        int stack = p->samples[i].stack;
        if (stack < 0 || p->stack_locations[stack]) continue;
        const struct st_report_stack *s = &r->stacks[stack];
        uint32_t *ids = calloc((size_t)s->depth + 1, sizeof *ids);
        if (!ids) return -ENOMEM;
        p->stack_locations[stack] = ids;
        for (uint32_t j = 0; j < s->depth; j++)
            ids[j] = location_id(p, &s->frames[j]);
    }
    return p->failed ? -ENOMEM : 0;
}

/* ---- samples ---- */

enum { COLUMN_THREADS, COLUMN_TIMERS, COLUMN_FDS };
static const char *const columns[] = {"threads", "timers", "fds"};

static struct sample *new_sample(struct profile *p, uint32_t column, int stack)
{
    if (!grow(p, (void **)&p->samples, p->nsamples, &p->samples_cap, sizeof *p->samples))
        return NULL;
    struct sample *s = &p->samples[p->nsamples++];
    memset(s, 0, sizeof *s);
    s->column = column;
    s->stack = stack >= 0 && (uint32_t)stack < p->r->nstacks ? stack : -1;
    s->count = 1;
    return s;
}

static void label(struct profile *p, struct sample *s, const char *key, const char *value)
{
    if (!value || !*value || s->nlabels == MAX_LABELS) return;
    s->labels[s->nlabels][0] = str_id(p, key);
    s->labels[s->nlabels][1] = str_id(p, value);
    s->nlabels++;
}

static const char *hex(struct profile *p, uint64_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    char *s = st_arena_alloc(&p->scratch, (size_t)n + 3);
    if (!s) return NULL;
    s[0] = '0';
    s[1] = 'x';
    for (int i = 0; i < n; i++)
        s[2 + i] = buf[n - 1 - i];
    return s;
}

/* What a blocked thread waits on: the fd's target, else the object. */
static const char *blocked_target(struct profile *p, const struct st_report_blocked *b)
{
    if (b->target) return b->target;
    return b->object ? hex(p, b->object) : NULL;
}

static void add_thread(struct profile *p, const struct st_report_thread *t)
{
    bool current = p->stacks == ST_PPROF_CURRENT || t->created_by < 0;
    struct sample *s = new_sample(p, COLUMN_THREADS, current ? t->stack : t->created_by);
    if (!s) return;
    label(p, s, "kind", "thread");
    label(p, s, "state", st_report_thread_state_name(t->state));
    label(p, s, "thread_name", t->name);
    if (t->blocked) {
        label(p, s, "call", t->blocked->call);
        label(p, s, "target", blocked_target(p, t->blocked));
        label(p, s, "stuck", t->blocked->stuck ? "true" : NULL);
    }
    label(p, s, "scope", t->scope);
    if (p->stacks == ST_PPROF_CREATED && current) label(p, s, "stack", "current");
}

static void add_timer(struct profile *p, const struct st_report_timer *t)
{
    struct sample *s = new_sample(p, COLUMN_TIMERS, t->created_by);
    if (!s) return;
    label(p, s, "kind", t->fd >= 0 ? "timerfd" : "timer");
    label(p, s, "state", t->armed ? "armed" : "disarmed");
    label(p, s, "clock", t->clock);
    label(p, s, "notify", t->notify);
    label(p, s, "scope", t->scope);
}

static void add_fd(struct profile *p, const struct st_report_fd *f)
{
    struct sample *s = new_sample(p, COLUMN_FDS, f->created_by);
    if (!s) return;
    label(p, s, "kind", f->kind);
    label(p, s, "target", f->target);
    label(p, s, "stream", f->stream);
    label(p, s, "scope", f->scope);
}

static int cmp_sample(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const struct sample *x = a, *y = b;
    if (x->column != y->column) return x->column < y->column ? -1 : 1;
    if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
    if (x->nlabels != y->nlabels) return x->nlabels < y->nlabels ? -1 : 1;
    return memcmp(x->labels, y->labels, x->nlabels * sizeof x->labels[0]);
}

/* Objects alike in stack and labels become one sample with their count,
 * as Go's goroutine profile counts goroutines per stack. */
static void merge_samples(struct profile *p)
{
    st_sort(p->samples, p->nsamples, sizeof *p->samples, cmp_sample, NULL);
    uint32_t m = 0;
    for (uint32_t i = 0; i < p->nsamples; i++) {
        if (m && !cmp_sample(&p->samples[m - 1], &p->samples[i], NULL))
            p->samples[m - 1].count += p->samples[i].count;
        else
            p->samples[m++] = p->samples[i];
    }
    p->nsamples = m;
}

static void collect(struct profile *p)
{
    const struct st_report *r = p->r;
    /* The string table starts with "", as the format requires. */
    if (!grow(p, (void **)&p->strings, 0, &p->strings_cap, sizeof *p->strings)) return;
    p->strings[p->nstrings++] = "";
    for (uint32_t i = 0; i < r->nthreads; i++)
        add_thread(p, &r->threads[i]);
    for (uint32_t i = 0; p->stacks == ST_PPROF_CREATED && i < r->ntimers; i++)
        add_timer(p, &r->timers[i]);
    for (uint32_t i = 0; p->stacks == ST_PPROF_CREATED && i < r->nfds; i++)
        add_fd(p, &r->fds[i]);
    merge_samples(p);
}

/* ---- writing ---- */

static void write_value_type(struct pb *b, unsigned field, uint32_t type, uint32_t unit)
{
    size_t at = pb_begin(b, field);
    pb_uint(b, 1, type);
    pb_uint(b, 2, unit);
    pb_end(b, at);
}

static void write_sample(struct profile *p, struct pb *b, const struct sample *s, uint32_t ncolumns)
{
    size_t at = pb_begin(b, 2);
    size_t ids = pb_begin(b, 1);
    if (s->stack >= 0) {
        const struct st_report_stack *st = &p->r->stacks[s->stack];
        for (uint32_t i = 0; i < st->depth; i++)
            pb_varint(b, p->stack_locations[s->stack][i]);
    } else {
        pb_varint(b, p->no_stack);
    }
    pb_end(b, ids);
    size_t values = pb_begin(b, 2);
    for (uint32_t c = 0; c < ncolumns; c++)
        pb_varint(b, c == s->column ? s->count : 0);
    pb_end(b, values);
    for (uint32_t i = 0; i < s->nlabels; i++) {
        size_t l = pb_begin(b, 3);
        pb_uint(b, 1, s->labels[i][0]);
        pb_uint(b, 2, s->labels[i][1]);
        pb_end(b, l);
    }
    pb_end(b, at);
}

static void write_mapping(struct profile *p, struct pb *b, uint32_t i)
{
    const struct mapping *m = &p->mappings[i];
    size_t at = pb_begin(b, 3);
    pb_uint(b, 1, i + 1);
    pb_uint(b, 2, m->start);
    pb_uint(b, 3, m->limit);
    /* file_offset 0 at the load base: an address maps to its offset in the
     * module as the report has it. */
    pb_uint(b, 5, str_id(p, m->first->module));
    pb_uint(b, 6, str_id(p, m->first->build_id));
    pb_uint(b, 7, m->functions);
    pb_uint(b, 8, m->filenames);
    pb_uint(b, 9, m->lines);
    pb_end(b, at);
}

static void write_location(struct pb *b, const struct location *l, uint32_t id)
{
    size_t at = pb_begin(b, 4);
    pb_uint(b, 1, id);
    pb_uint(b, 2, l->mapping);
    pb_uint(b, 3, l->address);
    if (l->function) {
        size_t line = pb_begin(b, 4);
        pb_uint(b, 1, l->function);
        pb_uint(b, 2, l->line > 0 ? (uint64_t)l->line : 0);
        pb_end(b, line);
    }
    pb_end(b, at);
}

static void write_function(struct pb *b, const struct function *f, uint32_t id)
{
    size_t at = pb_begin(b, 5);
    pb_uint(b, 1, id);
    pb_uint(b, 2, f->name);
    pb_uint(b, 3, f->name);
    pb_uint(b, 4, f->file);
    pb_end(b, at);
}

/* "strays 0.1.0: signal report of ./server (pid 42)". */
static const char *comment(struct profile *p)
{
    const struct st_report *r = p->r;
    const char *what = r->command ? r->command : r->exe ? r->exe : "?";
    size_t n = strlen(what) + (r->reason ? strlen(r->reason) : 1) + 80;
    char *s = st_arena_alloc(&p->scratch, n);
    if (s)
        snprintf(s, n, "strays %s: %s report of %s (pid %d), by %s stack", STRAYS_VERSION,
                 r->reason ? r->reason : "?", what, r->pid,
                 p->stacks == ST_PPROF_CREATED ? "creation" : "current");
    return s;
}

static void write_header(struct profile *p, struct pb *b, uint32_t ncolumns)
{
    uint32_t count = str_id(p, "count");
    for (uint32_t c = 0; c < ncolumns; c++)
        write_value_type(b, 1, str_id(p, columns[c]), count);
    pb_uint(b, 9, p->r->time_ms * 1000000u);
    write_value_type(b, 11, str_id(p, columns[0]), count);
    pb_uint(b, 12, 1);
    pb_uint(b, 13, str_id(p, comment(p)));
    pb_uint(b, 14, str_id(p, columns[0]));
}

static void write_profile(struct profile *p, struct pb *b)
{
    uint32_t ncolumns = p->stacks == ST_PPROF_CREATED ? 3 : 1;
    write_header(p, b, ncolumns);
    for (uint32_t i = 0; i < p->nsamples; i++)
        write_sample(p, b, &p->samples[i], ncolumns);
    for (uint32_t i = 0; i < p->nmappings; i++)
        write_mapping(p, b, i);
    for (uint32_t i = 0; i < p->nlocations; i++)
        write_location(b, &p->locations[i], i + 1);
    for (uint32_t i = 0; i < p->nfunctions; i++)
        write_function(b, &p->functions[i], i + 1);
    /* Last: everything above may have added strings. */
    for (uint32_t i = 0; i < p->nstrings; i++)
        pb_string(b, 6, p->strings[i]);
}

static void profile_free(struct profile *p)
{
    for (uint32_t i = 0; p->stack_locations && i < p->r->nstacks; i++)
        free(p->stack_locations[i]);
    free(p->stack_locations);
    free(p->strings);
    free(p->mappings);
    free(p->functions);
    free(p->locations);
    free(p->samples);
    idmap_free(&p->string_ids);
    idmap_free(&p->function_ids);
    idmap_free(&p->location_ids);
    st_arena_free(&p->scratch);
}

int st_pprof_encode(const struct st_report *r, enum st_pprof_stacks stacks, uint8_t **out,
                    size_t *len)
{
    struct profile p = {.r = r, .stacks = stacks};
    struct pb b = {0};
    *out = NULL;
    *len = 0;
    collect(&p);
    int rc = p.failed ? -ENOMEM : map_stacks(&p);
    for (uint32_t i = 0; rc == 0 && i < p.nsamples && !p.no_stack; i++)
        if (p.samples[i].stack < 0)
            p.no_stack =
                add_location(&p, (struct location){0, 0, function_id(&p, "(no stack)", NULL), 0});
    if (rc == 0) write_profile(&p, &b);
    if (rc == 0 && (p.failed || b.failed)) rc = -ENOMEM;
    profile_free(&p);
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

int st_pprof_encode_gz(const struct st_report *r, enum st_pprof_stacks stacks, uint8_t **out,
                       size_t *len, bool *compressed)
{
    uint8_t *raw;
    size_t raw_len;
    int rc = st_pprof_encode(r, stacks, &raw, &raw_len);
    if (rc != 0) return rc;
    rc = st_gzip(raw, raw_len, out, len);
    *compressed = rc == 0;
    if (rc == 0) {
        free(raw);
        return 0;
    }
    if (rc == -ENOMEM) {
        free(raw);
        return rc;
    }
    *out = raw; /* no zlib here: pprof reads an uncompressed profile too */
    *len = raw_len;
    return 0;
}
