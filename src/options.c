/* Parsing of STRAYS_OPTIONS, driven by options.def. Syntax as in the
 * sanitizers: pairs separated by ':', ',' or white space; a value may be
 * quoted with ' or " to hold those characters (log_path="/tmp/a:b"). */
#include "options.h"

#include "log.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_options st_opt;

/* Each parser returns NULL on success or what the value should have been. */
static const char *parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
        return NULL;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
        return NULL;
    }
    return "expected 0 or 1";
}

static const char *parse_int_range(const char *v, int min, int max, int *out,
                                   const char *expected)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
        return expected;
    *out = (int)n;
    return NULL;
}

static const char *parse_format(const char *v, enum st_format *out)
{
    if (!strcmp(v, "text"))
        *out = ST_FORMAT_TEXT;
    else if (!strcmp(v, "json"))
        *out = ST_FORMAT_JSON;
    else
        return "expected text or json";
    return NULL;
}

static const char *parse_path(const char *v, st_opt_path_t *out)
{
    if (*v == '\0')
        return "expected stderr, stdout or a path prefix";
    if (strlen(v) >= sizeof *out - 64)
        return "expected a shorter path";
    strcpy(*out, v);
    return NULL;
}

static const char *parse_exitcode(const char *v, int *out)
{
    return parse_int_range(v, 0, 255, out, "expected a number from 0 to 255");
}

static const char *parse_depth(const char *v, int *out)
{
    return parse_int_range(v, 1, 128, out, "expected a number from 1 to 128");
}

static const char *parse_verbosity(const char *v, int *out)
{
    return parse_int_range(v, 0, 2, out, "expected 0, 1 or 2");
}

/* Sets option `key` from `value`; returns NULL or an error message. */
static const char *set_option(struct st_options *o, const char *key, const char *value,
                              char *msg, size_t msg_len)
{
#define ST_OPT(type, name, def, help)                                                      \
    if (!strcmp(key, #name)) {                                                             \
        const char *why = parse_##type(value, &o->name);                                   \
        if (!why)                                                                          \
            return NULL;                                                                   \
        snprintf(msg, msg_len, "bad value '%s' for option %s: %s; keeping %s", value, key, \
                 why, def);                                                                \
        return msg;                                                                        \
    }
#include "options.def"
#undef ST_OPT
    snprintf(msg, msg_len, "unknown option '%s' (STRAYS_OPTIONS=help=1 lists them)", key);
    return msg;
}

void st_options_defaults(struct st_options *o)
{
    memset(o, 0, sizeof *o);
#define ST_OPT(type, name, def, help) (void)parse_##type(def, &o->name);
#include "options.def"
#undef ST_OPT
}

static bool is_separator(char c) { return c == ':' || c == ',' || c == ' ' || c == '\t' || c == '\n'; }

/* Copies one token (up to a separator or '='), honouring quotes, into buf.
 * Returns the position after it, or NULL if a quote is not closed. */
static const char *read_token(const char *p, char *buf, size_t len, bool stop_at_equals)
{
    size_t used = 0;
    char quote = 0;
    for (; *p; p++) {
        if (quote) {
            if (*p == quote) {
                quote = 0;
                continue;
            }
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
            continue;
        } else if (is_separator(*p) || (stop_at_equals && *p == '=')) {
            break;
        }
        if (used + 1 < len)
            buf[used++] = *p;
    }
    buf[used] = '\0';
    return quote ? NULL : p;
}

int st_options_parse(struct st_options *o, const char *text, st_option_error_fn err, void *ctx)
{
    char key[64], value[1024], msg[1400];
    int bad = 0;
    const char *p = text ? text : "";
    while (*p) {
        if (is_separator(*p)) {
            p++;
            continue;
        }
        p = read_token(p, key, sizeof key, true);
        if (p && *p == '=')
            p = read_token(p + 1, value, sizeof value, false);
        else if (p) {
            snprintf(msg, sizeof msg, "option '%s' has no value (expected %s=VALUE)", key, key);
            err(ctx, msg);
            bad++;
            continue;
        }
        if (!p) {
            snprintf(msg, sizeof msg, "unterminated quote in STRAYS_OPTIONS after '%s'", key);
            err(ctx, msg);
            return bad + 1;
        }
        const char *why = set_option(o, key, value, msg, sizeof msg);
        if (why) {
            err(ctx, why);
            bad++;
        }
    }
    return bad;
}

void st_options_print_help(int fd)
{
    char line[1024];
    int n = snprintf(line, sizeof line,
                     "strays options (STRAYS_OPTIONS=\"key=value:key=value\"):\n");
    st_sys_write_all(fd, line, (size_t)n);
#define ST_OPT(type, name, def, help)                                                      \
    n = snprintf(line, sizeof line, "  %-12s default %-7s %s\n", #name, def, help);      \
    st_sys_write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
#include "options.def"
#undef ST_OPT
}

static void log_option_error(void *ctx, const char *message)
{
    (void)ctx;
    st_logf("%s", message);
}

void st_options_init(void)
{
    st_options_defaults(&st_opt);
    st_options_parse(&st_opt, getenv("STRAYS_OPTIONS"), log_option_error, NULL);
    if (st_opt.help)
        st_options_print_help(st_log_fd() >= 0 ? st_log_fd() : 2);
}
