/* Unit tests of the module map's lookups (src/track/modules.c): a
 * function's extent found through its module's GNU hash table is the one
 * glibc's dladdr1 gives, walking every symbol. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "track/modules.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>

TestSuite(modules, .timeout = 20);

Test(modules, a_functions_extent_is_the_one_dladdr1_gives)
{
    const char *names[] = {"abort", "malloc", "qsort", "pthread_create", "open"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *fn = dlsym(RTLD_DEFAULT, names[i]);
        cr_assert_not_null(fn, "%s", names[i]);
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        cr_assert(dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) && sym, "%s", names[i]);
        uintptr_t lo, hi;
        cr_assert_eq(st_modules_function_extent((uintptr_t)fn, names[i], &lo, &hi), 0, "%s",
                     names[i]);
        cr_assert_eq(lo, (uintptr_t)fn, "%s", names[i]);
        cr_assert_eq(hi - lo, sym->st_size, "%s: %lu bytes, dladdr1 says %lu", names[i],
                     (unsigned long)(hi - lo), (unsigned long)sym->st_size);
    }
}

Test(modules, a_name_that_is_not_the_function_is_not_found)
{
    void *fn = dlsym(RTLD_DEFAULT, "abort");
    uintptr_t lo, hi;
    cr_assert_eq(st_modules_function_extent((uintptr_t)fn, "malloc", &lo, &hi), -ENOENT);
    cr_assert_eq(st_modules_function_extent((uintptr_t)fn, "no_such_function", &lo, &hi),
                 -ENOENT);
}
