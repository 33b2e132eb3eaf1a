/* argv[0] and a shell's script from memory; see command_line.h. The
 * argument and environment strings lie one after the other at the top of
 * the initial stack, which stays mapped for the life of the process; a read
 * stops at the end of the last of them as they were at start, so a name
 * rewritten without its NUL can never lead it past them. */
#include "base/command_line.h"

#include "base/st.h"
#include "base/text.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

ST_HOT_DATA static const char *name_start;
ST_HOT_DATA static const char *strings_end; /* one past the last string's NUL at start */
ST_HOT_DATA static const char *shell_script; /* found at start: argv may be rewritten later */

/* One past the NUL of the string that lies highest of those in list, among
 * those above floor: the strings lie in order, so one string is measured,
 * not every one of them. */
ST_EVERY_PROCESS
static const char *end_of_highest(char *const *list, const char *floor, const char *end)
{
    const char *highest = NULL;
    for (char *const *e = list; e && *e; e++)
        if (*e > floor && (!highest || *e > highest))
            highest = *e;
    if (highest && highest + st_text_len(highest) + 1 > end)
        end = highest + st_text_len(highest) + 1;
    return end;
}

ST_EVERY_PROCESS
void st_command_line_remember(int argc, char **argv, char **envp)
{
    if (argc < 1 || !argv || !argv[0])
        return;
    shell_script = st_command_line_script_of(argc, argv);
    const char *end = end_of_highest(argv, argv[0], argv[0] + st_text_len(argv[0]) + 1);
    strings_end = end_of_highest(envp, argv[0], end);
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
ST_EVERY_PROCESS
static bool is_shell(const char *argv0)
{
    /* Beside the start code (ST_EVERY_PROCESS_DATA): every shell reads them. */
    static const char shells[][8] ST_EVERY_PROCESS_DATA = {
        "sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "ash", "yash", "posh", "busybox"};
    const char *base = argv0;
    for (const char *p = argv0; *p; p++) /* strrchr, by hand: see text.h */
        if (*p == '/')
            base = p + 1;
    if (*base == '-') /* a login shell */
        base++;
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++)
        if (st_text_eq(base, shells[i]))
            return true;
    return false;
}

/* Whether a cluster of short options holds -c or -s. */
ST_EVERY_PROCESS
static bool has_c_or_s(const char *options)
{
    for (const char *p = options; *p; p++)
        if (*p == 'c' || *p == 's')
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
        /* Characters, not strings: a string constant would be read from
         * .rodata, a window of strays' file touched by every shell. */
        if (word[0] == '-' && word[1] == '-' && word[2] == '\0')
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (word[0] != '-' && word[0] != '+')
            return word;
        if ((word[0] == '-' && word[1] == '\0') || (word[1] != '-' && has_c_or_s(word + 1)))
            return NULL; /* commands from -c's string or from stdin */
        if ((word[1] == 'o' || word[1] == 'O') && word[2] == '\0' && i + 1 < argc)
            i++; /* "-o pipefail": the option's name is no script */
    }
    return NULL;
}

const char *st_command_line_shell_script(void) { return shell_script; }
