/* `strays inspect PID`: a report of a process that was not started under
 * strays, in the same format as the preload's (reason "inspect"): every
 * thread with its current stack and the call it blocks in, its fds and
 * POSIX timers, but no creation stacks, which only the preload sees. So
 * `strays diff`, `strays report` and `--format pprof` work on it. */
#define _GNU_SOURCE
#include "cli.h"
#include "inspect.h"

#include "symbolize/symbolize_offline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char inspect_usage[] =
    "usage: strays inspect PID [--format text|json|pprof] [--output FILE] [--no-stacks]\n"
    "Reports a running process that was not started under strays, as a live\n"
    "dump would (reason \"inspect\"): every thread with its current stack (taken\n"
    "with ptrace, as eu-stack does: each thread is stopped for the time of its\n"
    "unwinding, then let go) and the system call it blocks in, from /proc; its\n"
    "fds with kind and target; its POSIX timers. There are no creation stacks:\n"
    "those only the preload sees. The report works with `strays diff`,\n"
    "`strays report` and `--format pprof`.\n"
    "  --format text    for people (the default); json for tools; pprof a gzipped\n"
    "                   profile (to --output FILE, or stdout when not a terminal)\n"
    "  --output FILE    write there instead of stdout\n"
    "  --no-stacks      read /proc only: no thread is stopped (ptrace interrupts\n"
    "                   some waits, such as epoll_wait, with EINTR)\n"
    "Needs the right to trace the process (the same user, and ptrace_scope\n"
    "allowing it, or CAP_SYS_PTRACE); strays says which is missing.\n"
    "Exit status: 0 when the report was written, 1 when the process could not\n"
    "be inspected or the report not written, 2 for a bad argument or no such\n"
    "process.\n";

enum inspect_format { INSPECT_TEXT, INSPECT_JSON, INSPECT_PPROF };

struct inspect_args {
    int pid;
    enum inspect_format format;
    const char *output;
    bool stacks;
};

/* ---- why ptrace was refused ---- */

/* The value after "key:" in /proc/PID/status, or NULL. */
static const char *status_field(const char *status, const char *key)
{
    const char *at = strstr(status, key);
    return at ? at + strlen(key) : NULL;
}

static bool have_cap_sys_ptrace(void)
{
    char status[4096] = "";
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        size_t n = fread(status, 1, sizeof status - 1, f);
        status[n] = '\0';
        fclose(f);
    }
    const char *cap = status_field(status, "\nCapEff:");
    return cap && (strtoull(cap, NULL, 16) >> 19 & 1); /* CAP_SYS_PTRACE is 19 */
}

static int yama_scope(void)
{
    char text[16] = "";
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    long scope = strtol(text, &end, 10);
    return end == text ? -1 : (int)scope;
}

/* The real, effective and saved uids of a "Uid:" line; false if unreadable. */
static bool parse_uids(const char *text, unsigned uid[3])
{
    for (int i = 0; text && i < 3; i++) {
        char *end;
        uid[i] = (unsigned)strtoul(text, &end, 10);
        if (end == text) return false;
        text = end;
    }
    return text != NULL;
}

static const char *user_name(unsigned uid, char *buf, size_t len)
{
    struct passwd pw, *found = NULL;
    if (getpwuid_r(uid, &pw, buf, len, &found) != 0 || !found) return "?";
    return found->pw_name;
}

void inspect_explain_eperm(int pid, char *out, size_t len)
{
    char path[64], status[4096] = "", name[1024];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (f) {
        size_t n = fread(status, 1, sizeof status - 1, f);
        status[n] = '\0';
        fclose(f);
    }
    unsigned uid[3] = {0}, me = (unsigned)geteuid();
    bool other_user = parse_uids(status_field(status, "\nUid:"), uid) &&
                      (uid[0] != me || uid[1] != me || uid[2] != me);
    unsigned other = uid[0] != me ? uid[0] : uid[1] != me ? uid[1] : uid[2];
    const char *tracer = status_field(status, "\nTracerPid:");
    long tracer_pid = tracer ? strtol(tracer, NULL, 10) : 0;
    int scope = yama_scope();
    bool cap = have_cap_sys_ptrace();
    int n = snprintf(out, len, "cannot inspect process %d: ", pid);
    if (n < 0 || (size_t)n >= len) return;
    out += n;
    len -= (size_t)n;
    if (tracer_pid > 0)
        snprintf(out, len,
                 "it is already traced by pid %ld (a debugger or strace), and a thread "
                 "has one tracer at a time",
                 tracer_pid);
    else if (scope == 3)
        snprintf(out, len, "ptrace is switched off on this machine (kernel.yama.ptrace_scope=3)");
    else if (other_user && !cap)
        snprintf(out, len,
                 "it belongs to user %s (uid %u) and strays runs as uid %u without "
                 "CAP_SYS_PTRACE: run strays inspect as that user, or as root",
                 user_name(other, name, sizeof name), other, me);
    else if (scope == 2 && !cap)
        snprintf(out, len,
                 "kernel.yama.ptrace_scope=2 lets only processes with CAP_SYS_PTRACE "
                 "trace another: run strays inspect as root");
    else if (scope == 1 && !cap)
        snprintf(out, len,
                 "kernel.yama.ptrace_scope=1 lets a process trace only its own "
                 "descendants: run strays inspect as root (CAP_SYS_PTRACE), or set the sysctl "
                 "to 0, or start the program under strays (strays run)");
    else if (!cap)
        snprintf(out, len,
                 "it is not dumpable (a setuid, setgid or file-capability program, "
                 "or one that called prctl(PR_SET_DUMPABLE, 0)), and only CAP_SYS_PTRACE may "
                 "trace it: run strays inspect as root");
    else
        snprintf(out, len,
                 "the kernel refused although strays has CAP_SYS_PTRACE (a security "
                 "module such as AppArmor or SELinux?)");
}

/* ---- arguments ---- */

static int parse_args(int argc, char **argv, struct inspect_args *a)
{
    memset(a, 0, sizeof *a);
    a->stacks = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return 1;
        if (!strcmp(arg, "--no-stacks")) {
            a->stacks = false;
        } else if ((!strcmp(arg, "--output") || !strcmp(arg, "-o")) && i + 1 < argc) {
            a->output = argv[++i];
        } else if (!strcmp(arg, "--format") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "text") || !strcmp(v, "json") || !strcmp(v, "pprof")) {
                a->format = v[0] == 't' ? INSPECT_TEXT : v[0] == 'j' ? INSPECT_JSON : INSPECT_PPROF;
            } else {
                cli_error("inspect: unknown format '%s' (text, json or pprof)", v);
                return -1;
            }
        } else if (arg[0] >= '1' && arg[0] <= '9' && !a->pid) {
            char *end;
            long pid = strtol(arg, &end, 10);
            if (*end || pid <= 0 || pid > INT_MAX) {
                cli_error("inspect: '%s' is not a process id", arg);
                return -1;
            }
            a->pid = (int)pid;
        } else {
            cli_error(arg[0] == '-' && i + 1 == argc ? "inspect: %s needs a value"
                                                     : "inspect: unknown argument '%s'",
                      arg);
            return -1;
        }
    }
    if (!a->pid) {
        cli_error("inspect: no process id given");
        return -1;
    }
    if (a->pid == (int)getpid()) {
        cli_error("inspect: strays cannot inspect itself");
        return -1;
    }
    if (a->format == INSPECT_PPROF && cli_pprof_check_output(a->output, 1) != 0) return -1;
    return 0;
}

/* ---- the report ---- */

static int write_report(struct st_report *r, const struct inspect_args *a)
{
    if (a->format == INSPECT_PPROF) {
        const char *name = "inspect";
        return cli_write_pprof(r, &name, 1, a->output, false) ? 1 : 0;
    }
    int fd = a->output ? open(a->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
    if (fd < 0) {
        cli_error("inspect: cannot create %s: %s", a->output, strerror(errno));
        return 1;
    }
    struct st_out out;
    st_out_init(&out, fd);
    if (a->format == INSPECT_JSON)
        st_report_write_json(r, &out);
    else
        st_report_write_text(r, &out);
    st_out_flush(&out);
    int error = out.error;
    if (a->output && close(fd) != 0 && !error) error = -errno;
    if (error)
        cli_error("inspect: cannot write %s: %s", a->output ? a->output : "the report to stdout",
                  strerror(-error));
    return error ? 1 : 0;
}

static void symbolize(struct st_report *r)
{
    struct st_offline_symbolizer *s;
    char err[300];
    if (st_offline_symbolizer_open(&s, NULL, NULL, NULL, err, sizeof err) != 0)
        return; /* frames stay as module+offset: `strays report --symbolize` later */
    st_offline_symbolize_report(s, r);
    st_offline_symbolizer_close(s);
}

/* Fills r; returns the CLI status when it cannot (said). */
static int inspect(struct st_report *r, const struct inspect_args *a)
{
    char err[1024];
    int rc = inspect_read_proc(r, a->pid, err, sizeof err);
    if (rc == -EACCES || rc == -EPERM) inspect_explain_eperm(a->pid, err, sizeof err);
    if (rc == 0 && a->stacks) rc = inspect_read_stacks(r, a->pid, err, sizeof err);
    if (rc == -EPERM)
        strncat(err, " (--no-stacks reads /proc only, where that is allowed)",
                sizeof err - strlen(err) - 1);
    if (rc != 0) {
        cli_error("inspect: %s", err);
        return rc == -ESRCH ? CLI_USAGE : CLI_INTERNAL;
    }
    symbolize(r);
    return CLI_OK;
}

int cli_inspect(int argc, char **argv)
{
    struct inspect_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        fputs(rc > 0 ? inspect_usage : "", rc > 0 ? stdout : stderr);
        return rc > 0 ? CLI_OK : CLI_USAGE;
    }
    struct st_report r;
    memset(&r, 0, sizeof r);
    int status = inspect(&r, &a);
    if (status == CLI_OK && write_report(&r, &a) != 0) status = CLI_INTERNAL;
    st_report_free(&r);
    return status;
}
