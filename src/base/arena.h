/* A bump allocator over mmap for building reports: one free releases the
 * whole report, and since mmap is async-signal-safe the crash path can use
 * it too. */
#ifndef STRAYS_ARENA_H
#define STRAYS_ARENA_H

#include <stddef.h>

struct st_arena_chunk;

struct st_arena {
    struct st_arena_chunk *head;
};

/* An arena whose first chunk is the caller's zeroed buf (len bytes, aligned
 * to 16), which st_arena_free leaves alone: a small report (the report of
 * nothing every process under `strays run` writes) then maps no memory and
 * writes no fresh page. Larger ones go on in mapped chunks. */
void st_arena_init_with(struct st_arena *a, void *buf, size_t len);
/* Zeroed memory, or NULL when the system is out of memory. */
void *st_arena_alloc(struct st_arena *a, size_t size);
char *st_arena_strdup(struct st_arena *a, const char *s);
char *st_arena_strndup(struct st_arena *a, const char *s, size_t n);
void st_arena_free(struct st_arena *a);

#endif
