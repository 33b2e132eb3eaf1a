/* libFuzzer harness for the suppressions parser and matcher
 * (src/suppressions.c). A suppressions file is whatever the user points
 * strays at, read inside the watched program, so any bytes (NULs included)
 * must parse without a crash, leak or undefined behaviour. Besides "no
 * crash" it checks: one message per bad line, every kept rule well formed
 * and taken from its line, and, by building a report with one leaked object
 * made to fit each rule, that applying the rules suppresses every object
 * and counts each under a rule. */
#include "collect/suppressions.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OBJECTS = 64 };

static const char file_name[] = "fuzz.supp";

static void count_message(void *ctx, const char *message)
{
    if (!message || !message[0] || strncmp(message, "fuzz.supp:", 10) != 0)
        abort();
    (*(int *)ctx)++;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static unsigned count_lines(const uint8_t *data, size_t size)
{
    unsigned lines = size && data[size - 1] != '\n';
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    return lines;
}

/* A kept rule: kind and qualifier in range, text trimmed and on one line,
 * starting with its kind and ending with its pattern. */
static void check_rule(const struct st_supp_rule *r, int previous_line, unsigned lines)
{
    static const char *const kinds[] = {"thread:", "timer:", "fd:"};
    if ((unsigned)r->kind > ST_SUPP_FD || (unsigned)r->where > ST_SUPP_TARGET)
        abort();
    if (r->where == ST_SUPP_TARGET && r->kind != ST_SUPP_FD)
        abort();
    if (!r->pattern[0] || !r->text[0] || strcmp(r->file, file_name) != 0)
        abort();
    size_t len = strlen(r->text), plen = strlen(r->pattern);
    if (strchr(r->text, '\n') || is_blank(r->text[0]) || is_blank(r->text[len - 1]) ||
        r->text[0] == '#')
        abort();
    if (strncmp(r->text, kinds[r->kind], strlen(kinds[r->kind])) != 0)
        abort();
    if (plen > len || strcmp(r->text + len - plen, r->pattern) != 0)
        abort();
    if (r->line <= previous_line || r->line < 1 || (unsigned)r->line > lines)
        abort();
}

/* The pattern without its stars: a string the pattern must match. */
static char *fitting_name(const char *pattern)
{
    char *name = malloc(strlen(pattern) + 1), *w = name;
    if (!name)
        abort();
    for (const char *p = pattern; *p; p++)
        if (*p != '*')
            *w++ = *p;
    *w = '\0';
    if (!st_supp_glob(pattern, name) || !st_supp_glob("*", name))
        abort();
    if (!strchr(pattern, '*') && !st_supp_glob(pattern, pattern))
        abort();
    return name;
}

/* One leaked object per rule (up to MAX_OBJECTS), each fitting its rule:
 * a creation stack of two frames named for it, or an fd target. */
static void build_report(struct st_report *r, const struct st_supp_set *set, char **names)
{
    uint32_t n = set->n < MAX_OBJECTS ? set->n : MAX_OBJECTS;
    r->stacks = st_arena_alloc(&r->arena, (n + 1) * sizeof *r->stacks);
    r->threads = st_arena_alloc(&r->arena, (n + 1) * sizeof *r->threads);
    r->timers = st_arena_alloc(&r->arena, (n + 1) * sizeof *r->timers);
    r->fds = st_arena_alloc(&r->arena, (n + 1) * sizeof *r->fds);
    if (!r->stacks || !r->threads || !r->timers || !r->fds)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        const struct st_supp_rule *rule = &set->rules[i];
        struct st_frame *frames = st_arena_alloc(&r->arena, 2 * sizeof *frames);
        if (!frames)
            abort();
        frames[0].function = frames[1].function = names[i];
        r->stacks[r->nstacks++] = (struct st_report_stack){2, frames};
        int stack = (int)i;
        if (rule->kind == ST_SUPP_THREAD)
            r->threads[r->nthreads++] = (struct st_report_thread){.tid = (int)i + 1,
                                                                  .created_by = stack,
                                                                  .stack = -1};
        else if (rule->kind == ST_SUPP_TIMER)
            r->timers[r->ntimers++] = (struct st_report_timer){.fd = -1, .created_by = stack};
        else
            r->fds[r->nfds++] = (struct st_report_fd){
                .fd = (int)i, .target = names[i],
                .created_by = rule->where == ST_SUPP_TARGET ? -1 : stack};
    }
}

/* Every object fits a rule, so all are suppressed, each counted once. */
static void check_applied(const struct st_report *r, uint32_t objects, uint32_t rules)
{
    if (st_report_leak_count(r) != 0)
        abort();
    const struct st_report_suppressed *s = &r->suppressed;
    if (s->threads + s->timers + s->fds != objects || s->nrules != rules)
        abort();
    uint64_t matched = 0;
    for (uint32_t i = 0; i < s->nrules; i++)
        matched += s->rules[i].matched;
    if (matched != objects)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_supp_set set;
    memset(&set, 0, sizeof set);
    int messages = 0;
    int bad = st_supp_parse(&set, file_name, (const char *)data, size, count_message, &messages);
    if (bad < 0) { /* only -ENOMEM, which the fuzzer's limits make a real failure */
        st_supp_free(&set);
        return 0;
    }
    unsigned lines = count_lines(data, size);
    if (bad != messages || set.n + (unsigned)bad > lines)
        abort();
    for (uint32_t i = 0; i < set.n; i++)
        check_rule(&set.rules[i], i ? set.rules[i - 1].line : 0, lines);

    uint32_t objects = set.n < MAX_OBJECTS ? set.n : MAX_OBJECTS;
    char *names[MAX_OBJECTS];
    for (uint32_t i = 0; i < objects; i++)
        names[i] = fitting_name(set.rules[i].pattern);
    struct st_report r;
    memset(&r, 0, sizeof r);
    build_report(&r, &set, names);
    st_supp_apply(&set, &r, true, true);
    check_applied(&r, objects, set.n);

    st_report_free(&r);
    for (uint32_t i = 0; i < objects; i++)
        free(names[i]);
    st_supp_free(&set);
    return 0;
}
