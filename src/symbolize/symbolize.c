/* In-process symbolization; see symbolize.h. Measured here on one report of
 * xz -T2 (2 threads, a pipe; frames in xz, liblzma and libc): libdwfl over
 * the whole process costs 380 ms and 17 MB, since Debian's libc6-dbg ships
 * libc's debug info compressed and libdw inflates all of it (12 MB) before
 * the first line is found. So the process reads only what is cheap: names
 * from ELF symbol tables (symbolize_elf.c, a few ms, libc's static
 * functions included through its debug file's .symtab), and file and line
 * from modules that carry their own line table (the program's code, built
 * with -g), one libdwfl session per module, placed at bias 0 so a frame's
 * offset is its address there and a session outlives a dlclose and a
 * reload elsewhere. Files and lines from separate debug files are added
 * where many reports share the work: `strays run` and `strays report
 * --symbolize` (symbolize_offline.c), once per build-id.
 *
 * libdw is opened with RTLD_LOCAL for the same reason libunwind is: to keep
 * its dependencies out of the program's global symbol scope. Rust names are
 * demangled by symbolize_elf.c (demangle.h), C++ ones here when the program
 * has libstdc++ loaded (its __cxa_demangle). */
#define _GNU_SOURCE
#include "symbolize/symbolize.h"

#include "base/st.h"
#include "base/lock.h"
#include "symbolize/symbolize_elf.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

struct dw_api {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*report_begin)(Dwfl *);
    Dwfl_Module *(*report_elf)(Dwfl *, const char *, const char *, int, GElf_Addr, bool);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                      void *);
    void (*end)(Dwfl *);
    int (*build_id)(Dwfl_Module *, const unsigned char **, GElf_Addr *);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
};

/* A module file as reports name it, and its line table if it has one. */
struct line_module {
    struct line_module *next;
    char *path, *build_id;
    Dwfl *dwfl; /* NULL: no line table of its own, or unreadable */
    Dwfl_Module *mod;
};

static struct {
    st_lock_t lock;
    bool busy; /* set under lock while the list or libdw is used: for fork */
    bool looked_up, usable;
    struct dw_api dw;
    Dwfl_Callbacks callbacks;
    struct line_module *modules;
    unsigned sessions;
} lines = {.lock = ST_LOCK_INIT};

static char *(*demangle)(const char *, char *, size_t *, int *);

/* Only the module's own sections: no separate debug file, no debuginfod. */
static int own_sections_only(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name,
                             const char *debuglink_file, GElf_Word debuglink_crc,
                             char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static bool load_libdw(void)
{
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return false;
#define LOAD(field, sym) *(void **)&lines.dw.field = dlsym(lib, sym)
    LOAD(begin, "dwfl_begin");
    LOAD(report_begin, "dwfl_report_begin");
    LOAD(report_elf, "dwfl_report_elf");
    LOAD(report_end, "dwfl_report_end");
    LOAD(end, "dwfl_end");
    LOAD(build_id, "dwfl_module_build_id");
    LOAD(getsrc, "dwfl_module_getsrc");
    LOAD(lineinfo, "dwfl_lineinfo");
#undef LOAD
    *(void **)&lines.callbacks.find_elf = dlsym(lib, "dwfl_build_id_find_elf");
    *(void **)&lines.callbacks.section_address = dlsym(lib, "dwfl_offline_section_address");
    lines.callbacks.find_debuginfo = own_sections_only;
    /* libdw stays loaded: unloading it buys nothing, and its destructors
     * would run while the program is still exiting. */
    // cppcheck-suppress resourceLeak ; lib stays loaded: the functions above live in it
    return lines.dw.begin && lines.dw.report_begin && lines.dw.report_elf &&
           lines.dw.report_end && lines.dw.end && lines.dw.build_id && lines.dw.getsrc &&
           lines.dw.lineinfo && lines.callbacks.find_elf && lines.callbacks.section_address;
}

static bool same_build_id(Dwfl_Module *mod, const char *want)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = lines.dw.build_id(mod, &bits, &vaddr);
    if (!want)
        return true;
    if (n <= 0 || strlen(want) != 2 * (size_t)n)
        return false;
    for (int i = 0; i < n; i++)
        if (want[2 * i] != "0123456789abcdef"[bits[i] >> 4] ||
            want[2 * i + 1] != "0123456789abcdef"[bits[i] & 15])
            return false;
    return true;
}

/* A session for m's file when it has a line table of its own, small enough
 * to read here (ST_LINES_IN_PROCESS_MAX), and is still the file the
 * process loaded (same build-id). */
static void open_lines(struct line_module *m)
{
    unsigned long long info = st_elf_own_debug_info_size(m->path);
    if (info == 0 || info > ST_LINES_IN_PROCESS_MAX)
        return;
    if (!lines.looked_up) {
        lines.looked_up = true;
        lines.usable = load_libdw();
    }
    if (!lines.usable)
        return;
    Dwfl *dwfl = lines.dw.begin(&lines.callbacks);
    if (!dwfl)
        return;
    lines.dw.report_begin(dwfl);
    Dwfl_Module *mod = lines.dw.report_elf(dwfl, m->path, m->path, -1, 0, true);
    if (!mod || lines.dw.report_end(dwfl, NULL, NULL) != 0 || !same_build_id(mod, m->build_id)) {
        lines.dw.end(dwfl);
        return;
    }
    m->dwfl = dwfl;
    m->mod = mod;
    lines.sessions++;
}

static bool same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static struct line_module *module_for(const struct st_frame *f)
{
    for (struct line_module *m = lines.modules; m; m = m->next)
        if (!strcmp(m->path, f->module) && same(m->build_id, f->build_id))
            return m;
    struct line_module *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(f->module)) ||
        (f->build_id && !(m->build_id = strdup(f->build_id)))) {
        if (m)
            free(m->path);
        free(m);
        return NULL;
    }
    open_lines(m);
    m->next = lines.modules;
    lines.modules = m;
    return m;
}

static void add_line(struct st_frame *f, struct st_arena *arena)
{
    struct line_module *m = module_for(f);
    if (!m || !m->dwfl)
        return;
    /* A return address points after the call; the call itself is one byte
     * earlier, and that is the line a person wants to see. */
    Dwfl_Line *line = lines.dw.getsrc(m->mod, f->offset ? f->offset - 1 : 0);
    int lineno = 0;
    const char *file = line ? lines.dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file && (f->file = st_arena_strdup(arena, file)))
        f->line = lineno;
}

/* The name as a person reads it: demangled when it is a C++ name and the
 * program has libstdc++ loaded (looked up at the first C++ name of each
 * report, lock held: a C program never looks). */
static void make_readable(struct st_frame *f, struct st_arena *arena, bool *looked_up)
{
    if (!f->function || strncmp(f->function, "_Z", 2) != 0)
        return;
    if (!demangle && !*looked_up) {
        *looked_up = true;
        *(void **)&demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    }
    if (!demangle)
        return;
    int status = -1;
    char *plain = demangle(f->function, NULL, NULL, &status);
    const char *copy = status == 0 && plain ? st_arena_strdup(arena, plain) : NULL;
    free(plain);
    if (copy)
        f->function = copy;
}

void st_symbolize_report(struct st_report *r)
{
    st_symbolize_elf(r);
    st_lock(&lines.lock);
    lines.busy = true;
    bool looked_up = false;
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            struct st_frame *f = &r->stacks[i].frames[j];
            make_readable(f, &r->arena, &looked_up);
            if (f->module && !f->unloaded && !f->file)
                add_line(f, &r->arena);
        }
    lines.busy = false;
    st_unlock(&lines.lock);
}

unsigned st_symbolize_sessions(void) { return __atomic_load_n(&lines.sessions, __ATOMIC_RELAXED); }

ST_EVERY_FORK
void st_symbolize_after_fork_child(void)
{
    if (lines.busy) {
        /* Another thread was inside: its half-made changes are left behind. */
        lines.modules = NULL;
        lines.sessions = 0;
        lines.busy = false;
    }
    st_lock_reset(&lines.lock);
}
