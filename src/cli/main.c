/* Entry point of the strays CLI: dispatches to its commands and prints
 * help, including the table of STRAYS_OPTIONS. */
#include "cli.h"

#include "base/options.h"
#include "base/st.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: strays COMMAND [ARGS]\n"
    "\n"
    "Finds the threads, POSIX timers and file descriptors a program leaves\n"
    "behind, with the stacks that created them.\n"
    "\n"
    "commands:\n"
    "  run [--json FILE] [--text FILE] [-o OPTION=VALUE]... -- CMD [ARGS]\n"
    "        run CMD (and every process it starts) with the strays preload, print\n"
    "        the reports and, for several processes, one merged summary line\n"
    "  report [--format text|json|junit|sarif|pprof] [--symbolize] [--debug-dir DIR]\n"
    "         [--stack created|current] [--output PATH] FILE.json...\n"
    "        print reports written with format=json, for people, tools or CI\n"
    "        (JUnit XML, SARIF 2.1.0), or as pprof profiles for profiling backends;\n"
    "        --symbolize fills in function, file and line from the binaries' debug\n"
    "        info, matched by build-id\n"
    "  diff [--json] OLD.json NEW.json\n"
    "        what grew and what shrank between two reports, per creation site\n"
    "  dump PID [--wait SECONDS]\n"
    "        ask a process running under strays for a live dump and print it\n"
    "  inspect PID [--format text|json|pprof] [--output FILE] [--no-stacks]\n"
    "        report a process that was NOT started under strays: its threads where\n"
    "        they stand (ptrace), the calls they block in, its fds and timers\n"
    "  help  this text (also --help; `strays COMMAND --help` for one command)\n"
    "\n"
    "exit status:\n"
    "  0   clean: nothing leaked (`dump`: the dump was printed)\n"
    "  23  something leaked (`run`: the command exited 0 but one of its\n"
    "      processes left something behind at exit; the exitcode option)\n"
    "  2   usage error, or a report file that cannot be read or is not a\n"
    "      complete report (the message names the file)\n"
    "  1   strays itself failed (`dump`: no report came)\n"
    "  `run` otherwise exits with the command's own status (128 + N when\n"
    "  signal N killed it); `diff` exits 1 when some site grew.\n"
    "\n"
    "The preload alone: LD_PRELOAD=libstrays.so PROGRAM, configured with\n"
    "STRAYS_OPTIONS=\"key=value:key=value\". Manuals: strays(1), strays(3) for the\n"
    "in-process API, strays-options(7).\n"
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
    if (!strcmp(cmd, "inspect"))
        return cli_inspect(argc - 1, argv + 1);
    cli_error("unknown command '%s' (strays --help lists them)", cmd);
    return CLI_USAGE;
}
