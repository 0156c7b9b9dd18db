/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-multifd.c: feed arbitrary bytes to the multifd receiver's parsers,
 * as one channel would deliver them: the packet header decoder
 * (migration/multifd.c) and the payload decoders (migration/
 * multifd-compress.c) writing into a 1 MiB RAM block.
 *
 * Input: byte 0 picks the channel's compression (0 none, 1 zlib, 2 zstd);
 * then packets, each a 1344-byte header and the payload its
 * next_packet_size announces (none: the pages themselves).  Like a
 * receiver, the first refused header or payload ends the channel.  Any
 * input must end in success or an Error; a crash, a hang, a write outside
 * the block or a sanitizer report is a bug.  After each accepted packet
 * the target checks what the decoder promised: the block is the one
 * registered and every page lies inside it.
 *
 * Entry points and plain run: fuzz-driver.h (a seed a method, named
 * seed-N; 100000 mutations by default, biased towards the first
 * header).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/iov.h"
#include "sysemu/sysemu.h"
#include "../../migration/multifd.h"
#include "../../migration/multifd-compress.h"
#include "fuzz-driver.h"

#define FUZZ_BLOCK_SIZE (1 * MiB)

static RAMBlock *fuzz_blk;

/* What the rest of Tern provides the codec: the VM UUID and the levels. */
uint8_t qemu_uuid[16];
bool qemu_uuid_set;

char *qemu_uuid_unparse(const uint8_t u[16])
{
    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                           u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

int migrate_multifd_zlib_level(void);
int migrate_multifd_zlib_level(void)
{
    return 1;
}

int migrate_multifd_zstd_level(void);
int migrate_multifd_zstd_level(void)
{
    return 1;
}

static const MultiFDCompression fuzz_methods[] = {
    MULTIFD_COMPRESSION_NONE,
    MULTIFD_COMPRESSION_ZLIB,
    MULTIFD_COMPRESSION_ZSTD,
};

static void fuzz_setup(void)
{
    if (!fuzz_blk) {
        fuzz_blk = ram_block_add("pc.ram", FUZZ_BLOCK_SIZE, NULL, &error_abort);
    }
}

/* The payload of an accepted packet p into the block; false if refused. */
static bool fuzz_place(MultiFDDecompressor *md, const MultiFDPacket *p,
                       RAMBlock *rb, const uint8_t *in, size_t len)
{
    uint8_t *page[MULTIFD_PACKET_PAGES];
    Error *err = NULL;
    bool ok = true;

    if (rb != fuzz_blk) {
        fprintf(stderr, "fuzz-multifd: decoder returned a foreign block\n");
        abort();
    }
    for (uint32_t i = 0; i < p->normal_pages; i++) {
        if (p->offset[i] > rb->used_length - TARGET_PAGE_SIZE ||
            p->offset[i] % TARGET_PAGE_SIZE) {
            fprintf(stderr, "fuzz-multifd: offset %" PRIx64 " accepted\n",
                    p->offset[i]);
            abort();
        }
        page[i] = rb->host + p->offset[i];
    }
    if (!md) {
        for (uint32_t i = 0; i < p->normal_pages; i++) {
            memcpy(page[i], in + (size_t)i * TARGET_PAGE_SIZE,
                   TARGET_PAGE_SIZE);
        }
    } else {
        /* as multifd-recv.c: a raw zstd frame straight into the pages */
        struct iovec iov[MULTIFD_COMPRESS_IOV_MAX];
        size_t niov =
            multifd_decompress_raw_iov(md, len, page, p->normal_pages, iov);

        if (niov) {
            iov_from_buf(iov, niov, 0, in, len);
        }
        if (!niov || !multifd_decompress_raw_check(md, p->normal_pages)) {
            ok = multifd_decompress(md, in, len, page, p->normal_pages, &err);
        }
    }
    error_free(err);
    return ok;
}

/*
 * One channel's bytes (after its initial packet).  0 if every packet was
 * accepted, -1 at the first refusal (or a truncated packet).
 */
static int fuzz_channel(const uint8_t *data, size_t size)
{
    MultiFDCompression c;
    MultiFDDecompressor *md = NULL;
    uint32_t comp_flag;
    size_t pos = 1;
    int ret = -1;

    fuzz_setup();
    if (size < 1) {
        return -1;
    }
    c = fuzz_methods[data[0] % G_N_ELEMENTS(fuzz_methods)];
    comp_flag = multifd_compression_flag(c);
    if (c != MULTIFD_COMPRESSION_NONE) {
        md = multifd_decompressor_new(c, &error_abort);
    }
    while (pos + MULTIFD_PACKET_HEADER_SIZE <= size) {
        MultiFDPacket p;
        RAMBlock *rb;
        Error *err = NULL;
        size_t len;

        if (!multifd_packet_decode(data + pos, comp_flag, &p, &rb, &err)) {
            error_free(err);
            goto out;
        }
        pos += MULTIFD_PACKET_HEADER_SIZE;
        if (!p.normal_pages) {
            continue;
        }
        len =
            md ? p.next_packet_size : (size_t)p.normal_pages * TARGET_PAGE_SIZE;
        if (len > MULTIFD_PAYLOAD_MAX) {
            fprintf(stderr, "fuzz-multifd: payload %zu accepted\n", len);
            abort();
        }
        if (len > size - pos || !fuzz_place(md, &p, rb, data + pos, len)) {
            goto out;
        }
        pos += len;
    }
    ret = pos == size ? 0 : -1;
out:
    multifd_decompressor_free(md);
    return ret;
}

/*
 * A valid channel for method index m: three packets of 1, 7 and 3 pages
 * (text, zero and random-looking content), then a SYNC-only packet.
 */
static GByteArray *fuzz_seed(unsigned m)
{
    static const uint32_t npages[] = {1, 7, 3, 0};
    MultiFDCompression c = fuzz_methods[m];
    MultiFDCompressor *mc = NULL;
    GByteArray *b = g_byte_array_new();
    uint8_t byte = m;
    uint64_t packet_num = 0;

    fuzz_setup();
    for (size_t i = 0; i < FUZZ_BLOCK_SIZE; i++) {
        size_t kind = (i / TARGET_PAGE_SIZE) % 3;

        fuzz_blk->host[i] = kind == 0   ? "multifd seed "[i % 13]
                            : kind == 1 ? 0
                                        : (uint8_t)(i * 2654435761u >> 13);
    }
    if (c != MULTIFD_COMPRESSION_NONE) {
        mc = multifd_compressor_new(c, &error_abort);
    }
    g_byte_array_append(b, &byte, 1);
    for (size_t k = 0; k < G_N_ELEMENTS(npages); k++) {
        uint8_t hdr[MULTIFD_PACKET_HEADER_SIZE];
        uint64_t off[MULTIFD_PACKET_PAGES] = {0};
        struct iovec iov[MULTIFD_PACKET_PAGES];
        const struct iovec *out = iov;
        size_t n = npages[k], outn = n, payload = 0;

        for (size_t i = 0; i < n; i++) {
            off[i] = (uint64_t)((k * 11 + i * 5) % 256) * TARGET_PAGE_SIZE;
            iov[i].iov_base = fuzz_blk->host + off[i];
            iov[i].iov_len = TARGET_PAGE_SIZE;
        }
        if (mc && n) {
            multifd_compress(mc, iov, n, &out, &outn, &error_abort);
        }
        for (size_t i = 0; i < outn && n; i++) {
            payload += out[i].iov_len;
        }
        multifd_packet_encode(
            hdr, multifd_compression_flag(c) | (n ? 0 : MULTIFD_FLAG_SYNC),
            n ? fuzz_blk : NULL, off, n, payload, packet_num++);
        g_byte_array_append(b, hdr, sizeof(hdr));
        for (size_t i = 0; i < outn && n; i++) {
            g_byte_array_append(b, out[i].iov_base, out[i].iov_len);
        }
    }
    multifd_compressor_free(mc);
    return b;
}

static void fuzz_mutate(GRand *r, GByteArray *b)
{
    int n = g_rand_int_range(r, 1, 5);

    while (n-- > 0 && b->len > 0) {
        guint pos = g_rand_int_range(r, 0, b->len);
        /* bias towards the first header, where the checks live */
        if (g_rand_boolean(r) && b->len > 1 + MULTIFD_PACKET_HEADER_SIZE) {
            pos = g_rand_int_range(r, 0, 1 + 64 + MULTIFD_RAMBLOCK_LEN + 64);
        }
        switch (g_rand_int_range(r, 0, 5)) {
        case 0:
            b->data[pos] ^= 1 << g_rand_int_range(r, 0, 8);
            break;
        case 1:
            b->data[pos] = g_rand_int_range(r, 0, 256);
            break;
        case 2:
            b->data[pos] = g_rand_boolean(r) ? 0xff : 0;
            break;
        case 3:
            g_byte_array_set_size(b, pos);
            break;
        default:
            g_byte_array_remove_index(b, pos);
            break;
        }
    }
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-multifd",
    .setup = fuzz_setup,
    .input = fuzz_channel,
    .taken = "accepted",
    .seed = fuzz_seed,
    .n_seeds = G_N_ELEMENTS(fuzz_methods),
    .seed_prefix = "seed",
    .rand_seed = 0x6d756c74,
    .iterations = 100000,
    .mutate = fuzz_mutate,
    .quiet = true,
};
