/* gzip; see gzip.h. The library is loaded on first use only: a process
 * that never writes a profile never loads it. */
#define _GNU_SOURCE
#include "base/gzip.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct zlib_api {
    int (*init2)(z_streamp, int, int, int, int, int, const char *, int);
    int (*deflate)(z_streamp, int);
    int (*end)(z_streamp);
    uLong (*bound)(z_streamp, uLong);
};

static struct zlib_api api;
static bool loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    *(void **)&api.init2 = dlsym(lib, "deflateInit2_");
    *(void **)&api.deflate = dlsym(lib, "deflate");
    *(void **)&api.end = dlsym(lib, "deflateEnd");
    *(void **)&api.bound = dlsym(lib, "deflateBound");
    loaded = api.init2 && api.deflate && api.end && api.bound;
    /* cppcheck-suppress resourceLeak ; kept loaded: api points into it */
}

int st_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    pthread_once(&load_once, load);
    if (!loaded) return -ENOENT;
    if (len > UINT_MAX / 2) return -EFBIG;
    z_stream s;
    memset(&s, 0, sizeof s);
    /* windowBits 15 + 16: a gzip header and trailer rather than zlib's. */
    if (api.init2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                  ZLIB_VERSION, (int)sizeof s) != Z_OK)
        return -ENOMEM;
    uLong cap = api.bound(&s, (uLong)len) + 32;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        api.end(&s);
        return -ENOMEM;
    }
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)len;
    s.next_out = buf;
    s.avail_out = (uInt)cap;
    int rc = api.deflate(&s, Z_FINISH);
    api.end(&s);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = cap - s.avail_out;
    return 0;
}
