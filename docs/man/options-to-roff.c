/* Writes the OPTIONS section of strays-options(7) from src/options.def, so
 * the manual lists exactly the options the preload parses, with their
 * defaults and help text. `make install` runs it to fill the @OPTIONS@
 * line of strays-options.7.in. */
#include <stdio.h>

/* s with the characters roff treats specially escaped. */
static void roff_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
}

static void option(const char *name, const char *def, const char *help)
{
    printf(".TP\n.B %s\n", name);
    if (*def) {
        fputs("Default: \\fB", stdout);
        roff_escaped(def);
        fputs("\\fR.\n", stdout);
    } else {
        fputs("Default: none.\n", stdout);
    }
    /* A text line starting with a dot or a quote would be a request. */
    fputs(".br\n", stdout);
    if (*help == '.' || *help == '\'')
        fputs("\\&", stdout);
    roff_escaped(help);
    putchar('\n');
}

int main(void)
{
#define ST_OPT(type, name, def, help) option(#name, def, help);
#include "../../src/base/options.def"
#undef ST_OPT
    return 0;
}
