/* Interposers for the ways out of a process. The exit status is noted on
 * every path (a return from main is seen by wrapping main through
 * __libc_start_main); the final report is written after the program's own
 * exit handlers (see preload.c), or right here for _exit and _Exit, which
 * run none. */
#define _GNU_SOURCE
#include "interpose.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static int (*program_main)(int, char **, char **);

static int main_wrapper(int argc, char **argv, char **envp)
{
    int status = program_main(argc, argv, envp);
    st_runtime_note_exit(status);
    exit(status);
}

INTERPOSER int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                                 void (*init)(void), void (*fini)(void),
                                 void (*rtld_fini)(void), void *stack_end)
{
    program_main = main;
    return REAL(__libc_start_main)(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* The process and thread that called exit or quick_exit first, as
 * pid << 32 | tid (the pid tells a fork child from its parent). */
static uint64_t first_exiter;

/* One exit at a time. glibc 2.36 lets a second thread that calls exit run
 * whatever exit handlers are left and then _exit, while the first thread
 * is still in its handlers: the process would end in the middle of strays'
 * final report (in the last handler), with the second thread's status. C11
 * calls exit twice undefined; like Rust's standard library (rust-lang/rust
 * #126606) strays makes the second caller wait for the first to finish the
 * process. A nested exit from the same thread (an exit handler's, or
 * strays' own to change the status) goes through. */
static void wait_if_another_thread_exits(void)
{
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) != ST_READY)
        return;
    uint64_t me = (uint64_t)getpid() << 32 | (uint32_t)st_gettid();
    uint64_t seen = __atomic_load_n(&first_exiter, __ATOMIC_ACQUIRE);
    for (;;) {
        if (seen == me)
            return;
        if (seen != 0 && seen >> 32 == me >> 32)
            break; /* another thread of this process is exiting */
        if (__atomic_compare_exchange_n(&first_exiter, &seen, me, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return;
    }
    for (;;)
        REAL(pause)();
}

/* A vfork child that calls exit (it should call _exit) must not note its
 * status in its parent's memory: the guard is up in it (hooks_vfork.c). */
INTERPOSER void exit(int status)
{
    if (st_guard_depth == 0) {
        wait_if_another_thread_exits();
        st_runtime_note_exit(status);
    }
    REAL(exit)(status);
    __builtin_unreachable();
}

INTERPOSER void quick_exit(int status)
{
    if (st_guard_depth == 0) {
        wait_if_another_thread_exits();
        st_runtime_note_exit(status);
    }
    REAL(quick_exit)(status);
    __builtin_unreachable();
}

/* _exit runs no handlers: report now. A vfork child shares strays' memory
 * and must not touch it (st_runtime_final_report checks the pid). */
INTERPOSER void _exit(int status)
{
    int final = status;
    if (st_runtime_state == ST_READY && st_guard_depth == 0 && !st_runtime_foreign_process()) {
        st_runtime_note_exit(status);
        final = st_runtime_final_report(status & 0xff);
    }
    REAL(_exit)(final);
    __builtin_unreachable();
}

INTERPOSER void _Exit(int status)
{
    int final = status;
    if (st_runtime_state == ST_READY && st_guard_depth == 0 && !st_runtime_foreign_process()) {
        st_runtime_note_exit(status);
        final = st_runtime_final_report(status & 0xff);
    }
    REAL(_Exit)(final);
    __builtin_unreachable();
}
