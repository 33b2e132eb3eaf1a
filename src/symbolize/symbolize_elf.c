/* Function names from ELF symbol tables, with raw system calls only: no
 * allocation but the report's arena (mmap), no lock, no library. The crash
 * path uses it (libdw cannot be used there: it allocates, and the crash may
 * have happened inside malloc), and so does every report in the process,
 * since it costs a few milliseconds where libdw costs hundreds once a
 * library's separate debug file is installed (symbolize.c).
 *
 * A module's own .symtab is used when it kept one (static functions
 * included); a stripped library's comes from its separate debug file,
 * found by build-id as /usr/lib/debug/.build-id/xx/rest.debug (Debian's
 * -dbg and -dbgsym packages; its .symtab is never compressed); else the
 * module's .dynsym (exported functions only). Names lose their symbol
 * version ("@@GLIBC_2.34"); Rust names are demangled here (that needs no
 * memory but the report's), C++ ones by the caller where that is safe
 * (__cxa_demangle mallocs).
 *
 * Files are read with pread into the arena, never mapped: a mapped file's
 * pages would count in the program's resident memory (libc's debug symbol
 * table alone is 370 KB), and each module's frames are found in one pass
 * over its table. */
#define _GNU_SOURCE
#include "symbolize/symbolize_elf.h"

#include "symbolize/demangle.h"

#include "base/sys.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#define DEBUG_ROOT "/usr/lib/debug/.build-id/"
#define SYMS_PER_READ 1024 /* 24 KB of symbols at a time */
#define NAME_MAX_LEN 512

/* Where a file's symbol table and its strings lie. */
struct symbols {
    int fd;
    unsigned long offset, count; /* of the Elf64_Sym array */
    unsigned long strings, strings_size;
};

static bool read_all(int fd, void *buf, size_t len, unsigned long offset)
{
    size_t done = 0;
    while (done < len) {
        long n = st_sys_pread(fd, (char *)buf + done, len - done, offset + done);
        if (n == -EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

/* The section headers of the 64-bit ELF file fd, into the arena. */
static const Elf64_Shdr *read_sections(int fd, struct st_arena *arena, Elf64_Ehdr *eh)
{
    if (!read_all(fd, eh, sizeof *eh, 0) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff == 0 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0)
        return NULL;
    size_t size = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
    Elf64_Shdr *sh = st_arena_alloc(arena, size);
    return sh && read_all(fd, sh, size, eh->e_shoff) ? sh : NULL;
}

/* Finds the symbol table of this type (SHT_SYMTAB or SHT_DYNSYM) in fd. */
static bool find_symbols(int fd, Elf64_Word type, struct symbols *out, struct st_arena *arena)
{
    Elf64_Ehdr eh;
    const Elf64_Shdr *sh = read_sections(fd, arena, &eh);
    for (unsigned i = 0; sh && i < eh.e_shnum; i++) {
        if (sh[i].sh_type != type || sh[i].sh_link >= eh.e_shnum ||
            sh[i].sh_entsize != sizeof(Elf64_Sym))
            continue;
        *out = (struct symbols){fd, sh[i].sh_offset, sh[i].sh_size / sizeof(Elf64_Sym),
                                sh[sh[i].sh_link].sh_offset, sh[sh[i].sh_link].sh_size};
        return out->count > 0;
    }
    return false;
}

/* DEBUG_ROOT xx/rest.debug for a hex build-id, into path. */
static bool debug_file_path(const char *build_id, char *path, size_t len)
{
    size_t idlen = strlen(build_id), root = sizeof DEBUG_ROOT - 1;
    if (idlen < 4 || root + idlen + 8 > len)
        return false;
    memcpy(path, DEBUG_ROOT, root);
    memcpy(path + root, build_id, 2);
    path[root + 2] = '/';
    memcpy(path + root + 3, build_id + 2, idlen - 2);
    memcpy(path + root + 1 + idlen, ".debug", 7);
    return true;
}

static int open_file(const char *path)
{
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    return fd < 0 ? -1 : (int)fd;
}

/* The best symbol table for a module: its own .symtab, its debug file's,
 * or its .dynsym. Returns false (nothing open) when there is none. */
static bool open_symbols(const char *path, const char *build_id, struct symbols *out,
                         struct st_arena *arena)
{
    int fd = open_file(path);
    if (fd < 0)
        return false;
    if (find_symbols(fd, SHT_SYMTAB, out, arena))
        return true;
    char debug[512];
    int dfd = build_id && debug_file_path(build_id, debug, sizeof debug) ? open_file(debug) : -1;
    if (dfd >= 0 && find_symbols(dfd, SHT_SYMTAB, out, arena)) {
        st_sys_close(fd);
        return true;
    }
    if (dfd >= 0)
        st_sys_close(dfd);
    if (find_symbols(fd, SHT_DYNSYM, out, arena))
        return true;
    st_sys_close(fd);
    return false;
}

/* libdwfl's preference among symbols at one address, so a name reads the
 * same whether the process or `strays report --symbolize` gave it. */
static int binding_rank(const Elf64_Sym *s)
{
    switch (ELF64_ST_BIND(s->st_info)) {
    case STB_GLOBAL:
        return 3;
    case STB_GNU_UNIQUE:
        return 2;
    case STB_WEAK:
        return 1;
    default:
        return 0;
    }
}

/* A frame of one module, and the best function found for it so far. */
struct pending {
    struct st_frame *frame;
    uint64_t pc; /* the call: a return address points after it */
    Elf64_Sym best;
    bool found;
};

/* Whether s is a better function for p: its extent holds the call, and it
 * starts nearer, or at the same place with a more global binding. */
static void consider(struct pending *p, const Elf64_Sym *s)
{
    if (s->st_value > p->pc || p->pc - s->st_value >= (s->st_size ? s->st_size : 1))
        return;
    if (!p->found || s->st_value > p->best.st_value ||
        (s->st_value == p->best.st_value && binding_rank(s) > binding_rank(&p->best))) {
        p->best = *s;
        p->found = true;
    }
}

/* One pass over the table: every function symbol is held against the
 * frames (sorted by pc) whose call it may hold. */
static void match_symbols(const struct symbols *t, struct pending *p, size_t n,
                          struct st_arena *arena)
{
    Elf64_Sym *buf = st_arena_alloc(arena, SYMS_PER_READ * sizeof *buf);
    for (unsigned long first = 0; buf && first < t->count; first += SYMS_PER_READ) {
        size_t k = t->count - first < SYMS_PER_READ ? (size_t)(t->count - first) : SYMS_PER_READ;
        if (!read_all(t->fd, buf, k * sizeof *buf, t->offset + first * sizeof *buf))
            return;
        for (size_t i = 0; i < k; i++) {
            int type = ELF64_ST_TYPE(buf[i].st_info);
            if ((type != STT_FUNC && type != STT_GNU_IFUNC) || buf[i].st_value == 0 ||
                buf[i].st_name == 0)
                continue;
            size_t lo = 0, hi = n; /* the first frame at or above the symbol's start */
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (p[mid].pc < buf[i].st_value)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            uint64_t extent = buf[i].st_size ? buf[i].st_size : 1;
            for (size_t j = lo; j < n && p[j].pc - buf[i].st_value < extent; j++)
                consider(&p[j], &buf[i]);
        }
    }
}

/* The name at offset in the string table, without its symbol version. */
static const char *read_name(const struct symbols *t, uint32_t offset, struct st_arena *arena)
{
    if (offset >= t->strings_size)
        return NULL;
    char *name = st_arena_alloc(arena, NAME_MAX_LEN + 1);
    size_t len = t->strings_size - offset < NAME_MAX_LEN ? t->strings_size - offset : NAME_MAX_LEN;
    long got = name ? st_sys_pread(t->fd, name, len, t->strings + offset) : -1;
    if (got <= 0)
        return NULL;
    name[got] = '\0';
    name[strcspn(name, "@")] = '\0';
    return name[0] ? name : NULL;
}

static void sort_by_pc(struct pending *p, size_t n)
{
    for (size_t i = 1; i < n; i++) /* few frames per module: insertion sort */
        for (size_t j = i; j > 0 && p[j - 1].pc > p[j].pc; j--) {
            struct pending t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
        }
}

static bool wants_name(const struct st_frame *f)
{
    /* An unloaded module's file may hold other code by now. */
    return !f->function && f->module && !f->unloaded;
}

/* Names the frames of r that lie in module (the first such frame is f0). */
static void name_module(struct st_report *r, const struct st_frame *f0)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++)
            n += wants_name(&r->stacks[i].frames[j]) &&
                 !strcmp(r->stacks[i].frames[j].module, f0->module);
    struct pending *p = st_arena_alloc(&r->arena, n * sizeof *p);
    if (!p)
        return;
    const char *module = f0->module, *build_id = f0->build_id;
    size_t k = 0;
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            struct st_frame *f = &r->stacks[i].frames[j];
            if (wants_name(f) && !strcmp(f->module, module))
                p[k++] = (struct pending){f, f->offset ? f->offset - 1 : 0, {0}, false};
        }
    sort_by_pc(p, n);
    struct symbols t;
    bool open = open_symbols(module, build_id, &t, &r->arena);
    if (open)
        match_symbols(&t, p, n, &r->arena);
    for (size_t i = 0; i < n; i++) {
        const char *name = open && p[i].found ? read_name(&t, p[i].best.st_name, &r->arena) : NULL;
        const char *rust = name ? st_demangled_rust(name, &r->arena) : NULL;
        /* A frame with no name is marked "" meanwhile, so the next module's
         * pass does not take it again; NULL again below. */
        p[i].frame->function = rust ? rust : name ? name : "";
    }
    if (open)
        st_sys_close(t.fd);
}

void st_symbolize_elf(struct st_report *r)
{
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++)
            if (wants_name(&r->stacks[i].frames[j]))
                name_module(r, &r->stacks[i].frames[j]);
    for (uint32_t i = 0; i < r->nstacks; i++)
        for (uint32_t j = 0; j < r->stacks[i].depth; j++)
            if (r->stacks[i].frames[j].function && !r->stacks[i].frames[j].function[0])
                r->stacks[i].frames[j].function = NULL;
}

/* Whether section sh of a file is the non-empty PROGBITS section `want`
 * (its name given with its NUL, as sizeof gives it). */
static bool section_is(int fd, const Elf64_Shdr *names, const Elf64_Shdr *sh, const char *want,
                       size_t want_size)
{
    char name[16];
    return want_size <= sizeof name && sh->sh_type == SHT_PROGBITS && sh->sh_size > 0 &&
           sh->sh_name < names->sh_size && names->sh_size - sh->sh_name >= want_size &&
           read_all(fd, name, want_size, names->sh_offset + sh->sh_name) &&
           !memcmp(name, want, want_size);
}

unsigned long long st_elf_own_debug_info_size(const char *path)
{
    int fd = open_file(path);
    if (fd < 0)
        return 0;
    struct st_arena arena = {NULL};
    Elf64_Ehdr eh;
    const Elf64_Shdr *sh = read_sections(fd, &arena, &eh);
    bool lines = false;
    unsigned long long info = 0;
    if (sh && eh.e_shstrndx < eh.e_shnum) {
        const Elf64_Shdr *names = &sh[eh.e_shstrndx];
        for (unsigned i = 0; i < eh.e_shnum; i++) {
            if (section_is(fd, names, &sh[i], ".debug_line", sizeof ".debug_line"))
                lines = true;
            else if (section_is(fd, names, &sh[i], ".debug_info", sizeof ".debug_info"))
                info = sh[i].sh_size;
        }
    }
    st_arena_free(&arena);
    st_sys_close(fd);
    return !lines ? 0 : info ? info : 1;
}
