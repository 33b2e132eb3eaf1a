/* Capturing the current stack. libunwind is loaded privately with
 * dlopen(RTLD_LOCAL): linked normally, its _Unwind_* and weak backtrace
 * symbols would join the program's global scope and capture C++ exception
 * unwinding from libgcc_s (DESIGN.md, "Traps"). Without libunwind, glibc's
 * backtrace() serves, more slowly. */
#include "options.h"
#include "stack.h"
#include "st.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>

typedef int (*unw_backtrace_fn)(void **buffer, int size);

static unw_backtrace_fn unw_backtrace_ptr;
static uintptr_t own_lo, own_hi;

void st_stack_set_own_range(uintptr_t lo, uintptr_t hi)
{
    own_lo = lo;
    own_hi = hi;
}

int st_stack_capture_init(void)
{
    if (unw_backtrace_ptr)
        return 0;
    /* Debian's libunwind.so.1 is LLVM's unwinder, not this one: ask for .8. */
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    unw_backtrace_fn fn = lib ? (unw_backtrace_fn)dlsym(lib, "unw_backtrace") : NULL;
    void *warm[4];
    if (fn) {
        fn(warm, 4);
        __atomic_store_n(&unw_backtrace_ptr, fn, __ATOMIC_RELEASE);
        return 0;
    }
    backtrace(warm, 4); /* loads libgcc_s now rather than inside a hook */
    return -ENOENT;
}

int st_stack_capture(uintptr_t *frames, int max)
{
    void *raw[ST_STACK_MAX + 16];
    int want = max + 16 > (int)ST_ARRAY_LEN(raw) ? (int)ST_ARRAY_LEN(raw) : max + 16;
    unw_backtrace_fn fn = __atomic_load_n(&unw_backtrace_ptr, __ATOMIC_ACQUIRE);
    int n = fn ? fn(raw, want) : backtrace(raw, want);
    /* Leave out strays' frames: its hooks at the top, and the main() wrapper
     * at the bottom, so stacks read as they would without strays. When
     * strays is linked into the program itself (unit tests) only this
     * function's own frame goes. */
    int depth = 0;
    for (int i = own_hi > own_lo ? 0 : 1; i < n && depth < max; i++) {
        uintptr_t pc = (uintptr_t)raw[i];
        if (pc >= own_lo && pc < own_hi)
            continue;
        frames[depth++] = pc;
    }
    return depth;
}

const struct st_stack *st_stack_here(void)
{
    uintptr_t frames[ST_STACK_MAX];
    int depth = st_stack_capture(frames, st_opt.stack_depth);
    return st_stack_intern(frames, depth);
}
