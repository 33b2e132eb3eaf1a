/* Entry point of the strays CLI: dispatches to its commands and prints
 * help, including the table of STRAYS_OPTIONS. */
#include "cli.h"

#include "../options.h"
#include "../st.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: strays COMMAND [ARGS]\n"
    "\n"
    "Finds the threads a program leaves behind, with the stacks that created them.\n"
    "\n"
    "commands:\n"
    "  run [--json FILE] [--text FILE] [-o OPTION=VALUE]... -- CMD [ARGS]\n"
    "        run CMD with the strays preload and print its report\n"
    "  report [--format text|json] FILE.json...\n"
    "        print reports written with format=json\n"
    "  diff [--json] OLD.json NEW.json\n"
    "        what grew and what shrank between two reports, per creation site\n"
    "  dump PID [--wait SECONDS]\n"
    "        ask a process running under strays for a live dump and print it\n"
    "  help  this text (also --help; `strays COMMAND --help` for one command)\n"
    "\n"
    "exit status: the command's own for `run` (23 when it succeeded but leaked);\n"
    "`diff`: 0 when no site grew, 1 when one grew, 2 for trouble; otherwise\n"
    "0 clean (for `dump`: printed), 23 leaks found, 2 usage error, 1 internal\n"
    "error (for `dump`: no report came).\n"
    "\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("strays: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void print_help(void)
{
    fputs(usage, stdout);
    fflush(stdout);
    st_options_print_help(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help();
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version")) {
        puts("strays " STRAYS_VERSION);
        return CLI_OK;
    }
    if (!strcmp(cmd, "run"))
        return cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cli_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "diff"))
        return cli_diff(argc - 1, argv + 1);
    if (!strcmp(cmd, "dump"))
        return cli_dump(argc - 1, argv + 1);
    cli_error("unknown command '%s' (strays --help lists them)", cmd);
    return CLI_USAGE;
}
