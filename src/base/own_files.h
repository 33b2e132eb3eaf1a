/* The files strays creates in the program's name (reports, metrics): the
 * directory is checked first (no symlink planted in a shared directory is
 * followed, a directory anyone can write to needs the sticky bit), files
 * are created exclusively, without following symlinks, with an exact mode,
 * and published under their final name only when complete. */
#ifndef STRAYS_OWN_FILES_H
#define STRAYS_OWN_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Opens directory `dir` (O_PATH, close-on-exec, in strays' fd range) for
 * creating files in it. Refuses, with -EPERM and the reason in why:
 *  - a symlink on the way that lies in a sticky directory anyone can write
 *    to (/tmp) and belongs neither to strays' user nor to that directory's
 *    owner (the rule of the kernel's fs.protected_symlinks, applied whatever
 *    that setting says);
 *  - a final directory anyone can write to that has no sticky bit (anyone
 *    could replace the files strays writes there).
 * Other failures return -errno with why set to strerror's text. */
int st_own_dir_open(const char *dir, char *why, size_t why_len);

/* Creates `name` in dirfd for writing: O_EXCL, O_NOFOLLOW, close-on-exec,
 * then given exactly `mode` (the umask does not apply: the mode option says
 * who may read). Returns the fd (in strays' range) or -errno. */
int st_own_file_create(int dirfd, const char *name, unsigned mode);

/* Gives the complete file `tmp` its final name `final` in dirfd. Without
 * `replace`, fails with -EEXIST rather than touch anything at `final` (a
 * hard link, or renameat2(RENAME_NOREPLACE) where links are not possible);
 * with it, replaces what is there (a rename: a symlink there is replaced,
 * never followed). `tmp` is gone afterwards unless -EEXIST is returned. */
int st_own_file_publish(int dirfd, const char *tmp, const char *final, bool replace);

/* Splits path into its directory ("." when it has none) and last
 * component; returns -ENAMETOOLONG when they do not fit. */
int st_own_split_path(const char *path, char *dir, size_t dir_len, const char **base);

#endif
