/* Scopes; see scope.h. Interned names live in a uthash table under a lock:
 * a test suite may open a scope per test, thousands in a run, and interning
 * happens only when one opens (off the hot path). Each thread keeps the
 * pointer of its own in a thread-local, read without a lock. */
#include "track/scope.h"

#include "base/lock.h"
#include "base/st.h"
#include "base/uthash_st.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct name {
    UT_hash_handle hh;
    char text[];
};

static struct name *names;
static st_lock_t lock = ST_LOCK_INIT;
ST_TLS const char *st_scope_open;

const char *st_scope_intern(const char *name)
{
    st_lock(&lock);
    struct name *n;
    HASH_FIND_STR(names, name, n);
    if (!n) {
        size_t len = strlen(name);
        n = malloc(sizeof *n + len + 1);
        if (n) {
            memcpy(n->text, name, len + 1);
            HASH_ADD(hh, names, text, len, n);
            if (n->hh.tbl == NULL) {
                /* The table could not grow (uthash_st.h: no exit on OOM). */
                free(n);
                n = NULL;
            }
        }
    }
    st_unlock(&lock);
    return n ? n->text : NULL;
}

int st_scope_set(const char *name)
{
    if (!name) {
        st_scope_open = NULL;
        return 0;
    }
    const char *interned = st_scope_intern(name);
    if (!interned)
        return -ENOMEM;
    st_scope_open = interned;
    return 0;
}

void st_scope_inherit(const char *interned) { st_scope_open = interned; }
