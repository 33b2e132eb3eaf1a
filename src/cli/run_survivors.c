/* `strays run`: the processes it started that still run when its command
 * has ended (a daemon, a job left in the background). Each inherited the
 * run's STRAYS_OPTIONS, so its environment names the run's report
 * directory; /proc/PID/environ shows that to the same user. Their reports
 * cannot be part of the run's verdict: the run says so, and names them. */
#define _GNU_SOURCE /* memmem */
#include "cli.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SURVIVORS_LISTED 10

/* The start of file (up to len - 1 bytes), NUL-terminated; bytes read or -1. */
static ssize_t read_start(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

/* Whether process pid (one of ours) has needle in its environment. */
static bool environ_holds(int pid, const char *needle)
{
    char path[64];
    static char env[256 * 1024];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    ssize_t n = read_start(path, env, sizeof env);
    return n > 0 && memmem(env, (size_t)n, needle, strlen(needle)) != NULL;
}

/* "; pid 812 (./worker)" for one survivor, its argv[0] as it ran. */
static void append_survivor(struct cli_buf *list, int pid)
{
    char path[64], cmd[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    if (read_start(path, cmd, sizeof cmd) <= 0) {
        snprintf(path, sizeof path, "/proc/%d/comm", pid);
        if (read_start(path, cmd, sizeof cmd) <= 0)
            snprintf(cmd, sizeof cmd, "?");
        cmd[strcspn(cmd, "\n")] = '\0';
    }
    cli_buf_printf(list, "%spid %d (%s)", list->len ? "; " : "", pid, cmd);
}

/* The pid a /proc entry is named after, or 0. */
static int pid_of(const char *name)
{
    char *end;
    long pid = strtol(name, &end, 10);
    return isdigit((unsigned char)*name) && !*end && pid > 0 && pid <= INT_MAX ? (int)pid : 0;
}

static bool reported(int pid, const struct st_report *reports, int count)
{
    for (int i = 0; i < count; i++)
        if (reports[i].pid == pid)
            return true;
    return false;
}

void cli_run_note_survivors(const char *report_dir, const struct st_report *reports, int count)
{
    char needle[4200];
    snprintf(needle, sizeof needle, "log_path=%s/report", report_dir);
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct cli_buf list = {0};
    int found = 0;
    struct dirent *e;
    while ((e = readdir(proc))) {
        char path[64];
        struct stat st;
        int pid = pid_of(e->d_name);
        if (pid <= 0 || pid == (int)getpid() || reported(pid, reports, count))
            continue;
        snprintf(path, sizeof path, "/proc/%d", pid);
        if (stat(path, &st) != 0 || st.st_uid != getuid() || !environ_holds(pid, needle))
            continue;
        if (found++ < SURVIVORS_LISTED)
            append_survivor(&list, pid);
    }
    closedir(proc);
    const char *more = found > SURVIVORS_LISTED ? "; and more" : "";
    if (found == 1)
        cli_error("run: 1 process started under this run is still running: %s. It is not in "
                  "the run's verdict: if it leaks, its report goes to the stderr it started "
                  "with, in text, when it exits",
                  cli_buf_str(&list));
    else if (found > 1)
        cli_error("run: %d processes started under this run are still running: %s%s. They are "
                  "not in the run's verdict: the report of each that leaks goes to the stderr "
                  "it started with, in text, when it exits",
                  found, cli_buf_str(&list), more);
    cli_buf_free(&list);
}
