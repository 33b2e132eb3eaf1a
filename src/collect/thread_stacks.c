/* Current stacks of running threads, taken by the threads themselves in a
 * signal handler; see thread_stacks.h. The handler stays installed once
 * set (a signal still pending in a thread that blocks it must never meet
 * the default action, which would kill the process). It is installed
 * through the signal chain (signals.h), so a later sigaction of the
 * program's is recorded rather than put in its place, and a signal strays
 * did not ask for goes on to the program's own handler, if any. The
 * handler only unwinds into a buffer prepared for its thread: no locks, no
 * allocation. Interning happens afterwards, in the asking thread. */
#define _GNU_SOURCE
#include "collect/thread_stacks.h"

#include "base/log.h"
#include "base/options.h"
#include "base/signals.h"
#include "base/st.h"
#include "base/sys.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* The handler unwinds a few frames more than it keeps: those of the signal
 * delivery itself, dropped before the stack is kept. */
#define DELIVERY_FRAMES 8

struct request {
    int tid;
    int done; /* 0 asked, 1 answered, -1 busy inside strays */
    int depth;
    uintptr_t frames[ST_STACK_MAX + DELIVERY_FRAMES];
};

static struct request *requests;
static int nrequests;

int st_thread_stack_signal(void) { return st_signal_current_stack(); }

/* Drops the frames of the signal delivery itself: the stack starts at the
 * instruction the thread was interrupted at. */
int st_stack_from_interrupted_pc(uintptr_t *frames, int depth, const void *ucontext)
{
    const ucontext_t *uc = ucontext;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    for (int i = 0; i < depth; i++)
        if (frames[i] == pc) {
            memmove(frames, frames + i, (size_t)(depth - i) * sizeof *frames);
            return depth - i;
        }
    return depth;
}

/* The open request of thread tid, or NULL. Requests are sorted by tid: ten
 * thousand threads each look theirs up at once. */
static struct request *find_request(int tid)
{
    struct request *all = __atomic_load_n(&requests, __ATOMIC_ACQUIRE);
    int lo = 0, hi = __atomic_load_n(&nrequests, __ATOMIC_ACQUIRE);
    while (all && lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (all[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!all || lo >= __atomic_load_n(&nrequests, __ATOMIC_ACQUIRE) || all[lo].tid != tid ||
        __atomic_load_n(&all[lo].done, __ATOMIC_ACQUIRE) != 0)
        return NULL;
    return &all[lo];
}

static void on_signal(int sig, siginfo_t *info, void *ucontext)
{
    int saved = errno;
    struct request *req = find_request(st_gettid());
    if (!req || info->si_code != SI_TKILL || info->si_pid != getpid()) {
        errno = saved;
        st_signal_chain(sig, info, ucontext);
        return;
    }
    if (st_guard_depth > 0) {
        /* Inside strays (maybe holding the intern table's lock): no unwinding here. */
        __atomic_store_n(&req->done, -1, __ATOMIC_RELEASE);
    } else {
        st_guard_enter();
        int depth = st_stack_capture_in_handler(req->frames, st_opt.stack_depth + DELIVERY_FRAMES);
        req->depth = st_stack_from_interrupted_pc(req->frames, depth, ucontext);
        if (req->depth > st_opt.stack_depth)
            req->depth = st_opt.stack_depth;
        st_guard_leave();
        __atomic_store_n(&req->done, 1, __ATOMIC_RELEASE);
    }
    errno = saved;
}

static int install_handler(void)
{
    int sig = st_thread_stack_signal();
    if (st_signal_taken(sig))
        return 0;
    sigset_t all;
    sigfillset(&all);
    return st_signal_take(sig, on_signal, SA_RESTART | SA_ONSTACK, &all, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Shell sort (no allocation, no qsort callback state): the crash path
 * uses this too. */
static void sort_by_tid(struct request *reqs, int n)
{
    static const int gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < ST_ARRAY_LEN(gaps); g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            int tid = reqs[i].tid, j = i;
            for (; j >= gap && reqs[j - gap].tid > tid; j -= gap)
                reqs[j].tid = reqs[j - gap].tid;
            reqs[j].tid = tid;
        }
    }
}

static struct request *request_of(struct request *reqs, int n, int tid)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (reqs[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && reqs[lo].tid == tid ? &reqs[lo] : NULL;
}

/* Asking a thread that blocks the signal would only wait out the time
 * budget (liblzma's workers block every signal, for one). Anything
 * unreadable or malformed counts as not blocked. */
bool st_thread_blocks_signal(int tid, int sig)
{
    char buf[2048];
    if (st_sys_read_task_file(tid, "status", buf, sizeof buf) <= 0)
        return false;
    const char *line = strstr(buf, "\nSigBlk:");
    if (!line)
        return false;
    char *end;
    unsigned long long mask = strtoull(line + 8, &end, 16);
    return end != line + 8 && sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
}

ST_EVERY_REPORT
int st_thread_stacks_capture(const int *tids, int n, const struct st_stack **out, int timeout_ms,
                             bool crashing)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (n <= 0 || install_handler() != 0)
        return 0;
    /* The time is shared by sending and answering: each signalled thread
     * runs its handler at once, often on the sender's CPU. */
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    /* mmap, not malloc: this also runs on the crash path. */
    size_t size = (size_t)n * sizeof(struct request);
    struct request *reqs =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reqs == MAP_FAILED)
        return 0;
    for (int i = 0; i < n; i++)
        reqs[i].tid = tids[i];
    sort_by_tid(reqs, n);
    __atomic_store_n(&nrequests, n, __ATOMIC_RELEASE);
    __atomic_store_n(&requests, reqs, __ATOMIC_RELEASE);
    pid_t pid = getpid();
    int blocking = 0;
    for (int i = 0; i < n; i++) {
        /* Past the deadline the rest are not asked: they keep no stack. */
        if ((i & 63) == 0 && now_ms() >= deadline) {
            for (; i < n; i++)
                reqs[i].done = -1;
            break;
        }
        if (st_thread_blocks_signal(reqs[i].tid, st_thread_stack_signal())) {
            reqs[i].done = -1; /* cannot answer */
            blocking++;
        } else if (st_sys_tgkill(pid, reqs[i].tid, st_thread_stack_signal()) != 0) {
            reqs[i].done = -1; /* gone already */
        }
    }
    if (blocking && !crashing && st_opt.verbosity >= 1)
        st_logf("%d running thread%s block%s strays' stack signal (%d): not asked for %s current stack",
                blocking, blocking == 1 ? "" : "s", blocking == 1 ? "s" : "", st_thread_stack_signal(),
                blocking == 1 ? "its" : "their");
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++)
            pending += __atomic_load_n(&reqs[i].done, __ATOMIC_ACQUIRE) == 0;
        if (!pending || now_ms() >= deadline)
            break;
        st_sys_sleep_ns(1000000);
    }
    /* Withdraw the requests; a handler already past the lookup may still
     * write, so the buffers are kept (not freed) if any answer is missing. */
    __atomic_store_n(&requests, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&nrequests, 0, __ATOMIC_RELEASE);
    bool all_answered = true;
    int answered = 0;
    for (int i = 0; i < n; i++) {
        struct request *req = request_of(reqs, n, tids[i]);
        int done = req ? __atomic_load_n(&req->done, __ATOMIC_ACQUIRE) : -1;
        if (done == 1) {
            out[i] = crashing ? st_stack_standalone(req->frames, req->depth)
                              : st_stack_intern(req->frames, req->depth);
            answered++;
        }
        all_answered &= done != 0;
    }
    if (all_answered)
        munmap(reqs, size);
    return answered;
}
