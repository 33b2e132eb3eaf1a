/* Offline symbolization; see symbolize_offline.h. Each module gets its own
 * libdwfl session with the module placed at bias 0, so a report's offset
 * (address - load bias) is the address to look up, and modules of one
 * report never overlap. libdw is loaded with dlopen, like symbolize.c does,
 * so the CLI runs without it until --symbolize is asked for. */
#define _GNU_SOURCE
#include "symbolize/symbolize_offline.h"

#include "symbolize/demangle.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dw_api {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    void (*report_begin)(Dwfl *);
    Dwfl_Module *(*report_elf)(Dwfl *, const char *, const char *, int, GElf_Addr, bool);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                      void *);
    int (*build_id)(Dwfl_Module *, const unsigned char **, GElf_Addr *);
    const char *(*addrname)(Dwfl_Module *, GElf_Addr);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
    const char *(*errmsg)(int);
};

/* A module as the report names it: its path and build-id. */
struct module {
    char *path, *build_id;
    Dwfl *dwfl; /* NULL when no usable file was found */
    Dwfl_Module *mod;
};

struct st_offline_symbolizer {
    void *lib;
    struct dw_api dw;
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
    char *debug_dir; /* absolute, or NULL */
    st_offline_note_fn note;
    void *note_ctx;
    struct module *modules;
    size_t nmodules, cap;
    char *(*demangle)(const char *, char *, size_t *, int *);
    bool demangler_looked_up;
};

static bool load_libdw(struct st_offline_symbolizer *s)
{
    s->lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!s->lib)
        return false;
#define LOAD(field, sym) *(void **)&s->dw.field = dlsym(s->lib, sym)
    LOAD(begin, "dwfl_begin");
    LOAD(end, "dwfl_end");
    LOAD(report_begin, "dwfl_report_begin");
    LOAD(report_elf, "dwfl_report_elf");
    LOAD(report_end, "dwfl_report_end");
    LOAD(build_id, "dwfl_module_build_id");
    LOAD(addrname, "dwfl_module_addrname");
    LOAD(getsrc, "dwfl_module_getsrc");
    LOAD(lineinfo, "dwfl_lineinfo");
    LOAD(errmsg, "dwfl_errmsg");
#undef LOAD
    *(void **)&s->callbacks.find_elf = dlsym(s->lib, "dwfl_build_id_find_elf");
    *(void **)&s->callbacks.find_debuginfo = dlsym(s->lib, "dwfl_standard_find_debuginfo");
    *(void **)&s->callbacks.section_address = dlsym(s->lib, "dwfl_offline_section_address");
    return s->dw.begin && s->dw.end && s->dw.report_begin && s->dw.report_elf &&
           s->dw.report_end && s->dw.build_id && s->dw.addrname && s->dw.getsrc &&
           s->dw.lineinfo && s->dw.errmsg && s->callbacks.find_elf &&
           s->callbacks.find_debuginfo && s->callbacks.section_address;
}

int st_offline_symbolizer_open(struct st_offline_symbolizer **out, const char *debug_dir,
                               st_offline_note_fn note, void *ctx, char *err, size_t errlen)
{
    *out = NULL;
    struct st_offline_symbolizer *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!load_libdw(s)) {
        snprintf(err, errlen, "cannot symbolize: libdw.so.1 (elfutils) %s",
                 s->lib ? "lacks a function strays needs" : "is not installed");
        if (s->lib)
            dlclose(s->lib);
        free(s);
        return -ENOENT;
    }
    /* libdwfl looks up build-ids only under absolute directories. */
    if (debug_dir && !(s->debug_dir = realpath(debug_dir, NULL))) {
        int e = errno;
        snprintf(err, errlen, "debug directory %s: %s", debug_dir, strerror(e));
        free(s);
        return -e;
    }
    /* The default search path of libdwfl, then DIR: no CRC check ("-"),
     * build-ids are checked instead. */
    if (asprintf(&s->debuginfo_path, "-:.debug:/usr/lib/debug%s%s", s->debug_dir ? ":" : "",
                 s->debug_dir ? s->debug_dir : "") < 0) {
        free(s->debug_dir);
        free(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->callbacks.debuginfo_path = &s->debuginfo_path;
    s->note = note;
    s->note_ctx = ctx;
    *out = s;
    return 0;
}

static void notef(struct st_offline_symbolizer *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void notef(struct st_offline_symbolizer *s, const char *fmt, ...)
{
    if (!s->note)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    s->note(s->note_ctx, message);
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The file's build-id as lower-case hex into hex (empty when it has none). */
static void build_id_of(struct st_offline_symbolizer *s, Dwfl_Module *mod, char *hex, size_t len)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = s->dw.build_id(mod, &bits, &vaddr);
    hex[0] = '\0';
    for (int i = 0; i < n && 2 * (size_t)i + 2 < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
}

/* Reports file as the module at bias 0 in a session of its own. Returns
 * 1 when its build-id is the one wanted (or none is wanted), 0 when it is
 * another (then *found holds the file's, "" if it has none), -1 when the
 * file cannot be read as ELF. */
static int try_file(struct st_offline_symbolizer *s, struct module *m, const char *file,
                    char *found, size_t found_len)
{
    if (access(file, R_OK) != 0)
        return -1;
    Dwfl *dwfl = s->dw.begin(&s->callbacks);
    if (!dwfl)
        return -1;
    s->dw.report_begin(dwfl);
    Dwfl_Module *mod = s->dw.report_elf(dwfl, m->path, file, -1, 0, true);
    if (!mod || s->dw.report_end(dwfl, NULL, NULL) != 0) {
        s->dw.end(dwfl);
        return -1;
    }
    build_id_of(s, mod, found, found_len);
    if (m->build_id && strcmp(found, m->build_id) != 0) {
        s->dw.end(dwfl);
        return 0;
    }
    m->dwfl = dwfl;
    m->mod = mod;
    return 1;
}

/* Finds a file for m: the module's own path, else the build-id names
 * under the debug directory and /usr/lib/debug (a separate debug file
 * keeps the program headers and symbols, enough to symbolize by itself). */
static void open_module(struct st_offline_symbolizer *s, struct module *m)
{
    char found[256] = "";
    int own = try_file(s, m, m->path, found, sizeof found);
    if (own == 1)
        return;
    const char *dirs[] = {s->debug_dir, "/usr/lib/debug"};
    const char *suffixes[] = {"", ".debug"};
    size_t idlen = m->build_id ? strlen(m->build_id) : 0;
    for (size_t d = 0; idlen > 2 && d < 2; d++)
        for (size_t x = 0; dirs[d] && x < 2; x++) {
            char path[4096], other[256];
            snprintf(path, sizeof path, "%s/.build-id/%.2s/%s%s", dirs[d], m->build_id,
                     m->build_id + 2, suffixes[x]);
            if (try_file(s, m, path, other, sizeof other) == 1)
                return;
        }
    if (own == 0)
        notef(s,
              "%s on this machine is not the file the report was written with (build-id %s, "
              "the report's %s): not used; its frames stay as module+offset%s",
              m->path, *found ? found : "none", m->build_id,
              s->debug_dir ? "" : " (--debug-dir DIR finds the right debug file by build-id)");
    else if (m->build_id)
        notef(s, "no file for %s (build-id %s) here%s%s: its frames stay as module+offset",
              m->path, m->build_id, s->debug_dir ? " nor under " : "",
              s->debug_dir ? s->debug_dir : "");
    else
        notef(s, "%s cannot be read here: its frames stay as module+offset", m->path);
}

static struct module *module_for(struct st_offline_symbolizer *s, const struct st_frame *f)
{
    for (size_t i = 0; i < s->nmodules; i++)
        if (!strcmp(s->modules[i].path, f->module) && same(s->modules[i].build_id, f->build_id))
            return &s->modules[i];
    if (s->nmodules == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct module *grown = realloc(s->modules, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->modules = grown;
        s->cap = cap;
    }
    char *path = strdup(f->module), *build_id = f->build_id ? strdup(f->build_id) : NULL;
    if (!path || (f->build_id && !build_id)) {
        free(path);
        free(build_id);
        return NULL;
    }
    struct module *m = &s->modules[s->nmodules];
    *m = (struct module){path, build_id, NULL, NULL};
    s->nmodules++;
    open_module(s, m);
    return m;
}

/* The name as a person reads it: without a symbol version, demangled with
 * libstdc++'s __cxa_demangle when that library is here. */
static const char *readable_name(struct st_offline_symbolizer *s, const char *raw,
                                 struct st_arena *arena)
{
    const char *at = strchr(raw, '@');
    char *name = st_arena_strndup(arena, raw, at ? (size_t)(at - raw) : strlen(raw));
    const char *rust = name ? st_demangled_rust(name, arena) : NULL;
    if (rust)
        return rust;
    if (!name || strncmp(name, "_Z", 2) != 0)
        return name;
    if (!s->demangler_looked_up) {
        s->demangler_looked_up = true;
        void *cxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (cxx)
            *(void **)&s->demangle = dlsym(cxx, "__cxa_demangle");
        /* cppcheck-suppress resourceLeak ; kept loaded: s->demangle lives in it */
    }
    if (!s->demangle)
        return name;
    int status = -1;
    char *plain = s->demangle(name, NULL, NULL, &status);
    const char *copy = status == 0 && plain ? st_arena_strdup(arena, plain) : name;
    free(plain);
    return copy ? copy : name;
}

static bool symbolize_frame(struct st_offline_symbolizer *s, struct st_frame *f,
                            struct st_arena *arena)
{
    if (!f->module || (f->function && f->file))
        return false;
    struct module *m = module_for(s, f);
    if (!m || !m->dwfl)
        return false;
    /* A return address points after the call; the call is one byte before. */
    Dwarf_Addr pc = f->offset ? f->offset - 1 : 0;
    bool changed = false;
    if (!f->function) {
        const char *name = s->dw.addrname(m->mod, pc);
        if (name && (f->function = readable_name(s, name, arena)))
            changed = true;
    }
    if (!f->file) {
        Dwfl_Line *line = s->dw.getsrc(m->mod, pc);
        int lineno = 0;
        const char *file = line ? s->dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (file && (f->file = st_arena_strdup(arena, file))) {
            f->line = lineno;
            changed = true;
        }
    }
    return changed;
}

unsigned st_offline_symbolize_report(struct st_offline_symbolizer *s, struct st_report *r)
{
    unsigned changed = 0;
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++)
            changed += symbolize_frame(s, &r->stacks[i].frames[j], &r->arena);
    return changed;
}

void st_offline_symbolizer_close(struct st_offline_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmodules; i++) {
        if (s->modules[i].dwfl)
            s->dw.end(s->modules[i].dwfl);
        free(s->modules[i].path);
        free(s->modules[i].build_id);
    }
    free(s->modules);
    free(s->debuginfo_path);
    free(s->debug_dir);
    /* libdw stays loaded, as in symbolize.c: the process ends soon after. */
    free(s);
}
