/* Heap sort; see sort.h. Elements are swapped byte-wise through a small
 * buffer, so any element size works. */
#include "base/sort.h"

#include <string.h>

static void swap(char *a, char *b, size_t size)
{
    char tmp[64];
    while (size > 0) {
        size_t n = size < sizeof tmp ? size : sizeof tmp;
        memcpy(tmp, a, n);
        memcpy(a, b, n);
        memcpy(b, tmp, n);
        a += n;
        b += n;
        size -= n;
    }
}

static void sift_down(char *base, size_t root, size_t count, size_t size,
                      int (*cmp)(const void *, const void *, void *), void *ctx)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && cmp(base + child * size, base + (child + 1) * size, ctx) < 0)
            child++;
        if (cmp(base + root * size, base + child * size, ctx) >= 0)
            return;
        swap(base + root * size, base + child * size, size);
        root = child;
    }
}

void st_sort(void *base, size_t count, size_t size,
             int (*cmp)(const void *, const void *, void *), void *ctx)
{
    char *b = base;
    if (count < 2)
        return;
    for (size_t i = count / 2; i-- > 0;)
        sift_down(b, i, count, size, cmp, ctx);
    for (size_t end = count - 1; end > 0; end--) {
        swap(b, b + end * size, size);
        sift_down(b, 0, end, size, cmp, ctx);
    }
}
