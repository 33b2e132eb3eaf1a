/* Symbolization; see symbolize.h. libdw is opened with RTLD_LOCAL for the
 * same reason libunwind is: to keep its dependencies out of the program's
 * global symbol scope. Rust names are demangled by strays (demangle.h), C++
 * ones when the program has libstdc++ loaded (its __cxa_demangle). */
#define _GNU_SOURCE
#include "symbolize/symbolize.h"

#include "symbolize/demangle.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dw_api {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                      void *);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    const char *(*addrname)(Dwfl_Module *, GElf_Addr);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
};

struct st_symbolizer {
    void *lib;
    struct dw_api dw;
    Dwfl *dwfl;
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
    char *(*demangle)(const char *, char *, size_t *, int *);
};

static struct st_symbolizer fallback; /* dladdr only */

static bool load_libdw(struct st_symbolizer *s)
{
    s->lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!s->lib)
        return false;
#define LOAD(field, sym) *(void **)&s->dw.field = dlsym(s->lib, sym)
    LOAD(begin, "dwfl_begin");
    LOAD(end, "dwfl_end");
    LOAD(proc_report, "dwfl_linux_proc_report");
    LOAD(report_end, "dwfl_report_end");
    LOAD(addrmodule, "dwfl_addrmodule");
    LOAD(addrname, "dwfl_module_addrname");
    LOAD(getsrc, "dwfl_module_getsrc");
    LOAD(lineinfo, "dwfl_lineinfo");
    *(void **)&s->callbacks.find_elf = dlsym(s->lib, "dwfl_linux_proc_find_elf");
    *(void **)&s->callbacks.find_debuginfo = dlsym(s->lib, "dwfl_standard_find_debuginfo");
#undef LOAD
    return s->dw.begin && s->dw.end && s->dw.proc_report && s->dw.report_end &&
           s->dw.addrmodule && s->dw.addrname && s->dw.getsrc && s->dw.lineinfo &&
           s->callbacks.find_elf && s->callbacks.find_debuginfo;
}

struct st_symbolizer *st_symbolizer_open_self(void)
{
    struct st_symbolizer *s = calloc(1, sizeof *s);
    if (!s)
        return &fallback;
    *(void **)&s->demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (load_libdw(s)) {
        s->callbacks.debuginfo_path = &s->debuginfo_path;
        s->dwfl = s->dw.begin(&s->callbacks);
        if (s->dwfl && (s->dw.proc_report(s->dwfl, getpid()) != 0 ||
                        s->dw.report_end(s->dwfl, NULL, NULL) != 0)) {
            s->dw.end(s->dwfl);
            s->dwfl = NULL;
        }
    }
    return s;
}

/* The name as a person reads it: without a symbol version
 * ("__libc_start_main@@GLIBC_2.34") and demangled. */
static const char *demangled(struct st_symbolizer *s, const char *versioned,
                             struct st_arena *arena)
{
    const char *at = strchr(versioned, '@');
    char *name = st_arena_strndup(arena, versioned, at ? (size_t)(at - versioned) : strlen(versioned));
    const char *rust = name ? st_demangled_rust(name, arena) : NULL;
    if (rust)
        return rust;
    if (!name || !s->demangle || strncmp(name, "_Z", 2) != 0)
        return name;
    int status = -1;
    char *plain = s->demangle(name, NULL, NULL, &status);
    const char *copy = st_arena_strdup(arena, status == 0 && plain ? plain : name);
    free(plain);
    return copy;
}

void st_symbolize_frame(struct st_symbolizer *s, struct st_frame *f, struct st_arena *arena)
{
    /* A return address points after the call; the call itself is one byte
     * earlier, and that is the line a person wants to see. */
    uintptr_t pc = f->address ? f->address - 1 : 0;
    if (s->dwfl) {
        Dwfl_Module *mod = s->dw.addrmodule(s->dwfl, pc);
        if (mod) {
            const char *name = s->dw.addrname(mod, pc);
            if (name)
                f->function = demangled(s, name, arena);
            Dwfl_Line *line = s->dw.getsrc(mod, pc);
            int lineno = 0;
            const char *file = line ? s->dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
            if (file) {
                f->file = st_arena_strdup(arena, file);
                f->line = lineno;
            }
            if (f->function)
                return;
        }
    }
    Dl_info info;
    if (dladdr((void *)pc, &info) && info.dli_sname)
        f->function = demangled(s, info.dli_sname, arena);
}

void st_symbolizer_close(struct st_symbolizer *s)
{
    if (s == &fallback)
        return;
    if (s->dwfl)
        s->dw.end(s->dwfl);
    /* libdw stays loaded: unloading it at exit buys nothing and its
     * destructors would run while the program is still exiting. */
    free(s);
}
