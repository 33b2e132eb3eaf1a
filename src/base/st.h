/* Common definitions for the strays core: attributes, the thread-local
 * recursion guard, and the small helpers every file uses. The core never
 * calls a symbol that strays interposes: see sys.h for its raw system calls
 * and libc.h for the few libc functions it needs past the hooks (checked by
 * scripts/check-raw-calls.py). */
#ifndef STRAYS_ST_H
#define STRAYS_ST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_EXPORT __attribute__((visibility("default")))
#define ST_TLS __thread __attribute__((tls_model("initial-exec")))
#define ST_LIKELY(x) __builtin_expect(!!(x), 1)
#define ST_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For the few functions every hooked call runs: the linker keeps them
 * together (.text.hot), so a call touches few code pages, which matters
 * right after a system call has evicted them. */
#define ST_HOT __attribute__((hot))
/* For the code every process runs whether it leaks or not: strays' start
 * and a clean exit. First in .text (preload/start.ld), beside the headers
 * the loader reads anyway, so a clean process touches one 32 KiB window of
 * strays' code instead of one per file it passes through (a window first
 * touched costs 12-20 us on the VMs CI runs on: docs/performance.md). */
#define ST_EVERY_PROCESS __attribute__((section(".text.hot.st_every_process")))
/* For the code of fork's handlers and of what a forked child runs: beside
 * the start code. A child does not inherit its parent's mappings of code
 * pages, so it faults in again each window of code it runs, and shells
 * fork for every command. */
#define ST_EVERY_FORK ST_EVERY_PROCESS
/* For the code that every process under `strays run` runs and a process
 * given no options does not: parsing STRAYS_OPTIONS, and writing the report
 * of a process with nothing to report (report files are always written).
 * After the code above (preload/start.ld), so such a process faults in one
 * window more at most. */
#define ST_EVERY_REPORT __attribute__((section(".text.sorted.st_every_report")))
/* For the constants that code reads (strings, tables): beside it, in the
 * text (preload/start.ld), not in .rodata's window of its own. A string
 * literal cannot be placed, so such strings are named arrays. */
#define ST_EVERY_PROCESS_DATA __attribute__((section(".rodata.st_every_process")))
/* The same for the variables every hooked call reads and every process
 * writes (strays' start, a clean exit): in .data, on the one page of
 * strays' data that the dynamic loader writes anyway (relocations, the
 * GOT), rather than wherever .bss puts them, a page fault more.
 * scripts/check-start-path.py checks that a clean process writes no other;
 * tables of pointers are relocated, so written too: arrays of characters
 * keep them in .rodata. */
#define ST_HOT_DATA __attribute__((section(".data.st_hot")))
/* For large zeroed tables that most processes never touch: after all of
 * .bss (the linker's .lbss), so the small variables every process writes at
 * start share a page or two; each page first written costs a page fault,
 * which on some virtual machines costs more than all of strays' start. */
#define ST_LARGE_BSS __attribute__((section(".lbss")))
#define ST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Stores value in var only when it holds something else (with release
 * order). For fork's handlers: after a fork each page strays writes, in the
 * parent or the child, is copied at a page fault, and most of what they
 * reset is already as it should be. */
#define ST_STORE_IF_CHANGED(var, value)                                                    \
    do {                                                                                   \
        __typeof__(var) st_new_ = (value);                                                 \
        if (__atomic_load_n(&(var), __ATOMIC_RELAXED) != st_new_)                          \
            __atomic_store_n(&(var), st_new_, __ATOMIC_RELEASE);                           \
    } while (0)

/* The release, as CHANGELOG.md names it: `strays --version`, every report,
 * strays.pc and the manuals carry this one string (the Makefile reads it). */
#define STRAYS_VERSION "0.2.0"

/* Depth of strays' own activity on this thread. While it is non-zero every
 * hook passes straight through: strays' own opens, closes, thread starts and
 * locks (and those of libunwind or libdw on its behalf) are never tracked. */
extern ST_TLS int st_guard_depth;

static inline void st_guard_enter(void) { st_guard_depth++; }
static inline void st_guard_leave(void) { st_guard_depth--; }

/* Monotonic time in nanoseconds from a cheap (vDSO, coarse) clock. */
uint64_t st_now_ns(void);
/* The same clock by a system call: for strays' start and a clean process's
 * report, where the vDSO's pages would be faulted in for one read (sys.h). */
uint64_t st_now_ns_by_syscall(void);
/* Time zero of st_uptime_ns (0 until its first use fixes it). */
extern uint64_t st_start_ns;
uint64_t st_uptime_ns_first(uint64_t now);
/* Nanoseconds since strays started watching this process at now, a time of
 * st_now_ns's clock (the first use fixes time zero). */
static inline uint64_t st_uptime_at(uint64_t now)
{
    uint64_t started = __atomic_load_n(&st_start_ns, __ATOMIC_RELAXED);
    if (ST_UNLIKELY(started == 0))
        return st_uptime_ns_first(now);
    return now > started ? now - started : 0;
}
/* The same now. Inline: every record is stamped. */
static inline uint64_t st_uptime_ns(void) { return st_uptime_at(st_now_ns()); }

/* The calling thread's errno, found once per thread: the hooks keep the
 * program's errno around strays' own work on every call. */
extern ST_TLS int *st_errno_ptr;
int *st_errno_first(void);
static inline int *st_errno(void)
{
    int *e = st_errno_ptr;
    return ST_LIKELY(e != NULL) ? e : st_errno_first();
}
/* The calling thread's kernel tid, cached per thread (0: not yet). */
extern ST_TLS int st_cached_tid;
int st_gettid_slow(void);
/* Another thread's kernel tid, from its handle, even before it first runs
 * (clone writes it into the descriptor); -1 when that cannot be read. */
int st_tid_of(pthread_t thread);
static inline int st_gettid(void)
{
    int tid = st_cached_tid;
    return ST_LIKELY(tid != 0) ? tid : st_gettid_slow();
}
/* Forgets the cached tid and start time after fork (child side). */
void st_clock_after_fork(void);

#endif
