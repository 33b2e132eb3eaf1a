/* Closing a range of fds around strays' own: close_range and closefrom
 * must close everything the program asked for but the few fds strays keeps
 * for itself (its copy of stderr, the watchdog's eventfd), which the
 * program does not know exist. The range is cut into the pieces between
 * them; the hooks close each piece with the real call. */
#ifndef STRAYS_FD_RANGES_H
#define STRAYS_FD_RANGES_H

struct st_fd_range {
    unsigned first, last; /* inclusive */
};

/* Most pieces a range can be cut into: one more than strays' own fds. */
#define ST_FD_RANGES_MAX 8

/* [first, last] without the fds in holes (increasing, each in [first,
 * last]) as up to max pieces into out, in increasing order; returns how
 * many (0 when the holes cover it all). */
int st_fd_ranges_without(unsigned first, unsigned last, const int *holes, int nholes,
                         struct st_fd_range *out, int max);
/* [first, last] without strays' own fds (log.h); first <= last. */
int st_fd_program_ranges(unsigned first, unsigned last, struct st_fd_range *out, int max);

#endif
