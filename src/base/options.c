/* Parsing of STRAYS_OPTIONS, driven by options.def. Syntax as in the
 * sanitizers: pairs separated by ':', ',' or white space; a value may be
 * quoted with ' or " to hold those characters (log_path="/tmp/a:b"). */
#define _GNU_SOURCE /* sigabbrev_np */
#include "base/options.h"

#include "base/st.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/sys.h"
#include "base/text.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default paths: every process reads them (ST_EVERY_PROCESS_DATA). */
const char st_opt_stderr[] ST_EVERY_PROCESS_DATA = "stderr";
const char st_opt_stdout[] ST_EVERY_PROCESS_DATA = "stdout";
const char st_opt_none[] ST_EVERY_PROCESS_DATA = "";

/* Paths read as empty until the defaults are set, as the zeroed arrays they
 * once were did (a hook may ask before strays has started). */
struct st_options st_opt = {.log_path = st_opt_none, .metrics_path = st_opt_none,
                            .profile_path = st_opt_none, .suppressions = st_opt_none};

/* Each parser returns NULL on success or what the value should have been. */
ST_EVERY_REPORT
static const char *parse_bool(const char *v, bool *out)
{
    if (st_text_eq(v, "1") || st_text_eq(v, "true") || st_text_eq(v, "yes")) {
        *out = true;
        return NULL;
    }
    if (st_text_eq(v, "0") || st_text_eq(v, "false") || st_text_eq(v, "no")) {
        *out = false;
        return NULL;
    }
    return "expected 0 or 1";
}

/* Plain decimal digits (at most 18, so no overflow) and where they end:
 * what strtol, strtoull and strtod make of such a prefix, without them.
 * Every default and most values are written so; these parsers then touch
 * no code or locale table of libc's number parsers, pages a process under
 * strays would otherwise fault in at start only for this. false: leave it
 * to them (a sign, a space, hex, a fraction, an exponent, many digits). */
ST_EVERY_REPORT
static bool plain_digits(const char *v, unsigned long long *n, char **end)
{
    size_t i = 0;
    unsigned long long value = 0;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (i == 18)
            return false;
        value = value * 10 + (unsigned)(v[i] - '0');
    }
    char next = v[i];
    if (i == 0 || next == '.' || next == 'e' || next == 'E' || next == 'x' || next == 'X' ||
        next == 'p' || next == 'P')
        return false;
    *n = value;
    *end = (char *)(v + i);
    return true;
}

ST_EVERY_REPORT
static long to_long(const char *v, char **end)
{
    unsigned long long n;
    if (plain_digits(v, &n, end))
        return (long)n;
    if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z')) {
        *end = (char *)v; /* no number at all ("SIGUSR1"), as strtol would find */
        return 0;
    }
    return strtol(v, end, 10);
}

ST_EVERY_REPORT
static const char *parse_int_range(const char *v, int min, int max, int *out,
                                   const char *expected)
{
    char *end;
    errno = 0;
    long n = to_long(v, &end);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
        return expected;
    *out = (int)n;
    return NULL;
}

ST_EVERY_REPORT
static const char *parse_format(const char *v, enum st_format *out)
{
    if (st_text_eq(v, "text"))
        *out = ST_FORMAT_TEXT;
    else if (st_text_eq(v, "json"))
        *out = ST_FORMAT_JSON;
    else
        return "expected text or json";
    return NULL;
}

/* Every path value given, once each (a process sees one or two: its
 * environment's, a CLI's -o), for the life of the process. Out of the way
 * of the start page: only a process given a path touches it. Options are
 * parsed by one thread at a time (strays' start, a CLI). */
static char path_store[16384] ST_LARGE_BSS;
static size_t path_store_used;

/* v's lasting copy, or NULL when the store is full. */
ST_EVERY_REPORT
static const char *keep_path(const char *v)
{
    static const char *const literals[] = {st_opt_none, st_opt_stderr, st_opt_stdout};
    for (size_t i = 0; i < ST_ARRAY_LEN(literals); i++)
        if (st_text_eq(v, literals[i]))
            return literals[i];
    for (size_t at = 0; at < path_store_used; at += st_text_len(path_store + at) + 1)
        if (st_text_eq(path_store + at, v))
            return path_store + at;
    size_t len = st_text_len(v) + 1;
    if (path_store_used + len > sizeof path_store)
        return NULL;
    char *kept = memcpy(path_store + path_store_used, v, len);
    path_store_used += len;
    return kept;
}

ST_EVERY_REPORT
static const char *set_path(const char *v, st_opt_path_t *out)
{
    if (st_text_len(v) >= ST_OPT_PATH_MAX)
        return "expected a shorter path";
    const char *kept = keep_path(v);
    if (!kept)
        return "too many different paths given to options (16 KiB of them)";
    *out = kept;
    return NULL;
}

ST_EVERY_REPORT
static const char *parse_path(const char *v, st_opt_path_t *out)
{
    if (*v == '\0')
        return "expected stderr, stdout or a path prefix";
    return set_path(v, out);
}

ST_EVERY_REPORT
static const char *parse_exitcode(const char *v, int *out)
{
    return parse_int_range(v, 0, 255, out, "expected a number from 0 to 255");
}

ST_EVERY_REPORT
static const char *parse_depth(const char *v, int *out)
{
    return parse_int_range(v, 1, 128, out, "expected a number from 1 to 128");
}

ST_EVERY_REPORT
static const char *parse_verbosity(const char *v, int *out)
{
    return parse_int_range(v, 0, 2, out, "expected 0, 1 or 2");
}

ST_EVERY_REPORT
static const char *parse_percent(const char *v, int *out)
{
    return parse_int_range(v, 0, 100, out, "expected a percentage from 0 to 100");
}

ST_EVERY_REPORT
static const char *parse_track(const char *v, unsigned *out)
{
    static const char *const names[] = {"threads", "timers", "fds"};
    unsigned bits = 0;
    for (const char *p = v; *p;) {
        size_t len = 0;
        while (p[len] && p[len] != ',') /* strcspn, by hand: see plain_digits */
            len++;
        unsigned i = 0;
        while (i < 3 && (st_text_len(names[i]) != len || !st_text_starts(p, names[i])))
            i++;
        if (i == 3)
            return "expected threads, timers and/or fds, separated by commas";
        bits |= 1u << i;
        /* len stopped at ',' or the NUL: p[len] is in the string. */
        // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
        p += len + (p[len] == ',');
    }
    *out = bits;
    return NULL;
}

/* "500ms", "30s", "10m", "1h", "250us", "100ns"; a bare number is seconds. */
ST_EVERY_REPORT
static const char *parse_duration(const char *v, uint64_t *out)
{
    static const struct {
        char unit[3]; /* characters, not a relocated pointer */
        uint64_t ns;
    } units[] = {{"ns", 1},           {"us", 1000},           {"ms", 1000000},
                 {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull},
                 {"", 1000000000ull}};
    const char *expected = "expected a duration such as 500ms, 30s or 10m";
    char *end;
    errno = 0;
    unsigned long long whole;
    double n = plain_digits(v, &whole, &end) ? (double)whole : strtod(v, &end);
    /* NaN fails both comparisons; converting it, or more nanoseconds than
     * uint64_t holds (584 years), to an integer is undefined behaviour. */
    if (end == v || errno || !(n >= 0 && n <= 1e9) || *v == '-' || *v == '+')
        return expected;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (st_text_eq(end, units[i].unit)) {
            double ns = n * (double)units[i].ns;
            if (ns >= 18446744073709551616.0) /* 2^64 */
                return expected;
            *out = (uint64_t)ns;
            return NULL;
        }
    return expected;
}

/* "64k", "16m", "1g", or bytes; 0: none. */
ST_EVERY_REPORT
static const char *parse_size(const char *v, uint64_t *out)
{
    const char *expected = "expected a size such as 0, 65536, 64k, 16m or 1g";
    char *end;
    errno = 0;
    unsigned long long n;
    if (!plain_digits(v, &n, &end))
        n = strtoull(v, &end, 10);
    if (end == v || errno || *v == '-' || *v == '+')
        return expected;
    unsigned shift = 0;
    if (st_text_eq(end, "k") || st_text_eq(end, "K"))
        shift = 10;
    else if (st_text_eq(end, "m") || st_text_eq(end, "M"))
        shift = 20;
    else if (st_text_eq(end, "g") || st_text_eq(end, "G"))
        shift = 30;
    else if (*end)
        return expected;
    if (n > (UINT64_MAX >> shift))
        return expected;
    *out = (uint64_t)n << shift;
    return NULL;
}

/* RTMIN, RTMIN+N, RTMAX, RTMAX-N (the SIG already gone); 0 when name is
 * none of those or out of range. N is checked before it is added: RTMIN+<huge>
 * must not overflow. */
static int realtime_signal(const char *name)
{
    bool from_min = st_text_starts(name, "RTMIN");
    if (!from_min && !st_text_starts(name, "RTMAX"))
        return 0;
    /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Branch): the prefix matched 5 characters */
    if (!name[5])
        return from_min ? SIGRTMIN : SIGRTMAX;
    if (name[5] != (from_min ? '+' : '-') || name[6] < '0' || name[6] > '9')
        return 0;
    char *end;
    errno = 0;
    long n = to_long(name + 6, &end);
    if (errno || *end || n > SIGRTMAX - SIGRTMIN)
        return 0;
    return from_min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
}

/* A signal that glibc or strays uses itself cannot ask for dumps. */
static bool reserved_signal(int sig)
{
    return (sig >= 32 && sig < SIGRTMIN) || sig == st_signal_current_stack() || sig == SIGSEGV ||
           sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT;
}

ST_EVERY_REPORT
static const char *parse_signal(const char *v, int *out)
{
    const char *expected = "expected a signal name such as SIGRTMAX-4, SIGUSR2 or USR2, a number, "
                           "or 0";
    char *end;
    errno = 0;
    long n = to_long(v, &end);
    int sig = 0;
    if (*v && !*end) {
        if (errno || n < 0 || n >= NSIG)
            return expected;
        if (n == 0) {
            *out = 0;
            return NULL;
        }
        sig = (int)n;
    } else {
        const char *name = st_text_starts(v, "SIG") ? v + 3 : v;
        /* RTMIN/RTMAX forms first: the default is one, and glibc names no
         * real-time signal, so the walk over its names would find nothing. */
        sig = realtime_signal(name);
        for (int s = 1; s < NSIG && !sig; s++) {
            const char *abbrev = sigabbrev_np(s);
            if (abbrev && !strcmp(abbrev, name))
                sig = s;
        }
    }
    if (!sig || sig == SIGKILL || sig == SIGSTOP)
        return expected;
    if (reserved_signal(sig))
        return "glibc or strays itself uses that signal (32 and 33, SIGRTMAX-3, the crash "
               "signals SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT); choose another, such as "
               "SIGRTMAX-4 or SIGUSR2";
    *out = sig;
    return NULL;
}

ST_EVERY_REPORT
static const char *parse_path_or_none(const char *v, st_opt_path_t *out)
{
    return set_path(v, out);
}

ST_EVERY_REPORT
static const char *parse_mode(const char *v, unsigned *out)
{
    unsigned long n = 0;
    const char *end = v;
    for (; *end >= '0' && *end <= '7' && n <= 0777; end++) /* strtoul's base 8, by hand */
        n = n * 8 + (unsigned long)(*end - '0');
    if (*v < '0' || *v > '7' || *end != '\0' || n > 0777)
        return "expected permissions in octal, from 0 to 0777, such as 0600 or 0644";
    *out = (unsigned)n;
    return NULL;
}

ST_EVERY_REPORT
static const char *parse_report_when(const char *v, enum st_report_when *out)
{
    if (st_text_eq(v, "always"))
        *out = ST_REPORT_ALWAYS;
    else if (st_text_eq(v, "failure"))
        *out = ST_REPORT_FAILURE;
    else
        return "expected always or failure";
    return NULL;
}

static const char *const exitcode_for_names[] = {"root", "every", "run"};

ST_EVERY_REPORT
static const char *parse_exitcode_for(const char *v, enum st_exitcode_for *out)
{
    for (size_t i = 0; i < sizeof exitcode_for_names / sizeof exitcode_for_names[0]; i++)
        if (st_text_eq(v, exitcode_for_names[i])) {
            *out = (enum st_exitcode_for)i;
            return NULL;
        }
    return "expected root, every or run";
}

/* A list option's value goes on over commas ("track=threads,fds"). */
ST_EVERY_REPORT
static bool is_list_option(const char *key) { return st_text_eq(key, "track"); }

/* Each formatter writes a value back as the parser reads it, for messages. */
static void format_bool(const bool *v, char *buf, size_t len) { snprintf(buf, len, "%d", *v); }
static void format_int(const int *v, char *buf, size_t len) { snprintf(buf, len, "%d", *v); }
#define format_exitcode format_int
#define format_depth format_int
#define format_verbosity format_int
#define format_percent format_int
static void format_format(const enum st_format *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", *v == ST_FORMAT_JSON ? "json" : "text");
}
static void format_path(const st_opt_path_t *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", *v);
}
static void format_duration(const uint64_t *v, char *buf, size_t len)
{
    if (*v % 1000000000ull == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(*v / 1000000000ull));
    else
        snprintf(buf, len, "%llums", (unsigned long long)(*v / 1000000ull));
}

static void format_size(const uint64_t *v, char *buf, size_t len)
{
    snprintf(buf, len, "%llu", (unsigned long long)*v);
}

static void format_signal(const int *v, char *buf, size_t len) { st_signal_format(*v, buf, len); }
#define format_path_or_none format_path
static void format_mode(const unsigned *v, char *buf, size_t len) { snprintf(buf, len, "0%03o", *v); }
static void format_report_when(const enum st_report_when *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", *v == ST_REPORT_FAILURE ? "failure" : "always");
}

static void format_exitcode_for(const enum st_exitcode_for *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", exitcode_for_names[*v]);
}

static void format_track(const unsigned *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", *v & ST_TRACK_THREADS ? "threads" : "",
             (*v & ST_TRACK_THREADS) && (*v & 6) ? "," : "", *v & ST_TRACK_TIMERS ? "timers" : "",
             (*v & ST_TRACK_TIMERS) && (*v & ST_TRACK_FDS) ? "," : "",
             *v & ST_TRACK_FDS ? "fds" : "");
}

/* Sets option `key` from `value`; returns NULL or an error message. */
ST_EVERY_REPORT
static const char *set_option(struct st_options *o, const char *key, const char *value,
                              char *msg, size_t msg_len)
{
#define ST_OPT(type, name, def, def_value, help)                                             \
    if (st_text_eq(key, #name)) {                                                          \
        const char *why = parse_##type(value, &o->name);                                   \
        if (!why)                                                                          \
            return NULL;                                                                   \
        char kept[600];                                                                    \
        format_##type(&o->name, kept, sizeof kept);                                        \
        snprintf(msg, msg_len, "bad value '%s' for option %s: %s; keeping %s", value, key, \
                 why, kept);                                                               \
        return msg;                                                                        \
    }
#include "base/options.def"
#undef ST_OPT
    snprintf(msg, msg_len, "unknown option '%s' (STRAYS_OPTIONS=help=1 lists them)", key);
    return msg;
}

ST_EVERY_PROCESS
void st_options_defaults(struct st_options *o)
{
    memset(o, 0, sizeof *o);
#define ST_OPT(type, name, def, value, help) o->name = (value);
#include "base/options.def"
#undef ST_OPT
}

ST_EVERY_REPORT
static bool is_separator(char c) { return c == ':' || c == ',' || c == ' ' || c == '\t' || c == '\n'; }

/* Copies one token (up to a separator or '='), honouring quotes, into buf.
 * Returns the position after it, or NULL if a quote is not closed. */
ST_EVERY_REPORT
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

ST_EVERY_REPORT
int st_options_parse(struct st_options *o, const char *text, st_option_error_fn err, void *ctx)
{
    char key[64], value[1024], msg[2200];
    int bad = 0;
    const char *p = text ? text : "";
    while (*p) {
        if (is_separator(*p)) {
            p++;
            continue;
        }
        p = read_token(p, key, sizeof key, true);
        if (p && *p == '=') {
            p = read_token(p + 1, value, sizeof value, false);
            /* In a list, a comma followed by a word with no '=' continues it. */
            while (p && *p == ',' && is_list_option(key) && p[1] && !is_separator(p[1]) &&
                   strcspn(p + 1, "=:, \t\n") == strcspn(p + 1, ":, \t\n")) {
                size_t used = strlen(value);
                if (used + 1 < sizeof value)
                    value[used++] = ',';
                p = read_token(p + 1, value + used, sizeof value - used, false);
            }
        }
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
#define ST_OPT(type, name, def, def_value, help)                                             \
    n = snprintf(line, sizeof line, "  %-12s default %-18s %s\n", #name, def, help);      \
    st_sys_write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
#include "base/options.def"
#undef ST_OPT
}

static void log_option_error(void *ctx, const char *message)
{
    (void)ctx;
    st_logf("%s", message);
}

ST_HOT_DATA static bool initialised;

/* st_opt holds the defaults before st_options_init runs (the core linked
 * into a program, or a hook asking before strays is ready). A hook in
 * another library's constructor may have initialised strays already. */
__attribute__((constructor)) static void options_defaults_at_load(void)
{
    if (!__atomic_load_n(&initialised, __ATOMIC_ACQUIRE))
        st_options_defaults(&st_opt);
}

ST_EVERY_PROCESS
void st_options_init_from(const char *text)
{
    __atomic_store_n(&initialised, true, __ATOMIC_RELEASE);
    st_options_defaults(&st_opt);
    if (text) /* the parser's code lies with the report's (ST_EVERY_REPORT) */
        st_options_parse(&st_opt, text, log_option_error, NULL);
    if (st_opt.help)
        st_options_print_help(st_log_fd() >= 0 ? st_log_fd() : 2);
}

/* getenv by hand: libc's would fault in a page of libc's code that a small
 * program never touches (sys.h says what that costs). */
ST_EVERY_PROCESS
static const char *options_from_environment(void)
{
    static const char name[] ST_EVERY_PROCESS_DATA = "STRAYS_OPTIONS=";
    for (char **e = environ; e && *e; e++)
        if (st_text_starts(*e, name))
            return *e + sizeof name - 1;
    return NULL;
}

ST_EVERY_PROCESS
void st_options_init(void) { st_options_init_from(options_from_environment()); }
