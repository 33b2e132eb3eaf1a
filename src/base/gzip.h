/* gzip (RFC 1952) through zlib loaded privately with dlopen(RTLD_LOCAL),
 * as libdw and libunwind are: linking it would load it into every process
 * the preload enters and put its symbols in the program's global scope,
 * where a program's own copy of zlib (another version, or zlib-ng's
 * compatible symbols) would then bind to ours, or ours to it. */
#ifndef STRAYS_GZIP_H
#define STRAYS_GZIP_H

#include <stddef.h>
#include <stdint.h>

/* The gzip member of in[0..len) in *out (malloc'd, *out_len bytes; free()
 * it). Returns 0, -ENOENT when libz.so.1 cannot be loaded, -ENOMEM, or
 * -EIO when zlib fails. */
int st_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
