/* The bundled example for `make demo`: a tiny "server" that leaves threads
 * behind the way real ones do. Two pool workers wait forever on a condition
 * nobody signals, a detached flusher sleeps in a loop, and a helper thread
 * finishes but is never joined; the access log is opened and never closed,
 * and a periodic stats timer is never deleted. It exits 0, so only strays
 * notices. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static int queue_length;

static void *pool_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&queue_lock);
    while (queue_length == 0) /* nobody ever enqueues: blocked forever */
        pthread_cond_wait(&queue_ready, &queue_lock);
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

static void start_pool(int workers)
{
    for (int i = 0; i < workers; i++) {
        pthread_t t;
        pthread_create(&t, NULL, pool_worker, NULL);
        pthread_setname_np(t, "pool-worker");
    }
}

static void *flusher(void *arg)
{
    (void)arg;
    for (;;)
        sleep(1);
    return NULL;
}

static void start_flusher(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, flusher, NULL);
    pthread_setname_np(t, "flusher");
    pthread_attr_destroy(&attr);
}

static void *load_config(void *arg)
{
    (void)arg;
    return NULL; /* done at once; nobody joins it */
}

static FILE *open_access_log(void) { return fopen("/dev/null", "a"); }

static void start_stats_timer(void)
{
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    timer_t timer;
    timer_create(CLOCK_MONOTONIC, &ev, &timer);
    struct itimerspec every_second = {{1, 0}, {1, 0}};
    timer_settime(timer, 0, &every_second, NULL);
}

int main(void)
{
    FILE *access_log = open_access_log();
    start_stats_timer();
    start_pool(2);
    start_flusher();
    pthread_t config;
    pthread_create(&config, NULL, load_config, NULL);
    usleep(100 * 1000);
    fprintf(access_log, "shutdown\n");
    printf("demo server: handled 0 requests, shutting down\n");
    return 0;
}
