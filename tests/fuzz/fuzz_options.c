/* libFuzzer harness for the STRAYS_OPTIONS parser (src/options.c). The
 * environment variable reaches strays from whatever started the program, so
 * any string must parse without a crash, leak or undefined behaviour, and
 * every option must end up inside the range its help text promises.
 * Besides "no crash" it checks: one message per bad pair, a deterministic
 * result, and that applying the same text twice changes nothing more. */
#include "base/options.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Counts the parser's messages and checks each is a usable C string. */
static void count_message(void *ctx, const char *message)
{
    if (!message || !message[0] || strlen(message) > 4096)
        abort();
    (*(int *)ctx)++;
}


/* What options.def and docs/options.md promise about every value. */
static void check_ranges(const struct st_options *o)
{
    if (o->format != ST_FORMAT_TEXT && o->format != ST_FORMAT_JSON)
        abort();
    if (!o->log_path[0] || strlen(o->log_path) >= ST_OPT_PATH_MAX ||
        strlen(o->metrics_path) >= ST_OPT_PATH_MAX || strlen(o->profile_path) >= ST_OPT_PATH_MAX ||
        strlen(o->suppressions) >= ST_OPT_PATH_MAX)
        abort();
    if (o->exitcode < 0 || o->exitcode > 255 || o->stack_depth < 1 || o->stack_depth > 128 ||
        o->verbosity < 0 || o->verbosity > 2)
        abort();
    if (o->dump_signal < 0 || o->dump_signal >= NSIG || o->dump_signal == SIGKILL ||
        o->dump_signal == SIGSTOP)
        abort();
    if (o->report != ST_REPORT_ALWAYS && o->report != ST_REPORT_FAILURE)
        abort();
    if (o->track & ~(unsigned)(ST_TRACK_THREADS | ST_TRACK_TIMERS | ST_TRACK_FDS))
        abort();
}

/* Parses text over the defaults; returns the number of bad pairs and
 * checks it matches the number of messages. */
static int parse(struct st_options *o, const char *text)
{
    int messages = 0;
    st_options_defaults(o);
    int bad = st_options_parse(o, text, count_message, &messages);
    if (bad != messages)
        abort();
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The variable is a C string: what follows a NUL never reaches strays. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    /* Heap copies so ASan sees any write past an option's buffer. */
    struct st_options *first = malloc(sizeof *first), *again = malloc(sizeof *again);
    if (!first || !again)
        abort();
    int bad = parse(first, text);
    check_ranges(first);

    if (parse(again, text) != bad || memcmp(first, again, sizeof *first) != 0)
        abort();

    /* Every pair sets its option outright, so the text applied on top of
     * its own result must leave the same options behind. */
    int messages = 0;
    if (st_options_parse(again, text, count_message, &messages) != bad ||
        memcmp(first, again, sizeof *first) != 0)
        abort();

    free(first);
    free(again);
    free(text);
    return 0;
}
