/* Harness for end-to-end tests: runs a fixture program under the preload
 * with JSON reports written to a private directory, and hands back its
 * exit status, its output and its report, loaded as the CLI loads it. */
#ifndef STRAYS_E2E_H
#define STRAYS_E2E_H

#include "report/report.h"

#include <stdbool.h>
#include <sys/types.h>

struct e2e_run {
    int status;        /* exit code, or 128 + signal */
    int wait_status;   /* as waitpid gave it (a core dump shows here) */
    char *out;         /* the program's stdout */
    char *err;         /* its stderr (strays' messages land here) */
    int nreports;      /* report files written */
    struct st_report *reports;
    char dir[256];
};

/* Runs build/fixtures/NAME with args (NULL-terminated, may be NULL) and
 * STRAYS_OPTIONS="format=json:log_path=DIR/r:" + options. */
void e2e_run(struct e2e_run *run, const char *fixture, const char *options,
             const char *const *args);
/* Runs with exactly the given STRAYS_OPTIONS (NULL: unset) and no log dir. */
void e2e_run_raw(struct e2e_run *run, const char *fixture, const char *strays_options,
                 const char *const *args, bool preload);
void e2e_free(struct e2e_run *run);
/* Loads every JSON report in dir, in the order strays wrote them
 * (r.PID.SEQ.json, by version sort), and hands each to fn, which owns it. */
void e2e_for_each_report(const char *dir, void (*fn)(struct st_report *r, void *ctx), void *ctx);
/* Adds dir's reports to run->reports, in that order. */
void e2e_load_reports(struct e2e_run *run, const char *dir);
/* A fixture still running after this long is killed and its test fails
 * (60 s unless set; each test runs in its own process). */
void e2e_set_timeout(int ms);
/* Waits up to timeout_ms for the child pid to end, and reaps it into *ws.
 * False when it did not end in time: it is then killed (SIGKILL) and reaped. */
bool e2e_wait_exit(pid_t pid, int timeout_ms, int *ws);

/* The one report of the run (fails the test unless there is exactly one). */
const struct st_report *e2e_only_report(const struct e2e_run *run);
/* The report written by pid (or the only one when pid is 0); NULL if none. */
const struct st_report *e2e_report(const struct e2e_run *run, int pid);
/* The report of the fixture's own process (not of a child it ran), or NULL. */
const struct st_report *e2e_main_report(const struct e2e_run *run, const char *fixture);
/* Threads of r whose name is name. */
int e2e_count_threads_named(const struct st_report *r, const char *name);
const struct st_report_thread *e2e_thread_named(const struct st_report *r, const char *name);
/* True when stack index holds a frame of function (exact match). */
bool e2e_stack_has(const struct st_report *r, int stack, const char *function);
/* Index of the first frame of function in stack, or -1. */
int e2e_frame_of(const struct st_report *r, int stack, const char *function);
/* Waits up to timeout_ms for path to exist (a report is linked into place
 * whole); false when it did not come. */
bool e2e_wait_for_file(const char *path, int timeout_ms);
/* The whole file (an empty string if it cannot be read); free() it. */
char *e2e_slurp(const char *path);
/* path: dir/AS, a copy of build/NAME (NAME absolute: that file), for a test
 * that runs it as another user or makes it set-user-ID. The build directory
 * may sit where only its owner can go (a clone in a home directory or under
 * `mktemp -d`, mode 0700); dir is made world-readable, and the copy keeps
 * the file's mode. */
void e2e_copy_from_build(char *path, size_t len, const char *dir, const char *name,
                         const char *as);
/* Path of a build product ("fixtures/x", "libstrays.so"); four may be used
 * in one expression. */
const char *e2e_build_path(const char *name);

#endif
