/* Scopes of the in-process API: a name (a test's) that everything created
 * on a thread while it is open carries, and threads started from it too.
 * Names are interned and never freed, so records can point at them. */
#ifndef STRAYS_SCOPE_H
#define STRAYS_SCOPE_H

#include "base/st.h"

extern ST_TLS const char *st_scope_open;

/* The calling thread's open scope, or NULL. Inline: every record reads it. */
static inline const char *st_scope_current(void) { return st_scope_open; }
/* Opens name on the calling thread (NULL closes). Returns 0 or -ENOMEM. */
int st_scope_set(const char *name);
/* A thread started inside a scope inherits it (interned already). */
void st_scope_inherit(const char *interned);
/* The interned copy of name (NULL if out of memory). */
const char *st_scope_intern(const char *name);

#endif
