/* The post-mortem example (README, docs/post-mortem.md): a program that
 * crashes on a NULL pointer while a worker waits for work and a log file is
 * open. strays writes its report before the process dies, and the process
 * still dies of SIGSEGV (status 139, and a core dump where they are on). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct config {
    const char *name;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER, started = PTHREAD_COND_INITIALIZER;
static int worker_started;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    worker_started = 1;
    pthread_cond_signal(&started);
    for (;;) /* no work ever comes */
        pthread_cond_wait(&work_ready, &lock);
    return NULL;
}

static size_t name_length(const struct config *c) { return strlen(c->name); }

int main(void)
{
    FILE *log = fopen("/dev/null", "w");
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_setname_np(t, "worker");
    /* The worker releases the lock only inside its wait: once main has it
     * back, the worker is waiting. */
    pthread_mutex_lock(&lock);
    while (!worker_started)
        pthread_cond_wait(&started, &lock);
    pthread_mutex_unlock(&lock);
    struct config *config = NULL; /* the bug: the config was never loaded */
    fprintf(log, "config %zu\n", name_length(config));
    return 0;
}
