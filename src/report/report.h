/* The report model: what a report says, independent of how it is written.
 * The preload fills it from the registries (report_build.c); the CLI fills
 * it from a JSON report (report_parse.c); both write it with the same
 * writers (report_json.c, report_text.c). All memory lives in one arena. */
#ifndef STRAYS_REPORT_H
#define STRAYS_REPORT_H

#include "base/arena.h"
#include "base/out.h"

#include <stdbool.h>
#include <stdint.h>

struct st_frame {
    uint64_t address;     /* return address as captured */
    const char *module;   /* path of the module it lies in, or NULL */
    uint64_t offset;      /* address - module load base */
    const char *build_id; /* hex, or NULL */
    const char *function; /* NULL when unknown */
    const char *file;     /* NULL when unknown */
    int line;             /* 0 when unknown */
    bool unloaded;        /* module was unloaded (dlclose) after the capture */
};

struct st_report_stack {
    uint32_t depth;
    struct st_frame *frames;
};

enum st_report_thread_state { ST_RT_RUNNING, ST_RT_BLOCKED, ST_RT_EXITED };

/* What a blocked thread waits in. */
struct st_report_blocked {
    const char *call;     /* "pthread_mutex_lock", "read", ... */
    uint64_t object;      /* the mutex, condition, semaphore...; 0 for I/O and sleeps */
    int fd;               /* -1 unless I/O on one fd */
    const char *target;   /* the fd's target, or NULL */
    uint64_t blocked_ns;  /* for how long, at report time */
    uint64_t timeout_ns;  /* length of a timed wait, 0 if untimed */
    int64_t deadline_ms;  /* when the timed wait ends (same clock as created_ms), -1 if untimed */
    uint32_t timeouts;    /* timed waits in a row that timed out */
    int owner_tid;        /* the lock's holder, 0 if none or not a lock */
    bool stuck;           /* blocked longer than blocked_threshold */
    bool since_unknown;   /* strays inspect: blocked_ns is not known */
    const char *wchan;    /* strays inspect: where the kernel has it wait, or NULL */
};

/* Live dumps: how many objects of a kind one creation site has now, and
 * the change since the previous dump. */
struct st_report_growth {
    const char *kind; /* "threads", "timers", "fds" */
    int created_by;   /* index into stacks */
    uint32_t count;
    int32_t delta;    /* since the previous dump */
    uint32_t streak;  /* dumps in a row in which it grew */
    bool growing;     /* grew in several dumps in a row */
};

/* The limit a dump of reason "exhausted" or "fd_warn" is about. */
struct st_report_limit {
    bool present;
    const char *kind;  /* "fds", "threads", "timers" */
    const char *error; /* "EMFILE", "ENFILE", "EAGAIN"; NULL for fd_warn */
    int64_t rlimit;    /* the soft RLIMIT_NOFILE, RLIMIT_NPROC or RLIMIT_SIGPENDING; -1: none */
    uint32_t hits;     /* failing calls since the previous dump of this kind */
    int fd;            /* fd_warn: the fd that crossed the threshold; else -1 */
    int warn_percent;  /* fd_warn: the share of rlimit; else 0 */
};

/* Threads waiting on each other in a cycle. */
struct st_report_cycle {
    uint32_t n;
    int *tids;
};

struct st_report_thread {
    int tid;
    int parent_tid;
    const char *name;
    enum st_report_thread_state state;
    bool detached;
    int created_by; /* index into stacks, or -1 */
    int stack;      /* index into stacks (where it stands), or -1 */
    uint64_t created_ms;
    const struct st_report_blocked *blocked; /* NULL unless state is blocked */
    const char *scope;                       /* strays_scope_begin's name, or NULL */
};

/* A timer left alive: a POSIX timer, or a timerfd (then fd >= 0). */
struct st_report_timer {
    const char *id;     /* "0x..." as the program holds it, or "fd:N" */
    const char *clock;  /* "CLOCK_MONOTONIC", ... */
    const char *notify; /* "signal:SIGALRM", "thread", "none", "thread_id:TID:SIGNAL", "fd" */
    bool armed;
    bool armed_unknown;   /* strays inspect: /proc does not say (armed is false) */
    uint64_t interval_ns; /* 0: one-shot */
    int fd;               /* -1 unless a timerfd */
    int tid;              /* creating thread */
    int created_by;
    uint64_t created_ms;
    const char *scope;
};

/* An fd left open. */
struct st_report_fd {
    int fd;
    const char *kind;   /* file, dir, socket, pipe, eventfd, epoll, signalfd, inotify, memfd, other */
    const char *target; /* what it refers to, as a person reads it */
    const char *stream; /* "FILE", "DIR", "popen" (the stdio/dirent object it belongs to), or NULL */
    uint64_t stream_address;
    int tid;
    int created_by;
    uint64_t created_ms;
    const char *scope;
};

struct st_report_untracked {
    int tid;
    const char *name;
};

/* A suppression rule (suppressions=FILE) and how many objects of this
 * report it left out. */
struct st_report_supp_rule {
    const char *rule; /* as written: "thread:g_thread_pool*" */
    const char *file; /* the suppressions file */
    int line;
    uint32_t matched;
};

/* What suppression rules left out of the report: counted here, not listed
 * among the threads, timers and fds, and not leaks. */
struct st_report_suppressed {
    uint32_t threads, timers, fds;
    struct st_report_supp_rule *rules; /* every rule with print_suppressions=1, else none */
    uint32_t nrules;
};

/* What strays' tracking cost and what it missed: the memory of its tables,
 * the objects it could not track for want of memory (table_memory_limit or
 * the system's), and the checks a report of a huge process left undone to
 * stay within its time budget. Absent (present false) from reports written
 * before it existed. */
struct st_report_tracking {
    bool present;
    uint64_t table_bytes; /* thread, timer and fd records and their tables */
    uint64_t stack_bytes; /* interned stacks and their table */
    uint64_t limit_bytes; /* table_memory_limit; 0: none */
    uint64_t threads_not_tracked, timers_not_tracked, fds_not_tracked;
    uint64_t stacks_not_kept;      /* stacks not stored: objects shown without one */
    uint32_t timers_unchecked;     /* not asked of the kernel: armed state as last set */
    uint32_t fds_unchecked;        /* not looked up in /proc: kind and name as created */
    uint32_t threads_without_stack; /* running threads that gave no current stack in time */
    /* Records left out of a crash report: their table's lock stayed taken
     * (its holder may wait for a lock the crashing thread holds). */
    uint32_t threads_unread, timers_unread;
};

/* True when some object went untracked or lost its stack. */
static inline bool st_report_tracking_incomplete(const struct st_report_tracking *t)
{
    return t->threads_not_tracked + t->timers_not_tracked + t->fds_not_tracked +
               t->stacks_not_kept > 0;
}

struct st_report {
    const char *version;
    int pid;
    const char *exe;     /* /proc/self/exe */
    const char *command; /* argv[0] */
    const char *reason;  /* "exit", ...; "inspect": a process strays did not start */
    const char *scope;   /* a report of one scope only (strays_verify_none), or NULL */
    int exit_status;     /* -1 when not known or not an exit */
    uint64_t time_ms;    /* wall clock, ms since the epoch */
    uint64_t uptime_ms;  /* since strays started watching */
    struct st_report_thread *threads;
    uint32_t nthreads;
    struct st_report_timer *timers;
    uint32_t ntimers;
    struct st_report_fd *fds;
    uint32_t nfds;
    struct st_report_untracked *untracked;
    uint32_t nuntracked;
    struct st_report_cycle *deadlocks;
    uint32_t ndeadlocks;
    struct st_report_growth *growth; /* live dumps only */
    uint32_t ngrowth;
    int64_t growth_since_ms;         /* ms since the previous dump, -1 for the first */
    int signal;                      /* crash reports: the signal, else 0 */
    uint64_t fault_address;          /* crash reports: si_addr for SIGSEGV/SIGBUS/SIGFPE/SIGILL */
    int crash_tid;                   /* crash reports: the thread that crashed */
    int crash_stack;                 /* crash reports: its stack at the crash, or -1 */
    struct st_report_suppressed suppressed;
    struct st_report_tracking tracking;
    struct st_report_limit limit;    /* exhausted and fd_warn dumps only */
    struct st_report_stack *stacks;
    uint32_t nstacks;
    struct st_arena arena;
    /* Being built in a signal handler (a crash, or an exit from the
     * program's crash handler): no malloc, no lock another thread may hold
     * for good, no libdw. Not written out. */
    bool crash_safe;
};

/* Number of leaked objects the report holds (what makes a run fail).
 * Suppressed objects are not among them. */
unsigned st_report_leak_count(const struct st_report *r);
void st_report_free(struct st_report *r);

void st_report_write_json(const struct st_report *r, struct st_out *o);
void st_report_write_text(const struct st_report *r, struct st_out *o);
/* The one-line summary that ends a text report, without newline. */
void st_report_write_summary(const struct st_report *r, struct st_out *o);

/* "SIGSEGV" for 11; a static string, usable on the crash path. */
const char *st_report_signal_name(int signo);

/* A report of `strays inspect`: a process that was not started under strays. */
bool st_report_is_inspect(const struct st_report *r);

/* Names of thread states as reports spell them. */
const char *st_report_thread_state_name(enum st_report_thread_state s);

#endif
