/* Unit tests of how strays creates its own files (own_files.c, the report
 * sink) and of the checked walk over getdents64 records from /proc: the
 * checks that keep a planted symlink, a shared directory, a full disk or a
 * malformed record from doing harm. */
#define _GNU_SOURCE
#include "base/log.h"
#include "base/options.h"
#include "base/out.h"
#include "base/own_files.h"
#include "report/report_sink.h"
#include "base/sys.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/strays-unit.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rmtree(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ------------------------------------------------ getdents64 records */

/* Appends one record (name, reclen as given: 0 means the right length). */
static size_t put_record(char *buf, size_t at, const char *name, unsigned short reclen)
{
    struct dirent64 *d = (struct dirent64 *)(buf + at);
    size_t need = (offsetof(struct dirent64, d_name) + strlen(name) + 1 + 7) & ~(size_t)7;
    d->d_ino = 1;
    d->d_off = 0;
    d->d_type = DT_DIR;
    d->d_reclen = reclen ? reclen : (unsigned short)need;
    memcpy(d->d_name, name, strlen(name) + 1);
    return at + need;
}

Test(dirent_walk, well_formed_records_are_returned_in_order_then_null)
{
    char buf[512] __attribute__((aligned(8))) = {0};
    size_t len = put_record(buf, 0, ".", 0);
    len = put_record(buf, len, "1234", 0);
    long off = 0;
    const struct dirent64 *d = st_sys_dirent_next(buf, (long)len, &off);
    cr_assert_str_eq(d->d_name, ".");
    d = st_sys_dirent_next(buf, (long)len, &off);
    cr_assert_str_eq(d->d_name, "1234");
    cr_assert_null(st_sys_dirent_next(buf, (long)len, &off));
    cr_assert_eq(off, (long)len);
}

Test(dirent_walk, a_zero_length_record_stops_the_walk_instead_of_looping)
{
    char buf[512] __attribute__((aligned(8))) = {0};
    size_t len = put_record(buf, 0, "1", 0);
    size_t bad = len;
    len = put_record(buf, len, "2", 0);
    ((struct dirent64 *)(buf + bad))->d_reclen = 0;
    long off = 0;
    cr_assert_str_eq(st_sys_dirent_next(buf, (long)len, &off)->d_name, "1");
    cr_assert_null(st_sys_dirent_next(buf, (long)len, &off));
    cr_assert_null(st_sys_dirent_next(buf, (long)len, &off), "and stays stopped");
}

Test(dirent_walk, a_record_running_past_the_data_is_not_read)
{
    char buf[512] __attribute__((aligned(8))) = {0};
    size_t len = put_record(buf, 0, "77", 400);
    long off = 0;
    cr_assert_null(st_sys_dirent_next(buf, 100, &off), "reclen 400 in 100 bytes");
    cr_assert_eq(len > 0, true);
}

Test(dirent_walk, a_name_without_its_nul_inside_the_record_is_not_read)
{
    char buf[512] __attribute__((aligned(8)));
    memset(buf, 'x', sizeof buf);
    size_t len = put_record(buf, 0, "123", 0);
    struct dirent64 *d = (struct dirent64 *)buf;
    memset(d->d_name, '9', len - offsetof(struct dirent64, d_name)); /* no NUL left */
    long off = 0;
    cr_assert_null(st_sys_dirent_next(buf, (long)len, &off));
}

Test(dirent_walk, a_buffer_shorter_than_a_header_gives_nothing)
{
    char buf[64] __attribute__((aligned(8))) = {0};
    long off = 0;
    cr_assert_null(st_sys_dirent_next(buf, 10, &off));
    off = -8;
    cr_assert_null(st_sys_dirent_next(buf, 64, &off));
}

/* ------------------------------------------------------- the directory */

Test(own_dir, a_directory_anyone_can_write_without_sticky_bit_is_refused_with_why)
{
    char dir[64], why[600], expected[700];
    tmpdir(dir, sizeof dir);
    cr_assert_eq(chmod(dir, 0777), 0);
    cr_assert_eq(st_own_dir_open(dir, why, sizeof why), -EPERM);
    snprintf(expected, sizeof expected,
             "%s can be written by anyone and has no sticky bit, so anyone could replace "
             "strays' files there (chmod +t it, or use another directory)",
             dir);
    cr_assert_str_eq(why, expected);
    /* The sticky bit makes it a /tmp: allowed. */
    cr_assert_eq(chmod(dir, 01777), 0);
    int fd = st_own_dir_open(dir, why, sizeof why);
    cr_assert_geq(fd, 0, "%s", why);
    st_sys_close(fd);
    rmtree(dir);
}

Test(own_dir, a_missing_directory_says_strerror)
{
    char why[600];
    cr_assert_eq(st_own_dir_open("/nonexistent/strays", why, sizeof why), -ENOENT);
    cr_assert_str_eq(why, "No such file or directory");
    cr_assert_eq(st_own_dir_open("/etc/hostname", why, sizeof why), -ENOTDIR);
    cr_assert_str_eq(why, "Not a directory");
}

Test(own_dir, a_symlink_loop_ends_with_eloop)
{
    char dir[64], a[128], b[128], why[600];
    tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    cr_assert_eq(symlink("b", a), 0);
    cr_assert_eq(symlink("a", b), 0);
    cr_assert_eq(st_own_dir_open(a, why, sizeof why), -ELOOP);
    cr_assert_str_eq(why, "Too many levels of symbolic links");
    rmtree(dir);
}

struct nested_walk {
    const char *path;
    int fd;
    char why[600];
};

static void *open_nested(void *arg)
{
    struct nested_walk *w = arg;
    w->fd = st_own_dir_open(w->path, w->why, sizeof w->why);
    return NULL;
}

/* Reports are written on whatever thread exits or dumps, maybe one with a
 * small stack: 30 symlinks, each to the next, resolve on a 64 KiB stack. */
Test(own_dir, a_chain_of_symlinks_resolves_on_a_small_thread_stack)
{
    char dir[64], link[128], target[32], path[160];
    tmpdir(dir, sizeof dir);
    snprintf(link, sizeof link, "%s/l0", dir);
    cr_assert_eq(symlink(".", link), 0);
    for (int i = 1; i < 30; i++) {
        snprintf(link, sizeof link, "%s/l%d", dir, i);
        snprintf(target, sizeof target, "l%d", i - 1);
        cr_assert_eq(symlink(target, link), 0);
    }
    snprintf(path, sizeof path, "%s/l29", dir);
    struct nested_walk w = {path, -1, ""};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, &attr, open_nested, &w), 0);
    pthread_join(t, NULL);
    cr_assert_geq(w.fd, 0, "%s", w.why);
    struct stat by_fd, by_path;
    cr_assert_eq(fstat(w.fd, &by_fd), 0);
    cr_assert_eq(stat(dir, &by_path), 0);
    cr_assert_eq(by_fd.st_ino, by_path.st_ino, "l29 -> ... -> l0 -> the directory itself");
    st_sys_close(w.fd);
    rmtree(dir);
}

Test(own_dir, relative_symlinks_and_dot_dot_resolve_where_the_kernel_would)
{
    char dir[64], sub[128], link[128], path[200], why[600];
    tmpdir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(link, sizeof link, "%s/link", dir);
    cr_assert_eq(symlink("sub/../sub", link), 0);
    snprintf(path, sizeof path, "%s//link/./", dir);
    int fd = st_own_dir_open(path, why, sizeof why);
    cr_assert_geq(fd, 0, "%s", why);
    struct stat by_fd, by_path;
    cr_assert_eq(fstat(fd, &by_fd), 0);
    cr_assert_eq(stat(sub, &by_path), 0);
    cr_assert_eq(by_fd.st_ino, by_path.st_ino);
    st_sys_close(fd);
    rmtree(dir);
}

Test(own_dir, a_symlink_of_another_user_in_a_sticky_shared_directory_is_not_followed)
{
    struct passwd *nobody = getpwnam("nobody");
    if (geteuid() != 0 || !nobody)
        cr_skip_test("needs root and a user nobody");
    char dir[64], link[128], why[600], expected[700];
    tmpdir(dir, sizeof dir);
    cr_assert_eq(chmod(dir, 01777), 0);
    snprintf(link, sizeof link, "%s/l", dir);
    cr_assert_eq(symlink("/", link), 0);
    cr_assert_eq(lchown(link, nobody->pw_uid, (gid_t)-1), 0);
    cr_assert_eq(st_own_dir_open(link, why, sizeof why), -EPERM);
    snprintf(expected, sizeof expected,
             "%s is a symlink in a directory anyone can write to, owned by uid %u (neither "
             "strays' user nor the directory's owner): not followed",
             link, (unsigned)nobody->pw_uid);
    cr_assert_str_eq(why, expected);
    /* Not shared (no longer writable by others): the same link is followed. */
    cr_assert_eq(chmod(dir, 0755), 0);
    int fd = st_own_dir_open(link, why, sizeof why);
    cr_assert_geq(fd, 0, "%s", why);
    st_sys_close(fd);
    rmtree(dir);
}

Test(own_dir, split_path_gives_directory_and_last_component)
{
    char dir[16];
    const char *base;
    cr_assert_eq(st_own_split_path("/tmp/r", dir, sizeof dir, &base), 0);
    cr_assert_str_eq(dir, "/tmp");
    cr_assert_str_eq(base, "r");
    cr_assert_eq(st_own_split_path("r", dir, sizeof dir, &base), 0);
    cr_assert_str_eq(dir, ".");
    cr_assert_eq(st_own_split_path("/r", dir, sizeof dir, &base), 0);
    cr_assert_str_eq(dir, "/");
    cr_assert_eq(st_own_split_path("/a/very/long/directory/r", dir, sizeof dir, &base),
                 -ENAMETOOLONG);
}

/* ------------------------------------------------------------ the files */

Test(own_file, created_exclusively_with_the_exact_mode_whatever_the_umask)
{
    char dir[64], why[600];
    tmpdir(dir, sizeof dir);
    int dirfd = st_own_dir_open(dir, why, sizeof why);
    mode_t old = umask(077);
    int fd = st_own_file_create(dirfd, "f", 0644);
    umask(old);
    cr_assert_geq(fd, 0);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644);
    st_sys_close(fd);
    cr_assert_eq(st_own_file_create(dirfd, "f", 0600), -EEXIST);
    cr_assert_eq(symlinkat("/nonexistent-target", dirfd, "l"), 0);
    cr_assert_eq(st_own_file_create(dirfd, "l", 0600), -EEXIST, "a dangling link is not created through");
    cr_assert_eq(access("/nonexistent-target", F_OK), -1);
    st_sys_close(dirfd);
    rmtree(dir);
}

Test(own_file, publishing_never_replaces_unless_asked_and_never_follows_a_link)
{
    char dir[64], why[600], victim[128];
    tmpdir(dir, sizeof dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    FILE *f = fopen(victim, "w");
    fputs("victim", f);
    fclose(f);
    int dirfd = st_own_dir_open(dir, why, sizeof why);
    int fd = st_own_file_create(dirfd, "new.tmp", 0600);
    cr_assert_eq(write(fd, "new", 3), 3);
    st_sys_close(fd);
    cr_assert_eq(symlinkat(victim, dirfd, "final"), 0);
    int rc = st_own_file_publish(dirfd, "new.tmp", "final", false);
    cr_assert_eq(rc, -EEXIST, "%s", strerror(-rc));
    struct stat st;
    cr_assert_eq(fstatat(dirfd, "new.tmp", &st, 0), 0, "the file is kept for another name");
    cr_assert_eq(st_own_file_publish(dirfd, "new.tmp", "other", false), 0);
    cr_assert_eq(fstatat(dirfd, "new.tmp", &st, 0), -1, "linked, then the temporary name removed");
    /* Replacing (metrics): the link itself is replaced, its target untouched. */
    fd = st_own_file_create(dirfd, "m.tmp", 0600);
    st_sys_close(fd);
    cr_assert_eq(st_own_file_publish(dirfd, "m.tmp", "final", true), 0);
    cr_assert_eq(fstatat(dirfd, "final", &st, AT_SYMLINK_NOFOLLOW), 0);
    cr_assert(S_ISREG(st.st_mode));
    f = fopen(victim, "r");
    char text[16] = "";
    cr_assert_not_null(fgets(text, sizeof text, f));
    fclose(f);
    cr_assert_str_eq(text, "victim");
    st_sys_close(dirfd);
    rmtree(dir);
}

/* ---------------------------------------------- a report cut short */

/* In a child: the file size limit stands in for a full disk (write fails
 * with EFBIG once the limit is reached, SIGXFSZ ignored). */
static int child_writes_past_the_limit(const char *prefix)
{
    struct rlimit rl = {1000, 1000};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 10;
    st_log_init();
    struct st_sink s;
    st_sink_open(&s, prefix, ST_FORMAT_JSON, true);
    if (!s.is_file)
        return 11;
    char big[20000];
    memset(big, 'x', sizeof big);
    struct st_out out;
    st_out_init(&out, s.fd);
    st_out_mem(&out, big, sizeof big);
    st_out_flush(&out);
    if (out.error != -EFBIG)
        return 12;
    if (st_sink_close(&s, out.error) != ST_SINK_WRITE_AGAIN)
        return 13;
    if (s.is_file || s.fd != st_log_fd())
        return 14; /* now the stderr sink */
    return st_sink_close(&s, 0) == 0 ? 0 : 15;
}

Test(report_sink, a_report_that_cannot_be_written_whole_leaves_no_file_and_goes_to_stderr)
{
    char dir[64], prefix[128], err[128];
    tmpdir(dir, sizeof dir);
    snprintf(prefix, sizeof prefix, "%s/r", dir);
    snprintf(err, sizeof err, "%s-stderr", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        _exit(child_writes_past_the_limit(prefix));
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child step %d failed", WEXITSTATUS(ws));
    char cmd[300], names[256] = "";
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    FILE *p = popen(cmd, "r");
    size_t n = fread(names, 1, sizeof names - 1, p);
    names[n] = '\0';
    pclose(p);
    cr_assert_str_eq(names, "", "nothing left, whole or partial");
    FILE *f = fopen(err, "r");
    char line[512] = "", expected[512];
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    snprintf(expected, sizeof expected,
             "strays: cannot write report file %s.%d.0.json: File too large; removed the "
             "incomplete file, writing the report to stderr instead\n",
             prefix, (int)pid);
    cr_assert_str_eq(line, expected);
    unlink(err);
    rmtree(dir);
}

/* A name taken before the report (a symlink planted at PREFIX.PID.0.json,
 * or a previous process's report of the same pid) is left alone: the
 * publishing rename replaces nothing, and the report takes SEQ 1. */
Test(report_sink, a_final_name_already_taken_is_left_alone_and_the_next_is_used)
{
    char dir[64], prefix[128], taken[160], next[160], victim[160];
    tmpdir(dir, sizeof dir);
    snprintf(prefix, sizeof prefix, "%s/r", dir);
    snprintf(taken, sizeof taken, "%s.%d.0.json", prefix, (int)getpid());
    snprintf(next, sizeof next, "%s.%d.1.json", prefix, (int)getpid());
    snprintf(victim, sizeof victim, "%s/victim", dir);
    FILE *f = fopen(victim, "w");
    fputs("victim", f);
    fclose(f);
    cr_assert_eq(symlink(victim, taken), 0);
    st_log_init();
    struct st_sink s;
    cr_assert_eq(st_sink_open(&s, prefix, ST_FORMAT_JSON, true), 0);
    cr_assert(s.is_file);
    cr_assert_eq(write(s.fd, "{}", 2), 2);
    cr_assert_eq(st_sink_close(&s, 0), 0);
    struct stat st;
    cr_assert_eq(lstat(taken, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the symlink is still there");
    char text[16] = "";
    f = fopen(victim, "r");
    cr_assert_not_null(fgets(text, sizeof text, f));
    fclose(f);
    cr_assert_str_eq(text, "victim", "its target untouched");
    cr_assert_eq(lstat(next, &st), 0, "the report took the next number");
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_size, 2);
    rmtree(dir);
}

/* ------------------------------------------------------ file_mode */

static char option_error[600];

static void keep_error(void *ctx, const char *message)
{
    (void)ctx;
    snprintf(option_error, sizeof option_error, "%s", message);
}

Test(file_mode_option, octal_permissions_up_to_0777_are_taken_exactly)
{
    struct st_options o;
    st_options_defaults(&o);
    cr_assert_eq(o.file_mode, 0600);
    cr_assert_eq(st_options_parse(&o, "file_mode=0644", keep_error, NULL), 0);
    cr_assert_eq(o.file_mode, 0644);
    cr_assert_eq(st_options_parse(&o, "file_mode=640", keep_error, NULL), 0);
    cr_assert_eq(o.file_mode, 0640);
    cr_assert_eq(st_options_parse(&o, "file_mode=0", keep_error, NULL), 0);
    cr_assert_eq(o.file_mode, 0);
}

Test(file_mode_option, anything_else_is_refused_and_the_mode_kept)
{
    static const char *const bad[] = {"0888", "01000", "-1", "", "rw-r--r--", "0644x", "+644"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct st_options o;
        st_options_defaults(&o);
        char text[64], expected[300];
        snprintf(text, sizeof text, "file_mode=%s", bad[i]);
        cr_assert_eq(st_options_parse(&o, text, keep_error, NULL), 1, "%s", text);
        snprintf(expected, sizeof expected,
                 "bad value '%s' for option file_mode: expected permissions in octal, from 0 to "
                 "0777, such as 0600 or 0644; keeping 0600",
                 bad[i]);
        cr_assert_str_eq(option_error, expected);
        cr_assert_eq(o.file_mode, 0600);
    }
}
