/* Harness for tests of the strays CLI: runs build/strays with arguments
 * and captures its status and output, and runs a fixture in the
 * background for commands that talk to a live process. */
#ifndef STRAYS_E2E_CLI_H
#define STRAYS_E2E_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct e2e_cli {
    int status; /* exit code, or 128 + signal */
    char *out;
    char *err;
};

/* The CLI under test: build/strays, or $STRAYS_CLI when set. */
const char *e2e_cli_path(void);
/* Where `strays run` makes its report directory here: $TMPDIR, else
 * /dev/shm when it has 256 MiB free, else /tmp (cmd_run.c). */
const char *e2e_run_report_base(void);
/* Runs the CLI with args (NULL-terminated); fails the test if it hangs. */
void e2e_cli_run(struct e2e_cli *run, const char *const *args);
/* Runs the program at path with args (NULL-terminated), with LD_PRELOAD and
 * STRAYS_OPTIONS exactly as given (NULL: unset); fails the test if it hangs. */
void e2e_cmd_run(struct e2e_cli *run, const char *path, const char *const *args,
                 const char *ld_preload, const char *strays_options);
void e2e_cli_free(struct e2e_cli *run);

struct e2e_bg {
    pid_t pid;
    char dir[256]; /* its stdout and stderr files */
};

/* Starts build/FIXTURE with args (NULL-terminated) in the background, in
 * cwd (NULL: ours), with LD_PRELOAD and STRAYS_OPTIONS exactly as given
 * (NULL: unset), and waits until its stdout holds `ready`. */
void e2e_bg_start(struct e2e_bg *bg, const char *fixture, const char *const *args,
                  const char *ld_preload, const char *strays_options, const char *cwd,
                  const char *ready);
/* Its stdout so far; free() it. */
char *e2e_bg_output(const struct e2e_bg *bg);
/* Waits up to timeout_ms for its stdout to hold text. */
bool e2e_bg_wait_output(const struct e2e_bg *bg, const char *text, int timeout_ms);
/* True while it runs (not exited, not a zombie). */
bool e2e_bg_alive(const struct e2e_bg *bg);
/* Kills it (SIGTERM), reaps it and removes its files. */
void e2e_bg_stop(struct e2e_bg *bg);

/* A new empty directory under /tmp, and its removal with what it holds. */
void e2e_tmpdir(char *dir, size_t len);
void e2e_rmdir(const char *dir);
/* Writes text to dir/name and puts that path in path. */
void e2e_write_file(char *path, size_t len, const char *dir, const char *name, const char *text);

#endif
