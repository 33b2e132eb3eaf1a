/* End-to-end: bad STRAYS_OPTIONS (a bad value, an unknown key, several at
 * once) print one clear line each on stderr and the program runs exactly as
 * with the defaults; help=1 prints the options table and the program still
 * runs. And C++ exceptions under the preload still bind to libgcc_s, never
 * to libunwind (LD_DEBUG=bindings). */
#define _GNU_SOURCE
#include "e2e.h"

#include "base/options.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BAD_EXITCODE                                                                               \
    "strays: bad value 'banana' for option exitcode: expected a number from 0 to 255; "            \
    "keeping 23\n"
#define UNKNOWN_COLOUR "strays: unknown option 'colour' (STRAYS_OPTIONS=help=1 lists them)\n"

static int occurrences(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* e2e_run_raw leaves its directory (the program's stdout and stderr). */
static void remove_run_dir(const struct e2e_run *run)
{
    char path[600];
    snprintf(path, sizeof path, "%s/stdout", run->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/stderr", run->dir);
    unlink(path);
    rmdir(run->dir);
}

/* The leaking fixture ran as with the defaults: its output, exit 23 for
 * the leak, and a report of its one worker. */
static void expect_default_leak_run(const struct e2e_run *run)
{
    cr_assert_str_eq(run->out, "done\n", "the program's own output is unchanged");
    cr_assert_eq(run->status, 23, "the default exitcode applies; stderr:\n%s", run->err);
    const struct st_report *r = e2e_only_report(run);
    cr_assert_eq(r->nthreads, 1);
    cr_assert_str_eq(r->threads[0].name, "cond-worker");
}

/* ------------------------------------------------------------- bad values */

Test(options_e2e, bad_exitcode_is_named_on_one_line_and_the_default_applies)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "exitcode=banana", NULL);
    cr_assert_str_eq(run.err, BAD_EXITCODE, "one line on stderr, nothing else");
    expect_default_leak_run(&run);
    e2e_free(&run);
}

Test(options_e2e, bad_exitcode_with_the_text_report_on_stderr)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_blocked_on_cond", "exitcode=banana", NULL, true);
    cr_assert_eq(strncmp(run.err, BAD_EXITCODE, strlen(BAD_EXITCODE)), 0,
                 "the message comes first, at start-up:\n%s", run.err);
    cr_assert_eq(occurrences(run.err, "'banana'"), 1, "said once:\n%s", run.err);
    cr_assert_not_null(strstr(run.err, "1 thread blocked in pthread_cond_wait(0x"), "%s", run.err);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group (pid "), "%s", run.err);
    cr_assert_str_eq(run.out, "done\n");
    cr_assert_eq(run.status, 23);
    remove_run_dir(&run);
    e2e_free(&run);
}

Test(options_e2e, out_of_range_exitcode_keeps_23)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "exitcode=256", NULL);
    cr_assert_str_eq(run.err, "strays: bad value '256' for option exitcode: expected a number "
                              "from 0 to 255; keeping 23\n");
    expect_default_leak_run(&run);
    e2e_free(&run);
}

Test(options_e2e, unknown_key_is_named_on_one_line_and_the_program_runs)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "colour=red", NULL);
    cr_assert_str_eq(run.err, UNKNOWN_COLOUR);
    expect_default_leak_run(&run);
    e2e_free(&run);
}

Test(options_e2e, every_bad_pair_gets_its_line_and_good_pairs_still_apply)
{
    struct e2e_run run;
    /* format=json and log_path come first (from e2e_run) and must survive. */
    e2e_run(&run, "fixtures/thread_blocked_on_cond",
            "exitcode=banana:stack_depth=0:colour=red:stack_depth=129", NULL);
    cr_assert_str_eq(run.err, BAD_EXITCODE
                     "strays: bad value '0' for option stack_depth: expected a number from 1 to "
                     "128; keeping 32\n" UNKNOWN_COLOUR
                     "strays: bad value '129' for option stack_depth: expected a number from 1 "
                     "to 128; keeping 32\n");
    expect_default_leak_run(&run);
    const struct st_report *r = e2e_only_report(&run);
    cr_assert(e2e_stack_has(r, r->threads[0].created_by, "start_worker"),
              "stacks are still captured");
    e2e_free(&run);
}

Test(options_e2e, bad_format_keeps_the_text_report)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_blocked_on_cond", "format=xml", NULL, true);
    const char *line =
        "strays: bad value 'xml' for option format: expected text or json; keeping text\n";
    cr_assert_eq(strncmp(run.err, line, strlen(line)), 0, "%s", run.err);
    cr_assert_not_null(strstr(run.err, "strays: 1 leaked thread in 1 group (pid "),
                       "a text report:\n%s", run.err);
    cr_assert_null(strstr(run.err, "\"tool\":\"strays\""), "no JSON:\n%s", run.err);
    cr_assert_eq(run.status, 23);
    cr_assert_str_eq(run.out, "done\n");
    remove_run_dir(&run);
    e2e_free(&run);
}

Test(options_e2e, bad_option_on_a_clean_program_changes_nothing_but_stderr)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_clean", "exitcode=banana", NULL, true);
    cr_assert_str_eq(run.err, BAD_EXITCODE, "the message and no report (nothing leaked)");
    cr_assert_str_eq(run.out, "clean\n");
    cr_assert_eq(run.status, 0);
    remove_run_dir(&run);
    e2e_free(&run);
}

/* ------------------------------------------------------------------- help */

/* The table as st_options_print_help writes it. */
static char *help_table(void)
{
    int fd = memfd_create("help", 0);
    cr_assert_geq(fd, 0);
    st_options_print_help(fd);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

Test(options_e2e, help_prints_the_table_and_the_program_still_runs)
{
    struct e2e_run run;
    e2e_run(&run, "fixtures/thread_blocked_on_cond", "help=1", NULL);
    char *table = help_table();
    cr_assert_str_eq(run.err, table, "stderr holds the options table, once");
#define ST_OPT(type, name, def, value, help) cr_assert_not_null(strstr(run.err, "  " #name " "), #name);
#include "base/options.def"
#undef ST_OPT
    expect_default_leak_run(&run);
    free(table);
    e2e_free(&run);
}

Test(options_e2e, help_on_a_clean_program)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/thread_clean", "help=1", NULL, true);
    char *table = help_table();
    cr_assert_str_eq(run.err, table);
    cr_assert_str_eq(run.out, "clean\n");
    cr_assert_eq(run.status, 0);
    free(table);
    remove_run_dir(&run);
    e2e_free(&run);
}

/* ------------------------------------------- C++ exceptions and libunwind */

/* The word after `marker` in one line of LD_DEBUG=bindings output:
 * "  PID:\tbinding file A [0] to B [0]: normal symbol `sym' [VER]". */
static bool word_after(const char *line, size_t len, const char *marker, char *out, size_t size)
{
    const char *at = memmem(line, len, marker, strlen(marker));
    if (!at) return false;
    at += strlen(marker);
    const char *end = memchr(at, ' ', (size_t)(line + len - at));
    if (!end || (size_t)(end - at) >= size) return false;
    memcpy(out, at, (size_t)(end - at));
    out[end - at] = '\0';
    return true;
}

static bool mentions(const char *line, size_t len, const char *what)
{
    return memmem(line, len, what, strlen(what)) != NULL;
}

/* Checks every binding of an unwinder symbol in LD_DEBUG=bindings output:
 * nothing but libunwind itself binds to libunwind, _Unwind_RaiseException
 * always binds to libgcc_s, and libstdc++'s own reference was seen. */
static void expect_unwinder_from_libgcc_s(const char *err)
{
    int raise_from_libstdcxx = 0, raise_bindings = 0;
    for (const char *line = err; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char from[512], to[512];
        bool unwinder_symbol =
            mentions(line, len, "`_Unwind_") || mentions(line, len, "`backtrace'");
        if (unwinder_symbol && word_after(line, len, "binding file ", from, sizeof from) &&
            word_after(line, len, "] to ", to, sizeof to)) {
            /* libunwind, loaded privately, may use its own symbols; nobody else may. */
            if (!strstr(from, "libunwind"))
                cr_assert_null(strstr(to, "libunwind"),
                               "libunwind's unwinder leaked into the global scope:\n%.*s", (int)len,
                               line);
            if (mentions(line, len, "`_Unwind_RaiseException'") && !strstr(from, "libunwind")) {
                raise_bindings++;
                cr_assert_not_null(strstr(to, "/libgcc_s.so"),
                                   "_Unwind_RaiseException must bind to libgcc_s:\n%.*s", (int)len,
                                   line);
                if (strstr(from, "libstdc++")) raise_from_libstdcxx++;
            }
        }
        line += len + (nl ? 1 : 0);
    }
    cr_assert_gt(raise_bindings, 0,
                 "no binding of _Unwind_RaiseException seen; stderr starts:\n%.2000s", err);
    cr_assert_gt(raise_from_libstdcxx, 0, "libstdc++'s throw was not seen binding");
}

/* Runs fixture under the preload with LD_DEBUG=bindings, the bindings
 * going to its stderr (LD_DEBUG_OUTPUT unset). The harness hands the
 * test's environment on to the fixture. */
static void run_with_bindings(struct e2e_run *run, const char *fixture)
{
    cr_assert_eq(unsetenv("LD_DEBUG_OUTPUT"), 0);
    cr_assert_eq(setenv("LD_DEBUG", "bindings", 1), 0);
    e2e_run_raw(run, fixture, NULL, NULL, true);
    unsetenv("LD_DEBUG");
}

Test(unwinder, cxx_exceptions_bind_to_libgcc_s_not_libunwind)
{
    struct e2e_run run;
    run_with_bindings(&run, "fixtures/cxx_exception_caught");
    cr_assert_eq(run.status, 0, "the exceptions are caught and nothing leaks");
    cr_assert_str_eq(run.out,
                     "caught: from a thread\n"
                     "caught: from main\n"
                     "libunwind mapped: yes\n",
                     "libunwind must be loaded for this test to mean anything");
    expect_unwinder_from_libgcc_s(run.err);
    remove_run_dir(&run);
    e2e_free(&run);
}

/* A C++ program links libgcc_s itself, which then comes before anything the
 * preload pulls in: it would not notice libunwind linked into the preload.
 * A C program using C++ through dlopen does (checked: with -lunwind on the
 * preload's link line, libstdc++'s _Unwind_RaiseException binds to libunwind). */
Test(unwinder, cxx_loaded_by_a_c_program_still_throws_through_libgcc_s)
{
    struct e2e_run run;
    run_with_bindings(&run, "fixtures/cxx_plugin_throw");
    cr_assert_eq(run.status, 0, "stdout:\n%s", run.out);
    cr_assert_str_eq(run.out, "throwing\nterminate with exception of type i\n");
    expect_unwinder_from_libgcc_s(run.err);
    remove_run_dir(&run);
    e2e_free(&run);
}
