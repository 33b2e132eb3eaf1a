/* A GLib program whose worker threads live on by design, for
 * scripts/real-programs.py: a process-wide exclusive GThreadPool of two
 * workers (g_thread_pool_new starts both at once), fed a batch of checksums
 * and never freed, as programs do with a pool meant to last as long as they do.
 * Prints the sum of the results; strays must report exactly the two workers. */
#include <glib.h>
#include <stdio.h>

#define WORKERS 2
#define TASKS 64

static GAsyncQueue *results;

/* Each task hashes a buffer derived from its number and hands back one word of
 * the digest, so the output depends on every task having run. */
static void checksum_task(gpointer data, gpointer user_data)
{
    (void)user_data;
    guint n = GPOINTER_TO_UINT(data);
    guchar buf[4096];
    for (gsize i = 0; i < sizeof buf; i++)
        buf[i] = (guchar)(n * 31 + i);
    gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, sizeof buf);
    guint word = (guint)g_ascii_strtoull(hex + 56, NULL, 16);
    g_free(hex);
    g_async_queue_push(results, GUINT_TO_POINTER(word | 1u));
}

int main(void)
{
    GError *error = NULL;
    results = g_async_queue_new();
    GThreadPool *pool = g_thread_pool_new(checksum_task, NULL, WORKERS, TRUE, &error);
    if (!pool) {
        fprintf(stderr, "glib_pool: %s\n", error->message);
        return 1;
    }
    for (guint n = 1; n <= TASKS; n++)
        g_thread_pool_push(pool, GUINT_TO_POINTER(n), NULL);
    guint64 sum = 0;
    for (guint n = 0; n < TASKS; n++)
        sum += GPOINTER_TO_UINT(g_async_queue_pop(results));
    printf("%u tasks on %u workers, sum %" G_GUINT64_FORMAT "\n", TASKS, g_thread_pool_get_num_threads(pool), sum);
    /* The pool is not freed: its workers are meant to live until exit. */
    return 0;
}
