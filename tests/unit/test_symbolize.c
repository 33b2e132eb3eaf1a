/* Unit tests of symbolization in the process (src/symbolize/symbolize.c):
 * names from ELF symbol tables must read as libdw's do (the offline
 * symbolizer, which `strays report --symbolize` and `strays run` use, is
 * the reference), files and lines come from a module's own line table,
 * and what libdw read is kept for the next report. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "symbolize/symbolize.h"
#include "symbolize/symbolize_elf.h"
#include "symbolize/symbolize_offline.h"
#include "track/modules.h"
#include "track/stack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(symbolize, .timeout = 30);

/* A report of one stack: the frames as the process would place them. */
static void report_of(struct st_report *r, const uintptr_t *pcs, int n)
{
    memset(r, 0, sizeof *r);
    struct st_module_map map;
    cr_assert_eq(st_modules_snapshot(&map, &r->arena), 0);
    r->stacks = st_arena_alloc(&r->arena, sizeof *r->stacks);
    r->stacks[0].frames = st_arena_alloc(&r->arena, (size_t)(n + 1) * sizeof(struct st_frame));
    cr_assert(r->stacks && r->stacks[0].frames);
    r->nstacks = 1;
    for (int i = 0; i < n; i++) {
        struct st_frame *f = &r->stacks[0].frames[r->stacks[0].depth++];
        const struct st_module *m = st_modules_find(&map, pcs[i]);
        f->address = pcs[i];
        if (m) {
            f->module = m->path;
            f->offset = pcs[i] - m->base;
            f->build_id = m->build_id;
        }
    }
}

struct captured {
    uintptr_t pcs[ST_STACK_MAX];
    int n;
};

__attribute__((noipa)) static void capture_here(struct captured *c)
{
    c->n = st_stack_capture(c->pcs, ST_STACK_MAX);
    __asm__ volatile("" ::: "memory"); /* not a tail call: this frame is frame 0's caller */
}

static void *capture_in_thread(void *arg)
{
    capture_here(arg);
    return NULL;
}

/* A stack from a new thread: this file's function, then libc's
 * start_thread and clone3, which only libc's full symbol table names. */
static void thread_stack(struct captured *c)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, capture_in_thread, c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_geq(c->n, 3);
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

Test(symbolize, names_from_elf_symbol_tables_match_libdws)
{
    struct captured c;
    thread_stack(&c);
    struct st_report ours, theirs;
    report_of(&ours, c.pcs, c.n);
    report_of(&theirs, c.pcs, c.n);
    st_symbolize_report(&ours);
    struct st_offline_symbolizer *s;
    char err[300];
    cr_assert_eq(st_offline_symbolizer_open(&s, NULL, NULL, NULL, err, sizeof err), 0, "%s", err);
    st_offline_symbolize_report(s, &theirs);
    st_offline_symbolizer_close(s);
    int named = 0;
    for (uint32_t i = 0; i < ours.stacks[0].depth; i++) {
        const struct st_frame *a = &ours.stacks[0].frames[i], *b = &theirs.stacks[0].frames[i];
        if (!b->function)
            continue;
        cr_assert_not_null(a->function, "frame %u (%s+%#lx): libdw names it %s", i, a->module,
                           (unsigned long)a->offset, b->function);
        cr_assert_str_eq(a->function, b->function, "frame %u (%s)", i, a->module);
        named++;
    }
    cr_assert_str_eq(ours.stacks[0].frames[0].function, "capture_here");
    cr_assert_geq(named, 2);
    st_report_free(&ours);
    st_report_free(&theirs);
}

/* test_unit is built with -g: its frames get their file and line, libc's
 * (whose line table, if any, is in a separate debug file) do not. */
Test(symbolize, lines_come_from_a_modules_own_line_table_only)
{
    struct captured c;
    thread_stack(&c);
    struct st_report r;
    report_of(&r, c.pcs, c.n);
    st_symbolize_report(&r);
    const struct st_frame *own = &r.stacks[0].frames[0];
    cr_assert_not_null(own->file);
    cr_assert_str_eq(basename_of(own->file), "test_symbolize.c");
    cr_assert_gt(own->line, 0);
    for (uint32_t i = 1; i < r.stacks[0].depth; i++) {
        const struct st_frame *f = &r.stacks[0].frames[i];
        if (f->module && strstr(f->module, "/libc.so"))
            cr_assert_null(f->file, "frame %u (%s) in libc has a file: %s", i, f->function,
                           f->file);
    }
    st_report_free(&r);
}

/* A live dump after a live dump: the module's line table is read once. */
Test(symbolize, a_modules_session_is_kept_across_reports)
{
    struct captured c;
    capture_here(&c);
    struct st_report first, second;
    report_of(&first, c.pcs, c.n);
    unsigned before = st_symbolize_sessions();
    st_symbolize_report(&first);
    unsigned after_first = st_symbolize_sessions();
    cr_assert_leq(after_first, before + 1, "one module with a line table of its own");
    report_of(&second, c.pcs, c.n);
    st_symbolize_report(&second);
    cr_assert_eq(st_symbolize_sessions(), after_first, "nothing read again");
    cr_assert_str_eq(second.stacks[0].frames[0].file, first.stacks[0].frames[0].file);
    cr_assert_eq(second.stacks[0].frames[0].line, first.stacks[0].frames[0].line);
    st_report_free(&first);
    st_report_free(&second);
}

/* A module with more debug info than ST_LINES_IN_PROCESS_MAX: a copy of
 * this test program whose .debug_info is followed by 5 MiB of zeros (libdw
 * still finds its lines through .debug_aranges). Its frames keep their
 * names and get no file or line; this program's own, small, still do. */
Test(symbolize, a_module_with_more_debug_info_than_the_cap_keeps_names_and_gets_no_lines)
{
    char dir[] = "/tmp/strays-symbolize.XXXXXX", zeros[64], copy[64], cmd[8800], self[4096];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(zeros, sizeof zeros, "%s/zeros", dir);
    snprintf(copy, sizeof copy, "%s/big-debug", dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    snprintf(cmd, sizeof cmd,
             "objcopy --dump-section .debug_info='%s' '%s' /dev/null && "
             "head -c 5242880 /dev/zero >> '%s' && "
             "objcopy --update-section .debug_info='%s' '%s' '%s'",
             zeros, self, zeros, zeros, self, copy);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_gt(st_elf_own_debug_info_size(copy), ST_LINES_IN_PROCESS_MAX);
    unsigned long long own = st_elf_own_debug_info_size(self);
    cr_assert(own > 0 && own <= ST_LINES_IN_PROCESS_MAX, "this program's: %llu bytes", own);
    cr_assert_eq(st_elf_own_debug_info_size("/nonexistent"), 0);

    struct captured c;
    thread_stack(&c);
    struct st_report r;
    report_of(&r, c.pcs, c.n);
    r.stacks[0].frames[0].module = copy;
    st_symbolize_report(&r);
    const struct st_frame *big = &r.stacks[0].frames[0];
    cr_assert_str_eq(big->function, "capture_here");
    cr_assert_null(big->file, "a file from the big module: %s", big->file);
    st_report_free(&r);

    report_of(&r, c.pcs, c.n);
    st_symbolize_report(&r);
    cr_assert_not_null(r.stacks[0].frames[0].file, "the small module still has its lines");
    st_report_free(&r);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
