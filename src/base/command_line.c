/* argv[0] and a shell's script from memory; see command_line.h. The
 * argument and environment strings lie one after the other at the top of
 * the initial stack, which stays mapped for the life of the process; a read
 * stops at the end of the last of them as they were at start, so a name
 * rewritten without its NUL can never lead it past them. */
#include "base/command_line.h"

#include "base/st.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char *name_start;
static const char *strings_end; /* one past the last string's NUL at start */
static const char *shell_script; /* found at start: argv may be rewritten later */

ST_EVERY_PROCESS
void st_command_line_remember(int argc, char **argv, char **envp)
{
    if (argc < 1 || !argv || !argv[0])
        return;
    shell_script = st_command_line_script_of(argc, argv);
    const char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    for (char **e = envp; e && *e; e++)
        if (*e > argv[0] && *e + strlen(*e) + 1 > end)
            end = *e + strlen(*e) + 1;
    strings_end = end;
    __atomic_store_n(&name_start, argv[0], __ATOMIC_RELEASE);
}

ST_EVERY_REPORT
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

/* Shells that keep the script they run open (each reads it as it goes). */
static bool is_shell(const char *argv0)
{
    static const char *const shells[] = {"sh",   "bash", "dash", "zsh",  "ksh",  "ksh93",
                                         "mksh", "ash",  "yash", "posh", "busybox"};
    const char *slash = strrchr(argv0, '/');
    const char *base = slash ? slash + 1 : argv0;
    if (*base == '-') /* a login shell */
        base++;
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++)
        if (!strcmp(base, shells[i]))
            return true;
    return false;
}

ST_EVERY_PROCESS
const char *st_command_line_script_of(int argc, char *const *argv)
{
    if (argc < 2 || !argv || !argv[0] || !is_shell(argv[0]))
        return NULL;
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *word = argv[i];
        if (!strcmp(word, "--"))
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (word[0] != '-' && word[0] != '+')
            return word;
        if (!strcmp(word, "-") || (word[1] != '-' && strpbrk(word + 1, "cs")))
            return NULL; /* commands from -c's string or from stdin */
        if ((!strcmp(word + 1, "o") || !strcmp(word + 1, "O")) && i + 1 < argc)
            i++; /* "-o pipefail": the option's name is no script */
    }
    return NULL;
}

const char *st_command_line_shell_script(void) { return shell_script; }
