/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-load.c: the destination loader of the "ram" section (see
 * ram-load.h).
 *
 * Per record: the header word gives flags and page offset; a ZERO or
 * PAGE record names its block unless it carries CONTINUE (then the block
 * is last_recv_block, which persists across sections); the page address
 * is checked against the block's used length; then the placer writes it.
 * PAGE data first moves the prefault window.  EOS syncs the placer, so
 * the section's pages are visible before savevm reads the next section,
 * and with multifd waits for every channel's SYNC packet (the sync hook).
 *
 * XBZRLE records (xbzrle.h) are checked as QEMU 7.2 checks them, with
 * its texts, and one more rule: the page must have arrived before in
 * this migration (a ZERO, PAGE or XBZRLE record: one bit per page in
 * `received`), since a delta applies to the page the source sent.  The
 * delta is decoded into a copy of the current page, which is then
 * placed, so a bad delta writes nothing and nothing outside the page.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/bitmap.h"
#include "sysemu/ramblock.h"
#include "ram-format.h"
#include "ram-load.h"
#include "ram-load-compress.h"
#include "ram-place.h"
#include "ram-prefault.h"
#include "xbzrle.h"

struct RAMLoadState {
    RAMBlock *last_recv_block; /* block of the previous page record */
    RAMPlacer *placer;
    RAMPrefault *prefault;
    RAMBlock *reserved_block; /* file space known to exist: this block's */
    uint64_t reserved_chunk;  /* chunk (RAM_LOAD_RESERVE_CHUNK bytes) */
    RAMLoadSyncFunc sync;     /* at each EOS, or NULL */
    RAMLoadBlockFunc block;   /* after each START entry, or NULL */
    void *block_opaque;
    GHashTable *received;     /* RAMBlock * -> bitmap of pages received */
    RAMBlock *received_block; /* the last lookup in received */
    unsigned long *received_map;
    uint8_t *xbzrle_in;   /* an XBZRLE record's delta, TARGET_PAGE_SIZE */
    uint8_t *xbzrle_page; /* the page it is applied to */
    RAMDecompress *dc;    /* compress: decompress threads, or NULL */
    const RAMLoadCheckpointOps *ckpt; /* HASH/CKPT_CTL records, or NULL */
};

/* File space of a shared file-backed block is reserved in these steps. */
#define RAM_LOAD_RESERVE_CHUNK (2 * MiB)

void ram_load_state_set_sync(RAMLoadState *ls, RAMLoadSyncFunc sync)
{
    ls->sync = sync;
}

void ram_load_state_set_block_hook(RAMLoadState *ls, RAMLoadBlockFunc fn,
                                   void *opaque)
{
    ls->block = fn;
    ls->block_opaque = opaque;
}

void ram_load_state_set_compress(RAMLoadState *ls, int threads)
{
    if (!ls->dc) {
        ls->dc = ram_decompress_new(threads);
    }
}

void ram_load_state_set_checkpoint(RAMLoadState *ls,
                                   const RAMLoadCheckpointOps *ops)
{
    ls->ckpt = ops;
}

RAMLoadState *ram_load_state_new(void)
{
    RAMLoadState *ls = g_new0(RAMLoadState, 1);

    ls->placer = ram_placer_copy_new();
    ls->prefault = ram_prefault_new();
    ls->received = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    return ls;
}

void ram_load_state_free(RAMLoadState *ls)
{
    if (!ls) {
        return;
    }
    ram_decompress_free(ls->dc);       /* pages in flight land first */
    ls->placer->ops->sync(ls->placer); /* stores visible, whatever ended */
    ram_prefault_free(ls->prefault);
    ram_placer_free(ls->placer);
    g_hash_table_destroy(ls->received);
    g_free(ls->xbzrle_in);
    g_free(ls->xbzrle_page);
    g_free(ls);
}

void ram_load_state_stop_prefault(RAMLoadState *ls)
{
    ram_prefault_free(ls->prefault);
    ls->prefault = NULL;
}

void ram_load_state_set_placer(RAMLoadState *ls, RAMPlacer *pl)
{
    if (ls->dc) {
        ram_decompress_wait(ls->dc, NULL); /* no thread writes RAM after */
    }
    ls->placer->ops->sync(ls->placer);
    ram_placer_free(ls->placer);
    ls->placer = pl;
}

/* One entry of the block list: name and length, checked; *out its block. */
static int ram_load_block_entry(QEMUFile *f, uint64_t total, RAMBlock **out,
                                Error **errp)
{
    char id[QEMU_COUNTED_STRING_BUF];
    uint64_t length;
    RAMBlock *rb;

    qemu_get_counted_string(f, id);
    length = qemu_get_be64(f);
    if (qemu_file_get_error(f)) {
        return qemu_file_get_error_obj(f, errp);
    }
    rb = ram_block_by_name(id);
    if (!rb) {
        error_setg(errp,
                   "Unknown ramblock \"%s\", cannot accept "
                   "migration",
                   id);
        return -EINVAL;
    }
    if (length != rb->used_length) {
        error_setg_errno(errp, EINVAL,
                         "Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64, id,
                         length, rb->used_length);
        return -EINVAL;
    }
    if (length > total) {
        error_setg(errp,
                   "RAM block list longer than its total size "
                   "0x%" PRIx64,
                   total);
        return -EINVAL;
    }
    *out = rb;
    return 0;
}

/*
 * The block list of the START section (after the MEM_SIZE word); with
 * mapped-ram each entry is followed by its header and region, which the
 * block hook reads.
 */
static int ram_load_block_list(RAMLoadState *ls, QEMUFile *f, uint64_t total,
                               Error **errp)
{
    while (total > 0) {
        RAMBlock *rb = NULL;
        int ret = ram_load_block_entry(f, total, &rb, errp);

        if (!ret && ls->block) {
            ret = ls->block(ls->block_opaque, f, rb, errp);
        }
        if (ret < 0) {
            return ret;
        }
        total -= rb->used_length;
    }
    return 0;
}

/*
 * The block of a page record: named in the stream, or the previous one
 * with CONTINUE.  NULL when there is none (reported here, or left in f);
 * the caller's "Illegal RAM offset" is the final error, as in 7.2.
 */
static RAMBlock *ram_load_block(RAMLoadState *ls, QEMUFile *f, int flags)
{
    char id[QEMU_COUNTED_STRING_BUF];
    RAMBlock *rb;

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        if (!ls->last_recv_block) {
            error_report("Ack, bad migration stream!");
        }
        return ls->last_recv_block;
    }
    qemu_get_counted_string(f, id);
    if (qemu_file_get_error(f)) {
        return NULL;
    }
    rb = ram_block_by_name(id);
    if (!rb) {
        error_report("Can't find block %s", id);
        return NULL;
    }
    ls->last_recv_block = rb;
    return rb;
}

/*
 * Host address of a ZERO/PAGE record's page (reading its block name),
 * or NULL with errp set.
 */
static uint8_t *ram_load_host(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                              int flags, Error **errp)
{
    RAMBlock *rb = ram_load_block(ls, f, flags);

    if (!rb && qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return NULL;
    }
    if (!rb || addr >= rb->used_length) {
        error_setg(errp, "Illegal RAM offset %" PRIx64, addr);
        return NULL;
    }
    return rb->host + addr;
}

/*
 * Before data lands in a shared file-backed block (memory-backend-file
 * share=on, memfd), make sure the file has room for it: a store into a
 * page the file system cannot back raises SIGBUS and kills the process
 * without a word.  fallocate() of the 2 MiB chunk around addr turns that
 * into an error naming the backend and the cause (ENOSPC); a file system
 * that cannot fallocate that range (hugetlbfs with larger pages) is left
 * to the kernel as before.
 */
static int ram_load_reserve(RAMLoadState *ls, RAMBlock *rb, uint64_t addr,
                            Error **errp)
{
    uint64_t chunk = addr / RAM_LOAD_RESERVE_CHUNK;
    uint64_t start = chunk * RAM_LOAD_RESERVE_CHUNK;
    uint64_t len = MIN(RAM_LOAD_RESERVE_CHUNK, rb->used_length - start);

    if (rb->fd < 0 || !rb->shared ||
        (ls->reserved_block == rb && ls->reserved_chunk == chunk)) {
        return 0;
    }
    if (fallocate(rb->fd, 0, start, len) < 0 && errno != EOPNOTSUPP &&
        errno != EINVAL && errno != ENOSYS) {
        int err = errno;

        error_setg_errno(errp, err,
                         "ram: memory backend '%s' cannot hold guest RAM at "
                         "0x%" PRIx64 " (%" PRIu64 " bytes)",
                         rb->idstr, start, len);
        return -err;
    }
    ls->reserved_block = rb;
    ls->reserved_chunk = chunk;
    return 0;
}

/* rb's received-pages bitmap (made on first use). */
static unsigned long *ram_load_received_map(RAMLoadState *ls, RAMBlock *rb)
{
    if (ls->received_block != rb) {
        unsigned long *map = g_hash_table_lookup(ls->received, rb);

        if (!map) {
            map = bitmap_new(ram_block_pages(rb));
            g_hash_table_insert(ls->received, rb, map);
        }
        ls->received_block = rb;
        ls->received_map = map;
    }
    return ls->received_map;
}

/* The page at addr of rb arrived. */
static void ram_load_mark_received(RAMLoadState *ls, RAMBlock *rb,
                                   uint64_t addr)
{
    set_bit(addr >> TARGET_PAGE_BITS, ram_load_received_map(ls, rb));
}

/*
 * A ZERO or PAGE record's page was placed (ret >= 0, f without error):
 * it arrived.  Only
 * then, so that a page cut short is never taken for received (XBZRLE's
 * check below, precopy recovery's received bitmap).  Returns ret.
 */
static int ram_load_placed(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                           int ret)
{
    if (ret >= 0 && !qemu_file_get_error(f)) {
        ram_load_mark_received(ls, ls->last_recv_block, addr);
    }
    return ret;
}

/* A ZERO (fill byte) or PAGE (4096 bytes) record's data, placed. */
static int ram_load_page(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                         int flags, uint8_t *host, Error **errp)
{
    RAMPlacer *pl = ls->placer;
    RAMBlock *rb = ls->last_recv_block;
    int ret;

    if (flags & RAM_SAVE_FLAG_ZERO) {
        uint8_t fill = qemu_get_byte(f);

        ret = fill ? ram_load_reserve(ls, rb, addr, errp) : 0;
        if (ret >= 0) {
            ret = pl->ops->place_fill(pl, rb, host, fill);
        }
        return ram_load_placed(ls, f, addr, ret);
    }
    ret = ram_load_reserve(ls, rb, addr, errp);
    if (ret < 0) {
        return ret;
    }
    if (ls->prefault) {
        ram_prefault_note(ls->prefault, rb, addr);
    }
    ret = pl->ops->place_page(pl, f, rb, host);
    return ram_load_placed(ls, f, addr, ret);
}

const unsigned long *ram_load_state_received(RAMLoadState *ls, RAMBlock *rb)
{
    return g_hash_table_lookup(ls->received, rb);
}

/*
 * An XBZRLE record after its header word and block name: u8 encoding,
 * be16 length, the delta.  QEMU 7.2's checks and texts: "Failed to
 * decompress XBZRLE page at ADDR", then the reason QEMU prints before
 * it ("Failed to load XBZRLE page - ...").
 */
static int ram_load_xbzrle(RAMLoadState *ls, QEMUFile *f, RAMBlock *rb,
                           uint64_t addr, uint8_t *host, Error **errp)
{
    RAMPlacer *pl = ls->placer;
    uint8_t encoding = qemu_get_byte(f);
    uint16_t len = qemu_get_be16(f);
    const char *why = NULL;

    if (!ls->xbzrle_in) {
        ls->xbzrle_in = g_malloc(TARGET_PAGE_SIZE);
        ls->xbzrle_page = g_malloc(TARGET_PAGE_SIZE);
    }
    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return qemu_file_get_error(f);
    }
    if (encoding != XBZRLE_ENCODING_FLAG) {
        why = "Failed to load XBZRLE page - wrong compression!";
    } else if (len > TARGET_PAGE_SIZE) {
        why = "Failed to load XBZRLE page - len overflow!";
    } else if (!test_bit(addr >> TARGET_PAGE_BITS,
                         ram_load_received_map(ls, rb))) {
        why = "Failed to load XBZRLE page - the page was never sent";
    } else if (qemu_get_buffer(f, ls->xbzrle_in, len) != len) {
        qemu_file_get_error_obj(f, errp);
        return qemu_file_get_error(f) < 0 ? qemu_file_get_error(f) : -EIO;
    } else {
        memcpy(ls->xbzrle_page, host, TARGET_PAGE_SIZE);
        if (xbzrle_decode_buffer(ls->xbzrle_in, len, ls->xbzrle_page,
                                 TARGET_PAGE_SIZE) < 0) {
            why = "Failed to load XBZRLE page - decode error!";
        }
    }
    if (why) {
        error_setg(errp, "Failed to decompress XBZRLE page at %" PRIx64 ": %s",
                   addr, why);
        return -EINVAL;
    }
    return pl->ops->place_buf(pl, rb, host, ls->xbzrle_page);
}

/* A COMPRESS_PAGE record's length and data (ram-load-compress.h). */
static int ram_load_compressed(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                               uint8_t *host, Error **errp)
{
    int ret = ram_load_reserve(ls, ls->last_recv_block, addr, errp);

    if (ret < 0) {
        return ret;
    }
    if (ls->prefault) {
        ram_prefault_note(ls->prefault, ls->last_recv_block, addr);
    }
    return ram_decompress_load(ls->dc, f, ls->placer, ls->last_recv_block, host,
                               errp);
}

static int ram_load_bad_flags(int flags, Error **errp)
{
    error_setg(errp, "Unknown combination of migration flags: 0x%x", flags);
    return -EINVAL;
}

/*
 * A checkpoint-assisted record (Tern only): CKPT_CTL (advise or sync) or
 * a HASH record, whose page comes from the destination's checkpoint.
 */
static int ram_load_checkpoint(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                               int flags, Error **errp)
{
    uint8_t digest[RAM_HASH_BYTES];
    uint8_t *host;
    int ret;

    if (!ls->ckpt) {
        return ram_load_bad_flags(flags, errp);
    }
    if (flags == RAM_SAVE_FLAG_CKPT_CTL) {
        return ls->ckpt->control(addr >> TARGET_PAGE_BITS, errp);
    }
    if ((flags & ~RAM_SAVE_FLAG_CONTINUE) != RAM_SAVE_FLAG_HASH) {
        return ram_load_bad_flags(flags, errp);
    }
    host = ram_load_host(ls, f, addr, flags, errp);
    if (!host) {
        return qemu_file_get_error(f) < 0 ? qemu_file_get_error(f) : -EINVAL;
    }
    qemu_get_buffer(f, digest, RAM_HASH_BYTES);
    ret = qemu_file_get_error(f);
    if (ret < 0) {
        qemu_file_get_error_obj(f, errp);
        return ret;
    }
    ret = ram_load_reserve(ls, ls->last_recv_block, addr, errp);
    if (ret < 0) {
        return ret;
    }
    if (ls->prefault) {
        /* the page is placed soon, by a verification worker */
        ram_prefault_note(ls->prefault, ls->last_recv_block, addr);
    }
    return ls->ckpt->load_page(ls->placer, ls->last_recv_block, host, addr,
                               digest, errp);
}

/* EOS: every page of the payload placed; 1, or -errno. */
static int ram_load_eos(RAMLoadState *ls, Error **errp)
{
    if (ls->dc && ram_decompress_wait(ls->dc, errp) < 0) {
        return -EIO;
    }
    if (ls->ckpt && ls->ckpt->wait(errp) < 0) {
        return -EIO;
    }
    /* Order the section's stores before anyone looks at RAM. */
    ls->placer->ops->sync(ls->placer);
    if (ls->sync && ls->sync(errp) < 0) {
        return -EIO;
    }
    return 1;
}

/* One record after its header word; 1 after EOS, 0 to go on, or -errno. */
static int ram_load_record(RAMLoadState *ls, QEMUFile *f, uint64_t addr,
                           int flags, Error **errp)
{
    RAMPlacer *pl = ls->placer;
    uint8_t *host = NULL;

    if (flags & (RAM_SAVE_FLAG_HASH | RAM_SAVE_FLAG_CKPT_CTL)) {
        return ram_load_checkpoint(ls, f, addr, flags, errp);
    }
    if ((flags & RAM_SAVE_FLAG_COMPRESS_PAGE) && !ls->dc) {
        error_setg(errp, "Received an unexpected compressed page");
        return -EINVAL;
    }
    if (flags & ~(RAM_SAVE_FLAGS_KNOWN | RAM_SAVE_FLAG_COMPRESS_PAGE)) {
        return ram_load_bad_flags(flags, errp);
    }
    if (flags & (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE |
                 RAM_SAVE_FLAG_XBZRLE | RAM_SAVE_FLAG_COMPRESS_PAGE)) {
        host = ram_load_host(ls, f, addr, flags, errp);
        if (!host) {
            return qemu_file_get_error(f) < 0 ? qemu_file_get_error(f)
                                              : -EINVAL;
        }
        if (flags & RAM_SAVE_FLAG_COMPRESS_PAGE) {
            /* ZERO and PAGE: marked once placed (a cut record is not) */
            ram_load_mark_received(ls, ls->last_recv_block, addr);
        }
        if (ls->dc) {
            /* a page still inflating from an earlier record */
            ram_decompress_wait_page(ls->dc, host);
        }
    }
    switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
    case RAM_SAVE_FLAG_MEM_SIZE:
        return ram_load_block_list(ls, f, addr, errp);
    case RAM_SAVE_FLAG_ZERO:
    case RAM_SAVE_FLAG_PAGE:
        return ram_load_page(ls, f, addr, flags, host, errp);
    case RAM_SAVE_FLAG_XBZRLE:
        if (!pl->direct) {
            /* 7.2's postcopy loader knows no XBZRLE record */
            error_setg(errp,
                       "Unknown combination of migration flags: 0x%x "
                       "(postcopy mode)",
                       flags);
            return -EINVAL;
        }
        return ram_load_xbzrle(ls, f, ls->last_recv_block, addr, host, errp);
    case RAM_SAVE_FLAG_COMPRESS_PAGE:
        return ram_load_compressed(ls, f, addr, host, errp);
    case RAM_SAVE_FLAG_EOS:
        return ram_load_eos(ls, errp);
    default:
        return ram_load_bad_flags(flags, errp);
    }
}

int ram_load_section(RAMLoadState *ls, QEMUFile *f, int version_id,
                     Error **errp)
{
    if (version_id != RAM_SECTION_VERSION) {
        error_setg(errp, "ram: unsupported version %u", (unsigned)version_id);
        return -EINVAL;
    }
    for (;;) {
        uint64_t word = qemu_get_be64(f);
        int ret = qemu_file_get_error(f);

        if (ret < 0) {
            qemu_file_get_error_obj(f, errp);
            return ret;
        }
        ret = ram_load_record(ls, f, word & TARGET_PAGE_MASK,
                              word & ~TARGET_PAGE_MASK, errp);
        if (ret != 0) {
            return ret < 0 ? ret : 0;
        }
    }
}
