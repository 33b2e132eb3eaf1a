/* `strays dump PID`: asks a process running under strays for a live dump
 * (its dump signal) and prints the report it writes. The process's own
 * STRAYS_OPTIONS, read from /proc/PID/environ (or given with -o), say which
 * signal and where the report goes; a report file that exists is whole (the
 * preload links it into place when complete), so the first new live dump
 * is the answer: an exit or crash report that comes instead is not. */
#define _GNU_SOURCE /* sigabbrev_np */
#include "cli.h"

#include "base/options.h"
#include "base/signals.h"
#include "report/report_parse.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char dump_usage[] =
    "usage: strays dump PID [--wait SECONDS] [-o OPTION=VALUE]...\n"
    "Sends the dump signal (the dump_signal option, SIGRTMAX-4 by default) to a\n"
    "process started under strays, waits up to --wait seconds (default 5) for\n"
    "the live dump it writes under its log_path (PREFIX.PID.SEQ.json or .txt)\n"
    "and prints it as text. The process goes on running. Its options are read\n"
    "from /proc/PID/environ; -o gives them where that cannot be read (a program\n"
    "that rewrites it for its process title, as PostgreSQL does). With\n"
    "log_path=stderr or stdout the dump goes to the process's own stderr or\n"
    "stdout, and this command only sends the signal.\n"
    "Exit status: 0 when the dump was printed (or sent, for stderr/stdout), 1\n"
    "when no dump came in time (or the process exited instead), or it could not\n"
    "be read or written, 2 for a bad argument, no such process, a process not\n"
    "running under strays or taking no live dumps.\n";

struct dump_args {
    int pid;
    double wait_s;
    const char *options[16]; /* -o, in order */
    int noptions;
};

static int parse_pid(const char *s, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || n <= 0 || n > INT_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_wait(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0 || v > 86400 || *s == '-' || *s == '+')
        return -1;
    *out = v;
    return 0;
}

/* Returns 1 for --help, -1 for a usage error (said), 0 otherwise. */
static int parse_args(int argc, char **argv, struct dump_args *a)
{
    const char *pid = NULL;
    memset(a, 0, sizeof *a);
    a->wait_s = 5;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        if (!strcmp(arg, "--help"))
            return 1;
        if (!strcmp(arg, "-o") && i + 1 < argc) {
            if (a->noptions == (int)(sizeof a->options / sizeof a->options[0])) {
                cli_error("dump: too many -o options");
                return -1;
            }
            a->options[a->noptions++] = argv[++i];
            continue;
        }
        if (!strcmp(arg, "--wait") && i + 1 < argc)
            value = argv[++i];
        else if (!strncmp(arg, "--wait=", 7))
            value = arg + 7;
        if (value) {
            if (parse_wait(value, &a->wait_s) == 0)
                continue;
            cli_error("dump: bad --wait value '%s' (expected seconds, such as 5 or 0.5)", value);
            return -1;
        }
        if (arg[0] == '-' || pid) {
            cli_error("dump: %s '%s' (strays dump --help)",
                      !strcmp(arg, "--wait") || !strcmp(arg, "-o") ? "no value for"
                                                                   : "unknown argument",
                      arg);
            return -1;
        }
        pid = arg;
    }
    if (!pid) {
        fputs(dump_usage, stderr);
        return -1;
    }
    if (parse_pid(pid, &a->pid) != 0) {
        cli_error("dump: '%s' is not a process id", pid);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------- the process's setup */

/* The environment the process started with (NUL-separated), which is
 * what the preload read its options from. */
static int read_environ(int pid, char **env, size_t *len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    FILE *mem = open_memstream(env, len);
    char chunk[4096];
    size_t n;
    while (mem && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    if (!mem || fclose(mem) != 0)
        return -ENOMEM;
    return rc;
}

static const char *env_value(const char *env, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = env; p < env + len; p += strlen(p) + 1)
        if (!strncmp(p, name, n) && p[n] == '=')
            return p + n + 1;
    return NULL;
}

/* The process said at start which of its options were bad; only a bad
 * dump_signal matters here (the process uses the default instead). */
static void note_option_error(void *ctx, const char *message)
{
    if (strstr(message, "option dump_signal"))
        cli_error("dump: note: process %d: %s", *(const int *)ctx, message);
}

/* A bad -o is the user's own mistake: said as it is. */
static void note_given_option_error(void *ctx, const char *message)
{
    (void)ctx;
    cli_error("dump: -o: %s", message);
}

/* The hex mask of a /proc/PID/status line "KEY\tHEX" into *mask, when line
 * is that line and the mask reads as one. */
static void status_mask(const char *line, const char *key, unsigned long long *mask)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(line + n, &end, 16);
    if (end != line + n && errno == 0)
        *mask = value;
}

/* What the process does with the dump signal, from /proc/PID/status:
 * 'c' caught, 'i' ignored, 'd' the default action; or -errno. */
static int disposition(int pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    unsigned long long caught = 0, ignored = 0;
    while (fgets(line, sizeof line, f)) {
        status_mask(line, "SigCgt:", &caught);
        status_mask(line, "SigIgn:", &ignored);
    }
    fclose(f);
    unsigned long long bit = 1ull << (sig - 1);
    return (caught & bit) ? 'c' : (ignored & bit) ? 'i' : 'd';
}

/* A program linked with libstrays (not preloaded) is under strays too. */
static bool maps_libstrays(int pid)
{
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, "/libstrays") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* A process that is gone, or a zombie that will write nothing more. */
static bool process_gone(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* ------------------------------------------------------ its report files */

struct place {
    char dir[PATH_MAX]; /* ends with '/' */
    char base[ST_OPT_PATH_SIZE]; /* file names start with it */
    int pid;
};

/* Where PREFIX.PID.* lies: a relative prefix is the process's, relative
 * to its working directory. */
static int report_place(int pid, const char *prefix, struct place *pl)
{
    char cwd[PATH_MAX] = "";
    pl->pid = pid;
    if (prefix[0] != '/') {
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/cwd", pid);
        ssize_t n = readlink(link, cwd, sizeof cwd - 2);
        if (n < 0)
            return -errno;
        cwd[n++] = '/';
        cwd[n] = '\0';
    }
    const char *slash = strrchr(prefix, '/');
    snprintf(pl->base, sizeof pl->base, "%s", slash ? slash + 1 : prefix);
    int dir_len = slash ? (int)(slash - prefix) + 1 : 0;
    if (snprintf(pl->dir, sizeof pl->dir, "%s%.*s", cwd, dir_len, prefix) >= (int)sizeof pl->dir)
        return -ENAMETOOLONG;
    return 0;
}

/* BASE.PID.SEQ.json or BASE.PID.SEQ.txt; never the .tmp of one being written. */
static bool is_report_name(const struct place *pl, const char *name)
{
    size_t n = strlen(pl->base);
    if (strncmp(name, pl->base, n) || name[n] != '.')
        return false;
    char *end;
    if (strtol(name + n + 1, &end, 10) != pl->pid || *end != '.' || end[1] < '0' || end[1] > '9')
        return false;
    strtoul(end + 1, &end, 10);
    return !strcmp(end, ".json") || !strcmp(end, ".txt");
}

struct names {
    char **v;
    size_t n;
};

static void free_names(struct names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
    names->v = NULL;
    names->n = 0;
}

static bool has_name(const struct names *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++)
        if (!strcmp(names->v[i], name))
            return true;
    return false;
}

/* The process's report files now. */
static int list_reports(const struct place *pl, struct names *out)
{
    DIR *d = opendir(pl->dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_report_name(pl, e->d_name))
            continue;
        char **grown = realloc(out->v, (out->n + 1) * sizeof *grown);
        if (!grown || !(grown[out->n] = strdup(e->d_name))) {
            out->v = grown ? grown : out->v;
            closedir(d);
            return -ENOMEM;
        }
        out->v = grown;
        out->n++;
    }
    closedir(d);
    return 0;
}

/* The name of a report file that is not in before (the oldest by name), or
 * an empty string. */
static void new_report(const struct place *pl, const struct names *before, char *out, size_t len)
{
    struct names now = {0};
    out[0] = '\0';
    list_reports(pl, &now);
    for (size_t i = 0; i < now.n; i++)
        if (!has_name(before, now.v[i]) && (!out[0] || strverscmp(now.v[i], out) < 0))
            snprintf(out, len, "%s", now.v[i]);
    free_names(&now);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until deadline for a new report; returns 0 with its name,
 * -ETIMEDOUT, or -ESRCH when the process died first. */
static int wait_report(const struct place *pl, const struct names *before, double deadline,
                       char *name, size_t len)
{
    for (;;) {
        new_report(pl, before, name, len);
        if (name[0])
            return 0;
        if (process_gone(pl->pid)) {
            new_report(pl, before, name, len); /* written just before it died? */
            return name[0] ? 0 : -ESRCH;
        }
        if (now_s() >= deadline)
            return -ETIMEDOUT;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

/* Why the report at path was written: its reason ("signal" for a live
 * dump asked for by signal, "exit", ...) into buf; false if unreadable. */
static bool report_reason(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".txt")) {
        /* "strays: report (signal) of ...", "strays: report (exit, status 0) of ..." */
        FILE *f = fopen(path, "r");
        char line[256] = "";
        bool ok = f && fgets(line, sizeof line, f) && !strncmp(line, "strays: report (", 16);
        if (f)
            fclose(f);
        if (ok)
            snprintf(buf, len, "%.*s", (int)strcspn(line + 16, ",:)"), line + 16);
        return ok;
    }
    struct st_report r;
    char err[600];
    if (st_report_load(&r, path, err, sizeof err) != 0)
        return false;
    snprintf(buf, len, "%s", r.reason ? r.reason : "");
    st_report_free(&r);
    return true;
}

static int output_failed(void)
{
    cli_error("dump: cannot write the output");
    return CLI_INTERNAL;
}

static int print_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("dump: cannot read %s: %s", path, strerror(errno));
        return CLI_INTERNAL;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    bool read_failed = ferror(f);
    fclose(f);
    if (read_failed) {
        cli_error("dump: cannot read %s", path);
        return CLI_INTERNAL;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? CLI_OK : output_failed();
}

static int print_report(const char *path)
{
    size_t len = strlen(path);
    if (len > 4 && !strcmp(path + len - 4, ".txt"))
        return print_text_file(path);
    struct st_report r;
    char err[600];
    if (st_report_load(&r, path, err, sizeof err) != 0) {
        cli_error("dump: %s", err);
        return CLI_INTERNAL;
    }
    int rc = cli_print_text(&r, 1, 1);
    st_report_free(&r);
    return rc ? output_failed() : CLI_OK;
}

/* ------------------------------------------------------------- command */

struct target {
    int pid;
    int sig;
    char sig_name[32];
    char log_path[ST_OPT_PATH_SIZE];
    bool options_known; /* from its environment, or -o */
};

/* Whether the environment still reads as one (NAME=VALUE entries): some
 * programs write their process title over it (PostgreSQL's ps display),
 * and then it says nothing of how strays was started. */
static bool looks_like_environ(const char *env, size_t len)
{
    for (const char *p = env; p < env + len; p += strlen(p) + 1)
        if (p[0] != '=' && strchr(p, '='))
            return true;
    return false;
}

/* The options the process runs with: its STRAYS_OPTIONS, then -o. */
static void parse_options(const struct dump_args *a, const char *from_env, struct target *t)
{
    int pid = a->pid;
    struct st_options parsed;
    st_options_defaults(&parsed);
    st_options_parse(&parsed, from_env, note_option_error, &pid);
    for (int i = 0; i < a->noptions; i++)
        st_options_parse(&parsed, a->options[i], note_given_option_error, NULL);
    snprintf(t->log_path, sizeof t->log_path, "%s", parsed.log_path);
    t->pid = pid;
    t->sig = parsed.dump_signal;
    st_signal_format(t->sig, t->sig_name, sizeof t->sig_name);
}

/* Reads the process's options; says why and returns CLI_USAGE or
 * CLI_INTERNAL when it cannot be asked for a dump. */
static int read_target(const struct dump_args *a, struct target *t)
{
    int pid = a->pid;
    char *env = NULL;
    size_t len = 0;
    int rc = read_environ(pid, &env, &len);
    if (rc == -ENOENT || rc == -ESRCH) {
        cli_error("dump: no process with pid %d", pid);
        free(env);
        return CLI_USAGE;
    }
    if (rc) {
        cli_error("dump: cannot read /proc/%d/environ: %s", pid, strerror(-rc));
        free(env);
        return CLI_INTERNAL;
    }
    if (process_gone(pid)) {
        cli_error("dump: process %d has exited", pid);
        free(env);
        return CLI_USAGE;
    }
    const char *preload = env_value(env, len, "LD_PRELOAD");
    rc = (preload && strstr(preload, "libstrays")) || maps_libstrays(pid) ? CLI_OK : CLI_USAGE;
    if (rc)
        cli_error("dump: process %d is not running under strays (no libstrays in its "
                  "LD_PRELOAD)",
                  pid);
    parse_options(a, env_value(env, len, "STRAYS_OPTIONS"), t);
    t->options_known = looks_like_environ(env, len) || a->noptions > 0;
    if (!rc && !t->options_known)
        cli_error("dump: note: /proc/%d/environ no longer holds the process's environment "
                  "(the program wrote over it, as PostgreSQL does for its process title): its "
                  "strays options are not known here, the defaults are assumed (-o gives them)",
                  pid);
    free(env);
    return rc;
}

/* Refuses a signal that would do nothing or kill the process: dumps off,
 * or no handler for it (a strays without live dumps, or the program reset
 * it). Returns 0 or the exit status. */
static int check_signal(const struct target *t)
{
    if (t->sig == 0) {
        cli_error("dump: live dumps are off in process %d (dump_signal=0)", t->pid);
        return CLI_USAGE;
    }
    int d = disposition(t->pid, t->sig);
    if (d == 'c')
        return 0;
    if (d < 0)
        cli_error("dump: cannot read /proc/%d/status: %s", t->pid, strerror(-d));
    else if (d == 'i')
        cli_error("dump: process %d ignores %s, so it would write no dump", t->pid, t->sig_name);
    else
        cli_error("dump: process %d does not catch %s, which would kill it: it takes no live "
                  "dumps (a fork child of a threaded process, before exec), or its program took "
                  "the signal back; not sending it",
                  t->pid, t->sig_name);
    return CLI_USAGE;
}

/* The tid of the process's strays watchdog (its thread is named
 * "strays-watchdog"), or 0. Sent to that thread, the dump signal cannot
 * land on one of the program's threads and cut a sleep of its short. */
static int watchdog_tid(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int found = 0;
    for (struct dirent *d; !found && (d = readdir(dir));) {
        char comm_path[320], comm[32] = "";
        snprintf(comm_path, sizeof comm_path, "/proc/%d/task/%s/comm", pid, d->d_name);
        FILE *f = fopen(comm_path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f) && !strcmp(comm, "strays-watchdog\n"))
            found = (int)strtol(d->d_name, NULL, 10);
        fclose(f);
    }
    closedir(dir);
    return found;
}

static int send_signal(const struct target *t)
{
    int tid = watchdog_tid(t->pid);
    if (tid > 0 && syscall(SYS_tgkill, t->pid, tid, t->sig) == 0)
        return 0;
    if (kill(t->pid, t->sig) == 0)
        return 0;
    cli_error("dump: cannot send %s to process %d: %s", t->sig_name, t->pid, strerror(errno));
    return CLI_INTERNAL;
}

/* Waits for the live dump the signal asked for: returns 0 with its name
 * in name, or the exit status (said). Other reports that appear meanwhile
 * (a periodic dump, the program's own strays_dump) are passed over; an
 * exit or crash report means the process is ending and wrote no dump. */
static int wait_dump(const struct target *t, const struct place *pl, struct names *seen,
                     double wait_s, char *name, size_t len)
{
    double deadline = now_s() + wait_s;
    for (;;) {
        int rc = wait_report(pl, seen, deadline, name, len);
        if (rc == -ETIMEDOUT)
            cli_error("dump: no new report %s%s.%d.*.json|txt from process %d within %gs of %s",
                      pl->dir, pl->base, t->pid, t->pid, wait_s, t->sig_name);
        else if (rc == -ESRCH)
            cli_error("dump: process %d exited before writing the dump", t->pid);
        if (rc)
            return CLI_INTERNAL;
        char path[PATH_MAX + 512], reason[32];
        snprintf(path, sizeof path, "%s%s", pl->dir, name);
        if (!report_reason(path, reason, sizeof reason) || !strcmp(reason, "signal"))
            return CLI_OK; /* unreadable: printing it says why */
        if (!strcmp(reason, "exit") || !strcmp(reason, "crash")) {
            cli_error("dump: process %d wrote its %s report %s instead of the dump: it is ending",
                      t->pid, reason, path);
            return CLI_INTERNAL;
        }
        char **grown = realloc(seen->v, (seen->n + 1) * sizeof *grown);
        if (!grown || !(grown[seen->n] = strdup(name))) {
            seen->v = grown ? grown : seen->v;
            cli_error("dump: out of memory");
            return CLI_INTERNAL;
        }
        seen->v = grown;
        seen->n++;
    }
}

/* Sends the signal and prints the live dump that appears after it. */
static int dump_to_file(const struct target *t, double wait_s)
{
    struct place pl;
    int rc = report_place(t->pid, t->log_path, &pl);
    if (rc) {
        cli_error("dump: cannot locate the reports of process %d (log_path=%s): %s", t->pid,
                  t->log_path, strerror(-rc));
        return CLI_INTERNAL;
    }
    struct names before = {0};
    rc = list_reports(&pl, &before);
    if (rc) {
        cli_error("dump: cannot list %s (log_path=%s of process %d): %s", pl.dir, t->log_path,
                  t->pid, strerror(-rc));
        free_names(&before);
        return CLI_INTERNAL;
    }
    char name[512];
    rc = send_signal(t);
    if (rc) {
        free_names(&before);
        return rc;
    }
    rc = wait_dump(t, &pl, &before, wait_s, name, sizeof name);
    free_names(&before);
    if (rc)
        return rc;
    char path[PATH_MAX + 512];
    snprintf(path, sizeof path, "%s%s", pl.dir, name);
    cli_error("dump: process %d wrote %s", t->pid, path);
    return print_report(path);
}

int cli_dump(int argc, char **argv)
{
    struct dump_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc > 0) {
        fputs(dump_usage, stdout);
        return CLI_OK;
    }
    if (rc < 0)
        return CLI_USAGE;
    struct target t;
    rc = read_target(&a, &t);
    if (!rc)
        rc = check_signal(&t);
    if (rc)
        return rc;
    if (!strcmp(t.log_path, "stderr") || !strcmp(t.log_path, "stdout")) {
        rc = send_signal(&t);
        if (!rc && t.options_known)
            cli_error("dump: sent %s to process %d; it writes the dump to its own %s "
                      "(log_path=%s)",
                      t.sig_name, t.pid, t.log_path, t.log_path);
        else if (!rc)
            cli_error("dump: sent %s to process %d; where it writes the dump is not known here "
                      "(its own stderr, unless its log_path says otherwise)",
                      t.sig_name, t.pid);
        return rc;
    }
    return dump_to_file(&t, a.wait_s);
}
