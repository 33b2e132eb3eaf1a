/* Function names from ELF symbol tables with nothing but system calls:
 * for every report written in the process, the crash report included
 * (symbolize_elf.c says where the tables come from). */
#ifndef STRAYS_SYMBOLIZE_ELF_H
#define STRAYS_SYMBOLIZE_ELF_H

#include "report/report.h"

#include <stdbool.h>

/* Fills in the function of every frame of r's stacks that has a module and
 * no function yet (not demangled, without a symbol version).
 * Async-signal-safe: memory comes from r's arena. */
void st_symbolize_elf(struct st_report *r);

/* When the ELF file at path carries its own line table (.debug_line), a
 * program or library built with -g and not stripped: the size of its
 * .debug_info (at least 1). 0 when it carries none. */
unsigned long long st_elf_own_debug_info_size(const char *path);

#endif
