/* A second, tiny preload for scripts/real-programs.py: counts the threads a
 * program creates, joins and detaches, so a clean strays report on a real
 * program can be told apart from a run that never used threads. Run without
 * strays; at exit each process appends "PID created N joined M detached D" to
 * the file $COUNT_THREADS_FILE. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int created, joined, detached;

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int join_fn(pthread_t, void **);
typedef int detach_fn(pthread_t);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    int rc = real(thread, attr, start, arg);
    if (rc == 0)
        __atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
    return rc;
}

int pthread_join(pthread_t thread, void **result)
{
    join_fn *real = (join_fn *)dlsym(RTLD_NEXT, "pthread_join");
    int rc = real(thread, result);
    if (rc == 0)
        __atomic_add_fetch(&joined, 1, __ATOMIC_RELAXED);
    return rc;
}

int pthread_detach(pthread_t thread)
{
    detach_fn *real = (detach_fn *)dlsym(RTLD_NEXT, "pthread_detach");
    int rc = real(thread);
    if (rc == 0)
        __atomic_add_fetch(&detached, 1, __ATOMIC_RELAXED);
    return rc;
}

/* A destructor runs at exit() and at a return from main; programs that end
 * with _exit() write nothing, which the script treats as "not counted". */
__attribute__((destructor)) static void write_counts(void)
{
    const char *path = getenv("COUNT_THREADS_FILE");
    if (!path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, "%d created %d joined %d detached %d\n", (int)getpid(),
                     __atomic_load_n(&created, __ATOMIC_RELAXED), __atomic_load_n(&joined, __ATOMIC_RELAXED),
                     __atomic_load_n(&detached, __ATOMIC_RELAXED));
    if (n > 0)
        (void)!write(fd, line, (size_t)n);
    close(fd);
}
