/* The program's name as its command line shows it (argv[0]), and the script
 * a shell runs, read from the process's own memory rather than
 * /proc/self/cmdline: a report of a clean process reads nothing from /proc. */
#ifndef STRAYS_COMMAND_LINE_H
#define STRAYS_COMMAND_LINE_H

#include <stddef.h>

/* Remembers where the argument strings lie (the preload's constructor, which
 * glibc calls with main's arguments). */
void st_command_line_remember(int argc, char **argv, char **envp);
/* argv[0] as it is now (a program may rewrite it, as setproctitle does)
 * into buf, NUL-terminated. Returns its length, or -ENOENT when nothing
 * was remembered. Async-signal-safe. */
long st_command_line_name(char *buf, size_t len);
/* When the program is a shell (sh, bash, dash, zsh, ksh...: argv[0]'s base
 * name) started on a script ("bash -e build.sh", or a "#!/bin/sh" script
 * run by name), that script's path as its command line gives it: the first
 * word after the shell's options. NULL for a shell given its commands with
 * -c or on stdin, and for any other program. A shell keeps its script open
 * while it runs (bash on fd 255, dash on fd 10 and up), by design. */
const char *st_command_line_shell_script(void);
/* The same, from an argument vector (what the above applies to the one
 * remembered at start); for tests. */
const char *st_command_line_script_of(int argc, char *const *argv);

#endif
