/* Report destinations; see report_sink.h. */
#include "report/report_sink.h"

#include "base/st.h"
#include "base/log.h"
#include "base/out.h"
#include "base/own_files.h"
#include "base/sys.h"
#include "base/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names tried before giving up on a directory full of planted ones. */
#define MAX_NAME_ATTEMPTS 1000

static unsigned next_seq;

ST_EVERY_PROCESS
bool st_sink_is_file(const char *log_path)
{
    return !st_text_eq(log_path, st_opt_stderr) && !st_text_eq(log_path, st_opt_stdout);
}

static int stderr_fd(void) { return st_log_fd() >= 0 ? st_log_fd() : 2; }

static void to_stderr(struct st_sink *s)
{
    s->fd = stderr_fd();
    s->is_file = false;
    s->dirfd = -1;
}

/* Takes the next sequence number: final_path and tmp_name for it. */
ST_EVERY_REPORT
static int name_next(struct st_sink *s)
{
    s->seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);
    /* PREFIX.PID.SEQ.EXT and BASE.PID.SEQ.EXT.tmp, without stdio: a crash
     * report takes a name here too. In a small buffer: this runs in every
     * process under `strays run`, where each 4 KiB of stack is a fault. */
    char tail[64];
    size_t n = 0;
    tail[n++] = '.';
    n += (size_t)st_sys_format_uint((unsigned long long)st_sys_getpid(), tail + n);
    tail[n++] = '.';
    n += (size_t)st_sys_format_uint(s->seq, tail + n);
    tail[n++] = '.';
    size_t ext = strlen(s->ext);
    if (n + ext >= sizeof tail)
        return -ENAMETOOLONG;
    memcpy(tail + n, s->ext, ext + 1);
    n += ext;
    size_t prefix = strlen(s->prefix), base = strlen(s->base);
    if (prefix + n >= sizeof s->final_path || base + n + 4 >= sizeof s->tmp_name)
        return -ENAMETOOLONG;
    memcpy(s->final_path, s->prefix, prefix);
    memcpy(s->final_path + prefix, tail, n + 1);
    memcpy(s->tmp_name, s->base, base);
    memcpy(s->tmp_name + base, tail, n);
    memcpy(s->tmp_name + base + n, ".tmp", 5);
    return 0;
}

static const char *final_name(const struct st_sink *s)
{
    return s->final_path + (s->base - s->prefix);
}

/* Creates BASE.PID.SEQ.EXT.tmp exclusively. Whether the final name is free
 * is publish's to find (its rename replaces nothing): whatever is there, a
 * symlink included, is left alone, and the report takes the next SEQ. */
static int open_new_file(struct st_sink *s)
{
    long fd = -EEXIST;
    for (int attempt = 0; attempt < MAX_NAME_ATTEMPTS && fd == -EEXIST; attempt++) {
        int rc = name_next(s);
        if (rc != 0)
            return rc;
        fd = st_own_file_create(s->dirfd, s->tmp_name, st_opt.file_mode);
    }
    if (fd < 0)
        return (int)fd;
    s->fd = (int)fd;
    s->is_file = true;
    return 0;
}

/* Creates PREFIX.PID.SEQ.EXT's temporary file; -errno, with why said. */
ST_EVERY_REPORT
static int create_file(struct st_sink *s, const char *prefix, const char *ext, char *why,
                       size_t why_len)
{
    s->prefix = prefix;
    s->ext = ext;
    char dir[ST_OPT_PATH_SIZE]; /* prefix is a path option's value (ST_OPT_PATH_MAX) */
    int rc = st_own_split_path(prefix, dir, sizeof dir, &s->base);
    if (rc == 0) {
        s->dirfd = st_own_dir_open(dir, why, why_len);
        rc = s->dirfd < 0 ? s->dirfd : open_new_file(s);
    }
    if (rc != 0 && !why[0])
        snprintf(why, why_len, "%s", strerror(-rc));
    if (rc != 0 && s->dirfd >= 0) {
        st_sys_close(s->dirfd);
        s->dirfd = -1;
    }
    return rc;
}

/* The run has ended (report_sink.h): whether to write anything, and say so. */
static bool outlived_run(struct st_sink *s, const char *log_path, bool for_terminal)
{
    char dir[PATH_MAX];
    const char *base;
    if (st_own_split_path(log_path, dir, sizeof dir, &base) != 0)
        snprintf(dir, sizeof dir, "%s", log_path);
    if (for_terminal)
        st_logf("this process (pid %d) outlived the `strays run` that started it: the run has "
                "ended and removed its report directory %s, so this report is not in the "
                "run's verdict; it follows here, in text",
                (int)getpid(), dir);
    s->format = ST_FORMAT_TEXT;
    return for_terminal;
}

/* Every field but the two names, which name_next writes before any use:
 * zeroing all of it would write the 4 KiB of final_path, a page of stack
 * touched for nothing in every process under `strays run`. */
ST_EVERY_REPORT
static void sink_init(struct st_sink *s)
{
    s->fd = -1;
    s->format = ST_FORMAT_TEXT;
    s->is_file = s->file_only = false;
    s->dirfd = -1;
    s->seq = 0;
    s->ext = s->prefix = s->base = NULL;
    s->tmp_name[0] = s->final_path[0] = '\0';
}

ST_EVERY_REPORT
int st_sink_open(struct st_sink *s, const char *log_path, enum st_format format,
                 bool for_terminal)
{
    sink_init(s);
    s->format = format;
    if (!strcmp(log_path, "stdout")) {
        s->fd = 1;
        return 0;
    }
    if (!st_sink_is_file(log_path)) {
        to_stderr(s);
        return 0;
    }
    char why[1024]; /* for a message: a long path in it is cut */
    why[0] = '\0';
    int rc = create_file(s, log_path, format == ST_FORMAT_JSON ? "json" : "txt", why, sizeof why);
    if (rc == 0)
        return 0;
    to_stderr(s);
    if (rc == -ENOENT && st_opt.exitcode_for == ST_EXITCODE_FOR_RUN) {
        if (!outlived_run(s, log_path, for_terminal))
            s->fd = -1;
    } else {
        st_logf("cannot create report file %s.%d.*: %s; writing the report to stderr instead",
                log_path, (int)getpid(), why);
    }
    return 0;
}

int st_sink_open_file(struct st_sink *s, const char *prefix, const char *ext, const char *what)
{
    sink_init(s);
    s->file_only = true;
    char why[1024]; /* for a message: a long path in it is cut */
    why[0] = '\0';
    int rc = create_file(s, prefix, ext, why, sizeof why);
    if (rc != 0)
        st_logf("cannot create %s file %s.%d.*.%s: %s", what, prefix, (int)getpid(), ext, why);
    return rc;
}

/* Links the complete .tmp to its final name, taking the next SEQ when the
 * name was taken meanwhile. */
ST_EVERY_REPORT
static int publish(struct st_sink *s)
{
    char tmp[sizeof s->tmp_name];
    memcpy(tmp, s->tmp_name, sizeof tmp);
    int rc = -EEXIST;
    for (int attempt = 0; attempt < MAX_NAME_ATTEMPTS && rc == -EEXIST; attempt++) {
        if (attempt > 0 && (rc = name_next(s)) != 0)
            break;
        rc = st_own_file_publish(s->dirfd, tmp, final_name(s), false);
    }
    if (rc != 0)
        st_sys_unlinkat(s->dirfd, tmp);
    return rc;
}

ST_EVERY_REPORT
int st_sink_close(struct st_sink *s, int write_error)
{
    if (!s->is_file)
        return write_error;
    st_sys_close(s->fd);
    int rc;
    if (s->file_only) {
        rc = write_error ? write_error : publish(s);
        if (write_error)
            st_sys_unlinkat(s->dirfd, s->tmp_name);
        if (rc != 0)
            st_logf("cannot write %s: %s; removed the incomplete file", s->final_path,
                    strerror(-rc));
        st_sys_close(s->dirfd);
        s->dirfd = -1;
        s->is_file = false;
        return rc;
    }
    if (write_error) {
        st_sys_unlinkat(s->dirfd, s->tmp_name);
        st_logf("cannot write report file %s: %s; removed the incomplete file, writing the "
                "report to stderr instead",
                s->final_path, strerror(-write_error));
        rc = write_error;
    } else if ((rc = publish(s)) != 0) {
        st_logf("cannot move report file %s into place: %s; removed it, writing the report to "
                "stderr instead",
                s->final_path, strerror(-rc));
    }
    st_sys_close(s->dirfd);
    if (rc == 0) {
        s->dirfd = -1;
        s->is_file = false;
        return 0;
    }
    to_stderr(s);
    return ST_SINK_WRITE_AGAIN;
}
