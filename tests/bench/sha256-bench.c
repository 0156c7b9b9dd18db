/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sha256-bench.c: SHA-256 of 4 KiB pages, nettle against GnuTLS, in MB/s
 * of one thread (checkpoint-assisted migration hashes every non-zero
 * page on both sides).  Prints JSON: {"nettle_mbs": ..., "gnutls_mbs":
 * ..., "gnutls_handle_mbs": ..., "sha_ni": true|false}.  The best of
 * --rounds N (default 5) rounds over 64 MiB of random pages, so that a
 * loaded machine's other work shows less.
 *
 *   build/tests/bench/sha256-bench [--rounds N]
 */
#include "qemu/osdep.h"
#include <cpuid.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/sha2.h>

#define BENCH_PAGE 4096
#define BENCH_PAGES 16384 /* 64 MiB */

typedef void (*HashPageFn)(const uint8_t *page, uint8_t *digest, void *ctx);

static void hash_nettle(const uint8_t *page, uint8_t *digest, void *ctx)
{
    struct sha256_ctx c;

    sha256_init(&c);
    sha256_update(&c, BENCH_PAGE, page);
    sha256_digest(&c, SHA256_DIGEST_SIZE, digest);
}

static void hash_gnutls_fast(const uint8_t *page, uint8_t *digest, void *ctx)
{
    gnutls_hash_fast(GNUTLS_DIG_SHA256, page, BENCH_PAGE, digest);
}

static void hash_gnutls_handle(const uint8_t *page, uint8_t *digest, void *ctx)
{
    gnutls_hash(*(gnutls_hash_hd_t *)ctx, page, BENCH_PAGE);
    gnutls_hash_output(*(gnutls_hash_hd_t *)ctx, digest);
}

/* MB/s of the best of rounds passes over the pages. */
static double bench_one(HashPageFn fn, void *ctx, const uint8_t *buf,
                        int rounds)
{
    uint8_t digest[32];
    double best = 0;

    for (int r = 0; r < rounds; r++) {
        gint64 t0 = g_get_monotonic_time();
        double s;

        for (int i = 0; i < BENCH_PAGES; i++) {
            fn(buf + (size_t)i * BENCH_PAGE, digest, ctx);
        }
        s = (g_get_monotonic_time() - t0) / 1e6;
        best = MAX(best, (double)BENCH_PAGES * BENCH_PAGE / s / 1e6);
    }
    return best;
}

/* CPUID leaf 7, EBX bit 29: the SHA extensions. */
static bool have_sha_ni(void)
{
    unsigned a, b, c, d;

    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

int main(int argc, char **argv)
{
    int rounds = argc > 2 && !strcmp(argv[1], "--rounds") ? atoi(argv[2]) : 5;
    uint8_t *buf = g_malloc((size_t)BENCH_PAGES * BENCH_PAGE);
    GRand *r = g_rand_new_with_seed(15);
    gnutls_hash_hd_t h;
    double n, g, gh;

    for (size_t i = 0; i < (size_t)BENCH_PAGES * BENCH_PAGE / 4; i++) {
        ((uint32_t *)buf)[i] = g_rand_int(r);
    }
    gnutls_global_init();
    gnutls_hash_init(&h, GNUTLS_DIG_SHA256);
    n = bench_one(hash_nettle, NULL, buf, MAX(rounds, 1));
    g = bench_one(hash_gnutls_fast, NULL, buf, MAX(rounds, 1));
    gh = bench_one(hash_gnutls_handle, &h, buf, MAX(rounds, 1));
    printf("{\"nettle_mbs\": %.0f, \"gnutls_mbs\": %.0f, "
           "\"gnutls_handle_mbs\": %.0f, \"sha_ni\": %s}\n",
           n, g, gh, have_sha_ni() ? "true" : "false");
    gnutls_hash_deinit(h, NULL);
    gnutls_global_deinit();
    g_rand_free(r);
    g_free(buf);
    return 0;
}
