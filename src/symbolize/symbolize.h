/* Function, file and line for a report's frames, in the process: names
 * from ELF symbol tables, file and line from the debug info a module
 * carries itself, through elfutils' libdwfl (symbolize.c says why not from
 * separate debug files). */
#ifndef STRAYS_SYMBOLIZE_H
#define STRAYS_SYMBOLIZE_H

#include "report/report.h"

/* The largest .debug_info of a module whose files and lines are read in
 * the process. libdw reads much of it to find one line: libpython's 9 MB
 * cost a Python built with -g 10 MB of memory and 50 ms at its exit report.
 * A larger one's frames keep their names; `strays run` and `strays report
 * --symbolize` add their files and lines, reading each module once. */
#define ST_LINES_IN_PROCESS_MAX (4ull << 20)

/* Fills in function, file and line of r's frames where known. libdw is
 * loaded when the first module with its own line table shows up in a
 * report, and what it reads is kept for the next reports. Thread-safe; not
 * for signal handlers. */
void st_symbolize_report(struct st_report *r);
/* Modules whose line tables were read so far (tests: kept across reports). */
unsigned st_symbolize_sessions(void);
/* A fork child: what another thread was changing at the fork is dropped. */
void st_symbolize_after_fork_child(void);

#endif
