/* uthash, set up for strays: allocation failure makes the add a no-op that
 * the caller can see (HASH_NONFATAL_OOM) instead of calling exit(). */
#ifndef STRAYS_UTHASH_ST_H
#define STRAYS_UTHASH_ST_H

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#endif
