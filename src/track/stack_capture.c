/* Capturing the current stack, with two unwinders, neither of which costs
 * a process anything until it captures its first stack.
 *
 * libgcc's _Unwind_Backtrace is linked into libstrays.so (-static-libgcc:
 * libgcc_eh.a, kept out of the program's symbol scope by the version
 * script, so C++ exceptions keep binding to the program's libgcc_s; see
 * DESIGN.md, "Traps"). It finds unwind tables with glibc's lock-free
 * _dl_find_object and keeps nothing per thread, so it is also the one a
 * signal handler may use (the crash report, the current stacks at exit).
 *
 * libunwind's unw_backtrace is about ten times faster (0.3 us for 14
 * frames) because it keeps a trace cache per thread, but that cache is
 * 256 KiB, filled in on the thread's first unwind: 10 000 threads that
 * each capture once would cost 2.6 GB (measured 274 KB of RSS per thread).
 * So each thread's first LIBGCC_UNWINDS unwinds use libgcc, and only a
 * thread that keeps unwinding (which the stack cache below makes rare)
 * moves to libunwind. libunwind is loaded privately (dlopen RTLD_LOCAL:
 * linked normally, its _Unwind_* and weak backtrace symbols would join the
 * program's global scope) by the first thread that needs it, from a hook,
 * never from a signal handler; a process that never gets there never loads
 * it. Both give the same return addresses (tests/unit/test_stack_capture.c).
 *
 * st_stack_here, which every hook uses, remembers where on the stack each
 * return address of a capture lay and, called again from the same stack
 * position, checks those words instead of unwinding: a hot loop costs a few
 * loads instead of an unwind (0.3-0.6 us per capture measured inside a
 * thread or fd churn, where the tables are out of cache). See "Stack
 * cache" below for why the check is sound. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "base/log.h"
#include "base/options.h"
#include "base/libc.h"
#include "base/st.h"
#include "base/sys.h"
#include "track/per_thread.h"
#include "track/stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <unwind.h>

typedef int (*unw_backtrace_fn)(void **buffer, int size);

#define LIBGCC_UNWINDS 64 /* per thread, before it moves to libunwind */

static unw_backtrace_fn unw_backtrace_ptr; /* NULL until libunwind is loaded */
enum { LIBUNWIND_NOT_TRIED, LIBUNWIND_LOADING, LIBUNWIND_TRIED };
static int libunwind_state;
ST_HOT_DATA static uintptr_t own_lo, own_hi;

ST_EVERY_PROCESS
void st_stack_set_own_range(uintptr_t lo, uintptr_t hi)
{
    own_lo = lo;
    own_hi = hi;
}

/* Room for the frames kept and strays' own around them. */
static int want_of(int max) { return max > ST_STACK_MAX ? ST_STACK_MAX + 16 : max + 16; }

/* fork must not happen while a thread is inside libunwind: its internal
 * locks would stay locked in the child, and the child's first capture would
 * wait forever (seen with Criterion forking its workers). Threads count
 * themselves in; the forking thread raises fork_pending and waits for the
 * count to drop to zero before fork goes on. */
static int unwinding;
static int fork_pending;

static void unwind_enter(bool wait_for_fork)
{
    if (!wait_for_fork) {
        __atomic_add_fetch(&unwinding, 1, __ATOMIC_SEQ_CST);
        return;
    }
    for (;;) {
        while (__atomic_load_n(&fork_pending, __ATOMIC_ACQUIRE))
            sched_yield();
        __atomic_add_fetch(&unwinding, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST))
            return;
        __atomic_sub_fetch(&unwinding, 1, __ATOMIC_SEQ_CST);
    }
}

static void unwind_leave(void) { __atomic_sub_fetch(&unwinding, 1, __ATOMIC_RELEASE); }

ST_EVERY_FORK
void st_stack_capture_before_fork(void)
{
    __atomic_store_n(&fork_pending, 1, __ATOMIC_SEQ_CST);
    /* Bounded: a fork from a signal handler that interrupted a capture on
     * this very thread would wait for itself. */
    for (int i = 0; i < 100000 && __atomic_load_n(&unwinding, __ATOMIC_SEQ_CST); i++)
        sched_yield();
}

ST_EVERY_FORK
void st_stack_capture_after_fork(bool child)
{
    if (child) {
        ST_STORE_IF_CHANGED(unwinding, 0);
        /* A thread of the parent was loading libunwind: the child tries again. */
        if (__atomic_load_n(&libunwind_state, __ATOMIC_RELAXED) == LIBUNWIND_LOADING)
            __atomic_store_n(&libunwind_state, LIBUNWIND_NOT_TRIED, __ATOMIC_RELAXED);
    }
    ST_STORE_IF_CHANGED(fork_pending, 0);
}

struct raw_walk {
    void **raw;
    int n, want;
};

static _Unwind_Reason_Code on_raw_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct raw_walk *w = arg;
    if (w->n == w->want)
        return _URC_END_OF_STACK;
    w->raw[w->n++] = (void *)_Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

/* Inlined, so raw[0] is an address in the calling function and raw[1] its
 * return address, whichever unwinder runs. libunwind only when it is
 * loaded, this thread is past its libgcc unwinds, and the caller allows it
 * (signal handlers do not: libunwind finds its tables under the loader's
 * lock, through dl_iterate_phdr). wait_for_fork: see unwind_enter. */
static inline __attribute__((always_inline)) int unwind(void **raw, int want, bool libunwind_ok,
                                                        bool wait_for_fork)
{
    unw_backtrace_fn fn = libunwind_ok ? __atomic_load_n(&unw_backtrace_ptr, __ATOMIC_ACQUIRE)
                                       : NULL;
    struct st_per_thread *ts = st_per_thread();
    int n;
    unwind_enter(wait_for_fork);
    if (!fn || ts->unwinds < LIBGCC_UNWINDS) {
        ts->unwinds++;
        struct raw_walk w = {raw, 0, want};
        _Unwind_Backtrace(on_raw_frame, &w);
        n = w.n;
        if (n > 0 && raw[n - 1] == NULL) /* libgcc ends with a 0 above _start */
            n--;
        ts->last_unwinder = ST_UNWINDER_LIBGCC;
    } else {
        n = fn(raw, want);
        ts->last_unwinder = ST_UNWINDER_LIBUNWIND;
    }
    unwind_leave();
    return n;
}

enum st_unwinder st_stack_last_unwinder(void)
{
    return (enum st_unwinder)st_per_thread()->last_unwinder;
}

static bool is_own(uintptr_t pc) { return pc >= own_lo && pc < own_hi; }

/* Keeps raw[1..n) but strays' own frames: its hooks at the top, and the
 * main() wrapper at the bottom, so stacks read as they would without
 * strays. raw[0] is the capturing function itself (its own frame when
 * strays is linked into the program, as in the unit tests). Up to max
 * frames; *used is how many raw entries gave them. */
static int program_frames(void *const *raw, int n, uintptr_t *frames, int max, int *used)
{
    int depth = 0, i = 1;
    for (; i < n && depth < max; i++) {
        /* cppcheck-suppress uninitvar ; raw[0..n) is what the unwinder wrote */
        uintptr_t pc = (uintptr_t)raw[i];
        if (!is_own(pc))
            frames[depth++] = pc;
    }
    *used = i;
    return depth;
}

__attribute__((noinline)) int st_stack_capture(uintptr_t *frames, int max)
{
    void *raw[ST_STACK_MAX + 16];
    int used;
    return program_frames(raw, unwind(raw, want_of(max), true, true), frames, max, &used);
}

__attribute__((noinline)) int st_stack_capture_in_handler(uintptr_t *frames, int max)
{
    void *raw[ST_STACK_MAX + 16];
    int used;
    return program_frames(raw, unwind(raw, want_of(max), false, true), frames, max, &used);
}

__attribute__((noinline)) int st_stack_capture_crashing(uintptr_t *frames, int max)
{
    void *raw[ST_STACK_MAX + 16];
    int used;
    return program_frames(raw, unwind(raw, want_of(max), false, false), frames, max, &used);
}

/* ------------------------------------------------------------ Stack cache
 *
 * Per thread, keyed by st_stack_here's frame address (sp): an entry holds
 * the interned result and where, relative to sp, each return address of
 * the unwind lay. A later call at the same sp is a hit when every one of
 * those words still holds the same return address.
 *
 * Why that proves the stack is the same: the first slot (sp + 8) is
 * written by the call into st_stack_here, so it is genuine. If slot k holds
 * the same return address, frame k is the same function at the same call
 * site, and unless its frame has a variable size its caller's slot is at
 * the same offset as before, so checking that is a real check, and so on
 * outwards. Variable-size frames (alloca, VLA) keep a frame pointer, the
 * frame's base, saved by some frame further in (at the latest by
 * st_stack_here's own push of rbp); so the entry also pins every word
 * between sp and the last slot that held the base of a frame of the chain
 * (a slot's address minus 8): if such a frame moved, its saved base
 * differs. What is left is stack realignment (DRAP) in a frame that moved
 * by less than its alignment while stale words kept the old return
 * addresses in place.
 *
 * The slots are found by a second unwind, with libgcc's _Unwind_Backtrace:
 * for each frame, _Unwind_GetCFA gives the stack pointer at its call, just
 * above the return address the call pushed (x86-64 psABI). Slower than
 * unw_backtrace, it runs only for captures repeated at the same sp (a
 * one-off costs nothing more), within a budget that hits replenish, and
 * only inside the thread's own stack, whose bounds are found once per thread
 * (stack_bounds): every word read lies between sp and the stack's top, so
 * is mapped. On another stack (coroutines, sigaltstack) the cache is not
 * used. */

#define CACHE_SETS 4            /* per thread, chosen by sp */
#define CACHE_WAYS 2            /* per set, as two paths may share an sp; way ^ 1 is the other */
#define CACHE_SLOTS 48          /* return addresses an entry can check */
#define CACHE_CHECKS 80         /* words an entry can check: slots, then pinned bases */
#define SCAN_BYTES (256u << 10) /* how far above sp a slot may be */
#define RECENT ST_STACK_RECENT /* sps of recent misses, to remember the second time */
#define RECORD_COST 8           /* a recording costs about as much as 8 misses save */
#define CREDIT (16 * RECORD_COST)

/* Since an entry is only used at the sp it was made at, the value every
 * checked word must hold is known when it is made, whether it is a return
 * address (strays' own or the program's) or a pinned frame base (sp plus a
 * constant): a hit is one flat compare per word. */
struct cache_entry {
    uintptr_t sp; /* 0: empty */
    const struct st_stack *stack;
    uint16_t max;    /* st_opt.stack_depth when captured */
    uint16_t checks; /* words checked: the slots first, in increasing order */
    uint16_t off[CACHE_CHECKS];   /* word i is at sp + 8 * off[i] */
    uintptr_t want[CACHE_CHECKS]; /* and must hold want[i] */
};

/* Recording costs a second, slower unwind: it is paid from a credit that
 * hits earn, one each, and that a trickle of misses earns, so a site that
 * keeps missing (three call paths at one sp, say) stops being recorded. */
struct st_stack_cache {
    uintptr_t lo, hi; /* this thread's stack */
    unsigned credit;
    unsigned misses;                /* since the last credit earned by missing */
    uint8_t recent_way[CACHE_SETS]; /* the way last hit or written, kept on replacement */
    struct cache_entry e[CACHE_SETS][CACHE_WAYS];
};

struct frame_walk {
    int n;
    uintptr_t ip[CACHE_SLOTS + 8], cfa[CACHE_SLOTS + 8];
};

/* The cache and its flags are in the thread's state (per_thread.h),
 * whose exit path frees the cache. */

static unsigned caches_live;

unsigned st_stack_caches_live(void) { return __atomic_load_n(&caches_live, __ATOMIC_RELAXED); }

void st_stack_cache_release(struct st_stack_cache *cache)
{
    __atomic_sub_fetch(&caches_live, 1, __ATOMIC_RELAXED);
    free(cache);
}

ST_EVERY_FORK
void st_stack_cache_after_fork_child(const struct st_stack_cache *self)
{
    ST_STORE_IF_CHANGED(caches_live, self ? 1u : 0u);
}

/* ld.so's: the stack pointer _start began with. */
extern void *__libc_stack_end; // NOLINT(bugprone-reserved-identifier): glibc's own name for it

/* This thread's stack. pthread_getattr_np gives any thread's, but for the
 * main thread it reads /proc/self/maps; there every frame lies below where
 * _start began, and the stack grows down at most RLIMIT_STACK from there
 * (1 GiB is assumed when that is unlimited). */
static bool stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
    if (st_gettid() == getpid()) {
        struct rlimit rl;
        size_t size = 1ul << 30;
        if (st_sys_getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur < size)
            size = rl.rlim_cur;
        *hi = (uintptr_t)__libc_stack_end;
        *lo = *hi > size ? *hi - size : 0;
        return *hi != 0;
    }
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return false;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    *lo = (uintptr_t)addr;
    *hi = (uintptr_t)addr + size;
    return rc == 0;
}

/* Made once per thread, on its first repeated capture, unless the thread
 * has ended: a capture from an exit destructor must not make another. */
static struct st_stack_cache *cache_create(struct st_per_thread *ts)
{
    ts->no_cache = true; /* until it works out */
#if defined(__x86_64__) /* the slot arithmetic below is x86-64's */
    uintptr_t lo, hi;
    if (ts->phase != ST_PHASE_LIVE || !stack_bounds(&lo, &hi) || !st_per_thread_keep(ts))
        return NULL;
    struct st_stack_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lo = lo;
    c->hi = hi;
    c->credit = CREDIT;
    __atomic_add_fetch(&caches_live, 1, __ATOMIC_RELAXED);
    ts->no_cache = false;
    ts->cache = c;
    return c;
#else
    return NULL;
#endif
}

static unsigned set_of(uintptr_t sp) { return (unsigned)(sp >> 4) % CACHE_SETS; }

/* The cache reads the words of the thread's stack between sp and the slots,
 * whatever frames they belong to: in an AddressSanitizer build (make
 * test-asan) those include other frames' redzones, so these functions are
 * left uninstrumented. Every word read lies inside the thread's stack. */
#define RAW_STACK_READ __attribute__((no_sanitize_address))

RAW_STACK_READ static uintptr_t word_at(uintptr_t sp, unsigned off)
{
    return *(const uintptr_t *)(sp + 8u * off);
}

/* Branch-free, two words a turn (find_pins makes the count even): every
 * word is read whatever the others hold. */
ST_HOT RAW_STACK_READ static bool entry_holds(const struct cache_entry *e, uintptr_t sp)
{
    uintptr_t differs = 0;
    for (unsigned i = 0; i < e->checks; i += 2)
        differs |= (word_at(sp, e->off[i]) ^ e->want[i]) |
                   (word_at(sp, e->off[i + 1]) ^ e->want[i + 1]);
    return differs == 0;
}

/* A stack with frames in an unloaded module is not handed out again: a
 * module loaded at the same place later is other code. The first slot (the
 * return address into st_stack_here's caller) is looked at alone first: two
 * paths that take turns at one sp (pthread_create's hook and pthread_join's,
 * called from one loop) differ there, so the wrong entry costs one word. */
RAW_STACK_READ static inline bool entry_hits(const struct cache_entry *e, uintptr_t sp, int max)
{
    return e->sp == sp && e->max == max && word_at(sp, e->off[0]) == e->want[0] &&
           !__atomic_load_n(&e->stack->unloaded, __ATOMIC_ACQUIRE) && entry_holds(e, sp);
}

static const struct st_stack *cache_lookup(uintptr_t sp, int max)
{
    struct st_per_thread *ts = st_per_thread();
    struct st_stack_cache *c = ts->cache;
    if (!c || ts->cache_busy || sp < c->lo || sp >= c->hi)
        return NULL;
    ts->cache_busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    /* The way hit last first: a loop calling from one place hits at once
     * even when another path shares its sp (a function called from two
     * places), and a miss costs a full check. */
    unsigned set = set_of(sp), way = c->recent_way[set];
    const struct st_stack *s = NULL;
    if (!entry_hits(&c->e[set][way], sp, max)) {
        way ^= 1;
        if (!entry_hits(&c->e[set][way], sp, max))
            way = CACHE_WAYS;
    }
    if (way < CACHE_WAYS) {
        s = c->e[set][way].stack;
        ts->cache_hits++;
        c->recent_way[set] = (uint8_t)way;
        if (c->credit < CREDIT)
            c->credit++;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    ts->cache_busy = false;
    return s;
}

static _Unwind_Reason_Code on_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct frame_walk *w = arg;
    if (w->n == (int)ST_ARRAY_LEN(w->ip))
        return _URC_END_OF_STACK;
    w->ip[w->n] = _Unwind_GetIP(ctx);
    w->cfa[w->n] = _Unwind_GetCFA(ctx);
    w->n++;
    return _URC_NO_REASON;
}

/* Finds the slots of raw[1..used) into e: the walk must show the same
 * return addresses from st_stack_here's caller on (whose stack pointer at
 * the call is sp + 16, for st_stack_here's frame address is sp), each
 * where the CFA says. */
RAW_STACK_READ static bool find_slots(struct cache_entry *e, uintptr_t sp, uintptr_t hi,
                                     void *const *raw, int used)
{
    struct frame_walk w;
    w.n = 0;
    _Unwind_Backtrace(on_frame, &w);
    int j = 0;
    while (j < w.n && !(w.ip[j] == (uintptr_t)raw[1] && w.cfa[j] == sp + 16))
        j++;
    if (j + used - 1 > w.n)
        return false;
    uintptr_t prev = sp;
    for (int k = 1; k < used; k++) {
        uintptr_t pc = (uintptr_t)raw[k];
        uintptr_t slot = w.cfa[j + k - 1] - 8;
        if (w.ip[j + k - 1] != pc || slot <= prev || slot + 8 > hi || slot - sp >= SCAN_BYTES ||
            *(const uintptr_t *)slot != pc)
            return false;
        prev = slot;
        e->off[k - 1] = (uint16_t)((slot - sp) / 8);
        e->want[k - 1] = pc;
    }
    e->checks = (uint16_t)(used - 1);
    return true;
}

/* Pins the words from sp to the last slot that hold a frame base of the
 * chain (a slot's address minus 8), after the slots. */
RAW_STACK_READ static bool find_pins(struct cache_entry *e, uintptr_t sp)
{
    unsigned slots = e->checks, checks = slots;
    uintptr_t last = sp + 8u * e->off[slots - 1];
    for (uintptr_t a = sp; a < last; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        if (w <= sp || w >= last || (w & 7))
            continue;
        unsigned lo = 0, hi = slots; /* binary search: is w + 8 a slot? (offsets increase) */
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (sp + 8u * e->off[mid] < w + 8)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == slots || sp + 8u * e->off[lo] != w + 8)
            continue;
        if (checks == CACHE_CHECKS)
            return false;
        e->off[checks] = (uint16_t)((a - sp) / 8);
        e->want[checks] = w;
        checks++;
    }
    _Static_assert(CACHE_CHECKS % 2 == 0, "room to make the count even");
    if (checks & 1) { /* entry_holds takes two at a time: check the first twice */
        e->off[checks] = e->off[0];
        e->want[checks] = e->want[0];
        checks++;
    }
    e->checks = (uint16_t)checks;
    return true;
}

static bool seen_recently(struct st_per_thread *ts, uintptr_t sp)
{
    for (unsigned i = 0; i < RECENT; i++)
        if (ts->recent[i] == sp)
            return true;
    ts->recent[ts->recent_next++ % RECENT] = sp;
    return false;
}

static void cache_remember(uintptr_t sp, void *const *raw, int used, const struct st_stack *s,
                           int max)
{
    struct st_per_thread *ts = st_per_thread();
    if (ts->no_cache || ts->cache_busy || used < 2 || used - 1 > CACHE_SLOTS ||
        !seen_recently(ts, sp))
        return;
    struct st_stack_cache *c = ts->cache ? ts->cache : cache_create(ts);
    if (!c || sp < c->lo || sp >= c->hi)
        return;
    if (++c->misses >= 256 && c->credit < CREDIT) {
        c->misses = 0;
        c->credit += RECORD_COST; /* a site may start repeating later */
    }
    if (c->credit < RECORD_COST)
        return;
    c->credit -= RECORD_COST;
    ts->cache_busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    unsigned set = set_of(sp), way = c->recent_way[set] ^ 1;
    if (c->e[set][0].sp == 0 || c->e[set][1].sp == 0)
        way = c->e[set][0].sp == 0 ? 0 : 1;
    c->recent_way[set] = (uint8_t)way;
    struct cache_entry *e = &c->e[set][way];
    e->sp = 0;
    if (find_slots(e, sp, c->hi, raw, used) && find_pins(e, sp)) {
        e->stack = s;
        e->max = (uint16_t)max;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        e->sp = sp;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    ts->cache_busy = false;
}

/* A miss: unwinds from here, keeps the program's frames, and maybe
 * remembers where they lay. Called only by st_stack_here, never as a tail
 * call (see there), so raw[1] is in st_stack_here and from raw + 1 on the
 * layout is that of an unwind made by st_stack_here itself. */
static bool try_load_libunwind(void);

static __attribute__((noinline)) const struct st_stack *capture_missed(uintptr_t sp, int max)
{
    void *raw[ST_STACK_MAX + 17];
    uintptr_t frames[ST_STACK_MAX];
    if (ST_UNLIKELY(st_per_thread()->unwinds >= LIBGCC_UNWINDS))
        try_load_libunwind(); /* this thread moves on to libunwind */
    int n = unwind(raw, want_of(max) + 1, true, true);
    if (n < 2)
        return st_stack_intern(frames, 0);
    int used;
    int depth = program_frames(raw + 1, n - 1, frames, max, &used);
    const struct st_stack *s = st_stack_intern(frames, depth);
    if (s)
        cache_remember(sp, raw + 1, used, s, max);
    return s;
}

/* Not inlined: its frame address is the cache key and its return address
 * the first slot. A hit costs the lookup and nothing else: the unwinding
 * and its large frame are in capture_missed. */
ST_HOT __attribute__((noinline)) const struct st_stack *st_stack_here(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    int max = st_opt.stack_depth;
    const struct st_stack *s = cache_lookup(sp, max);
    if (ST_LIKELY(s))
        return s;
    s = capture_missed(sp, max);
    /* Keeps the call above from becoming a jump: capture_missed counts on
     * finding this frame between its own and the caller's. */
    __asm__ volatile("" : "+r"(s));
    return s;
}

unsigned long st_stack_cache_hits(void) { return st_per_thread()->cache_hits; }

/* Loads libunwind and warms it up: its first use takes a lock and opens a
 * pipe (whose fds the hooks move to strays' high range, the guard being
 * up). Never from a signal handler. */
static void load_libunwind(void)
{
    /* Debian's libunwind.so.1 is LLVM's unwinder, not this one: ask for .8. */
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    unw_backtrace_fn fn = lib ? (unw_backtrace_fn)dlsym(lib, "unw_backtrace") : NULL;
    if (!fn) {
        if (lib)
            st_libc_dlclose(lib); /* a libunwind.so.8 without unw_backtrace */
        st_logf("libunwind.so.8 not found; every stack is captured with libgcc's unwinder, "
                "which is slower");
        return;
    }
    void *warm[4];
    unwind_enter(true);
    fn(warm, 4);
    unwind_leave();
    __atomic_store_n(&unw_backtrace_ptr, fn, __ATOMIC_RELEASE);
    /* cppcheck-suppress resourceLeak ; lib stays loaded: fn lives in it */
}

/* The first thread to get here loads libunwind; one that finds another
 * thread at it goes on with libgcc rather than wait: a dlopen waits for the
 * loader's lock, which a thread waiting for this one (a library constructor
 * joining the thread it started) may hold. Returns whether it was tried. */
static bool try_load_libunwind(void)
{
    int state = __atomic_load_n(&libunwind_state, __ATOMIC_ACQUIRE);
    if (state == LIBUNWIND_NOT_TRIED &&
        __atomic_compare_exchange_n(&libunwind_state, &state, LIBUNWIND_LOADING, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        load_libunwind();
        __atomic_store_n(&libunwind_state, LIBUNWIND_TRIED, __ATOMIC_RELEASE);
        return true;
    }
    return state == LIBUNWIND_TRIED;
}

int st_stack_capture_init(void)
{
    while (!try_load_libunwind())
        sched_yield();
    return __atomic_load_n(&unw_backtrace_ptr, __ATOMIC_ACQUIRE) ? 0 : -ENOENT;
}
