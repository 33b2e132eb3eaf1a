/* Strict JSON reader; see json.h. Recursive descent whose depth is capped at
 * MAX_DEPTH, so hostile input cannot exhaust the stack, and every byte is
 * looked at a bounded number of times, so huge input stays linear. The input
 * need not be NUL-terminated: nothing reads at or past text + len. */
#include "report/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 64 };

struct parser {
    const char *text;
    size_t len;
    size_t pos;
    size_t line;       /* 1-based line of pos */
    size_t line_start; /* offset of the first byte of that line */
    int depth;
    bool failed;
    struct st_json_error *err;
};

/* A growable string; cap always leaves room for the terminating NUL. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

static int clamp_int(size_t v)
{
    return v > INT_MAX ? INT_MAX : (int)v;
}

/* Always returns false so callers can write `return fail_at(...)`. Only the
 * first failure is kept: it is the root cause, later ones are fallout. */
__attribute__((format(printf, 3, 4))) static bool fail_at(struct parser *p, size_t pos,
                                                          const char *fmt, ...)
{
    if (p->failed)
        return false;
    p->failed = true;
    if (!p->err)
        return false;
    /* Newlines only occur in white space, which is skipped before any token,
     * so an error position is never before the current line's start. */
    p->err->line = clamp_int(p->line);
    p->err->column = clamp_int(pos - p->line_start + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool fail_oom(struct parser *p)
{
    return fail_at(p, p->pos, "out of memory");
}

static int peek(const struct parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

/* Quotes printable bytes and shows the rest in hex, so a message never
 * carries raw control or non-UTF-8 bytes to the terminal. */
static const char *describe(int c, char out[64])
{
    if (c == '/')
        return "'/' (comments are not allowed in JSON)";
    if (c == '\'')
        return "a single quote (strings must use double quotes)";
    if (c > 0x20 && c < 0x7f)
        snprintf(out, 64, "'%c'", c);
    else
        snprintf(out, 64, "byte 0x%02X", (unsigned)c);
    return out;
}

/* End of input is reported as such: for a truncated file that is the
 * real problem, not whatever byte might have followed. */
static bool fail_expected(struct parser *p, const char *what)
{
    char tmp[64];
    if (p->pos >= p->len)
        return fail_at(p, p->pos, "unexpected end of input, expected %s", what);
    return fail_at(p, p->pos, "expected %s, found %s", what, describe(peek(p), tmp));
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static struct st_json *new_node(struct parser *p, enum st_json_type type)
{
    struct st_json *v = calloc(1, sizeof *v);
    if (!v) {
        fail_oom(p);
        return NULL;
    }
    v->type = type;
    return v;
}

static bool buf_append(struct parser *p, struct buf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 16;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2)
                return fail_oom(p);
            cap *= 2;
        }
        char *data = realloc(b->data, cap);
        if (!data)
            return fail_oom(p);
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

static bool fail_eof_in_string(struct parser *p)
{
    return fail_at(p, p->len, "unexpected end of input inside a string");
}

/* Copies a run of plain ASCII in one go; per-byte appends would make long
 * strings needlessly slow. */
static bool string_run(struct parser *p, struct buf *b)
{
    size_t start = p->pos;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
            break;
        p->pos++;
    }
    return buf_append(p, b, p->text + start, p->pos - start);
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the four hex digits of the \u escape whose backslash is at `at`. */
static bool read_hex4(struct parser *p, size_t at, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = at + 2; i < at + 6; i++) {
        if (i >= p->len)
            return fail_eof_in_string(p);
        char c = p->text[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return fail_at(p, i, "invalid hex digit in \\u escape");
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* A high surrogate is only meaningful with a low one right after it; either
 * half alone cannot be represented in UTF-8, so both are errors. `at` is the
 * high surrogate's backslash, p->pos the byte after its escape. */
static bool complete_surrogate(struct parser *p, size_t at, uint32_t *cp)
{
    uint32_t lo = 0;
    for (size_t i = 0; i < 2; i++) {
        if (p->pos + i >= p->len)
            return fail_eof_in_string(p);
        if (p->text[p->pos + i] != "\\u"[i])
            goto unpaired;
    }
    if (!read_hex4(p, p->pos, &lo))
        return false;
    if (lo < 0xDC00 || lo > 0xDFFF)
        goto unpaired;
    p->pos += 6;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return true;
unpaired:
    return fail_at(p, at, "high surrogate \\u%04X not followed by a low surrogate", (unsigned)*cp);
}

static bool unicode_escape(struct parser *p, struct buf *b)
{
    size_t at = p->pos;
    uint32_t cp = 0;
    if (!read_hex4(p, at, &cp))
        return false;
    p->pos = at + 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_at(p, at, "unpaired low surrogate \\u%04X in string", (unsigned)cp);
    if (cp >= 0xD800 && cp <= 0xDBFF && !complete_surrogate(p, at, &cp))
        return false;
    /* Strings are handed out NUL-terminated; an embedded NUL would silently
     * truncate them. */
    if (cp == 0)
        return fail_at(p, at, "\\u0000 is not allowed in strings");
    char out[4] = {0};
    return buf_append(p, b, out, utf8_encode(cp, out));
}

static bool string_escape(struct parser *p, struct buf *b)
{
    if (p->pos + 1 >= p->len)
        return fail_eof_in_string(p);
    char c = p->text[p->pos + 1], out;
    switch (c) {
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    case '/': out = '/'; break;
    case 'b': out = '\b'; break;
    case 'f': out = '\f'; break;
    case 'n': out = '\n'; break;
    case 'r': out = '\r'; break;
    case 't': out = '\t'; break;
    case 'u': return unicode_escape(p, b);
    default: {
        char tmp[64];
        return fail_at(p, p->pos + 1, "invalid escape: backslash followed by %s",
                       describe((unsigned char)c, tmp));
    }
    }
    p->pos += 2;
    return buf_append(p, b, &out, 1);
}

/* Validates one multi-byte UTF-8 sequence; errors point at its first byte. */
static bool string_utf8(struct parser *p, struct buf *b)
{
    size_t at = p->pos;
    unsigned char c = (unsigned char)p->text[at];
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC0 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF7)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return fail_at(p, at, "invalid UTF-8 byte 0x%02X in string", (unsigned)c);
    for (size_t i = 1; i < n; i++) {
        if (at + i >= p->len)
            return fail_eof_in_string(p);
        unsigned char cc = (unsigned char)p->text[at + i];
        if ((cc & 0xC0) != 0x80)
            return fail_at(p, at, "truncated UTF-8 sequence in string");
        cp = cp << 6 | (cc & 0x3F);
    }
    if (cp < min)
        return fail_at(p, at, "overlong UTF-8 encoding in string");
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return fail_at(p, at, "UTF-8 encoded surrogate U+%04X in string", (unsigned)cp);
    if (cp > 0x10FFFF)
        return fail_at(p, at, "UTF-8 sequence beyond U+10FFFF in string");
    p->pos += n;
    return buf_append(p, b, p->text + at, n);
}

static bool string_part(struct parser *p, struct buf *b, unsigned char c)
{
    if (c == '\\')
        return string_escape(p, b);
    if (c < 0x20)
        return fail_at(p, p->pos, "control character 0x%02X in string (must be escaped)",
                       (unsigned)c);
    if (c < 0x80)
        return string_run(p, b);
    return string_utf8(p, b);
}

/* Parses the string whose opening quote is at p->pos into a fresh buffer. */
static bool parse_string(struct parser *p, char **out, size_t *out_len)
{
    struct buf b = {NULL, 0, 0};
    p->pos++;
    for (;;) {
        if (p->pos >= p->len) {
            fail_eof_in_string(p);
            goto fail;
        }
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"')
            break;
        if (!string_part(p, &b, c))
            goto fail;
    }
    p->pos++;
    if (!buf_append(p, &b, "", 1)) /* the NUL; also allocates for "" */
        goto fail;
    *out = b.data;
    *out_len = b.len - 1;
    return true;
fail:
    free(b.data);
    return false;
}

static struct st_json *parse_string_value(struct parser *p)
{
    struct st_json *v = new_node(p, ST_JSON_STRING);
    if (v && !parse_string(p, &v->string, &v->length)) {
        free(v);
        return NULL;
    }
    return v;
}

static struct st_json *parse_literal(struct parser *p, const char *word, enum st_json_type type,
                                     bool boolean)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (p->pos + i >= p->len) {
            fail_at(p, p->len, "unexpected end of input inside literal '%s'", word);
            return NULL;
        }
        if (p->text[p->pos + i] != word[i]) {
            fail_at(p, p->pos + i, "invalid literal, expected '%s'", word);
            return NULL;
        }
    }
    p->pos += n;
    struct st_json *v = new_node(p, type);
    if (v)
        v->boolean = boolean;
    return v;
}

static bool scan_digits(struct parser *p)
{
    size_t start = p->pos;
    while (peek(p) >= '0' && peek(p) <= '9')
        p->pos++;
    return p->pos > start;
}

/* The literal is copied out because the input is not NUL-terminated and
 * strtod/strtoll need a terminator; the grammar was already checked, so
 * they see only well-formed numbers. */
static struct st_json *number_node(struct parser *p, size_t start, bool integral)
{
    size_t n = p->pos - start;
    char small[64];
    char *s = n < sizeof small ? small : malloc(n + 1);
    if (!s) {
        fail_oom(p);
        return NULL;
    }
    memcpy(s, p->text + start, n);
    s[n] = '\0';
    double d = strtod(s, NULL);
    bool fits = false;
    long long ll = 0;
    if (integral) {
        errno = 0;
        ll = strtoll(s, NULL, 10);
        fits = errno != ERANGE;
    }
    if (s != small)
        free(s);
    /* Infinity is not a JSON value; accepting it through overflow would let
     * it reach code that never expects it. Underflow to 0 is harmless. */
    if (isinf(d)) {
        fail_at(p, start, "number out of range");
        return NULL;
    }
    struct st_json *v = new_node(p, ST_JSON_NUMBER);
    if (v) {
        v->number = d;
        v->is_integer = fits;
        v->integer = fits ? (int64_t)ll : 0;
    }
    return v;
}

static struct st_json *parse_number(struct parser *p)
{
    size_t start = p->pos;
    bool integral = true;
    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0') {
        p->pos++;
        if (peek(p) >= '0' && peek(p) <= '9') {
            fail_at(p, p->pos, "leading zeros are not allowed in numbers");
            return NULL;
        }
    } else if (!scan_digits(p)) {
        fail_expected(p, "a digit");
        return NULL;
    }
    if (peek(p) == '.') {
        integral = false;
        p->pos++;
        if (!scan_digits(p)) {
            fail_expected(p, "a digit after '.'");
            return NULL;
        }
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        integral = false;
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!scan_digits(p)) {
            fail_expected(p, "a digit in the exponent");
            return NULL;
        }
    }
    return number_node(p, start, integral);
}

static struct st_json *parse_value(struct parser *p);

/* Consumes the opening bracket. The depth check is what keeps recursion,
 * and so stack use, bounded whatever the input. */
static struct st_json *open_container(struct parser *p, enum st_json_type type)
{
    if (p->depth >= MAX_DEPTH) {
        fail_at(p, p->pos, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    struct st_json *c = new_node(p, type);
    if (c) {
        p->depth++;
        p->pos++;
    }
    return c;
}

/* Takes ownership of item and key: on failure they are freed here, so
 * callers have a single cleanup path. Capacity doubles to stay linear. */
static bool append(struct parser *p, struct st_json *c, size_t *cap, struct st_json *item,
                   char *key)
{
    if (c->length == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        if (n > SIZE_MAX / 2 / sizeof(void *))
            goto oom;
        struct st_json **items = realloc(c->items, n * sizeof *items);
        if (!items)
            goto oom;
        c->items = items;
        if (c->type == ST_JSON_OBJECT) {
            char **keys = realloc(c->keys, n * sizeof *keys);
            if (!keys)
                goto oom;
            c->keys = keys;
        }
        *cap = n;
    }
    c->items[c->length] = item;
    if (c->type == ST_JSON_OBJECT)
        c->keys[c->length] = key;
    c->length++;
    return true;
oom:
    st_json_free(item);
    free(key);
    return fail_oom(p);
}

/* Recursive descent, from here to st_json_free: the depth is capped at
 * MAX_DEPTH (open_container). */
/* NOLINTBEGIN(misc-no-recursion) */
static struct st_json *parse_array(struct parser *p)
{
    struct st_json *arr = open_container(p, ST_JSON_ARRAY);
    size_t cap = 0;
    if (!arr)
        return NULL;
    skip_ws(p);
    if (peek(p) == ']')
        goto done;
    for (;;) {
        struct st_json *item = parse_value(p);
        if (!item || !append(p, arr, &cap, item, NULL))
            goto fail;
        skip_ws(p);
        if (peek(p) == ']')
            goto done;
        if (peek(p) != ',') {
            fail_expected(p, "',' or ']' after array element");
            goto fail;
        }
        p->pos++;
        skip_ws(p);
        if (peek(p) == ']') {
            fail_at(p, p->pos, "trailing comma before ']' in array");
            goto fail;
        }
    }
done:
    p->pos++;
    p->depth--;
    return arr;
fail:
    st_json_free(arr);
    return NULL;
}

static bool parse_member(struct parser *p, struct st_json *obj, size_t *cap)
{
    char *key;
    size_t key_len;
    if (peek(p) != '"')
        return fail_expected(p, "a string key");
    if (!parse_string(p, &key, &key_len))
        return false;
    skip_ws(p);
    if (peek(p) != ':') {
        free(key);
        return fail_expected(p, "':' after object key");
    }
    p->pos++;
    struct st_json *value = parse_value(p);
    if (!value) {
        free(key);
        return false;
    }
    return append(p, obj, cap, value, key);
}

static struct st_json *parse_object(struct parser *p)
{
    struct st_json *obj = open_container(p, ST_JSON_OBJECT);
    size_t cap = 0;
    if (!obj)
        return NULL;
    skip_ws(p);
    if (peek(p) == '}')
        goto done;
    for (;;) {
        if (!parse_member(p, obj, &cap))
            goto fail;
        skip_ws(p);
        if (peek(p) == '}')
            goto done;
        if (peek(p) != ',') {
            fail_expected(p, "',' or '}' after object member");
            goto fail;
        }
        p->pos++;
        skip_ws(p);
        if (peek(p) == '}') {
            fail_at(p, p->pos, "trailing comma before '}' in object");
            goto fail;
        }
    }
done:
    p->pos++;
    p->depth--;
    return obj;
fail:
    st_json_free(obj);
    return NULL;
}

static struct st_json *parse_value(struct parser *p)
{
    skip_ws(p);
    int c = peek(p);
    switch (c) {
    case '{': return parse_object(p);
    case '[': return parse_array(p);
    case '"': return parse_string_value(p);
    case 't': return parse_literal(p, "true", ST_JSON_BOOL, true);
    case 'f': return parse_literal(p, "false", ST_JSON_BOOL, false);
    case 'n': return parse_literal(p, "null", ST_JSON_NULL, false);
    default: break;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p);
    fail_expected(p, "a value");
    return NULL;
}

struct st_json *st_json_parse(const char *text, size_t len, struct st_json_error *err)
{
    struct parser p = {.text = text ? text : "", .len = text ? len : 0, .line = 1, .err = err};
    if (err)
        memset(err, 0, sizeof *err);
    skip_ws(&p);
    if (p.pos == p.len) {
        fail_at(&p, p.pos, "empty input, expected a JSON value");
        return NULL;
    }
    struct st_json *v = parse_value(&p);
    if (!v)
        return NULL;
    skip_ws(&p);
    if (p.pos < p.len) {
        char tmp[64];
        fail_at(&p, p.pos, "trailing characters after the JSON value: found %s",
                describe(peek(&p), tmp));
        st_json_free(v);
        return NULL;
    }
    return v;
}

/* Recursion is safe here: only st_json_parse builds trees, and it never
 * nests deeper than MAX_DEPTH. */
void st_json_free(struct st_json *v)
{
    if (!v)
        return;
    if (v->type == ST_JSON_ARRAY || v->type == ST_JSON_OBJECT) {
        for (size_t i = 0; i < v->length; i++) {
            st_json_free(v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}
/* NOLINTEND(misc-no-recursion) */

const struct st_json *st_json_get(const struct st_json *obj, const char *key)
{
    if (!obj || obj->type != ST_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->length; i++) {
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    }
    return NULL;
}

bool st_json_as_int(const struct st_json *v, int64_t *out)
{
    if (!v || v->type != ST_JSON_NUMBER || !v->is_integer)
        return false;
    *out = v->integer;
    return true;
}

bool st_json_as_string(const struct st_json *v, const char **out)
{
    if (!v || v->type != ST_JSON_STRING)
        return false;
    *out = v->string;
    return true;
}

bool st_json_as_bool(const struct st_json *v, bool *out)
{
    if (!v || v->type != ST_JSON_BOOL)
        return false;
    *out = v->boolean;
    return true;
}
