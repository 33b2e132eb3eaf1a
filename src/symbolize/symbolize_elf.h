/* Function names from ELF symbol tables with nothing but system calls, for
 * reports written where allocation is not safe (a crash). */
#ifndef STRAYS_SYMBOLIZE_ELF_H
#define STRAYS_SYMBOLIZE_ELF_H

#include "report/report.h"

/* Fills in the function of every frame of r's stacks that has a module and
 * no function yet. */
void st_symbolize_elf(struct st_report *r);

#endif
