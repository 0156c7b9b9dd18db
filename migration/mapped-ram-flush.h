/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-flush.h (private to migration/): start the disk writes of
 * a buffered mapped-ram save while it is still being written.
 *
 * Linux lets 10% of memory fill with dirty pages before it starts
 * writing them back, so a buffered save of a few GiB finishes with all
 * of it still in the page cache and the fsync that makes it durable
 * does all the disk's work afterwards.  A flusher is a thread that,
 * each time enough bytes were written, asks the kernel to start
 * writing back every dirty page of the file (sync_file_range without
 * waiting), so the disk works while guest RAM is still being copied
 * and the final fsync has little left.  Without sync_file_range it
 * does nothing.
 *
 * Threads: any thread may call mapped_ram_flusher_note(); one owner
 * creates and frees.  Locks: the flusher's lock protects its counters.
 */
#ifndef MIGRATION_MAPPED_RAM_FLUSH_H
#define MIGRATION_MAPPED_RAM_FLUSH_H

#include "qemu/osdep.h"

typedef struct MappedRamFlusher MappedRamFlusher;

/* A flusher for the file open as fd (borrowed: open until freed). */
MappedRamFlusher *mapped_ram_flusher_new(int fd);

/* len more bytes were (or are about to be) written to the file. */
void mapped_ram_flusher_note(MappedRamFlusher *fl, uint64_t len);

/* Stop the thread (writes already started go on). NULL is a no-op. */
void mapped_ram_flusher_free(MappedRamFlusher *fl);

#endif /* MIGRATION_MAPPED_RAM_FLUSH_H */
