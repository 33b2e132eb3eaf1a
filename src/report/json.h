/* A strict RFC 8259 JSON reader that builds a tree, for the CLI to load
 * report files. Reports may be truncated, corrupt or hostile, so it bounds
 * nesting, runs in linear time and reports errors by line and column. */
#ifndef STRAYS_JSON_H
#define STRAYS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum st_json_type { ST_JSON_NULL, ST_JSON_BOOL, ST_JSON_NUMBER, ST_JSON_STRING, ST_JSON_ARRAY, ST_JSON_OBJECT };

struct st_json {
    enum st_json_type type;
    bool boolean;           /* ST_JSON_BOOL */
    double number;          /* ST_JSON_NUMBER */
    bool is_integer;        /* number had no fraction/exponent and fits int64 */
    int64_t integer;        /* valid when is_integer */
    char *string;           /* ST_JSON_STRING: NUL-terminated UTF-8 (embedded \u0000 is rejected as an error) */
    size_t length;          /* string length in bytes, or item count for arrays/objects */
    struct st_json **items; /* ST_JSON_ARRAY elements, or ST_JSON_OBJECT values */
    char **keys;            /* ST_JSON_OBJECT keys, parallel to items */
};

struct st_json_error {
    int line;          /* 1-based */
    int column;        /* 1-based, in bytes */
    char message[160]; /* e.g. "unexpected end of input inside a string" */
};

/* Parses the whole text (exactly one JSON value, optional surrounding white space).
 * Returns NULL on error and fills *err (err may be NULL). */
struct st_json *st_json_parse(const char *text, size_t len, struct st_json_error *err);
void st_json_free(struct st_json *value);

/* Object member lookup (first match); NULL if obj is not an object or has no such key. */
const struct st_json *st_json_get(const struct st_json *obj, const char *key);
/* Typed accessors: return false (and leave *out untouched) when v is NULL or of another type. */
bool st_json_as_int(const struct st_json *v, int64_t *out); /* only is_integer numbers */
bool st_json_as_string(const struct st_json *v, const char **out);
bool st_json_as_bool(const struct st_json *v, bool *out);

#endif
