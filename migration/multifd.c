/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd.c: the multifd packet codec (see multifd.h), shared by the
 * sender and receiver threads and the packet fuzz test.  Every field is
 * big-endian on the wire.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "sysemu/sysemu.h"
#include "multifd.h"

/* Offsets of the fields (see qemu-wire-format.md, multifd). */
#define MFD_OFF_MAGIC 0
#define MFD_OFF_VERSION 4
#define MFD_OFF_UUID 8
#define MFD_OFF_ID 24
#define MFD_OFF_FLAGS 8
#define MFD_OFF_PAGES_ALLOC 12
#define MFD_OFF_NORMAL_PAGES 16
#define MFD_OFF_NEXT_SIZE 20
#define MFD_OFF_PACKET_NUM 24
#define MFD_OFF_RAMBLOCK 64
#define MFD_OFF_OFFSET (MFD_OFF_RAMBLOCK + MULTIFD_RAMBLOCK_LEN)

uint32_t multifd_compression_flag(MultiFDCompression c)
{
    switch (c) {
    case MULTIFD_COMPRESSION_ZLIB:
        return MULTIFD_FLAG_ZLIB;
    case MULTIFD_COMPRESSION_ZSTD:
        return MULTIFD_FLAG_ZSTD;
    default:
        return MULTIFD_FLAG_NOCOMP;
    }
}

void multifd_init_packet_encode(uint8_t buf[MULTIFD_INIT_PACKET_SIZE],
                                uint8_t id)
{
    memset(buf, 0, MULTIFD_INIT_PACKET_SIZE);
    stl_be_p(buf + MFD_OFF_MAGIC, MULTIFD_MAGIC);
    stl_be_p(buf + MFD_OFF_VERSION, MULTIFD_VERSION);
    memcpy(buf + MFD_OFF_UUID, qemu_uuid, sizeof(qemu_uuid));
    buf[MFD_OFF_ID] = id;
}

bool multifd_init_packet_decode(const uint8_t buf[MULTIFD_INIT_PACKET_SIZE],
                                int channels, uint8_t *id, Error **errp)
{
    uint32_t magic = ldl_be_p(buf + MFD_OFF_MAGIC);
    uint32_t version = ldl_be_p(buf + MFD_OFF_VERSION);

    if (magic != MULTIFD_MAGIC) {
        error_setg(errp, "multifd: received packet magic %x expected %x", magic,
                   MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp, "multifd: received packet version %u expected %u",
                   version, MULTIFD_VERSION);
        return false;
    }
    if (memcmp(buf + MFD_OFF_UUID, qemu_uuid, sizeof(qemu_uuid))) {
        char *got = qemu_uuid_unparse(buf + MFD_OFF_UUID);
        char *want = qemu_uuid_unparse(qemu_uuid);

        error_setg(errp,
                   "multifd: received uuid '%s' and expected uuid '%s' "
                   "for channel %u",
                   got, want, buf[MFD_OFF_ID]);
        g_free(got);
        g_free(want);
        return false;
    }
    *id = buf[MFD_OFF_ID];
    if (*id >= channels) {
        error_setg(errp,
                   "multifd: received channel id %u but only %d channels "
                   "are expected",
                   *id, channels);
        return false;
    }
    return true;
}

void multifd_packet_encode(uint8_t buf[MULTIFD_PACKET_HEADER_SIZE],
                           uint32_t flags, RAMBlock *rb, const uint64_t *offset,
                           uint32_t n, uint32_t payload, uint64_t packet_num)
{
    memset(buf, 0, MFD_OFF_OFFSET);
    stl_be_p(buf + MFD_OFF_MAGIC, MULTIFD_MAGIC);
    stl_be_p(buf + MFD_OFF_VERSION, MULTIFD_VERSION);
    stl_be_p(buf + MFD_OFF_FLAGS, flags);
    stl_be_p(buf + MFD_OFF_PAGES_ALLOC, MULTIFD_PACKET_PAGES);
    stl_be_p(buf + MFD_OFF_NORMAL_PAGES, n);
    stl_be_p(buf + MFD_OFF_NEXT_SIZE, payload);
    stq_be_p(buf + MFD_OFF_PACKET_NUM, packet_num);
    if (rb) {
        g_strlcpy((char *)buf + MFD_OFF_RAMBLOCK, rb->idstr,
                  MULTIFD_RAMBLOCK_LEN);
    }
    for (uint32_t i = 0; i < MULTIFD_PACKET_PAGES; i++) {
        stq_be_p(buf + MFD_OFF_OFFSET + 8 * i, i < n ? offset[i] : 0);
    }
}

/* The fields every packet must get right, SYNC-only ones included. */
static bool multifd_packet_decode_common(const uint8_t *buf, MultiFDPacket *p,
                                         Error **errp)
{
    uint32_t magic = ldl_be_p(buf + MFD_OFF_MAGIC);
    uint32_t version = ldl_be_p(buf + MFD_OFF_VERSION);

    if (magic != MULTIFD_MAGIC) {
        error_setg(errp,
                   "multifd: received packet magic %x and expected "
                   "magic %x",
                   magic, MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp,
                   "multifd: received packet version %u and expected "
                   "version %u",
                   version, MULTIFD_VERSION);
        return false;
    }
    p->flags = ldl_be_p(buf + MFD_OFF_FLAGS);
    p->pages_alloc = ldl_be_p(buf + MFD_OFF_PAGES_ALLOC);
    p->normal_pages = ldl_be_p(buf + MFD_OFF_NORMAL_PAGES);
    p->next_packet_size = ldl_be_p(buf + MFD_OFF_NEXT_SIZE);
    p->packet_num = ldq_be_p(buf + MFD_OFF_PACKET_NUM);
    if (p->pages_alloc > MULTIFD_PACKET_PAGES) {
        error_setg(errp,
                   "multifd: received packet with %u pages and "
                   "expected maximum pages are %u",
                   p->pages_alloc, MULTIFD_PACKET_PAGES);
        return false;
    }
    if (p->normal_pages > p->pages_alloc) {
        error_setg(errp,
                   "multifd: received packet with %u normal pages and "
                   "expected maximum pages are %u",
                   p->normal_pages, p->pages_alloc);
        return false;
    }
    return true;
}

/* The fields that matter only when the packet carries pages. */
static bool multifd_packet_decode_pages(const uint8_t *buf, uint32_t comp_flag,
                                        MultiFDPacket *p, RAMBlock **rb,
                                        Error **errp)
{
    uint32_t flags = p->flags & MULTIFD_FLAG_COMPRESSION_MASK;
    uint32_t raw = p->normal_pages * TARGET_PAGE_SIZE;

    if (flags != comp_flag) {
        error_setg(errp, "multifd: flags received %x flags expected %x", flags,
                   comp_flag);
        return false;
    }
    if (comp_flag == MULTIFD_FLAG_NOCOMP
            ? p->next_packet_size != raw
            : p->next_packet_size > MULTIFD_PAYLOAD_MAX) {
        error_setg(errp,
                   "multifd: received packet payload of %u bytes for "
                   "%u pages",
                   p->next_packet_size, p->normal_pages);
        return false;
    }
    memcpy(p->ramblock, buf + MFD_OFF_RAMBLOCK, MULTIFD_RAMBLOCK_LEN);
    p->ramblock[MULTIFD_RAMBLOCK_LEN - 1] = 0;
    *rb = ram_block_by_name(p->ramblock);
    if (!*rb) {
        error_setg(errp, "multifd: unknown ram block %s", p->ramblock);
        return false;
    }
    for (uint32_t i = 0; i < p->normal_pages; i++) {
        uint64_t off = ldq_be_p(buf + MFD_OFF_OFFSET + 8 * i);

        if ((*rb)->used_length < TARGET_PAGE_SIZE ||
            off > (*rb)->used_length - TARGET_PAGE_SIZE ||
            (off & ~TARGET_PAGE_MASK)) {
            error_setg(errp,
                       "multifd: offset too long %" PRIu64 " (max %" PRIu64 ")",
                       off, (*rb)->used_length);
            return false;
        }
        p->offset[i] = off;
    }
    return true;
}

bool multifd_packet_decode(const uint8_t buf[MULTIFD_PACKET_HEADER_SIZE],
                           uint32_t comp_flag, MultiFDPacket *p, RAMBlock **rb,
                           Error **errp)
{
    *rb = NULL;
    if (!multifd_packet_decode_common(buf, p, errp)) {
        return false;
    }
    if (p->normal_pages == 0) {
        return true; /* 7.2 leaves stale block/offsets/size here */
    }
    return multifd_packet_decode_pages(buf, comp_flag, p, rb, errp);
}
