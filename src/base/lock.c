/* Slow paths of the futex mutex in lock.h. */
#include "base/lock.h"

#include "base/sys.h"

void st_lock_slow(st_lock_t *lock)
{
    /* Mark the lock contended, then sleep until an unlock hands it over. */
    while (__atomic_exchange_n(&lock->state, 2, __ATOMIC_ACQUIRE) != 0)
        st_sys_futex_wait(&lock->state, 2);
}

bool st_lock_within(st_lock_t *lock, unsigned long long ns)
{
    const unsigned long long pause_ns = 50000;
    for (unsigned long long waited = 0;; waited += pause_ns) {
        if (st_trylock(lock))
            return true;
        if (waited >= ns)
            return false;
        st_sys_sleep_ns(pause_ns);
    }
}

void st_unlock_wake(st_lock_t *lock)
{
    st_sys_futex_wake(&lock->state, 1);
}
