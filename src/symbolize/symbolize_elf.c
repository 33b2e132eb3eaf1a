/* Function names for the crash path, where libdw cannot be used (it
 * allocates, and the crash may have happened inside malloc): each module's
 * ELF symbol table is mapped with raw system calls and searched directly.
 * Names only (no file:line); Rust names demangled (that needs no memory but
 * the report's), C++ ones not (__cxa_demangle mallocs); static functions
 * included when the module keeps its .symtab. */
#define _GNU_SOURCE
#include "symbolize/symbolize_elf.h"

#include "symbolize/demangle.h"

#include "base/sys.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct mapped {
    const char *path;
    const unsigned char *data;
    size_t size;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    size_t strsize;
};

static void *map_file(const char *path, size_t *size)
{
    long fd = st_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *data = NULL;
    if (syscall(SYS_fstat, (int)fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr)) {
        data = (void *)syscall(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
                               (int)fd, 0);
        if (data == MAP_FAILED)
            data = NULL;
        *size = (size_t)st.st_size;
    }
    st_sys_close((int)fd);
    return data;
}

/* Finds the symbol table (.symtab, else .dynsym) of a mapped ELF file. */
static bool find_symbols(struct mapped *m)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->data;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > m->size)
        return false;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(m->data + eh->e_shoff);
    for (int want = SHT_SYMTAB; want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0) {
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != (Elf64_Word)want || sh[i].sh_link >= eh->e_shnum)
                continue;
            const Elf64_Shdr *str = &sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > m->size ||
                str->sh_offset + str->sh_size > m->size)
                continue;
            m->syms = (const Elf64_Sym *)(m->data + sh[i].sh_offset);
            m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
            m->strtab = (const char *)(m->data + str->sh_offset);
            m->strsize = str->sh_size;
            return true;
        }
    }
    return false;
}

static const char *lookup(const struct mapped *m, uint64_t offset)
{
    const Elf64_Sym *best = NULL;
    for (size_t i = 0; i < m->nsyms; i++) {
        const Elf64_Sym *s = &m->syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_value == 0 || s->st_value > offset)
            continue;
        if (offset < s->st_value + (s->st_size ? s->st_size : 1) &&
            (!best || s->st_value > best->st_value))
            best = s;
    }
    if (!best || best->st_name >= m->strsize)
        return NULL;
    return m->strtab + best->st_name;
}

void st_symbolize_elf(struct st_report *r)
{
    enum { MAX_MODULES = 64 };
    struct mapped maps[MAX_MODULES];
    size_t nmaps = 0;
    for (uint32_t i = 0; i < r->nstacks; i++) {
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            struct st_frame *f = &r->stacks[i].frames[j];
            if (f->function || !f->module)
                continue;
            struct mapped *m = NULL;
            for (size_t k = 0; k < nmaps && !m; k++)
                if (!strcmp(maps[k].path, f->module))
                    m = &maps[k];
            if (!m && nmaps < MAX_MODULES) {
                m = &maps[nmaps];
                memset(m, 0, sizeof *m);
                m->path = f->module;
                m->data = map_file(f->module, &m->size);
                if (m->data && !find_symbols(m))
                    m->nsyms = 0;
                nmaps++;
            }
            /* A return address points after the call: look up the call itself. */
            const char *name = m && m->data ? lookup(m, f->offset ? f->offset - 1 : 0) : NULL;
            const char *rust = name ? st_demangled_rust(name, &r->arena) : NULL;
            if (name)
                f->function = rust ? rust : st_arena_strdup(&r->arena, name);
        }
    }
    for (size_t k = 0; k < nmaps; k++)
        if (maps[k].data)
            syscall(SYS_munmap, maps[k].data, maps[k].size);
}
