/* The report arena (src/arena.h) for the fuzzing builds only: one calloc
 * per allocation instead of src/arena.c's large mmap chunks. AddressSanitizer
 * cannot see a write past an allocation inside an mmap chunk, nor
 * LeakSanitizer an arena never freed; with each allocation its own heap
 * block, both are caught in the parsers that fill reports from hostile
 * input. Same contract: zeroed memory, NULL when out of memory, one free. */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct st_arena_chunk {
    struct st_arena_chunk *next;
    max_align_t data[];
};

void *st_arena_alloc(struct st_arena *a, size_t size)
{
    if (size > SIZE_MAX - sizeof(struct st_arena_chunk))
        return NULL;
    struct st_arena_chunk *c = calloc(1, sizeof *c + size);
    if (!c)
        return NULL;
    c->next = a->head;
    a->head = c;
    return c->data;
}

char *st_arena_strndup(struct st_arena *a, const char *s, size_t n)
{
    char *copy = st_arena_alloc(a, n + 1);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

char *st_arena_strdup(struct st_arena *a, const char *s)
{
    return s ? st_arena_strndup(a, s, strlen(s)) : NULL;
}

void st_arena_free(struct st_arena *a)
{
    for (struct st_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}
