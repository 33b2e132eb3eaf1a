/* Suppression rules (suppressions=FILE): leaked threads, timers and fds that
 * a report leaves out and only counts, matched on their creation stacks or
 * an fd's target. Read once at start-up; applied to each report after its
 * stacks are symbolized. The syntax is in docs/suppressions.md. */
#ifndef STRAYS_SUPPRESSIONS_H
#define STRAYS_SUPPRESSIONS_H

#include "base/arena.h"
#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum st_supp_kind { ST_SUPP_THREAD, ST_SUPP_TIMER, ST_SUPP_FD };

/* Which part of an object a rule's pattern is matched against. */
enum st_supp_where {
    ST_SUPP_ANY,     /* any frame of the creation stack */
    ST_SUPP_TOP,     /* top: frame 0, the function that called pthread_create, open, ... */
    ST_SUPP_CREATOR, /* creator: frame 1, the caller of that function */
    ST_SUPP_TARGET,  /* fd:target=: the fd's target ("/dev/urandom", "pipe:[12]") */
};

struct st_supp_rule {
    enum st_supp_kind kind;
    enum st_supp_where where;
    const char *pattern; /* '*' matches any run of characters, '/' included */
    const char *text;    /* the rule as written, blanks trimmed */
    const char *file;
    int line;
};

struct st_supp_set {
    struct st_supp_rule *rules;
    uint32_t n, capacity;
    struct st_arena arena; /* rules, their strings */
};

/* Called with one message per bad line or unreadable file, without the
 * "strays: " prefix and without newline. */
typedef void (*st_supp_error_fn)(void *ctx, const char *message);

/* Adds the rules of text (len bytes, the contents of file) to set. A bad
 * line gets one message "FILE:LINE: bad suppression "TEXT": WHY; ignoring
 * it" and adds nothing. Returns the number of bad lines, or -ENOMEM. */
int st_supp_parse(struct st_supp_set *set, const char *file, const char *text, size_t len,
                  st_supp_error_fn err, void *ctx);
/* Reads path with raw system calls and parses it. An unreadable file gets
 * one message naming it and strerror, adds nothing, and returns -errno. */
int st_supp_load(struct st_supp_set *set, const char *path, st_supp_error_fn err, void *ctx);
void st_supp_free(struct st_supp_set *set);

/* Whether pattern, with '*' as a wildcard, matches all of s. */
bool st_supp_glob(const char *pattern, const char *s);
/* Index of the first rule of kind that matches an object created at stack
 * (NULL: none captured) with target (fds; NULL otherwise), or -1. */
int st_supp_match(const struct st_supp_set *set, enum st_supp_kind kind,
                  const struct st_report_stack *stack, const char *target);
/* Removes from r the threads, timers and fds that rules of set match, and
 * the live-dump growth sites whose stack a rule matches; counts them in
 * r->suppressed, with every rule and its count when list_rules.
 * symbolized: r's frames carry libdw's names; when they do not (symbolize=0,
 * the crash path), names from ELF symbol tables are used for matching only.
 * Async-signal-safe: memory comes from r's arena. */
void st_supp_apply(const struct st_supp_set *set, struct st_report *r, bool list_rules,
                   bool symbolized);

/* Loads the file of the suppressions option, with its messages on strays'
 * channel. Called once at initialisation. */
void st_suppressions_init(void);
/* st_supp_apply with the rules loaded at start-up and print_suppressions. */
void st_suppressions_apply(struct st_report *r, bool symbolized);

#endif
