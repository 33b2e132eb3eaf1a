/* What strays costs whole programs, where a CI job pays it: each process's
 * start and exit, a real program whose exit report has leaks, and a build
 * under `strays run`. Each workload runs plain and with strays, alternating
 * so drift in the machine's load hits both alike; the table gives medians
 * and the median of the per-pair ratios, and callgrind's instruction counts
 * where a run is short enough for it (they do not move with the load).
 * It only reports; no timing is ever asserted. Rows:
 *   clean      /bin/true started 200 times (posix_spawn + wait)
 *   shell      sh running /bin/true 200 times in a loop, all preloaded
 *   xz         xz -T2 on text sized so the plain run takes about 0.3 s: its
 *              exit report names liblzma's 2 threads and xz's pipe
 *   make       `make -j2 all` of a clean clone of strays, plain and under
 *              `strays run` */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct config {
    const char *lib, *cli, *src;
    const char *empty_lib; /* a library that does nothing, or NULL */
    int reps, make_reps;
    bool rows[4]; /* clean, shell, xz, make */
    bool hide_debug;
    char *valgrind;
    char work[256];
};

enum { ROW_CLEAN, ROW_SHELL, ROW_XZ, ROW_MAKE };
static const char *const row_names[] = {"clean", "shell", "xz", "make"};

static void usage_exit(const char *why)
{
    fprintf(stderr,
            "bench_process: %s\n"
            "usage: bench_process --lib libstrays.so --cli strays --src STRAYS_SOURCE_DIR\n"
            "                     [--empty-lib EMPTY.so] [--reps N] [--make-reps N]\n"
            "                     [--only clean,shell,xz,make] [--hide-debug-files]\n",
            why);
    exit(2);
}

/* ---- running a child ---- */

struct outcome {
    double seconds;
    double cpu_seconds; /* user + system, of the child and what it waited for */
    long maxrss_kb;
    int status; /* as waitpid gives it; -1 when it could not start */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv with stdout to out_path (or /dev/null) and stderr to err_path
 * (or /dev/null), in dir when not NULL; waits, timing it. */
static struct outcome run(char *const argv[], char **env, const char *dir, const char *out_path,
                          const char *err_path)
{
    struct outcome o = {0, 0, 0, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (dir)
        posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    double start = now_s();
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "bench_process: cannot start %s: %s\n", argv[0], strerror(err));
        return o;
    }
    struct rusage ru;
    while (wait4(pid, &o.status, 0, &ru) < 0)
        if (errno != EINTR)
            return o;
    o.seconds = now_s() - start;
    o.cpu_seconds = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    o.maxrss_kb = ru.ru_maxrss;
    return o;
}

static bool exited_with(const struct outcome *o, int a, int b)
{
    return o->status >= 0 && WIFEXITED(o->status) &&
           (WEXITSTATUS(o->status) == a || WEXITSTATUS(o->status) == b);
}

/* ---- statistics ---- */

/* Plain and strays samples of one measure, taken in alternating pairs. */
struct pairs {
    double plain[BENCH_MAX_REPS], strays[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
    int n;
};

/* The median over the samples of strays' time less plain's, each sample's
 * two sides measured together: what a process pays for the library. */
static double added(const struct pairs *p)
{
    double d[BENCH_MAX_REPS];
    for (int i = 0; i < p->n; i++)
        d[i] = p->strays[i] - p->plain[i];
    return bench_median(d, p->n);
}

static void add_pair(struct pairs *p, double plain, double strays)
{
    p->plain[p->n] = plain;
    p->strays[p->n] = strays;
    p->ratio[p->n] = strays / plain;
    p->n++;
}

static void print_row(const char *what, const struct pairs *p, double scale, const char *unit,
                      const char *goal)
{
    if (p->n == 0) {
        printf("| %s | failed | failed | | %s |\n", what, goal);
        return;
    }
    printf("| %s | %.3g %s | %.3g %s | %.3f | %s |\n", what, bench_median(p->plain, p->n) * scale, unit,
           bench_median(p->strays, p->n) * scale, unit, bench_median(p->ratio, p->n), goal);
}

/* ---- instructions, by callgrind ---- */

/* Instructions argv runs (children included), or -1. */
static long long instructions(const struct config *c, char *const argv[], char **env)
{
    if (!c->valgrind)
        return -1;
    char file[300], *vargv[32];
    snprintf(file, sizeof file, "%s/callgrind.out", c->work);
    char *out_arg;
    if (asprintf(&out_arg, "--callgrind-out-file=%s.%%p", file) < 0)
        return -1;
    int k = 0;
    vargv[k++] = c->valgrind;
    vargv[k++] = (char *)"--tool=callgrind";
    vargv[k++] = (char *)"--trace-children=yes";
    vargv[k++] = out_arg;
    for (int i = 0; argv[i] && k < 31; i++)
        vargv[k++] = argv[i];
    vargv[k] = NULL;
    struct outcome o = run(vargv, env, NULL, NULL, NULL);
    free(out_arg);
    long long total = 0;
    char cmd[700], line[256];
    /* Sum the summaries of every process's file, then remove them. */
    snprintf(cmd, sizeof cmd, "cat %s.* 2>/dev/null; rm -f %s.*", file, file);
    FILE *f = popen(cmd, "r");
    long long one;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "summary: %lld", &one) == 1)
            total += one;
    if (f)
        pclose(f);
    return o.status >= 0 && total > 0 ? total : -1;
}

static void print_instructions(const char *what, long long plain, long long strays)
{
    if (plain < 0 || strays < 0)
        printf("| %s | (no valgrind) | | | |\n", what);
    else
        printf("| %s | %lld | %lld | %lld | %.3f |\n", what, plain, strays, strays - plain,
               (double)strays / (double)plain);
}

/* ---- the workloads ---- */

/* /bin/true, 200 starts per sample: the cost of a process that leaks
 * nothing. Its CPU time (user + system, as the kernel counts it) is given
 * too: on a busy machine the wall time mostly measures waiting for a CPU.
 * With --empty-lib, the same with a library that does nothing preloaded:
 * what any LD_PRELOAD costs here, under strays' own cost. A sample's 200
 * starts per side are 10 batches of 20, the sides taking turns in an order
 * that rotates: the machine's drift over a sample (on the VMs this runs on,
 * as large as what is measured) then falls on every side alike. */
static void bench_clean(const struct config *c)
{
    enum { BATCHES = 10, BATCH = 20, STARTS = BATCHES * BATCH };
    char *argv[] = {(char *)"/bin/true", NULL};
    char **envs[3] = {bench_env(NULL, NULL), bench_env(c->lib, NULL),
                      c->empty_lib ? bench_env(c->empty_lib, NULL) : NULL};
    int sides = envs[2] ? 3 : 2;
    struct pairs wall = {.n = 0}, cpu = {.n = 0}, empty_wall = {.n = 0}, empty_cpu = {.n = 0};
    for (int r = 0; r < c->reps; r++) {
        double t[3] = {0, 0, 0}, u[3] = {0, 0, 0};
        for (int b = 0; b < BATCHES; b++)
            for (int k = 0; k < sides; k++) {
                int side = (b + k) % sides;
                for (int i = 0; i < BATCH; i++) {
                    struct outcome o = run(argv, envs[side], NULL, NULL, NULL);
                    t[side] += o.seconds;
                    u[side] += o.cpu_seconds;
                }
            }
        add_pair(&wall, t[0] / STARTS, t[1] / STARTS);
        add_pair(&cpu, u[0] / STARTS, u[1] / STARTS);
        if (envs[2]) {
            add_pair(&empty_wall, t[0] / STARTS, t[2] / STARTS);
            add_pair(&empty_cpu, u[0] / STARTS, u[2] / STARTS);
        }
    }
    print_row("a clean process (/bin/true, 200 starts): wall time per start", &wall, 1e3, "ms",
              "");
    printf("|   added per process, wall time | | +%.3f ms | | ≤ +0.2 ms |\n", added(&wall) * 1e3);
    print_row("  CPU time per start (user + system)", &cpu, 1e3, "ms", "");
    printf("|   added per process, CPU time | | +%.3f ms | | |\n", added(&cpu) * 1e3);
    if (empty_cpu.n) {
        print_row("  the floor: a library that does nothing, preloaded: wall", &empty_wall, 1e3,
                  "ms", "");
        printf("|   the floor's added per process, wall time | | +%.3f ms | | |\n",
               added(&empty_wall) * 1e3);
        print_row("  the floor: CPU time", &empty_cpu, 1e3, "ms", "");
    }
}

static void bench_shell(const struct config *c)
{
    char *argv[] = {(char *)"sh", (char *)"-c",
                    (char *)"i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done", NULL};
    char **plain = bench_env(NULL, NULL), **strays = bench_env(c->lib, NULL);
    char **empty = c->empty_lib ? bench_env(c->empty_lib, NULL) : NULL;
    /* Under `strays run` each of the 201 processes writes its report of
     * nothing, and the run reads them all. */
    char *run_argv[] = {(char *)c->cli, (char *)"run", (char *)"--", argv[0], argv[1], argv[2],
                        NULL};
    char **run_env = bench_env(NULL, NULL);
    struct pairs p = {.n = 0}, cpu = {.n = 0}, floor = {.n = 0}, under_run = {.n = 0};
    for (int r = 0; r < c->reps; r++) {
        struct outcome a = run(argv, plain, NULL, NULL, NULL);
        struct outcome b = run(argv, strays, NULL, NULL, NULL);
        add_pair(&p, a.seconds, b.seconds);
        add_pair(&cpu, a.cpu_seconds, b.cpu_seconds);
        if (empty)
            add_pair(&floor, a.seconds, run(argv, empty, NULL, NULL, NULL).seconds);
        struct outcome u = run(run_argv, run_env, NULL, NULL, NULL);
        if (exited_with(&u, 0, 0))
            add_pair(&under_run, a.seconds, u.seconds);
    }
    print_row("a shell loop of 200 /bin/true", &p, 1.0, "s", "≤ 1.15");
    print_row("  its CPU time (user + system, every process)", &cpu, 1.0, "s", "");
    if (floor.n)
        print_row("  the floor: a library that does nothing, preloaded", &floor, 1.0, "s", "");
    print_row("  under `strays run` (a report file per process, read by the run)", &under_run, 1.0,
              "s", "");
}

/* Text that compresses like source code: words from a fixed list in a
 * fixed pseudo-random order, so every run compresses the same bytes. */
static bool write_text(const char *path, size_t bytes)
{
    static const char *const words[] = {"static", "int", "return", "struct", "report", "thread",
                                        "if", "(", ")", "{", "}", ";", "\n", "const", "char",
                                        "*", "for", "while", "st_", "fd", "0", "1", "=", "+"};
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    unsigned long x = 12345;
    for (size_t n = 0; n < bytes;) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        const char *w = words[(x >> 33) % ARRAY_LEN(words)];
        n += (size_t)fprintf(f, "%s ", w);
    }
    return fclose(f) == 0;
}

/* Sizes the input so plain xz -T2 takes about 0.3 s here and now. */
static bool make_xz_input(const struct config *c, char *path, size_t len)
{
    snprintf(path, len, "%s/input.txt", c->work);
    size_t bytes = 1u << 20;
    char **plain = bench_env(NULL, NULL);
    for (int round = 0; round < 3; round++) {
        if (!write_text(path, bytes))
            return false;
        char *argv[] = {(char *)"xz", (char *)"-T2", (char *)"-0", (char *)"--block-size=256KiB",
                        (char *)"-c", path, NULL};
        struct outcome o = run(argv, plain, NULL, NULL, NULL);
        if (!exited_with(&o, 0, 0))
            return false;
        double scale = 0.3 / o.seconds;
        if (scale > 0.8 && scale < 1.25)
            break;
        bytes = (size_t)((double)bytes * (scale > 16 ? 16 : scale));
    }
    return true;
}

/* "stacks 2.13," from verbosity=2's line "exit report built in ... (ms per step: ...)". */
static double symbolize_ms(const char *err_path)
{
    FILE *f = fopen(err_path, "r");
    char line[1024];
    double ms = -1;
    while (f && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "exit report built in");
        const char *stacks = at ? strstr(at, " stacks ") : NULL;
        if (stacks)
            ms = strtod(stacks + 8, NULL);
    }
    if (f)
        fclose(f);
    return ms;
}

static void bench_xz(const struct config *c)
{
    char input[300], err_path[300];
    if (!make_xz_input(c, input, sizeof input)) {
        printf("| xz -T2 | skipped: xz failed or is not installed | | | |\n");
        return;
    }
    snprintf(err_path, sizeof err_path, "%s/xz.err", c->work);
    char *argv[] = {(char *)"xz", (char *)"-T2", (char *)"-0", (char *)"--block-size=256KiB",
                    (char *)"-c", input, NULL};
    char **plain = bench_env(NULL, NULL), **strays = bench_env(c->lib, "exitcode=0");
    char **verbose = bench_env(c->lib, "exitcode=0:verbosity=2");
    struct pairs wall = {.n = 0}, cpu = {.n = 0}, mem = {.n = 0};
    double sym[BENCH_MAX_REPS];
    int nsym = 0;
    for (int r = 0; r < c->reps; r++) {
        struct outcome a = run(argv, plain, NULL, NULL, NULL);
        struct outcome b = run(argv, strays, NULL, NULL, NULL);
        if (!exited_with(&a, 0, 0) || !exited_with(&b, 0, 0))
            continue;
        add_pair(&wall, a.seconds, b.seconds);
        add_pair(&cpu, a.cpu_seconds, b.cpu_seconds);
        add_pair(&mem, (double)a.maxrss_kb, (double)b.maxrss_kb);
        run(argv, verbose, NULL, NULL, err_path);
        double ms = symbolize_ms(err_path);
        if (ms >= 0)
            sym[nsym++] = ms;
    }
    print_row("xz -T2, exit report with leaks: wall time", &wall, 1.0, "s", "≤ 1.10");
    print_row("xz -T2: CPU time (user + system, both threads)", &cpu, 1.0, "s", "");
    print_row("xz -T2: peak memory (maximum RSS)", &mem, 1.0 / 1024, "MiB", "≤ 1.20");
    if (nsym)
        printf("| xz -T2: its report's stacks symbolized in the process | | %.2f ms | | ≤ 20 ms |\n",
               bench_median(sym, nsym));
    char *run_argv[] = {(char *)c->cli, (char *)"run", (char *)"--", argv[0], argv[1], argv[2],
                        argv[3], argv[4], argv[5], NULL};
    char **run_env = bench_env(NULL, "exitcode=0");
    struct pairs under_run = {.n = 0};
    for (int r = 0; r < c->reps; r++) {
        struct outcome a = run(argv, plain, NULL, NULL, NULL);
        struct outcome b = run(run_argv, run_env, NULL, NULL, NULL);
        if (exited_with(&a, 0, 0) && exited_with(&b, 0, 0))
            add_pair(&under_run, a.seconds, b.seconds);
    }
    print_row("xz -T2 under `strays run` (reports symbolized by the CLI)", &under_run, 1.0, "s",
              "");
}

/* A clean clone of the source tree, then make -j2 all, plain and under
 * `strays run`, each after `make clean`. */
static void bench_make(const struct config *c)
{
    char tree[300], cmd[800];
    snprintf(tree, sizeof tree, "%s/strays-src", c->work);
    snprintf(cmd, sizeof cmd, "git clone -q '%s' '%s' 2>&1", c->src, tree);
    if (system(cmd) != 0) {
        printf("| make -j2 | skipped: cannot clone %s | | | |\n", c->src);
        return;
    }
    char *clean[] = {(char *)"make", (char *)"-s", (char *)"clean", NULL};
    char *build[] = {(char *)"make", (char *)"-s", (char *)"-j2", (char *)"all", NULL};
    char *under[] = {(char *)c->cli, (char *)"run", (char *)"--", (char *)"make", (char *)"-s",
                     (char *)"-j2", (char *)"all", NULL};
    char **plain = bench_env(NULL, NULL), **run_env = bench_env(NULL, "exitcode=0");
    struct pairs p = {.n = 0}, cpu = {.n = 0};
    for (int r = 0; r < c->make_reps; r++) {
        run(clean, plain, tree, NULL, NULL);
        struct outcome a = run(build, plain, tree, NULL, NULL);
        run(clean, plain, tree, NULL, NULL);
        struct outcome b = run(under, run_env, tree, NULL, NULL);
        if (exited_with(&a, 0, 0) && exited_with(&b, 0, 0)) {
            add_pair(&p, a.seconds, b.seconds);
            add_pair(&cpu, a.cpu_seconds, b.cpu_seconds);
        } else {
            fprintf(stderr, "bench_process: a make -j2 run failed (status %d, %d)\n", a.status,
                    b.status);
        }
    }
    char what[100];
    snprintf(what, sizeof what, "`strays run -- make -j2 all` (strays' own build, %d pairs)",
             p.n);
    print_row(what, &p, 1.0, "s", "≤ 1.10");
    print_row("  its CPU time (user + system, every process)", &cpu, 1.0, "s", "");
}

static void instruction_table(const struct config *c)
{
    printf("\n| instructions (callgrind, whole run) | plain | strays | added | ratio |\n");
    printf("|---|---|---|---|---|\n");
    char *tru[] = {(char *)"/bin/true", NULL};
    char **plain = bench_env(NULL, NULL), **strays = bench_env(c->lib, NULL);
    print_instructions("/bin/true", instructions(c, tru, plain), instructions(c, tru, strays));
    if (c->rows[ROW_XZ]) {
        char input[300];
        snprintf(input, sizeof input, "%s/input.txt", c->work);
        char *xz[] = {(char *)"xz", (char *)"-T2", (char *)"-0", (char *)"--block-size=256KiB",
                      (char *)"-c", input, NULL};
        char **leaky = bench_env(c->lib, "exitcode=0");
        print_instructions("xz -T2 (exit report with leaks)", instructions(c, xz, plain),
                           instructions(c, xz, leaky));
    }
}

/* ---- setup ---- */

static void parse_args(struct config *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->reps = 11;
    c->make_reps = 3;
    for (size_t i = 0; i < ARRAY_LEN(c->rows); i++)
        c->rows[i] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--hide-debug-files")) {
            c->hide_debug = true;
            continue;
        }
        if (!v)
            usage_exit("an option needs a value");
        i++;
        if (!strcmp(a, "--lib"))
            c->lib = v;
        else if (!strcmp(a, "--empty-lib"))
            c->empty_lib = v;
        else if (!strcmp(a, "--cli"))
            c->cli = v;
        else if (!strcmp(a, "--src"))
            c->src = v;
        else if (!strcmp(a, "--reps") || !strcmp(a, "--make-reps")) {
            int n = atoi(v);
            if (n < 1 || n > BENCH_MAX_REPS)
                usage_exit("repetitions go from 1 to 99");
            *(!strcmp(a, "--reps") ? &c->reps : &c->make_reps) = n;
        } else if (!strcmp(a, "--only")) {
            for (size_t k = 0; k < ARRAY_LEN(c->rows); k++)
                c->rows[k] = strstr(v, row_names[k]) != NULL;
        } else {
            usage_exit("unknown argument");
        }
    }
    if (!c->lib || !c->cli || !c->src)
        usage_exit("--lib, --cli and --src are required");
}

static char *absolute(const char *path)
{
    char *full = realpath(path, NULL);
    if (!full) {
        fprintf(stderr, "bench_process: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return full;
}

/* A private mount namespace in which /usr/lib/debug is an empty tmpfs: the
 * machine as it is without libc6-dbg and other debug packages. */
static bool hide_debug_files(void)
{
    return unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
           mount("tmpfs", "/usr/lib/debug", "tmpfs", 0, "size=1m") == 0;
}

static char *find_on_path(const char *name)
{
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        char *full;
        if (asprintf(&full, "%.*s/%s", (int)len, p, name) < 0)
            return NULL;
        if (access(full, X_OK) == 0)
            return full;
        free(full);
        p += len + (p[len] == ':');
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct config c;
    parse_args(&c, argc, argv);
    c.lib = absolute(c.lib);
    c.cli = absolute(c.cli);
    c.src = absolute(c.src);
    if (c.empty_lib)
        c.empty_lib = absolute(c.empty_lib);
    c.valgrind = find_on_path("valgrind");
    snprintf(c.work, sizeof c.work, "/tmp/bench_process.XXXXXX");
    if (!mkdtemp(c.work)) {
        perror("bench_process: mkdtemp");
        return 1;
    }
    if (c.hide_debug && !hide_debug_files()) {
        fprintf(stderr, "bench_process: --hide-debug-files: cannot hide /usr/lib/debug (%s); "
                        "it needs root\n", strerror(errno));
        return 1;
    }
    printf("| workload%s | plain | strays | ratio (median of %d pairs) | goal |\n",
           c.hide_debug ? " (no /usr/lib/debug)" : "", c.reps);
    printf("|---|---|---|---|---|\n");
    fflush(stdout);
    void (*const benches[])(const struct config *) = {bench_clean, bench_shell, bench_xz,
                                                      bench_make};
    for (size_t i = 0; i < ARRAY_LEN(benches); i++)
        if (c.rows[i]) {
            fprintf(stderr, "bench_process: %s\n", row_names[i]);
            benches[i](&c);
            fflush(stdout);
        }
    instruction_table(&c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c.work);
    return system(cmd) == 0 ? 0 : 1;
}
