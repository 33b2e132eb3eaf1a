/* strays' life cycle; see runtime.h. The state machine follows the
 * sanitizers: uninitialised, initialising (every hook passes straight
 * through, including the ones dlopen and libunwind trigger), ready. */
#define _GNU_SOURCE
#include "runtime/runtime.h"

#include "base/log.h"
#include "base/options.h"
#include "base/libc.h"
#include "base/lock.h"
#include "collect/growth.h"
#include "collect/report_build.h"
#include "collect/suppressions.h"
#include "collect/thread_stacks.h"
#include "report/metrics.h"
#include "report/profile_file.h"
#include "report/report_sink.h"
#include "runtime/crash.h"
#include "runtime/exit_verdict.h"
#include "runtime/fd_headroom.h"
#include "runtime/watchdog.h"
#include "symbolize/symbolize.h"
#include "symbolize/symbolize_elf.h"
#include "track/modules.h"
#include "track/per_thread.h"
#include "track/registry_fd.h"
#include "track/registry_thread.h"
#include "track/registry_timer.h"
#include "track/stack.h"

#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/single_threaded.h>
#include <unistd.h>

ST_HOT_DATA int st_runtime_state = ST_UNINIT;
static int exit_status = -1;
ST_HOT_DATA static int final_done;
ST_HOT_DATA static pid_t own_pid;
/* One report is written at a time: two writers to one terminal would
 * interleave their lines. Building is reentrant and happens outside it. */
static st_lock_t emit_lock = ST_LOCK_INIT;

/* Whether before_fork took the registries' locks. */
static bool fork_locked;

/* Only the forking thread comes along into the child: another thread in
 * the middle of a registry update would leave it half done there, so the
 * registries' locks are held across the fork. A process that never had a
 * second thread (__libc_single_threaded) has no such thread, and its
 * locks are left alone: every page strays writes on either side of a fork
 * is copied, at a page fault each, and shells fork for every command. */
ST_EVERY_FORK
static void before_fork(void)
{
    st_watchdog_before_fork();
    bool lock = !__libc_single_threaded;
    ST_STORE_IF_CHANGED(fork_locked, lock);
    if (lock) {
        st_guard_enter();
        st_stack_capture_before_fork();
        st_stack_before_fork();
        st_thread_before_fork();
        st_timer_before_fork();
    }
}

ST_EVERY_FORK
static void after_fork_parent(void)
{
    if (fork_locked) {
        st_timer_after_fork_parent();
        st_thread_after_fork_parent();
        st_stack_after_fork_parent();
        st_stack_capture_after_fork(false);
        st_guard_leave();
    }
}

ST_EVERY_FORK
static void after_fork_child(void)
{
    if (!fork_locked)
        st_guard_enter(); /* the thread's own page: the child writes it anyway */
    st_exit_verdict_after_fork_child(own_pid);
    own_pid = (pid_t)st_sys_getpid();
    st_clock_after_fork();
    st_stack_after_fork_child();
    st_stack_capture_after_fork(true);
    st_per_thread_after_fork_child(); /* the thread registry, waits, this thread's parts */
    st_timer_after_fork_child();
    st_fd_after_fork_child();
    st_symbolize_after_fork_child();
    st_watchdog_after_fork_child();
    st_lock_reset(&emit_lock); /* a dump under way in the parent stays there */
    st_growth_reset();
    ST_STORE_IF_CHANGED(exit_status, -1);
    ST_STORE_IF_CHANGED(final_done, 0);
    st_guard_leave();
}

/* ---- registering the fork handlers ----
 * Not at start: __register_atfork's first call reads a page of libc's
 * constants that nothing else in a process like /bin/true reads, 20 us on
 * a virtual machine, and most processes never fork. The preload registers
 * them on every way in (fork, daemon, forkpty) and in front of every
 * registration of the program's own (pthread_atfork, __register_atfork),
 * so strays' handlers are still the first registered:
 * its prepare runs last, after the program's handlers took their own locks
 * (a thread holding one of those may be waiting for a registry lock), and
 * its child handler runs first, before a child handler may start threads. */
ST_HOT_DATA int st_runtime_fork_handlers_registered;
static st_lock_t fork_handlers_lock = ST_LOCK_INIT;

/* at_quick_exit is a wrapper that libc_nonshared.a links into the far end
 * of strays' code, a page fault of its own in every process; this is the
 * libc function it calls (the C++ ABI), as __register_atfork is
 * pthread_atfork's. */
/* NOLINTBEGIN(bugprone-reserved-identifier): glibc's and the ABI's names */
extern void *__dso_handle;
int __cxa_at_quick_exit(void (*fn)(void *), void *dso_handle);
/* NOLINTEND(bugprone-reserved-identifier) */

ST_EVERY_FORK
void st_runtime_register_fork_handlers(st_register_atfork_fn *register_atfork)
{
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_UNINIT)
        (void)st_runtime_activate();
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) != ST_READY)
        return; /* off, or another thread is initialising: nothing to keep */
    st_lock(&fork_handlers_lock);
    if (!__atomic_load_n(&st_runtime_fork_handlers_registered, __ATOMIC_ACQUIRE)) {
        if (register_atfork(before_fork, after_fork_parent, after_fork_child, __dso_handle) != 0)
            st_logf("cannot register the fork handlers; a fork child's report may be wrong");
        __atomic_store_n(&st_runtime_fork_handlers_registered, 1, __ATOMIC_RELEASE);
    }
    st_unlock(&fork_handlers_lock);
}

static void at_quick_exit_handler(void *unused)
{
    (void)unused;
    int status = st_runtime_exit_status();
    int final = st_runtime_final_report(status < 0 ? 0 : status);
    if (status >= 0 && final != status)
        st_sys_exit_group(final);
}

/* Tells the stack capture which code is strays' own, so creation stacks
 * start at the program's call and not inside the hook. */
ST_EVERY_PROCESS
static void find_own_code(void)
{
    uintptr_t lo, hi;
    int is_main;
    if (st_modules_span_of((uintptr_t)&find_own_code, &lo, &hi, &is_main) == 0 && !is_main)
        st_stack_set_own_range(lo, hi);
}

/* ---- secure execution (setuid, setgid, file capabilities) ----
 * The environment belongs to a user with less privilege than the process:
 * an option from it could make strays write or read where that user may
 * not (log_path=/etc/..., suppressions=/etc/shadow, whose lines strays
 * would quote in its messages). So strays stays off, unless root allows it
 * with a file only root can write, whose content replaces STRAYS_OPTIONS
 * (as glibc honours MALLOC_CHECK_ in setuid programs only when
 * /etc/suid-debug exists). STRAYS_OPTIONS is then not read at all. */
#define SECURE_OPTIONS_DIR "/etc/strays"
#define SECURE_OPTIONS_FILE SECURE_OPTIONS_DIR "/setuid-options"

static bool secure_mode;
static bool secure_symbolize;

static bool only_root_writes(const struct stat *st)
{
    return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The options file's text into buf; false when it is absent, too large,
 * or anyone but root could have written it or its directory. */
static bool read_secure_options(char *buf, size_t len)
{
    struct stat dir, file;
    if (st_sys_fstatat(AT_FDCWD, SECURE_OPTIONS_DIR, &dir, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(dir.st_mode) || !only_root_writes(&dir))
        return false;
    long fd = st_sys_open(SECURE_OPTIONS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = st_sys_fstatat((int)fd, "", &file, AT_EMPTY_PATH) == 0 && S_ISREG(file.st_mode) &&
              only_root_writes(&file) && file.st_size < (off_t)len;
    size_t used = 0;
    while (ok && used + 1 < len) {
        long n = st_sys_read((int)fd, buf + used, len - 1 - used);
        if (n == -EINTR)
            continue;
        if (n < 0)
            ok = false;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    st_sys_close((int)fd);
    return ok;
}

/* Options for a secure-execution process; false: strays stays off. */
static bool init_secure_options(void)
{
    char text[4096];
    if (!read_secure_options(text, sizeof text))
        return false;
    secure_mode = true;
    st_log_init();
    st_options_init_from(text);
    /* libdw may consult the environment (DEBUGINFOD_URLS, its cache
     * directory): names come from the ELF symbol tables instead. */
    secure_symbolize = st_opt.symbolize;
    st_opt.symbolize = false;
    return true;
}

ST_EVERY_PROCESS
static void initialise(void)
{
    st_uptime_at(st_now_ns_by_syscall()); /* fixes time zero */
    own_pid = (pid_t)st_sys_getpid();
    if (getauxval(AT_SECURE)) {
        if (!init_secure_options()) {
            __atomic_store_n(&st_runtime_state, ST_OFF, __ATOMIC_RELEASE);
            return;
        }
    } else {
        st_log_init();
        st_options_init();
    }
    st_suppressions_init();
    find_own_code();
    st_exit_verdict_start();
    if (__cxa_at_quick_exit(at_quick_exit_handler, __dso_handle) != 0)
        st_logf("cannot register a quick_exit handler; quick_exit will write no report");
    if (st_opt.verbosity >= 1)
        st_logf("strays %s watching pid %d", STRAYS_VERSION, (int)own_pid);
    __atomic_store_n(&st_runtime_state, ST_READY, __ATOMIC_RELEASE);
}

ST_EVERY_PROCESS
bool st_runtime_activate(void)
{
    int expected = ST_UNINIT;
    if (!__atomic_compare_exchange_n(&st_runtime_state, &expected, ST_INITIALIZING, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return expected == ST_READY && st_guard_depth == 0;
    /* The hook that called st_active() saves errno only around its own
     * bookkeeping; this runs before. (libunwind's loading and warm-up in
     * st_stack_capture_init left EAGAIN behind.) */
    int saved_errno = errno;
    st_guard_enter();
    initialise();
    st_guard_leave();
    errno = saved_errno;
    return __atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_READY &&
           st_guard_depth == 0;
}

ST_EVERY_PROCESS
void st_runtime_note_exit(int status)
{
    int expected = -1;
    __atomic_compare_exchange_n(&exit_status, &expected, status & 0xff, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
}

/* The process and thread that called exit or quick_exit first, as
 * pid << 32 | tid (the pid tells a fork child from its parent). */
ST_HOT_DATA static uint64_t first_exiter;

ST_EVERY_PROCESS
bool st_runtime_exit_claim(void)
{
    uint64_t me = (uint64_t)st_sys_getpid() << 32 | (uint32_t)st_gettid();
    uint64_t seen = __atomic_load_n(&first_exiter, __ATOMIC_ACQUIRE);
    for (;;) {
        if (seen == me)
            return true;
        if (seen != 0 && seen >> 32 == me >> 32)
            return false; /* another thread of this process is exiting */
        if (__atomic_compare_exchange_n(&first_exiter, &seen, me, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    }
}

_Noreturn void st_runtime_exit_wait(void)
{
    for (;;)
        st_sys_pause();
}

int st_runtime_exit_status(void) { return __atomic_load_n(&exit_status, __ATOMIC_ACQUIRE); }

ST_EVERY_PROCESS
bool st_runtime_foreign_process(void) { return own_pid != 0 && st_sys_getpid() != own_pid; }


/* Takes emit_lock; a crash does not wait for it (the writer holding it may
 * never run again) and writes beside it. Returns whether it holds it. */
static bool emit_lock_take(bool crashing)
{
    if (!crashing) {
        st_lock(&emit_lock);
        return true;
    }
    return st_trylock(&emit_lock);
}

void st_runtime_write_report(const struct st_report *r, int fd, bool json, bool crashing)
{
    bool locked = emit_lock_take(crashing);
    struct st_out out;
    st_out_init(&out, fd);
    if (json)
        st_report_write_json(r, &out);
    else
        st_report_write_text(r, &out);
    st_out_flush(&out);
    if (locked)
        st_unlock(&emit_lock);
}

/* One writing of the report into the open sink; its result for
 * st_sink_close. Out of line: its writer's page-sized buffer then takes the
 * stack that opening the sink used (the directory walk's path), rather than
 * lying above it. Every process under `strays run` writes a report, and
 * each 4 KiB of stack it touches first is a page fault. */
ST_EVERY_REPORT
static __attribute__((noinline)) int write_report_once(const struct st_report *r,
                                                        const struct st_sink *sink)
{
    struct st_out out;
    st_out_init(&out, sink->fd);
    out.to_file = sink->is_file;
    if (sink->format == ST_FORMAT_JSON)
        st_report_write_json(r, &out);
    else
        st_report_write_text(r, &out);
    st_out_flush(&out);
    return out.error;
}

/* Writes r to the log_path sink. A report file that could not be completed
 * (disk full) is removed and the report written again to stderr: it is
 * never lost. */
ST_EVERY_REPORT
static void write_to_sink(const struct st_report *r, bool crashing, bool for_terminal)
{
    bool locked = emit_lock_take(crashing);
    struct st_sink sink;
    st_sink_open(&sink, st_opt.log_path, st_opt.format, for_terminal);
    int again = sink.fd < 0 ? 0 : 1;
    while (again)
        again = st_sink_close(&sink, write_report_once(r, &sink)) == ST_SINK_WRITE_AGAIN;
    if (locked)
        st_unlock(&emit_lock);
}

/* What a report with nothing in it takes of its arena, with room to spare
 * (its exe path and command line); scripts/check-start-path.py checks that
 * such a report maps no memory. */
#define REPORT_FIRST_CHUNK 2048

ST_EVERY_REPORT
static int emit_now(const struct st_report_request *req, bool force)
{
    bool crashing = req->crash_safe || req->crash.signal != 0;
    /* The report of nothing (every process's under `strays run`) fits in
     * this: no mmap, and no fresh page of memory written. */
    _Alignas(16) char first_chunk[REPORT_FIRST_CHUNK] = {0};
    struct st_report_request with_chunk = *req;
    with_chunk.arena_first = first_chunk;
    with_chunk.arena_first_len = sizeof first_chunk;
    req = &with_chunk;
    struct st_report r;
    int rc = st_report_build(&r, req);
    /* Without libdw (a crash, a secure-execution process): names from the
     * ELF symbol tables. */
    if (rc == 0 && ((crashing && st_opt.symbolize) || (secure_mode && secure_symbolize)))
        st_symbolize_elf(&r);
    if (rc != 0) {
        st_report_free(&r);
        st_logf("out of memory while building the %s report", req->reason);
        return -ENOMEM;
    }
    int leaks = (int)st_report_leak_count(&r);
    /* A clean exit says nothing on a terminal, like LeakSanitizer; report
     * files are always written, so tools can tell "clean" from "absent".
     * With print_suppressions, a run whose leaks were all suppressed still
     * says which rules matched, as LeakSanitizer's "Suppressions used:". */
    bool suppressed = r.suppressed.threads + r.suppressed.timers + r.suppressed.fds > 0;
    bool for_terminal = leaks > 0 || force || st_opt.verbosity >= 1 ||
                        (st_opt.print_suppressions && suppressed);
    if (for_terminal || st_sink_is_file(st_opt.log_path))
        write_to_sink(&r, crashing, for_terminal);
    if (st_opt.metrics_path[0] && r.growth)
        st_metrics_write(&r, st_opt.metrics_path);
    if (st_opt.profile_path[0] && r.growth)
        st_profile_file_write(&r, st_opt.profile_path);
    if (!req->process_ends)
        st_report_free(&r);
    return leaks;
}

/* A report that would list nothing and go to a terminal, which hears
 * nothing when nothing leaked, is not even built: a clean exit reads no
 * /proc file and maps no memory. (A report file is always written.) */
static bool nothing_to_say(bool force)
{
    return !force && st_opt.verbosity == 0 && !st_opt.print_suppressions &&
           !st_opt.metrics_path[0] && !st_sink_is_file(st_opt.log_path) &&
           st_report_would_be_empty();
}

/* A process at its fd limit still gets its report (fd_headroom.h). */
ST_EVERY_PROCESS
int st_runtime_emit(const struct st_report_request *req, bool force)
{
    if (nothing_to_say(force))
        return 0;
    /* Not for a dump about a limit (exhaustion.h): the program is at it,
     * and its next calls must fail as they would without strays, not get
     * the room meant for the report. */
    long headroom = req->limit ? -1 : st_fd_headroom_begin();
    int rc = emit_now(req, force);
    st_fd_headroom_end(headroom);
    return rc;
}

void st_runtime_crash_report(int sig, uintptr_t address, void *ucontext)
{
    __atomic_store_n(&final_done, 1, __ATOMIC_RELEASE); /* no exit report after this one */
    uintptr_t frames[ST_STACK_MAX + 16]; /* and the handler's own frames, dropped below */
    int depth = st_stack_capture_crashing(frames, (int)ST_ARRAY_LEN(frames));
    depth = st_stack_from_interrupted_pc(frames, depth, ucontext);
    if (depth > st_opt.stack_depth)
        depth = st_opt.stack_depth;
    struct st_report_request req = {.reason = "crash", .exit_status = -1, .process_ends = true};
    req.crash.signal = sig;
    req.crash.address = address;
    req.crash.tid = st_gettid();
    req.crash.stack = st_stack_standalone(frames, depth);
    st_runtime_emit(&req, true);
}

ST_EVERY_PROCESS
void st_runtime_start_services(void)
{
    ST_HOT_DATA static int started;
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) != ST_READY ||
        __atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL))
        return;
    st_guard_enter();
    if (st_crash_install() != 0)
        st_logf("cannot install the crash handlers; no report will be written on a crash");
    int rc = st_watchdog_start();
    if (rc != 0)
        st_logf("cannot start the watchdog thread (%s); no live dumps", strerror(-rc));
    st_guard_leave();
}

ST_EVERY_PROCESS
int st_runtime_final_report(int status)
{
    if (__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) != ST_READY ||
        st_runtime_foreign_process())
        return status;
    if (__atomic_exchange_n(&final_done, 1, __ATOMIC_ACQ_REL))
        return status;
    /* report=failure: a run that succeeds writes nothing, and its leaks do
     * not change its status. */
    if (st_opt.report == ST_REPORT_FAILURE && status == 0)
        return status;
    st_guard_enter();
    /* An exit from the program's own crash handler (it logs and calls
     * _exit, say) is built in that signal handler. */
    bool in_handler = st_crash_in_program_handler();
    struct st_report_request req = {.reason = "exit", .exit_status = status,
                                     .symbolize = st_opt.symbolize && !in_handler,
                                     .crash_safe = in_handler, .process_ends = true};
    int leaks = st_runtime_emit(&req, false);
    st_guard_leave();
    /* st_runtime_foreign_process found that the pid is own_pid. */
    return st_exit_verdict(status, leaks, own_pid);
}

ST_EVERY_PROCESS
void st_runtime_at_unload(void)
{
    int status = st_runtime_exit_status();
    /* Unknown means libc called exit itself: the last thread of a program
     * whose main called pthread_exit, which exits with 0. */
    if (status < 0)
        status = 0;
    int final = st_runtime_final_report(status);
    if (final != status)
        st_libc_exit(final); /* nested exit: libc still flushes stdio, then _exit(final) */
}
