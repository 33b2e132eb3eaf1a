/* Driver of the overhead benchmark: runs each bench_ops op plain and with
 * LD_PRELOAD=libstrays.so, alternating within one run so drift in machine
 * load hits both sides alike, and prints Markdown tables of ns/op and the
 * median ratio preloaded/plain. With --instructions it also counts the
 * instructions each op runs, plain and preloaded, under callgrind: a figure
 * a noisy machine does not move. It only reports; no timing is ever asserted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

#define TOOL_REPS 5 /* valgrind is slow: at most this many repetitions there */
#ifndef CHILD_TIMEOUT_S
#define CHILD_TIMEOUT_S 300 /* a hung child (e.g. a deadlocked hook) must not hang make */
#endif

static const char *const all_ops[] = {
    "thread_churn", "open_close", "fopen_fclose", "socket_close", "mutex_uncontended",
    "cond_pingpong", "pipe_rw", "timer_churn", "fd_churn_8threads",
};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The ops compared against valgrind and tsan, with counts small enough for
 * valgrind; plain and strays are rerun at the same count for a fair ratio. */
static const struct {
    const char *op;
    long iters;
} tool_ops[] = {{"thread_churn", 1000}, {"open_close", 10000}};
#define N_TOOL_OPS (sizeof tool_ops / sizeof tool_ops[0])

enum mode { PLAIN, STRAYS, VALGRIND, TSAN, N_MODES };
static const char *const mode_names[N_MODES] = {"plain", "strays", "valgrind", "tsan"};

struct config {
    const char *lib, *ops, *tsan_ops;
    int reps;
    bool valgrind, instructions;
    bool selected[N_OPS];
    char *valgrind_path; /* NULL if not on PATH */
    char **env_plain, **env_strays;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_run: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xconcat(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = xmalloc(la + lb + lc + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- command line ---- */

static void usage_exit(const char *why)
{
    fprintf(stderr,
            "bench_run: %s\n"
            "usage: bench_run --lib PRELOAD.so --ops BENCH_OPS [--reps N] [--only op1,op2]\n"
            "                 [--valgrind] [--tsan-ops BENCH_OPS_BUILT_WITH_TSAN] [--instructions]\n",
            why);
    exit(2);
}

static int op_index(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPS; i++)
        if (strlen(all_ops[i]) == len && strncmp(all_ops[i], name, len) == 0)
            return (int)i;
    return -1;
}

static void select_ops(struct config *c, const char *list)
{
    memset(c->selected, 0, sizeof c->selected);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        int i = op_index(p, len);
        if (i < 0) {
            fprintf(stderr, "bench_run: unknown op '%.*s'; ops are:", (int)len, p);
            for (size_t k = 0; k < N_OPS; k++)
                fprintf(stderr, " %s", all_ops[k]);
            fputc('\n', stderr);
            exit(2);
        }
        c->selected[i] = true;
        p += len + (p[len] == ',');
    }
}

static int parse_reps(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || n < 1 || n > BENCH_MAX_REPS)
        usage_exit("--reps takes a number from 1 to 99");
    return (int)n;
}

static void parse_args(struct config *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->reps = 7;
    for (size_t i = 0; i < N_OPS; i++)
        c->selected[i] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--valgrind"))
            c->valgrind = true;
        else if (!strcmp(a, "--instructions"))
            c->instructions = true;
        else if (!has_value && (!strcmp(a, "--lib") || !strcmp(a, "--ops") ||
                                !strcmp(a, "--reps") || !strcmp(a, "--only") ||
                                !strcmp(a, "--tsan-ops")))
            usage_exit("option needs a value");
        else if (!strcmp(a, "--lib"))
            c->lib = argv[++i];
        else if (!strcmp(a, "--ops"))
            c->ops = argv[++i];
        else if (!strcmp(a, "--tsan-ops"))
            c->tsan_ops = argv[++i];
        else if (!strcmp(a, "--reps"))
            c->reps = parse_reps(argv[++i]);
        else if (!strcmp(a, "--only"))
            select_ops(c, argv[++i]);
        else
            usage_exit("unknown argument");
    }
    if (!c->lib || !c->ops)
        usage_exit("--lib and --ops are required");
}

/* ---- environment and paths ---- */

/* The child's environment: ours, with STRAYS_OPTIONS=exitcode=0 (leaks must
 * not turn into a failing exit status) and, when preloading, the library in
 * front of any LD_PRELOAD already set. */
static char **make_env(const char *preload_first)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xmalloc((n + 3) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!has_prefix(environ[i], "LD_PRELOAD=") && !has_prefix(environ[i], "STRAYS_OPTIONS="))
            env[k++] = environ[i];
    env[k++] = xconcat("STRAYS_OPTIONS=exitcode=0", "", "");
    const char *old = getenv("LD_PRELOAD");
    if (!old)
        old = "";
    const char *list = old;
    if (preload_first)
        list = xconcat(preload_first, *old ? ":" : "", old);
    if (*list)
        env[k++] = xconcat("LD_PRELOAD=", list, "");
    env[k] = NULL;
    return env;
}

/* Like the shell's lookup, so "skip if valgrind is not on PATH" is exact. */
static char *find_on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        char *dir = strndup(p, len);
        char *full = xconcat(len ? dir : ".", "/", name);
        free(dir);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return full;
        free(full);
        p += len + (p[len] == ':');
    }
    return NULL;
}

/* ---- running one child ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts path with the write end of a pipe on fd `captured` (1 or 2) and
 * /dev/null on the other of stdout/stderr. Returns the read end, or -1. */
static int spawn_captured(char *const argv[], char *const envp[], int captured, pid_t *pid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], captured);
    posix_spawn_file_actions_addopen(&fa, captured == 1 ? 2 : 1, "/dev/null", O_WRONLY, 0);
    int err = posix_spawn(pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (err != 0) {
        close(p[0]);
        errno = err;
        return -1;
    }
    return p[0];
}

/* Reads the pipe to end of file into buf (keeping the first len-1 bytes).
 * Returns false if the deadline passed first. */
static bool read_until_eof(int fd, char *buf, size_t len, double deadline)
{
    size_t used = 0;
    char scratch[4096];
    for (;;) {
        int left_ms = (int)((deadline - now_s()) * 1000);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left_ms <= 0 || poll(&pfd, 1, left_ms) == 0)
            return false;
        ssize_t n = read(fd, scratch, sizeof scratch);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t keep = (size_t)n < len - 1 - used ? (size_t)n : len - 1 - used;
        memcpy(buf + used, scratch, keep);
        used += keep;
    }
    buf[used] = '\0';
    return true;
}

/* Waits for the child until the deadline, then kills it (it is ours, by pid). */
static int reap(pid_t pid, double deadline, bool *timed_out)
{
    int status;
    *timed_out = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return r == pid ? status : -1;
        if (now_s() > deadline && !*timed_out) {
            *timed_out = true;
            kill(pid, SIGKILL);
            deadline += 3600;
        }
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
}

/* Runs argv to completion, capturing fd `captured`. Returns NULL on success
 * or a static description of what went wrong. */
static const char *run_child(char *const argv[], char *const envp[], int captured, char *out,
                             size_t out_len)
{
    static char why[256];
    pid_t pid;
    int fd = spawn_captured(argv, envp, captured, &pid);
    if (fd < 0) {
        snprintf(why, sizeof why, "cannot start %s: %s", argv[0], strerror(errno));
        return why;
    }
    double deadline = now_s() + CHILD_TIMEOUT_S;
    bool read_ok = read_until_eof(fd, out, out_len, deadline);
    close(fd);
    bool timed_out;
    int status = reap(pid, read_ok ? deadline : now_s() - 1, &timed_out);
    if (timed_out || !read_ok)
        snprintf(why, sizeof why, "killed after %d s without finishing", CHILD_TIMEOUT_S);
    else if (status == -1)
        snprintf(why, sizeof why, "waitpid failed: %s", strerror(errno));
    else if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0)
        snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
    else
        return NULL;
    return why;
}

/* Looks for the line "OP NS_PER_OP" bench_ops prints; any other line (say,
 * a preload chattering on stdout) is ignored rather than misread. */
static bool parse_result(const char *out, const char *op, double *ns)
{
    char name[64];
    for (const char *line = out; *line;) {
        if (sscanf(line, "%63s %lf", name, ns) == 2 && strcmp(name, op) == 0 && isfinite(*ns) &&
            *ns > 0)
            return true;
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
    return false;
}

/* ---- one measurement ---- */

/* Builds the command line of op in mode; iters 0 means bench_ops' default. */
static void build_argv(const struct config *c, const char *op, enum mode m, char *iters,
                       char *argv[8])
{
    int k = 0;
    if (m == VALGRIND) {
        argv[k++] = c->valgrind_path;
        argv[k++] = (char *)"--track-fds=yes";
        argv[k++] = (char *)"-q";
    }
    argv[k++] = (char *)(m == TSAN ? c->tsan_ops : c->ops);
    argv[k++] = (char *)op;
    if (iters[0])
        argv[k++] = iters;
    argv[k] = NULL;
}

/* The child's stderr went to /dev/null, so say how to see what it said. */
static void print_rerun_hint(const struct config *c, enum mode m, char *const argv[])
{
    fprintf(stderr, "bench_run:   to see its messages, rerun:");
    for (char **e = c->env_strays; m == STRAYS && *e; e++)
        if (has_prefix(*e, "LD_PRELOAD="))
            fprintf(stderr, " %s", *e);
    for (int i = 0; argv[i]; i++)
        fprintf(stderr, " %s", argv[i]);
    fputc('\n', stderr);
}

/* Runs op once in mode; on failure says which and returns false. */
static bool measure(const struct config *c, const char *op, enum mode m, long iters, double *ns)
{
    char count[32] = "", out[512], *argv[8], bad[128];
    if (iters > 0)
        snprintf(count, sizeof count, "%ld", iters);
    build_argv(c, op, m, count, argv);
    char **env = m == STRAYS ? c->env_strays : c->env_plain;
    const char *why = run_child(argv, env, 1, out, sizeof out);
    if (!why && parse_result(out, op, ns))
        return true;
    if (!why) {
        size_t len = strcspn(out, "\n");
        snprintf(bad, sizeof bad, "printed no parseable result: '%.*s'", (int)(len < 80 ? len : 80),
                 out);
        why = bad;
    }
    fprintf(stderr, "bench_run: %s (%s): %s\n", op, mode_names[m], why);
    print_rerun_hint(c, m, argv);
    return false;
}

/* ---- statistics and tables ---- */

struct op_result {
    bool failed;
    int n;
    double plain[BENCH_MAX_REPS], strays[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
};

/* Alternates which side runs first so neither always gets the warmer cache
 * or the quieter moment: plain first on even repetitions. */
static void bench_op(const struct config *c, const char *op, struct op_result *r)
{
    memset(r, 0, sizeof *r);
    fprintf(stderr, "bench_run: %s: %d repetitions\n", op, c->reps);
    for (int rep = 0; rep < c->reps; rep++) {
        enum mode first = rep % 2 ? STRAYS : PLAIN, second = rep % 2 ? PLAIN : STRAYS;
        double ns[N_MODES];
        if (!measure(c, op, first, 0, &ns[first]) || !measure(c, op, second, 0, &ns[second])) {
            r->failed = true;
            return;
        }
        r->plain[r->n] = ns[PLAIN];
        r->strays[r->n] = ns[STRAYS];
        r->ratio[r->n++] = ns[STRAYS] / ns[PLAIN];
    }
}

static void print_main_table(const struct config *c, const struct op_result *res)
{
    printf("| benchmark | plain ns/op | strays ns/op | ratio (median) |\n");
    printf("|---|---|---|---|\n");
    for (size_t i = 0; i < N_OPS; i++) {
        const struct op_result *r = &res[i];
        if (!c->selected[i])
            continue;
        if (r->failed)
            printf("| %s | failed | failed | failed |\n", all_ops[i]);
        else
            printf("| %s | %.1f | %.1f | %.3f |\n", all_ops[i], bench_median(r->plain, r->n),
                   bench_median(r->strays, r->n), bench_median(r->ratio, r->n));
    }
}

/* ---- the comparison with valgrind and tsan ---- */

struct tool_result {
    bool failed[N_MODES], skipped[N_MODES];
    int n[N_MODES];
    double plain_ns[TOOL_REPS], ratio[N_MODES][TOOL_REPS];
};

/* One repetition: every available mode, starting at a different one each
 * time; ratios are against this repetition's plain run. */
static void tool_rep(const struct config *c, int i, int rep, struct tool_result *t)
{
    double ns[N_MODES];
    bool ok[N_MODES] = {false};
    for (int k = 0; k < N_MODES; k++) {
        enum mode m = (enum mode)((rep + k) % N_MODES);
        if (t->skipped[m] || t->failed[m])
            continue;
        ok[m] = measure(c, tool_ops[i].op, m, tool_ops[i].iters, &ns[m]);
        t->failed[m] = !ok[m];
    }
    if (!ok[PLAIN])
        return;
    t->plain_ns[t->n[PLAIN]] = ns[PLAIN];
    for (int m = 0; m < N_MODES; m++)
        if (ok[m])
            t->ratio[m][t->n[m]++] = ns[m] / ns[PLAIN];
}

static void print_tool_cell(const struct tool_result *t, enum mode m)
{
    if (t->skipped[m])
        printf(" n/a |");
    else if (t->failed[m] || t->failed[PLAIN])
        printf(" failed |");
    else if (m == PLAIN)
        printf(" 1.000 (%.1f ns) |", bench_median(t->plain_ns, t->n[PLAIN]));
    else
        printf(" %.3f |", bench_median(t->ratio[m], t->n[m]));
}

/* Returns false if any run failed. */
static bool tool_table(const struct config *c, int reps)
{
    struct tool_result t[N_TOOL_OPS];
    bool all_ok = true;
    for (size_t i = 0; i < N_TOOL_OPS; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].skipped[VALGRIND] = !c->valgrind_path;
        t[i].skipped[TSAN] = !c->tsan_ops;
        fprintf(stderr, "bench_run: %s vs valgrind and tsan: %d repetitions\n", tool_ops[i].op,
                reps);
        for (int rep = 0; rep < reps && !t[i].failed[PLAIN]; rep++)
            tool_rep(c, (int)i, rep, &t[i]);
        for (int m = 0; m < N_MODES; m++)
            all_ok &= !t[i].failed[m];
    }
    printf("| benchmark | plain | strays | valgrind --track-fds | tsan |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_TOOL_OPS; i++) {
        printf("| %s |", tool_ops[i].op);
        for (int m = 0; m < N_MODES; m++)
            print_tool_cell(&t[i], (enum mode)m);
        putchar('\n');
    }
    return all_ok;
}

static void tool_notes(const struct config *c, int reps)
{
    printf("\nRatios vs plain, median of %d repetitions at small counts (", reps);
    for (size_t i = 0; i < N_TOOL_OPS; i++)
        printf("%s%s %ld", i ? ", " : "", tool_ops[i].op, tool_ops[i].iters);
    printf(" iterations). Start-up is excluded: each run times its own loop.\n");
    if (!c->valgrind_path)
        printf("valgrind: skipped, not found on PATH.\n");
    if (!c->tsan_ops)
        printf("tsan: skipped, no --tsan-ops given (bench_ops built with -fsanitize=thread).\n");
}

/* ---- instructions per op, counted by callgrind ---- */

/* bench_ops runs iters/20 (at least 1) untimed iterations first; see its
 * warmup_count. */
static long loop_count(long iters) { return iters + (iters / 20 > 0 ? iters / 20 : 1); }

/* Instructions op's whole run takes (callgrind's summary) at iters, in mode
 * PLAIN or STRAYS; -1 on failure, said on stderr. */
static long long count_instructions(const struct config *c, const char *op, enum mode m, long iters)
{
    char count[32], out_file[64], out[512], *argv[10];
    snprintf(count, sizeof count, "%ld", iters);
    snprintf(out_file, sizeof out_file, "/tmp/bench_run.%d.callgrind", (int)getpid());
    char *out_arg = xconcat("--callgrind-out-file=", out_file, "");
    int k = 0;
    argv[k++] = c->valgrind_path;
    argv[k++] = (char *)"--tool=callgrind";
    argv[k++] = out_arg;
    argv[k++] = (char *)c->ops;
    argv[k++] = (char *)op;
    argv[k++] = count;
    argv[k] = NULL;
    const char *why = run_child(argv, m == STRAYS ? c->env_strays : c->env_plain, 1, out, sizeof out);
    free(out_arg);
    long long total = -1;
    FILE *f = why ? NULL : fopen(out_file, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "summary: %lld", &total) == 1)
            break;
    if (f)
        fclose(f);
    unlink(out_file);
    if (total < 0)
        fprintf(stderr, "bench_run: %s (%s) under callgrind: %s\n", op, mode_names[m],
                why ? why : "no summary line in its output");
    return total;
}

/* Instructions per iteration: the difference between two counts, so that
 * start-up, strays' initialisation and its exit report drop out. */
static double instructions_per_op(const struct config *c, const char *op, enum mode m, long iters)
{
    long long small = count_instructions(c, op, m, iters),
              large = small < 0 ? -1 : count_instructions(c, op, m, 2 * iters);
    if (large < 0)
        return -1;
    return (double)(large - small) / (double)(loop_count(2 * iters) - loop_count(iters));
}

/* Iteration counts small enough for callgrind (about 50 times slower). */
static long callgrind_iters(const char *op)
{
    static const struct {
        const char *op;
        long iters;
    } counts[] = {{"thread_churn", 200}, {"cond_pingpong", 500}, {"mutex_uncontended", 200000}};
    for (size_t i = 0; i < ARRAY_LEN(counts); i++)
        if (!strcmp(counts[i].op, op))
            return counts[i].iters;
    return 2000;
}

/* Returns false if any run failed. */
static bool instruction_table(const struct config *c)
{
    bool all_ok = true;
    printf("| benchmark | plain instructions/op | strays instructions/op | added by strays |\n");
    printf("|---|---|---|---|\n");
    for (size_t i = 0; i < N_OPS; i++) {
        if (!c->selected[i])
            continue;
        fprintf(stderr, "bench_run: %s: counting instructions\n", all_ops[i]);
        long iters = callgrind_iters(all_ops[i]);
        double plain = instructions_per_op(c, all_ops[i], PLAIN, iters),
               strays = plain < 0 ? -1 : instructions_per_op(c, all_ops[i], STRAYS, iters);
        if (strays < 0) {
            printf("| %s | failed | failed | |\n", all_ops[i]);
            all_ok = false;
            continue;
        }
        printf("| %s | %.0f | %.0f | %.0f |\n", all_ops[i], plain, strays, strays - plain);
    }
    printf("\nUser-space instructions, counted by callgrind at two iteration counts and "
           "subtracted, so start-up and the exit report are left out. System calls are not "
           "counted: where an op makes one, its time, not these counts, is the op's cost.\n");
    return all_ok;
}

/* ---- the machine ---- */

static void cpu_model(char *out, size_t len)
{
    char line[512];
    snprintf(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!has_prefix(line, "model name") || !colon)
            continue;
        colon += 1 + strspn(colon + 1, " \t");
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(out, len, "%s", colon);
        break;
    }
    fclose(f);
}

static void print_machine(int reps)
{
    char cpu[256];
    struct utsname u;
    cpu_model(cpu, sizeof cpu);
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "unknown");
    printf("Machine: %s, %ld CPUs, kernel %s, glibc %s; median of %d repetitions.\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.release, gnu_get_libc_version(), reps);
}

/* ---- checks before measuring ---- */

/* If the dynamic loader cannot preload the library (missing dependency,
 * wrong architecture) it says so on stderr, which the measured runs discard,
 * and runs the program anyway: every ratio would be a meaningless 1.0. So
 * one preloaded run first, with stderr captured, to catch exactly that. */
static void check_preload_loads(const struct config *c)
{
    char *argv[] = {(char *)c->ops, (char *)"open_close", (char *)"1", NULL};
    char err[8192];
    const char *why = run_child(argv, c->env_strays, 2, err, sizeof err);
    const char *ldso = strstr(err, "cannot be preloaded");
    if (!why && !ldso)
        return;
    if (ldso) {
        const char *start = ldso;
        while (start > err && start[-1] != '\n')
            start--;
        fprintf(stderr, "bench_run: the preload was not loaded:\n%.*s\n",
                (int)strcspn(start, "\n"), start);
    } else {
        fprintf(stderr, "bench_run: trial run of %s with LD_PRELOAD=%s: %s\n%s", c->ops, c->lib,
                why, err);
    }
    exit(1);
}

static char *resolve_or_exit(const char *what, const char *path)
{
    char *full = realpath(path, NULL);
    if (!full || access(full, R_OK) != 0) {
        fprintf(stderr, "bench_run: %s %s: %s\n", what, path, strerror(errno));
        exit(2);
    }
    return full;
}

static void setup(struct config *c)
{
    /* Resolved here so a wrong path fails loudly now rather than in ld.so,
     * whose complaint would go to the discarded stderr. */
    c->lib = resolve_or_exit("--lib", c->lib);
    if (strchr(c->lib, ':') || strchr(c->lib, ' '))
        usage_exit("--lib path must not contain ':' or spaces (LD_PRELOAD separators)");
    c->ops = resolve_or_exit("--ops", c->ops);
    if (c->tsan_ops)
        c->tsan_ops = resolve_or_exit("--tsan-ops", c->tsan_ops);
    if (c->valgrind || c->instructions)
        c->valgrind_path = find_on_path("valgrind");
    c->env_plain = make_env(NULL);
    c->env_strays = make_env(c->lib);
    check_preload_loads(c);
}

int main(int argc, char **argv)
{
    static struct op_result res[N_OPS];
    struct config c;
    bool all_ok = true;
    parse_args(&c, argc, argv);
    setup(&c);
    for (size_t i = 0; i < N_OPS; i++) {
        if (!c.selected[i])
            continue;
        bench_op(&c, all_ops[i], &res[i]);
        all_ok &= !res[i].failed;
    }
    print_main_table(&c, res);
    printf("\n");
    print_machine(c.reps);
    if (c.instructions && !c.valgrind_path) {
        printf("\nInstructions per op: skipped, valgrind not found on PATH.\n");
    } else if (c.instructions) {
        fflush(stdout);
        printf("\n");
        all_ok &= instruction_table(&c);
    }
    if (c.valgrind) {
        int reps = c.reps < TOOL_REPS ? c.reps : TOOL_REPS;
        fflush(stdout);
        printf("\n");
        all_ok &= tool_table(&c, reps);
        tool_notes(&c, reps);
    }
    if (!all_ok)
        fprintf(stderr, "bench_run: some runs failed, see above\n");
    return all_ok ? 0 : 1;
}
