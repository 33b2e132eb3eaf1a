/* Unit tests for the STRAYS_OPTIONS parser (src/options.c, options.def):
 * defaults, the ':' ',' and white-space separators, quoted values, the range
 * of every option, the exact one-line message for each bad pair (naming the
 * option, keeping its value), unknown keys, and the help table. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "messages.h"
#include "base/options.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Parses text over the defaults; returns the parser's count of bad pairs,
 * checked against the number of messages. */
static int parse(struct st_options *o, const char *text, struct errors *e)
{
    memset(e, 0, sizeof *e);
    st_options_defaults(o);
    int bad = st_options_parse(o, text, collect, e);
    cr_assert_eq(bad, e->count, "returned %d bad pairs but gave %d messages:\n%s", bad, e->count,
                 e->text);
    return bad;
}

static void expect_defaults(const struct st_options *o)
{
    cr_assert_eq(o->help, false);
    cr_assert_eq(o->format, ST_FORMAT_TEXT);
    cr_assert_str_eq(o->log_path, "stderr");
    cr_assert_eq(o->exitcode, 23);
    cr_assert_eq(o->stack_depth, 32);
    cr_assert_eq(o->symbolize, true);
    cr_assert_eq(o->verbosity, 0);
}

/* One bad pair: exactly one message, exactly this text, option untouched. */
static void expect_one_error(const char *text, const char *message)
{
    struct st_options o;
    struct errors e;
    cr_assert_eq(parse(&o, text, &e), 1, "[%s] gave:\n%s", text, e.text);
    char want[1200];
    snprintf(want, sizeof want, "%s\n", message);
    cr_assert_str_eq(e.text, want, "for [%s]", text);
    expect_defaults(&o);
}

static void expect_clean(struct st_options *o, const char *text)
{
    struct errors e;
    cr_assert_eq(parse(o, text, &e), 0, "[%s] gave:\n%s", text, e.text);
}

/* ---------------------------------------------------------------- defaults */

Test(options, defaults_are_the_documented_ones)
{
    struct st_options o;
    memset(&o, 0x5a, sizeof o);
    st_options_defaults(&o);
    expect_defaults(&o);
}

Test(options, null_and_empty_strings_keep_every_default)
{
    struct st_options o;
    expect_clean(&o, NULL);
    expect_defaults(&o);
    expect_clean(&o, "");
    expect_defaults(&o);
}

Test(options, separators_alone_are_nothing)
{
    struct st_options o;
    expect_clean(&o, ":::,,, \t\n:, ");
    expect_defaults(&o);
}

/* options.h says st_opt holds the defaults until st_options_init runs. */
Test(options, global_holds_defaults_before_init)
{
    expect_defaults(&st_opt);
}

/* -------------------------------------------------------------- separators */

Test(options, colon_separates_pairs)
{
    struct st_options o;
    expect_clean(&o, "exitcode=7:format=json:stack_depth=5");
    cr_assert_eq(o.exitcode, 7);
    cr_assert_eq(o.format, ST_FORMAT_JSON);
    cr_assert_eq(o.stack_depth, 5);
    cr_assert_str_eq(o.log_path, "stderr", "others keep their default");
}

Test(options, comma_separates_pairs)
{
    struct st_options o;
    expect_clean(&o, "exitcode=8,verbosity=2,symbolize=0");
    cr_assert_eq(o.exitcode, 8);
    cr_assert_eq(o.verbosity, 2);
    cr_assert_eq(o.symbolize, false);
}

Test(options, white_space_separates_pairs)
{
    struct st_options o;
    expect_clean(&o, "exitcode=9 log_path=stdout\tstack_depth=64\nverbosity=1");
    cr_assert_eq(o.exitcode, 9);
    cr_assert_str_eq(o.log_path, "stdout");
    cr_assert_eq(o.stack_depth, 64);
    cr_assert_eq(o.verbosity, 1);
}

Test(options, mixed_and_repeated_separators)
{
    struct st_options o;
    expect_clean(&o, "  ,:exitcode=4 ::, format=json,,");
    cr_assert_eq(o.exitcode, 4);
    cr_assert_eq(o.format, ST_FORMAT_JSON);
}

Test(options, trailing_separators_are_ignored)
{
    struct st_options o;
    expect_clean(&o, "exitcode=5:");
    cr_assert_eq(o.exitcode, 5);
    expect_clean(&o, "exitcode=6,");
    cr_assert_eq(o.exitcode, 6);
    expect_clean(&o, "exitcode=7 ");
    cr_assert_eq(o.exitcode, 7);
}

Test(options, later_pair_wins)
{
    struct st_options o;
    expect_clean(&o, "exitcode=1:exitcode=2");
    cr_assert_eq(o.exitcode, 2);
}

Test(options, parse_applies_on_top_of_what_was_there)
{
    struct st_options o;
    struct errors e = {0};
    st_options_defaults(&o);
    cr_assert_eq(st_options_parse(&o, "exitcode=3", collect, &e), 0);
    cr_assert_eq(st_options_parse(&o, "format=json", collect, &e), 0);
    cr_assert_eq(o.exitcode, 3, "a second parse keeps the first's values");
    cr_assert_eq(o.format, ST_FORMAT_JSON);
}

/* ------------------------------------------------------------------ quoting */

Test(options, double_quoted_value_keeps_separators)
{
    struct st_options o;
    expect_clean(&o, "log_path=\"/tmp/a:b,c d\":exitcode=3");
    cr_assert_str_eq(o.log_path, "/tmp/a:b,c d");
    cr_assert_eq(o.exitcode, 3, "the pair after the quoted one still applies");
}

Test(options, single_quoted_value_keeps_separators)
{
    struct st_options o;
    expect_clean(&o, "log_path='/tmp/x y:z' verbosity=2");
    cr_assert_str_eq(o.log_path, "/tmp/x y:z");
    cr_assert_eq(o.verbosity, 2);
}

Test(options, one_quote_kind_holds_the_other)
{
    struct st_options o;
    expect_clean(&o, "log_path=\"/tmp/it's\"");
    cr_assert_str_eq(o.log_path, "/tmp/it's");
    expect_clean(&o, "log_path='/tmp/\"q\"'");
    cr_assert_str_eq(o.log_path, "/tmp/\"q\"");
}

Test(options, quoted_number_is_a_number)
{
    struct st_options o;
    expect_clean(&o, "exitcode=\"42\"");
    cr_assert_eq(o.exitcode, 42);
}

Test(options, unterminated_quote_is_reported_and_changes_nothing)
{
    struct st_options o;
    struct errors e;
    cr_assert_eq(parse(&o, "log_path=\"/tmp/a:exitcode=3", &e), 1);
    cr_assert_str_eq(e.text, "unterminated quote in STRAYS_OPTIONS after 'log_path'\n");
    expect_defaults(&o);
}

/* ------------------------------------------------------- ranges, one by one */

Test(options, exitcode_range_is_0_to_255)
{
    struct st_options o;
    expect_clean(&o, "exitcode=0");
    cr_assert_eq(o.exitcode, 0);
    expect_clean(&o, "exitcode=255");
    cr_assert_eq(o.exitcode, 255);
    expect_clean(&o, "exitcode=1");
    cr_assert_eq(o.exitcode, 1);
}

Test(options, exitcode_banana_is_named_and_default_kept)
{
    expect_one_error("exitcode=banana",
                     "bad value 'banana' for option exitcode: expected a number from 0 to 255; "
                     "keeping 23");
}

Test(options, exitcode_out_of_range_or_not_a_number)
{
    expect_one_error("exitcode=256", "bad value '256' for option exitcode: expected a number "
                                     "from 0 to 255; keeping 23");
    expect_one_error("exitcode=-1", "bad value '-1' for option exitcode: expected a number "
                                    "from 0 to 255; keeping 23");
    expect_one_error("exitcode=12abc", "bad value '12abc' for option exitcode: expected a "
                                       "number from 0 to 255; keeping 23");
    expect_one_error("exitcode=", "bad value '' for option exitcode: expected a number from 0 "
                                  "to 255; keeping 23");
    expect_one_error("exitcode=99999999999999999999999",
                     "bad value '99999999999999999999999' for option exitcode: expected a number "
                     "from 0 to 255; keeping 23");
}

Test(options, stack_depth_range_is_1_to_128)
{
    struct st_options o;
    expect_clean(&o, "stack_depth=1");
    cr_assert_eq(o.stack_depth, 1);
    expect_clean(&o, "stack_depth=128");
    cr_assert_eq(o.stack_depth, 128);
}

Test(options, stack_depth_0_is_refused)
{
    expect_one_error("stack_depth=0", "bad value '0' for option stack_depth: expected a number "
                                      "from 1 to 128; keeping 32");
}

Test(options, stack_depth_129_is_refused)
{
    expect_one_error("stack_depth=129", "bad value '129' for option stack_depth: expected a "
                                        "number from 1 to 128; keeping 32");
}

Test(options, format_is_text_or_json)
{
    struct st_options o;
    expect_clean(&o, "format=json");
    cr_assert_eq(o.format, ST_FORMAT_JSON);
    expect_clean(&o, "format=json:format=text");
    cr_assert_eq(o.format, ST_FORMAT_TEXT);
}

Test(options, format_xml_is_refused)
{
    expect_one_error("format=xml",
                     "bad value 'xml' for option format: expected text or json; keeping text");
    expect_one_error("format=JSON",
                     "bad value 'JSON' for option format: expected text or json; keeping text");
}

Test(options, bool_spellings)
{
    struct st_options o;
    const char *yes[] = {"1", "true", "yes"}, *no[] = {"0", "false", "no"};
    for (size_t i = 0; i < 3; i++) {
        char text[64];
        snprintf(text, sizeof text, "symbolize=%s:help=%s", no[i], yes[i]);
        expect_clean(&o, text);
        cr_assert_eq(o.symbolize, false, "%s", text);
        cr_assert_eq(o.help, true, "%s", text);
    }
}

Test(options, bad_bool_is_refused)
{
    expect_one_error("symbolize=maybe",
                     "bad value 'maybe' for option symbolize: expected 0 or 1; keeping 1");
    expect_one_error("help=2", "bad value '2' for option help: expected 0 or 1; keeping 0");
}

Test(options, verbosity_range_is_0_to_2)
{
    struct st_options o;
    for (int v = 0; v <= 2; v++) {
        char text[32];
        snprintf(text, sizeof text, "verbosity=%d", v);
        expect_clean(&o, text);
        cr_assert_eq(o.verbosity, v);
    }
    expect_one_error("verbosity=3",
                     "bad value '3' for option verbosity: expected 0, 1 or 2; keeping 0");
}

Test(options, log_path_takes_stderr_stdout_or_a_prefix)
{
    struct st_options o;
    expect_clean(&o, "log_path=stdout");
    cr_assert_str_eq(o.log_path, "stdout");
    expect_clean(&o, "log_path=/var/tmp/strays-report");
    cr_assert_str_eq(o.log_path, "/var/tmp/strays-report");
    expect_one_error("log_path=", "bad value '' for option log_path: expected stderr, stdout or "
                                  "a path prefix; keeping stderr");
}

/* Path values are kept once each outside the struct: st_opt is small enough
 * to share the one page of variables every process writes at start. */
Test(options, a_path_value_is_kept_once_and_the_struct_stays_small)
{
    cr_assert_lt(sizeof(struct st_options), 256u);
    struct st_options a, b;
    expect_clean(&a, "log_path=/tmp/run/report:suppressions=/tmp/run/supp");
    expect_clean(&b, "suppressions=/tmp/run/supp:log_path=/tmp/run/report");
    cr_assert_str_eq(a.log_path, "/tmp/run/report");
    cr_assert_str_eq(a.suppressions, "/tmp/run/supp");
    cr_assert_eq(a.log_path, b.log_path, "one copy per value");
    cr_assert_eq(a.suppressions, b.suppressions);
    cr_assert_str_eq(a.metrics_path, "", "defaults stay");
    expect_clean(&b, "log_path=stdout");
    cr_assert_str_eq(a.log_path, "/tmp/run/report", "a later value changes no earlier struct");
}

Test(options, log_path_too_long_is_refused)
{
    char text[600] = "log_path=/";
    memset(text + 10, 'p', 500);
    text[510] = '\0';
    struct st_options o;
    struct errors e;
    cr_assert_eq(parse(&o, text, &e), 1);
    cr_assert_not_null(strstr(e.text, "for option log_path: expected a shorter path; keeping "
                                      "stderr\n"),
                       "%s", e.text);
    expect_defaults(&o);
}

/* ------------------------------------------------------ bad and unknown keys */

Test(options, unknown_key_is_named)
{
    expect_one_error("colour=red", "unknown option 'colour' (STRAYS_OPTIONS=help=1 lists them)");
}

Test(options, key_without_value_is_named)
{
    expect_one_error("exitcode", "option 'exitcode' has no value (expected exitcode=VALUE)");
}

Test(options, keys_are_case_sensitive)
{
    expect_one_error("EXITCODE=3", "unknown option 'EXITCODE' (STRAYS_OPTIONS=help=1 lists them)");
}

Test(options, bad_pairs_do_not_stop_the_good_ones)
{
    struct st_options o;
    struct errors e;
    cr_assert_eq(parse(&o, "exitcode=banana:format=json:colour=red:stack_depth=0:verbosity=2", &e),
                 3);
    cr_assert_str_eq(e.text,
                     "bad value 'banana' for option exitcode: expected a number from 0 to 255; "
                     "keeping 23\n"
                     "unknown option 'colour' (STRAYS_OPTIONS=help=1 lists them)\n"
                     "bad value '0' for option stack_depth: expected a number from 1 to 128; "
                     "keeping 32\n");
    cr_assert_eq(o.exitcode, 23);
    cr_assert_eq(o.stack_depth, 32);
    cr_assert_eq(o.format, ST_FORMAT_JSON);
    cr_assert_eq(o.verbosity, 2);
}

Test(options, bad_value_leaves_the_value_it_had)
{
    struct st_options o;
    struct errors e;
    parse(&o, "exitcode=7:exitcode=banana", &e);
    cr_assert_eq(e.count, 1);
    cr_assert_eq(o.exitcode, 7, "options.h: a bad pair leaves the option at the value it had");
}

/* The message names the value actually kept (set earlier in the string, or
 * from STRAYS_OPTIONS under `strays run -o`), not the default. */
Test(options, bad_value_message_names_the_value_actually_kept)
{
    struct st_options o;
    struct errors e;
    parse(&o, "format=json:format=xml", &e);
    cr_assert_eq(o.format, ST_FORMAT_JSON);
    cr_assert_str_eq(e.text,
                     "bad value 'xml' for option format: expected text or json; keeping json\n");
}

/* ------------------------------------------------------------ dump_signal */

Test(options, dump_signal_defaults_to_sigrtmax_minus_4)
{
    struct st_options o;
    expect_clean(&o, NULL);
    cr_assert_eq(o.dump_signal, SIGRTMAX - 4);
}

Test(options, dump_signal_takes_names_real_time_forms_and_numbers)
{
    static const struct {
        const char *text;
        int sig;
    } cases[] = {
        {"dump_signal=SIGUSR2", SIGUSR2}, {"dump_signal=USR1", SIGUSR1},
        {"dump_signal=SIGRTMAX-4", -4},   {"dump_signal=RTMAX-10", -10},
        {"dump_signal=RTMAX", -100},      {"dump_signal=RTMIN+5", 5},
        {"dump_signal=SIGRTMIN", 100},    {"dump_signal=0", 0},
        {"dump_signal=10", 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct st_options o;
        expect_clean(&o, cases[i].text);
        int want = cases[i].sig;
        if (want == -100)
            want = SIGRTMAX;
        else if (want < 0)
            want = SIGRTMAX + want;
        else if (want == 100)
            want = SIGRTMIN;
        else if (!strncmp(cases[i].text, "dump_signal=RTMIN+", 18))
            want = SIGRTMIN + want;
        cr_assert_eq(o.dump_signal, want, "%s: %d", cases[i].text, o.dump_signal);
    }
}

/* Signals glibc or strays uses itself are refused, with the reason. */
Test(options, dump_signal_used_by_glibc_or_strays_is_refused)
{
    static const char *const taken[] = {"32", "33", "SIGSEGV", "ABRT", "SIGRTMAX-3"};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        char text[64], want[400];
        snprintf(text, sizeof text, "dump_signal=%s", taken[i]);
        snprintf(want, sizeof want,
                 "bad value '%s' for option dump_signal: glibc or strays itself uses that signal "
                 "(32 and 33, SIGRTMAX-3, the crash signals SIGSEGV, SIGBUS, SIGFPE, SIGILL and "
                 "SIGABRT); choose another, such as SIGRTMAX-4 or SIGUSR2; keeping SIGRTMAX-4",
                 taken[i]);
        expect_one_error(text, want);
    }
    expect_one_error("dump_signal=RTMAX+1", "bad value 'RTMAX+1' for option dump_signal: "
                                            "expected a signal name such as SIGRTMAX-4, SIGUSR2 "
                                            "or USR2, a number, or 0; keeping SIGRTMAX-4");
    expect_one_error("dump_signal=KILL", "bad value 'KILL' for option dump_signal: expected a "
                                         "signal name such as SIGRTMAX-4, SIGUSR2 or USR2, a "
                                         "number, or 0; keeping SIGRTMAX-4");
}

/* -------------------------------------------------------------------- help */

static char *help_text(void)
{
    int fd = memfd_create("help", 0);
    cr_assert_geq(fd, 0);
    st_options_print_help(fd);
    off_t len = lseek(fd, 0, SEEK_END);
    cr_assert_gt(len, 0);
    char *buf = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

/* The help line of option name: "  NAME  default DEF  HELP" (columns
 * padded with spaces), or NULL. Returns a pointer after "default ". */
static const char *help_line(const char *text, const char *name)
{
    char head[64];
    snprintf(head, sizeof head, "\n  %s ", name);
    const char *at = strstr(text, head);
    if (!at) return NULL;
    at += strlen(head);
    at += strspn(at, " ");
    return strncmp(at, "default ", 8) ? NULL : at + 8;
}

Test(options, help_lists_every_option_with_default_and_help)
{
    char *text = help_text();
    const char *title = "strays options (STRAYS_OPTIONS=\"key=value:key=value\"):\n";
    cr_assert_eq(strncmp(text, title, strlen(title)), 0, "%s", text);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    int options = 0;
#define ST_OPT(type, name, def, value, help)                                                       \
    do {                                                                                           \
        options++;                                                                                 \
        const char *d = help_line(text, #name);                                                    \
        cr_assert_not_null(d, "option %s missing from help:\n%s", #name, text);                    \
        cr_assert_eq(strncmp(d, def " ", strlen(def) + 1), 0, "default of %s:\n%s", #name, text);  \
        const char *h = d + strlen(def);                                                           \
        h += strspn(h, " ");                                                                       \
        cr_assert_eq(strncmp(h, help, strlen(help)), 0, "help of %s:\n%s", #name, text);           \
        cr_assert_eq(h[strlen(help)], '\n', "one line per option (%s)", #name);                    \
    } while (0);
#include "base/options.def"
#undef ST_OPT
    cr_assert_geq(options, 7);
    cr_assert_eq(lines, 1 + options, "a title and one line per option:\n%s", text);
    free(text);
}

Test(options, every_help_default_parses_to_the_default)
{
    /* The defaults in the help are the same text the parser reads. */
    struct st_options o;
#define ST_OPT(type, name, def, value, help) expect_clean(&o, #name "=" def);
#include "base/options.def"
#undef ST_OPT
    expect_defaults(&o);
}

/* A path option is compared as text; any other by its bytes. */
static bool same_text(const void *a, const void *b, size_t size)
{
    (void)size;
    return strcmp(*(const char *const *)a, *(const char *const *)b) == 0;
}

static bool same_bytes(const void *a, const void *b, size_t size) { return !memcmp(a, b, size); }

#define SAME_OPTION(a, b)                                                                          \
    _Generic((a), const char *: same_text, default: same_bytes)(&(a), &(b), sizeof(a))

Test(options, every_default_value_is_what_its_text_parses_to)
{
    /* A process sets the values without parsing (options.def): each must be
     * what its text, which help=1 shows, parses to. The parse starts from
     * other values, so that it has to set each option itself. */
    struct st_options set, parsed;
    st_options_defaults(&set);
#define ST_OPT(type, name, def, value, help)                                                       \
    do {                                                                                           \
        struct errors e = {0};                                                                     \
        memset(&parsed, 0, sizeof parsed);                                                         \
        parsed.log_path = parsed.metrics_path = parsed.profile_path = parsed.suppressions = "x";   \
        cr_assert_eq(st_options_parse(&parsed, #name "=" def, collect, &e), 0, "%s", e.text);      \
        cr_assert(SAME_OPTION(set.name, parsed.name), "option %s: its value is not what \"%s\" "  \
                  "parses to (src/base/options.def)", #name, def);                                \
    } while (0);
#include "base/options.def"
#undef ST_OPT
}

/* ------------------------------------------------- init from the environment */

/* Runs st_options_init with STRAYS_OPTIONS=value and fd 2 captured. */
static char *init_with(const char *value)
{
    cr_assert_eq(setenv("STRAYS_OPTIONS", value, 1), 0);
    int fd = memfd_create("stderr", 0);
    int saved = dup(2);
    cr_assert_geq(fd, 0);
    cr_assert_geq(saved, 0);
    dup2(fd, 2);
    st_options_init();
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

Test(options, init_reads_the_environment)
{
    char *err = init_with("format=json:exitcode=0");
    cr_assert_str_eq(err, "");
    cr_assert_eq(st_opt.format, ST_FORMAT_JSON);
    cr_assert_eq(st_opt.exitcode, 0);
    cr_assert_eq(st_opt.stack_depth, 32);
    free(err);
}

Test(options, init_says_one_line_per_bad_pair_on_stderr)
{
    char *err = init_with("exitcode=banana:nope=1");
    cr_assert_str_eq(err,
                     "strays: bad value 'banana' for option exitcode: expected a number from 0 "
                     "to 255; keeping 23\n"
                     "strays: unknown option 'nope' (STRAYS_OPTIONS=help=1 lists them)\n");
    expect_defaults(&st_opt);
    free(err);
}

Test(options, init_with_help_prints_the_table)
{
    char *err = init_with("help=1");
    char *table = help_text();
    cr_assert_str_eq(err, table);
    cr_assert_eq(st_opt.help, true);
    free(err);
    free(table);
}
