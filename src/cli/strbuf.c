/* A growable string for the CLI's writers: labels and messages are built
 * here first, then escaped for the output format (XML, JSON). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_buf_printf(struct cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->failed)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *cli_buf_str(const struct cli_buf *b)
{
    return b->s && !b->failed ? b->s : "";
}

void cli_buf_reset(struct cli_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

void cli_buf_free(struct cli_buf *b)
{
    free(b->s);
    *b = (struct cli_buf){0};
}
