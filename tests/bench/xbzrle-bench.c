/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xbzrle-bench.c: XBZRLE encoder and decoder speed, in pages per CPU
 * second, for each encoder the CPU has (migration/xbzrle.c).
 *
 *   xbzrle-bench [SECONDS [PAGES]]   (default 0.5 s per case, 4096 pages)
 *
 * Cases (PAGES pages of 4 KiB, old and new copies: 4096 is 32 MiB in
 * all, so the pages come from memory as in a migration; 32 fits in L2
 * and shows the encoder's own cost):
 *   word 0      the page's first 8 bytes get a new random value (the
 *               stress guest's write=word, the xbzrle-sw bench case)
 *   8 bytes     one aligned 8-byte word at a random place inverted
 *   scattered   16 single bytes changed at random places per page
 *   unchanged   equal pages (encodes to 0 bytes)
 *   random      new page random (overflow, sent whole)
 * Output: one line per encoder and case, then the decoder on "8 bytes"
 * and "scattered"; tests/bench/run.py parses the lines "encode NAME CASE
 * PAGES_PER_CPU_SECOND".
 */
#include "qemu/osdep.h"
#include <time.h>
#include "../../migration/xbzrle.h"

/* Pages per case: 4096 (from memory) or 32 (from L2, the compute cost). */
static int npages = 4096;
#define PAGE ((int)TARGET_PAGE_SIZE)

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Passes over the pages between two reads of the CPU clock (a system
 * call that would otherwise weigh on a 32-page pass).
 */
static int clock_every(void)
{
    return MAX(1, 4096 / npages);
}

static void fill_case(const char *name, uint8_t *old, uint8_t *new, GRand *r)
{
    for (size_t i = 0; i < (size_t)npages * PAGE; i++) {
        old[i] = g_rand_int(r);
    }
    memcpy(new, old, (size_t)npages * PAGE);
    for (int p = 0; p < npages; p++) {
        uint8_t *n = new + (size_t)p *PAGE;

        if (!strcmp(name, "word 0")) {
            for (int k = 0; k < 8; k++) {
                n[k] = g_rand_int(r);
            }
        } else if (!strcmp(name, "8 bytes")) {
            int at = g_rand_int_range(r, 0, PAGE / 8) * 8;

            for (int k = 0; k < 8; k++) {
                n[at + k] ^= 0xff;
            }
        } else if (!strcmp(name, "scattered")) {
            for (int k = 0; k < 16; k++) {
                n[g_rand_int_range(r, 0, PAGE)] ^= 0x5a;
            }
        } else if (!strcmp(name, "random")) {
            for (int k = 0; k < PAGE; k++) {
                n[k] = g_rand_int(r);
            }
        }
    }
}

/* Pages per CPU second of fn over the case for at least secs. */
static double run_encode(uint8_t *old, uint8_t *new, double secs,
                         uint64_t *bytes_out)
{
    uint8_t dst[PAGE];
    double t0 = cpu_now(), t;
    uint64_t pages = 0, bytes = 0;

    do {
        for (int i = 0; i < clock_every(); i++) {
            for (int p = 0; p < npages; p++) {
                int len = xbzrle_encode_buffer(old + (size_t)p * PAGE,
                                               new + (size_t)p *PAGE, PAGE, dst,
                                               PAGE);

                bytes += len > 0 ? len : 0;
            }
            pages += npages;
        }
        t = cpu_now() - t0;
    } while (t < secs);
    *bytes_out = bytes / (pages / npages);
    return pages / t;
}

static double run_decode(uint8_t *old, uint8_t *new, double secs)
{
    g_autofree uint8_t *enc = g_malloc((size_t)npages * PAGE);
    g_autofree int *len = g_new(int, npages);
    g_autofree uint8_t *out = g_malloc(PAGE);
    double t0, t;
    uint64_t pages = 0;

    for (int p = 0; p < npages; p++) {
        len[p] =
            xbzrle_encode_buffer(old + (size_t)p * PAGE, new + (size_t)p *PAGE,
                                 PAGE, enc + (size_t)p * PAGE, PAGE);
    }
    t0 = cpu_now();
    do {
        for (int p = 0; p < npages; p++) {
            if (len[p] > 0 && xbzrle_decode_buffer(enc + (size_t)p * PAGE,
                                                   len[p], out, PAGE) < 0) {
                g_error("decode failed");
            }
        }
        pages += npages;
        t = cpu_now() - t0;
    } while (t < secs);
    return pages / t;
}

int main(int argc, char **argv)
{
    static const char *cases[] = {"word 0", "8 bytes", "scattered", "unchanged",
                                  "random"};
    static const char *encs[] = {"avx2", "sse2", "plain"};
    double secs = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 0.5;
    uint8_t *old;
    uint8_t *new;
    GRand *r = g_rand_new_with_seed(1);

    if (argc > 2) {
        npages = MAX(1, atoi(argv[2]));
    }
    old = g_malloc((size_t)npages * PAGE);
    new = g_malloc((size_t)npages * PAGE);

    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
        fill_case(cases[c], old, new, r);
        for (size_t e = 0; e < G_N_ELEMENTS(encs); e++) {
            uint64_t bytes;
            double pps;

            if (!xbzrle_encoder_select(encs[e])) {
                continue;
            }
            pps = run_encode(old, new, secs, &bytes);
            printf("encode %s %s %.0f pages/cpu-s (%.2f GiB/s), %" PRIu64
                   " bytes per %d pages\n",
                   encs[e], cases[c], pps, pps * PAGE / (1 << 30), bytes,
                   npages);
        }
        if (c >= 1 && c <= 2) {
            printf("decode %s %.0f pages/cpu-s\n", cases[c],
                   run_decode(old, new, secs));
        }
    }
    g_rand_free(r);
    g_free(old);
    g_free(new);
    return 0;
}
