/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-load-compress.h (private to migration/): the destination's
 * decompress-threads for COMPRESS_PAGE records (see ram-compress.h).
 *
 * The load thread reads each record's length and data and hands them
 * to an idle thread, which inflates the page straight into guest RAM
 * (the placer is direct); pages for a placer that is not direct
 * (postcopy) are inflated on the load thread and placed through it.
 * Before anything else writes a page, the load thread waits for a
 * thread still inflating into it, and at every EOS for all of them, so
 * records take effect in stream order.
 *
 * Threads: every function is called from the load thread only.
 */
#ifndef MIGRATION_RAM_LOAD_COMPRESS_H
#define MIGRATION_RAM_LOAD_COMPRESS_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"
#include "ram-place.h"

typedef struct RAMDecompress RAMDecompress;

/* threads inflating threads; caller owns it (ram_decompress_free()). */
RAMDecompress *ram_decompress_new(int threads);

/* Wait for every page in flight, stop the threads, free dc (NULL ok). */
void ram_decompress_free(RAMDecompress *dc);

/*
 * The rest of a COMPRESS_PAGE record for the page at host (in rb),
 * after its header and block name: the be32 length and the zlib data.
 * Returns 0 (the page may still be inflating), or negative errno with
 * errp set: QEMU 7.2's "Invalid compressed data length: N", "decompress
 * data failed" (this page or an earlier one), or f's error.
 */
int ram_decompress_load(RAMDecompress *dc, QEMUFile *f, RAMPlacer *pl,
                        RAMBlock *rb, uint8_t *host, Error **errp);

/* Wait until no thread inflates into the page at host. */
void ram_decompress_wait_page(RAMDecompress *dc, const uint8_t *host);

/*
 * Wait until every page in flight is in guest RAM; -EIO with errp
 * ("decompress data failed") when any failed since the last call that
 * had an errp (errp NULL: only wait, keep the failure for later).
 */
int ram_decompress_wait(RAMDecompress *dc, Error **errp);

#endif /* MIGRATION_RAM_LOAD_COMPRESS_H */
