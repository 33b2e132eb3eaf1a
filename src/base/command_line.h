/* The program's name as its command line shows it (argv[0]), read from the
 * process's own memory rather than /proc/self/cmdline: a report of a clean
 * process reads nothing from /proc. */
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

#endif
