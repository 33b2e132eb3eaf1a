/* See messages.h. */
#include "messages.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

void collect(void *ctx, const char *message)
{
    struct errors *e = ctx;
    cr_assert_null(strchr(message, '\n'), "a message is one line: [%s]", message);
    size_t used = strlen(e->text);
    snprintf(e->text + used, sizeof e->text - used, "%s\n", message);
    e->count++;
}
