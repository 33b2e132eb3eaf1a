/* `strays run`: runs a command with the preload, collects the JSON reports
 * it writes into a private directory, prints them, and exits with the
 * command's status (23 when it succeeded but leaked). */
#define _GNU_SOURCE
#include "cli.h"

#include "base/options.h"
#include "report/report_parse.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: strays run [--json FILE] [--text FILE] [-o OPTION=VALUE]... [--] CMD [ARGS]\n"
    "Runs CMD with libstrays.so preloaded (prepended to any LD_PRELOAD; found\n"
    "beside the strays executable, in ../lib, or at $STRAYS_LIB). The preload is\n"
    "inherited: every process CMD starts writes its own report, and all of them\n"
    "are collected and given the files and lines that separate debug files know\n"
    "(read once per module for the whole run). Then it prints on stderr (or to\n"
    "--text FILE) the text report of each process that left something behind\n"
    "and, when there were several processes, one summary line for all of them:\n"
    "  strays: 3 processes, 1 leaked: ./worker (pid 812): 2 threads, 1 fd\n"
    "--json FILE copies the JSON report of CMD's own process to FILE.\n"
    "-o passes an option as in STRAYS_OPTIONS (strays --help lists them);\n"
    "format and log_path are the run command's own to set.\n"
    "Exit status: CMD's own (128 + N when a signal N killed it); when CMD exited\n"
    "0 but any of its processes left a thread, timer or fd behind at exit, the\n"
    "exitcode option (23). Live dumps and crash reports are not leaks. 2 for a\n"
    "bad argument, 1 when strays itself fails (no libstrays.so, say).\n"
    "Every process CMD starts keeps its own exit status (exitcode_for=run), so\n"
    "make, shells and test runners see what they would without strays; the\n"
    "verdict is the run's alone. Processes still running when CMD has ended (a\n"
    "daemon) are named on stderr; their leaks are not in the verdict, and each\n"
    "says, when it exits, that it outlived the run, with its report in text.\n"
    "A CMD that is statically linked, setuid, setgid or has file capabilities\n"
    "(or a script whose #! interpreter is) runs without strays: the loader will\n"
    "not preload it. run says so on stderr first, then runs CMD all the same\n"
    "and exits with its status.\n";

struct run_args {
    const char *json_path;
    const char *text_path;
    char options[4096];
    int exitcode;
    int dump_signal; /* forwarded to the command, as the dump signals of its processes */
    char **command;
};

static pid_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

static void ignore_option_error(void *ctx, const char *message)
{
    (void)ctx;
    (void)message;
}

static void report_bad_option(void *ctx, const char *message)
{
    (void)ctx;
    cli_error("run: -o: %s", message);
}

/* Checks opt with the preload's own parser, so a bad one is reported once,
 * here, and dropped: the command still runs, with that option's default. */
static int add_option(struct run_args *a, const char *opt)
{
    if (!strncmp(opt, "log_path=", 9) || !strncmp(opt, "format=", 7)) {
        cli_error("run: -o %s: the run command sets log_path and format itself; use --json "
                  "FILE or --text FILE",
                  opt);
        return -1;
    }
    if (!strncmp(opt, "exitcode_for=", 13)) {
        cli_error("run: -o %s: under the run command every process keeps its own status and "
                  "the run gives the verdict for all of them (-o exitcode=N sets its status)",
                  opt);
        return -1;
    }
    struct st_options parsed;
    st_options_defaults(&parsed);
    st_options_parse(&parsed, getenv("STRAYS_OPTIONS"), report_bad_option, NULL);
    if (st_options_parse(&parsed, opt, report_bad_option, NULL) != 0)
        return 0;
    a->exitcode = parsed.exitcode;
    a->dump_signal = parsed.dump_signal;
    size_t used = strlen(a->options);
    if (used + strlen(opt) + 2 >= sizeof a->options) {
        cli_error("run: too many -o options");
        return -1;
    }
    snprintf(a->options + used, sizeof a->options - used, "%s%s", used ? ":" : "", opt);
    return 0;
}

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    memset(a, 0, sizeof *a);
    struct st_options env_options; /* the preload reports bad ones itself */
    st_options_defaults(&env_options);
    st_options_parse(&env_options, getenv("STRAYS_OPTIONS"), ignore_option_error, NULL);
    a->exitcode = env_options.exitcode;
    a->dump_signal = env_options.dump_signal;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--")) {
            i++;
            break;
        }
        if (!strcmp(arg, "--help"))
            return 1;
        if (i + 1 >= argc || arg[0] != '-') {
            if (arg[0] != '-')
                break; /* the command itself, without "--" */
            cli_error("run: %s needs a value", arg);
            return -1;
        }
        if (!strcmp(arg, "--json"))
            a->json_path = argv[++i];
        else if (!strcmp(arg, "--text"))
            a->text_path = argv[++i];
        else if (!strcmp(arg, "-o")) {
            if (add_option(a, argv[++i]) != 0)
                return -1;
        } else {
            cli_error("run: unknown argument '%s'", arg);
            return -1;
        }
    }
    if (i >= argc) {
        cli_error("run: no command given");
        return -1;
    }
    a->command = argv + i;
    return 0;
}

/* The preload beside this executable (build tree), or in ../lib (installed). */
static int find_library(char *out, size_t len)
{
    const char *env = getenv("STRAYS_LIB");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return access(out, R_OK) == 0 ? 0 : -errno;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -errno;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    static const char *const candidates[] = {"%s/libstrays.so", "%s/../lib/libstrays.so",
                                             "%s/../lib/strays/libstrays.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        snprintf(out, len, candidates[i], self);
        if (access(out, R_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

static int set_environment(const struct run_args *a, const char *lib, const char *dir)
{
    char *opts;
    const char *old = getenv("STRAYS_OPTIONS");
    /* exitcode_for=run: no process changes its own status; the verdict is
     * the run's, from all their reports. */
    if (asprintf(&opts, "%s%s%s%sformat=json:exitcode_for=run:log_path=%s/report",
                 old ? old : "", old && *old ? ":" : "", a->options, *a->options ? ":" : "",
                 dir) < 0)
        return -1;
    char *preload;
    const char *old_preload = getenv("LD_PRELOAD");
    if (asprintf(&preload, "%s%s%s", lib, old_preload && *old_preload ? ":" : "",
                 old_preload ? old_preload : "") < 0)
        return -1;
    int rc = setenv("STRAYS_OPTIONS", opts, 1) | setenv("LD_PRELOAD", preload, 1);
    free(opts);
    free(preload);
    return rc;
}

/* ---- programs strays cannot enter ----
 * The loader preloads nothing into a statically linked program, and
 * ignores LD_PRELOAD in a secure-execution one (setuid, setgid, file
 * capabilities). Such a command would run without strays and look clean:
 * the run command says so before starting it. */

/* Nested #! interpreters the kernel follows (BINPRM_MAX_RECURSION). */
#define MAX_INTERPRETERS 4

/* name found in $PATH as execvp would find it, into out. */
static bool find_in_path(const char *name, char *out, size_t len)
{
    if (strchr(name, '/')) {
        snprintf(out, len, "%s", name);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(out, len, "%.*s%s%s", (int)n, p, n ? "/" : "", name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* Whether an ELF file has no PT_INTERP, so no loader runs to preload
 * anything (a static-pie has a dynamic section but still no loader). */
static bool elf_is_static(int fd, const unsigned char *ident)
{
    bool is64 = ident[EI_CLASS] == ELFCLASS64;
    Elf64_Ehdr eh;
    if (is64) {
        if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
            return false;
    } else {
        Elf32_Ehdr e32;
        if (pread(fd, &e32, sizeof e32, 0) != (ssize_t)sizeof e32)
            return false;
        eh.e_type = e32.e_type;
        eh.e_phoff = e32.e_phoff;
        eh.e_phnum = e32.e_phnum;
        eh.e_phentsize = e32.e_phentsize;
    }
    if ((eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phnum == 0 ||
        eh.e_phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
        return false; /* not something to judge; exec says what it is */
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        uint32_t type;
        off_t at = (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize);
        if (pread(fd, &type, sizeof type, at) != (ssize_t)sizeof type)
            return false;
        if (type == PT_INTERP)
            return false;
    }
    return true;
}

/* The interpreter of a "#!" line into out ("#!/usr/bin/env python3" gives
 * python3 from $PATH); false when there is none. */
static bool script_interpreter(const char *head, char *out, size_t len)
{
    const char *p = head + 2;
    p += strspn(p, " \t");
    size_t n = strcspn(p, " \t\n");
    if (n == 0)
        return false;
    snprintf(out, len, "%.*s", (int)n, p);
    const char *slash = strrchr(out, '/');
    if (strcmp(slash ? slash + 1 : out, "env") != 0)
        return true;
    p += n;
    p += strspn(p, " \t");
    if (!strncmp(p, "-S", 2)) /* env -S "prog args" */
        p += 2 + strspn(p + 2, " \t");
    n = strcspn(p, " \t\n");
    if (n == 0)
        return true; /* env alone runs nothing; let exec say so */
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)n, p);
    return find_in_path(name, out, len);
}

/* Why the loader will not let strays into path (secure execution), or NULL. */
static const char *secure_execution(const char *path, const struct stat *st)
{
    struct statvfs fs;
    if (statvfs(path, &fs) == 0 && (fs.f_flag & ST_NOSUID))
        return NULL; /* the kernel ignores the bits there */
    if ((st->st_mode & S_ISUID) && st->st_uid != geteuid())
        return "is set-user-ID";
    if ((st->st_mode & S_ISGID) && st->st_gid != getegid())
        return "is set-group-ID";
    if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
        return "has file capabilities";
    return NULL;
}

/* Says on stderr when strays cannot be loaded into the command (or the
 * interpreter of a script); returns true when it did. */
static bool warn_if_unreachable(const char *command)
{
    char path[PATH_MAX], shown[PATH_MAX + 64];
    if (!find_in_path(command, path, sizeof path))
        return false; /* exec reports it */
    snprintf(shown, sizeof shown, "%s", command);
    for (int depth = 0; depth <= MAX_INTERPRETERS; depth++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char head[PATH_MAX + 64];
        ssize_t n = fd < 0 ? -1 : pread(fd, head, sizeof head - 1, 0);
        if (n < 4 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            return false;
        }
        head[n] = '\0';
        const char *how = NULL;
        if (!memcmp(head, ELFMAG, SELFMAG)) {
            how = secure_execution(path, &st);
            if (!how && elf_is_static(fd, (const unsigned char *)head))
                how = "is statically linked";
        }
        close(fd);
        if (how) {
            cli_error("run: %s %s: the loader will not preload strays into it, so it runs "
                      "without strays and no report will come from it (its exit status is "
                      "passed on as it is)",
                      shown, how);
            return true;
        }
        if (memcmp(head, "#!", 2) != 0 || !script_interpreter(head, path, sizeof path))
            return false;
        snprintf(shown, sizeof shown, "%s (the interpreter of %s)", path, command);
    }
    return false;
}

/* Starts the command and waits for it; returns its wait status. */
static int run_command(char **command, int dump_signal)
{
    child_pid = fork();
    if (child_pid < 0) {
        cli_error("run: fork: %s", strerror(errno));
        return -1;
    }
    if (child_pid == 0) {
        execvp(command[0], command);
        cli_error("run: cannot run %s: %s", command[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    struct sigaction sa = {.sa_handler = forward_signal};
    sigemptyset(&sa.sa_mask);
    /* The dump signal too: `kill -RTMAX-4` to the run asks the command
     * for a dump rather than killing the run. */
    int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, dump_signal};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        if (forwarded[i] > 0)
            sigaction(forwarded[i], &sa, NULL);
    int status;
    while (waitpid(child_pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

struct collected {
    struct st_report *reports;
    char **paths;
    int count;
    int main_index; /* the command's own process, or -1 */
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strverscmp((*a)->d_name, (*b)->d_name);
}

/* Loads every complete report in dir; notes incomplete ones. */
static void collect_reports(const char *dir, pid_t main_pid, struct collected *c)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    memset(c, 0, sizeof *c);
    c->main_index = -1;
    if (n < 0)
        return;
    c->reports = calloc((size_t)n + 1, sizeof *c->reports);
    c->paths = calloc((size_t)n + 1, sizeof *c->paths);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        char path[PATH_MAX + 256], err[600];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (len > 4 && !strcmp(name + len - 4, ".tmp"))
            cli_error("run: an incomplete report was left behind (%s); the process died while "
                      "writing it",
                      name);
        else if (c->reports && len > 5 && !strcmp(name + len - 5, ".json")) {
            if (st_report_load(&c->reports[c->count], path, err, sizeof err) != 0) {
                cli_error("%s", err);
            } else {
                c->paths[c->count] = strdup(path);
                if (c->reports[c->count].pid == main_pid)
                    c->main_index = c->count;
                c->count++;
            }
        }
        free(names[i]);
    }
    free(names);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX + 256];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* What makes a run fail: objects left at a process's exit. A live dump
 * lists what is alive at that moment, and a crash report what was alive
 * when the process died; neither is a leak. */
static unsigned exit_leaks(const struct st_report *r)
{
    return r->reason && !strcmp(r->reason, "exit") ? st_report_leak_count(r) : 0;
}

static bool crashed(const struct st_report *r)
{
    return r->reason && !strcmp(r->reason, "crash");
}

static int count_processes(const struct collected *c)
{
    int n = 0;
    for (int i = 0; i < c->count; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = c->reports[j].pid == c->reports[i].pid;
        n += !seen;
    }
    return n;
}

/* "2 threads, 1 timer, 1 fd". */
static void write_counts(struct st_out *o, const struct st_report *r)
{
    const struct {
        uint32_t n;
        const char *one, *many;
    } parts[] = {{r->nthreads, "thread", "threads"},
                 {r->ntimers, "timer", "timers"},
                 {r->nfds, "fd", "fds"}};
    bool first = true;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].n)
            continue;
        st_out_str(o, first ? "" : ", ");
        st_out_uint(o, parts[i].n);
        st_out_char(o, ' ');
        st_out_str(o, parts[i].n == 1 ? parts[i].one : parts[i].many);
        first = false;
    }
}

#define PROCESSES_LISTED 10

/* One line for a run of several processes: "strays: 3 processes, 1 leaked:
 * ./worker (pid 812): 2 threads, 1 fd" (the processes that leaked, then
 * those that crashed, ten at most). */
static void write_merged_summary(struct st_out *o, const struct collected *c, int processes)
{
    int leaked = 0, crashes = 0, listed = 0;
    for (int i = 0; i < c->count; i++) {
        leaked += exit_leaks(&c->reports[i]) > 0;
        crashes += crashed(&c->reports[i]);
    }
    st_out_str(o, "strays: ");
    st_out_int(o, processes);
    st_out_str(o, " processes, ");
    if (leaked) {
        st_out_int(o, leaked);
        st_out_str(o, " leaked");
    } else {
        st_out_str(o, "none leaked");
    }
    if (crashes) {
        st_out_str(o, ", ");
        st_out_int(o, crashes);
        st_out_str(o, " crashed");
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->count; i++) {
            const struct st_report *r = &c->reports[i];
            if (pass == 0 ? !exit_leaks(r) : !crashed(r))
                continue;
            if (listed++ == PROCESSES_LISTED)
                break;
            st_out_str(o, listed == 1 ? ": " : "; ");
            st_out_str(o, r->command ? r->command : r->exe ? r->exe : "?");
            st_out_str(o, " (pid ");
            st_out_int(o, r->pid);
            st_out_str(o, "): ");
            if (pass == 0) {
                write_counts(o, r);
            } else {
                st_out_str(o, "crashed (");
                st_out_str(o, st_report_signal_name(r->signal));
                st_out_char(o, ')');
            }
        }
    if (listed > PROCESSES_LISTED) {
        st_out_str(o, "; and ");
        st_out_int(o, leaked + crashes - PROCESSES_LISTED);
        st_out_str(o, " more");
    }
    st_out_char(o, '\n');
}

/* One process: its report as `strays report` prints it. Several: the
 * reports that hold something, then the merged summary line (a clean
 * process is only counted there). */
static void print_reports(const struct collected *c, int fd)
{
    int processes = count_processes(c);
    if (processes <= 1) {
        cli_print_text(c->reports, c->count, fd);
        return;
    }
    struct st_out out;
    st_out_init(&out, fd);
    for (int i = 0; i < c->count; i++)
        if (st_report_leak_count(&c->reports[i]) > 0 || crashed(&c->reports[i]))
            st_report_write_text(&c->reports[i], &out);
    write_merged_summary(&out, c, processes);
    st_out_flush(&out);
}

static int write_outputs(const struct run_args *a, struct collected *c)
{
    int rc = 0;
    int fd = 2;
    if (a->text_path) {
        FILE *f = fopen(a->text_path, "w");
        if (!f) {
            cli_error("run: cannot write %s: %s; printing the report on stderr instead",
                      a->text_path, strerror(errno));
            rc = -1;
        } else {
            print_reports(c, fileno(f));
            fclose(f);
            fd = -1;
        }
    }
    if (fd >= 0)
        print_reports(c, fd);
    if (a->json_path && c->main_index >= 0 &&
        copy_file(c->paths[c->main_index], a->json_path) != 0) {
        cli_error("run: cannot write %s: %s", a->json_path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* The command has ended: its report directory moves aside (into done), so
 * a process of the run that reports from now on finds it gone and says it
 * outlived the run (report_sink.h) instead of writing into a directory about
 * to be removed. A report being written this moment still lands in it. */
static void set_aside(const char *dir, char *done, size_t len)
{
    int n = snprintf(done, len, "%s.done", dir);
    if (n < 0 || (size_t)n >= len || rename(dir, done) != 0)
        snprintf(done, len, "%s", dir);
}

/* The command's status as a shell would give it. */
static int exit_status_of(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return CLI_INTERNAL;
}

/* Below this much free room /dev/shm is not used (a container's is often
 * 64 MiB): the run's reports stay there until it ends, and a job of many
 * leaking processes writes many. */
#define SHM_ROOM_MIN (256ull << 20)

static bool shm_has_room(void)
{
    struct statvfs fs;
    return statvfs("/dev/shm", &fs) == 0 &&
           (unsigned long long)fs.f_bavail * fs.f_frsize >= SHM_ROOM_MIN;
}

/* Makes the run's report directory in dir; false (errno set) when it
 * cannot, with *tried the last place tried. Without $TMPDIR, /dev/shm comes
 * first when it has room: every process of the run writes its report
 * there, a file of nothing for a clean one, and creating a file in memory
 * costs a few microseconds where a disk's file system can take a quarter
 * of a millisecond (ext4 on this project's CI machines:
 * docs/performance.md). The reports are removed when the run ends. */
static bool make_report_dir(char *dir, size_t len, const char **tried)
{
    const char *tmp = getenv("TMPDIR");
    bool shm = !(tmp && *tmp) && shm_has_room();
    const char *bases[] = {tmp && *tmp ? tmp : shm ? "/dev/shm" : "/tmp", "/tmp"};
    size_t tries = shm ? 2 : 1;
    for (size_t i = 0; i < tries; i++) {
        *tried = bases[i];
        int n = snprintf(dir, len, "%s/strays.XXXXXX", bases[i]);
        if (n > 0 && (size_t)n < len && mkdtemp(dir))
            return true;
    }
    return false;
}

int cli_run(int argc, char **argv)
{
    struct run_args a;
    int rc = parse_run_args(argc, argv, &a);
    if (rc > 0) {
        fputs(run_usage, stdout);
        return CLI_OK;
    }
    if (rc < 0)
        return CLI_USAGE;
    char lib[PATH_MAX];
    if (find_library(lib, sizeof lib) != 0) {
        cli_error("run: cannot find libstrays.so beside %s or in ../lib (set STRAYS_LIB)",
                  "the strays executable");
        return CLI_INTERNAL;
    }
    char dir[PATH_MAX];
    const char *tried = NULL;
    if (!make_report_dir(dir, sizeof dir, &tried)) {
        cli_error("run: cannot create a directory for reports in %s: %s", tried,
                  strerror(errno));
        return CLI_INTERNAL;
    }
    if (set_environment(&a, lib, dir) != 0) {
        remove_dir(dir);
        return CLI_INTERNAL;
    }
    bool warned = warn_if_unreachable(a.command[0]);
    int wait_status = run_command(a.command, a.dump_signal);
    if (wait_status < 0) {
        remove_dir(dir);
        return CLI_INTERNAL;
    }
    char done_dir[PATH_MAX];
    set_aside(dir, done_dir, sizeof done_dir);
    struct collected c;
    collect_reports(done_dir, child_pid, &c);
    cli_run_symbolize(c.reports, c.paths, c.count);
    if (c.main_index < 0 && WIFSIGNALED(wait_status))
        cli_error("run: no report from %s (pid %d): killed by signal %d (%s) before it could "
                  "write one",
                  a.command[0], (int)child_pid, WTERMSIG(wait_status),
                  strsignal(WTERMSIG(wait_status)));
    else if (c.main_index < 0 && exit_status_of(wait_status) < 126 && !warned)
        cli_error("run: no report from %s (pid %d): strays was not loaded into it (its "
                  "LD_PRELOAD was removed, or the loader ignored it)",
                  a.command[0], (int)child_pid);
    write_outputs(&a, &c);
    cli_run_note_survivors(dir, c.reports, c.count);
    unsigned leaks = 0;
    for (int i = 0; i < c.count; i++) {
        leaks += exit_leaks(&c.reports[i]);
        st_report_free(&c.reports[i]);
        free(c.paths[i]);
    }
    free(c.reports);
    free(c.paths);
    remove_dir(done_dir);
    int status = exit_status_of(wait_status);
    if (status == 0 && leaks > 0 && a.exitcode != 0)
        status = a.exitcode;
    return status;
}
