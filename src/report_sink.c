/* Report destinations; see report_sink.h. */
#include "report_sink.h"

#include "log.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned next_seq;

bool st_sink_is_file(const char *log_path)
{
    return strcmp(log_path, "stderr") != 0 && strcmp(log_path, "stdout") != 0;
}

static int stderr_fd(void) { return st_log_fd() >= 0 ? st_log_fd() : 2; }

/* Creates PREFIX.PID.SEQ.EXT.tmp exclusively, never through a symlink. */
static int open_new_file(struct st_sink *s, const char *prefix, const char *ext)
{
    long fd = -EEXIST;
    for (int attempt = 0; attempt < 1000 && fd == -EEXIST; attempt++) {
        unsigned seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);
        int n = snprintf(s->final_path, sizeof s->final_path, "%s.%d.%u.%s", prefix,
                         (int)getpid(), seq, ext);
        if (n < 0 || (size_t)n + 5 >= sizeof s->final_path)
            return -ENAMETOOLONG;
        memcpy(s->tmp_path, s->final_path, (size_t)n);
        memcpy(s->tmp_path + n, ".tmp", 5);
        if (access(s->final_path, F_OK) == 0)
            continue;
        fd = st_sys_open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600);
    }
    if (fd < 0)
        return (int)fd;
    s->fd = st_fd_hide((int)fd);
    s->is_file = true;
    return 0;
}

int st_sink_open(struct st_sink *s, const char *log_path, enum st_format format)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    if (!strcmp(log_path, "stdout")) {
        s->fd = 1;
        return 0;
    }
    if (!st_sink_is_file(log_path)) {
        s->fd = stderr_fd();
        return 0;
    }
    int rc = open_new_file(s, log_path, format == ST_FORMAT_JSON ? "json" : "txt");
    if (rc == 0)
        return 0;
    st_logf("cannot create report file %s.%d.*: %s; writing the report to stderr instead",
            log_path, (int)getpid(), strerror(-rc));
    s->fd = stderr_fd();
    return 0;
}

int st_sink_close(struct st_sink *s, int write_error)
{
    if (!s->is_file)
        return write_error;
    st_sys_close(s->fd);
    if (write_error) {
        st_logf("report %s is incomplete (%s); left as %s", s->final_path,
                strerror(-write_error), s->tmp_path);
        return write_error;
    }
    /* link() fails rather than replace a file that appeared meanwhile. */
    long rc = st_sys_link(s->tmp_path, s->final_path);
    if (rc == 0) {
        st_sys_unlink(s->tmp_path);
        return 0;
    }
    /* Some file systems have no hard links; there rename, which cannot
     * fail for a name that exists, is the only way. */
    if (rc != -EEXIST)
        rc = st_sys_rename(s->tmp_path, s->final_path);
    if (rc != 0)
        st_logf("cannot move report %s into place: %s", s->tmp_path, strerror((int)-rc));
    return (int)rc;
}
