/* The write(2)-only buffered writer; see out.h. */
#include "base/out.h"
#include "base/st.h"

#include "base/sys.h"

#include <errno.h>
#include <string.h>

#define STRING_ONLY (-2) /* the fd of a writer into its buffer only */

ST_EVERY_REPORT
void st_out_init(struct st_out *o, int fd)
{
    o->fd = fd;
    o->error = 0;
    o->to_file = false;
    o->used = 0;
}

void st_out_init_string(struct st_out *o) { st_out_init(o, STRING_ONLY); }

const char *st_out_string(struct st_out *o)
{
    o->buf[o->used] = '\0'; /* st_out_mem keeps a byte free for it */
    return o->buf;
}

ST_EVERY_REPORT
void st_out_flush(struct st_out *o)
{
    if (o->fd == STRING_ONLY)
        return; /* the text stays in the buffer */
    if (o->used && !o->error) {
        long rc = o->to_file ? st_sys_write_file(o->fd, o->buf, o->used)
                             : st_sys_write_all(o->fd, o->buf, o->used);
        if (rc < 0)
            o->error = (int)rc;
    }
    o->used = 0;
}

ST_EVERY_REPORT
void st_out_mem(struct st_out *o, const char *s, size_t n)
{
    size_t size = o->fd == STRING_ONLY ? sizeof o->buf - 1 : sizeof o->buf;
    while (n > 0) {
        if (o->used == size) {
            if (o->fd == STRING_ONLY) {
                o->error = -ENOSPC;
                return;
            }
            st_out_flush(o);
        }
        size_t room = size - o->used;
        size_t take = n < room ? n : room;
        memcpy(o->buf + o->used, s, take);
        o->used += take;
        s += take;
        n -= take;
    }
}

ST_EVERY_REPORT
void st_out_str(struct st_out *o, const char *s) { st_out_mem(o, s, strlen(s)); }

ST_EVERY_REPORT
void st_out_char(struct st_out *o, char c) { st_out_mem(o, &c, 1); }

void st_out_uint(struct st_out *o, unsigned long long v)
{
    char digits[21];
    st_out_mem(o, digits, (size_t)st_sys_format_uint(v, digits));
}

void st_out_count(struct st_out *o, unsigned long long n, const char *one, const char *many)
{
    st_out_uint(o, n);
    st_out_str(o, n == 1 ? one : many);
}

ST_EVERY_REPORT
void st_out_int(struct st_out *o, long long v)
{
    if (v < 0) {
        st_out_char(o, '-');
        st_out_uint(o, 0ull - (unsigned long long)v);
    } else {
        st_out_uint(o, (unsigned long long)v);
    }
}

void st_out_hex(struct st_out *o, unsigned long long v)
{
    char digits[16];
    int i = (int)sizeof digits;
    do {
        digits[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    st_out_str(o, "0x");
    st_out_mem(o, digits + i, sizeof digits - (size_t)i);
}

void st_out_seconds(struct st_out *o, uint64_t ns)
{
    uint64_t tenths = (ns + 50000000u) / 100000000u;
    st_out_uint(o, tenths / 10);
    st_out_char(o, '.');
    st_out_uint(o, tenths % 10);
}

void st_out_seconds_ms(struct st_out *o, uint64_t ns)
{
    uint64_t ms = (ns + 500000u) / 1000000u;
    st_out_uint(o, ms / 1000);
    st_out_char(o, '.');
    st_out_char(o, (char)('0' + ms / 100 % 10));
    st_out_char(o, (char)('0' + ms / 10 % 10));
    st_out_char(o, (char)('0' + ms % 10));
}

static void two_digits(struct st_out *o, uint64_t v)
{
    st_out_char(o, (char)('0' + v / 10 % 10));
    st_out_char(o, (char)('0' + v % 10));
}

void st_out_duration(struct st_out *o, uint64_t ns)
{
    uint64_t s = ns / 1000000000u;
    if (s < 60) {
        st_out_seconds(o, ns);
        st_out_char(o, 's');
    } else if (s < 3600) {
        st_out_uint(o, s / 60);
        st_out_char(o, 'm');
        two_digits(o, s % 60);
        st_out_char(o, 's');
    } else {
        st_out_uint(o, s / 3600);
        st_out_char(o, 'h');
        two_digits(o, s / 60 % 60);
        st_out_char(o, 'm');
    }
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

ST_EVERY_REPORT
void st_out_json_str(struct st_out *o, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    st_out_char(o, '"');
    while (*s) {
        if (*s == '"' || *s == '\\') {
            st_out_char(o, '\\');
            st_out_char(o, (char)*s++);
        } else if (*s == '\n') {
            st_out_str(o, "\\n");
            s++;
        } else if (*s == '\t') {
            st_out_str(o, "\\t");
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            st_out_str(o, "\\u00");
            st_out_char(o, "0123456789abcdef"[*s >> 4]);
            st_out_char(o, "0123456789abcdef"[*s & 15]);
            s++;
        } else {
            int n = utf8_len(s);
            if (n == 0) {
                st_out_str(o, "\\ufffd");
                s++;
            } else {
                st_out_mem(o, (const char *)s, (size_t)n);
                s += n;
            }
        }
    }
    st_out_char(o, '"');
}

void st_out_pad(struct st_out *o, const char *s, int width)
{
    st_out_str(o, s);
    for (int n = (int)strlen(s); n < width; n++)
        st_out_char(o, ' ');
}
