/* profile_path files; see profile_file.h. The file is made like a report
 * file (report_sink.h): new, under a temporary name until complete, with
 * mode file_mode. */
#include "report/profile_file.h"

#include "base/log.h"
#include "report/pprof.h"
#include "report/report_sink.h"
#include "base/sys.h"

#include <errno.h>
#include <stdlib.h>

int st_profile_file_write(const struct st_report *r, const char *prefix)
{
    static bool said_uncompressed;
    uint8_t *data;
    size_t len;
    bool compressed;
    int rc = st_pprof_encode_gz(r, ST_PPROF_CREATED, &data, &len, &compressed);
    if (rc != 0) {
        st_logf("out of memory while encoding the profile of the %s dump", r->reason);
        return rc;
    }
    if (!compressed && !__atomic_exchange_n(&said_uncompressed, true, __ATOMIC_RELAXED))
        st_logf("libz.so.1 (zlib) cannot be loaded: profiles are written uncompressed (pprof "
                "reads them as well)");
    struct st_sink sink;
    rc = st_sink_open_file(&sink, prefix, compressed ? "pb.gz" : "pb", "profile");
    if (rc == 0) {
        long written = st_sys_write_all(sink.fd, data, len);
        rc = st_sink_close(&sink, written < 0 ? (int)written : 0);
    }
    free(data);
    return rc;
}
