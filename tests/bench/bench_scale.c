/* Driver of the scale benchmark (issue 7, "Scale"): runs build/fixtures/
 * scale_objects with 10 000 threads, 100 000 fds and 100 000 timers (or as
 * many as this machine's hard limits allow, said so), plain and preloaded
 * with the exit report as text and as JSON, then bench_churn: 10 000
 * churning threads under live dumps. Prints a Markdown table for
 * docs/performance.md. It only reports; nothing is asserted about time.
 *
 * The exit report's wall time is the report file's modification time minus
 * the moment the program called exit (it prints that, CLOCK_REALTIME). The
 * tracking memory comes from the JSON report's "tracking" block. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

struct config {
    const char *lib, *objects, *churn;
    long threads, fds, timers, churn_threads;
    double churn_seconds;
    char dir[64];
};

struct run {
    bool ok;
    long threads, fds, timers, rss_kb;
    long long exit_ns;
    double report_ms; /* file mtime - exit_ns; -1 without a report */
    char path[256];   /* the report file */
    char out[512];
};

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench_scale: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

/* Runs argv with env, stdout captured into out; true when it exited with
 * one of the two statuses expected. */
static bool run_capture(char *const argv[], char *const env[], char *out, size_t len, int ok1,
                        int ok2)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (err)
        die("cannot start %s", argv[0]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(p[0], out + used, len - 1 - used)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            used += (size_t)n;
    out[used] = '\0';
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status)) {
        fprintf(stderr, "bench_scale: %s killed by signal %d\n", argv[0], WTERMSIG(status));
        return false;
    }
    if (WEXITSTATUS(status) != ok1 && WEXITSTATUS(status) != ok2) {
        fprintf(stderr, "bench_scale: %s exited with status %d\n", argv[0], WEXITSTATUS(status));
        return false;
    }
    return true;
}

/* The one file in dir whose name starts with prefix. */
static bool find_report(const char *dir, const char *prefix, char *path, size_t len)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s/%s.* 2>/dev/null | grep -v '\\.tmp$' | head -1", dir, prefix);
    FILE *f = popen(cmd, "r");
    bool found = f && fgets(path, (int)len, f);
    if (f)
        pclose(f);
    if (found)
        path[strcspn(path, "\n")] = '\0';
    return found;
}

/* format: NULL for a plain run, else "text" or "json". */
static void run_objects(const struct config *c, const char *format, struct run *r)
{
    memset(r, 0, sizeof *r);
    r->report_ms = -1;
    char t[24], f[24], m[24], options[256];
    snprintf(t, sizeof t, "%ld", c->threads);
    snprintf(f, sizeof f, "%ld", c->fds);
    snprintf(m, sizeof m, "%ld", c->timers);
    char *argv[] = {(char *)c->objects, t, f, m, NULL};
    snprintf(options, sizeof options, "format=%s:log_path=%s/%s", format ? format : "text", c->dir,
             format ? format : "plain");
    char **env = bench_env(format ? c->lib : NULL, format ? options : NULL);
    r->ok = run_capture(argv, env, r->out, sizeof r->out, 0, 23);
    free(env);
    if (!r->ok || sscanf(r->out, "created %ld %ld %ld rss_kb %ld exit_ns %lld", &r->threads,
                         &r->fds, &r->timers, &r->rss_kb, &r->exit_ns) != 5) {
        r->ok = false;
        return;
    }
    struct stat st;
    if (format && find_report(c->dir, format, r->path, sizeof r->path) && stat(r->path, &st) == 0)
        r->report_ms =
            ((double)st.st_mtim.tv_sec * 1e9 + (double)st.st_mtim.tv_nsec - (double)r->exit_ns) /
            1e6;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
    fclose(f);
    return s;
}

/* Groups and lines of a text report: a group starts with a count at the
 * start of a line ("5000 threads blocked in ...", "9500 fds (...)"). */
static void text_shape(const char *path, long *groups, long *lines, size_t *bytes)
{
    char *s = slurp(path, bytes);
    *groups = *lines = 0;
    for (char *p = s; p && *p;) {
        char *end = strchr(p, '\n');
        (*lines)++;
        long n;
        char word[16];
        if (*p >= '0' && *p <= '9' && sscanf(p, "%ld %15s", &n, word) == 2 &&
            (!strncmp(word, "thread", 6) || !strncmp(word, "timer", 5) || !strncmp(word, "fd", 2)))
            (*groups)++;
        p = end ? end + 1 : p + strlen(p);
    }
    free(s);
}

static long long json_number(const char *s, const char *key)
{
    const char *p = s ? strstr(s, key) : NULL;
    return p ? atoll(p + strlen(key)) : -1;
}

/* Asked-for counts cut to this machine's hard limits, with a note. */
static void fit_limits(struct config *c)
{
    struct rlimit nofile, sigpending;
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_SIGPENDING, &sigpending);
    long max_fds = nofile.rlim_max == RLIM_INFINITY ? c->fds : (long)nofile.rlim_max - 256;
    /* The signal count is per user: leave a tenth to everything else. */
    long max_timers =
        sigpending.rlim_max == RLIM_INFINITY ? c->timers : (long)sigpending.rlim_max * 9 / 10;
    if (c->fds > max_fds) {
        printf("Note: RLIMIT_NOFILE's hard limit here is %lu (raising it needs CAP_SYS_RESOURCE): "
               "%ld fds instead of %ld.\n",
               (unsigned long)nofile.rlim_max, max_fds / 1000 * 1000, c->fds);
        c->fds = max_fds / 1000 * 1000;
    }
    if (c->timers > max_timers) {
        printf("Note: RLIMIT_SIGPENDING's hard limit here is %lu, and each POSIX timer holds one "
               "(per user): %ld timers instead of %ld.\n",
               (unsigned long)sigpending.rlim_max, max_timers / 1000 * 1000, c->timers);
        c->timers = max_timers / 1000 * 1000;
    }
}

static void print_machine(void)
{
    char line[512], cpu[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    double load[3] = {0};
    getloadavg(load, 3);
    struct utsname u;
    uname(&u);
    printf("Machine: %s, %ld CPUs, kernel %s; load average %.1f when measured.\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.release, load[0]);
}

static void with_commas(long long n, char *buf, size_t len)
{
    char digits[32];
    int d = snprintf(digits, sizeof digits, "%lld", n), k = 0;
    for (int i = 0; i < d && (size_t)k + 2 < len; i++) {
        if (i && (d - i) % 3 == 0)
            buf[k++] = ' ';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
}

static void scale_table(struct config *c)
{
    struct run plain, text, json;
    run_objects(c, NULL, &plain);
    run_objects(c, "text", &text);
    run_objects(c, "json", &json);
    if (!plain.ok || !text.ok || !json.ok)
        die("%s", "a scale run failed (see above)");
    long groups, lines;
    size_t text_bytes, json_bytes;
    text_shape(text.path, &groups, &lines, &text_bytes);
    char *js = slurp(json.path, &json_bytes);
    long long table = json_number(js, "\"table_bytes\":"),
              stacks = json_number(js, "\"stack_bytes\":"),
              unchecked = json_number(js, "\"timers_unchecked\":"),
              fds_unchecked = json_number(js, "\"fds_unchecked\":"),
              stackless = json_number(js, "\"threads_without_stack\":");
    free(js);
    long objects = json.threads + json.fds + json.timers;
    char t[32], f[32], m[32];
    with_commas(json.threads, t, sizeof t);
    with_commas(json.fds, f, sizeof f);
    with_commas(json.timers, m, sizeof m);
    printf("\n| scale: %s threads, %s fds, %s timers in one process | measured | goal |\n", t, f,
           m);
    printf("|---|---|---|\n");
    printf("| exit report, text: wall time | %.0f ms | < 1 s |\n", text.report_ms);
    printf("| exit report, JSON: wall time | %.0f ms | < 1 s |\n", json.report_ms);
    printf("| text report | %ld groups, %ld lines, %zu bytes | grouped |\n", groups, lines,
           text_bytes);
    printf("| JSON report | %zu bytes | |\n", json_bytes);
    printf("| strays' tables per live object (without stacks) | %.0f bytes | <= 128 bytes |\n",
           (double)table / (double)objects);
    printf("| interned stacks | %lld bytes | |\n", stacks);
    printf("| process RSS per object, preloaded - plain | %.0f bytes | |\n",
           (double)(text.rss_kb - plain.rss_kb) * 1024.0 / (double)objects);
    printf("| timers not checked against the kernel (time budget) | %lld | |\n", unchecked);
    printf("| fds not checked against /proc (time budget) | %lld | |\n", fds_unchecked);
    printf("| running threads without a current stack (time budget) | %lld of %ld | |\n",
           stackless, json.threads - json.threads / 2);
}

static void churn_table(const struct config *c)
{
    char n[24], s[24], dir[128], options[256], out[512];
    snprintf(n, sizeof n, "%ld", c->churn_threads);
    snprintf(s, sizeof s, "%.1f", c->churn_seconds);
    snprintf(dir, sizeof dir, "%s/churn", c->dir);
    mkdir(dir, 0700);
    snprintf(options, sizeof options, "format=json:log_path=%s/d", dir);
    char *argv[] = {(char *)c->churn, n, s, (char *)"5", dir, NULL};
    char **env = bench_env(c->lib, options);
    bool ok = run_capture(argv, env, out, sizeof out, 0, 23);
    free(env);
    long long bmax, bp99, dmax, dp99, dump_ms;
    int dumps;
    if (!ok || sscanf(out,
                      "baseline_max_us %lld baseline_p99_us %lld dump_max_us %lld dump_p99_us %lld "
                      "dump_ms %lld dumps %d",
                      &bmax, &bp99, &dmax, &dp99, &dump_ms, &dumps) != 6)
        die("%s", "the churn run failed");
    char t[32];
    with_commas(c->churn_threads, t, sizeof t);
    printf("\n| dumps of %s churning threads (lock+unlock every 1 s, 1 in 32 also create+join) "
           "| longest pause a worker saw | 99th percentile |\n",
           t);
    printf("|---|---|---|\n");
    printf("| without dumps | %.1f ms | %.1f ms |\n", (double)bmax / 1000, (double)bp99 / 1000);
    printf("| during %d live dumps (%lld ms each) | %.1f ms | %.1f ms |\n", dumps, dump_ms,
           (double)dmax / 1000, (double)dp99 / 1000);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_scale --lib PRELOAD.so --objects SCALE_OBJECTS --churn "
                    "BENCH_CHURN [--threads N] [--fds N] [--timers N] [--churn-threads N] "
                    "[--churn-seconds S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct config c = {.threads = 10000, .fds = 100000, .timers = 100000,
                       .churn_threads = 10000, .churn_seconds = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--lib"))
            c.lib = v;
        else if (!strcmp(a, "--objects"))
            c.objects = v;
        else if (!strcmp(a, "--churn"))
            c.churn = v;
        else if (!strcmp(a, "--threads"))
            c.threads = atol(v);
        else if (!strcmp(a, "--fds"))
            c.fds = atol(v);
        else if (!strcmp(a, "--timers"))
            c.timers = atol(v);
        else if (!strcmp(a, "--churn-threads"))
            c.churn_threads = atol(v);
        else if (!strcmp(a, "--churn-seconds"))
            c.churn_seconds = atof(v);
        else
            usage();
        i++;
    }
    if (!c.lib || !c.objects || !c.churn)
        usage();
    c.lib = realpath(c.lib, NULL);
    if (!c.lib)
        die("%s", "--lib: no such file");
    snprintf(c.dir, sizeof c.dir, "/tmp/bench_scale.XXXXXX");
    if (!mkdtemp(c.dir))
        die("mkdtemp: %s", strerror(errno));
    fit_limits(&c);
    scale_table(&c);
    churn_table(&c);
    printf("\n");
    print_machine();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", c.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_scale: could not remove %s\n", c.dir);
    return 0;
}
