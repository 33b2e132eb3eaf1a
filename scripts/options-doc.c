/* Writes the reference of strays' options from src/base/options.def, so the
 * documents list exactly the options the preload parses, with their defaults
 * and help text: `options-doc roff` the OPTIONS section of strays-options(7)
 * (`make install`), `options-doc markdown` the list in docs/options.md
 * (`make docs`; `make test` checks that the committed file is current). */
#include <stdio.h>
#include <string.h>

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

static void roff_option(const char *name, const char *def, const char *help)
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

/* s with the characters Markdown would take for markup escaped; an
 * underscore inside a word (metrics_path) is plain text already. */
static void markdown_escaped(const char *s)
{
    for (const char *p = s; *p; p++) {
        int inside_word = p > s && p[1] && p[-1] != ' ' && p[1] != ' ';
        if (strchr("\\`*<>[]", *p) || (*p == '_' && !inside_word))
            putchar('\\');
        putchar(*p);
    }
}

/* One heading per option, so other documents can link to docs/options.md#name;
 * a blank line between options, none after the last. */
static void markdown_option(const char *name, const char *def, const char *help)
{
    static int first = 1;
    printf("%s### `%s`\n\nDefault: ", first ? "" : "\n", name);
    first = 0;
    if (*def)
        printf("`%s`.\n\n", def);
    else
        fputs("none.\n\n", stdout);
    markdown_escaped(help);
    putchar('\n');
}

int main(int argc, char **argv)
{
    void (*option)(const char *, const char *, const char *) = NULL;
    if (argc == 2 && !strcmp(argv[1], "roff"))
        option = roff_option;
    else if (argc == 2 && !strcmp(argv[1], "markdown"))
        option = markdown_option;
    if (!option) {
        fputs("usage: options-doc roff|markdown\n", stderr);
        return 2;
    }
#define ST_OPT(type, name, def, value, help) option(#name, def, help);
#include "../src/base/options.def"
#undef ST_OPT
    return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
