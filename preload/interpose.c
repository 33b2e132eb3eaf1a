/* The real-function pointers declared by hooks.def, and their lookup. */
#define _GNU_SOURCE
#include "interpose.h"

#include "../src/sys.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOOK(ret, name, params) st_real_##name##_t st_real_##name;
#include "hooks.def"
#undef HOOK

void *st_interpose_resolve(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        static const char msg[] = "strays: cannot find the real ";
        st_sys_write_all(2, msg, sizeof msg - 1);
        st_sys_write_all(2, name, strlen(name));
        st_sys_write_all(2, "\n", 1);
        abort();
    }
    return fn;
}
