/* Threads given a moment before a final report; see thread_settle.h. A
 * thread that is on a CPU (or waiting for one) outside any hooked wait is
 * either about to end (the teardown after its runtime's join) or busy for
 * good (a spinning leak): waiting until it ends or sleeps costs the spinner
 * 100 ms once, at exit, and makes the teardown's verdict deterministic. */
#include "collect/thread_settle.h"

#include "base/arena.h"
#include "base/st.h"
#include "base/sys.h"
#include "track/registry_thread.h"
#include "track/waits.h"

#include <stdlib.h>
#include <string.h>

#define SETTLE_MS 100

struct tid_list {
    struct st_arena *arena;
    int *tids;
    uint32_t n, cap;
};

static void tid_add(struct tid_list *l, int tid)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 64;
        int *grown = st_arena_alloc(l->arena, cap * sizeof *grown);
        if (!grown)
            return;
        if (l->n)
            memcpy(grown, l->tids, l->n * sizeof *grown);
        l->tids = grown;
        l->cap = cap;
    }
    l->tids[l->n++] = tid;
}

struct thread_scan {
    struct tid_list running; /* tracked, started, not ended */
    int starting;
    int self;
};

static void scan_thread(const struct st_thread_view *v, void *ctx)
{
    struct thread_scan *s = ctx;
    if (v->ignored)
        return;
    if (v->state == ST_THREAD_STARTING)
        s->starting++;
    else if (v->state == ST_THREAD_RUNNING && v->tid > 0 && v->tid != s->self)
        tid_add(&s->running, v->tid);
}

static void scan_wait(const struct st_wait_view *v, void *ctx) { tid_add(ctx, v->tid); }

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Whether /proc says the thread is running or runnable (state R). */
static bool on_cpu(int tid)
{
    char buf[512];
    if (st_sys_read_task_file(tid, "stat", buf, sizeof buf) <= 0)
        return false;
    /* "TID (NAME) S ...": the name may hold ')' itself, the state follows the last. */
    const char *close = strrchr(buf, ')');
    return close && close[1] == ' ' && close[2] == 'R';
}

/* Whether some thread is about to change state (thread_settle.h). */
static bool unsettled(void)
{
    struct st_arena arena = {0};
    struct thread_scan s = {.running = {.arena = &arena}, .self = st_gettid()};
    st_thread_foreach(scan_thread, &s, NULL);
    bool busy = s.starting > 0;
    if (!busy && s.running.n) {
        struct tid_list waiting = {.arena = &arena};
        st_wait_foreach(scan_wait, &waiting);
        qsort(waiting.tids, waiting.n, sizeof *waiting.tids, cmp_int);
        for (uint32_t i = 0; i < s.running.n && !busy; i++) {
            int tid = s.running.tids[i];
            busy = !bsearch(&tid, waiting.tids, waiting.n, sizeof tid, cmp_int) && on_cpu(tid);
        }
    }
    st_arena_free(&arena);
    return busy;
}

ST_EVERY_REPORT
void st_threads_settle(void)
{
    for (int waited_ms = 0; waited_ms < SETTLE_MS && unsettled(); waited_ms++)
        st_sys_sleep_ns(1000000);
}
