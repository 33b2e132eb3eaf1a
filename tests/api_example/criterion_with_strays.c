/* The README's example: Criterion tests each run in their own strays scope
 * and end by checking that they left nothing behind. Built with
 * -DSTRAYS_WEAK, so the binary runs with or without the preload; under it,
 * the leaky test fails, and the report names it.
 *
 * The check is at the end of the test body, not in the suite's .fini:
 * Criterion 2.4 logs an assertion that fails in .fini but still counts the
 * test as passed (by design, Criterion issues #211 and #242), so STRAYS_TEST
 * wraps the body instead. */
#define STRAYS_WEAK
#include <strays.h>

#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

/* Test(suite, name) whose body runs in scope "name" and fails the test if it
 * leaked. What existed before the test (Criterion's own threads and pipes)
 * is set aside with strays_snapshot. */
#define STRAYS_TEST(suite, name)                                                           \
    static void name##_body(void);                                                         \
    Test(suite, name)                                                                      \
    {                                                                                      \
        if (!strays_verify_none) {                                                         \
            name##_body(); /* strays is not loaded: just the test */                       \
            return;                                                                        \
        }                                                                                  \
        strays_snapshot();                                                                 \
        strays_scope_begin(#name);                                                         \
        name##_body();                                                                     \
        int leaked = strays_verify_none(NULL);                                             \
        strays_scope_end();                                                                \
        cr_assert_eq(leaked, 0, "%s left %d thread(s), timer(s) or fd(s) behind", #name,  \
                     leaked);                                                              \
    }                                                                                      \
    static void name##_body(void)

static void *wait_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *finish_soon(void *arg)
{
    (void)arg;
    usleep(100 * 1000); /* sleep-ok: a worker that takes a while to finish */
    return NULL;
}

STRAYS_TEST(with_strays, leaks_a_worker)
{
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, NULL);
}

STRAYS_TEST(with_strays, joins_its_worker)
{
    pthread_t t;
    pthread_create(&t, NULL, finish_soon, NULL);
    pthread_join(t, NULL);
}

STRAYS_TEST(with_strays, detached_worker_ends_within_the_grace)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, finish_soon, NULL);
    pthread_attr_destroy(&attr);
}
