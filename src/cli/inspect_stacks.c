/* `strays inspect`: every thread's current stack, as eu-stack takes it.
 * Each thread is seized with PTRACE_SEIZE and stopped with
 * PTRACE_INTERRUPT (no SIGSTOP is sent, so none is left pending if strays
 * dies: the kernel then lets the threads go by itself), unwound by libdw
 * (dwfl_getthread_frames, told the threads are already stopped), and let
 * go at once, before anything is symbolized. A signal that would end
 * strays meanwhile (SIGINT, SIGTERM, a crash in libdw) lets every thread
 * go first, with the signal it had stopped on, then ends strays with it.
 * libdw is loaded with dlopen, as everywhere in strays. */
#define _GNU_SOURCE
#include "inspect.h"

#include "base/st.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 64
/* How long threads get to stop (one in uninterruptible sleep, 'D', stops
 * only when its call ends); those that have not stopped keep no stack. */
#define STOP_WAIT_MS 2000

struct dw_api {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                      void *);
    int (*proc_attach)(Dwfl *, pid_t, bool);
    int (*getthread_frames)(Dwfl *, pid_t, int (*)(Dwfl_Frame *, void *), void *);
    bool (*frame_pc)(Dwfl_Frame *, Dwarf_Addr *, bool *);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    const char *(*module_info)(Dwfl_Module *, void ***, Dwarf_Addr *, Dwarf_Addr *, Dwarf_Addr *,
                               Dwarf_Addr *, const char **, const char **);
    Elf *(*module_getelf)(Dwfl_Module *, GElf_Addr *);
    int (*build_id)(Dwfl_Module *, const unsigned char **, GElf_Addr *);
    const char *(*errmsg)(int);
};

static bool load_libdw(struct dw_api *dw, Dwfl_Callbacks *cb)
{
    memset(dw, 0, sizeof *dw);
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return false;
#define LOAD(field, sym) *(void **)&dw->field = dlsym(lib, sym)
    LOAD(begin, "dwfl_begin");
    LOAD(end, "dwfl_end");
    LOAD(proc_report, "dwfl_linux_proc_report");
    LOAD(report_end, "dwfl_report_end");
    LOAD(proc_attach, "dwfl_linux_proc_attach");
    LOAD(getthread_frames, "dwfl_getthread_frames");
    LOAD(frame_pc, "dwfl_frame_pc");
    LOAD(addrmodule, "dwfl_addrmodule");
    LOAD(module_info, "dwfl_module_info");
    LOAD(module_getelf, "dwfl_module_getelf");
    LOAD(build_id, "dwfl_module_build_id");
    LOAD(errmsg, "dwfl_errmsg");
#undef LOAD
    *(void **)&cb->find_elf = dlsym(lib, "dwfl_linux_proc_find_elf");
    *(void **)&cb->find_debuginfo = dlsym(lib, "dwfl_standard_find_debuginfo");
    /* cppcheck-suppress resourceLeak ; kept loaded: dw points into it */
    return dw->begin && dw->end && dw->proc_report && dw->report_end && dw->proc_attach &&
           dw->getthread_frames && dw->frame_pc && dw->addrmodule && dw->module_info &&
           dw->module_getelf && dw->build_id && dw->errmsg && cb->find_elf && cb->find_debuginfo;
}

/* ---- stopping and letting go ---- */

/* The threads strays has seized, for the signal handler too. */
struct seized {
    int tid;                        /* 0 once it ended */
    volatile sig_atomic_t stopped;  /* in a ptrace stop */
    volatile sig_atomic_t signal;   /* the signal it stopped on, to hand back */
    volatile sig_atomic_t released; /* detached */
};
static struct seized *volatile seized;
static volatile sig_atomic_t nseized;

/* Lets every seized thread go; async-signal-safe. A thread that is not
 * stopped cannot be detached by call, but is let go when strays ends. */
static void release_all(void)
{
    struct seized *s = seized;
    for (int i = 0; s && i < nseized; i++)
        if (s[i].tid > 0 && !s[i].released) {
            s[i].released = 1;
            ptrace(PTRACE_DETACH, s[i].tid, NULL, (void *)(long)s[i].signal);
        }
}

static const int fatal_signals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE, SIGALRM,
                                    SIGSEGV, SIGBUS,  SIGABRT, SIGFPE,  SIGILL};
static struct sigaction previous[ST_ARRAY_LEN(fatal_signals)];

static void on_fatal(int sig)
{
    release_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < ST_ARRAY_LEN(fatal_signals); i++) {
        if (on)
            sigaction(fatal_signals[i], &sa, &previous[i]);
        else
            sigaction(fatal_signals[i], &previous[i], NULL);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Takes what waitpid said of s: a stop, or the thread's end. */
static void take_status(struct seized *s, int status)
{
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        s->tid = 0; /* gone: nothing to let go */
        return;
    }
    if (!WIFSTOPPED(status)) return;
    /* A signal-delivery stop holds a signal the thread must still get; a
     * PTRACE_EVENT_STOP (the interrupt, or a group stop) holds none. */
    if (status >> 16 == 0) s->signal = WSTOPSIG(status);
    s->stopped = 1;
}

/* Waits until every seized thread has stopped or ended, or the time is up. */
static void wait_stopped(struct seized *s, int n)
{
    uint64_t until = now_ms() + STOP_WAIT_MS;
    for (int left = n; left > 0 && now_ms() < until;) {
        left = 0;
        for (int i = 0; i < n; i++) {
            int status;
            if (s[i].tid <= 0 || s[i].stopped) continue;
            pid_t got = waitpid(s[i].tid, &status, __WALL | WNOHANG);
            if (got == s[i].tid)
                take_status(&s[i], status);
            else if (got < 0 && errno == ECHILD)
                s[i].tid = 0;
            left += s[i].tid > 0 && !s[i].stopped;
        }
        if (left) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
}

/* Seizes and interrupts every thread. -EPERM when the first refuses (no
 * permission: nothing seized); a later refusal (a thread traced by a
 * debugger) leaves that thread out. */
static int stop_all(const struct st_report *r, struct seized *s)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        int tid = r->threads[i].tid;
        if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
            if (errno == EPERM && nseized == 0) return -EPERM;
            continue; /* ended meanwhile, or another tracer has it */
        }
        s[nseized].tid = tid;
        nseized = nseized + 1;
        ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
    }
    wait_stopped(s, nseized);
    return 0;
}

/* ---- unwinding ---- */

struct unwind {
    const struct dw_api *dw;
    Dwarf_Addr pcs[MAX_FRAMES];
    int n;
};

static int take_frame(Dwfl_Frame *frame, void *arg)
{
    struct unwind *u = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!u->dw->frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
    /* Frames are kept as return addresses (symbolizers look one byte
     * back); the innermost frame's pc is the instruction itself. */
    u->pcs[u->n++] = activation ? pc + 1 : pc;
    return u->n < MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static char *hex_build_id(const struct dw_api *dw, Dwfl_Module *mod, struct st_arena *a)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = dw->build_id(mod, &bits, &vaddr);
    if (n <= 0) return NULL;
    char *hex = st_arena_alloc(a, 2 * (size_t)n + 1);
    for (int i = 0; hex && i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    return hex;
}

static void fill_frame(const struct dw_api *dw, Dwfl *dwfl, struct st_frame *f, Dwarf_Addr pc,
                       struct st_arena *a)
{
    f->address = pc;
    Dwfl_Module *mod = dw->addrmodule(dwfl, pc - 1);
    if (!mod) return;
    GElf_Addr bias = 0;
    const char *name = dw->module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (!name || !dw->module_getelf(mod, &bias)) return;
    f->module = st_arena_strdup(a, name);
    f->offset = pc - bias;
    f->build_id = hex_build_id(dw, mod, a);
}

/* True when stack s holds exactly u's return addresses. */
static bool same_stack(const struct st_report_stack *s, const struct unwind *u)
{
    if (s->depth != (uint32_t)u->n) return false;
    for (int i = 0; i < u->n; i++)
        if (s->frames[i].address != u->pcs[i]) return false;
    return true;
}

/* The index in r of a stack of u's frames, appended unless r has one
 * already (threads waiting at one spot share it, as in the preload's
 * reports); -1 for none. */
static int add_stack(struct st_report *r, const struct dw_api *dw, Dwfl *dwfl,
                     const struct unwind *u)
{
    if (u->n == 0) return -1;
    for (uint32_t i = 0; i < r->nstacks; i++)
        if (same_stack(&r->stacks[i], u)) return (int)i;
    struct st_report_stack *stacks = st_arena_alloc(&r->arena, (r->nstacks + 1) * sizeof *stacks);
    struct st_frame *frames = st_arena_alloc(&r->arena, (size_t)u->n * sizeof *frames);
    if (!stacks || !frames) return -1;
    if (r->nstacks) memcpy(stacks, r->stacks, r->nstacks * sizeof *stacks);
    for (int i = 0; i < u->n; i++)
        fill_frame(dw, dwfl, &frames[i], u->pcs[i], &r->arena);
    stacks[r->nstacks] = (struct st_report_stack){(uint32_t)u->n, frames};
    r->stacks = stacks;
    return (int)r->nstacks++;
}

static struct st_report_thread *thread_of(struct st_report *r, int tid)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].tid == tid) return &r->threads[i];
    return NULL;
}

/* Unwinds every stopped thread into u[i]; libdw reads registers and
 * memory through ptrace, so this is the only part done while stopped. */
static void unwind_all(const struct dw_api *dw, Dwfl *dwfl, struct seized *s, int n,
                       struct unwind *u)
{
    for (int i = 0; i < n; i++) {
        u[i].dw = dw;
        u[i].n = 0;
        if (s[i].tid > 0 && s[i].stopped) dw->getthread_frames(dwfl, s[i].tid, take_frame, &u[i]);
    }
}

static Dwfl *open_session(const struct dw_api *dw, Dwfl_Callbacks *cb, int pid, char *err,
                          size_t errlen)
{
    static char *debuginfo_path;
    cb->debuginfo_path = &debuginfo_path;
    Dwfl *dwfl = dw->begin(cb);
    if (dwfl && dw->proc_report(dwfl, pid) == 0 && dw->report_end(dwfl, NULL, NULL) == 0)
        return dwfl;
    snprintf(err, errlen, "libdw cannot read the modules of process %d: %s", pid, dw->errmsg(-1));
    if (dwfl) dw->end(dwfl);
    return NULL;
}

/* Stops, unwinds, lets go. Fills u; returns 0 or -EPERM / -errno. */
static int stop_and_unwind(struct st_report *r, const struct dw_api *dw, Dwfl *dwfl, int pid,
                           struct unwind *u, char *err, size_t errlen)
{
    guard_signals(true);
    int rc = stop_all(r, seized);
    if (rc == 0 && dw->proc_attach(dwfl, pid, true) != 0) {
        snprintf(err, errlen, "libdw cannot unwind process %d: %s", pid, dw->errmsg(-1));
        rc = -EIO;
    }
    if (rc == 0) unwind_all(dw, dwfl, seized, nseized, u);
    release_all();
    guard_signals(false);
    if (rc == -EPERM) inspect_explain_eperm(pid, err, errlen);
    return rc;
}

int inspect_read_stacks(struct st_report *r, int pid, char *err, size_t errlen)
{
    struct dw_api dw;
    Dwfl_Callbacks cb;
    memset(&cb, 0, sizeof cb);
    if (!load_libdw(&dw, &cb)) {
        snprintf(err, errlen,
                 "cannot take stacks: libdw.so.1 (elfutils) is missing or lacks "
                 "a function strays needs (--no-stacks inspects without them)");
        return -ENOENT;
    }
    Dwfl *dwfl = open_session(&dw, &cb, pid, err, errlen);
    if (!dwfl) return -EIO;
    struct unwind *u = calloc((size_t)r->nthreads + 1, sizeof *u);
    seized = calloc((size_t)r->nthreads + 1, sizeof *seized);
    nseized = 0;
    int rc = u && seized ? stop_and_unwind(r, &dw, dwfl, pid, u, err, errlen) : -ENOMEM;
    for (int i = 0; rc == 0 && i < nseized; i++) {
        struct st_report_thread *t = seized[i].tid ? thread_of(r, seized[i].tid) : NULL;
        if (t) t->stack = add_stack(r, &dw, dwfl, &u[i]);
    }
    for (uint32_t i = 0; rc == 0 && i < r->nthreads; i++)
        r->tracking.threads_without_stack += r->threads[i].stack < 0;
    dw.end(dwfl);
    free(u);
    free(seized);
    seized = NULL;
    nseized = 0;
    if (rc == -ENOMEM) snprintf(err, errlen, "out of memory");
    return rc;
}
