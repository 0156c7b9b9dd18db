/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-io.h (private to migration/): positional transfers between
 * guest RAM and a mapped-ram file, on the caller's thread or spread over
 * worker threads that each have their own descriptor of the same file
 * (the "multifd channels" of a mapped-ram migration).
 *
 * A transfer is (buffer, length, file offset).  With workers, writes
 * are routed by the MAPPED_RAM_IO_STRIPE of their offset, so two writes
 * of the same page (two passes of a live save) always go to the same
 * worker and land in the order they were queued; callers must not queue
 * a write that crosses a stripe boundary.  Each worker's descriptor is a
 * new open of the base file (/proc/self/fd), optionally with O_DIRECT:
 * buffers, lengths and offsets must then be aligned to the file
 * system's block (guest pages and page offsets are).  An O_DIRECT write
 * is one disk request that its thread waits for, so a direct write pool
 * runs MAPPED_RAM_IO_DIRECT_DEPTH workers per requested thread to keep
 * that many requests in flight.
 *
 * Threads: one owner thread queues, drains and frees; workers only run
 * transfers.  Locks: each worker's lock protects its queue; the pool's
 * lock protects the in-flight count and the first error.
 */
#ifndef MIGRATION_MAPPED_RAM_IO_H
#define MIGRATION_MAPPED_RAM_IO_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct MappedRamIO MappedRamIO;

/*
 * Writes are routed by (offset / stripe) and may not cross a stripe;
 * 8 MiB: a few disk requests each (max_sectors_kb is often 4 MiB), few
 * enough syscalls, and small against a guest's RAM so the writers share
 * a block evenly.  A multiple of MAPPED_RAM_FILE_ALIGNMENT.
 */
#define MAPPED_RAM_IO_STRIPE (8ULL << 20)

/* Workers per requested thread of an O_DIRECT write pool. */
#define MAPPED_RAM_IO_DIRECT_DEPTH 2

/*
 * A pool transferring to (write) or from the file open as base_fd
 * (borrowed, must stay open until mapped_ram_io_free()).  nthreads 0:
 * every transfer runs on the caller's thread on base_fd; else nthreads
 * workers (times MAPPED_RAM_IO_DIRECT_DEPTH for a direct write pool),
 * each with a new descriptor (O_DIRECT when direct).  NULL with
 * errp set when a descriptor cannot be opened (a file system without
 * O_DIRECT support says so).
 */
MappedRamIO *mapped_ram_io_new(int base_fd, bool write, int nthreads,
                               bool direct, Error **errp);

/*
 * Transfer len bytes between buf and file offset off (inside one
 * MAPPED_RAM_IO_STRIPE).  buf must stay valid until the next
 * drain.  Blocks while the worker's queue is full (or, without workers,
 * for the transfer itself).  0, or -1 once any transfer has failed
 * (later ones are dropped; the error comes from mapped_ram_io_drain()).
 */
int mapped_ram_io_queue(MappedRamIO *io, void *buf, size_t len, uint64_t off);

/*
 * A read queued on worker number worker (modulo the workers; on the
 * caller's thread without workers), whatever its offset: reads need no
 * order among themselves, and a reader that is handed one contiguous
 * stretch of the file reads it sequentially, which the kernel's
 * readahead follows (interleaved chunks it follows poorly).  Otherwise
 * as mapped_ram_io_queue(), except that a read may cross stripe
 * boundaries.  Read pools only.
 */
int mapped_ram_io_queue_read_on(MappedRamIO *io, unsigned worker, void *buf,
                                size_t len, uint64_t off);

/* The pool's worker threads (0: transfers run on the caller's thread). */
unsigned mapped_ram_io_workers(MappedRamIO *io);

/*
 * Wait for every queued transfer.  0, or -1 with errp set to the first
 * failure (e.g. ENOSPC, or a short read past the end of the file).
 */
int mapped_ram_io_drain(MappedRamIO *io, Error **errp);

/* Bytes transferred so far. */
uint64_t mapped_ram_io_bytes(MappedRamIO *io);

/* Drain (errors dropped), stop the workers, close their descriptors. */
void mapped_ram_io_free(MappedRamIO *io);

#endif /* MIGRATION_MAPPED_RAM_IO_H */
