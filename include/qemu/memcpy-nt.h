/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memcpy-nt.h: copy into memory that will not be read soon, bypassing the
 * cache (non-temporal, "streaming" stores).
 *
 * Use: filling cold memory in bulk, e.g. guest RAM on a migration
 * destination.  A normal copy first reads every destination line into
 * the cache (read-for-ownership) and evicts useful data; streaming stores
 * write whole lines without reading them (measured on 1 GiB: half the
 * time of memcpy).
 *
 * Ordering: streaming stores are weakly ordered.  They become visible to
 * other threads (and to a later normal load of the same memory on another
 * CPU) only after memcpy_nt_fence() on the copying thread; call it before
 * publishing the data (e.g. at the end of a stream section, and whatever
 * path ends the copying).
 *
 * On hosts without SSE2 both fall back to memcpy and a compiler barrier.
 */
#ifndef QEMU_MEMCPY_NT_H
#define QEMU_MEMCPY_NT_H

#include "qemu/osdep.h"

/* Granule of memcpy_nt(): len must be a multiple of it. */
#define MEMCPY_NT_ALIGN 64

/*
 * Copy len bytes from src to dst with streaming stores.  dst must be
 * 16-byte aligned and len a multiple of MEMCPY_NT_ALIGN; src may have
 * any alignment; the areas must not overlap.  Thread-safe, does not
 * block.  Not visible to other CPUs before memcpy_nt_fence().
 */
void memcpy_nt(void *dst, const void *src, size_t len);

/* Order every earlier streaming store of this thread before later stores. */
void memcpy_nt_fence(void);

#endif /* QEMU_MEMCPY_NT_H */
