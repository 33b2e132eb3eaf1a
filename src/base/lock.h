/* A small futex mutex for strays' own tables. It never calls
 * pthread_mutex_lock, which strays interposes, so taking it can neither
 * recurse into a hook nor be mistaken for the program's own waiting. */
#ifndef STRAYS_LOCK_H
#define STRAYS_LOCK_H

#include "base/st.h"

#include <stdbool.h>

/* 0 unlocked, 1 locked, 2 locked with waiters (Drepper, "Futexes Are Tricky"). */
typedef struct {
    int state;
} st_lock_t;

#define ST_LOCK_INIT {0}

void st_lock_slow(st_lock_t *lock);
void st_unlock_wake(st_lock_t *lock);

static inline void st_lock(st_lock_t *lock)
{
    int expected = 0;
    if (!__atomic_compare_exchange_n(&lock->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        st_lock_slow(lock);
}

/* For the crash path: never waits. */
static inline bool st_trylock(st_lock_t *lock)
{
    int expected = 0;
    return __atomic_compare_exchange_n(&lock->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void st_unlock(st_lock_t *lock)
{
    if (__atomic_exchange_n(&lock->state, 0, __ATOMIC_RELEASE) == 2)
        st_unlock_wake(lock);
}

/* For the crash path: takes lock if it comes free within ns, and says
 * whether it did. Its holder may never let go (it may wait for a lock the
 * crashing thread holds, such as malloc's). */
bool st_lock_within(st_lock_t *lock, unsigned long long ns);

/* After fork only the forking thread exists: whoever held the lock is gone.
 * A free lock is not written: a forked child copies each page it writes. */
static inline void st_lock_reset(st_lock_t *lock) { ST_STORE_IF_CHANGED(lock->state, 0); }

#endif
