/* End-to-end: strays' files in hostile places (symlinks planted at the
 * names it will use, shared directories, a full disk), secure-execution
 * processes (setuid), and `strays run` on programs the loader will not
 * preload strays into (static, setuid, file capabilities, scripts run by
 * one). These tests run as root, as the suite does: they make files owned
 * by another user and mount a tmpfs; each skips when it cannot. */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_cli.h"

#include "report/report_parse.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VICTIM_TEXT "the victim's own content\n"

/* ------------------------------------------------------------ harness */

struct proc {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
};

/* Symlinks the child plants just before exec, when it knows the pid the
 * program will have: names are formats with one %d for that pid. */
struct plant {
    const char *name_fmt[4];
    const char *target[4];
};

static void plant_now(const struct plant *p)
{
    for (int i = 0; p && i < 4 && p->name_fmt[i]; i++) {
        char name[600];
        snprintf(name, sizeof name, p->name_fmt[i], (int)getpid());
        if (symlink(p->target[i], name) != 0)
            _exit(120);
    }
}

/* Runs argv with STRAYS_OPTIONS and LD_PRELOAD exactly as given (NULL:
 * unset), stdout and stderr captured, after planting p's symlinks. */
static void run_prog(struct proc *r, const char *const *argv, const char *preload,
                     const char *options, const struct plant *p)
{
    char dir[256], out[300], err[300];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(121);
        closefrom(3);
        unsetenv("BXFI_MAP");
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        if (options)
            setenv("STRAYS_OPTIONS", options, 1);
        else
            unsetenv("STRAYS_OPTIONS");
        plant_now(p);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    cr_assert(e2e_wait_exit(pid, 60000, &ws), "%s hung: killed after 60 s", argv[0]);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = e2e_slurp(out);
    r->err = e2e_slurp(err);
    e2e_rmdir(dir);
}

static void proc_free(struct proc *r)
{
    free(r->out);
    free(r->err);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Names in dir, sorted, one per line ("" when empty). */
static char *listing(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "LC_ALL=C ls -A '%s'", dir);
    FILE *p = popen(cmd, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, n, mem);
    pclose(p);
    fclose(mem);
    return text;
}

static uid_t nobody_uid(void)
{
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        cr_skip_test("no user nobody");
    return pw->pw_uid;
}

static void need_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (files owned by another user)");
}

/* The number after the first `prefix` in text (the pid in a file name). */
static int pid_after(const char *text, const char *prefix)
{
    const char *at = strstr(text, prefix);
    int pid = 0;
    cr_assert(at && sscanf(at + strlen(prefix), "%d", &pid) == 1, "no pid in:\n%s", text);
    return pid;
}

/* fd_error_path_leak leaks one fd, prints "setting: -1" and exits 0. */
#define LEAKY "fixtures/fd_error_path_leak"
#define LEAKY_OUT "setting: -1\n"

static void run_leaky(struct proc *r, const char *options, const struct plant *p)
{
    run_prog(r, (const char *const[]){e2e_build_path(LEAKY), NULL}, e2e_build_path("libstrays.so"), options, p);
}

/* ------------------------------------------------ report file creation */

Test(security_files, a_report_file_is_0600_by_default_and_file_mode_sets_it_exactly)
{
    char dir[256], opts[600], path[600];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r", dir);
    mode_t old_umask = umask(0); /* the mode must not depend on the umask */
    struct proc r;
    run_leaky(&r, opts, NULL);
    cr_assert_eq(r.status, 23);
    cr_assert_str_eq(r.out, LEAKY_OUT);
    cr_assert_str_eq(r.err, "");
    char *names = listing(dir);
    cr_assert_eq(strlen(names) > 0, true);
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)strcspn(names, "\n"), names);
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);

    e2e_tmpdir(dir, sizeof dir);
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r:file_mode=0644", dir);
    umask(077);
    run_leaky(&r, opts, NULL);
    umask(old_umask);
    cr_assert_eq(r.status, 23);
    names = listing(dir);
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)strcspn(names, "\n"), names);
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644, "mode %o", st.st_mode & 07777);
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);
}

/* The names strays will try first are taken by symlinks to a file the
 * program's user must not overwrite: strays never writes through them. */
static void symlinks_planted(const char *final_or_tmp)
{
    char dir[256], opts[600], victim[400], fmt[500], expected[600];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    write_text(victim, VICTIM_TEXT);
    snprintf(fmt, sizeof fmt, "%s/r.%%d.0.json%s", dir, final_or_tmp);
    struct plant p = {{fmt}, {victim}};
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r", dir);
    struct proc r;
    run_leaky(&r, opts, &p);
    cr_assert_eq(r.status, 23, "stderr:\n%s", r.err);
    cr_assert_str_eq(r.out, LEAKY_OUT);
    cr_assert_str_eq(r.err, "");
    char *text = e2e_slurp(victim);
    cr_assert_str_eq(text, VICTIM_TEXT);
    free(text);
    /* The planted link is still a link, and the report took the next name. */
    char *names = listing(dir);
    int pid = 0;
    cr_assert_eq(sscanf(names, "r.%d.", &pid), 1, "%s", names);
    snprintf(expected, sizeof expected, "r.%d.0.json%s\nr.%d.1.json\nvictim\n", pid,
             final_or_tmp, pid);
    cr_assert_str_eq(names, expected);
    char report[600];
    snprintf(report, sizeof report, "%s/r.%d.1.json", dir, pid);
    struct st_report loaded;
    char err[700];
    cr_assert_eq(st_report_load(&loaded, report, err, sizeof err), 0, "%s", err);
    cr_assert_eq(loaded.nfds, 1);
    st_report_free(&loaded);
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);
}

Test(security_files, a_symlink_planted_at_the_final_name_is_left_alone_and_not_followed)
{
    symlinks_planted("");
}

Test(security_files, a_symlink_planted_at_the_temporary_name_is_left_alone_and_not_followed)
{
    symlinks_planted(".tmp");
}

Test(security_files, a_dangling_symlink_at_the_final_name_creates_nothing_through_it)
{
    char dir[256], opts[600], target[400], fmt[500];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/created-through-link", dir);
    snprintf(fmt, sizeof fmt, "%s/r.%%d.0.json", dir);
    struct plant p = {{fmt}, {target}};
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r", dir);
    struct proc r;
    run_leaky(&r, opts, &p);
    cr_assert_eq(r.status, 23);
    cr_assert_str_eq(r.err, "");
    cr_assert_eq(access(target, F_OK), -1, "a file was created through the symlink");
    char *names = listing(dir);
    cr_assert_not_null(strstr(names, ".1.json\n"), "%s", names);
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);
}

Test(security_files, a_directory_anyone_can_write_without_sticky_bit_is_refused_report_on_stderr)
{
    char dir[256], opts[600], expected[6000];
    e2e_tmpdir(dir, sizeof dir);
    cr_assert_eq(chmod(dir, 0777), 0);
    snprintf(opts, sizeof opts, "log_path=%s/r", dir);
    struct proc r;
    run_leaky(&r, opts, NULL);
    cr_assert_eq(r.status, 23, "the program's status is unchanged");
    cr_assert_str_eq(r.out, LEAKY_OUT);
    int pid = pid_after(r.err, "/r.");
    snprintf(expected, sizeof expected,
             "strays: cannot create report file %s/r.%d.*: %s can be written by anyone and has "
             "no sticky bit, so anyone could replace strays' files there (chmod +t it, or use "
             "another directory); writing the report to stderr instead\n"
             "strays: report (exit, status 0) of %s (pid %d)\n",
             dir, pid, dir, e2e_build_path(LEAKY), pid);
    cr_assert_eq(strncmp(r.err, expected, strlen(expected)), 0, "got:\n%s\nexpected:\n%s", r.err,
                 expected);
    cr_assert_not_null(strstr(r.err, "1 fd (file /etc/hostname) opened at:"), "%s", r.err);
    char *names = listing(dir);
    cr_assert_str_eq(names, "");
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);
}

/* /tmp-like: sticky, anyone can write. A symlink there owned by another
 * user, leading to a directory of root's, is not followed; one owned by
 * strays' own user is. */
Test(security_files, a_symlink_in_a_shared_sticky_directory_is_followed_only_if_trusted)
{
    need_root();
    uid_t nobody = nobody_uid();
    char shared[256], target[256], link[400], opts[600];
    e2e_tmpdir(shared, sizeof shared);
    e2e_tmpdir(target, sizeof target);
    cr_assert_eq(chmod(shared, 01777), 0);
    snprintf(link, sizeof link, "%s/reports", shared);
    cr_assert_eq(symlink(target, link), 0);
    cr_assert_eq(lchown(link, nobody, (gid_t)-1), 0);
    snprintf(opts, sizeof opts, "log_path=%s/r", link);
    struct proc r;
    run_leaky(&r, opts, NULL);
    cr_assert_eq(r.status, 23);
    cr_assert_str_eq(r.out, LEAKY_OUT);
    char expected[800];
    snprintf(expected, sizeof expected,
             ": %s is a symlink in a directory anyone can write to, owned by uid %u (neither "
             "strays' user nor the directory's owner): not followed; writing the report to "
             "stderr instead\nstrays: report (exit, status 0) of ",
             link, (unsigned)nobody);
    cr_assert_not_null(strstr(r.err, expected), "%s", r.err);
    char *names = listing(target);
    cr_assert_str_eq(names, "", "nothing written through the link");
    free(names);
    proc_free(&r);

    /* The twin: the same link owned by strays' user (root) is followed. */
    cr_assert_eq(lchown(link, 0, (gid_t)-1), 0);
    run_leaky(&r, opts, NULL);
    cr_assert_eq(r.status, 23);
    cr_assert_str_eq(r.err, "");
    names = listing(target);
    cr_assert_not_null(strstr(names, ".txt\n"), "%s", names);
    free(names);
    proc_free(&r);
    e2e_rmdir(shared);
    e2e_rmdir(target);
}

/* ------------------------------------------------------------- metrics */

static void run_dumping(struct proc *r, const char *metrics, const struct plant *p)
{
    char opts[1200];
    snprintf(opts, sizeof opts, "dump_interval=100ms:metrics_path=%s:exitcode=0:log_path=%s.rep",
             metrics, metrics);
    run_prog(r, (const char *const[]){e2e_build_path("fixtures/dump_interval_workers"), NULL},
             e2e_build_path("libstrays.so"), opts, p);
}

Test(security_files, metrics_replace_a_planted_symlink_and_skip_a_planted_temporary_name)
{
    char dir[256], metrics[400], victim[400], victim2[400], tmp_fmt[500];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(metrics, sizeof metrics, "%s/strays.prom", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(victim2, sizeof victim2, "%s/victim2", dir);
    write_text(victim, VICTIM_TEXT);
    write_text(victim2, VICTIM_TEXT);
    cr_assert_eq(symlink(victim, metrics), 0);
    snprintf(tmp_fmt, sizeof tmp_fmt, "%s/strays.prom.%%d.0.tmp", dir);
    struct plant p = {{tmp_fmt}, {victim2}};
    struct proc r;
    run_dumping(&r, metrics, &p);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "worked\n");
    cr_assert_str_eq(r.err, "");
    char *text = e2e_slurp(victim);
    cr_assert_str_eq(text, VICTIM_TEXT, "written through the symlink at metrics_path");
    free(text);
    text = e2e_slurp(victim2);
    cr_assert_str_eq(text, VICTIM_TEXT, "written through the symlink at the temporary name");
    free(text);
    struct stat st;
    cr_assert_eq(lstat(metrics, &st), 0);
    cr_assert(S_ISREG(st.st_mode), "the symlink was replaced by the metrics file");
    cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
    text = e2e_slurp(metrics);
    cr_assert_not_null(strstr(text, "strays_threads{state=\"blocked\"}"), "%s", text);
    free(text);
    proc_free(&r);
    e2e_rmdir(dir);
}

Test(security_files, metrics_in_a_directory_anyone_can_write_are_refused_once)
{
    char dir[256], metrics[400], expected[2000];
    e2e_tmpdir(dir, sizeof dir);
    char reports[256];
    e2e_tmpdir(reports, sizeof reports);
    cr_assert_eq(chmod(dir, 0777), 0);
    snprintf(metrics, sizeof metrics, "%s/strays.prom", dir);
    char opts[900];
    snprintf(opts, sizeof opts, "dump_interval=100ms:metrics_path=%s:exitcode=0:log_path=%s/r",
             metrics, reports);
    struct proc r;
    run_prog(&r, (const char *const[]){e2e_build_path("fixtures/dump_interval_workers"), NULL},
             e2e_build_path("libstrays.so"), opts, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "worked\n");
    /* Said once, however many dumps failed to write it. */
    snprintf(expected, sizeof expected,
             "strays: cannot write metrics file %s: %s can be written by anyone and has no "
             "sticky bit, so anyone could replace strays' files there (chmod +t it, or use "
             "another directory)\n",
             metrics, dir);
    cr_assert_str_eq(r.err, expected);
    char *names = listing(dir);
    cr_assert_str_eq(names, "");
    free(names);
    proc_free(&r);
    e2e_rmdir(dir);
    e2e_rmdir(reports);
}

/* ----------------------------------------------------------- full disk */

Test(security_disk, a_full_disk_leaves_no_report_file_and_the_report_goes_to_stderr)
{
    need_root();
    char mnt[256], opts[600], filler[400];
    e2e_tmpdir(mnt, sizeof mnt);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0) {
        e2e_rmdir(mnt);
        cr_skip_test("cannot mount a tmpfs here: %s", strerror(errno));
    }
    /* Fill it: the report's file can be created, not written. */
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    char block[4096] = {0};
    while (write(fd, block, sizeof block) > 0)
        ;
    close(fd);
    snprintf(opts, sizeof opts, "format=json:log_path=%s/r", mnt);
    struct proc r;
    run_prog(&r, (const char *const[]){e2e_build_path("fixtures/exit_status_from_arg"), "3", NULL},
             e2e_build_path("libstrays.so"), opts, NULL);
    char *names = listing(mnt);
    umount(mnt);
    e2e_rmdir(mnt);
    cr_assert_eq(r.status, 3, "the program's own status");
    cr_assert_str_eq(r.out, "");
    cr_assert_str_eq(names, "filler\n", "no report file, whole or partial");
    int pid = pid_after(r.err, "/r.");
    char expected[800];
    snprintf(expected, sizeof expected,
             "strays: cannot write report file %s/r.%d.0.json: No space left on device; removed "
             "the incomplete file, writing the report to stderr instead\n"
             "{\"tool\":\"strays\",",
             mnt, pid);
    cr_assert_eq(strncmp(r.err, expected, strlen(expected)), 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "\"fds\":[\n {\"fd\":3,\"kind\":\"file\",\"target\":\"/etc/hostname\""),
                       "%s", r.err);
    free(names);
    proc_free(&r);
}

/* ------------------------------------------------- secure execution */

#define SECURE_DIR "/etc/strays"
#define SECURE_FILE SECURE_DIR "/setuid-options"

/* A set-user-ID copy of security_dlopen_strays owned by nobody: run by
 * root, it runs as nobody with AT_SECURE set. */
static void setuid_copy(char *dir, size_t len, char *prog, size_t prog_len)
{
    uid_t nobody = nobody_uid();
    e2e_tmpdir(dir, len);
    e2e_copy_from_build(prog, prog_len, dir, "fixtures/security_dlopen_strays", "prog");
    cr_assert_eq(chown(prog, nobody, (gid_t)-1), 0);
    cr_assert_eq(chmod(prog, 04755), 0);
}

/* Reports that nobody could write where the environment says. */
static void nobodys_dir(const char *parent, char *dir, size_t len)
{
    snprintf(dir, len, "%s/reports", parent);
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(chown(dir, nobody_uid(), (gid_t)-1), 0);
}

/* The copy runs as nobody: it loads the copy of the library in dir. */
static void run_setuid(struct proc *r, const char *prog, const char *lib, const char *reports)
{
    char opts[1200];
    snprintf(opts, sizeof opts, "log_path=%s/env:format=json:verbosity=2:help=1:metrics_path=%s/m:"
                                "dump_interval=10ms",
             reports, reports);
    run_prog(r, (const char *const[]){prog, lib, NULL}, NULL, opts, NULL);
}

Test(security_setuid, strays_does_nothing_in_a_setuid_program_unless_root_allows_it)
{
    need_root();
    struct stat st;
    if (lstat(SECURE_FILE, &st) == 0)
        cr_skip_test(SECURE_FILE " exists on this machine; not touching it");
    char dir[256], prog[400], lib[400], reports[400];
    setuid_copy(dir, sizeof dir, prog, sizeof prog);
    e2e_copy_from_build(lib, sizeof lib, dir, "libstrays.so", "libstrays.so");
    nobodys_dir(dir, reports, sizeof reports);

    /* Not allowed: nothing read from the environment, nothing written,
     * nothing said; the program runs as without strays. */
    struct proc r;
    run_setuid(&r, prog, lib, reports);
    cr_assert_eq(r.status, 7);
    cr_assert_str_eq(r.out, "secure=1\n", "the copy runs in secure execution");
    cr_assert_str_eq(r.err, "");
    char *names = listing(reports);
    cr_assert_str_eq(names, "");
    free(names);
    proc_free(&r);

    /* Allowed by root's file: its options apply, STRAYS_OPTIONS does not. */
    bool made_dir = mkdir(SECURE_DIR, 0755) == 0;
    char text[600];
    snprintf(text, sizeof text, "log_path=%s/file:format=json\n", reports);
    write_text(SECURE_FILE, text);
    cr_assert_eq(chmod(SECURE_FILE, 0644), 0);
    run_setuid(&r, prog, lib, reports);
    char *allowed = listing(reports);
    proc_free(&r);

    /* A file others could have written allows nothing. */
    cr_assert_eq(chmod(SECURE_FILE, 0664), 0);
    run_setuid(&r, prog, lib, reports);
    char *group_writable = listing(reports);

    unlink(SECURE_FILE);
    if (made_dir)
        rmdir(SECURE_DIR);
    cr_assert_eq(r.status, 7);
    cr_assert_str_eq(r.err, "");
    cr_assert_eq(strncmp(allowed, "file.", 5), 0, "a report where the file says: %s", allowed);
    cr_assert_eq(strchr(allowed, '\n'), allowed + strlen(allowed) - 1, "one report: %s", allowed);
    cr_assert_str_eq(group_writable, allowed, "nothing more with a group-writable file");
    free(allowed);
    free(group_writable);
    proc_free(&r);
    e2e_rmdir(dir);
}

/* -------------------------------------------- strays run: no way in */

#define RUN_WARNING_TAIL                                                                       \
    ": the loader will not preload strays into it, so it runs without strays and no report "   \
    "will come from it (its exit status is passed on as it is)\n"

Test(security_run, a_static_program_is_named_and_runs_with_its_own_status_and_output)
{
    struct e2e_cli run;
    const char *prog = e2e_build_path("fixtures/security_static");
    e2e_cli_run(&run, (const char *const[]){"run", "--", prog, "3", NULL});
    char expected[4600];
    snprintf(expected, sizeof expected, "strays: run: %s is statically linked" RUN_WARNING_TAIL,
             prog);
    cr_assert_str_eq(run.err, expected);
    cr_assert_str_eq(run.out, "static program ran\n");
    cr_assert_eq(run.status, 3);
    e2e_cli_free(&run);
    /* Status 0 stays 0: nothing was checked, so nothing leaked. */
    e2e_cli_run(&run, (const char *const[]){"run", "--", prog, NULL});
    cr_assert_eq(run.status, 0);
    cr_assert_str_eq(run.err, expected);
    e2e_cli_free(&run);
}

Test(security_run, a_script_whose_interpreter_is_static_names_the_interpreter)
{
    char dir[256], script[400], text[4200];
    e2e_tmpdir(dir, sizeof dir);
    snprintf(text, sizeof text, "#!%s 4\n", e2e_build_path("fixtures/security_static"));
    e2e_write_file(script, sizeof script, dir, "s.sh", text);
    cr_assert_eq(chmod(script, 0755), 0);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--", script, NULL});
    char expected[9000];
    snprintf(expected, sizeof expected,
             "strays: run: %s (the interpreter of %s) is statically linked" RUN_WARNING_TAIL,
             e2e_build_path("fixtures/security_static"), script);
    cr_assert_str_eq(run.err, expected);
    cr_assert_str_eq(run.out, "static program ran\n");
    cr_assert_eq(run.status, 4, "the status the #! line's argument asks for");
    e2e_cli_free(&run);

    /* The twin: a shell script (a dynamic /bin/sh) gets no warning. */
    e2e_write_file(script, sizeof script, dir, "t.sh", "#!/bin/sh\nexit 5\n");
    cr_assert_eq(chmod(script, 0755), 0);
    e2e_cli_run(&run, (const char *const[]){"run", "--", script, NULL});
    cr_assert_null(strstr(run.err, "the loader will not"), "%s", run.err);
    /* strays was there: the script's own fd, which the shell keeps, left out. */
    cr_assert_not_null(strstr(run.err, "strays: no leaks (1 suppressed) (pid "), "%s", run.err);
    cr_assert_not_null(strstr(run.err, ", /bin/sh)"), "%s", run.err);
    cr_assert_eq(run.status, 5);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(security_run, a_setuid_program_is_named_and_runs_with_its_own_status)
{
    need_root();
    char dir[256], prog[400];
    e2e_tmpdir(dir, sizeof dir);
    e2e_copy_from_build(prog, sizeof prog, dir, "fixtures/exit_status_from_arg", "setuid_exit");
    cr_assert_eq(chown(prog, nobody_uid(), (gid_t)-1), 0);
    cr_assert_eq(chmod(prog, 04755), 0);
    struct e2e_cli run;
    e2e_cli_run(&run, (const char *const[]){"run", "--", prog, "4", NULL});
    char expected[1000];
    snprintf(expected, sizeof expected, "strays: run: %s is set-user-ID" RUN_WARNING_TAIL, prog);
    cr_assert_str_eq(run.err, expected);
    cr_assert_eq(run.status, 4);
    e2e_cli_free(&run);

    /* Owned by the user who runs it, the bit changes nothing: no warning,
     * and strays is there (the leaked fd makes status 23). */
    cr_assert_eq(chown(prog, 0, (gid_t)-1), 0);
    cr_assert_eq(chmod(prog, 04755), 0);
    e2e_cli_run(&run, (const char *const[]){"run", "--", prog, NULL});
    cr_assert_eq(run.status, 23, "%s", run.err);
    cr_assert_null(strstr(run.err, "set-user-ID"), "%s", run.err);
    e2e_cli_free(&run);
    e2e_rmdir(dir);
}

Test(security_run, a_program_with_file_capabilities_is_named_for_a_user_without_them)
{
    need_root();
    if (access("/usr/sbin/setcap", X_OK) != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs setcap (libcap2-bin) and setpriv (util-linux)");
    char dir[256], prog[400], cli[400], lib[400], cmd[600];
    e2e_tmpdir(dir, sizeof dir);
    /* nobody runs the CLI, which finds the library beside itself. */
    e2e_copy_from_build(cli, sizeof cli, dir, "strays", "strays");
    e2e_copy_from_build(lib, sizeof lib, dir, "libstrays.so", "libstrays.so");
    e2e_copy_from_build(prog, sizeof prog, dir, "fixtures/exit_status_from_arg", "capable");
    snprintf(cmd, sizeof cmd, "/usr/sbin/setcap cap_net_raw+ep '%s'", prog);
    if (system(cmd) != 0) {
        e2e_rmdir(dir);
        cr_skip_test("setcap failed (no file capabilities on this file system?)");
    }
    struct proc r;
    run_prog(&r,
             (const char *const[]){"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                   "--clear-groups", cli, "run", "--", prog, "6", NULL},
             NULL, NULL, NULL);
    char expected[1000];
    snprintf(expected, sizeof expected, "strays: run: %s has file capabilities" RUN_WARNING_TAIL,
             prog);
    cr_assert_str_eq(r.err, expected);
    cr_assert_eq(r.status, 6);
    proc_free(&r);
    e2e_rmdir(dir);
}
