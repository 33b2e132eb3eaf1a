/* End-to-end: `make install DESTDIR=... PREFIX=/usr` into a temporary
 * directory, then what a user does with it: a program built against the
 * installed header with `pkg-config --cflags --libs strays`, linked with
 * -lstrays and run (its hooks active without LD_PRELOAD), the installed CLI
 * finding its library in ../lib, the manuals, and `make uninstall`; and that
 * every installed piece carries the one version of src/base/st.h. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "../../src/base/st.h" /* STRAYS_VERSION */

#include <criterion/criterion.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs a shell command; returns its exit status, its output (stdout and
 * stderr) in *out (free it). */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *full;
    cr_assert_gt(asprintf(&full, "(%s) 2>&1", cmd), 0);
    FILE *p = popen(full, "r");
    cr_assert_not_null(p);
    size_t len = 0;
    FILE *mem = open_memstream(out, &len);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(mem);
    int status = pclose(p);
    free(full);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The repository: the build directory's parent. */
static void source_root(char *root, size_t len)
{
    snprintf(root, len, "%s", e2e_build_path(""));
    root[strlen(root) - 1] = '\0'; /* the trailing slash */
    char *slash = strrchr(root, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
}

/* Checks that the strays library is linked in, its hooks and API active:
 * clean at first, then one thread left behind, and the exit status 23. */
static const char program[] =
    "#include <strays.h>\n"
    "#include <pthread.h>\n"
    "#include <stdio.h>\n"
    "#include <unistd.h>\n"
    "static void *linger(void *arg) { (void)arg; for (;;) pause(); return NULL; }\n"
    "int main(void)\n"
    "{\n"
    "    struct strays_verify_options now = {.grace_ms = -1};\n"
    "    int before = strays_verify_none(&now);\n"
    "    pthread_t t;\n"
    "    pthread_create(&t, NULL, linger, NULL);\n"
    "    printf(\"%d %d\\n\", before, strays_verify_none(&now));\n"
    "    return 0;\n"
    "}\n";

/* The release is STRAYS_VERSION, and every installed piece says so: the
 * CLI, the pkg-config file, the manuals' .TH lines, and a report written by
 * the installed library (prog, built in dest, leaks a thread). */
static void versions_agree(const char *dest)
{
    char *out;
    int rc = sh(&out, "'%s/usr/bin/strays' --version", dest);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out, "strays " STRAYS_VERSION "\n");
    free(out);
    rc = sh(&out, "grep '^Version:' '%s/usr/lib/pkgconfig/strays.pc'", dest);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_str_eq(out, "Version: " STRAYS_VERSION "\n", "strays.pc: %s", out);
    free(out);
    rc = sh(&out, "cd '%s/usr/share/man' && grep -h '^\\.TH' man1/strays.1 man3/strays.3 "
                  "man7/strays-options.7",
            dest);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_str_eq(out,
                     ".TH STRAYS 1 \"\" \"strays " STRAYS_VERSION "\" \"strays\"\n"
                     ".TH STRAYS 3 \"\" \"strays " STRAYS_VERSION "\" \"strays\"\n"
                     ".TH STRAYS-OPTIONS 7 \"\" \"strays " STRAYS_VERSION "\" \"strays\"\n",
                     "the manuals: %s", out);
    free(out);
    rc = sh(&out, "cd '%s' && env -u LD_PRELOAD STRAYS_OPTIONS=format=json "
                  "LD_LIBRARY_PATH='%s/usr/lib' ./prog",
            dest, dest);
    cr_assert_eq(rc, 23, "status %d:\n%s", rc, out);
    cr_assert_not_null(strstr(out, "{\"tool\":\"strays\",\"version\":\"" STRAYS_VERSION "\","),
                       "the report:\n%s", out);
    free(out);
}

static const char *const installed[] = {
    "usr/bin/strays",
    "usr/lib/libstrays.so",
    "usr/include/strays.h",
    "usr/lib/pkgconfig/strays.pc",
    "usr/share/man/man1/strays.1",
    "usr/share/man/man3/strays.3",
    "usr/share/man/man7/strays-options.7",
};

Test(cli_install, installed_header_pkg_config_and_library_build_and_run_a_program,
     .timeout = 180)
{
    char root[PATH_MAX], dest[256];
    source_root(root, sizeof root);
    e2e_tmpdir(dest, sizeof dest);
    char *out;
    /* The outer make (make test) built everything: -o all keeps this make
     * from rebuilding under tests that are running, and the jobserver of
     * the outer make is not ours to use. */
    int rc = sh(&out, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -o all "
                      "install DESTDIR='%s' PREFIX=/usr",
                root, dest);
    cr_assert_eq(rc, 0, "make install failed:\n%s", out);
    free(out);
    for (size_t i = 0; i < sizeof installed / sizeof installed[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dest, installed[i]);
        cr_assert_eq(access(path, R_OK), 0, "%s was not installed", installed[i]);
    }

    char src[512];
    e2e_write_file(src, sizeof src, dest, "prog.c", program);
    rc = sh(&out, "cd '%s' && export PKG_CONFIG_LIBDIR='%s/usr/lib/pkgconfig' "
                  "PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR='%s' && "
                  "pkg-config --cflags --libs strays && "
                  "cc -std=gnu11 -Wall -Werror -o prog prog.c $(pkg-config --cflags --libs strays) "
                  "-pthread",
            dest, dest, dest);
    cr_assert_eq(rc, 0, "building against the installed strays failed:\n%s", out);
    char flags[1024];
    snprintf(flags, sizeof flags, "-I%s/usr/include -L%s/usr/lib -lstrays", dest, dest);
    cr_assert_not_null(strstr(out, flags), "pkg-config says: %s", out);
    free(out);

    rc = sh(&out, "cd '%s' && env -u LD_PRELOAD -u STRAYS_OPTIONS LD_LIBRARY_PATH='%s/usr/lib' "
                  "./prog",
            dest, dest);
    cr_assert_eq(rc, 23, "status %d:\n%s", rc, out);
    /* stdout is a pipe: "0 1" comes at exit, after the report of the
     * second strays_verify_none on stderr. */
    cr_assert_not_null(strstr(out, "0 1\n"), "output:\n%s", out);
    cr_assert_not_null(strstr(out, "1 thread"), "the exit report:\n%s", out);
    free(out);

    versions_agree(dest);

    /* The installed CLI finds the installed library beside it, in ../lib. */
    rc = sh(&out, "cd '%s' && env -u LD_PRELOAD -u STRAYS_LIB -u STRAYS_OPTIONS "
                  "LD_LIBRARY_PATH='%s/usr/lib' '%s/usr/bin/strays' run -- ./prog",
            dest, dest, dest);
    cr_assert_eq(rc, 23, "status %d:\n%s", rc, out);
    free(out);

    /* The manuals format without warnings, and strays-options(7) lists the
     * options of src/base/options.def. */
    if (system("command -v groff >/dev/null 2>&1") == 0) {
        for (size_t i = 4; i < sizeof installed / sizeof installed[0]; i++) {
            rc = sh(&out, "groff -man -Tutf8 -ww -z '%s/%s'", dest, installed[i]);
            cr_assert_eq(rc, 0);
            cr_assert_str_eq(out, "", "%s: %s", installed[i], out);
            free(out);
        }
    } else {
        cr_log_warn("groff is not installed: the manuals are not checked");
    }
    char page[600];
    snprintf(page, sizeof page, "%s/usr/share/man/man7/strays-options.7", dest);
    char *options = e2e_slurp(page);
    cr_assert_not_null(strstr(options, ".TP\n.B exitcode\nDefault: \\fB23\\fR.\n"));
    cr_assert_not_null(strstr(options, ".TP\n.B symbolize\n"));
    cr_assert_null(strstr(options, "\n@OPTIONS@\n"));
    free(options);

    rc = sh(&out, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s uninstall "
                  "DESTDIR='%s' PREFIX=/usr && find '%s/usr' -type f",
            root, dest, dest);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_str_eq(out, "", "left after make uninstall:\n%s", out);
    free(out);
    e2e_rmdir(dest);
}
