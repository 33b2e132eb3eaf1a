/* The exit status a leak gives; see exit_verdict.h. A process "runs strays"
 * when a module of the same file name as strays' own (libstrays.so) is
 * mapped in it, preloaded or linked: that is what /proc/PID/maps shows to
 * the parent's user, without any mark in the environment the program sees.
 * A leak climbs the tree through marks: files "leaked.PID" in a directory
 * only this user may write (/dev/shm/strays-UID, else /tmp/strays-UID),
 * one line "PID COMMAND" per process that leaked, appended by each child
 * that keeps its status and taken (read, then removed) by the parent PID
 * when it exits. */
#define _GNU_SOURCE /* dladdr */
#include "runtime/exit_verdict.h"

#include "base/st.h"
#include "base/options.h"
#include "base/sys.h"
#include "base/text.h"

#include "base/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The process this one forked from (0: none, or it exec'd since). */
static pid_t forked_from;

/* When strays started here, on the clock file times are written with. */
ST_HOT_DATA static struct timespec watch_started;

ST_EVERY_PROCESS
void st_exit_verdict_start(void) { st_sys_clock_gettime(CLOCK_REALTIME_COARSE, &watch_started); }

ST_EVERY_FORK
void st_exit_verdict_after_fork_child(pid_t parent)
{
    forked_from = parent;
    st_exit_verdict_start();
}

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

/* ---- marks: a leak passed up to the parent ---- */

/* base (or nothing, when NULL) + "/strays-EUID" into path (64 bytes); its
 * length. Built by hand:
 * snprintf (or even stpcpy) would bring code pages of libc into every
 * process's exit, a page fault each. */
ST_EVERY_PROCESS
static size_t marks_dir_path(const char *base, char path[64])
{
    static const char middle[] ST_EVERY_PROCESS_DATA = "/strays-";
    char *end = base ? st_text_copy(path, base) : path;
    size_t n = (size_t)(st_text_copy(end, middle) - path);
    return n + (size_t)st_sys_format_uint((unsigned long long)st_sys_geteuid(), path + n);
}

/* Opens strays' private directory for this user under base, creating it
 * when create is set: owned by this user, writable by no one else (so no
 * one else can plant or remove a mark), never through a symlink. */
static int marks_dir_in(const char *base, bool create)
{
    char path[64];
    marks_dir_path(base, path);
    long fd = st_sys_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd == -ENOENT && create && st_sys_mkdirat(AT_FDCWD, path, 0700) == 0)
        fd = st_sys_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    struct stat st;
    if (fd >= 0 && (st_sys_fstatat((int)fd, "", &st, AT_EMPTY_PATH) != 0 ||
                    st.st_uid != geteuid() || (st.st_mode & 077))) {
        st_sys_close((int)fd);
        return -EPERM;
    }
    return (int)fd;
}

static int marks_dir(bool create)
{
    struct stat shm;
    bool have_shm = st_sys_fstatat(AT_FDCWD, "/dev/shm", &shm, 0) == 0 && S_ISDIR(shm.st_mode);
    return marks_dir_in(have_shm ? "/dev/shm" : "/tmp", create);
}

ST_EVERY_PROCESS
static void mark_name(pid_t pid, char name[32])
{
    static const char prefix[] ST_EVERY_PROCESS_DATA = "leaked.";
    memcpy(name, prefix, sizeof prefix);
    st_sys_format_uint((unsigned)pid, name + sizeof prefix - 1);
}

/* Whether a mark for pid may lie in either directory: one stat each, so
 * the exit of a process whose children left none (nearly every one) makes
 * two system calls here, not nine, and touches no large buffer. Whether
 * the directory can be trusted is checked only when there is a mark. */
ST_EVERY_PROCESS
static bool mark_may_exist(pid_t pid)
{
    static const char bases[][9] ST_EVERY_PROCESS_DATA = {"/dev/shm", "/tmp"};
    char tail[96]; /* "/strays-EUID/leaked.PID", the same under both */
    size_t tail_len = marks_dir_path(NULL, tail);
    tail[tail_len++] = '/';
    mark_name(pid, tail + tail_len);
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        char path[128];
        st_text_copy(st_text_copy(path, bases[i]), tail);
        struct stat st;
        if (st_sys_fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return true;
    }
    return false;
}

/* File times come from the kernel's coarse clock, a tick behind at most. */
#define MARK_CLOCK_SLACK_NS 20000000ull

static unsigned long long ns_of(const struct timespec *t)
{
    return (unsigned long long)t->tv_sec * 1000000000ull + (unsigned long long)t->tv_nsec;
}

/* This process's marks into buf (NUL-terminated), removed from the disk;
 * returns their length (0: none). A mark older than this process's start
 * is a previous process's of the same pid, and is dropped. */
static size_t take_marks(char *buf, size_t len)
{
    int dir = marks_dir(false);
    if (dir < 0)
        return 0;
    char name[32];
    mark_name(getpid(), name);
    long fd = st_sys_openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    size_t used = 0;
    struct stat st;
    if (fd >= 0 && st_sys_fstatat((int)fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode) &&
        ns_of(&st.st_mtim) + MARK_CLOCK_SLACK_NS >= ns_of(&watch_started)) {
        long n;
        while (used + 1 < len && (n = st_sys_read((int)fd, buf + used, len - 1 - used)) != 0) {
            if (n == -EINTR)
                continue;
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
    if (fd >= 0) {
        st_sys_close((int)fd);
        st_sys_unlinkat(dir, name);
    }
    st_sys_close(dir);
    buf[used] = '\0';
    return used;
}

/* Appends lines to parent's mark; 0 or -errno. */
static int leave_mark(pid_t parent, const char *lines, size_t len)
{
    int dir = marks_dir(true);
    if (dir < 0)
        return dir;
    char name[32];
    mark_name(parent, name);
    long fd = st_sys_openat(dir, name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                            0600);
    long rc = fd < 0 ? fd : st_sys_write_all((int)fd, lines, len);
    if (fd >= 0)
        st_sys_close((int)fd);
    st_sys_close(dir);
    return (int)rc;
}

/* Appends "PID COMMAND\n" for this process to buf (of len bytes, used so far). */
static size_t add_own_line(char *buf, size_t used, size_t len)
{
    int n = snprintf(buf + used, len - used, "%d %s\n", (int)getpid(),
                     program_invocation_short_name ? program_invocation_short_name : "?");
    return n > 0 && (size_t)n < len - used ? used + (size_t)n : used;
}

/* The root says which of the processes it started leaked ("bash (pid 12)"). */
static void say_descendants(const char *marks)
{
    char list[512] = "";
    size_t at = 0;
    int count = 0;
    for (const char *line = marks; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *space = memchr(line, ' ', len);
        if (space && count++ < 5 && at < sizeof list) {
            int n = snprintf(list + at, sizeof list - at, "%s%.*s (pid %.*s)", at ? ", " : "",
                             (int)(len - (size_t)(space + 1 - line)), space + 1,
                             (int)(space - line), line);
            at += n > 0 ? (size_t)n : 0;
        }
        line += len + (end != NULL);
    }
    if (count > 5 && at < sizeof list)
        snprintf(list + at, sizeof list - at, " and %d more", count - 5);
    st_logf("exit status %d instead of 0: %d process%s this one started left threads, timers "
            "or fds behind: %s",
            st_opt.exitcode, count, count == 1 ? "" : "es", list);
}

/* exitcode_for=root: keep the status and pass the leaks up when the parent
 * runs strays; else, as the root, fail. Out of line: its buffers are
 * touched only when there is something to pass on. */
static __attribute__((noinline)) int root_verdict_with_marks(int status, int leaks)
{
    char marks[4096];
    size_t used = take_marks(marks, sizeof marks - 128);
    if (status != 0 || (leaks <= 0 && used == 0))
        return status;
    bool from_descendants = used > 0;
    if (leaks > 0)
        used = add_own_line(marks, used, sizeof marks);
    if (parent_runs_strays()) {
        int rc = leave_mark(getppid(), marks, used);
        if (rc == 0)
            return status;
        st_logf("cannot tell the parent process (pid %d) that a leak happened (%s); this "
                "process exits %d instead",
                (int)getppid(), strerror(-rc), st_opt.exitcode);
        return st_opt.exitcode;
    }
    if (from_descendants && leaks <= 0)
        say_descendants(marks);
    return st_opt.exitcode;
}

/* Most exits have no leak and no mark waiting: two stats, and done. Any
 * other goes on, a failing one too, so that its marks are taken and none is
 * left behind in the directory. */
ST_EVERY_PROCESS
static int root_verdict(int status, int leaks, pid_t self)
{
    if (leaks <= 0 && !mark_may_exist(self))
        return status;
    return root_verdict_with_marks(status, leaks);
}

ST_EVERY_PROCESS
int st_exit_verdict(int status, int leaks, pid_t self)
{
    if (st_opt.exitcode == 0)
        return status;
    switch (st_opt.exitcode_for) {
    case ST_EXITCODE_FOR_EVERY:
        return leaks > 0 && status == 0 ? st_opt.exitcode : status;
    case ST_EXITCODE_FOR_RUN:
        return status;
    case ST_EXITCODE_FOR_ROOT:
    default:
        return root_verdict(status, leaks, self);
    }
}
