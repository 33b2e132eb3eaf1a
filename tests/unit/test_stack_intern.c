/* Unit tests for stack interning (src/stack_intern.c) and the depth limits
 * of capture (src/stack_capture.c): identical frame arrays give the same
 * stored stack, kept once; any difference (a frame, the depth) gives
 * another; the stored copy is the caller's frames; 10000 stacks, interned
 * from several threads at once, all stay distinct and correct. */
#include <criterion/criterion.h>

#include "track/modules.h"
#include "base/options.h"
#include "track/stack.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    st_options_defaults(&st_opt);
}

TestSuite(stack_intern, .init = setup, .timeout = 20);

static void expect_frames(const struct st_stack *s, const uintptr_t *frames, int depth)
{
    cr_assert_not_null(s);
    cr_assert_eq(s->depth, (uint32_t)depth);
    for (int i = 0; i < depth; i++)
        cr_assert_eq(s->frames[i], frames[i], "frame %d: %#lx, want %#lx", i,
                     (unsigned long)s->frames[i], (unsigned long)frames[i]);
}

/* ------------------------------------------------------------ same, different */

Test(stack_intern, identical_frames_give_the_same_stack_stored_once)
{
    uintptr_t a[] = {0x401000, 0x401234, 0x7f0000001000};
    uintptr_t b[] = {0x401000, 0x401234, 0x7f0000001000}; /* another array, same frames */
    unsigned before = st_stack_interned_count();
    const struct st_stack *sa = st_stack_intern(a, 3);
    const struct st_stack *sb = st_stack_intern(b, 3);
    cr_assert_not_null(sa);
    cr_assert_eq(sa, sb, "one stored copy for identical frames");
    cr_assert_eq(st_stack_interned_count(), before + 1);
    expect_frames(sa, a, 3);
}

Test(stack_intern, stored_copy_does_not_alias_the_callers_array)
{
    uintptr_t a[] = {0x10, 0x20, 0x30, 0x40};
    const struct st_stack *s = st_stack_intern(a, 4);
    cr_assert_neq((const void *)s->frames, (const void *)a);
    a[1] = 0x99;
    cr_assert_eq(s->frames[1], 0x20, "the caller may reuse its buffer");
    const struct st_stack *changed = st_stack_intern(a, 4);
    cr_assert_neq(changed, s);
    expect_frames(changed, a, 4);
}

Test(stack_intern, one_different_frame_gives_another_stack)
{
    uintptr_t a[] = {0x1000, 0x2000, 0x3000, 0x4000};
    unsigned before = st_stack_interned_count();
    const struct st_stack *base = st_stack_intern(a, 4);
    for (int i = 0; i < 4; i++) {
        uintptr_t b[4];
        memcpy(b, a, sizeof b);
        b[i] += 1;
        const struct st_stack *other = st_stack_intern(b, 4);
        cr_assert_neq(other, base, "frame %d differs", i);
        expect_frames(other, b, 4);
    }
    cr_assert_eq(st_stack_interned_count(), before + 5);
    cr_assert_eq(st_stack_intern(a, 4), base, "the first is still found");
}

Test(stack_intern, same_frames_in_another_order_differ)
{
    uintptr_t a[] = {0xaa, 0xbb}, b[] = {0xbb, 0xaa};
    cr_assert_neq(st_stack_intern(a, 2), st_stack_intern(b, 2));
}

Test(stack_intern, a_prefix_is_another_stack)
{
    uintptr_t a[] = {0x1, 0x2, 0x3, 0x4, 0x5};
    const struct st_stack *s5 = st_stack_intern(a, 5);
    const struct st_stack *s4 = st_stack_intern(a, 4);
    const struct st_stack *s1 = st_stack_intern(a, 1);
    cr_assert_neq(s5, s4);
    cr_assert_neq(s4, s1);
    cr_assert_neq(s5, s1);
    expect_frames(s5, a, 5);
    expect_frames(s4, a, 4);
    expect_frames(s1, a, 1);
    cr_assert_eq(st_stack_intern(a, 4), s4);
}

/* -------------------------------------------------------------- depth limits */

Test(stack_intern, empty_stack_is_one_stack)
{
    uintptr_t none[1] = {0};
    unsigned before = st_stack_interned_count();
    const struct st_stack *s = st_stack_intern(none, 0);
    cr_assert_not_null(s);
    cr_assert_eq(s->depth, 0);
    cr_assert_eq(st_stack_intern(none, 0), s);
    cr_assert_eq(st_stack_intern(none, -3), s, "a negative depth is an empty stack");
    cr_assert_eq(st_stack_interned_count(), before + 1);
}

Test(stack_intern, full_depth_stack_is_kept_whole)
{
    uintptr_t a[ST_STACK_MAX], b[ST_STACK_MAX];
    for (int i = 0; i < ST_STACK_MAX; i++)
        a[i] = b[i] = 0x400000 + (uintptr_t)i * 0x10;
    b[ST_STACK_MAX - 1] += 8; /* differs only in the outermost frame */
    const struct st_stack *sa = st_stack_intern(a, ST_STACK_MAX);
    const struct st_stack *sb = st_stack_intern(b, ST_STACK_MAX);
    expect_frames(sa, a, ST_STACK_MAX);
    expect_frames(sb, b, ST_STACK_MAX);
    cr_assert_neq(sa, sb);
}

/* A call chain n frames deep, then st_stack_here at the bottom. */
__attribute__((noinline)) static const struct st_stack *here_at_depth(int n)
{
    const struct st_stack *s = n > 0 ? here_at_depth(n - 1) : st_stack_here();
    __asm__ volatile("" ::: "memory"); /* no tail call: every level keeps its frame */
    return s;
}

Test(stack_intern, capture_keeps_stack_depth_frames)
{
    st_opt.stack_depth = 1;
    cr_assert_eq(here_at_depth(10)->depth, 1);
    st_opt.stack_depth = 5;
    cr_assert_eq(here_at_depth(10)->depth, 5);
    st_opt.stack_depth = 32;
    cr_assert_eq(here_at_depth(60)->depth, 32, "the default");
}

Test(stack_intern, capture_keeps_at_most_128_frames)
{
    st_opt.stack_depth = ST_STACK_MAX;
    cr_assert_eq(here_at_depth(300)->depth, ST_STACK_MAX);
}

Test(stack_intern, capture_of_a_shallow_stack_is_whole)
{
    st_opt.stack_depth = ST_STACK_MAX;
    const struct st_stack *deep = here_at_depth(40);
    cr_assert_gt(deep->depth, 40, "every level of the chain is there");
    cr_assert_lt(deep->depth, ST_STACK_MAX);
}

Test(stack_intern, captures_from_one_site_share_a_stack)
{
    const struct st_stack *s[3];
    volatile int rounds = 3; /* a loop the compiler cannot unroll into 3 call sites */
    for (int i = 0; i < rounds; i++)
        s[i] = here_at_depth(3);
    cr_assert_eq(s[0], s[1]);
    cr_assert_eq(s[1], s[2]);
    cr_assert_neq(here_at_depth(4), s[0], "another depth, another stack");
}

/* ------------------------------------------------------------- many stacks */

#define MANY 10000
#define MANY_DEPTH 12

/* Stack i: distinct for every i; stacks share their outer frames, as real
 * ones do, so they differ in a few frames only. */
static void make_stack(int i, uintptr_t *frames, int *depth)
{
    *depth = 1 + i % MANY_DEPTH;
    for (int k = 0; k < *depth; k++)
        frames[k] = 0x400000 + (uintptr_t)k * 0x100;
    frames[0] = 0x500000 + (uintptr_t)i * 8;
    if (*depth > 1) frames[1] = 0x600000 + (uintptr_t)(i / MANY_DEPTH) * 4;
}

Test(stack_intern, ten_thousand_distinct_stacks_stay_correct)
{
    const struct st_stack **got = calloc(MANY, sizeof *got);
    cr_assert_not_null(got);
    unsigned before = st_stack_interned_count();
    for (int i = 0; i < MANY; i++) {
        uintptr_t frames[MANY_DEPTH];
        int depth;
        make_stack(i, frames, &depth);
        got[i] = st_stack_intern(frames, depth);
        cr_assert_not_null(got[i]);
    }
    cr_assert_eq(st_stack_interned_count(), before + MANY, "each stored once");
    for (int i = 0; i < MANY; i++) {
        uintptr_t frames[MANY_DEPTH];
        int depth;
        make_stack(i, frames, &depth);
        expect_frames(got[i], frames, depth);
        cr_assert_eq(st_stack_intern(frames, depth), got[i], "stack %d found again", i);
    }
    cr_assert_eq(st_stack_interned_count(), before + MANY, "nothing added the second time");
    free(got);
}

struct intern_job {
    int first;
    const struct st_stack **got;
};

static void *intern_all(void *arg)
{
    struct intern_job *job = arg;
    for (int n = 0; n < MANY; n++) {
        int i = (job->first + n) % MANY; /* threads start at different places */
        uintptr_t frames[MANY_DEPTH];
        int depth;
        make_stack(i, frames, &depth);
        job->got[i] = st_stack_intern(frames, depth);
    }
    return NULL;
}

Test(stack_intern, threads_interning_the_same_stacks_get_the_same_copies)
{
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    struct intern_job jobs[THREADS];
    unsigned before = st_stack_interned_count();
    for (int k = 0; k < THREADS; k++) {
        jobs[k].first = k * (MANY / THREADS);
        jobs[k].got = calloc(MANY, sizeof *jobs[k].got);
        cr_assert_eq(pthread_create(&t[k], NULL, intern_all, &jobs[k]), 0);
    }
    for (int k = 0; k < THREADS; k++)
        pthread_join(t[k], NULL);
    cr_assert_eq(st_stack_interned_count(), before + MANY);
    for (int i = 0; i < MANY; i++) {
        cr_assert_not_null(jobs[0].got[i]);
        for (int k = 1; k < THREADS; k++)
            cr_assert_eq(jobs[k].got[i], jobs[0].got[i], "stack %d, thread %d", i, k);
    }
    for (int k = 0; k < THREADS; k++)
        free(jobs[k].got);
}

/* ---- st_stack_here's per-position cache never returns a wrong stack ---- */

__attribute__((noinline)) static const struct st_stack *leaf(void)
{
    const struct st_stack *s = st_stack_here();
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return s;
}

/* Two callers of the same shape: leaf runs at the same stack position from
 * either, so only the return addresses on the stack tell them apart. */
__attribute__((noinline)) static const struct st_stack *via_a(void)
{
    const struct st_stack *s = leaf();
    __asm__ volatile("" ::: "memory");
    return s;
}

__attribute__((noinline)) static const struct st_stack *via_b(void)
{
    const struct st_stack *s = leaf();
    __asm__ volatile("" ::: "memory");
    return s;
}

/* A return address inside fn: past its start, before the next of the two. */
static bool has_frame_near(const struct st_stack *s, uintptr_t fn)
{
    uintptr_t a = (uintptr_t)via_a, b = (uintptr_t)via_b;
    uintptr_t span = a > b ? a - b : b - a;
    if (span > 64)
        span = 64;
    for (uint32_t i = 0; i < s->depth; i++)
        if (s->frames[i] > fn && s->frames[i] < fn + span)
            return true;
    return false;
}

Test(stack_intern, cache_at_one_stack_position_tells_two_call_paths_apart)
{
    const struct st_stack *ref_a = NULL, *ref_b = NULL;
    for (int i = 0; i < 10000; i++) {
        /* Same call sites every round, alternating the two paths. */
        const struct st_stack *a = via_a();
        const struct st_stack *b = via_b();
        if (i == 0) {
            ref_a = a;
            ref_b = b;
            cr_assert_neq(a, b);
            cr_assert(has_frame_near(a, (uintptr_t)via_a) && !has_frame_near(a, (uintptr_t)via_b));
            cr_assert(has_frame_near(b, (uintptr_t)via_b) && !has_frame_near(b, (uintptr_t)via_a));
        }
        cr_assert_eq(a, ref_a, "round %d: path a got another stack", i);
        cr_assert_eq(b, ref_b, "round %d: path b got another stack", i);
    }
}

/* ------------------------------------------------------------ unloaded modules */

Test(stack_intern, unloading_a_module_marks_the_frames_that_were_in_it)
{
    /* Addresses of their own, so no other test's stacks are in the span. */
    uintptr_t in_plugin[] = {0x5a0001010, 0x5a0002020, 0x401000};
    uintptr_t elsewhere[] = {0x401000, 0x401234};
    const struct st_stack *before = st_stack_intern(in_plugin, 3);
    const struct st_stack *other = st_stack_intern(elsewhere, 2);
    static struct st_unloaded_module plugin = {0x5a0000000, 0x5a0001000, 0x5a0003000,
                                               "/lib/plugin.so", "abcd"};
    st_stack_mark_unloaded(&plugin);
    cr_assert_not_null(before->unloaded);
    cr_assert_eq(before->unloaded[0], &plugin);
    cr_assert_eq(before->unloaded[1], &plugin);
    cr_assert_null(before->unloaded[2], "the program's own frame stays as it is");
    cr_assert_null(other->unloaded, "a stack without frames there is untouched");
    /* The same addresses captured now hold other code: a stack of their own. */
    const struct st_stack *after = st_stack_intern(in_plugin, 3);
    cr_assert_neq(after, before);
    cr_assert_null(after->unloaded);
    expect_frames(after, in_plugin, 3);
    cr_assert_eq(st_stack_intern(in_plugin, 3), after, "and that one is shared again");
}

Test(stack_intern, a_second_unload_adds_to_what_a_stack_knew)
{
    uintptr_t frames[] = {0x6b0001000, 0x6c0001000};
    const struct st_stack *s = st_stack_intern(frames, 2);
    static struct st_unloaded_module first = {0x6b0000000, 0x6b0000000, 0x6b0002000, "/a.so", NULL};
    static struct st_unloaded_module second = {0x6c0000000, 0x6c0000000, 0x6c0002000, "/b.so", NULL};
    st_stack_mark_unloaded(&first);
    st_stack_mark_unloaded(&second);
    cr_assert_eq(s->unloaded[0], &first);
    cr_assert_eq(s->unloaded[1], &second);
}
