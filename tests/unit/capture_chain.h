/* What test_stack_capture.c and the two builds of capture_chain.inc share:
 * one trial's captures of the same stack, by each method. */
#ifndef STRAYS_TEST_CAPTURE_CHAIN_H
#define STRAYS_TEST_CAPTURE_CHAIN_H

#include "track/stack.h"

#include <stdint.h>

#define CAPTURE_ROUNDS 16

struct capture_trial {
    int path; /* 'a' or 'b': which mid function leaf was called from */
    /* st_stack_here, CAPTURE_ROUNDS times at one call site (cache) */
    const struct st_stack *cached[CAPTURE_ROUNDS];
    /* st_stack_capture: a plain unwind, every time */
    uintptr_t unwound[ST_STACK_MAX];
    int unwound_depth;
    enum st_unwinder unwinder; /* which one st_stack_capture used */
    /* a frame-pointer walk, for comparison (test_stack_capture.c) */
    uintptr_t fp[ST_STACK_MAX];
    int fp_depth;
};

struct capture_chain {
    void (*top)(struct capture_trial *t, int path);
    uintptr_t leaf, mid_a, mid_b; /* function entry points */
};

int capture_fp_walk(uintptr_t *frames, int max);

extern const struct capture_chain fp_chain, nofp_chain;

#endif
