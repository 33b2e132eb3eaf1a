/* What the benchmark programs share: the environment a measured run gets
 * (LD_PRELOAD and STRAYS_OPTIONS set or removed) and the median of their
 * repetitions. Header only, so each benchmark stays one program built from
 * one file. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include (asprintf)"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Repetitions a benchmark takes at most (a median's buffer). */
#define BENCH_MAX_REPS 99

/* This process's environment with LD_PRELOAD and STRAYS_OPTIONS as given
 * (NULL: unset); exits when memory runs out. */
static inline char **bench_env(const char *preload, const char *options)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env)
        goto out_of_memory;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "STRAYS_OPTIONS=", 15))
            env[k++] = environ[i];
    if (preload && asprintf(&env[k++], "LD_PRELOAD=%s", preload) < 0)
        goto out_of_memory;
    if (options && asprintf(&env[k++], "STRAYS_OPTIONS=%s", options) < 0)
        goto out_of_memory;
    return env;
out_of_memory:
    fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
    exit(1);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), n at most BENCH_MAX_REPS; v is left as it was. */
static inline double bench_median(const double *v, int n)
{
    double s[BENCH_MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, bench_cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

#endif
