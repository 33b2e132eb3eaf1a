/* Dump stalls under churn (issue 7, "Scale"): `bench_churn THREADS SECONDS
 * DUMPS DIR` starts THREADS workers (64 KiB stacks) that each, every
 * PERIOD_MS, lock and unlock a mutex; one in 32 also creates and joins a
 * short-lived thread. Each worker measures how late each iteration ends
 * beyond its sleep. For SECONDS nothing else happens (the baseline), then
 * for SECONDS the main thread asks strays for DUMPS live dumps (SIGRTMAX-4,
 * strays' default dump signal, to itself, as `kill` would) and waits for each to land in DIR. It
 * prints the longest and the 99th-percentile lateness per phase, in
 * microseconds, and the mean time a dump took:
 *   baseline_max_us N baseline_p99_us N dump_max_us N dump_p99_us N dump_ms N dumps N
 * Run it preloaded with STRAYS_OPTIONS=log_path=DIR/d. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_MS 1000
#define LOCKS 16

struct worker {
    pthread_t thread;
    int index;
    uint64_t late_ns[2]; /* per phase: the worst lateness seen */
} __attribute__((aligned(64)));

static pthread_mutex_t locks[LOCKS];
static int phase; /* 0 baseline, 1 dumps, 2 stop */
static int started;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *short_lived(void *arg) { return arg; }

static void *work(void *arg)
{
    struct worker *w = arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_RELEASE);
    /* Spread the workers over the period so they do not wake together. */
    struct timespec offset = {0, (long)(w->index % PERIOD_MS) * 1000000L};
    nanosleep(&offset, NULL);
    for (int iteration = 0;; iteration++) {
        int p = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
        if (p == 2)
            return NULL;
        uint64_t begin = now_ns();
        struct timespec period = {PERIOD_MS / 1000, (PERIOD_MS % 1000) * 1000000L};
        while (nanosleep(&period, &period) != 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&locks[w->index % LOCKS]);
        pthread_mutex_unlock(&locks[w->index % LOCKS]);
        if (w->index % 32 == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, short_lived, NULL) == 0)
                pthread_join(t, NULL);
        }
        uint64_t took = now_ns() - begin, late = took > PERIOD_MS * 1000000ull
                                                     ? took - PERIOD_MS * 1000000ull
                                                     : 0;
        /* An iteration that spans a phase change counts in the later one. */
        int after = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
        /* The first two overlap the start of the other workers. */
        if (iteration >= 2 && after < 2 && late > w->late_ns[after])
            w->late_ns[after] = late;
    }
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' && !strstr(e->d_name, ".tmp");
    if (d)
        closedir(d);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void worst(struct worker *w, int n, int p, uint64_t *max, uint64_t *p99)
{
    uint64_t *all = malloc((size_t)n * sizeof *all);
    for (int i = 0; i < n; i++)
        all[i] = w[i].late_ns[p];
    qsort(all, (size_t)n, sizeof *all, cmp_u64);
    *max = all[n - 1] / 1000;
    *p99 = all[(size_t)((n - 1) * 0.99)] / 1000;
    free(all);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_churn THREADS SECONDS DUMPS DIR\n");
        return 2;
    }
    int n = atoi(argv[1]), dumps = atoi(argv[3]);
    double seconds = atof(argv[2]);
    const char *dir = argv[4];
    struct worker *w = calloc((size_t)n, sizeof *w);
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_init(&locks[i], NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (int i = 0; i < n; i++) {
        w[i].index = i;
        int rc = pthread_create(&w[i].thread, &attr, work, &w[i]);
        if (rc != 0) {
            fprintf(stderr, "bench_churn: pthread_create: %s\n", strerror(rc));
            return 2;
        }
    }
    while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < n)
        sleep_s(0.01);
    sleep_s(2 * PERIOD_MS / 1000.0 + seconds);
    __atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
    uint64_t dump_ns = 0;
    int done = 0;
    for (int i = 0; i < dumps; i++) {
        int before = count_files(dir);
        uint64_t t0 = now_ns();
        raise(SIGRTMAX - 4);
        while (count_files(dir) == before && now_ns() - t0 < 60000000000ull)
            sleep_s(0.002);
        if (count_files(dir) > before) {
            dump_ns += now_ns() - t0;
            done++;
        }
        sleep_s(seconds / dumps);
    }
    __atomic_store_n(&phase, 2, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++)
        pthread_join(w[i].thread, NULL);
    uint64_t bmax, bp99, dmax, dp99;
    worst(w, n, 0, &bmax, &bp99);
    worst(w, n, 1, &dmax, &dp99);
    printf("baseline_max_us %llu baseline_p99_us %llu dump_max_us %llu dump_p99_us %llu "
           "dump_ms %llu dumps %d\n",
           (unsigned long long)bmax, (unsigned long long)bp99, (unsigned long long)dmax,
           (unsigned long long)dp99, done ? (unsigned long long)(dump_ns / done / 1000000u) : 0,
           done);
    return 0;
}
