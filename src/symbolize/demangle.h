/* Rust symbol names as a person reads them: the v0 scheme ("_R...", RFC
 * 2603) and the legacy one ("_ZN...17h<hash>E"). Written for strays from
 * the published grammar; no allocation and no locks, so the crash path can
 * use it too. The output follows rustfilt's: no legacy hash, no crate
 * disambiguators, no instantiating crate or vendor suffix. C++ names are
 * not handled here (libstdc++'s __cxa_demangle does them where it is
 * loaded). */
#ifndef STRAYS_DEMANGLE_H
#define STRAYS_DEMANGLE_H

#include "base/arena.h"

#include <stddef.h>

/* Demangles name into out (len bytes, NUL-terminated). Returns the length
 * written; -EINVAL when name is not a Rust symbol this can read (a legacy
 * one must end in its hash, so C++ names are left alone); -ENOSPC when out
 * is too small. */
int st_demangle_rust(const char *name, char *out, size_t len);
/* name demangled into arena when it is a Rust symbol; else NULL. */
const char *st_demangled_rust(const char *name, struct st_arena *arena);

#endif
