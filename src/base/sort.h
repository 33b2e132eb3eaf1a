/* An in-place heap sort: no allocation (glibc's qsort may call malloc), so
 * report writers can sort on the crash path. */
#ifndef STRAYS_SORT_H
#define STRAYS_SORT_H

#include <stddef.h>

void st_sort(void *base, size_t count, size_t size,
             int (*cmp)(const void *, const void *, void *), void *ctx);

#endif
