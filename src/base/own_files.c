/* Creating strays' own files safely; see own_files.h. Every step works on
 * a directory fd, so what was checked is what is written to: a directory
 * swapped for a symlink after the check is never followed. */
#define _GNU_SOURCE
#include "base/own_files.h"
#include "base/st.h"

#include "base/log.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Symlinks followed in one path, as the kernel's own limit (ELOOP). */
#define MAX_SYMLINKS 40

static void say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

static int fail(long rc, char *why, size_t len)
{
    say(why, len, "%s", strerror((int)-rc));
    return (int)rc;
}

/* /tmp, /var/tmp: anyone may create names there, the sticky bit only keeps
 * them from removing each other's. */
static bool shared_sticky(const struct stat *dir)
{
    return (dir->st_mode & (S_IWOTH | S_ISVTX)) == (S_IWOTH | S_ISVTX);
}

/* The directory fd to start a walk of path from: "/" or the working directory. */
static long walk_start(const char *path)
{
    return st_sys_openat(AT_FDCWD, path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

/* May the symlink `link` (its stat), found in directory `at`, be followed?
 * Not when it lies in a shared sticky directory (/tmp) and belongs to
 * neither strays' user nor the directory's owner: the kernel's
 * fs.protected_symlinks rule, applied whatever the machine's setting. */
static int check_symlink(int at, const struct stat *link, const char *shown, char *why,
                         size_t why_len)
{
    struct stat parent;
    long rc = st_sys_fstatat(at, "", &parent, AT_EMPTY_PATH);
    if (rc < 0)
        return fail(rc, why, why_len);
    if (shared_sticky(&parent) && link->st_uid != geteuid() && link->st_uid != parent.st_uid) {
        say(why, why_len,
            "%s is a symlink in a directory anyone can write to, owned by uid %u (neither "
            "strays' user nor the directory's owner): not followed",
            shown, (unsigned)link->st_uid);
        return -EPERM;
    }
    return 0;
}

/* walk's step at a component that is not a plain directory (rc: what
 * fstatat said of it): a symlink is checked and its target put in place of
 * it at the front of what is left of path (at becomes 0); anything else
 * ends the walk. Returns the directory fd to go on from, or the walk's
 * result (negative) with fd closed. Apart from walk, whose frame then
 * holds one path and not three: a report file's every directory is walked,
 * in every process under `strays run`, and each 4 KiB of stack touched
 * first is a page fault. */
static __attribute__((noinline)) long walk_link(long fd, const char *name, long rc,
                                                 const struct stat *st, char *path,
                                                 size_t path_size, size_t *at,
                                                 size_t shown_len, int *links, char *why,
                                                 size_t why_len)
{
    char target[PATH_MAX];
    if (rc >= 0) {
        char shown[PATH_MAX];
        snprintf(shown, sizeof shown, "%.*s", (int)shown_len, path);
        rc = check_symlink((int)fd, st, shown, why, why_len);
        if (rc == 0 && ++*links > MAX_SYMLINKS)
            rc = fail(-ELOOP, why, why_len);
    }
    long n = rc < 0 ? rc : st_sys_readlinkat((int)fd, name, target, sizeof target - 1);
    if (n < 0) {
        st_sys_close((int)fd);
        return rc == -EPERM ? -EPERM : fail(n, why, why_len); /* a refusal says why already */
    }
    /* path becomes target + what was left after the link. */
    size_t rest = strlen(path + *at);
    if ((size_t)n + rest + 1 > path_size) {
        st_sys_close((int)fd);
        return fail(-ENAMETOOLONG, why, why_len);
    }
    memmove(path + n, path + *at, rest + 1);
    memcpy(path, target, (size_t)n);
    *at = 0;
    if (path[0] == '/') {
        st_sys_close((int)fd);
        fd = walk_start(path);
        if (fd < 0)
            return fail(fd, why, why_len);
    }
    return fd;
}

/* The next component of path after *at (past any slashes) into name, and
 * *at past it; its length: 0 at the end of the path, -ENAMETOOLONG when it
 * is longer than NAME_MAX. */
ST_EVERY_REPORT
static long next_component(const char *path, size_t *at, char name[NAME_MAX + 1])
{
    while (path[*at] == '/')
        (*at)++;
    size_t len = 0; /* strcspn(path + at, "/"), without two pages of libc's code */
    while (path[*at + len] && path[*at + len] != '/')
        len++;
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, path + *at, len);
    name[len] = '\0';
    *at += len;
    return (long)len;
}

/* The directory `name` in fd, opened never through a symlink, with fd
 * closed; or -errno with fd closed. */
ST_EVERY_REPORT
static long step_into(long fd, const char *name)
{
    long next = st_sys_openat((int)fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    st_sys_close((int)fd);
    return next;
}

/* Opens directory `dir` one component at a time, never following a symlink
 * it has not checked. A symlink's target replaces it in what is left of the
 * path, so the walk is a loop over one buffer, without recursion: it runs
 * on whatever thread writes a report, whose stack may be small. */
static __attribute__((noinline)) int walk_with_links(const char *dir, char *why,
                                                      size_t why_len)
{
    char path[PATH_MAX];
    if (strlen(dir) >= sizeof path)
        return fail(-ENAMETOOLONG, why, why_len);
    strcpy(path, dir);
    long fd = walk_start(path);
    if (fd < 0)
        return fail(fd, why, why_len);
    int links = 0;
    size_t at = 0; /* what is left of the path starts at path + at */
    for (;;) {
        char name[NAME_MAX + 1];
        long len = next_component(path, &at, name);
        if (len == 0)
            return (int)fd;
        if (len < 0) {
            st_sys_close((int)fd);
            return fail(len, why, why_len);
        }
        size_t shown_len = at; /* the path so far, for messages */
        if (!strcmp(name, "."))
            continue;
        struct stat st;
        long rc = st_sys_fstatat((int)fd, name, &st, AT_SYMLINK_NOFOLLOW);
        if (rc >= 0 && !S_ISLNK(st.st_mode)) {
            fd = step_into(fd, name);
            if (fd < 0)
                return fail(fd, why, why_len);
            continue;
        }
        fd = walk_link(fd, name, rc, &st, path, sizeof path, &at, shown_len, &links, why, why_len);
        if (fd < 0)
            return (int)fd;
    }
}

/* The walk of a path with no symlink on it (nearly every one), reading dir
 * in place: no copy of it in a PATH_MAX buffer, which would be a page of
 * stack touched in every process under `strays run`. One system call per
 * component: step_into's open fails on a symlink (O_NOFOLLOW with O_PATH
 * and O_DIRECTORY gives ENOTDIR), and a symlink, or any error (which the
 * full walk then explains), sends it to walk_with_links, from the start. */
ST_EVERY_REPORT
static int walk(const char *dir, char *why, size_t why_len)
{
    long fd = walk_start(dir);
    size_t at = 0;
    while (fd >= 0) {
        char name[NAME_MAX + 1];
        long len = next_component(dir, &at, name);
        if (len == 0)
            return (int)fd;
        if (len < 0) {
            st_sys_close((int)fd);
            break;
        }
        fd = step_into(fd, name);
    }
    return walk_with_links(dir, why, why_len);
}

ST_EVERY_REPORT
int st_own_dir_open(const char *dir, char *why, size_t why_len)
{
    why[0] = '\0';
    int fd = walk(dir, why, why_len);
    if (fd < 0)
        return fd;
    struct stat st;
    long rc = st_sys_fstatat(fd, "", &st, AT_EMPTY_PATH);
    if (rc < 0) {
        st_sys_close(fd);
        return fail(rc, why, why_len);
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        say(why, why_len,
            "%s can be written by anyone and has no sticky bit, so anyone could replace "
            "strays' files there (chmod +t it, or use another directory)",
            dir);
        st_sys_close(fd);
        return -EPERM;
    }
    return st_fd_hide(fd);
}

ST_EVERY_REPORT
int st_own_file_create(int dirfd, const char *name, unsigned mode)
{
    long fd = st_sys_openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            (int)(mode & 07777));
    if (fd < 0)
        return (int)fd;
    long rc = st_sys_fchmod((int)fd, mode & 07777);
    if (rc < 0) {
        st_sys_close((int)fd);
        st_sys_unlinkat(dirfd, name);
        return (int)rc;
    }
    return st_fd_hide((int)fd);
}

/* Errors of linkat(2) that mean "this file system has no hard links". */
static bool no_hard_links(long rc)
{
    return rc == -EPERM || rc == -EOPNOTSUPP || rc == -ENOSYS || rc == -EMLINK;
}

ST_EVERY_REPORT
int st_own_file_publish(int dirfd, const char *tmp, const char *final, bool replace)
{
    long rc;
    if (replace) {
        rc = st_sys_renameat(dirfd, tmp, final);
        if (rc != 0)
            st_sys_unlinkat(dirfd, tmp);
        return (int)rc;
    }
    /* Both fail rather than replace a name that exists, whatever it is:
     * renameat2(RENAME_NOREPLACE) in one system call, else link() and an
     * unlink of the temporary name. */
    rc = st_sys_rename_noreplace(dirfd, tmp, final);
    if (rc == 0 || rc == -EEXIST)
        return (int)rc;
    if (rc == -EINVAL || rc == -ENOSYS) {
        rc = st_sys_linkat(dirfd, tmp, dirfd, final);
        if (rc == 0) {
            st_sys_unlinkat(dirfd, tmp);
            return 0;
        }
        if (rc == -EEXIST)
            return -EEXIST;
        if (no_hard_links(rc)) {
            /* Neither RENAME_NOREPLACE nor links (some FUSE and network file
             * systems): rename only onto a name that is free now. */
            struct stat st;
            rc = st_sys_fstatat(dirfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0
                     ? -EEXIST
                     : st_sys_renameat(dirfd, tmp, final);
            if (rc == -EEXIST)
                return -EEXIST;
        }
    }
    if (rc != 0)
        st_sys_unlinkat(dirfd, tmp);
    return (int)rc;
}

ST_EVERY_REPORT
int st_own_split_path(const char *path, char *dir, size_t dir_len, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n >= dir_len)
        return -ENAMETOOLONG;
    if (!slash)
        memcpy(dir, ".", 2);
    else if (n == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return 0;
}
