/* Function, file and line for frames, from ELF symbol tables and DWARF
 * through elfutils' libdwfl. libdw is loaded privately at report time only;
 * without it, function names come from dladdr (exported symbols only). */
#ifndef STRAYS_SYMBOLIZE_H
#define STRAYS_SYMBOLIZE_H

#include "base/arena.h"
#include "report/report.h"

struct st_symbolizer;

/* A symbolizer for this process's own address space. Never NULL. */
struct st_symbolizer *st_symbolizer_open_self(void);
/* Fills function, file and line of f (a return address) when known. */
void st_symbolize_frame(struct st_symbolizer *s, struct st_frame *f, struct st_arena *arena);
void st_symbolizer_close(struct st_symbolizer *s);

#endif
