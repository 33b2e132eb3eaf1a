/* strays' life cycle in the process it watches: lazy initialisation (hooks
 * can run before any constructor), the exit status, the final report, and
 * fork. The preload's hooks ask st_active() before tracking anything. */
#ifndef STRAYS_RUNTIME_H
#define STRAYS_RUNTIME_H

#include "base/st.h"
#include "runtime/watchdog.h"

#include <stdbool.h>
#include <stdint.h>

enum st_runtime_state { ST_UNINIT, ST_INITIALIZING, ST_READY, ST_OFF };

extern int st_runtime_state;

/* Slow path of st_active: initialises on first use. */
bool st_runtime_activate(void);

/* Whether a hook should track what it sees now: strays is ready and the
 * call does not come from strays itself. */
static inline bool st_active(void)
{
    if (ST_LIKELY(__atomic_load_n(&st_runtime_state, __ATOMIC_ACQUIRE) == ST_READY)) {
        if (ST_UNLIKELY(__atomic_load_n(&st_watchdog_wanted, __ATOMIC_RELAXED)) &&
            st_guard_depth == 0)
            st_watchdog_ensure();
        return st_guard_depth == 0;
    }
    return st_runtime_activate();
}

/* The program is exiting with this status (exit, return from main,
 * quick_exit). The first status seen wins. */
void st_runtime_note_exit(int status);
/* One exit at a time. glibc 2.36 lets a second thread that calls exit run
 * whatever exit handlers are left and then _exit, while the first thread
 * is still in its handlers: the process would end in the middle of strays'
 * final report (in the last handler), with the second thread's status. C11
 * calls exit twice undefined; like Rust's standard library (rust-lang/rust
 * #126606) strays makes the second caller wait for the first to finish the
 * process. st_runtime_exit_claim is true when the calling thread may go on
 * exiting: it is the first of its process to exit, or exits again (an exit
 * handler's exit, or strays' own to change the status); false when another
 * thread of this process exits, and the caller must then wait for the end
 * with st_runtime_exit_wait, which never returns. */
bool st_runtime_exit_claim(void);
_Noreturn void st_runtime_exit_wait(void);
/* Status noted so far, or -1. */
int st_runtime_exit_status(void);
/* Writes the exit report (once per process) and returns the status the
 * process should exit with: exitcode when it would exit 0 but leaked. */
int st_runtime_final_report(int status);
/* Called from the preload's destructor, after the program's own exit
 * handlers: writes the final report and, to change the status, exits again
 * from there (letting libc flush stdio as usual). */
void st_runtime_at_unload(void);
/* True when this is not the process strays initialised in, nor a fork child
 * it was told about: a vfork or raw clone child sharing its memory. */
bool st_runtime_foreign_process(void);

/* Starts what runs beside the program: the crash handlers and the
 * watchdog. Called from the preload's constructor, once strays is ready. */
void st_runtime_start_services(void);
/* Registers strays' fork handlers with register_atfork (libc's
 * __register_atfork, which the preload interposes), once strays is ready;
 * the preload calls it before every fork and every registration of the
 * program's, so that strays' handlers are the first registered. */
typedef int st_register_atfork_fn(void (*prepare)(void), void (*parent)(void),
                                  void (*child)(void), void *dso_handle);
void st_runtime_register_fork_handlers(st_register_atfork_fn *register_atfork);
/* Set once the fork handlers are registered. */
extern int st_runtime_fork_handlers_registered;
/* The crash handler's report (async-signal-safe as far as it can be). */
void st_runtime_crash_report(int sig, uintptr_t address, void *ucontext);

struct st_report;
struct st_report_request;
/* Builds and writes one report as req asks, to the log_path sink. force:
 * even when nothing leaked and the sink is a terminal. Returns the number
 * of leaks in it, or -errno. */
int st_runtime_emit(const struct st_report_request *req, bool force);
/* Writes a built report to fd, one writer at a time (crashing: without
 * waiting for another writer). */
void st_runtime_write_report(const struct st_report *r, int fd, bool json, bool crashing);

#endif
