/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * atomic.h: QEMU-style names for the GCC __atomic builtins.
 *
 * qatomic_read/qatomic_set are relaxed (no ordering, just no tearing or
 * compiler caching); the read-modify-write operations are sequentially
 * consistent; the acquire/release variants and the smp_*() fences order
 * the rest.
 * Use these on data another thread touches without a lock, and say in a
 * comment which barrier pairs with which.
 */
#ifndef QEMU_ATOMIC_H
#define QEMU_ATOMIC_H

#include "qemu/osdep.h"

#define qatomic_read(ptr) __atomic_load_n(ptr, __ATOMIC_RELAXED)
#define qatomic_set(ptr, i) __atomic_store_n(ptr, i, __ATOMIC_RELAXED)
#define qatomic_load_acquire(ptr) __atomic_load_n(ptr, __ATOMIC_ACQUIRE)
#define qatomic_store_release(ptr, i) __atomic_store_n(ptr, i, __ATOMIC_RELEASE)
#define qatomic_mb_read(ptr) __atomic_load_n(ptr, __ATOMIC_SEQ_CST)
#define qatomic_mb_set(ptr, i) __atomic_store_n(ptr, i, __ATOMIC_SEQ_CST)

/* Return the old value. */
#define qatomic_fetch_add(ptr, n) __atomic_fetch_add(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_sub(ptr, n) __atomic_fetch_sub(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_inc(ptr) qatomic_fetch_add(ptr, 1)
#define qatomic_fetch_dec(ptr) qatomic_fetch_sub(ptr, 1)
#define qatomic_fetch_and(ptr, n) __atomic_fetch_and(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_or(ptr, n) __atomic_fetch_or(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_xchg(ptr, i) __atomic_exchange_n(ptr, i, __ATOMIC_SEQ_CST)

/* Return the new value. */
#define qatomic_add_fetch(ptr, n) __atomic_add_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_sub_fetch(ptr, n) __atomic_sub_fetch(ptr, n, __ATOMIC_SEQ_CST)

/* No return value. */
#define qatomic_inc(ptr) ((void)qatomic_fetch_add(ptr, 1))
#define qatomic_dec(ptr) ((void)qatomic_fetch_sub(ptr, 1))
#define qatomic_add(ptr, n) ((void)qatomic_fetch_add(ptr, n))
#define qatomic_sub(ptr, n) ((void)qatomic_fetch_sub(ptr, n))
#define qatomic_and(ptr, n) ((void)qatomic_fetch_and(ptr, n))
#define qatomic_or(ptr, n) ((void)qatomic_fetch_or(ptr, n))

/*
 * Compare and swap: if *ptr == old, store new.  Returns the value *ptr
 * had (== old on success).
 */
#define qatomic_cmpxchg(ptr, old, new)                                         \
    ({                                                                         \
        __typeof__(*(ptr)) qatomic_expected_ = (old);                          \
        (void)__atomic_compare_exchange_n(ptr, &qatomic_expected_, new, false, \
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        qatomic_expected_;                                                     \
    })

#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_mb_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_mb_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb() smp_mb_acquire()
#define smp_wmb() smp_mb_release()

#endif /* QEMU_ATOMIC_H */
