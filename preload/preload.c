/* The preload's entry and exit points. The constructor initialises strays
 * (unless a hook already did); the destructor runs from _dl_fini, which
 * libc registers before main runs and so calls after every exit handler
 * the program registered: the right moment for the final report. */
#define _GNU_SOURCE
#include "interpose.h"

#include "base/command_line.h"

/* glibc calls constructors with main's arguments. */
__attribute__((constructor)) static void strays_preload_init(int argc, char **argv, char **envp)
{
    st_command_line_remember(argc, argv, envp);
    if (st_active())
        st_runtime_start_services();
}

ST_EVERY_PROCESS
__attribute__((destructor)) static void strays_preload_fini(void) { st_runtime_at_unload(); }

/* The library's DT_FINI (the Makefile links with -Wl,-fini=): the linker's
 * default, crti's empty _fini, lies past the end of .text, a page fault in
 * every process's exit for a function that does nothing; this one lies
 * with the start code. The destructor above runs from .fini_array. */
ST_EVERY_PROCESS void strays_preload_fini_nothing(void);
ST_EVERY_PROCESS void strays_preload_fini_nothing(void) {}
