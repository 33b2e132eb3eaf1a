/* Ranges of the program's fds around strays' own; see fd_ranges.h. */
#include "base/fd_ranges.h"

#include "base/log.h"

int st_fd_ranges_without(unsigned first, unsigned last, const int *holes, int nholes,
                         struct st_fd_range *out, int max)
{
    int n = 0;
    unsigned from = first;
    for (int i = 0; i < nholes; i++) {
        unsigned hole = (unsigned)holes[i];
        if (hole > from && n < max)
            out[n++] = (struct st_fd_range){from, hole - 1};
        if (hole == last)
            return n; /* nothing above it; also keeps hole + 1 from wrapping */
        from = hole + 1;
    }
    if (from <= last && n < max)
        out[n++] = (struct st_fd_range){from, last};
    return n;
}

int st_fd_program_ranges(unsigned first, unsigned last, struct st_fd_range *out, int max)
{
    int own[ST_FD_RANGES_MAX - 1];
    int n = st_fd_private_in_range(first, last, own, ST_FD_RANGES_MAX - 1);
    return st_fd_ranges_without(first, last, own, n, out, max);
}
