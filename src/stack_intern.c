/* The table of interned stacks: a uthash keyed by the frame array itself,
 * so a stack seen before costs one hash and one compare. */
#include "lock.h"
#include "stack.h"
#include "st.h"

#include <stdlib.h>
#include <string.h>

static struct st_stack *table;
static unsigned count;
static st_lock_t table_lock = ST_LOCK_INIT;

const struct st_stack *st_stack_intern(const uintptr_t *frames, int depth)
{
    if (depth < 0)
        depth = 0;
    size_t keylen = (size_t)depth * sizeof(uintptr_t);
    struct st_stack *found;
    st_lock(&table_lock);
    HASH_FIND(hh, table, frames, keylen, found);
    if (!found) {
        found = malloc(sizeof *found + keylen);
        if (found) {
            found->depth = (uint32_t)depth;
            if (keylen)
                memcpy(found->frames, frames, keylen);
            HASH_ADD_KEYPTR(hh, table, found->frames, keylen, found);
            IF_HASH_NONFATAL_OOM(if (!found->hh.tbl) {
                free(found);
                found = NULL;
            })
            if (found)
                count++;
        }
    }
    st_unlock(&table_lock);
    return found;
}

unsigned st_stack_interned_count(void)
{
    return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

void st_stack_before_fork(void) { st_lock(&table_lock); }

void st_stack_after_fork_parent(void) { st_unlock(&table_lock); }

void st_stack_after_fork_child(void) { st_lock_reset(&table_lock); }
