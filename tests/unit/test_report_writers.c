/* Unit tests for the two report writers (src/report_json.c, report_text.c)
 * over a report model built by hand in an arena and written through the
 * write(2)-only writer (src/out.c) to a memfd: JSON parses back with the
 * CLI's reader (src/report_parse.c) to the same model field by field, odd
 * strings are escaped so it always parses; text groups threads by creation
 * stack and state, largest group first, prints each stack once per group,
 * with the frame line and summary lines the issue specifies. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "report/json.h"
#include "base/out.h"
#include "report/report.h"
#include "report/report_parse.h"
#include "base/st.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

TestSuite(report_writers, .timeout = 20);

/* ------------------------------------------------------- building a model */

static const char *BID_EXE = "0123456789abcdef0123456789abcdef01234567";
static const char *BID_LIBC = "fedcba9876543210fedcba9876543210fedcba98";

static void model_init(struct st_report *r)
{
    memset(r, 0, sizeof *r);
    r->version = st_arena_strdup(&r->arena, "0.1.0");
    r->pid = 1234;
    r->exe = st_arena_strdup(&r->arena, "/usr/bin/server");
    r->command = st_arena_strdup(&r->arena, "./server");
    r->reason = st_arena_strdup(&r->arena, "exit");
    r->exit_status = 0;
    r->time_ms = 1700000000123ull;
    r->uptime_ms = 12400;
    r->threads = st_arena_alloc(&r->arena, 2048 * sizeof *r->threads);
    r->stacks = st_arena_alloc(&r->arena, 16 * sizeof *r->stacks);
    r->untracked = st_arena_alloc(&r->arena, 16 * sizeof *r->untracked);
    cr_assert(r->version && r->threads && r->stacks && r->untracked);
}

static const char *dup_or_null(struct st_report *r, const char *s)
{
    return s ? st_arena_strdup(&r->arena, s) : NULL;
}

/* Adds a stack of n frames; returns its index. */
static int add_stack(struct st_report *r, uint32_t n)
{
    struct st_report_stack *s = &r->stacks[r->nstacks];
    s->depth = n;
    s->frames = st_arena_alloc(&r->arena, (n + 1) * sizeof *s->frames);
    cr_assert_not_null(s->frames);
    return (int)r->nstacks++;
}

static void set_frame(struct st_report *r, int stack, uint32_t i, uint64_t address,
                      const char *module, uint64_t offset, const char *build_id,
                      const char *function, const char *file, int line)
{
    struct st_frame *f = &r->stacks[stack].frames[i];
    f->address = address;
    f->module = dup_or_null(r, module);
    f->offset = offset;
    f->build_id = dup_or_null(r, build_id);
    f->function = dup_or_null(r, function);
    f->file = dup_or_null(r, file);
    f->line = line;
}

static struct st_report_thread *add_thread(struct st_report *r, int tid, const char *name,
                                           enum st_report_thread_state state, int created_by)
{
    struct st_report_thread *t = &r->threads[r->nthreads++];
    t->tid = tid;
    t->parent_tid = r->pid;
    t->name = dup_or_null(r, name);
    t->state = state;
    t->created_by = created_by;
    t->stack = -1;
    t->created_ms = 100 + (uint64_t)tid;
    return t;
}

static void add_untracked(struct st_report *r, int tid, const char *name)
{
    r->untracked[r->nuntracked].tid = tid;
    r->untracked[r->nuntracked].name = dup_or_null(r, name);
    r->nuntracked++;
}

/* The server of the example: a pool, the same site's exited
 * workers, and a logger from another site whose outer frame is unknown. */
static void server_model(struct st_report *r)
{
    model_init(r);
    int pool = add_stack(r, 3);
    set_frame(r, pool, 0, 0x555555555a2b, "/usr/bin/server", 0x1a2b, BID_EXE, "start_pool",
              "/home/dev/src/server.c", 42);
    set_frame(r, pool, 1, 0x555555555b00, "/usr/bin/server", 0x1b00, BID_EXE, "main",
              "/home/dev/src/server.c", 97);
    set_frame(r, pool, 2, 0x7ffff7c29d90, "/lib/x86_64-linux-gnu/libc.so.6", 0x29d90, BID_LIBC,
              "__libc_start_call_main", NULL, 0);
    int logger = add_stack(r, 2);
    set_frame(r, logger, 0, 0x7ffff7e012f0, "/usr/lib/libx.so.1", 0x2f0, NULL, "spawn_logger", NULL,
              0);
    set_frame(r, logger, 1, 0xdeadbeef, NULL, 0, NULL, NULL, NULL, 0);
    /* In no particular order, as a registry hands them over. */
    add_thread(r, 105, "pool-2", ST_RT_RUNNING, pool);
    add_thread(r, 300, "", ST_RT_EXITED, pool);
    add_thread(r, 101, "pool-1", ST_RT_RUNNING, pool);
    add_thread(r, 200, "logger", ST_RT_EXITED, logger)->detached = true;
    add_thread(r, 103, "", ST_RT_RUNNING, pool);
    add_thread(r, 301, "", ST_RT_EXITED, pool);
}

/* ------------------------------------------------------------ writing it */

typedef void (*writer_fn)(const struct st_report *, struct st_out *);

/* What a writer wrote, through the write(2) writer to a memfd. */
static char *render(const struct st_report *r, writer_fn write_report)
{
    int fd = memfd_create("report", 0);
    cr_assert_geq(fd, 0);
    struct st_out *o = malloc(sizeof *o);
    st_out_init(o, fd);
    write_report(r, o);
    st_out_flush(o);
    cr_assert_eq(o->error, 0, "write error %d", o->error);
    free(o);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

static char *summary(const struct st_report *r)
{
    return render(r, st_report_write_summary);
}

static struct st_json *parse_json(const char *text)
{
    struct st_json_error err;
    struct st_json *root = st_json_parse(text, strlen(text), &err);
    cr_assert_not_null(root, "JSON does not parse at %d:%d: %s\n%s", err.line, err.column,
                       err.message, text);
    return root;
}

/* JSON out and back in with the CLI's reader. */
static void round_trip(const struct st_report *r, struct st_report *back)
{
    char *text = render(r, st_report_write_json);
    struct st_json *root = parse_json(text);
    char err[400] = "";
    int rc = st_report_from_json(back, root, err, sizeof err);
    cr_assert_eq(rc, 0, "report does not load: %s\n%s", err, text);
    st_json_free(root);
    free(text);
}

static void expect_str(const char *got, const char *want, const char *what)
{
    if (!want) {
        cr_assert_null(got, "%s: got \"%s\", want null", what, got);
        return;
    }
    cr_assert_not_null(got, "%s: got null, want \"%s\"", what, want);
    cr_assert_str_eq(got, want, "%s", what);
}

static void expect_same_report(const struct st_report *got, const struct st_report *want)
{
    expect_str(got->version, want->version, "version");
    cr_assert_eq(got->pid, want->pid);
    expect_str(got->exe, want->exe, "exe");
    expect_str(got->command, want->command, "command");
    expect_str(got->reason, want->reason, "reason");
    cr_assert_eq(got->exit_status, want->exit_status);
    cr_assert_eq(got->time_ms, want->time_ms);
    cr_assert_eq(got->uptime_ms, want->uptime_ms);
    cr_assert_eq(got->nstacks, want->nstacks);
    for (uint32_t i = 0; i < want->nstacks; i++) {
        cr_assert_eq(got->stacks[i].depth, want->stacks[i].depth, "stacks[%u]", i);
        for (uint32_t j = 0; j < want->stacks[i].depth; j++) {
            const struct st_frame *g = &got->stacks[i].frames[j], *w = &want->stacks[i].frames[j];
            char what[64];
            snprintf(what, sizeof what, "stacks[%u][%u]", i, j);
            cr_assert_eq(g->address, w->address, "%s.address", what);
            expect_str(g->module, w->module, what);
            cr_assert_eq(g->offset, w->offset, "%s.offset", what);
            expect_str(g->build_id, w->build_id, what);
            expect_str(g->function, w->function, what);
            expect_str(g->file, w->file, what);
            cr_assert_eq(g->line, w->line, "%s.line", what);
        }
    }
    cr_assert_eq(got->nthreads, want->nthreads);
    for (uint32_t i = 0; i < want->nthreads; i++) {
        const struct st_report_thread *g = &got->threads[i], *w = &want->threads[i];
        cr_assert_eq(g->tid, w->tid, "threads[%u].tid", i);
        cr_assert_eq(g->parent_tid, w->parent_tid, "threads[%u].parent_tid", i);
        expect_str(g->name, w->name ? w->name : "", "name");
        cr_assert_eq(g->state, w->state, "threads[%u].state", i);
        cr_assert_eq(g->detached, w->detached, "threads[%u].detached", i);
        cr_assert_eq(g->created_by, w->created_by, "threads[%u].created_by", i);
        cr_assert_eq(g->stack, w->stack, "threads[%u].stack", i);
        cr_assert_eq(g->created_ms, w->created_ms, "threads[%u].created_ms", i);
    }
    cr_assert_eq(got->nuntracked, want->nuntracked);
    for (uint32_t i = 0; i < want->nuntracked; i++) {
        cr_assert_eq(got->untracked[i].tid, want->untracked[i].tid);
        expect_str(got->untracked[i].name, want->untracked[i].name ? want->untracked[i].name : "",
                   "untracked name");
    }
}

/* --------------------------------------------------------------------- JSON */

Test(report_writers, json_round_trips_every_field)
{
    struct st_report r, back;
    server_model(&r);
    r.threads[0].stack = 1; /* where it stands, as the blocked state will say */
    r.threads[1].parent_tid = 101;
    r.threads[2].created_ms = 18446744073709ull;
    add_untracked(&r, 777, "gmain");
    add_untracked(&r, 778, "");
    round_trip(&r, &back);
    expect_same_report(&back, &r);
    st_report_free(&back);
    st_report_free(&r);
}

Test(report_writers, json_round_trips_null_and_extreme_values)
{
    struct st_report r, back;
    model_init(&r);
    r.exit_status = -1; /* not an exit: null */
    r.command = NULL;
    r.exe = NULL;
    r.reason = "signal";
    r.time_ms = 0;
    int s = add_stack(&r, 2);
    set_frame(&r, s, 0, UINT64_MAX, "/m", UINT64_MAX, NULL, NULL, "/f.c", 0);
    set_frame(&r, s, 1, 0, NULL, 0, NULL, "only_a_name", NULL, 0);
    add_stack(&r, 0);                                   /* an empty stack is a stack too */
    add_thread(&r, 2147483647, "x", ST_RT_BLOCKED, -1); /* no creation stack: null */
    add_thread(&r, 1, "y", ST_RT_EXITED, 1);
    round_trip(&r, &back);
    expect_same_report(&back, &r);
    cr_assert_eq(back.exit_status, -1);
    cr_assert_eq(back.threads[0].created_by, -1);
    st_report_free(&back);
    st_report_free(&r);
}

Test(report_writers, json_has_the_documented_shape)
{
    struct st_report r;
    server_model(&r);
    char *text = render(&r, st_report_write_json);
    struct st_json *root = parse_json(text);
    const char *s;
    int64_t n;
    bool b;
    cr_assert(st_json_as_string(st_json_get(root, "tool"), &s));
    cr_assert_str_eq(s, "strays");
    cr_assert(st_json_as_int(st_json_get(root, "pid"), &n));
    cr_assert_eq(n, 1234);
    cr_assert(st_json_as_int(st_json_get(root, "time"), &n));
    cr_assert_eq(n, 1700000000123ll);
    const char *empty_arrays[] = {"timers", "fds"};
    for (size_t i = 0; i < 2; i++) {
        const struct st_json *a = st_json_get(root, empty_arrays[i]);
        cr_assert(a && a->type == ST_JSON_ARRAY && a->length == 0, "%s: []", empty_arrays[i]);
    }
    const struct st_json *threads = st_json_get(root, "threads");
    cr_assert(threads && threads->type == ST_JSON_ARRAY && threads->length == 6);
    const struct st_json *t = threads->items[3]; /* the logger */
    cr_assert(st_json_as_int(st_json_get(t, "tid"), &n));
    cr_assert_eq(n, 200);
    cr_assert(st_json_as_string(st_json_get(t, "name"), &s));
    cr_assert_str_eq(s, "logger");
    cr_assert(st_json_as_string(st_json_get(t, "state"), &s));
    cr_assert_str_eq(s, "exited");
    cr_assert(st_json_as_bool(st_json_get(t, "detached"), &b));
    cr_assert_eq(b, true);
    const struct st_json *blocked = st_json_get(t, "blocked");
    cr_assert(blocked && blocked->type == ST_JSON_NULL, "\"blocked\":null");
    cr_assert(st_json_as_int(st_json_get(t, "created_by"), &n));
    cr_assert_eq(n, 1, "an index into stacks");
    const struct st_json *stack = st_json_get(t, "stack");
    cr_assert(stack && stack->type == ST_JSON_NULL);
    cr_assert(st_json_as_int(st_json_get(t, "created_ms"), &n));
    cr_assert_eq(n, 300);
    const struct st_json *stacks = st_json_get(root, "stacks");
    cr_assert(stacks && stacks->type == ST_JSON_ARRAY && stacks->length == 2);
    const struct st_json *f = stacks->items[0]->items[0];
    cr_assert(st_json_as_string(st_json_get(f, "address"), &s));
    cr_assert_str_eq(s, "0x555555555a2b");
    cr_assert(st_json_as_string(st_json_get(f, "offset"), &s));
    cr_assert_str_eq(s, "0x1a2b");
    cr_assert(st_json_as_string(st_json_get(f, "module"), &s));
    cr_assert_str_eq(s, "/usr/bin/server");
    cr_assert(st_json_as_string(st_json_get(f, "build_id"), &s));
    cr_assert_str_eq(s, BID_EXE);
    cr_assert(st_json_as_string(st_json_get(f, "function"), &s));
    cr_assert_str_eq(s, "start_pool");
    cr_assert(st_json_as_string(st_json_get(f, "file"), &s));
    cr_assert_str_eq(s, "/home/dev/src/server.c");
    cr_assert(st_json_as_int(st_json_get(f, "line"), &n));
    cr_assert_eq(n, 42);
    /* Unknown fields are left out rather than written empty. */
    const struct st_json *bare = stacks->items[1]->items[1];
    cr_assert_eq(bare->length, 1, "only the address of a frame nothing is known about");
    cr_assert(st_json_as_string(st_json_get(bare, "address"), &s));
    cr_assert_str_eq(s, "0xdeadbeef");
    st_json_free(root);
    free(text);
    st_report_free(&r);
}

Test(report_writers, json_of_a_thousand_threads_crosses_the_buffer_intact)
{
    struct st_report r, back;
    server_model(&r);
    r.nthreads = 0;
    for (int i = 0; i < 1500; i++) {
        char name[24]; /* room for any int: gcc -fsanitize=undefined loses the range of i */
        snprintf(name, sizeof name, "worker-%d", i);
        add_thread(&r, 1000 + i, name, i % 3 ? ST_RT_RUNNING : ST_RT_EXITED, i % 2);
    }
    round_trip(&r, &back);
    expect_same_report(&back, &r);
    st_report_free(&back);
    st_report_free(&r);
}

/* One thread per odd name, and the odd names in every other string field. */
static void odd_strings_model(struct st_report *r, const char *const *names, size_t n)
{
    model_init(r);
    int s = add_stack(r, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        set_frame(r, s, (uint32_t)i, 0x1000 + i, names[i], i, names[i], names[i], names[i],
                  (int)i + 1);
        add_thread(r, 10 + (int)i, names[i], ST_RT_RUNNING, s);
        add_untracked(r, 90 + (int)i, names[i]);
    }
    r->exe = names[0];
    r->command = names[1];
}

Test(report_writers, json_escapes_quotes_backslashes_and_control_bytes)
{
    const char *names[] = {
        "say \"hi\"",
        "back\\slash\\",
        "\x01\x02\x1f\x7f",
        "tab\there\nnewline\rcr\bbs\fff",
        "\"\\\"",
        "/* } ], { */",
        "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\xa7\xb5", /* valid UTF-8 stays as it is */
    };
    struct st_report r, back;
    odd_strings_model(&r, names, ST_ARRAY_LEN(names));
    char *text = render(&r, st_report_write_json);
    cr_assert_not_null(strstr(text, "\"name\":\"say \\\"hi\\\"\""), "%s", text);
    cr_assert_not_null(strstr(text, "\"name\":\"back\\\\slash\\\\\""), "%s", text);
    cr_assert_not_null(strstr(text, "\"name\":\"\\u0001\\u0002\\u001f\\u007f\""), "%s", text);
    for (const char *p = text; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 || *p == '\n', "raw control byte %#x in output",
                  (unsigned char)*p);
    free(text);
    round_trip(&r, &back);
    expect_same_report(&back, &r);
    st_report_free(&back);
    st_report_free(&r);
}

Test(report_writers, json_replaces_bytes_that_are_not_utf8)
{
    const char *names[] = {
        "bad\xff\xfe",         /* never valid */
        "over\xc0\xaf",        /* overlong '/' */
        "sur\xed\xa0\x80",     /* an encoded surrogate */
        "big\xf4\x90\x80\x80", /* above U+10FFFF */
        "cut\xe6\x97",         /* truncated at the end */
        "lone\x80"
        "cont", /* continuation without a lead */
    };
    const char *want[] = {
        "bad\xef\xbf\xbd\xef\xbf\xbd",
        "over\xef\xbf\xbd\xef\xbf\xbd",
        "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
        "big\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
        "cut\xef\xbf\xbd\xef\xbf\xbd",
        "lone\xef\xbf\xbd"
        "cont",
    };
    struct st_report r, back;
    odd_strings_model(&r, names, ST_ARRAY_LEN(names));
    round_trip(&r, &back);
    for (size_t i = 0; i < ST_ARRAY_LEN(names); i++) {
        expect_str(back.threads[i].name, want[i], "thread name");
        expect_str(back.stacks[0].frames[i].function, want[i], "function");
        expect_str(back.stacks[0].frames[i].file, want[i], "file");
        expect_str(back.untracked[i].name, want[i], "untracked name");
    }
    expect_str(back.exe, want[0], "exe");
    expect_str(back.command, want[1], "command");
    st_report_free(&back);
    st_report_free(&r);
}

Test(report_writers, json_of_a_clean_report)
{
    struct st_report r, back;
    model_init(&r);
    char *text = render(&r, st_report_write_json);
    cr_assert_not_null(strstr(text, "\"threads\":[]"), "%s", text);
    cr_assert_not_null(strstr(text, "\"stacks\":[]"), "%s", text);
    free(text);
    round_trip(&r, &back);
    expect_same_report(&back, &r);
    cr_assert_eq(st_report_leak_count(&back), 0);
    st_report_free(&back);
    st_report_free(&r);
}

/* --------------------------------------------------------------------- text */

Test(report_writers, text_groups_by_stack_and_state_largest_first)
{
    struct st_report r;
    server_model(&r);
    char *text = render(&r, st_report_write_text);
    cr_assert_str_eq(text,
                     "strays: report (exit, status 0) of ./server (pid 1234)\n"
                     "\n"
                     "3 threads running, created at:\n"
                     "    threads: 101 \"pool-1\", 103, 105 \"pool-2\"\n"
                     "    #0 start_pool (server.c:42) [/usr/bin/server+0x1a2b]\n"
                     "    #1 main (server.c:97) [/usr/bin/server+0x1b00]\n"
                     "    #2 __libc_start_call_main [/lib/x86_64-linux-gnu/libc.so.6+0x29d90]\n"
                     "\n"
                     "2 threads exited but never joined, created at:\n"
                     "    threads: 300, 301\n"
                     "    #0 start_pool (server.c:42) [/usr/bin/server+0x1a2b]\n"
                     "    #1 main (server.c:97) [/usr/bin/server+0x1b00]\n"
                     "    #2 __libc_start_call_main [/lib/x86_64-linux-gnu/libc.so.6+0x29d90]\n"
                     "\n"
                     "1 thread exited but never joined, created at:\n"
                     "    threads: 200 \"logger\"\n"
                     "    #0 spawn_logger [/usr/lib/libx.so.1+0x2f0]\n"
                     "    #1 ?? [0xdeadbeef]\n"
                     "\n"
                     "strays: 6 leaked threads in 3 groups (pid 1234, ./server)\n");
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_frame_line_format)
{
    struct st_report r;
    model_init(&r);
    int s = add_stack(&r, 1);
    set_frame(&r, s, 0, 0x5555aaaa1a2b, "/usr/bin/server", 0x1a2b, BID_EXE, "start_pool",
              "/deep/path/to/server.c", 42);
    add_thread(&r, 7, "", ST_RT_RUNNING, s);
    char *text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "\n    #0 start_pool (server.c:42) [/usr/bin/server+0x1a2b]\n"),
                       "%s", text);
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_prints_a_big_groups_stack_once)
{
    struct st_report r;
    server_model(&r);
    r.nthreads = 0;
    for (int i = 0; i < 1000; i++)
        add_thread(&r, 5000 + (999 - i), "", ST_RT_RUNNING, 0);
    add_thread(&r, 42, "odd-one", ST_RT_RUNNING, 1);
    char *text = render(&r, st_report_write_text);
    const char *group = strstr(text, "\n1000 threads running, created at:\n"
                                     "    threads: 5000, 5001, 5002, 5003, 5004, 5005, 5006, "
                                     "5007 (+992 more)\n"
                                     "    #0 start_pool (server.c:42)");
    cr_assert_not_null(group, "%s", text);
    const char *small =
        strstr(text, "\n1 thread running, created at:\n    threads: 42 \"odd-one\"\n");
    cr_assert_not_null(small, "%s", text);
    cr_assert_lt(group, small, "the largest group comes first");
    int stack_lines = 0;
    for (const char *p = text; (p = strstr(p, "#0 start_pool")); p++)
        stack_lines++;
    cr_assert_eq(stack_lines, 1, "one group, one stack");
    cr_assert_not_null(
        strstr(text, "strays: 1001 leaked threads in 2 groups (pid 1234, ./server)\n"));
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_groups_of_equal_size_keep_stack_order)
{
    struct st_report r;
    server_model(&r);
    r.nthreads = 0;
    add_thread(&r, 2, "", ST_RT_RUNNING, 1);
    add_thread(&r, 1, "", ST_RT_RUNNING, 0);
    char *text = render(&r, st_report_write_text);
    const char *pool = strstr(text, "#0 start_pool");
    const char *logger = strstr(text, "#0 spawn_logger");
    cr_assert(pool && logger && pool < logger, "%s", text);
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_thread_without_stack)
{
    struct st_report r;
    model_init(&r);
    add_thread(&r, 9, "lost", ST_RT_RUNNING, -1);
    char *text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "1 thread running, created at:\n"
                                    "    threads: 9 \"lost\"\n"
                                    "    (no stack)\n"),
                       "%s", text);
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_lists_untracked_threads_without_counting_them)
{
    struct st_report r;
    model_init(&r);
    add_untracked(&r, 777, "gmain");
    add_untracked(&r, 778, "");
    char *text = render(&r, st_report_write_text);
    cr_assert_str_eq(text, "strays: report (exit, status 0) of ./server (pid 1234)\n"
                           "\n"
                           "2 untracked threads (not started through a hooked call; not counted): "
                           "777 \"gmain\", 778\n"
                           "\n"
                           "strays: no leaks (pid 1234, ./server)\n");
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_of_a_clean_report)
{
    struct st_report r;
    model_init(&r);
    char *text = render(&r, st_report_write_text);
    cr_assert_str_eq(text, "strays: report (exit, status 0) of ./server (pid 1234)\n"
                           "\n"
                           "strays: no leaks (pid 1234, ./server)\n");
    free(text);
    st_report_free(&r);
}

Test(report_writers, text_header_without_exit_status_or_command)
{
    struct st_report r;
    model_init(&r);
    r.reason = "signal";
    r.exit_status = -1;
    r.command = NULL;
    char *text = render(&r, st_report_write_text);
    cr_assert_str_eq(text, "strays: report (signal) of /usr/bin/server (pid 1234)\n"
                           "\n"
                           "strays: no leaks (pid 1234, /usr/bin/server)\n");
    free(text);
    st_report_free(&r);
}

/* ------------------------------------------------------------------ summary */

Test(report_writers, summary_counts_threads_and_groups)
{
    struct st_report r;
    server_model(&r);
    char *line = summary(&r);
    cr_assert_str_eq(line, "strays: 6 leaked threads in 3 groups (pid 1234, ./server)");
    free(line);
    cr_assert_eq(st_report_leak_count(&r), 6);
    st_report_free(&r);
}

Test(report_writers, summary_singular)
{
    struct st_report r;
    server_model(&r);
    r.nthreads = 1;
    char *line = summary(&r);
    cr_assert_str_eq(line, "strays: 1 leaked thread in 1 group (pid 1234, ./server)");
    free(line);
    st_report_free(&r);
}

Test(report_writers, summary_of_a_clean_report)
{
    struct st_report r;
    model_init(&r);
    char *line = summary(&r);
    cr_assert_str_eq(line, "strays: no leaks (pid 1234, ./server)");
    free(line);
    st_report_free(&r);
}

/* --------------------------------------------------------------- the writer */

Test(report_writers, out_error_sticks_and_drops_the_rest)
{
    struct st_out *o = malloc(sizeof *o);
    st_out_init(o, -1);
    st_out_str(o, "lost");
    st_out_flush(o);
    cr_assert_eq(o->error, -EBADF);
    int fd = memfd_create("after", 0);
    o->fd = fd; /* even a good fd now: the first error sticks */
    st_out_str(o, "also lost");
    st_out_flush(o);
    cr_assert_eq(o->error, -EBADF);
    cr_assert_eq(lseek(fd, 0, SEEK_END), 0);
    close(fd);
    free(o);
}

/* The string-only writer (text built on the crash path without stdio):
 * numbers and strings in order, and what does not fit is cut, never past
 * the buffer, with the error noted. */
Test(report_writers, string_writer_builds_text_and_cuts_what_does_not_fit)
{
    struct st_out o;
    st_out_init_string(&o);
    st_out_str(&o, "fd:");
    st_out_int(&o, -12);
    st_out_char(&o, ' ');
    st_out_hex(&o, 0xbeef);
    cr_assert_str_eq(st_out_string(&o), "fd:-12 0xbeef");
    cr_assert_eq(o.error, 0);
    st_out_init_string(&o);
    for (size_t i = 0; i < sizeof o.buf + 10; i++)
        st_out_char(&o, 'x');
    cr_assert_eq(strlen(st_out_string(&o)), sizeof o.buf - 1);
    cr_assert_eq(o.error, -ENOSPC);
}

/* A crash report that left records out (their table stayed locked) says
 * so, in JSON (read back the same, "complete" false) and in text. */
Test(report_writers, records_a_crash_could_not_read_are_counted_and_said)
{
    struct st_report r, back;
    server_model(&r);
    r.tracking.present = true;
    r.tracking.threads_unread = 3;
    r.tracking.timers_unread = 1;
    round_trip(&r, &back);
    cr_assert_eq(back.tracking.threads_unread, 3);
    cr_assert_eq(back.tracking.timers_unread, 1);
    char *json = render(&r, st_report_write_json);
    cr_assert_not_null(strstr(json, "\"complete\":false"), "%s", json);
    char *text = render(&r, st_report_write_text);
    cr_assert_not_null(
        strstr(text, "strays: 3 threads left out: strays' thread table stayed locked when the "
                     "crash came\nstrays: 1 timer left out: strays' timer table stayed locked "
                     "when the crash came\n"),
        "%s", text);
    free(json);
    free(text);
    st_report_free(&back);
    st_report_free(&r);
}

Test(report_writers, text_growth_lines_say_one_thread_and_two_threads)
{
    struct st_report r;
    server_model(&r);
    r.reason = "signal";
    r.growth_since_ms = 2000;
    r.growth = st_arena_alloc(&r.arena, 3 * sizeof *r.growth);
    cr_assert_not_null(r.growth);
    r.growth[0] = (struct st_report_growth){.kind = "threads", .created_by = 0, .count = 5,
                                            .delta = 2};
    r.growth[1] = (struct st_report_growth){.kind = "fds", .created_by = 1, .count = 1, .delta = 1};
    r.growth[2] = (struct st_report_growth){.kind = "timers", .created_by = 1, .count = 0,
                                            .delta = -1};
    r.ngrowth = 3;
    char *text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "    +2 threads at start_pool"), "%s", text);
    cr_assert_not_null(strstr(text, "    +1 fd at spawn_logger"), "%s", text);
    cr_assert_not_null(strstr(text, "    -1 timer at spawn_logger"), "%s", text);
    free(text);
    st_report_free(&r);
}

static void block(struct st_report *r, struct st_report_thread *t, const char *call, int fd,
                  uint64_t object)
{
    struct st_report_blocked *b = st_arena_alloc(&r->arena, sizeof *b);
    cr_assert_not_null(b);
    *b = (struct st_report_blocked){.call = call, .fd = fd, .object = object,
                                    .blocked_ns = 2000000000ull, .deadline_ms = -1};
    t->blocked = b;
    t->stack = t->created_by;
}

/* One group of threads that wait in one call at one place on different fds
 * or locks: the header names them all, not the first one's alone. */
Test(report_writers, text_group_waiting_on_different_fds_names_them)
{
    struct st_report r;
    model_init(&r);
    int site = add_stack(&r, 1);
    set_frame(&r, site, 0, 0x555555555a2b, "/usr/bin/server", 0x1a2b, BID_EXE, "reader", NULL, 0);
    block(&r, add_thread(&r, 11, "", ST_RT_BLOCKED, site), "read", 3, 0);
    block(&r, add_thread(&r, 12, "", ST_RT_BLOCKED, site), "read", 5, 0);
    block(&r, add_thread(&r, 13, "", ST_RT_BLOCKED, site), "read", 3, 0);
    char *text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "3 threads blocked in read(fds 3, 5) for 2.0s:"), "%s", text);
    free(text);
    st_report_free(&r);

    model_init(&r);
    site = add_stack(&r, 1);
    set_frame(&r, site, 0, 0x555555555a2b, "/usr/bin/server", 0x1a2b, BID_EXE, "locker", NULL, 0);
    block(&r, add_thread(&r, 21, "", ST_RT_BLOCKED, site), "pthread_mutex_lock", -1, 0x1000);
    block(&r, add_thread(&r, 22, "", ST_RT_BLOCKED, site), "pthread_mutex_lock", -1, 0x2000);
    text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "2 threads blocked in pthread_mutex_lock(2 objects) for 2.0s:"),
                       "%s", text);
    free(text);
    st_report_free(&r);

    model_init(&r);
    site = add_stack(&r, 1);
    set_frame(&r, site, 0, 0x555555555a2b, "/usr/bin/server", 0x1a2b, BID_EXE, "reader", NULL, 0);
    block(&r, add_thread(&r, 31, "", ST_RT_BLOCKED, site), "read", 7, 0);
    block(&r, add_thread(&r, 32, "", ST_RT_BLOCKED, site), "read", 7, 0);
    text = render(&r, st_report_write_text);
    cr_assert_not_null(strstr(text, "2 threads blocked in read(fd 7) for 2.0s:"), "%s", text);
    free(text);
    st_report_free(&r);
}
