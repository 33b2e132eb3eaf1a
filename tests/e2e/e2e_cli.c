/* The CLI harness; see e2e_cli.h. */
#define _GNU_SOURCE
#include "e2e_cli.h"

#include "e2e.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CLI_TIMEOUT_MS 30000

#define slurp e2e_slurp

/* The directories a test made and has not removed yet: removed when its
 * process exits, so a test that fails half-way (or forgets) leaves nothing
 * in /tmp. */
#define MAX_TMPDIRS 32
static char tmpdirs[MAX_TMPDIRS][64];

static int remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void remove_tmpdirs_left(void)
{
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (tmpdirs[i][0] && remove_dir(tmpdirs[i]) != 0)
            fprintf(stderr, "e2e: cannot remove %s\n", tmpdirs[i]);
}

void e2e_tmpdir(char *dir, size_t len)
{
    static bool registered;
    snprintf(dir, len, "/tmp/strays-cli.XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    if (!registered)
        registered = atexit(remove_tmpdirs_left) == 0;
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (!tmpdirs[i][0] && strlen(dir) < sizeof tmpdirs[i]) {
            strcpy(tmpdirs[i], dir);
            break;
        }
}

void e2e_rmdir(const char *dir)
{
    cr_assert_eq(remove_dir(dir), 0, "cannot remove %s", dir);
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (!strcmp(tmpdirs[i], dir))
            tmpdirs[i][0] = '\0';
}

void e2e_write_file(char *path, size_t len, const char *dir, const char *name, const char *text)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* environ with LD_PRELOAD and STRAYS_OPTIONS set as given (NULL: unset). */
static char **make_env(const char *ld_preload, const char *strays_options)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "STRAYS_OPTIONS=", 15) && strncmp(environ[i], "LD_PRELOAD=", 11))
            env[used++] = environ[i];
    if (ld_preload && asprintf(&env[used], "LD_PRELOAD=%s", ld_preload) > 0)
        used++;
    if (strays_options && asprintf(&env[used], "STRAYS_OPTIONS=%s", strays_options) > 0)
        used++;
    return env;
}

/* Frees what make_env allocated (the two variables it set, and the array). */
static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        if (!strncmp(env[i], "STRAYS_OPTIONS=", 15) || !strncmp(env[i], "LD_PRELOAD=", 11))
            free(env[i]);
    free(env);
}

/* Starts path with output to dir/stdout and dir/stderr; returns its pid. */
static pid_t spawn_in(const char *path, const char *const *args, char **env, const char *dir,
                      const char *cwd)
{
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    const char *argv[32] = {path};
    for (int i = 0; args && args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, (char **)argv, env);
    cr_assert_eq(rc, 0, "cannot start %s: %s", path, strerror(rc));
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

const char *e2e_run_report_base(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp && *tmp)
        return tmp;
    struct statvfs fs;
    bool room = statvfs("/dev/shm", &fs) == 0 &&
                (unsigned long long)fs.f_bavail * fs.f_frsize >= (256ull << 20);
    return room ? "/dev/shm" : "/tmp";
}

const char *e2e_cli_path(void)
{
    /* STRAYS_CLI: another build of the CLI (make test-asan runs its ASan
     * build against the plain preload and fixtures of STRAYS_BUILD). */
    const char *cli = getenv("STRAYS_CLI");
    if (!cli || !*cli)
        return e2e_build_path("strays");
    /* Absolute, so tests that copy it elsewhere find it (Makefile passes
     * build/asan/strays). */
    static char absolute[4096];
    return realpath(cli, absolute) ? absolute : cli;
}

void e2e_cli_run(struct e2e_cli *run, const char *const *args)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", e2e_cli_path());
    e2e_cmd_run(run, path, args, NULL, NULL);
}

void e2e_cmd_run(struct e2e_cli *run, const char *path, const char *const *args,
                 const char *ld_preload, const char *strays_options)
{
    char dir[256];
    e2e_tmpdir(dir, sizeof dir);
    char **env = make_env(ld_preload, strays_options);
    pid_t pid = spawn_in(path, args, env, dir, NULL);
    free_env(env);
    int ws = 0;
    cr_assert(e2e_wait_exit(pid, CLI_TIMEOUT_MS, &ws), "%s %s hung: killed after %d ms", path,
              args[0] ? args[0] : "", CLI_TIMEOUT_MS);
    run->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    char file[300];
    snprintf(file, sizeof file, "%s/stdout", dir);
    run->out = slurp(file);
    snprintf(file, sizeof file, "%s/stderr", dir);
    run->err = slurp(file);
    e2e_rmdir(dir);
}

void e2e_cli_free(struct e2e_cli *run)
{
    free(run->out);
    free(run->err);
}

void e2e_bg_start(struct e2e_bg *bg, const char *fixture, const char *const *args,
                  const char *ld_preload, const char *strays_options, const char *cwd,
                  const char *ready)
{
    char path[4096];
    e2e_tmpdir(bg->dir, sizeof bg->dir);
    snprintf(path, sizeof path, "%s", e2e_build_path(fixture));
    char **env = make_env(ld_preload, strays_options);
    bg->pid = spawn_in(path, args, env, bg->dir, cwd);
    free_env(env);
    cr_assert(e2e_bg_wait_output(bg, ready, CLI_TIMEOUT_MS), "%s did not start", fixture);
}

char *e2e_bg_output(const struct e2e_bg *bg)
{
    char file[300];
    snprintf(file, sizeof file, "%s/stdout", bg->dir);
    return slurp(file);
}

bool e2e_bg_wait_output(const struct e2e_bg *bg, const char *text, int timeout_ms)
{
    for (int waited_ms = 0;; waited_ms += 5) {
        char *out = e2e_bg_output(bg);
        bool found = strstr(out, text) != NULL;
        free(out);
        if (found)
            return true;
        if (waited_ms >= timeout_ms || !e2e_bg_alive(bg))
            return false;
        usleep(5 * 1000); /* sleep-ok: the poll interval of a bounded wait */
    }
}

bool e2e_bg_alive(const struct e2e_bg *bg)
{
    siginfo_t info = {0};
    /* WNOWAIT: look without reaping, so e2e_bg_stop still can. */
    if (waitid(P_PID, (id_t)bg->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return false;
    return info.si_pid == 0;
}

void e2e_bg_stop(struct e2e_bg *bg)
{
    kill(bg->pid, SIGTERM);
    waitpid(bg->pid, NULL, 0);
    e2e_rmdir(bg->dir);
}
