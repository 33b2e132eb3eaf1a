/* Regression tests for what the fuzzers (tests/fuzz/, `make fuzz`) found in
 * the parsers of hostile input: STRAYS_OPTIONS, suppressions files, JSON
 * reports and Rust symbol names. Each test feeds the input that broke a parser, cut down to what
 * matters, and pins the behaviour of the fix; the raw input stays in
 * tests/fuzz/regressions/TARGET/ and `make fuzz` replays it under ASan and
 * UBSan. Here, without sanitizers, the undefined conversions showed up as
 * garbage values being accepted. */
#include <criterion/criterion.h>

#include "report/json.h"
#include "base/options.h"
#include "report/report_parse.h"
#include "symbolize/demangle.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ----------------------------------------------------------------- options */

struct messages {
    int count;
    char last[2200];
};

static void keep_message(void *ctx, const char *message)
{
    struct messages *m = ctx;
    m->count++;
    snprintf(m->last, sizeof m->last, "%s", message);
}

/* Parses one pair over the defaults; it must be refused with one message
 * naming the value, and leave the options as they were. */
static void expect_refused(const char *text, const char *value_shown)
{
    struct st_options o, defaults;
    struct messages m = {0};
    st_options_defaults(&o);
    st_options_defaults(&defaults);
    cr_assert_eq(st_options_parse(&o, text, keep_message, &m), 1, "[%s] was accepted", text);
    cr_assert_eq(m.count, 1);
    cr_assert(strstr(m.last, value_shown), "[%s] gave: %s", text, m.last);
    cr_assert_eq(memcmp(&o, &defaults, sizeof o), 0, "[%s] changed an option", text);
}

/* tests/fuzz/regressions/options/duration_nan: strtod reads "nan", which
 * passed both range checks and was converted to an integer. */
Test(fuzz_regressions, duration_nan_is_refused)
{
    expect_refused("blocked_threshold=nanms", "bad value 'nanms' for option blocked_threshold");
    expect_refused("dump_interval=NAN", "bad value 'NAN' for option dump_interval");
    expect_refused("dump_interval=nan(0x1)s", "bad value 'nan(0x1)s'");
}

/* tests/fuzz/regressions/options/duration_past_uint64: 1e9 hours is within
 * the 1e9 bound on the number but 3.6e21 ns, past what uint64_t holds. */
Test(fuzz_regressions, duration_past_584_years_is_refused)
{
    expect_refused("dump_interval=1e9h", "bad value '1e9h' for option dump_interval");
    expect_refused("blocked_threshold=400000000m", "bad value '400000000m'");
}

Test(fuzz_regressions, longest_duration_that_fits_is_kept)
{
    struct st_options o;
    struct messages m = {0};
    st_options_defaults(&o);
    cr_assert_eq(st_options_parse(&o, "dump_interval=5000000h", keep_message, &m), 0, "%s",
                 m.last);
    cr_assert_eq(o.dump_interval, 5000000ull * 3600 * 1000000000);
}

/* tests/fuzz/regressions/options/signal_rtmin_overflow: SIGRTMIN + n
 * overflowed a long for a huge n and came out as an accepted signal. */
Test(fuzz_regressions, rtmin_plus_huge_number_is_refused)
{
    expect_refused("dump_signal=RTMIN+99999999999999999999", "for option dump_signal");
    expect_refused("dump_signal=SIGRTMIN+9223372036854775807", "for option dump_signal");
}

Test(fuzz_regressions, rtmin_plus_n_up_to_rtmax_is_kept)
{
    struct st_options o;
    struct messages m = {0};
    char text[64];
    snprintf(text, sizeof text, "dump_signal=RTMIN+%d", SIGRTMAX - SIGRTMIN);
    st_options_defaults(&o);
    cr_assert_eq(st_options_parse(&o, text, keep_message, &m), 0, "%s", m.last);
    cr_assert_eq(o.dump_signal, SIGRTMAX);
    snprintf(text, sizeof text, "dump_signal=RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
    expect_refused(text, "for option dump_signal");
}

/* ----------------------------------------------------------------- reports */

/* A report with one blocked thread whose "seconds" is the given literal. */
static int load_blocked_for(const char *seconds, struct st_report *r, char *why, size_t len)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"tool\":\"strays\",\"version\":\"0.1.0\",\"pid\":1,\"exe\":null,\"command\":null,"
             "\"reason\":\"exit\",\"scope\":null,\"exit_status\":0,\"time\":0,\"uptime_ms\":0,"
             "\"threads\":[{\"tid\":2,\"name\":null,\"state\":\"blocked\",\"detached\":false,"
             "\"blocked\":{\"call\":\"read\",\"object\":null,\"fd\":3,\"target\":null,"
             "\"seconds\":%s,\"deadline\":null,\"timeout_ns\":0,\"timeouts\":0,"
             "\"owner_tid\":null,\"stuck\":true},\"created_by\":null,\"stack\":null,"
             "\"created_ms\":0,\"parent_tid\":1}],\"timers\":[],\"fds\":[],\"stacks\":[]}",
             seconds);
    struct st_json_error err;
    struct st_json *root = st_json_parse(text, strlen(text), &err);
    cr_assert_not_null(root, "%d:%d: %s", err.line, err.column, err.message);
    int rc = st_report_from_json(r, root, why, len);
    st_json_free(root);
    return rc;
}

/* tests/fuzz/regressions/report/blocked_seconds_past_uint64.json: the loader
 * allowed up to 1e12 seconds, and 1e11 s is 1e20 ns, past what the
 * uint64_t blocked_ns holds. */
Test(fuzz_regressions, blocked_seconds_past_584_years_are_refused)
{
    struct st_report r;
    char why[400] = "";
    cr_assert_eq(load_blocked_for("1e11", &r, why, sizeof why), -EINVAL);
    cr_assert_str_eq(why, "threads[0]: \"blocked\".\"seconds\" must be a number of seconds");
    st_report_free(&r);
}

Test(fuzz_regressions, blocked_seconds_that_fit_load)
{
    struct st_report r;
    char why[400] = "";
    cr_assert_eq(load_blocked_for("18446744073", &r, why, sizeof why), 0, "%s", why);
    cr_assert_eq(r.nthreads, 1);
    cr_assert_geq(r.threads[0].blocked->blocked_ns, 18446744072000000000ull);
    st_report_free(&r);
    cr_assert_eq(load_blocked_for("0.5", &r, why, sizeof why), 0, "%s", why);
    cr_assert_eq(r.threads[0].blocked->blocked_ns, 500000000ull);
    st_report_free(&r);
}

/* ---------------------------------------------------------------- demangle */

/* tests/fuzz/regressions/demangle/legacy_escape_of_nul: "$u0$" in a legacy
 * name put a NUL into the demangled name, cutting it short (and a control
 * character would break a text report's line). Such a name is not Rust's. */
Test(fuzz_regressions, demangle_legacy_escape_of_a_control_character_is_refused)
{
    char out[256];
    cr_assert_eq(st_demangle_rust("_ZN6a$u0$b17hc581dbde460c560dE", out, sizeof out), -EINVAL);
    cr_assert_eq(st_demangle_rust("_ZN7a$u0a$b17hc581dbde460c560dE", out, sizeof out), -EINVAL);
    cr_assert_eq(st_demangle_rust("_ZN7a$u20$b17hc581dbde460c560dE", out, sizeof out), 3);
    cr_assert_str_eq(out, "a b");
}

/* tests/fuzz/regressions/demangle/v0_empty_name: a crate root with an empty
 * name demangled to "", which no buffer could refuse as too small. */
Test(fuzz_regressions, demangle_v0_name_that_reads_as_nothing_is_refused)
{
    char out[256];
    cr_assert_eq(st_demangle_rust("_RCsx_0", out, sizeof out), -EINVAL);
    cr_assert_eq(st_demangle_rust("_RC0", out, sizeof out), -EINVAL);
}
