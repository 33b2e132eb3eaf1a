/* strays at the program's fd limit. strays keeps a few fds of its own (its
 * stderr copy, the watchdog's eventfd), which take numbers the program could
 * have had: when the program runs out (EMFILE) strays says how many are its
 * own. A report needs fds too (the report file, /proc reads): when the
 * process is at its limit, the soft limit is raised a little while the
 * report is written, then put back. */
#ifndef STRAYS_FD_HEADROOM_H
#define STRAYS_FD_HEADROOM_H

/* The program got EMFILE from a call that makes an fd: logs, once, how many
 * fds strays holds. */
void st_fd_note_emfile(void);

/* Around writing a report. begin returns a token for end: the soft limit
 * to put back, or -1 when it was not changed. */
long st_fd_headroom_begin(void);
void st_fd_headroom_end(long token);

#endif
