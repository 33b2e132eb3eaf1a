/* The real-function pointers declared by hooks.def, and their lookup. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/sys.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The ones every process writes (sh's too), on the page of strays' data
 * that every process writes anyway (ST_HOT_DATA in st.h); the others,
 * written by a process's first call through each hook, in .bss. */
#define EVERY_PROCESS(name) extern st_real_##name##_t st_real_##name ST_HOT_DATA;
EVERY_PROCESS(__libc_start_main)
EVERY_PROCESS(exit)
EVERY_PROCESS(_exit)
EVERY_PROCESS(_Exit)
EVERY_PROCESS(sigaction)
#undef EVERY_PROCESS

#define HOOK(ret, name, params) st_real_##name##_t st_real_##name;
#define VHOOK(ret, name, tag, version, params) st_real_##name##_##tag##_t st_real_##name##_##tag;
#include "hooks.def"
#undef HOOK
#undef VHOOK

static _Noreturn void missing(const char *name, const char *version)
{
    static const char msg[] = "strays: cannot find the real ";
    st_sys_write_all(2, msg, sizeof msg - 1);
    st_sys_write_all(2, name, strlen(name));
    if (version) {
        st_sys_write_all(2, "@", 1);
        st_sys_write_all(2, version, strlen(version));
    }
    st_sys_write_all(2, "\n", 1);
    abort();
}

void *st_interpose_resolve_version(const char *name, const char *version)
{
    void *fn = dlvsym(RTLD_NEXT, name, version);
    if (!fn)
        missing(name, version);
    return fn;
}

/* Cold for the hooks, but every process runs it (for __libc_start_main and
 * exit): kept with the start code. */
ST_EVERY_PROCESS
void *st_interpose_resolve(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn)
        missing(name, NULL);
    return fn;
}
