/* The report arena (src/base/arena.h): a first chunk of the caller's
 * memory takes the small allocations, the rest goes to mapped chunks, and
 * freeing leaves the caller's memory alone. */
#include "base/arena.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

Test(arena, a_borrowed_first_chunk_takes_small_allocations_and_is_never_unmapped)
{
    _Alignas(16) static char first[1024];
    memset(first, 0, sizeof first);
    struct st_arena a;
    st_arena_init_with(&a, first, sizeof first);
    char *small = st_arena_alloc(&a, 100);
    cr_assert(small >= first && small + 100 <= first + sizeof first, "inside the buffer");
    cr_assert_eq(small[0] | small[99], 0, "zeroed");
    memset(small, 'x', 100);
    char *big = st_arena_alloc(&a, 4096);
    cr_assert_not_null(big);
    cr_assert(big < first || big >= first + sizeof first, "past it: a mapped chunk");
    for (int i = 0; i < 4096; i++)
        cr_assert_eq(big[i], 0);
    char *copy = st_arena_strdup(&a, "after the big one");
    cr_assert_str_eq(copy, "after the big one");
    st_arena_free(&a);
    cr_assert_null(a.head);
    cr_assert_eq(small[0], 'x', "the caller's memory is left as it was (and still mapped)");
}

Test(arena, an_unaligned_or_tiny_buffer_is_not_used)
{
    _Alignas(16) static char buf[256];
    struct st_arena a;
    st_arena_init_with(&a, buf + 1, sizeof buf - 1);
    cr_assert_null(a.head);
    st_arena_init_with(&a, buf, 16);
    cr_assert_null(a.head);
    char *p = st_arena_alloc(&a, 8);
    cr_assert_not_null(p);
    cr_assert((p < buf || p >= buf + sizeof buf));
    st_arena_free(&a);
}
