/* argv[0] from memory; see command_line.h. The argument and environment
 * strings lie one after the other at the top of the initial stack, which
 * stays mapped for the life of the process; a read stops at the end of the
 * last of them as they were at start, so a name rewritten without its NUL
 * can never lead it past them. */
#include "base/command_line.h"

#include <errno.h>
#include <string.h>

static const char *name_start;
static const char *strings_end; /* one past the last string's NUL at start */

void st_command_line_remember(int argc, char **argv, char **envp)
{
    if (argc < 1 || !argv || !argv[0])
        return;
    const char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    for (char **e = envp; e && *e; e++)
        if (*e > argv[0] && *e + strlen(*e) + 1 > end)
            end = *e + strlen(*e) + 1;
    strings_end = end;
    __atomic_store_n(&name_start, argv[0], __ATOMIC_RELEASE);
}

long st_command_line_name(char *buf, size_t len)
{
    const char *start = __atomic_load_n(&name_start, __ATOMIC_ACQUIRE);
    if (!start || len == 0)
        return -ENOENT;
    size_t room = (size_t)(strings_end - start);
    if (room > len - 1)
        room = len - 1;
    size_t n = 0;
    while (n < room && start[n])
        n++;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return (long)n;
}
