/* Unit tests for suppression rules (src/suppressions.c): the '*' glob, the
 * parser (every rule form, qualifiers, comments, blanks, the exact message
 * for each bad line, with file and line), reading files of any size and an
 * unreadable one, matching by function, module and source file anywhere /
 * top: / creator: and fd targets, first-rule precedence, applying rules to
 * a report (objects removed and counted, growth sites, the rule list), and
 * the writers: the JSON field and its reader, the text summary and the
 * "Suppressions used:" block. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "messages.h"
#include "report/json.h"
#include "base/out.h"
#include "report/report.h"
#include "report/report_parse.h"
#include "collect/suppressions.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(suppressions, .timeout = 20);

/* ----------------------------------------------------------------- helpers */

/* Parses text as file "x.supp" into a fresh set; the bad-line count must
 * equal the number of messages. */
static int parse(struct st_supp_set *set, const char *text, struct errors *e)
{
    memset(set, 0, sizeof *set);
    memset(e, 0, sizeof *e);
    int bad = st_supp_parse(set, "x.supp", text, strlen(text), collect, e);
    cr_assert_eq(bad, e->count, "returned %d bad lines but gave %d messages:\n%s", bad, e->count,
                 e->text);
    return bad;
}

/* One rule, parsed cleanly. */
static void expect_rule(const char *text, enum st_supp_kind kind, enum st_supp_where where,
                        const char *pattern)
{
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, text, &e), 0, "[%s] gave:\n%s", text, e.text);
    cr_assert_eq(set.n, 1, "[%s]: %u rules", text, set.n);
    cr_assert_eq(set.rules[0].kind, kind, "[%s] kind", text);
    cr_assert_eq(set.rules[0].where, where, "[%s] where", text);
    cr_assert_str_eq(set.rules[0].pattern, pattern, "[%s] pattern", text);
    st_supp_free(&set);
}

/* One bad line: exactly this message, and no rule. */
static void expect_bad(const char *text, const char *message)
{
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, text, &e), 1, "[%s] gave:\n%s", text, e.text);
    char want[1200];
    snprintf(want, sizeof want, "%s\n", message);
    cr_assert_str_eq(e.text, want, "for [%s]", text);
    cr_assert_eq(set.n, 0);
    st_supp_free(&set);
}

/* A report with stacks added by hand. */
static void model_init(struct st_report *r)
{
    memset(r, 0, sizeof *r);
    r->version = "0.1.0";
    r->pid = 1234;
    r->exe = "/usr/bin/server";
    r->command = "./server";
    r->reason = "exit";
    r->exit_status = 0;
    r->crash_stack = -1;
    r->growth_since_ms = -1;
    r->threads = st_arena_alloc(&r->arena, 64 * sizeof *r->threads);
    r->timers = st_arena_alloc(&r->arena, 64 * sizeof *r->timers);
    r->fds = st_arena_alloc(&r->arena, 64 * sizeof *r->fds);
    r->stacks = st_arena_alloc(&r->arena, 64 * sizeof *r->stacks);
    cr_assert(r->threads && r->timers && r->fds && r->stacks);
}

struct fr {
    const char *function, *file, *module;
};

static int add_stack(struct st_report *r, int n, const struct fr *frames)
{
    struct st_report_stack *s = &r->stacks[r->nstacks];
    s->frames = st_arena_alloc(&r->arena, (size_t)(n + 1) * sizeof *s->frames);
    cr_assert_not_null(s->frames);
    for (int i = 0; i < n; i++) {
        s->frames[i].address = 0x1000u + (unsigned)i;
        s->frames[i].function = frames[i].function;
        s->frames[i].file = frames[i].file;
        s->frames[i].line = frames[i].file ? 10 + i : 0;
        s->frames[i].module = frames[i].module;
        s->frames[i].offset = 0x100u + (unsigned)i;
    }
    s->depth = (uint32_t)n;
    return (int)r->nstacks++;
}

static void add_thread(struct st_report *r, int tid, int created_by)
{
    struct st_report_thread *t = &r->threads[r->nthreads++];
    t->tid = tid;
    t->parent_tid = r->pid;
    t->name = "";
    t->state = ST_RT_RUNNING;
    t->created_by = created_by;
    t->stack = -1;
}

static void add_timer(struct st_report *r, const char *id, int created_by)
{
    struct st_report_timer *t = &r->timers[r->ntimers++];
    t->id = id;
    t->clock = "CLOCK_MONOTONIC";
    t->notify = "none";
    t->fd = -1;
    t->tid = r->pid;
    t->created_by = created_by;
}

static void add_fd(struct st_report *r, int fd, const char *kind, const char *target,
                   int created_by)
{
    struct st_report_fd *f = &r->fds[r->nfds++];
    f->fd = fd;
    f->kind = kind;
    f->target = target;
    f->tid = r->pid;
    f->created_by = created_by;
}

/* The typical program: a glib pool (its thread created deep inside
 * libglib), a worker of the program, a timer, and fds. */
static int pool_stack, worker_stack, timer_stack, conf_stack, rand_stack;

static void program_model(struct st_report *r)
{
    model_init(r);
    const struct fr pool[] = {
        {"g_system_thread_new", "../glib/gthread-posix.c", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"},
        {"g_thread_new_internal", "../glib/gthread.c", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"},
        {"g_thread_pool_new_full", "../glib/gthreadpool.c", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"},
        {"start_pool", "/home/dev/src/server.c", "/usr/bin/server"},
        {"main", "/home/dev/src/server.c", "/usr/bin/server"},
    };
    const struct fr worker[] = {
        {"start_worker", "/home/dev/src/worker.c", "/usr/bin/server"},
        {"main", "/home/dev/src/server.c", "/usr/bin/server"},
    };
    const struct fr timer[] = {
        {"start_ticker", "/home/dev/src/stats.c", "/usr/bin/server"},
        {"init_stats", "/home/dev/src/stats.c", "/usr/bin/server"},
        {"main", "/home/dev/src/server.c", "/usr/bin/server"},
    };
    const struct fr conf[] = {
        {"open_config", "/home/dev/src/config.c", "/usr/bin/server"},
        {"load_config", "/home/dev/src/config.c", "/usr/bin/server"},
        {"main", "/home/dev/src/server.c", "/usr/bin/server"},
    };
    const struct fr rnd[] = {
        {NULL, NULL, "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"},
        {"seed_random", "/home/dev/src/server.c", "/usr/bin/server"},
    };
    pool_stack = add_stack(r, 5, pool);
    worker_stack = add_stack(r, 2, worker);
    timer_stack = add_stack(r, 3, timer);
    conf_stack = add_stack(r, 3, conf);
    rand_stack = add_stack(r, 2, rnd);
    add_thread(r, 101, pool_stack);
    add_thread(r, 102, worker_stack);
    add_thread(r, 103, pool_stack);
    add_thread(r, 104, -1);
    add_timer(r, "0x1", timer_stack);
    add_fd(r, 3, "file", "/etc/server.conf", conf_stack);
    add_fd(r, 4, "file", "/dev/urandom", rand_stack);
    add_fd(r, 5, "pipe", "pipe:[4242]", worker_stack);
}

/* The rule index matching an object of kind at stack (with target). */
static int match(const char *rules, enum st_supp_kind kind, const struct st_report *r, int stack,
                 const char *target)
{
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, rules, &e), 0, "%s", e.text);
    int got = st_supp_match(&set, kind, stack >= 0 ? &r->stacks[stack] : NULL, target);
    st_supp_free(&set);
    return got;
}

static void write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

typedef void (*writer_fn)(const struct st_report *, struct st_out *);

static char *render(const struct st_report *r, writer_fn write_report)
{
    int fd = memfd_create("report", 0);
    cr_assert_geq(fd, 0);
    struct st_out *o = malloc(sizeof *o);
    st_out_init(o, fd);
    write_report(r, o);
    st_out_flush(o);
    cr_assert_eq(o->error, 0);
    free(o);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

static int load_json(const char *text, struct st_report *back, char *err, size_t errlen)
{
    struct st_json_error jerr;
    struct st_json *root = st_json_parse(text, strlen(text), &jerr);
    cr_assert_not_null(root, "JSON does not parse: %s\n%s", jerr.message, text);
    int rc = st_report_from_json(back, root, err, errlen);
    st_json_free(root);
    return rc;
}

/* ------------------------------------------------------------------- glob */

Test(suppressions, glob_star_matches_any_run_anywhere_and_the_rest_exactly)
{
    cr_assert(st_supp_glob("main", "main"));
    cr_assert(!st_supp_glob("main", "main2"), "no implicit substring match");
    cr_assert(!st_supp_glob("main", "domain"));
    cr_assert(st_supp_glob("g_thread_pool*", "g_thread_pool_new_full"));
    cr_assert(st_supp_glob("g_thread_pool*", "g_thread_pool"), "* matches the empty run");
    cr_assert(st_supp_glob("*_new_full", "g_thread_pool_new_full"));
    cr_assert(st_supp_glob("g_*_new*", "g_thread_pool_new_full"));
    cr_assert(st_supp_glob("*pool*", "pool"));
    cr_assert(st_supp_glob("*", ""));
    cr_assert(st_supp_glob("*", "anything at all"));
    cr_assert(st_supp_glob("/usr/*/libglib-2.0.so*", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"),
              "* crosses '/'");
    cr_assert(st_supp_glob("a*b*c", "aXbYbZc"), "backtracks to the last star");
    cr_assert(!st_supp_glob("a*b*c", "aXbYbZ"));
    cr_assert(!st_supp_glob("", "x"));
    cr_assert(st_supp_glob("", ""));
    cr_assert(!st_supp_glob("?", "x"), "only * is special");
    cr_assert(st_supp_glob("std::thread::*", "std::thread::_M_start_thread(std::unique_ptr<>)"));
}

/* ------------------------------------------------------------- rule forms */

Test(suppressions, every_rule_form_parses_to_its_kind_place_and_pattern)
{
    expect_rule("thread:g_thread_pool*", ST_SUPP_THREAD, ST_SUPP_ANY, "g_thread_pool*");
    expect_rule("timer:start_ticker", ST_SUPP_TIMER, ST_SUPP_ANY, "start_ticker");
    expect_rule("fd:libglib-2.0.so*", ST_SUPP_FD, ST_SUPP_ANY, "libglib-2.0.so*");
    expect_rule("thread:top:start_worker", ST_SUPP_THREAD, ST_SUPP_TOP, "start_worker");
    expect_rule("timer:creator:init_*", ST_SUPP_TIMER, ST_SUPP_CREATOR, "init_*");
    expect_rule("fd:top:open_config", ST_SUPP_FD, ST_SUPP_TOP, "open_config");
    expect_rule("fd:target=/dev/urandom", ST_SUPP_FD, ST_SUPP_TARGET, "/dev/urandom");
    expect_rule("fd:target=socket:[*] tcp *:443 -> *", ST_SUPP_FD, ST_SUPP_TARGET,
                "socket:[*] tcp *:443 -> *");
    expect_rule("thread:config.c", ST_SUPP_THREAD, ST_SUPP_ANY, "config.c");
    expect_rule("thread:/home/dev/src/*", ST_SUPP_THREAD, ST_SUPP_ANY, "/home/dev/src/*");
}

Test(suppressions, blanks_around_a_rule_and_after_its_colons_are_ignored)
{
    expect_rule("   thread:foo \t\r", ST_SUPP_THREAD, ST_SUPP_ANY, "foo");
    expect_rule("thread: foo", ST_SUPP_THREAD, ST_SUPP_ANY, "foo");
    expect_rule("thread:top: foo", ST_SUPP_THREAD, ST_SUPP_TOP, "foo");
    expect_rule("fd: target=/dev/null", ST_SUPP_FD, ST_SUPP_TARGET, "/dev/null");
    /* Inside a pattern, blanks are kept: C++ names hold them. */
    expect_rule("thread:operator new*", ST_SUPP_THREAD, ST_SUPP_ANY, "operator new*");
}

Test(suppressions, a_cxx_name_starting_like_a_qualifier_is_a_pattern)
{
    expect_rule("thread:top::run", ST_SUPP_THREAD, ST_SUPP_ANY, "top::run");
    expect_rule("thread:creator::Pool::start", ST_SUPP_THREAD, ST_SUPP_ANY, "creator::Pool::start");
    expect_rule("thread:top:top::run", ST_SUPP_THREAD, ST_SUPP_TOP, "top::run");
    expect_rule("thread:std::thread::_M_start_thread*", ST_SUPP_THREAD, ST_SUPP_ANY,
                "std::thread::_M_start_thread*");
}

Test(suppressions, comments_and_blank_lines_are_skipped_and_lines_counted)
{
    struct st_supp_set set;
    struct errors e;
    const char *text = "# strays suppressions\n"
                       "\n"
                       "   # indented comment\n"
                       "thread:a\r\n"
                       "\t\n"
                       "timer:b\n"
                       "fd:target=/dev/c";
    cr_assert_eq(parse(&set, text, &e), 0, "%s", e.text);
    cr_assert_eq(set.n, 3);
    cr_assert_str_eq(set.rules[0].text, "thread:a");
    cr_assert_eq(set.rules[0].line, 4);
    cr_assert_str_eq(set.rules[1].text, "timer:b");
    cr_assert_eq(set.rules[1].line, 6);
    cr_assert_str_eq(set.rules[2].text, "fd:target=/dev/c", "a last line without newline counts");
    cr_assert_eq(set.rules[2].line, 7);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(set.rules[i].file, "x.supp");
    st_supp_free(&set);
}

Test(suppressions, an_empty_file_has_no_rules)
{
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, "", &e), 0);
    cr_assert_eq(set.n, 0);
    cr_assert_eq(parse(&set, "\n\n# only comments\n", &e), 0);
    cr_assert_eq(set.n, 0);
    st_supp_free(&set);
}

/* ------------------------------------------------------------- bad lines */

Test(suppressions, bad_lines_give_one_message_each_with_file_line_and_reason)
{
    expect_bad("thrad:foo", "x.supp:1: bad suppression \"thrad:foo\": unknown kind \"thrad\" "
                            "(expected thread, timer or fd); ignoring it");
    expect_bad("threads:foo", "x.supp:1: bad suppression \"threads:foo\": unknown kind "
                              "\"threads\" (expected thread, timer or fd); ignoring it");
    expect_bad("leak:foo", "x.supp:1: bad suppression \"leak:foo\": unknown kind \"leak\" "
                           "(expected thread, timer or fd); ignoring it");
    expect_bad("g_thread_pool*", "x.supp:1: bad suppression \"g_thread_pool*\": expected "
                                 "KIND:PATTERN, KIND being thread, timer or fd; ignoring it");
    expect_bad("thread:", "x.supp:1: bad suppression \"thread:\": the pattern is empty; "
                          "ignoring it");
    expect_bad("thread:top:", "x.supp:1: bad suppression \"thread:top:\": the pattern is empty; "
                              "ignoring it");
    expect_bad("fd:target=", "x.supp:1: bad suppression \"fd:target=\": the pattern is empty; "
                             "ignoring it");
    expect_bad("thread:bottom:foo",
               "x.supp:1: bad suppression \"thread:bottom:foo\": unknown qualifier \"bottom:\" "
               "(expected top: or creator:, or target= in fd rules); ignoring it");
    expect_bad("fd:target:/dev/urandom",
               "x.supp:1: bad suppression \"fd:target:/dev/urandom\": unknown qualifier "
               "\"target:\" (expected top: or creator:, or target= in fd rules); ignoring it");
    expect_bad("thread:target=/dev/null", "x.supp:1: bad suppression \"thread:target=/dev/null\": "
                                          "target= applies to fd rules only; ignoring it");
    expect_bad("fd:top:target=/dev/null", "x.supp:1: bad suppression \"fd:top:target=/dev/null\": "
                                          "target= takes no top: or creator: qualifier; "
                                          "ignoring it");
    expect_bad("fd:creator:target=x", "x.supp:1: bad suppression \"fd:creator:target=x\": "
                                      "target= takes no top: or creator: qualifier; ignoring it");
}

Test(suppressions, a_nul_byte_makes_its_line_bad)
{
    struct st_supp_set set = {0};
    struct errors e = {0};
    const char text[] = "thread:a\nthread:b\0c\nthread:d\n";
    int bad = st_supp_parse(&set, "x.supp", text, sizeof text - 1, collect, &e);
    cr_assert_eq(bad, 1);
    cr_assert_str_eq(e.text, "x.supp:2: bad suppression \"thread:b c\": it holds a NUL byte; "
                             "ignoring it\n");
    cr_assert_eq(set.n, 2);
    cr_assert_str_eq(set.rules[1].text, "thread:d");
    st_supp_free(&set);
}

Test(suppressions, a_long_bad_line_is_cut_in_its_message)
{
    char text[600];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, text, &e), 1);
    char want[400];
    snprintf(want, sizeof want,
             "x.supp:1: bad suppression \"%.160s...\": expected KIND:PATTERN, KIND being "
             "thread, timer or fd; ignoring it\n",
             text);
    cr_assert_str_eq(e.text, want);
    st_supp_free(&set);
}

Test(suppressions, the_good_rules_around_bad_lines_still_apply)
{
    struct st_supp_set set;
    struct errors e;
    const char *text = "thread:start_pool\n"
                       "thread:top:\n"
                       "# a comment\n"
                       "thrad:start_worker\n"
                       "fd:target=/dev/urandom\n"
                       "timer:oops:init_stats\n";
    cr_assert_eq(parse(&set, text, &e), 3);
    cr_assert_str_eq(e.text,
                     "x.supp:2: bad suppression \"thread:top:\": the pattern is empty; ignoring it\n"
                     "x.supp:4: bad suppression \"thrad:start_worker\": unknown kind \"thrad\" "
                     "(expected thread, timer or fd); ignoring it\n"
                     "x.supp:6: bad suppression \"timer:oops:init_stats\": unknown qualifier "
                     "\"oops:\" (expected top: or creator:, or target= in fd rules); ignoring it\n");
    cr_assert_eq(set.n, 2);
    cr_assert_str_eq(set.rules[0].text, "thread:start_pool");
    cr_assert_eq(set.rules[0].line, 1);
    cr_assert_str_eq(set.rules[1].text, "fd:target=/dev/urandom");
    cr_assert_eq(set.rules[1].line, 5);
    st_supp_free(&set);
}

/* ------------------------------------------------------------------ files */

Test(suppressions, a_file_larger_than_any_buffer_is_read_whole)
{
    char path[] = "/tmp/strays-supp-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    /* 5000 rules, about 150 KB, the last without a newline. */
    size_t cap = 5000 * 40, used = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 5000; i++)
        used += (size_t)snprintf(text + used, cap - used, "%sthread:function_number_%d",
                                 i ? "\n" : "", i);
    write_file(path, text, used);
    struct st_supp_set set = {0};
    struct errors e = {0};
    cr_assert_eq(st_supp_load(&set, path, collect, &e), 0, "%s", e.text);
    cr_assert_eq(set.n, 5000);
    cr_assert_str_eq(set.rules[4999].pattern, "function_number_4999");
    cr_assert_eq(set.rules[4999].line, 5000);
    cr_assert_str_eq(set.rules[4999].file, path);
    st_supp_free(&set);
    free(text);
    unlink(path);
}

Test(suppressions, an_unreadable_file_gives_one_message_with_path_and_reason)
{
    struct st_supp_set set = {0};
    struct errors e = {0};
    cr_assert_eq(st_supp_load(&set, "/nonexistent/strays.supp", collect, &e), -ENOENT);
    cr_assert_str_eq(e.text, "cannot read the suppressions file /nonexistent/strays.supp: No such "
                             "file or directory; running without suppressions\n");
    cr_assert_eq(set.n, 0);
    memset(&e, 0, sizeof e);
    cr_assert_eq(st_supp_load(&set, "/tmp", collect, &e), -EISDIR);
    cr_assert_str_eq(e.text, "cannot read the suppressions file /tmp: Is a directory; running "
                             "without suppressions\n");
    cr_assert_eq(set.n, 0);
    st_supp_free(&set);
}

Test(suppressions, bad_lines_of_a_file_name_it)
{
    char path[] = "/tmp/strays-supp-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    const char *text = "# mine\nthread:ok\nfd:top:target=/x\n";
    write_file(path, text, strlen(text));
    struct st_supp_set set = {0};
    struct errors e = {0};
    cr_assert_eq(st_supp_load(&set, path, collect, &e), 1);
    char want[400];
    snprintf(want, sizeof want,
             "%s:3: bad suppression \"fd:top:target=/x\": target= takes no top: or creator: "
             "qualifier; ignoring it\n",
             path);
    cr_assert_str_eq(e.text, want);
    cr_assert_eq(set.n, 1);
    st_supp_free(&set);
    unlink(path);
}

/* --------------------------------------------------------------- matching */

Test(suppressions, a_function_anywhere_in_the_creation_stack_matches)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:start_pool", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:g_thread_pool*", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:main", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:g_thread_pool*", ST_SUPP_THREAD, &r, worker_stack, NULL), -1);
    cr_assert_eq(match("thread:start", ST_SUPP_THREAD, &r, pool_stack, NULL), -1,
                 "a pattern without * is the whole name");
    st_report_free(&r);
}

Test(suppressions, a_module_matches_by_basename_or_full_path)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:libglib-2.0.so*", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:libglib-2.0.so.0", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:/usr/lib/*/libglib-2.0.so.0", ST_SUPP_THREAD, &r, pool_stack, NULL),
                 0);
    cr_assert_eq(match("thread:libglib-2.0.so*", ST_SUPP_THREAD, &r, worker_stack, NULL), -1);
    cr_assert_eq(match("fd:libcrypto.so*", ST_SUPP_FD, &r, rand_stack, NULL), 0,
                 "a frame with no function still has its module");
    cr_assert_eq(match("thread:server", ST_SUPP_THREAD, &r, worker_stack, NULL), 0,
                 "the executable is a module too");
    st_report_free(&r);
}

Test(suppressions, a_source_file_matches_by_basename_or_path)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:worker.c", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    cr_assert_eq(match("thread:/home/dev/src/worker.c", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    cr_assert_eq(match("thread:*/src/worker.c", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    cr_assert_eq(match("thread:gthread*.c", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:worker.c", ST_SUPP_THREAD, &r, pool_stack, NULL), -1);
    cr_assert_eq(match("thread:src/worker.c", ST_SUPP_THREAD, &r, worker_stack, NULL), -1,
                 "a path is matched in full, not by its tail");
    st_report_free(&r);
}

Test(suppressions, top_matches_only_the_innermost_frame)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:top:start_worker", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    cr_assert_eq(match("thread:top:main", ST_SUPP_THREAD, &r, worker_stack, NULL), -1);
    cr_assert_eq(match("thread:top:g_system_thread_new", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:top:start_pool", ST_SUPP_THREAD, &r, pool_stack, NULL), -1);
    cr_assert_eq(match("thread:top:libglib-2.0.so*", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    cr_assert_eq(match("thread:top:worker.c", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    st_report_free(&r);
}

Test(suppressions, creator_matches_only_the_caller_of_the_creating_function)
{
    struct st_report r;
    program_model(&r);
    /* frame 0 open_config called fopen; frame 1 load_config called open_config. */
    cr_assert_eq(match("fd:creator:load_config", ST_SUPP_FD, &r, conf_stack, NULL), 0);
    cr_assert_eq(match("fd:creator:open_config", ST_SUPP_FD, &r, conf_stack, NULL), -1);
    cr_assert_eq(match("fd:creator:main", ST_SUPP_FD, &r, conf_stack, NULL), -1);
    cr_assert_eq(match("timer:creator:init_*", ST_SUPP_TIMER, &r, timer_stack, NULL), 0);
    cr_assert_eq(match("thread:creator:main", ST_SUPP_THREAD, &r, worker_stack, NULL), 0);
    cr_assert_eq(match("thread:creator:g_thread_new_internal", ST_SUPP_THREAD, &r, pool_stack,
                       NULL),
                 0);
    /* A stack of one frame has no creator. */
    const struct fr one[] = {{"lonely", NULL, NULL}};
    int lonely = add_stack(&r, 1, one);
    cr_assert_eq(match("thread:creator:*", ST_SUPP_THREAD, &r, lonely, NULL), -1);
    cr_assert_eq(match("thread:top:lonely", ST_SUPP_THREAD, &r, lonely, NULL), 0);
    st_report_free(&r);
}

Test(suppressions, fd_target_matches_the_target_and_nothing_else)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("fd:target=/dev/urandom", ST_SUPP_FD, &r, rand_stack, "/dev/urandom"), 0);
    cr_assert_eq(match("fd:target=/dev/*", ST_SUPP_FD, &r, rand_stack, "/dev/urandom"), 0);
    cr_assert_eq(match("fd:target=pipe:*", ST_SUPP_FD, &r, worker_stack, "pipe:[4242]"), 0);
    cr_assert_eq(match("fd:target=urandom", ST_SUPP_FD, &r, rand_stack, "/dev/urandom"), -1,
                 "a target is matched in full");
    cr_assert_eq(match("fd:target=/dev/urandom", ST_SUPP_FD, &r, rand_stack, NULL), -1);
    cr_assert_eq(match("fd:target=seed_random", ST_SUPP_FD, &r, rand_stack, "/dev/urandom"), -1,
                 "target= does not look at the stack");
    cr_assert_eq(match("fd:target=/dev/urandom", ST_SUPP_FD, &r, -1, "/dev/urandom"), 0,
                 "nor needs one");
    cr_assert_eq(match("fd:/dev/urandom", ST_SUPP_FD, &r, rand_stack, "/dev/urandom"), -1,
                 "a plain fd: rule looks at the stack, not the target");
    st_report_free(&r);
}

Test(suppressions, rules_apply_to_their_own_kind_only)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("fd:start_worker\ntimer:start_worker", ST_SUPP_THREAD, &r, worker_stack,
                       NULL),
                 -1);
    cr_assert_eq(match("thread:start_ticker", ST_SUPP_TIMER, &r, timer_stack, NULL), -1);
    cr_assert_eq(match("thread:start_worker\nfd:start_worker", ST_SUPP_FD, &r, worker_stack,
                       NULL),
                 1);
    st_report_free(&r);
}

Test(suppressions, the_first_matching_rule_in_file_order_wins)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:nothing\nthread:main\nthread:start_pool", ST_SUPP_THREAD, &r,
                       pool_stack, NULL),
                 1);
    cr_assert_eq(match("thread:top:*\nthread:main", ST_SUPP_THREAD, &r, pool_stack, NULL), 0);
    st_report_free(&r);
}

Test(suppressions, an_object_without_a_stack_matches_no_stack_rule)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(match("thread:*\nthread:top:*\nthread:creator:*", ST_SUPP_THREAD, &r, -1, NULL),
                 -1);
    const struct fr none[] = {{NULL, NULL, NULL}};
    int empty = add_stack(&r, 0, none);
    cr_assert_eq(match("thread:*", ST_SUPP_THREAD, &r, empty, NULL), -1);
    st_report_free(&r);
}

/* --------------------------------------------------------------- applying */

static void apply(struct st_report *r, const char *rules, bool list)
{
    struct st_supp_set set;
    struct errors e;
    cr_assert_eq(parse(&set, rules, &e), 0, "%s", e.text);
    st_supp_apply(&set, r, list, true);
    st_supp_free(&set);
}

Test(suppressions, suppressed_objects_leave_the_lists_and_are_counted)
{
    struct st_report r;
    program_model(&r);
    cr_assert_eq(st_report_leak_count(&r), 8);
    apply(&r, "thread:g_thread_pool_new*\nfd:target=/dev/urandom\ntimer:top:start_ticker\n", false);
    cr_assert_eq(r.nthreads, 2);
    cr_assert_eq(r.threads[0].tid, 102, "the others keep their order");
    cr_assert_eq(r.threads[1].tid, 104);
    cr_assert_eq(r.ntimers, 0);
    cr_assert_eq(r.nfds, 2);
    cr_assert_eq(r.fds[0].fd, 3);
    cr_assert_eq(r.fds[1].fd, 5);
    cr_assert_eq(r.suppressed.threads, 2);
    cr_assert_eq(r.suppressed.timers, 1);
    cr_assert_eq(r.suppressed.fds, 1);
    cr_assert_eq(st_report_leak_count(&r), 4, "suppressed objects are not leaks");
    cr_assert_eq(r.suppressed.nrules, 0, "rules are listed with print_suppressions only");
    cr_assert_null(r.suppressed.rules);
    cr_assert_eq(r.nstacks, 5, "the stacks table is left as it is");
    st_report_free(&r);
}

Test(suppressions, with_the_list_every_rule_comes_with_its_count)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "# x\nthread:main\nthread:start_pool\nfd:target=/nowhere\nfd:*.c\n", true);
    cr_assert_eq(r.nthreads, 1, "only the thread without a stack is left");
    cr_assert_eq(r.threads[0].tid, 104);
    cr_assert_eq(r.nfds, 0);
    cr_assert_eq(r.suppressed.nrules, 4);
    const struct st_report_supp_rule *s = r.suppressed.rules;
    cr_assert_str_eq(s[0].rule, "thread:main");
    cr_assert_str_eq(s[0].file, "x.supp");
    cr_assert_eq(s[0].line, 2);
    cr_assert_eq(s[0].matched, 3, "all three stacked threads; the first rule takes them");
    cr_assert_str_eq(s[1].rule, "thread:start_pool");
    cr_assert_eq(s[1].matched, 0);
    cr_assert_eq(s[2].line, 4);
    cr_assert_eq(s[2].matched, 0);
    cr_assert_str_eq(s[3].rule, "fd:*.c");
    cr_assert_eq(s[3].matched, 3);
    st_report_free(&r);
}

Test(suppressions, no_rules_change_nothing)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "# nothing\n", true);
    cr_assert_eq(st_report_leak_count(&r), 8);
    cr_assert_eq(r.suppressed.threads + r.suppressed.timers + r.suppressed.fds, 0);
    cr_assert_eq(r.suppressed.nrules, 0);
    st_report_free(&r);
}

Test(suppressions, growth_sites_whose_stack_a_rule_matches_are_left_out)
{
    struct st_report r;
    program_model(&r);
    r.reason = "signal";
    r.growth_since_ms = 1000;
    r.growth = st_arena_alloc(&r.arena, 4 * sizeof *r.growth);
    r.growth[0] = (struct st_report_growth){"threads", pool_stack, 2, 2, 2, true};
    r.growth[1] = (struct st_report_growth){"threads", worker_stack, 1, 0, 0, false};
    r.growth[2] = (struct st_report_growth){"fds", rand_stack, 1, 1, 1, false};
    r.growth[3] = (struct st_report_growth){"timers", pool_stack, 1, 1, 1, false};
    r.ngrowth = 4;
    apply(&r, "thread:g_thread_pool*\nfd:target=/dev/urandom\n", false);
    cr_assert_eq(r.ngrowth, 3);
    cr_assert_eq(r.growth[0].created_by, worker_stack);
    cr_assert_str_eq(r.growth[1].kind, "fds", "target= rules do not decide a site");
    cr_assert_str_eq(r.growth[2].kind, "timers", "a thread rule does not hide a timer site");
    st_report_free(&r);
}

/* The test binary's own function, found in its ELF symbol table. */
__attribute__((noinline)) void strays_test_supp_creator(void) { __asm__ volatile(""); }

Test(suppressions, without_symbolized_frames_names_come_from_the_symbol_table_for_matching_only)
{
    struct st_report r;
    model_init(&r);
    Dl_info info;
    cr_assert(dladdr((void *)strays_test_supp_creator, &info));
    char exe[PATH_MAX];
    cr_assert_not_null(realpath("/proc/self/exe", exe));
    const struct fr f[] = {{NULL, NULL, NULL}};
    int s = add_stack(&r, 1, f);
    r.stacks[s].frames[0].module = exe;
    /* A return address just inside the function. */
    r.stacks[s].frames[0].offset =
        (uintptr_t)strays_test_supp_creator - (uintptr_t)info.dli_fbase + 1;
    add_thread(&r, 7, s);
    struct st_supp_set set;
    struct errors e;
    parse(&set, "thread:top:strays_test_supp_creator\n", &e);
    st_supp_apply(&set, &r, false, false);
    cr_assert_eq(r.nthreads, 0);
    cr_assert_eq(r.suppressed.threads, 1);
    cr_assert_null(r.stacks[s].frames[0].function, "the report's frames stay as they were");
    st_supp_free(&set);
    st_report_free(&r);
}

/* ---------------------------------------------------------------- writers */

Test(suppressions, json_writes_counts_and_rules_and_reads_them_back)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "thread:g_thread_pool*\nfd:target=/dev/\"quoted\"\n", true);
    char *text = render(&r, st_report_write_json);
    cr_assert_not_null(strstr(text, "\n\"suppressed\":{\"threads\":2,\"timers\":0,\"fds\":0,"
                                    "\"rules\":[\n"
                                    " {\"rule\":\"thread:g_thread_pool*\",\"file\":\"x.supp\","
                                    "\"line\":1,\"matched\":2},\n"
                                    " {\"rule\":\"fd:target=/dev/\\\"quoted\\\"\",\"file\":"
                                    "\"x.supp\",\"line\":2,\"matched\":0}]},\n"),
                       "%s", text);
    struct st_report back;
    char err[400] = "";
    cr_assert_eq(load_json(text, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.suppressed.threads, 2);
    cr_assert_eq(back.suppressed.timers, 0);
    cr_assert_eq(back.suppressed.fds, 0);
    cr_assert_eq(back.suppressed.nrules, 2);
    cr_assert_str_eq(back.suppressed.rules[1].rule, "fd:target=/dev/\"quoted\"");
    cr_assert_str_eq(back.suppressed.rules[1].file, "x.supp");
    cr_assert_eq(back.suppressed.rules[0].line, 1);
    cr_assert_eq(back.suppressed.rules[0].matched, 2);
    cr_assert_eq(st_report_leak_count(&back), 6);
    st_report_free(&back);
    free(text);
    st_report_free(&r);
}

Test(suppressions, json_without_suppressions_has_zero_counts_and_no_rules)
{
    struct st_report r;
    program_model(&r);
    char *text = render(&r, st_report_write_json);
    cr_assert_not_null(
        strstr(text, "\"suppressed\":{\"threads\":0,\"timers\":0,\"fds\":0,\"rules\":[]}"), "%s",
        text);
    free(text);
    st_report_free(&r);
}

Test(suppressions, reports_without_the_field_still_load_and_bad_ones_are_named)
{
    const char *head = "{\"tool\":\"strays\",\"version\":\"0.1.0\",\"pid\":1,\"exe\":null,"
                       "\"reason\":\"exit\",\"time\":0,\"uptime_ms\":0,\"threads\":[],"
                       "\"timers\":[],\"fds\":[],\"stacks\":[]";
    char text[1024], err[400] = "";
    struct st_report back;
    snprintf(text, sizeof text, "%s}", head);
    cr_assert_eq(load_json(text, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.suppressed.threads + back.suppressed.timers + back.suppressed.fds, 0);
    cr_assert_eq(back.suppressed.nrules, 0);
    st_report_free(&back);

    const struct {
        const char *field, *message;
    } bad[] = {
        {"[]", "\"suppressed\" must be an object"},
        {"{\"threads\":-1,\"timers\":0,\"fds\":0,\"rules\":[]}",
         "suppressed: \"threads\" must be an integer from 0 to 4294967295"},
        {"{\"threads\":0,\"timers\":0,\"fds\":0}", "\"rules\" must be an array"},
        {"{\"threads\":0,\"timers\":0,\"fds\":0,\"rules\":[{\"rule\":\"thread:x\","
         "\"file\":\"f\",\"line\":0,\"matched\":1}]}",
         "suppressed.rules[0]: \"line\" must be an integer from 1 to 2147483647"},
        {"{\"threads\":0,\"timers\":0,\"fds\":0,\"rules\":[{\"file\":\"f\",\"line\":1,"
         "\"matched\":1}]}",
         "suppressed.rules[0]: \"rule\" must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s,\"suppressed\":%s}", head, bad[i].field);
        err[0] = '\0';
        cr_assert_eq(load_json(text, &back, err, sizeof err), -EINVAL, "%s", bad[i].field);
        cr_assert_str_eq(err, bad[i].message);
        st_report_free(&back);
    }
}

Test(suppressions, text_summary_counts_what_was_suppressed)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "thread:g_thread_pool*\nfd:target=/dev/urandom\ntimer:*\n", false);
    char *text = render(&r, st_report_write_summary);
    cr_assert_str_eq(text, "strays: 2 leaked threads and 2 fds in 4 groups (4 suppressed) "
                           "(pid 1234, ./server)");
    free(text);
    /* The thread without a creation stack stays: no stack rule matches it. */
    apply(&r, "thread:*\nfd:*\n", false);
    text = render(&r, st_report_write_summary);
    cr_assert_str_eq(text, "strays: 1 leaked thread in 1 group (7 suppressed) (pid 1234, "
                           "./server)");
    free(text);
    r.nthreads = 0;
    r.suppressed.threads++;
    text = render(&r, st_report_write_summary);
    cr_assert_str_eq(text, "strays: no leaks (8 suppressed) (pid 1234, ./server)");
    free(text);
    st_report_free(&r);
}

Test(suppressions, text_lists_the_rules_used_like_leak_sanitizer)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "thread:g_thread_pool*\ntimer:nothing\nfd:target=/dev/urandom\nthread:main\n", true);
    char *text = render(&r, st_report_write_text);
    const char *block = "Suppressions used:\n"
                        "  count  rule\n"
                        "      2  thread:g_thread_pool* (x.supp:1)\n"
                        "      1  fd:target=/dev/urandom (x.supp:3)\n"
                        "      1  thread:main (x.supp:4)\n"
                        "\n"
                        "strays: 1 leaked thread, 1 timer and 2 fds in 4 groups (4 suppressed) "
                        "(pid 1234, ./server)\n";
    size_t len = strlen(text), blen = strlen(block);
    cr_assert(len >= blen && !strcmp(text + len - blen, block), "%s", text);
    free(text);
    st_report_free(&r);
}

Test(suppressions, text_has_no_rule_block_without_the_list_or_without_a_match)
{
    struct st_report r;
    program_model(&r);
    apply(&r, "thread:g_thread_pool*\n", false);
    char *text = render(&r, st_report_write_text);
    cr_assert_null(strstr(text, "Suppressions used"), "%s", text);
    free(text);
    st_report_free(&r);
    program_model(&r);
    apply(&r, "thread:nothing\n", true);
    text = render(&r, st_report_write_text);
    cr_assert_null(strstr(text, "Suppressions used"), "%s", text);
    cr_assert_null(strstr(text, "suppressed"), "%s", text);
    free(text);
    st_report_free(&r);
}
