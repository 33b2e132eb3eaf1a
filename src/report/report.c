/* Small helpers shared by everything that handles a report model. */
#include "report/report.h"
#include "base/st.h"

#include <signal.h>
#include <string.h>

ST_EVERY_REPORT
unsigned st_report_leak_count(const struct st_report *r)
{
    return r->nthreads + r->ntimers + r->nfds;
}

ST_EVERY_REPORT
void st_report_free(struct st_report *r)
{
    st_arena_free(&r->arena);
    r->threads = NULL;
    r->nthreads = 0;
    r->stacks = NULL;
    r->nstacks = 0;
    r->timers = NULL;
    r->ntimers = 0;
    r->fds = NULL;
    r->nfds = 0;
    r->untracked = NULL;
    r->nuntracked = 0;
    r->deadlocks = NULL;
    r->ndeadlocks = 0;
    r->growth = NULL;
    r->ngrowth = 0;
    memset(&r->suppressed, 0, sizeof r->suppressed);
}

const char *st_report_signal_name(int signo)
{
    static const char names[][8] = { /* characters, not relocated pointers */
        [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",     [SIGQUIT] = "SIGQUIT",
        [SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP",   [SIGABRT] = "SIGABRT",
        [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",     [SIGKILL] = "SIGKILL",
        [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",   [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",   [SIGTERM] = "SIGTERM",
        [SIGSYS] = "SIGSYS",   [SIGXCPU] = "SIGXCPU",   [SIGXFSZ] = "SIGXFSZ",
    };
    if (signo > 0 && (size_t)signo < sizeof names / sizeof names[0] && names[signo][0])
        return names[signo];
    return "signal";
}

bool st_report_is_inspect(const struct st_report *r)
{
    return r->reason && !strcmp(r->reason, "inspect");
}

const char *st_report_thread_state_name(enum st_report_thread_state s)
{
    switch (s) {
    case ST_RT_RUNNING:
        return "running";
    case ST_RT_BLOCKED:
        return "blocked";
    case ST_RT_EXITED:
        return "exited";
    }
    return "running";
}
