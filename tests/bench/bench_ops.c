/* Microbenchmarks of the calls strays hooks, one op per process run, so that
 * bench_run can time the same binary with and without LD_PRELOAD.
 * Usage: bench_ops OP [ITERATIONS]; prints "OP NS_PER_OP" on stdout.
 * Every call is checked: a benchmark of failing calls would measure nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FD_THREADS 8

static const char *op_name = "bench_ops";

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_ops: %s: ", op_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* For calls returning -1 and setting errno. */
static void check_sys(int ret, const char *what)
{
    if (ret == -1)
        die("%s: %s", what, strerror(errno));
}

/* For pthread calls, which return the error number instead. */
static void check_pt(int err, const char *what)
{
    if (err != 0)
        die("%s: %s", what, strerror(err));
}

static double now_ns(void)
{
    struct timespec ts;
    check_sys(clock_gettime(CLOCK_MONOTONIC, &ts), "clock_gettime");
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A short untimed warm-up first, so first-call costs (lazy binding, the
 * preload's lazy initialisation, page faults) stay out of the figure. */
static long warmup_count(long iters) { return iters / 20 > 0 ? iters / 20 : 1; }

/* Times loop(iters) after loop(warm-up); the loop sits inside the callee so
 * no indirect call per iteration dilutes cheap ops such as a mutex. */
static double timed(void (*loop)(long), long iters)
{
    loop(warmup_count(iters));
    double t0 = now_ns();
    loop(iters);
    return (now_ns() - t0) / (double)iters;
}

static void *return_at_once(void *arg) { return arg; }

static void loop_thread_churn(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t t;
        check_pt(pthread_create(&t, NULL, return_at_once, NULL), "pthread_create");
        check_pt(pthread_join(t, NULL), "pthread_join");
    }
}

static void loop_open_close(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = open("/dev/null", O_RDONLY);
        check_sys(fd, "open /dev/null");
        check_sys(close(fd), "close");
    }
}

static void loop_fopen_fclose(long n)
{
    for (long i = 0; i < n; i++) {
        FILE *f = fopen("/dev/null", "r");
        if (!f)
            die("fopen /dev/null: %s", strerror(errno));
        if (fclose(f) == EOF)
            die("fclose: %s", strerror(errno));
    }
}

static void loop_socket_close(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        check_sys(fd, "socket AF_UNIX");
        check_sys(close(fd), "close");
    }
}

static pthread_mutex_t bench_mutex = PTHREAD_MUTEX_INITIALIZER;
static volatile long mutex_counter; /* volatile: keeps the critical section */

static void loop_mutex_uncontended(long n)
{
    for (long i = 0; i < n; i++) {
        check_pt(pthread_mutex_lock(&bench_mutex), "pthread_mutex_lock");
        mutex_counter++;
        check_pt(pthread_mutex_unlock(&bench_mutex), "pthread_mutex_unlock");
    }
}

static int pipe_fds[2];

static void loop_pipe_rw(long n)
{
    char c = 'x';
    for (long i = 0; i < n; i++) {
        ssize_t w = write(pipe_fds[1], &c, 1);
        if (w != 1)
            die("write to pipe returned %zd: %s", w, w < 0 ? strerror(errno) : "short write");
        ssize_t r = read(pipe_fds[0], &c, 1);
        if (r != 1)
            die("read from pipe returned %zd: %s", r, r < 0 ? strerror(errno) : "end of file");
    }
}

static double measure_pipe_rw(long iters)
{
    check_sys(pipe(pipe_fds), "pipe");
    double ns = timed(loop_pipe_rw, iters);
    check_sys(close(pipe_fds[0]), "close");
    check_sys(close(pipe_fds[1]), "close");
    return ns;
}

static void loop_timer_churn(long n)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE; /* never armed anyway; no signal to handle */
    for (long i = 0; i < n; i++) {
        timer_t t;
        check_sys(timer_create(CLOCK_MONOTONIC, &sev, &t), "timer_create");
        check_sys(timer_delete(t), "timer_delete");
    }
}

/* cond_pingpong: a turn flag passed back and forth under one mutex and one
 * condition variable; with only two threads a signal can only wake the other. */
static pthread_mutex_t pp_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn; /* 0: main thread's turn, 1: the partner's */

static void pp_take_turn(int mine)
{
    check_pt(pthread_mutex_lock(&pp_mutex), "pthread_mutex_lock");
    while (pp_turn != mine)
        check_pt(pthread_cond_wait(&pp_cond, &pp_mutex), "pthread_cond_wait");
    pp_turn = !mine;
    check_pt(pthread_cond_signal(&pp_cond), "pthread_cond_signal");
    check_pt(pthread_mutex_unlock(&pp_mutex), "pthread_mutex_unlock");
}

static void *pp_partner(void *arg)
{
    long rounds = *(const long *)arg;
    for (long i = 0; i < rounds; i++)
        pp_take_turn(1);
    return NULL;
}

static void loop_cond_pingpong(long n)
{
    for (long i = 0; i < n; i++)
        pp_take_turn(0);
    /* The round ends when the partner hands the turn back. */
    check_pt(pthread_mutex_lock(&pp_mutex), "pthread_mutex_lock");
    while (pp_turn != 0)
        check_pt(pthread_cond_wait(&pp_cond, &pp_mutex), "pthread_cond_wait");
    check_pt(pthread_mutex_unlock(&pp_mutex), "pthread_mutex_unlock");
}

static double measure_cond_pingpong(long iters)
{
    long rounds = warmup_count(iters) + iters; /* the partner serves both loops */
    pthread_t t;
    check_pt(pthread_create(&t, NULL, pp_partner, &rounds), "pthread_create");
    double ns = timed(loop_cond_pingpong, iters);
    check_pt(pthread_join(t, NULL), "pthread_join");
    return ns;
}

/* fd_churn_8threads: the barriers bracket the timed part, so thread start-up
 * and exit stay out of it and all threads contend for the fd table at once. */
static pthread_barrier_t fd_start, fd_end;
static long fd_per_thread;

static void *fd_worker(void *arg)
{
    (void)arg;
    loop_open_close(warmup_count(fd_per_thread));
    int r = pthread_barrier_wait(&fd_start);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait: %s", strerror(r));
    loop_open_close(fd_per_thread);
    r = pthread_barrier_wait(&fd_end);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait: %s", strerror(r));
    return NULL;
}

static double wait_barrier_time(pthread_barrier_t *b)
{
    int r = pthread_barrier_wait(b);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait: %s", strerror(r));
    return now_ns();
}

/* ITERATIONS is the total over all threads; each does an equal share. */
static double measure_fd_churn_8threads(long iters)
{
    pthread_t t[FD_THREADS];
    fd_per_thread = (iters + FD_THREADS - 1) / FD_THREADS;
    check_pt(pthread_barrier_init(&fd_start, NULL, FD_THREADS + 1), "pthread_barrier_init");
    check_pt(pthread_barrier_init(&fd_end, NULL, FD_THREADS + 1), "pthread_barrier_init");
    for (int i = 0; i < FD_THREADS; i++)
        check_pt(pthread_create(&t[i], NULL, fd_worker, NULL), "pthread_create");
    double t0 = wait_barrier_time(&fd_start);
    double t1 = wait_barrier_time(&fd_end);
    for (int i = 0; i < FD_THREADS; i++)
        check_pt(pthread_join(t[i], NULL), "pthread_join");
    pthread_barrier_destroy(&fd_start);
    pthread_barrier_destroy(&fd_end);
    /* Per-thread cost: wall time * threads / total ops. */
    return (t1 - t0) * FD_THREADS / (double)(fd_per_thread * FD_THREADS);
}

static double measure_thread_churn(long n) { return timed(loop_thread_churn, n); }
static double measure_open_close(long n) { return timed(loop_open_close, n); }
static double measure_fopen_fclose(long n) { return timed(loop_fopen_fclose, n); }
static double measure_socket_close(long n) { return timed(loop_socket_close, n); }
static double measure_mutex_uncontended(long n) { return timed(loop_mutex_uncontended, n); }
static double measure_timer_churn(long n) { return timed(loop_timer_churn, n); }

/* Default counts aim at 0.1-0.3 s per run, plain, on a modern 2-core machine. */
static const struct op {
    const char *name;
    long default_iters;
    double (*measure)(long iters);
} ops[] = {
    {"thread_churn", 8000, measure_thread_churn},
    {"open_close", 200000, measure_open_close},
    {"fopen_fclose", 150000, measure_fopen_fclose},
    {"socket_close", 80000, measure_socket_close},
    {"mutex_uncontended", 20000000, measure_mutex_uncontended},
    {"cond_pingpong", 30000, measure_cond_pingpong},
    {"pipe_rw", 150000, measure_pipe_rw},
    {"timer_churn", 150000, measure_timer_churn},
    {"fd_churn_8threads", 200000, measure_fd_churn_8threads},
};

static void usage_exit(const char *why)
{
    fprintf(stderr, "bench_ops: %s\nusage: bench_ops OP [ITERATIONS]\nops:", why);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fprintf(stderr, " %s", ops[i].name);
    fputc('\n', stderr);
    exit(2);
}

static long parse_iterations(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || n <= 0 || n > 1000000000000L)
        usage_exit("ITERATIONS must be a positive integer");
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        usage_exit("expected an op and optionally an iteration count");
    const struct op *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(argv[1], ops[i].name) == 0)
            op = &ops[i];
    if (!op)
        usage_exit("unknown op");
    op_name = op->name;
    long iters = argc == 3 ? parse_iterations(argv[2]) : op->default_iters;
    double ns = op->measure(iters);
    if (printf("%s %.3f\n", op->name, ns) < 0 || fflush(stdout) != 0)
        die("writing the result: %s", strerror(errno));
    return 0;
}
