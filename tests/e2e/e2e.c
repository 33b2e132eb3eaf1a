/* The end-to-end harness; see e2e.h. */
#define _GNU_SOURCE
#include "e2e.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int timeout_ms = 60000;

void e2e_set_timeout(int ms) { timeout_ms = ms; }

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* True once pid has ended (a pidfd turns readable then), false at the
 * deadline. Without pidfds (Linux < 5.3), polls waitid every 5 ms. */
static bool ended_by(pid_t pid, long long deadline)
{
    int pidfd = pidfd_open(pid, 0);
    for (;;) {
        long long left = deadline - now_ms();
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int rc = poll(&p, 1, left > 0 ? (int)left : 0);
            if (rc > 0 || (rc == 0 && left <= 0)) {
                close(pidfd);
                return rc > 0;
            }
            continue; /* EINTR, or woken early */
        }
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid)
            return true;
        if (left <= 0)
            return false;
        usleep(5 * 1000); /* sleep-ok: the poll interval of a bounded wait */
    }
}

bool e2e_wait_exit(pid_t pid, int timeout_ms, int *ws)
{
    bool ended = ended_by(pid, now_ms() + timeout_ms);
    if (!ended)
        kill(pid, SIGKILL);
    pid_t got;
    while ((got = waitpid(pid, ws, 0)) == -1 && errno == EINTR)
        ;
    cr_assert_eq(got, pid, "waitpid %d: %s", (int)pid, strerror(errno));
    return ended;
}

const char *e2e_build_path(const char *name)
{
    static __thread char paths[4][4096];
    static __thread unsigned next;
    char *path = paths[next++ % 4];
    const char *build = getenv("STRAYS_BUILD");
    char dir[2048];
    if (!realpath(build && *build ? build : "build", dir))
        cr_assert_fail("build directory not found (run from the repository root)");
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    return path;
}

char *e2e_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    return buf;
}

/* environ with the strays variables replaced. */
static char **make_env(const char *options, bool preload)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        /* BXFI_MAP tells a Criterion process it is a test worker: a fixture
         * that is itself a Criterion suite must not inherit it. */
        if (strncmp(environ[i], "STRAYS_OPTIONS=", 15) && strncmp(environ[i], "LD_PRELOAD=", 11) &&
            strncmp(environ[i], "BXFI_MAP=", 9))
            env[used++] = environ[i];
    if (preload && asprintf(&env[used], "LD_PRELOAD=%s", e2e_build_path("libstrays.so")) > 0)
        used++;
    if (options && asprintf(&env[used], "STRAYS_OPTIONS=%s", options) > 0)
        used++;
    return env;
}

void e2e_for_each_report(const char *dir, void (*fn)(struct st_report *r, void *ctx), void *ctx)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, versionsort);
    cr_assert_geq(n, 0, "cannot list %s", dir);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (len > 5 && !strcmp(name + len - 5, ".json")) {
            char path[600], err[700];
            struct st_report r;
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if (st_report_load(&r, path, err, sizeof err) != 0)
                cr_assert_fail("report does not load: %s", err);
            fn(&r, ctx);
        }
        free(names[i]);
    }
    free(names);
}

static void keep_report(struct st_report *r, void *ctx)
{
    struct e2e_run *run = ctx;
    /* Grows by powers of two: a run may leave hundreds of reports. */
    if ((run->nreports & (run->nreports - 1)) == 0) {
        size_t cap = run->nreports ? 2 * (size_t)run->nreports : 1;
        struct st_report *grown = realloc(run->reports, cap * sizeof *grown);
        cr_assert_not_null(grown);
        run->reports = grown;
    }
    run->reports[run->nreports++] = *r;
}

void e2e_load_reports(struct e2e_run *run, const char *dir)
{
    e2e_for_each_report(dir, keep_report, run);
}

void e2e_run_raw(struct e2e_run *run, const char *fixture, const char *strays_options,
                 const char *const *args, bool preload)
{
    memset(run, 0, sizeof *run);
    snprintf(run->dir, sizeof run->dir, "/tmp/strays-e2e.XXXXXX");
    cr_assert_not_null(mkdtemp(run->dir));
    char fixture_path[4096], out_path[300], err_path[300];
    snprintf(fixture_path, sizeof fixture_path, "%s", e2e_build_path(fixture));
    snprintf(out_path, sizeof out_path, "%s/stdout", run->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", run->dir);
    const char *argv[32] = {fixture_path};
    for (int i = 0; args && args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* The fixture starts with 0, 1 and 2 only, so its fd numbers are known
     * (Criterion's own pipes would otherwise be inherited). */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    char **env = make_env(strays_options, preload);
    pid_t pid;
    int rc = posix_spawn(&pid, fixture_path, &fa, NULL, (char **)argv, env);
    cr_assert_eq(rc, 0, "cannot start %s: %s", fixture_path, strerror(rc));
    /* A fixture that hangs (a deadlocked hook, say) fails its test instead of
     * hanging the whole suite. */
    int ws = 0;
    cr_assert(e2e_wait_exit(pid, timeout_ms, &ws), "%s hung: killed after %d ms", fixture,
              timeout_ms);
    run->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    run->wait_status = ws;
    run->out = e2e_slurp(out_path);
    run->err = e2e_slurp(err_path);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    e2e_load_reports(run, run->dir);
}

void e2e_run(struct e2e_run *run, const char *fixture, const char *options,
             const char *const *args)
{
    char dir[256], opts[1024];
    snprintf(dir, sizeof dir, "/tmp/strays-e2e-reports.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r%s%s", dir, options ? ":" : "",
             options ? options : "");
    e2e_run_raw(run, fixture, opts, args, true);
    /* Reports went to the separate directory: load them from there. */
    e2e_load_reports(run, dir);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, run->dir);
    cr_assert_eq(system(cmd), 0);
    run->dir[0] = '\0'; /* both gone: nothing left for e2e_free */
}

void e2e_free(struct e2e_run *run)
{
    for (int i = 0; i < run->nreports; i++)
        st_report_free(&run->reports[i]);
    free(run->reports);
    free(run->out);
    free(run->err);
    /* e2e_run_raw's directory (stdout, stderr); e2e_run's are gone already. */
    if (run->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", run->dir);
        if (system(cmd) != 0)
            cr_log_warn("could not remove %s", run->dir);
    }
}

const struct st_report *e2e_only_report(const struct e2e_run *run)
{
    cr_assert_eq(run->nreports, 1, "expected one report, got %d; stderr:\n%s", run->nreports,
                 run->err);
    return &run->reports[0];
}

const struct st_report *e2e_report(const struct e2e_run *run, int pid)
{
    for (int i = 0; i < run->nreports; i++)
        if (pid == 0 || run->reports[i].pid == pid)
            return &run->reports[i];
    return NULL;
}

const struct st_report *e2e_main_report(const struct e2e_run *run, const char *fixture)
{
    const char *path = e2e_build_path(fixture);
    for (int i = 0; i < run->nreports; i++)
        if (run->reports[i].exe && !strcmp(run->reports[i].exe, path))
            return &run->reports[i];
    return NULL;
}

int e2e_count_threads_named(const struct st_report *r, const char *name)
{
    int n = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].name && !strcmp(r->threads[i].name, name))
            n++;
    return n;
}

const struct st_report_thread *e2e_thread_named(const struct st_report *r, const char *name)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].name && !strcmp(r->threads[i].name, name))
            return &r->threads[i];
    return NULL;
}

int e2e_frame_of(const struct st_report *r, int stack, const char *function)
{
    if (stack < 0 || (uint32_t)stack >= r->nstacks)
        return -1;
    for (uint32_t i = 0; i < r->stacks[stack].depth; i++) {
        const char *f = r->stacks[stack].frames[i].function;
        if (f && !strcmp(f, function))
            return (int)i;
    }
    return -1;
}

bool e2e_stack_has(const struct st_report *r, int stack, const char *function)
{
    return e2e_frame_of(r, stack, function) >= 0;
}

void e2e_copy_from_build(char *path, size_t len, const char *dir, const char *name,
                         const char *as)
{
    cr_assert_eq(chmod(dir, 0755), 0);
    snprintf(path, len, "%s/%s", dir, as);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", name[0] == '/' ? name : e2e_build_path(name), path);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

bool e2e_wait_for_file(const char *path, int timeout_ms)
{
    for (int waited_ms = 0; access(path, F_OK) != 0; waited_ms += 2) {
        if (waited_ms >= timeout_ms)
            return false;
        usleep(2000); /* sleep-ok: a bounded poll for the file, the event itself */
    }
    return true;
}
