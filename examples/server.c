/* The staging example (README, docs/staging.md): a toy service that watches
 * its config file from a thread. Each reload (SIGHUP) starts a new watcher
 * and forgets the old one, so every reload leaks a thread blocked in read()
 * and its inotify fd, the way real reload paths do. Run it under strays and
 * ask for live dumps (strays dump PID) to watch them pile up; SIGTERM stops it. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

static void *watch_config(void *arg)
{
    int fd = (int)(long)arg;
    char events[4096];
    while (read(fd, events, sizeof events) > 0)
        ; /* a real server would reload here */
    return NULL;
}

/* The bug: the previous watcher is never stopped, nor its fd closed. */
static void load_config(const char *path)
{
    int fd = inotify_init1(IN_CLOEXEC);
    inotify_add_watch(fd, path, IN_CLOSE_WRITE);
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_config, (void *)(long)fd);
    pthread_detach(watcher);
    pthread_setname_np(watcher, "config-watcher");
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/server.conf";
    sigset_t stop_or_reload;
    sigemptyset(&stop_or_reload);
    sigaddset(&stop_or_reload, SIGHUP);
    sigaddset(&stop_or_reload, SIGTERM);
    sigaddset(&stop_or_reload, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_or_reload, NULL); /* watchers inherit the mask */
    printf("server: pid %d, watching %s\n", (int)getpid(), path);
    fflush(stdout);
    for (int sig = SIGHUP; sig == SIGHUP;) {
        load_config(path);
        sigwait(&stop_or_reload, &sig);
        printf(sig == SIGHUP ? "server: reloading %s\n" : "server: stopping\n", path);
        fflush(stdout);
    }
    return 0;
}
