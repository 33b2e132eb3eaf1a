/* Unit tests that compare the ways strays could capture a stack, on one
 * call chain built with frame pointers and without (capture_chain.inc):
 *   - st_stack_capture: an unwind every time, from DWARF CFI: libgcc's
 *     _Unwind_Backtrace for a thread's first unwinds, then libunwind's
 *     unw_backtrace (stack_capture.c says why); both must agree;
 *   - st_stack_here: the same, but served from the per-position cache once
 *     a call site repeats (what every hook uses);
 *   - a frame-pointer walk (below): the fast method strays does not use.
 * The cache must give exactly what unwinding gives, on both builds. The
 * frame-pointer walk agrees only where frame pointers are kept, which is
 * why strays does not rely on it (docs/performance.md, "Where the time goes"). */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <criterion/criterion.h>

#include "capture_chain.h"
#include "base/options.h"
#include "track/stack.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static void setup(void)
{
    st_options_defaults(&st_opt);
    st_opt.stack_depth = ST_STACK_MAX; /* the whole stack, to compare all of it */
}

TestSuite(stack_capture, .init = setup, .timeout = 20);

/* Follows the chain of saved frame pointers from the caller's frame,
 * reading only inside this thread's stack. */
__attribute__((noinline)) int capture_fp_walk(uintptr_t *frames, int max)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return 0;
    uintptr_t lo = (uintptr_t)addr, hi = lo + size;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    int n = 0;
    while (n < max && fp >= lo && fp + 16 <= hi && (fp & 7) == 0) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        if (frame[1] == 0)
            break;
        frames[n++] = frame[1];
        if (frame[0] <= fp)
            break;
        fp = frame[0];
    }
    return n;
}

/* A return address inside the function that starts at fn (these are small,
 * if less so with AddressSanitizer's instrumentation). */
#if defined(__SANITIZE_ADDRESS__)
#define SMALL_FUNCTION 2048
#else
#define SMALL_FUNCTION 256
#endif
static bool returns_into(uintptr_t ret, uintptr_t fn) { return ret > fn && ret - fn < SMALL_FUNCTION; }

static void run_trial(const struct capture_chain *chain, int path, struct capture_trial *t)
{
    unsigned long hits = st_stack_cache_hits();
    chain->top(t, path);
    hits = st_stack_cache_hits() - hits;
    /* The first two rounds miss (the second records the position). */
    cr_assert_geq(hits, CAPTURE_ROUNDS - 2, "path %c: the cache served %lu of %d captures",
                  path, hits, CAPTURE_ROUNDS);
}

/* What the cache served is, frame for frame, what unwinding found. */
static void expect_cache_matches_unwind(const struct capture_chain *chain, int path)
{
    struct capture_trial t = {0};
    run_trial(chain, path, &t);
    const struct st_stack *s = t.cached[0];
    cr_assert_not_null(s);
    for (int i = 1; i < CAPTURE_ROUNDS; i++)
        cr_assert_eq(t.cached[i], s, "path %c, round %d: another stack", path, i);

    cr_assert_eq((int)s->depth, t.unwound_depth, "path %c: depth %u cached, %d unwound", path,
                 s->depth, t.unwound_depth);
    cr_assert_gt(s->depth, 3);
    /* Frame 0 is a return address in leaf: another call site in it. */
    cr_assert(returns_into(s->frames[0], chain->leaf) && returns_into(t.unwound[0], chain->leaf));
    for (uint32_t i = 1; i < s->depth; i++)
        cr_assert_eq(s->frames[i], t.unwound[i], "path %c, frame %u: %#lx cached, %#lx unwound",
                     path, i, (unsigned long)s->frames[i], (unsigned long)t.unwound[i]);
    uintptr_t mid = path == 'a' ? chain->mid_a : chain->mid_b;
    cr_assert(returns_into(s->frames[1], mid), "path %c: frame 1 is in mid_%c", path, path);
}

Test(stack_capture, libunwind_is_the_capture_method)
{
    cr_assert_eq(st_stack_capture_init(), 0, "libunwind.so.8 loads (scripts/install-deps.sh)");
}

Test(stack_capture, cache_gives_what_unwinding_gives_with_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    expect_cache_matches_unwind(&fp_chain, 'a');
    expect_cache_matches_unwind(&fp_chain, 'b');
}

Test(stack_capture, cache_gives_what_unwinding_gives_without_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    expect_cache_matches_unwind(&nofp_chain, 'a');
    expect_cache_matches_unwind(&nofp_chain, 'b');
}

Test(stack_capture, two_paths_alternating_at_one_position_keep_their_stacks)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    const struct capture_chain *chains[] = {&fp_chain, &nofp_chain};
    for (int c = 0; c < 2; c++) {
        const struct st_stack *first[2] = {NULL, NULL};
        for (int round = 0; round < 100; round++) {
            int path = round % 2 ? 'b' : 'a'; /* one call site for both paths */
            struct capture_trial t = {0};
            chains[c]->top(&t, path);
            const struct st_stack **want = &first[round % 2];
            if (!*want)
                *want = t.cached[0];
            for (int i = 0; i < CAPTURE_ROUNDS; i++)
                cr_assert_eq(t.cached[i], *want, "build %d, round %d, capture %d", c, round, i);
        }
        cr_assert_neq(first[0], first[1]);
    }
}

/* A thread starts on libgcc's unwinder and moves to libunwind's: the
 * frames must not change when it does. */
static void expect_unwinders_agree(const struct capture_chain *chain)
{
    struct capture_trial first = {0}, t = {0};
    for (int trial = 0; trial < 200 && t.unwinder != ST_UNWINDER_LIBUNWIND; trial++) {
        memset(&t, 0, sizeof t);
        chain->top(&t, 'a'); /* one call site for every trial */
        if (trial == 0)
            first = t;
    }
    cr_assert_eq(first.unwinder, ST_UNWINDER_LIBGCC, "a thread's first unwinds are libgcc's");
    cr_assert_eq(t.unwinder, ST_UNWINDER_LIBUNWIND, "a thread that keeps unwinding moves on");
    cr_assert_eq(t.unwound_depth, first.unwound_depth, "depth %d by libunwind, %d by libgcc",
                 t.unwound_depth, first.unwound_depth);
    for (int i = 0; i < t.unwound_depth; i++)
        cr_assert_eq(t.unwound[i], first.unwound[i], "frame %d: %#lx by libunwind, %#lx by libgcc",
                     i, (unsigned long)t.unwound[i], (unsigned long)first.unwound[i]);
}

Test(stack_capture, libgcc_and_libunwind_agree_with_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    expect_unwinders_agree(&fp_chain);
}

Test(stack_capture, libgcc_and_libunwind_agree_without_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    expect_unwinders_agree(&nofp_chain);
}

/* The frame-pointer walk is right where frame pointers are kept: leaf, its
 * caller and theirs, up to the test function that called top. */
Test(stack_capture, frame_pointer_walk_agrees_with_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    struct capture_trial t = {0};
    fp_chain.top(&t, 'a');
    cr_assert_geq(t.fp_depth, 4);
    cr_assert(returns_into(t.fp[0], fp_chain.leaf));
    for (int i = 1; i < 4; i++)
        cr_assert_eq(t.fp[i], t.unwound[i], "frame %d", i);
}

/* Without them it skips leaf's callers: the walk cannot be trusted there. */
Test(stack_capture, frame_pointer_walk_loses_frames_without_frame_pointers)
{
    cr_assert_eq(st_stack_capture_init(), 0);
    struct capture_trial t = {0};
    nofp_chain.top(&t, 'a');
    cr_assert(returns_into(t.unwound[1], nofp_chain.mid_a), "unwinding finds mid_a");
    cr_assert(t.fp_depth < 2 || t.fp[1] != t.unwound[1],
              "the frame-pointer walk finds leaf's caller too; was the chain built with "
              "-fomit-frame-pointer?");
}
