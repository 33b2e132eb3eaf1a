/* String helpers for the code every process runs (strays' start, its
 * options' defaults, a clean exit, a forked child). libc's strlen, strcmp
 * and strncmp each lie on a page of code that a small program never
 * touches, and on some VMs a page touched for the first time costs 12-20 us
 * (docs/performance.md): more than all the work these strings need. The
 * rest of strays uses libc's. */
#ifndef STRAYS_TEXT_H
#define STRAYS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* GCC 12 keeps these loops as loops (it turns no strlen-like loop into a
 * call); scripts/check-start-path.py would name a libc function that a
 * newer compiler made of one. */
static inline size_t st_text_len(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

static inline bool st_text_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Whether s begins with prefix. */
static inline bool st_text_starts(const char *s, const char *prefix)
{
    while (*prefix && *s == *prefix)
        s++, prefix++;
    return *prefix == '\0';
}

/* Copies src with its NUL to dst; returns the end of dst (its NUL), as stpcpy. */
static inline char *st_text_copy(char *dst, const char *src)
{
    while ((*dst = *src) != '\0')
        dst++, src++;
    return dst;
}

#endif
