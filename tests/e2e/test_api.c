/* End-to-end: the in-process API of include/strays.h, used by a program
 * that is only preloaded (weak references), and the README's Criterion
 * example. */
#define _GNU_SOURCE
#include "e2e.h"

#include "report/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(api, parallel_scopes_each_see_only_their_own_leak)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/api_parallel_scopes", "exitcode=0", NULL, true);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_not_null(strstr(run.out, "leaky_test: 1\n"), "%s", run.out);
    cr_assert_not_null(strstr(run.out, "clean_test: 0\n"), "%s", run.out);
    cr_assert_not_null(strstr(run.out, "ignore: 0\n"), "%s", run.out);
    cr_assert_not_null(strstr(run.out, "\neverything: 1\n"),
                       "only the leaked worker: not the baseline, not the ignored: %s", run.out);
    /* The scope's report names it and holds only its thread. */
    cr_assert_not_null(strstr(run.err, "strays: report (verify, scope \"leaky_test\") of "), "%s",
                       run.err);
    cr_assert_not_null(strstr(run.err, "\"leaked-worker\""), "%s", run.err);
    /* The JSON report the last check wrote to stdout. */
    const char *start = strstr(run.out, "{\"tool\"");
    const char *end = strstr(run.out, "\neverything:");
    cr_assert(start && end && end > start);
    struct st_json_error err;
    struct st_json *root = st_json_parse(start, (size_t)(end - start), &err);
    cr_assert_not_null(root, "%s at %d:%d", err.message, err.line, err.column);
    const struct st_json *threads = st_json_get(root, "threads");
    cr_assert_eq(threads->length, 1);
    const char *scope = NULL;
    cr_assert(st_json_as_string(st_json_get(threads->items[0], "scope"), &scope));
    cr_assert_str_eq(scope, "leaky_test");
    st_json_free(root);
    e2e_free(&run);
}

Test(api, without_strays_the_weak_functions_are_null)
{
    struct e2e_run run;
    e2e_run_raw(&run, "fixtures/api_parallel_scopes", NULL, NULL, false);
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.out, "strays is not loaded\n");
    e2e_free(&run);
}

Test(api, criterion_example_fails_only_the_leaky_test_with_its_name)
{
    struct e2e_run run;
    e2e_run_raw(&run, "api_example/criterion_with_strays", "exitcode=0",
                (const char *[]){"--jobs", "2", NULL}, true);
    cr_assert_neq(run.status, 0, "a test failed");
    cr_assert_not_null(strstr(run.err, "[FAIL] with_strays::leaks_a_worker"), "%s", run.err);
    cr_assert_not_null(strstr(run.err, "Tested: 3 | Passing: 2 | Failing: 1 | Crashing: 0"),
                       "%s", run.err);
    cr_assert_not_null(strstr(run.err, "strays: report (verify, scope \"leaks_a_worker\")"),
                       "%s", run.err);
    cr_assert_null(strstr(run.err, "scope \"joins_its_worker\""), "%s", run.err);
    cr_assert_null(strstr(run.err, "scope \"detached_worker_ends_within_the_grace\""),
                   "ends within the grace: %s", run.err);
    e2e_free(&run);
}

Test(api, criterion_example_passes_without_strays)
{
    struct e2e_run run;
    e2e_run_raw(&run, "api_example/criterion_with_strays", NULL, NULL, false);
    cr_assert_eq(run.status, 0, "%s", run.err);
    e2e_free(&run);
}

/* Reports are requests: four threads verifying their own scopes at once,
 * 300 times each, every verdict its own (issue 17: a global scope filter
 * gave a quarter of them another thread's answer). */
Test(api, parallel_scoped_verifications_each_get_their_own_verdict)
{
    struct e2e_run run;
    /* symbolize=0: the verdicts are the point, and the run stays short. */
    e2e_run_raw(&run, "fixtures/api_scopes_race", "exitcode=0:symbolize=0", NULL, true);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert_str_eq(run.out, "mismatches: 0\n", "%s", run.out);
    e2e_free(&run);
}
