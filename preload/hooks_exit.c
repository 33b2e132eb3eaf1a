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

ST_HOT_DATA static int (*program_main)(int, char **, char **);

ST_EVERY_PROCESS
static int main_wrapper(int argc, char **argv, char **envp)
{
    int status = program_main(argc, argv, envp);
    st_runtime_note_exit(status);
    exit(status);
}

ST_EVERY_PROCESS
INTERPOSER int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                                 void (*init)(void), void (*fini)(void),
                                 void (*rtld_fini)(void), void *stack_end)
{
    program_main = main;
    return REAL(__libc_start_main)(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* One exit at a time (st_runtime_exit_claim): a second thread that calls
 * exit waits here for the first to end the process. */
ST_EVERY_PROCESS
static void wait_if_another_thread_exits(void)
{
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_READY &&
        !st_runtime_exit_claim())
        st_runtime_exit_wait();
}

/* A vfork child that calls exit (it should call _exit) must not note its
 * status in its parent's memory: the guard is up in it (hooks_vfork.c). */
ST_EVERY_PROCESS
INTERPOSER void exit(int status)
{
    if (st_guard_depth == 0) {
        wait_if_another_thread_exits();
        st_runtime_note_exit(status);
    }
    REAL(exit)(status);
    __builtin_unreachable();
}

ST_EVERY_FORK
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
ST_EVERY_FORK
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

ST_EVERY_FORK
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
