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
 * version ("@@GLIBC_2.34"); demangling is the caller's. */
#define _GNU_SOURCE
#include "symbolize/symbolize_elf.h"

#include "base/sys.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEBUG_ROOT "/usr/lib/debug/.build-id/"

struct mapped {
    const char *path; /* the module, as the report names it */
    const unsigned char *data;
    size_t size;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    size_t strsize;
};

static const unsigned char *map_file(const char *path, size_t *size)
{
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *data = NULL;
    if (st_sys_fstatat((int)fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > (off_t)sizeof(Elf64_Ehdr)) {
        data = (void *)syscall(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
                               (int)fd, 0);
        if (data == MAP_FAILED)
            data = NULL;
        *size = (size_t)st.st_size;
    }
    st_sys_close((int)fd);
    return data;
}

static void unmap(struct mapped *m)
{
    if (m->data)
        syscall(SYS_munmap, m->data, m->size);
    m->data = NULL;
    m->nsyms = 0;
}

/* The section headers of a mapped 64-bit ELF file, checked to lie inside it. */
static const Elf64_Shdr *sections(const unsigned char *data, size_t size, unsigned *count)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
        return NULL;
    *count = eh->e_shnum;
    return (const Elf64_Shdr *)(data + eh->e_shoff);
}

static bool inside(const Elf64_Shdr *sh, size_t size)
{
    return sh->sh_offset <= size && sh->sh_size <= size - sh->sh_offset;
}

/* Points m at the file's symbol table of this type (SHT_SYMTAB or SHT_DYNSYM). */
static bool find_symbols(struct mapped *m, Elf64_Word type)
{
    unsigned n;
    const Elf64_Shdr *sh = sections(m->data, m->size, &n);
    for (unsigned i = 0; sh && i < n; i++) {
        if (sh[i].sh_type != type || sh[i].sh_link >= n)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (!inside(&sh[i], m->size) || !inside(str, m->size))
            continue;
        m->syms = (const Elf64_Sym *)(m->data + sh[i].sh_offset);
        m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
        m->strtab = (const char *)(m->data + str->sh_offset);
        m->strsize = str->sh_size;
        return true;
    }
    return false;
}

/* DEBUG_ROOT xx/rest.debug for a hex build-id, into path (PATH_MAX). */
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

/* Maps the module of path and finds the best symbol table for it. */
static void open_module(struct mapped *m, const char *path, const char *build_id)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    m->data = map_file(path, &m->size);
    if (!m->data || find_symbols(m, SHT_SYMTAB))
        return;
    char debug[512];
    struct mapped d = {path, NULL, 0, NULL, 0, NULL, 0};
    if (build_id && debug_file_path(build_id, debug, sizeof debug) &&
        (d.data = map_file(debug, &d.size)) && find_symbols(&d, SHT_SYMTAB)) {
        unmap(m);
        *m = d;
        return;
    }
    unmap(&d);
    if (!find_symbols(m, SHT_DYNSYM))
        m->nsyms = 0;
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

/* The function whose extent holds offset (a file address): the nearest one
 * below it, and among several there the most global. */
static const char *lookup(const struct mapped *m, uint64_t offset, size_t *len)
{
    const Elf64_Sym *best = NULL;
    for (size_t i = 0; i < m->nsyms; i++) {
        const Elf64_Sym *s = &m->syms[i];
        int type = ELF64_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_value == 0 ||
            s->st_value > offset || offset - s->st_value >= (s->st_size ? s->st_size : 1) ||
            s->st_name == 0 || s->st_name >= m->strsize)
            continue;
        if (!best || s->st_value > best->st_value ||
            (s->st_value == best->st_value && binding_rank(s) > binding_rank(best)))
            best = s;
    }
    if (!best)
        return NULL;
    const char *name = m->strtab + best->st_name;
    size_t n = 0, room = m->strsize - best->st_name;
    while (n < room && name[n] && name[n] != '@')
        n++;
    *len = n;
    return n > 0 ? name : NULL;
}

static struct mapped *module_for(struct mapped *maps, size_t *nmaps, size_t max,
                                 const struct st_frame *f)
{
    for (size_t k = 0; k < *nmaps; k++)
        if (!strcmp(maps[k].path, f->module))
            return &maps[k];
    if (*nmaps == max)
        return NULL;
    open_module(&maps[*nmaps], f->module, f->build_id);
    return &maps[(*nmaps)++];
}

void st_symbolize_elf(struct st_report *r)
{
    enum { MAX_MODULES = 64 };
    struct mapped maps[MAX_MODULES];
    size_t nmaps = 0;
    for (uint32_t i = 0; i < r->nstacks; i++) {
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            struct st_frame *f = &r->stacks[i].frames[j];
            /* An unloaded module's file may hold other code by now. */
            if (f->function || !f->module || f->unloaded)
                continue;
            struct mapped *m = module_for(maps, &nmaps, MAX_MODULES, f);
            size_t len = 0;
            /* A return address points after the call: look up the call itself. */
            const char *name = m && m->nsyms ? lookup(m, f->offset ? f->offset - 1 : 0, &len)
                                              : NULL;
            if (name)
                f->function = st_arena_strndup(&r->arena, name, len);
        }
    }
    for (size_t k = 0; k < nmaps; k++)
        unmap(&maps[k]);
}

bool st_elf_has_debug_lines(const char *path)
{
    size_t size = 0;
    const unsigned char *data = map_file(path, &size);
    if (!data)
        return false;
    unsigned n;
    const Elf64_Shdr *sh = sections(data, size, &n);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
    bool found = false;
    if (sh && eh->e_shstrndx < n && inside(&sh[eh->e_shstrndx], size)) {
        const char *names = (const char *)data + sh[eh->e_shstrndx].sh_offset;
        size_t names_size = sh[eh->e_shstrndx].sh_size;
        for (unsigned i = 0; i < n && !found; i++)
            found = sh[i].sh_type == SHT_PROGBITS && sh[i].sh_size > 0 &&
                    sh[i].sh_name < names_size &&
                    names_size - sh[i].sh_name >= sizeof ".debug_line" &&
                    !memcmp(names + sh[i].sh_name, ".debug_line", sizeof ".debug_line");
    }
    syscall(SYS_munmap, data, size);
    return found;
}
