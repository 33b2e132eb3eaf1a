/* The exit status a leak gives; see exit_verdict.h. A process "runs strays"
 * when a module of the same file name as strays' own (libstrays.so) is
 * mapped in it, preloaded or linked: that is what /proc/PID/maps shows to
 * the parent's user, without any mark in the environment the program sees. */
#define _GNU_SOURCE /* dladdr */
#include "runtime/exit_verdict.h"

#include "base/options.h"
#include "base/sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* The process this one forked from (0: none, or it exec'd since). */
static pid_t forked_from;

void st_exit_verdict_after_fork_child(pid_t parent) { forked_from = parent; }

/* Whether a /proc maps line (without its newline) maps a file named name;
 * a file replaced since it was mapped ends in " (deleted)". */
static bool line_maps(const char *line, size_t len, const char *name, size_t name_len)
{
    static const char deleted[] = " (deleted)";
    const size_t deleted_len = sizeof deleted - 1;
    const char *path = memchr(line, '/', len);
    if (!path)
        return false;
    size_t path_len = len - (size_t)(path - line);
    if (path_len > deleted_len && !memcmp(path + path_len - deleted_len, deleted, deleted_len))
        path_len -= deleted_len;
    return path_len > name_len && path[path_len - name_len - 1] == '/' &&
           !memcmp(path + path_len - name_len, name, name_len);
}

/* Whether process pid maps a file named name. False when its maps cannot
 * be read (gone, another user's, not dumpable). */
static bool process_maps(pid_t pid, const char *name)
{
    char path[32] = "/proc/", buf[8192];
    st_sys_format_uint((unsigned)pid, path + 6);
    strcat(path, "/maps");
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    size_t name_len = strlen(name), kept = 0;
    bool found = false;
    long n;
    while (!found && (n = st_sys_read((int)fd, buf + kept, sizeof buf - kept)) != 0) {
        if (n == -EINTR)
            continue;
        if (n < 0)
            break;
        size_t used = kept + (size_t)n, start = 0;
        for (const char *nl; !found && (nl = memchr(buf + start, '\n', used - start));) {
            found = line_maps(buf + start, (size_t)(nl - buf) - start, name, name_len);
            start = (size_t)(nl - buf) + 1;
        }
        /* A line longer than the buffer (no path is) is dropped. */
        kept = start == 0 && used == sizeof buf ? 0 : used - start;
        memmove(buf, buf + start, kept);
    }
    st_sys_close((int)fd);
    return found;
}

/* The file name of the module strays' code is in ("libstrays.so"). */
static const char *own_module_name(void)
{
    Dl_info info;
    if (!dladdr((void *)&st_exit_verdict, &info) || !info.dli_fname || !*info.dli_fname)
        return "libstrays.so";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

/* Whether this process's parent runs strays. A parent that exits while its
 * maps are read leaves the process to another (init, a subreaper): ask
 * again about that one. */
static bool parent_runs_strays(void)
{
    const char *name = own_module_name();
    for (int attempt = 0; attempt < 3; attempt++) {
        pid_t parent = getppid();
        if (parent == 0) /* in another pid namespace */
            return false;
        if (parent == forked_from)
            return true;
        bool found = process_maps(parent, name);
        if (getppid() == parent)
            return found;
    }
    return false;
}

int st_exit_verdict(int status, int leaks)
{
    if (leaks <= 0 || status != 0 || st_opt.exitcode == 0)
        return status;
    switch (st_opt.exitcode_for) {
    case ST_EXITCODE_FOR_EVERY:
        return st_opt.exitcode;
    case ST_EXITCODE_FOR_RUN:
        return status;
    case ST_EXITCODE_FOR_ROOT:
    default:
        return parent_runs_strays() ? status : st_opt.exitcode;
    }
}
