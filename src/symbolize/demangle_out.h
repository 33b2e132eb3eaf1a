/* The bounded output the Rust demanglers write into (demangle_*.c): a
 * caller's buffer that records, rather than overruns, a name too long. */
#ifndef STRAYS_DEMANGLE_OUT_H
#define STRAYS_DEMANGLE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dm_out {
    char *buf;
    size_t len, used; /* len includes room for the NUL */
    bool full;
    bool quiet; /* parsing what is not shown (an impl's path): write nothing */
};

void dm_put(struct dm_out *o, const char *s, size_t n);
void dm_str(struct dm_out *o, const char *s);
void dm_char(struct dm_out *o, char c);
/* A Unicode code point as UTF-8. */
void dm_code_point(struct dm_out *o, uint32_t cp);
void dm_uint(struct dm_out *o, uint64_t v);

/* The two schemes: the same contract as st_demangle_rust. */
int st_demangle_rust_v0(const char *name, struct dm_out *o);
int st_demangle_rust_legacy(const char *name, struct dm_out *o);

#endif
