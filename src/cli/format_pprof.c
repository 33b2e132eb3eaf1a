/* `strays report --format pprof`: one gzipped profile.proto per report,
 * for `go tool pprof` and the continuous-profiling backends (Pyroscope,
 * Parca, Grafana). One report goes to stdout or to --output FILE; several
 * go to --output DIR, each named after its report (r.42.3.json becomes
 * DIR/r.42.3.pb.gz). */
#define _GNU_SOURCE
#include "cli.h"

#include "report/pprof.h"
#include "base/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_pprof_check_output(const char *output, int nfiles)
{
    if (nfiles > 1 && !is_dir(output)) {
        cli_error("report: --format pprof writes one profile per report: with %d reports, give "
                  "--output DIR, an existing directory",
                  nfiles);
        return -1;
    }
    if (!output && isatty(1)) {
        cli_error("report: a pprof profile is binary: give --output FILE or redirect stdout");
        return -1;
    }
    return 0;
}

/* DIR/BASE.pb.gz, BASE being the report's file name without ".json". */
static char *path_in_dir(const char *dir, const char *report)
{
    const char *slash = strrchr(report, '/');
    const char *base = slash ? slash + 1 : report;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".json")) n -= 5;
    char *path = NULL;
    if (asprintf(&path, "%s/%.*s.pb.gz", dir, (int)n, base) < 0) return NULL;
    return path;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
    if (fd < 0) {
        cli_error("report: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    long rc = st_sys_write_all(fd, data, len);
    if (path && close(fd) != 0 && rc >= 0) rc = -errno;
    if (rc < 0) {
        cli_error("report: cannot write %s: %s", path ? path : "the profile to stdout",
                  strerror((int)-rc));
        return -1;
    }
    return 0;
}

int cli_write_pprof(struct st_report *reports, const char *const *files, int count,
                    const char *output, bool current_stacks)
{
    static bool said_uncompressed;
    int status = 0;
    for (int i = 0; i < count; i++) {
        uint8_t *data;
        size_t len;
        bool compressed;
        if (st_pprof_encode_gz(&reports[i], current_stacks ? ST_PPROF_CURRENT : ST_PPROF_CREATED,
                               &data, &len, &compressed) != 0) {
            cli_error("report: out of memory while encoding the profile of %s", files[i]);
            return -1;
        }
        if (!compressed && !said_uncompressed) {
            said_uncompressed = true;
            cli_error("report: libz.so.1 (zlib) cannot be loaded: profiles are written "
                      "uncompressed (pprof reads them as well)");
        }
        bool into_dir = is_dir(output);
        char *path = into_dir ? path_in_dir(output, files[i]) : NULL;
        if ((into_dir && !path) || write_file(into_dir ? path : output, data, len) != 0)
            status = -1;
        free(path);
        free(data);
    }
    return status;
}
