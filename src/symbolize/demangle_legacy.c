/* Rust's legacy mangling: "_ZN", then the path's elements as
 * <length><bytes> in the Itanium way, "E", and perhaps a vendor suffix
 * (".llvm.123"). The last element is the hash "h" + 16 hex digits, which is
 * left out, as rustfilt does; a name without it is not taken for Rust (C++
 * names have the same shape). Within an element, characters a symbol cannot
 * hold are written as $NAME$ or $u<hex>$ escapes and "::" as "..". */
#include "symbolize/demangle_out.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define HASH_LEN 17 /* "h" and 16 hex digits */
#define MAX_ELEMENTS 256

struct element {
    const char *p;
    size_t len;
};

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static bool is_hash(const struct element *e)
{
    if (e->len != HASH_LEN || e->p[0] != 'h')
        return false;
    for (size_t i = 1; i < e->len; i++)
        if (!is_hex(e->p[i]))
            return false;
    return true;
}

/* Splits "<len><bytes>...E" into elements; the count, or -EINVAL. */
static int split(const char *s, struct element *out, int max)
{
    int n = 0;
    while (*s != 'E') {
        if (*s < '1' || *s > '9' || n == max)
            return -EINVAL;
        size_t len = 0;
        while (*s >= '0' && *s <= '9') {
            len = len * 10 + (size_t)(*s++ - '0');
            if (len > 4096)
                return -EINVAL;
        }
        if (memchr(s, '\0', len))
            return -EINVAL;
        out[n].p = s;
        out[n++].len = len;
        s += len;
    }
    /* After "E": nothing, or a vendor suffix ("E.llvm.123"). */
    return s[1] == '\0' || s[1] == '.' || s[1] == '$' ? n : -EINVAL;
}

static const struct {
    char code[3]; /* characters, not a relocated pointer */
    char c;
} escapes[] = {{"SP", '@'}, {"BP", '*'}, {"RF", '&'}, {"LT", '<'},
               {"GT", '>'}, {"LP", '('}, {"RP", ')'}, {"C", ','}};

/* The escape "$...$" at p (n bytes left): writes what it stands for and
 * returns its length, or 0 when it is none. */
static size_t unescape(const char *p, size_t n, struct dm_out *o)
{
    const char *end = memchr(p + 1, '$', n - 1);
    if (!end)
        return 0;
    size_t code_len = (size_t)(end - p) - 1;
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
        if (strlen(escapes[i].code) == code_len && !memcmp(p + 1, escapes[i].code, code_len)) {
            dm_char(o, escapes[i].c);
            return code_len + 2;
        }
    if (code_len < 2 || code_len > 7 || p[1] != 'u')
        return 0;
    uint32_t cp = 0;
    for (size_t i = 2; i <= code_len; i++) {
        if (!is_hex(p[i]))
            return 0;
        cp = cp * 16 + (uint32_t)(p[i] <= '9' ? p[i] - '0' : p[i] - 'a' + 10);
    }
    /* A control character (NUL above all) would cut or break a report's
     * line; rustc escapes none, since no identifier holds one. */
    if (cp < 0x20 || cp == 0x7f || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    dm_code_point(o, cp);
    return code_len + 2;
}

static int write_element(const struct element *e, struct dm_out *o)
{
    const char *p = e->p;
    size_t n = e->len;
    /* An element may not start with '$': rustc puts '_' before it. */
    if (n >= 2 && p[0] == '_' && p[1] == '$') {
        p++;
        n--;
    }
    while (n > 0) {
        size_t used = 1;
        if (*p == '$') {
            used = unescape(p, n, o);
            if (!used)
                return -EINVAL;
        } else if (*p == '.' && n >= 2 && p[1] == '.') {
            dm_str(o, "::");
            used = 2;
        } else {
            dm_char(o, *p);
        }
        p += used;
        n -= used;
    }
    return 0;
}

int st_demangle_rust_legacy(const char *name, struct dm_out *o)
{
    struct element elements[MAX_ELEMENTS];
    int n = split(name, elements, MAX_ELEMENTS);
    if (n < 2 || !is_hash(&elements[n - 1]))
        return -EINVAL;
    for (int i = 0; i < n - 1; i++) {
        if (i > 0)
            dm_str(o, "::");
        if (write_element(&elements[i], o) != 0)
            return -EINVAL;
    }
    return 0;
}
