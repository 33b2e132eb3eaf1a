/* Suppression rules; see suppressions.h. Parsing runs once at start-up
 * (raw system calls, no stdio); matching runs while a report is built, on
 * the crash path too, so it allocates only from the report's arena. */
#include "collect/suppressions.h"

#include "base/st.h"
#include "base/log.h"
#include "base/options.h"
#include "symbolize/symbolize_elf.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ parsing */

static const char *const kind_names[] = {"thread", "timer", "fd"};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && is_blank(**p))
        (*p)++;
}

/* Length of the word at p when a single ':' follows it, else 0: "top:run"
 * starts with the qualifier top:, "top::run" is a C++ name. */
static size_t qualifier_length(const char *p, const char *end)
{
    const char *w = p;
    while (w < end && ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || *w == '_'))
        w++;
    if (w == p || w == end || *w != ':' || (w + 1 < end && w[1] == ':'))
        return 0;
    return (size_t)(w - p);
}

/* Reads "top:" or "creator:" at *p; NULL, or what is wrong (in why). */
static const char *parse_qualifier(const char **p, const char *end, enum st_supp_where *where,
                                   char *why, size_t why_len)
{
    size_t n = qualifier_length(*p, end);
    *where = ST_SUPP_ANY;
    if (n == 3 && !memcmp(*p, "top", 3)) {
        *where = ST_SUPP_TOP;
    } else if (n == 7 && !memcmp(*p, "creator", 7)) {
        *where = ST_SUPP_CREATOR;
    } else if (n) {
        snprintf(why, why_len,
                 "unknown qualifier \"%.*s:\" (expected top: or creator:, or target= in fd "
                 "rules)",
                 (int)(n > 40 ? 40 : n), *p);
        return why;
    }
    *p += n ? n + 1 : 0;
    return NULL;
}

struct parsed {
    enum st_supp_kind kind;
    enum st_supp_where where;
    const char *pattern;
    size_t pattern_len;
};

/* Parses one trimmed, non-empty rule; NULL, or what is wrong (in why). */
static const char *parse_rule(const char *p, const char *end, struct parsed *out, char *why,
                              size_t why_len)
{
    if (memchr(p, '\0', (size_t)(end - p)))
        return "it holds a NUL byte";
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon)
        return "expected KIND:PATTERN, KIND being thread, timer or fd";
    size_t klen = (size_t)(colon - p);
    unsigned k = 0;
    while (k < 3 && (strlen(kind_names[k]) != klen || memcmp(p, kind_names[k], klen)))
        k++;
    if (k == 3) {
        snprintf(why, why_len, "unknown kind \"%.*s\" (expected thread, timer or fd)",
                 (int)(klen > 40 ? 40 : klen), p);
        return why;
    }
    out->kind = (enum st_supp_kind)k;
    p = colon + 1;
    skip_blanks(&p, end);
    const char *wrong = parse_qualifier(&p, end, &out->where, why, why_len);
    if (wrong)
        return wrong;
    skip_blanks(&p, end);
    if ((size_t)(end - p) >= 7 && !memcmp(p, "target=", 7)) {
        if (out->kind != ST_SUPP_FD)
            return "target= applies to fd rules only";
        if (out->where != ST_SUPP_ANY)
            return "target= takes no top: or creator: qualifier";
        out->where = ST_SUPP_TARGET;
        p += 7;
    }
    if (p == end)
        return "the pattern is empty";
    out->pattern = p;
    out->pattern_len = (size_t)(end - p);
    return NULL;
}

static int add_rule(struct st_supp_set *set, const struct parsed *pr, const char *text,
                    size_t len, const char *file, int line)
{
    if (set->n == set->capacity) {
        uint32_t cap = set->capacity ? set->capacity * 2 : 16;
        struct st_supp_rule *grown = st_arena_alloc(&set->arena, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        if (set->n)
            memcpy(grown, set->rules, set->n * sizeof *grown);
        set->rules = grown;
        set->capacity = cap;
    }
    struct st_supp_rule *r = &set->rules[set->n];
    r->kind = pr->kind;
    r->where = pr->where;
    r->pattern = st_arena_strndup(&set->arena, pr->pattern, pr->pattern_len);
    r->text = st_arena_strndup(&set->arena, text, len);
    r->file = file;
    r->line = line;
    if (!r->pattern || !r->text)
        return -ENOMEM;
    set->n++;
    return 0;
}

/* "FILE:LINE: bad suppression "TEXT": WHY; ignoring it", the text cut
 * short and its NUL bytes shown as blanks. */
static void complain(const char *file, int line, const char *p, const char *end,
                     const char *why, st_supp_error_fn err, void *ctx)
{
    char shown[170], msg[900];
    size_t n = (size_t)(end - p), k = 0;
    for (; k < n && k < 160; k++)
        shown[k] = (char)(p[k] ? p[k] : ' ');
    memcpy(shown + k, n > 160 ? "..." : "", n > 160 ? 4 : 1);
    snprintf(msg, sizeof msg, "%s:%d: bad suppression \"%s\": %s; ignoring it", file, line,
             shown, why);
    err(ctx, msg);
}

int st_supp_parse(struct st_supp_set *set, const char *file, const char *text, size_t len,
                  st_supp_error_fn err, void *ctx)
{
    const char *name = st_arena_strdup(&set->arena, file);
    if (!name)
        return -ENOMEM;
    int bad = 0, line = 0;
    for (const char *p = text, *stop = text + len; p < stop;) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *end = nl ? nl : stop;
        const char *next = nl ? nl + 1 : stop;
        line++;
        skip_blanks(&p, end);
        while (end > p && is_blank(end[-1]))
            end--;
        if (p == end || *p == '#') {
            p = next;
            continue;
        }
        struct parsed pr;
        char why[200];
        const char *wrong = parse_rule(p, end, &pr, why, sizeof why);
        if (wrong) {
            complain(file, line, p, end, wrong, err, ctx);
            bad++;
        } else if (add_rule(set, &pr, p, (size_t)(end - p), name, line) != 0) {
            return -ENOMEM;
        }
        p = next;
    }
    return bad;
}

/* The whole file, read into scratch (it may be of any size up to a limit). */
static long read_whole(const char *path, struct st_arena *scratch, char **out)
{
    enum { LIMIT = 16 << 20 };
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    size_t cap = 16384, used = 0;
    char *buf = st_arena_alloc(scratch, cap);
    long rc = buf ? 0 : -ENOMEM;
    while (rc == 0) {
        if (used == cap) {
            char *grown = cap < LIMIT ? st_arena_alloc(scratch, cap * 2) : NULL;
            if (!grown) {
                rc = cap < LIMIT ? -ENOMEM : -EFBIG;
                break;
            }
            memcpy(grown, buf, used);
            buf = grown;
            cap *= 2;
        }
        long n = st_sys_read((int)fd, buf + used, cap - used);
        if (n == -EINTR)
            continue;
        if (n < 0)
            rc = n;
        else if (n == 0)
            break;
        else
            used += (size_t)n;
    }
    st_sys_close((int)fd);
    *out = buf;
    return rc < 0 ? rc : (long)used;
}

int st_supp_load(struct st_supp_set *set, const char *path, st_supp_error_fn err, void *ctx)
{
    struct st_arena scratch = {0};
    char *text = NULL;
    long len = read_whole(path, &scratch, &text);
    int rc;
    if (len < 0) {
        char msg[800];
        snprintf(msg, sizeof msg, "cannot read the suppressions file %s: %s; running without "
                 "suppressions", path, strerror((int)-len));
        err(ctx, msg);
        rc = (int)len;
    } else {
        rc = st_supp_parse(set, path, text, (size_t)len, err, ctx);
    }
    st_arena_free(&scratch);
    return rc;
}

void st_supp_free(struct st_supp_set *set)
{
    st_arena_free(&set->arena);
    memset(set, 0, sizeof *set);
}

/* ----------------------------------------------------------------- matching */

bool st_supp_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A frame matches by its function, its module or its source file; a path
 * by its basename or in full. */
static bool frame_matches(const struct st_frame *f, const char *pattern)
{
    return (f->function && st_supp_glob(pattern, f->function)) ||
           (f->module &&
            (st_supp_glob(pattern, base_name(f->module)) || st_supp_glob(pattern, f->module))) ||
           (f->file && (st_supp_glob(pattern, base_name(f->file)) || st_supp_glob(pattern, f->file)));
}

static bool rule_matches(const struct st_supp_rule *rule, const struct st_report_stack *stack,
                         const char *target)
{
    uint32_t depth = stack ? stack->depth : 0;
    switch (rule->where) {
    case ST_SUPP_TARGET:
        return target && st_supp_glob(rule->pattern, target);
    case ST_SUPP_TOP:
        return depth > 0 && frame_matches(&stack->frames[0], rule->pattern);
    case ST_SUPP_CREATOR:
        return depth > 1 && frame_matches(&stack->frames[1], rule->pattern);
    case ST_SUPP_ANY:
        for (uint32_t i = 0; i < depth; i++)
            if (frame_matches(&stack->frames[i], rule->pattern))
                return true;
        return false;
    }
    return false;
}

int st_supp_match(const struct st_supp_set *set, enum st_supp_kind kind,
                  const struct st_report_stack *stack, const char *target)
{
    for (uint32_t i = 0; i < set->n; i++)
        if (set->rules[i].kind == kind && rule_matches(&set->rules[i], stack, target))
            return (int)i;
    return -1;
}

/* ----------------------------------------------------------------- applying */

/* The stacks to match against: r's own, or, when r's frames have no names
 * (symbolize=0, the crash path) and a rule looks at frames, a copy named
 * from ELF symbol tables, so the report itself stays as the options say. */
static const struct st_report_stack *stacks_for_matching(const struct st_supp_set *set,
                                                         struct st_report *r, bool symbolized)
{
    bool needs_names = false;
    for (uint32_t i = 0; i < set->n; i++)
        needs_names |= set->rules[i].where != ST_SUPP_TARGET;
    if (symbolized || !needs_names || !r->nstacks)
        return r->stacks;
    struct st_report copy;
    memset(&copy, 0, sizeof copy);
    copy.stacks = st_arena_alloc(&r->arena, r->nstacks * sizeof *copy.stacks);
    if (!copy.stacks)
        return r->stacks;
    for (uint32_t i = 0; i < r->nstacks; i++) {
        const struct st_report_stack *s = &r->stacks[i];
        copy.stacks[i].frames = st_arena_alloc(&r->arena, (s->depth + 1) * sizeof *s->frames);
        if (!copy.stacks[i].frames)
            return r->stacks;
        memcpy(copy.stacks[i].frames, s->frames, s->depth * sizeof *s->frames);
        copy.stacks[i].depth = s->depth;
    }
    copy.nstacks = r->nstacks;
    copy.arena = r->arena; /* the names go to r's arena */
    st_symbolize_elf(&copy);
    r->arena = copy.arena;
    return copy.stacks;
}

struct matcher {
    const struct st_supp_set *set;
    const struct st_report *r;
    const struct st_report_stack *stacks;
    uint32_t *counts; /* per rule */
};

/* Whether the object is suppressed; counts it for its rule. */
static bool suppressed(struct matcher *m, enum st_supp_kind kind, int created_by,
                       const char *target)
{
    const struct st_report_stack *stack =
        created_by >= 0 && (uint32_t)created_by < m->r->nstacks ? &m->stacks[created_by] : NULL;
    int rule = st_supp_match(m->set, kind, stack, target);
    if (rule < 0)
        return false;
    m->counts[rule]++;
    return true;
}

static void filter_objects(struct matcher *m, struct st_report *r)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (!suppressed(m, ST_SUPP_THREAD, r->threads[i].created_by, NULL))
            r->threads[kept++] = r->threads[i];
    r->suppressed.threads += r->nthreads - kept;
    r->nthreads = kept;
    kept = 0;
    for (uint32_t i = 0; i < r->ntimers; i++)
        if (!suppressed(m, ST_SUPP_TIMER, r->timers[i].created_by, NULL))
            r->timers[kept++] = r->timers[i];
    r->suppressed.timers += r->ntimers - kept;
    r->ntimers = kept;
    kept = 0;
    for (uint32_t i = 0; i < r->nfds; i++)
        if (!suppressed(m, ST_SUPP_FD, r->fds[i].created_by, r->fds[i].target))
            r->fds[kept++] = r->fds[i];
    r->suppressed.fds += r->nfds - kept;
    r->nfds = kept;
}

/* Live dumps: a site whose stack a rule of its kind matches is left out
 * (fd:target= rules cannot decide a site: its fds may have many targets). */
static void filter_growth(struct matcher *m, struct st_report *r)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->ngrowth; i++) {
        const struct st_report_growth *g = &r->growth[i];
        static const char *const growth_kinds[] = {"threads", "timers", "fds"};
        unsigned k = 0;
        while (k < 3 && (!g->kind || strcmp(g->kind, growth_kinds[k])))
            k++;
        const struct st_report_stack *stack =
            g->created_by >= 0 && (uint32_t)g->created_by < r->nstacks ? &m->stacks[g->created_by]
                                                                       : NULL;
        if (k == 3 || st_supp_match(m->set, (enum st_supp_kind)k, stack, NULL) < 0)
            r->growth[kept++] = *g;
    }
    r->ngrowth = kept;
}

/* Every rule with its count, for print_suppressions. */
static void list_rules(const struct st_supp_set *set, struct st_report *r, const uint32_t *counts)
{
    struct st_report_supp_rule *out = st_arena_alloc(&r->arena, (set->n + 1) * sizeof *out);
    if (!out)
        return;
    for (uint32_t i = 0; i < set->n; i++) {
        out[i].rule = st_arena_strdup(&r->arena, set->rules[i].text);
        out[i].file = st_arena_strdup(&r->arena, set->rules[i].file);
        out[i].line = set->rules[i].line;
        out[i].matched = counts[i];
        if (!out[i].rule || !out[i].file)
            return;
    }
    r->suppressed.rules = out;
    r->suppressed.nrules = set->n;
}

ST_EVERY_REPORT
void st_supp_apply(const struct st_supp_set *set, struct st_report *r, bool list, bool symbolized)
{
    if (!set->n)
        return;
    uint32_t *counts = st_arena_alloc(&r->arena, set->n * sizeof *counts);
    if (!counts)
        return;
    struct matcher m = {set, r, stacks_for_matching(set, r, symbolized), counts};
    filter_objects(&m, r);
    filter_growth(&m, r);
    if (list)
        list_rules(set, r, counts);
}

/* ------------------------------------------------------ the process's rules */

static struct st_supp_set loaded;

static void log_error(void *ctx, const char *message)
{
    (void)ctx;
    st_logf("%s", message);
}

ST_EVERY_PROCESS
void st_suppressions_init(void)
{
    if (!st_opt.suppressions[0])
        return;
    int rc = st_supp_load(&loaded, st_opt.suppressions, log_error, NULL);
    if (rc == -ENOMEM)
        st_logf("out of memory while reading the suppressions file %s", st_opt.suppressions);
    else if (rc >= 0 && st_opt.verbosity >= 1)
        st_logf("%u suppression rule%s from %s", loaded.n, loaded.n == 1 ? "" : "s",
                st_opt.suppressions);
}

ST_EVERY_REPORT
void st_suppressions_apply(struct st_report *r, bool symbolized)
{
    st_supp_apply(&loaded, r, st_opt.print_suppressions, symbolized);
}
