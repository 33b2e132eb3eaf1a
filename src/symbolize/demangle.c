/* Rust demangling: which scheme a name uses, the bounded output both
 * schemes write, and the arena wrapper the symbolizers call; see
 * demangle.h. */
#include "symbolize/demangle.h"

#include "symbolize/demangle_out.h"

#include "base/sys.h"

#include <errno.h>
#include <string.h>

void dm_put(struct dm_out *o, const char *s, size_t n)
{
    if (o->quiet || o->full)
        return;
    if (n >= o->len - o->used) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->used, s, n);
    o->used += n;
}

void dm_str(struct dm_out *o, const char *s) { dm_put(o, s, strlen(s)); }

void dm_char(struct dm_out *o, char c) { dm_put(o, &c, 1); }

void dm_code_point(struct dm_out *o, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18 & 0x07));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    dm_put(o, b, n);
}

void dm_uint(struct dm_out *o, uint64_t v)
{
    char digits[21];
    dm_put(o, digits, (size_t)st_sys_format_uint(v, digits));
}

int st_demangle_rust(const char *name, char *out, size_t len)
{
    if (!name || !out || len == 0)
        return -EINVAL;
    struct dm_out o = {.buf = out, .len = len};
    /* "__R" and "__ZN": the same names with the extra underscore some
     * platforms prefix. */
    const char *p = name[0] == '_' && name[1] == '_' ? name + 1 : name;
    int rc = -EINVAL;
    if (p[0] == '_' && p[1] == 'R')
        rc = st_demangle_rust_v0(p + 2, &o);
    else if (p[0] == '_' && p[1] == 'Z' && p[2] == 'N')
        rc = st_demangle_rust_legacy(p + 3, &o);
    if (rc == 0 && o.full)
        rc = -ENOSPC;
    /* A name that reads as nothing ("_RC0") is no name. */
    if (rc == 0 && o.used == 0)
        rc = -EINVAL;
    if (rc != 0)
        return rc;
    out[o.used] = '\0';
    return (int)o.used;
}

const char *st_demangled_rust(const char *name, struct st_arena *arena)
{
    /* Most names fit on the stack; a long generic instance gets a large
     * buffer from the arena (kept: the arena frees all at once). */
    char small[1024];
    int rc = st_demangle_rust(name, small, sizeof small);
    if (rc >= 0)
        return st_arena_strndup(arena, small, (size_t)rc);
    if (rc != -ENOSPC)
        return NULL;
    const size_t large = 16384;
    char *buf = st_arena_alloc(arena, large);
    return buf && st_demangle_rust(name, buf, large) >= 0 ? buf : NULL;
}
