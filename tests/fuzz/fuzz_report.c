/* libFuzzer harness for the CLI's report reader: the JSON parser
 * (src/json.c) and the loader into the report model (src/report_parse.c),
 * followed by the writers that `strays report` and `strays diff` run on
 * what they loaded (src/report_json.c, src/report_text.c). Report files may
 * be truncated, corrupt or hostile; any bytes must be read without a
 * crash, leak, read past the input or undefined behaviour.
 * Besides "no crash" it checks: an error position inside the input; a
 * parsed tree written back canonically parses to the same tree; a loaded
 * report written as JSON loads again and writes back the same bytes. */
#define _GNU_SOURCE /* memfd_create */
#include "report/json.h"
#include "report/report_parse.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------- growable output buffer */

struct text {
    char *data;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->data = realloc(t->data, cap);
        if (!t->data)
            abort();
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void put_str(struct text *t, const char *s) { put(t, s, strlen(s)); }

/* ----------------------------------------- the parsed tree, written back */

static void dump_string(struct text *t, const char *s, size_t len)
{
    if (strlen(s) != len) /* json.h: strings never hold a NUL */
        abort();
    put_str(t, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\' || c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put_str(t, esc);
        } else {
            put(t, s + i, 1);
        }
    }
    put_str(t, "\"");
}

/* Numbers that were not integers keep a fraction mark, so they read back
 * as non-integers ("-0.0" stays -0.0, not the integer 0). */
static void dump_number(struct text *t, const struct st_json *v)
{
    char num[48];
    if (v->is_integer) {
        snprintf(num, sizeof num, "%lld", (long long)v->integer);
    } else {
        snprintf(num, sizeof num, "%.17g", v->number);
        if (!strpbrk(num, ".eE"))
            strcat(num, ".0");
    }
    put_str(t, num);
}

static void dump(struct text *t, const struct st_json *v)
{
    switch (v->type) {
    case ST_JSON_NULL: put_str(t, "null"); break;
    case ST_JSON_BOOL: put_str(t, v->boolean ? "true" : "false"); break;
    case ST_JSON_NUMBER: dump_number(t, v); break;
    case ST_JSON_STRING: dump_string(t, v->string, v->length); break;
    case ST_JSON_ARRAY:
    case ST_JSON_OBJECT:
        put_str(t, v->type == ST_JSON_ARRAY ? "[" : "{");
        for (size_t i = 0; i < v->length; i++) {
            if (i)
                put_str(t, ",");
            if (v->type == ST_JSON_OBJECT) {
                dump_string(t, v->keys[i], strlen(v->keys[i]));
                put_str(t, ":");
            }
            dump(t, v->items[i]);
        }
        put_str(t, v->type == ST_JSON_ARRAY ? "]" : "}");
        break;
    default: abort();
    }
}

/* The tree written back parses, and writes back the same text again. */
static void check_tree_round_trip(const struct st_json *root)
{
    struct text first = {0}, second = {0};
    dump(&first, root);
    struct st_json *again = st_json_parse(first.data, first.len, NULL);
    if (!again)
        abort();
    dump(&second, again);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        abort();
    st_json_free(again);
    free(first.data);
    free(second.data);
}

/* An error names a place inside the input (or just past its end). */
static void check_error(const struct st_json_error *err, const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (err->line < 1 || (size_t)err->line > lines || err->column < 1 ||
        (size_t)err->column > size + 1)
        abort();
    if (!err->message[0] || !memchr(err->message, '\0', sizeof err->message))
        abort();
}

/* ------------------------------------------- the report, written back */

/* The writers take an fd (they are write(2)-only): one memfd, reused. */
static int memfd(void)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz_report", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    return fd;
}

static void write_json(const struct st_report *r, struct text *t)
{
    int fd = memfd();
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    struct st_out *o = malloc(sizeof *o);
    if (!o)
        abort();
    st_out_init(o, fd);
    st_report_write_json(r, o);
    st_out_flush(o);
    if (o->error)
        abort();
    free(o);
    off_t size = lseek(fd, 0, SEEK_CUR);
    t->len = 0;
    put(t, "", 0);
    char chunk[4096];
    for (off_t at = 0; at < size;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, at);
        if (n <= 0)
            abort();
        put(t, chunk, (size_t)n);
        at += n;
    }
}

/* What `strays report` prints; the output is not checked, the run is. */
static void write_text(const struct st_report *r)
{
    static int null_fd = -1;
    if (null_fd < 0)
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct st_out *o = malloc(sizeof *o);
    if (null_fd < 0 || !o)
        abort();
    st_out_init(o, null_fd);
    st_report_write_text(r, o);
    st_report_write_summary(r, o);
    st_out_flush(o);
    free(o);
}

/* Parses and loads text; 0 or the loader's error. */
static int load(struct st_report *r, const char *text, size_t len)
{
    struct st_json *root = st_json_parse(text, len, NULL);
    if (!root)
        abort();
    char why[400];
    int rc = st_report_from_json(r, root, why, sizeof why);
    st_json_free(root);
    return rc;
}

static void check_report_round_trip(const struct st_report *r)
{
    struct text first = {0}, second = {0};
    write_json(r, &first);
    struct st_report again;
    if (load(&again, first.data, first.len) != 0)
        abort();
    write_json(&again, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        abort();
    st_report_free(&again);
    free(first.data);
    free(second.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_json_error err;
    struct st_json *root = st_json_parse((const char *)data, size, &err);
    if (!root) {
        check_error(&err, data, size);
        return 0;
    }
    check_tree_round_trip(root);

    struct st_report r;
    char why[400] = "";
    int rc = st_report_from_json(&r, root, why, sizeof why);
    st_json_free(root);
    if (rc != 0) {
        if (!why[0])
            abort();
        st_report_free(&r);
        return 0;
    }
    check_report_round_trip(&r);
    write_text(&r);
    st_report_free(&r);
    return 0;
}
