/* strays' own channel for messages (bad options, internal trouble). It writes
 * to a private duplicate of stderr taken at start-up, so messages and reports
 * still arrive when the program closes or redirects its stderr. */
#ifndef STRAYS_LOG_H
#define STRAYS_LOG_H

#include <stdbool.h>

/* Takes the private copy of stderr; called once at initialisation. */
void st_log_init(void);
/* The private stderr copy, or -1 if the program started without stderr. */
int st_log_fd(void);
/* The lowest fd number strays uses for its own files. */
int st_private_fd_floor(void);
/* Moves fd to strays' high fd range with close-on-exec; returns the new fd
 * (the old one is closed) or the old one when the move is not possible. */
int st_fd_hide(int fd);
/* The lowest fd strays has held as its own (never raised again): strays
 * keeps its fds far above the program's, so for almost every fd a program
 * closes, one compare proves it is the program's. Lowered before the fd is
 * published. */
extern __attribute__((visibility("hidden"))) int st_private_fd_min;
bool st_fd_is_private_slow(int fd);

/* Whether fd is one of strays' own (the private stderr copy). The program
 * does not know these exist: closing one must look as it would without
 * strays (EBADF), and replacing one (dup2 onto it) moves strays' copy away. */
static inline bool st_fd_is_private(int fd)
{
    return fd >= __atomic_load_n(&st_private_fd_min, __ATOMIC_ACQUIRE) && st_fd_is_private_slow(fd);
}
/* Moves strays' own fd away from fd (the program is about to take it);
 * returns where it went (fd itself if it was not strays'). */
int st_fd_private_evacuate(int fd);
/* Registers another of strays' own fds (the watchdog's eventfd); returns
 * its slot, or -1. The fd may move (see evacuate): read it back with
 * st_fd_private(slot) each time. */
int st_fd_add_private(int fd);
int st_fd_private(int slot);
/* strays' own fds in [first, last], in increasing order; returns how many. */
int st_fd_private_in_range(unsigned first, unsigned last, int *out, int max);

/* One line "strays: ..." on the private channel. */
void st_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
