/* The report arena; see arena.h. */
#include "base/arena.h"
#include "base/st.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

struct st_arena_chunk {
    struct st_arena_chunk *next;
    size_t size;
    size_t used;
    bool borrowed; /* the caller's memory (st_arena_init_with): never unmapped */
    max_align_t data[];
};

#define CHUNK_MIN (256u * 1024u)

ST_EVERY_REPORT
void st_arena_init_with(struct st_arena *a, void *buf, size_t len)
{
    a->head = NULL;
    if (((uintptr_t)buf & 15) || len < sizeof(struct st_arena_chunk) + 64)
        return; /* the first allocation maps a chunk, as without buf */
    struct st_arena_chunk *c = buf;
    c->next = NULL;
    c->size = len - sizeof *c;
    c->used = 0;
    c->borrowed = true;
    a->head = c;
}

ST_EVERY_REPORT
void *st_arena_alloc(struct st_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct st_arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = sizeof *c + (size > CHUNK_MIN ? size : CHUNK_MIN);
        c = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (c == MAP_FAILED)
            return NULL;
        c->size = want - sizeof *c;
        c->used = 0;
        c->borrowed = false;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p; /* fresh anonymous pages are zero, and nothing is ever reused */
}

ST_EVERY_REPORT
char *st_arena_strndup(struct st_arena *a, const char *s, size_t n)
{
    char *copy = st_arena_alloc(a, n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

ST_EVERY_REPORT
char *st_arena_strdup(struct st_arena *a, const char *s)
{
    return s ? st_arena_strndup(a, s, strlen(s)) : NULL;
}

ST_EVERY_REPORT
void st_arena_free(struct st_arena *a)
{
    struct st_arena_chunk *c = a->head;
    while (c) {
        struct st_arena_chunk *next = c->next;
        if (!c->borrowed)
            munmap(c, sizeof *c + c->size);
        c = next;
    }
    a->head = NULL;
}
