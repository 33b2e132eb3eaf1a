/* Which script a shell runs, from its argument vector: the first word
 * after its options, and none when it takes its commands from -c or stdin. */
#include "base/command_line.h"

#include <criterion/criterion.h>

#define SCRIPT_OF(...)                                                                 \
    st_command_line_script_of(sizeof((char *const[]){__VA_ARGS__}) / sizeof(char *), \
                              (char *const[]){__VA_ARGS__})

static void assert_script(const char *got, const char *want)
{
    if (!want)
        cr_assert_null(got, "a script found: %s", got);
    else {
        cr_assert_not_null(got, "no script found, %s wanted", want);
        cr_assert_str_eq(got, want);
    }
}

Test(command_line, a_shell_on_a_script_names_it)
{
    assert_script(SCRIPT_OF("bash", "build.sh"), "build.sh");
    assert_script(SCRIPT_OF("/bin/sh", "/tmp/x.sh", "arg"), "/tmp/x.sh");
    assert_script(SCRIPT_OF("-bash", "login.sh"), "login.sh");
    assert_script(SCRIPT_OF("/usr/bin/dash", "-e", "-x", "s.sh", "input.txt"), "s.sh");
    assert_script(SCRIPT_OF("bash", "--norc", "+e", "s.sh"), "s.sh");
    assert_script(SCRIPT_OF("bash", "-o", "pipefail", "s.sh"), "s.sh");
    assert_script(SCRIPT_OF("zsh", "--", "-odd-name.sh"), "-odd-name.sh");
    assert_script(SCRIPT_OF("sh", "+", "s.sh"), "s.sh");
    assert_script(SCRIPT_OF("bash", "-O", "extglob", "s.sh"), "s.sh");
}

Test(command_line, commands_from_c_or_stdin_and_other_programs_have_none)
{
    assert_script(SCRIPT_OF("bash", "-c", "echo hi", "name"), NULL);
    assert_script(SCRIPT_OF("sh", "-ec", "make all"), NULL);
    assert_script(SCRIPT_OF("sh", "-s", "arg"), NULL);
    assert_script(SCRIPT_OF("sh", "-"), NULL);
    assert_script(SCRIPT_OF("bash"), NULL);
    assert_script(SCRIPT_OF("bash", "-x"), NULL);
    assert_script(SCRIPT_OF("python3", "script.py"), NULL);
    assert_script(SCRIPT_OF("cat", "file"), NULL);
    assert_script(SCRIPT_OF("bashful", "s.sh"), NULL);
}
