/* Unit tests for the strict JSON reader (src/json.c): values read back
 * exactly, and every rejection names the problem at the right line and
 * column, since that is what a user of a corrupt report file sees. */
#include <criterion/criterion.h>

#include "report/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses from an exact-size heap copy without a terminator, so the
 * sanitizers flag any read at or past text + len. */
static struct st_json *parse_n(const char *s, size_t n, struct st_json_error *err)
{
    char *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, s, n);
    struct st_json *v = st_json_parse(copy, n, err);
    free(copy);
    return v;
}

static struct st_json *parse_ok_n(const char *s, size_t n)
{
    struct st_json_error err;
    struct st_json *v = parse_n(s, n, &err);
    cr_assert_not_null(v, "parse failed at %d:%d: %s", err.line, err.column, err.message);
    return v;
}

static void expect_error_n(const char *s, size_t n, int line, int column, const char *message)
{
    struct st_json_error err;
    struct st_json *v = parse_n(s, n, &err);
    if (v)
        st_json_free(v);
    cr_assert_null(v, "input was accepted");
    cr_assert_str_eq(err.message, message);
    cr_assert_eq(err.line, line, "line %d, want %d (%s)", err.line, line, err.message);
    cr_assert_eq(err.column, column, "column %d, want %d (%s)", err.column, column, err.message);
}

/* Literals only: sizeof keeps embedded NUL bytes in the input. */
#define PARSE_OK(lit) parse_ok_n(lit, sizeof(lit) - 1)
#define EXPECT_ERROR(lit, line, column, message)                                                   \
    expect_error_n(lit, sizeof(lit) - 1, line, column, message)

static char *nested_arrays(size_t depth)
{
    char *s = malloc(2 * depth);
    cr_assert_not_null(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    return s;
}

static void expect_string(const char *json, size_t json_len, const char *bytes, size_t len)
{
    struct st_json *v = parse_ok_n(json, json_len);
    cr_assert_eq(v->type, ST_JSON_STRING);
    cr_assert_eq(v->length, len, "length %zu, want %zu", v->length, len);
    cr_assert_eq(memcmp(v->string, bytes, len), 0);
    cr_assert_eq(v->string[len], '\0');
    st_json_free(v);
}

#define EXPECT_STRING(lit, bytes) expect_string(lit, sizeof(lit) - 1, bytes, sizeof(bytes) - 1)

/* --- scalars --- */

Test(json, true_false_and_null_parse_to_their_types)
{
    struct st_json *t = PARSE_OK("true"), *f = PARSE_OK(" false "), *n = PARSE_OK("\n null\t");
    cr_assert_eq(t->type, ST_JSON_BOOL);
    cr_assert_eq(t->boolean, true);
    cr_assert_eq(f->type, ST_JSON_BOOL);
    cr_assert_eq(f->boolean, false);
    cr_assert_eq(n->type, ST_JSON_NULL);
    st_json_free(t);
    st_json_free(f);
    st_json_free(n);
}

Test(json, top_level_string_keeps_bytes_and_length)
{
    EXPECT_STRING("\"hello world\"", "hello world");
    EXPECT_STRING("\"\"", "");
}

Test(json, small_integer_is_integer)
{
    struct st_json *v = PARSE_OK("42");
    cr_assert_eq(v->type, ST_JSON_NUMBER);
    cr_assert_eq(v->is_integer, true);
    cr_assert_eq(v->integer, 42);
    cr_assert_eq(v->number, 42.0);
    st_json_free(v);
}

Test(json, negative_integer_and_negative_zero_are_integers)
{
    struct st_json *v = PARSE_OK("-17"), *z = PARSE_OK("-0");
    cr_assert_eq(v->is_integer, true);
    cr_assert_eq(v->integer, -17);
    cr_assert_eq(z->is_integer, true);
    cr_assert_eq(z->integer, 0);
    cr_assert_eq(z->number, 0.0);
    st_json_free(v);
    st_json_free(z);
}

Test(json, fraction_or_exponent_makes_a_float)
{
    const char *inputs[] = {"1.0", "1e2", "1E2", "2.5e-1", "-3.25", "0.5", "1e+2"};
    const double want[] = {1.0, 100.0, 100.0, 0.25, -3.25, 0.5, 100.0};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct st_json *v = parse_ok_n(inputs[i], strlen(inputs[i]));
        cr_assert_eq(v->type, ST_JSON_NUMBER);
        cr_assert_eq(v->is_integer, false, "%s parsed as integer", inputs[i]);
        cr_assert_eq(v->integer, 0);
        cr_assert_eq(v->number, want[i], "%s -> %g", inputs[i], v->number);
        st_json_free(v);
    }
}

Test(json, int64_max_and_min_are_integers)
{
    struct st_json *max = PARSE_OK("9223372036854775807");
    struct st_json *min = PARSE_OK("-9223372036854775808");
    cr_assert_eq(max->is_integer, true);
    cr_assert_eq(max->integer, INT64_MAX);
    cr_assert_eq(min->is_integer, true);
    cr_assert_eq(min->integer, INT64_MIN);
    st_json_free(max);
    st_json_free(min);
}

Test(json, integers_beyond_int64_are_numbers_but_not_integers)
{
    struct st_json *over = PARSE_OK("9223372036854775808");
    struct st_json *under = PARSE_OK("-9223372036854775809");
    struct st_json *huge = PARSE_OK("123456789012345678901234567890");
    cr_assert_eq(over->type, ST_JSON_NUMBER);
    cr_assert_eq(over->is_integer, false);
    cr_assert_eq(over->number, 9223372036854775808.0);
    cr_assert_eq(under->is_integer, false);
    cr_assert_eq(under->number, -9223372036854775808.0);
    cr_assert_eq(huge->is_integer, false);
    cr_assert_eq(huge->number, 123456789012345678901234567890.0);
    st_json_free(over);
    st_json_free(under);
    st_json_free(huge);
}

Test(json, underflow_parses_as_zero)
{
    struct st_json *v = PARSE_OK("1e-400");
    cr_assert_eq(v->is_integer, false);
    cr_assert_eq(v->number, 0.0);
    st_json_free(v);
}

Test(json, overflow_to_infinity_is_rejected)
{
    EXPECT_ERROR("1e400", 1, 1, "number out of range");
    EXPECT_ERROR("[0, -1e999]", 1, 5, "number out of range");
}

Test(json, long_number_literal_parses)
{
    /* Longer than the parser's on-stack copy, so it takes the heap path. */
    char s[300];
    memset(s, '0', sizeof s);
    s[0] = '1';
    s[1] = '.';
    struct st_json *v = parse_ok_n(s, sizeof s);
    cr_assert_eq(v->number, 1.0);
    cr_assert_eq(v->is_integer, false);
    st_json_free(v);
}

/* --- strings --- */

Test(json, simple_escapes_decode)
{
    EXPECT_STRING("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
}

Test(json, unicode_escapes_decode_to_utf8)
{
    EXPECT_STRING("\"\\u0041\"", "A");
    EXPECT_STRING("\"\\u00e9\"", "\xC3\xA9");
    EXPECT_STRING("\"\\u20AC\"", "\xE2\x82\xAC");
    EXPECT_STRING("\"\\uFFFF\"", "\xEF\xBF\xBF");
    EXPECT_STRING("\"\\u0001\"", "\x01");
}

Test(json, surrogate_pair_decodes_to_one_code_point)
{
    EXPECT_STRING("\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80");
    EXPECT_STRING("\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF");
    EXPECT_STRING("\"a\\uD800\\uDC00b\"", "a\xF0\x90\x80\x80" "b");
}

Test(json, raw_utf8_passes_through)
{
    EXPECT_STRING("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    EXPECT_STRING("\"\xF4\x8F\xBF\xBF\x7F\"", "\xF4\x8F\xBF\xBF\x7F");
}

Test(json, long_string_is_read_whole)
{
    size_t n = 100000;
    char *s = malloc(n + 2);
    cr_assert_not_null(s);
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        s[i + 1] = (char)('a' + i % 26);
    s[n + 1] = '"';
    struct st_json *v = parse_ok_n(s, n + 2);
    cr_assert_eq(v->length, n);
    cr_assert_eq(memcmp(v->string, s + 1, n), 0);
    cr_assert_eq(v->string[n], '\0');
    st_json_free(v);
    free(s);
}

/* --- containers --- */

Test(json, nested_document_reads_back_exactly)
{
    struct st_json *v = PARSE_OK("{\"name\": \"strays\", \"list\": [1, [2.5, {\"k\": null}], \"s\"],\n"
                                 " \"empty\": {}, \"none\": [], \"ok\": true}");
    cr_assert_eq(v->type, ST_JSON_OBJECT);
    cr_assert_eq(v->length, 5);
    cr_assert_str_eq(v->keys[0], "name");
    cr_assert_str_eq(v->keys[4], "ok");

    const char *name;
    cr_assert(st_json_as_string(st_json_get(v, "name"), &name));
    cr_assert_str_eq(name, "strays");

    const struct st_json *list = st_json_get(v, "list");
    cr_assert_eq(list->type, ST_JSON_ARRAY);
    cr_assert_eq(list->length, 3);
    int64_t one;
    cr_assert(st_json_as_int(list->items[0], &one));
    cr_assert_eq(one, 1);
    const struct st_json *inner = list->items[1];
    cr_assert_eq(inner->type, ST_JSON_ARRAY);
    cr_assert_eq(inner->length, 2);
    cr_assert_eq(inner->items[0]->number, 2.5);
    cr_assert_eq(inner->items[1]->type, ST_JSON_OBJECT);
    cr_assert_eq(st_json_get(inner->items[1], "k")->type, ST_JSON_NULL);
    cr_assert_str_eq(list->items[2]->string, "s");

    cr_assert_eq(st_json_get(v, "empty")->type, ST_JSON_OBJECT);
    cr_assert_eq(st_json_get(v, "empty")->length, 0);
    cr_assert_eq(st_json_get(v, "none")->type, ST_JSON_ARRAY);
    cr_assert_eq(st_json_get(v, "none")->length, 0);
    bool ok = false;
    cr_assert(st_json_as_bool(st_json_get(v, "ok"), &ok));
    cr_assert_eq(ok, true);
    st_json_free(v);
}

Test(json, empty_containers_with_inner_white_space)
{
    struct st_json *a = PARSE_OK("[ \n ]"), *o = PARSE_OK("{\r\n\t}");
    cr_assert_eq(a->type, ST_JSON_ARRAY);
    cr_assert_eq(a->length, 0);
    cr_assert_eq(o->type, ST_JSON_OBJECT);
    cr_assert_eq(o->length, 0);
    st_json_free(a);
    st_json_free(o);
}

Test(json, large_array_keeps_every_element_in_order)
{
    size_t n = 50000, cap = n * 8 + 2, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    s[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, i ? ",%zu" : "%zu", i);
    s[len++] = ']';
    struct st_json *v = parse_ok_n(s, len);
    cr_assert_eq(v->length, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(v->items[i]->integer, (int64_t)i);
    st_json_free(v);
    free(s);
}

Test(json, duplicate_keys_are_kept_and_get_returns_the_first)
{
    struct st_json *v = PARSE_OK("{\"a\": 1, \"b\": 2, \"a\": 3}");
    cr_assert_eq(v->length, 3);
    cr_assert_str_eq(v->keys[2], "a");
    cr_assert_eq(v->items[2]->integer, 3);
    int64_t a = 0;
    cr_assert(st_json_as_int(st_json_get(v, "a"), &a));
    cr_assert_eq(a, 1);
    st_json_free(v);
}

Test(json, keys_with_escapes_are_decoded)
{
    struct st_json *v = PARSE_OK("{\"caf\\u00e9\": 1, \"\": 2}");
    cr_assert_not_null(st_json_get(v, "caf\xC3\xA9"));
    cr_assert_eq(st_json_get(v, "")->integer, 2);
    st_json_free(v);
}

Test(json, depth_64_is_accepted)
{
    char *s = nested_arrays(64);
    struct st_json *v = parse_ok_n(s, 128);
    const struct st_json *cur = v;
    for (int i = 1; i < 64; i++) {
        cr_assert_eq(cur->type, ST_JSON_ARRAY);
        cr_assert_eq(cur->length, 1);
        cur = cur->items[0];
    }
    cr_assert_eq(cur->type, ST_JSON_ARRAY);
    cr_assert_eq(cur->length, 0);
    st_json_free(v);
    free(s);
}

Test(json, depth_65_is_rejected_at_the_65th_bracket)
{
    char *s = nested_arrays(65);
    expect_error_n(s, 130, 1, 65, "nesting deeper than 64 levels");
    free(s);
}

Test(json, very_deep_nesting_is_rejected_without_crashing)
{
    char *s = nested_arrays(1000000);
    expect_error_n(s, 2000000, 1, 65, "nesting deeper than 64 levels");
    expect_error_n(s, 1000000, 1, 65, "nesting deeper than 64 levels");
    free(s);
}

Test(json, object_nesting_counts_towards_the_limit)
{
    char s[65 * 5 + 65 + 1];
    size_t len = 0;
    for (int i = 0; i < 65; i++)
        len += (size_t)sprintf(s + len, "{\"a\":");
    s[len++] = '1';
    memset(s + len, '}', 65);
    len += 65;
    expect_error_n(s, len, 1, 321, "nesting deeper than 64 levels");
    /* One level fewer is fine: drop the outermost `{"a":` and `}`. */
    struct st_json *v = parse_ok_n(s + 5, len - 6);
    st_json_free(v);
}

/* --- accessors --- */

Test(json, accessors_reject_null_and_wrong_types)
{
    struct st_json *v = PARSE_OK("{\"s\": \"x\", \"f\": 1.5, \"b\": false, \"n\": null, \"big\": 1e19}");
    int64_t i = 7;
    const char *str = "untouched";
    bool b = true;
    cr_assert_not(st_json_as_int(NULL, &i));
    cr_assert_not(st_json_as_string(NULL, &str));
    cr_assert_not(st_json_as_bool(NULL, &b));
    cr_assert_not(st_json_as_int(st_json_get(v, "s"), &i));
    cr_assert_not(st_json_as_int(st_json_get(v, "f"), &i));
    cr_assert_not(st_json_as_int(st_json_get(v, "big"), &i));
    cr_assert_not(st_json_as_string(st_json_get(v, "f"), &str));
    cr_assert_not(st_json_as_string(st_json_get(v, "n"), &str));
    cr_assert_not(st_json_as_bool(st_json_get(v, "n"), &b));
    cr_assert_not(st_json_as_bool(st_json_get(v, "s"), &b));
    cr_assert_eq(i, 7);
    cr_assert_str_eq(str, "untouched");
    cr_assert_eq(b, true);
    cr_assert(st_json_as_bool(st_json_get(v, "b"), &b));
    cr_assert_eq(b, false);
    st_json_free(v);
}

Test(json, get_on_non_objects_and_missing_keys_returns_null)
{
    struct st_json *arr = PARSE_OK("[\"a\"]"), *obj = PARSE_OK("{\"a\": 1}");
    cr_assert_null(st_json_get(NULL, "a"));
    cr_assert_null(st_json_get(arr, "a"));
    cr_assert_null(st_json_get(obj, "b"));
    cr_assert_null(st_json_get(obj, "A"));
    cr_assert_null(st_json_get(obj, ""));
    st_json_free(arr);
    st_json_free(obj);
}

Test(json, free_accepts_null)
{
    st_json_free(NULL);
}

Test(json, parse_reads_only_len_bytes)
{
    struct st_json *v = st_json_parse("[1]garbage", 3, NULL);
    cr_assert_not_null(v);
    cr_assert_eq(v->length, 1);
    st_json_free(v);
}

Test(json, null_error_pointer_is_allowed)
{
    cr_assert_null(st_json_parse("[1,", 3, NULL));
    cr_assert_null(st_json_parse(NULL, 0, NULL));
}

/* --- errors: truncation --- */

Test(json, empty_input_is_an_error)
{
    EXPECT_ERROR("", 1, 1, "empty input, expected a JSON value");
    EXPECT_ERROR("  \n  ", 2, 3, "empty input, expected a JSON value");
}

Test(json, truncated_array_reports_end_of_input_position)
{
    EXPECT_ERROR("{\"a\":[1,2", 1, 10,
                 "unexpected end of input, expected ',' or ']' after array element");
    EXPECT_ERROR("[1,", 1, 4, "unexpected end of input, expected a value");
    EXPECT_ERROR("[", 1, 2, "unexpected end of input, expected a value");
}

Test(json, truncated_object_reports_end_of_input_position)
{
    EXPECT_ERROR("{", 1, 2, "unexpected end of input, expected a string key");
    EXPECT_ERROR("{\"a\"", 1, 5, "unexpected end of input, expected ':' after object key");
    EXPECT_ERROR("{\"a\":", 1, 6, "unexpected end of input, expected a value");
    EXPECT_ERROR("{\"a\":1", 1, 7,
                 "unexpected end of input, expected ',' or '}' after object member");
    EXPECT_ERROR("{\"a\":1,\n", 2, 1, "unexpected end of input, expected a string key");
}

Test(json, truncated_string_reports_end_of_input)
{
    EXPECT_ERROR("\"abc", 1, 5, "unexpected end of input inside a string");
    EXPECT_ERROR("[\"a\\", 1, 5, "unexpected end of input inside a string");
    EXPECT_ERROR("\"\\u12", 1, 6, "unexpected end of input inside a string");
    EXPECT_ERROR("\"\\ud83d", 1, 8, "unexpected end of input inside a string");
    EXPECT_ERROR("\"\\ud83d\\", 1, 9, "unexpected end of input inside a string");
    EXPECT_ERROR("\"\\ud83d\\ude", 1, 12, "unexpected end of input inside a string");
    EXPECT_ERROR("\"\xE2\x82", 1, 4, "unexpected end of input inside a string");
}

Test(json, truncated_literals_and_numbers_report_end_of_input)
{
    EXPECT_ERROR("tru", 1, 4, "unexpected end of input inside literal 'true'");
    EXPECT_ERROR("[fals", 1, 6, "unexpected end of input inside literal 'false'");
    EXPECT_ERROR("-", 1, 2, "unexpected end of input, expected a digit");
    EXPECT_ERROR("1.", 1, 3, "unexpected end of input, expected a digit after '.'");
    EXPECT_ERROR("1e", 1, 3, "unexpected end of input, expected a digit in the exponent");
    EXPECT_ERROR("1e-", 1, 4, "unexpected end of input, expected a digit in the exponent");
}

/* --- errors: syntax --- */

Test(json, trailing_commas_are_rejected)
{
    EXPECT_ERROR("[1,2,]", 1, 6, "trailing comma before ']' in array");
    EXPECT_ERROR("{\"a\":1,}", 1, 8, "trailing comma before '}' in object");
    EXPECT_ERROR("[,]", 1, 2, "expected a value, found ','");
    EXPECT_ERROR("[1,,2]", 1, 4, "expected a value, found ','");
}

Test(json, comments_are_rejected)
{
    EXPECT_ERROR("// c\n1", 1, 1, "expected a value, found '/' (comments are not allowed in JSON)");
    EXPECT_ERROR("[1 /* c */]", 1, 4,
                 "expected ',' or ']' after array element, found '/' "
                 "(comments are not allowed in JSON)");
    EXPECT_ERROR("1 # c", 1, 3, "trailing characters after the JSON value: found '#'");
}

Test(json, leading_zeros_are_rejected_at_the_extra_digit)
{
    EXPECT_ERROR("01", 1, 2, "leading zeros are not allowed in numbers");
    EXPECT_ERROR("-01", 1, 3, "leading zeros are not allowed in numbers");
    EXPECT_ERROR("[00]", 1, 3, "leading zeros are not allowed in numbers");
}

Test(json, malformed_numbers_are_rejected)
{
    EXPECT_ERROR("+1", 1, 1, "expected a value, found '+'");
    EXPECT_ERROR(".5", 1, 1, "expected a value, found '.'");
    EXPECT_ERROR("1.e5", 1, 3, "expected a digit after '.', found 'e'");
    EXPECT_ERROR("1e+x", 1, 4, "expected a digit in the exponent, found 'x'");
    EXPECT_ERROR("- 1", 1, 2, "expected a digit, found byte 0x20");
    EXPECT_ERROR("0x10", 1, 2, "trailing characters after the JSON value: found 'x'");
}

Test(json, nan_and_infinity_are_rejected)
{
    EXPECT_ERROR("NaN", 1, 1, "expected a value, found 'N'");
    EXPECT_ERROR("Infinity", 1, 1, "expected a value, found 'I'");
    EXPECT_ERROR("[-Infinity]", 1, 3, "expected a digit, found 'I'");
}

Test(json, misspelled_literals_point_at_the_wrong_byte)
{
    EXPECT_ERROR("nul1", 1, 4, "invalid literal, expected 'null'");
    EXPECT_ERROR("True", 1, 1, "expected a value, found 'T'");
    EXPECT_ERROR("[trve]", 1, 4, "invalid literal, expected 'true'");
}

Test(json, trailing_garbage_is_rejected)
{
    EXPECT_ERROR("1 2", 1, 3, "trailing characters after the JSON value: found '2'");
    EXPECT_ERROR("{} x", 1, 4, "trailing characters after the JSON value: found 'x'");
    EXPECT_ERROR("nullx", 1, 5, "trailing characters after the JSON value: found 'x'");
    EXPECT_ERROR("[1]]", 1, 4, "trailing characters after the JSON value: found ']'");
    EXPECT_ERROR("[1]\n\n  {}", 3, 3, "trailing characters after the JSON value: found '{'");
    EXPECT_ERROR("1\0", 1, 2, "trailing characters after the JSON value: found byte 0x00");
}

Test(json, object_syntax_errors_are_named)
{
    EXPECT_ERROR("{\"a\" 1}", 1, 6, "expected ':' after object key, found '1'");
    EXPECT_ERROR("{1:2}", 1, 2, "expected a string key, found '1'");
    EXPECT_ERROR("{'a':1}", 1, 2,
                 "expected a string key, found a single quote (strings must use double quotes)");
    EXPECT_ERROR("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}' after object member, found '\"'");
    EXPECT_ERROR("[1 2]", 1, 4, "expected ',' or ']' after array element, found '2'");
    EXPECT_ERROR("[1}", 1, 3, "expected ',' or ']' after array element, found '}'");
}

Test(json, non_json_white_space_is_rejected)
{
    EXPECT_ERROR("\f1", 1, 1, "expected a value, found byte 0x0C");
    EXPECT_ERROR("[1,\v2]", 1, 4, "expected a value, found byte 0x0B");
    EXPECT_ERROR("\xC2\xA0" "1", 1, 1, "expected a value, found byte 0xC2");
}

Test(json, line_and_column_follow_newlines)
{
    EXPECT_ERROR("{\n  \"a\": [1,\n   2,,]\n}", 3, 6, "expected a value, found ','");
    EXPECT_ERROR("[\r\n1,\r\n  x]", 3, 3, "expected a value, found 'x'");
    /* A lone CR is white space but not a line break. */
    EXPECT_ERROR("[1,\r\rx]", 1, 6, "expected a value, found 'x'");
}

/* --- errors: strings --- */

Test(json, control_characters_in_strings_are_rejected)
{
    EXPECT_ERROR("\"a\tb\"", 1, 3, "control character 0x09 in string (must be escaped)");
    EXPECT_ERROR("[\"line\nbreak\"]", 1, 7, "control character 0x0A in string (must be escaped)");
    EXPECT_ERROR("\"a\0b\"", 1, 3, "control character 0x00 in string (must be escaped)");
    EXPECT_ERROR("\"\x1F\"", 1, 2, "control character 0x1F in string (must be escaped)");
}

Test(json, invalid_escapes_point_at_the_escape_character)
{
    EXPECT_ERROR("\"\\x41\"", 1, 3, "invalid escape: backslash followed by 'x'");
    EXPECT_ERROR("\"\\U0041\"", 1, 3, "invalid escape: backslash followed by 'U'");
    EXPECT_ERROR("\"\\'\"", 1, 3,
                 "invalid escape: backslash followed by a single quote "
                 "(strings must use double quotes)");
    EXPECT_ERROR("\"ab\\\n\"", 1, 5, "invalid escape: backslash followed by byte 0x0A");
}

Test(json, bad_hex_digit_in_unicode_escape_is_rejected)
{
    EXPECT_ERROR("\"\\u12G4\"", 1, 6, "invalid hex digit in \\u escape");
    EXPECT_ERROR("\"\\u\"", 1, 4, "invalid hex digit in \\u escape");
    EXPECT_ERROR("\"\\ud83d\\uzzzz\"", 1, 10, "invalid hex digit in \\u escape");
}

Test(json, lone_surrogates_are_rejected_at_their_escape)
{
    EXPECT_ERROR("\"\\ud83d\"", 1, 2, "high surrogate \\uD83D not followed by a low surrogate");
    EXPECT_ERROR("\"x\\ud83dy\"", 1, 3, "high surrogate \\uD83D not followed by a low surrogate");
    EXPECT_ERROR("\"\\ud83d\\u0041\"", 1, 2,
                 "high surrogate \\uD83D not followed by a low surrogate");
    EXPECT_ERROR("\"\\ud83d\\ud83d\"", 1, 2,
                 "high surrogate \\uD83D not followed by a low surrogate");
    EXPECT_ERROR("\"\\ude00\"", 1, 2, "unpaired low surrogate \\uDE00 in string");
    EXPECT_ERROR("\"ab\\uDFFF\\ud83d\"", 1, 4, "unpaired low surrogate \\uDFFF in string");
}

Test(json, escaped_nul_is_rejected)
{
    EXPECT_ERROR("\"a\\u0000b\"", 1, 3, "\\u0000 is not allowed in strings");
    EXPECT_ERROR("{\"\\u0000\": 1}", 1, 3, "\\u0000 is not allowed in strings");
}

Test(json, invalid_utf8_is_rejected_at_the_sequence_start)
{
    EXPECT_ERROR("\"\xFF\"", 1, 2, "invalid UTF-8 byte 0xFF in string");
    EXPECT_ERROR("\"a\x80\"", 1, 3, "invalid UTF-8 byte 0x80 in string");
    EXPECT_ERROR("\"\xF8\x88\x80\x80\x80\"", 1, 2, "invalid UTF-8 byte 0xF8 in string");
    EXPECT_ERROR("\"\xC3(\"", 1, 2, "truncated UTF-8 sequence in string");
    EXPECT_ERROR("\"\xE2\x82\"", 1, 2, "truncated UTF-8 sequence in string");
    EXPECT_ERROR("\"\xF0\x9F\x98\"", 1, 2, "truncated UTF-8 sequence in string");
}

Test(json, overlong_utf8_is_rejected)
{
    EXPECT_ERROR("\"\xC0\x80\"", 1, 2, "overlong UTF-8 encoding in string");
    EXPECT_ERROR("\"\xC1\xBF\"", 1, 2, "overlong UTF-8 encoding in string");
    EXPECT_ERROR("\"\xE0\x80\xAF\"", 1, 2, "overlong UTF-8 encoding in string");
    EXPECT_ERROR("\"\xF0\x8F\xBF\xBF\"", 1, 2, "overlong UTF-8 encoding in string");
}

Test(json, utf8_surrogates_and_beyond_max_are_rejected)
{
    EXPECT_ERROR("\"\xED\xA0\x80\"", 1, 2, "UTF-8 encoded surrogate U+D800 in string");
    EXPECT_ERROR("\"\xED\xBF\xBF\"", 1, 2, "UTF-8 encoded surrogate U+DFFF in string");
    EXPECT_ERROR("\"\xF4\x90\x80\x80\"", 1, 2, "UTF-8 sequence beyond U+10FFFF in string");
    EXPECT_ERROR("\"\xF7\xBF\xBF\xBF\"", 1, 2, "UTF-8 sequence beyond U+10FFFF in string");
}

Test(json, invalid_utf8_in_object_key_is_rejected)
{
    EXPECT_ERROR("{\"ok\": 1, \"k\xFE\": 2}", 1, 13, "invalid UTF-8 byte 0xFE in string");
}

Test(json, error_deep_inside_a_document_frees_everything)
{
    /* Run under ASan or valgrind: the partial tree must be released. */
    EXPECT_ERROR("{\"a\": [\"x\", {\"b\": [1, 2, {\"c\": \"d\"}]}, \"y\"], \"e\": [tru]}", 1, 55,
                 "invalid literal, expected 'true'");
    EXPECT_ERROR("{\"a\": {\"b\": [\"s\", \"t\"]}, \"key\" 1}", 1, 32,
                 "expected ':' after object key, found '1'");
}
