/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-ram.c: feed arbitrary bytes to qemu_loadvm_state() with the real
 * "ram" section: ram.c's handler (registered by ram_mig_init(), as a
 * migration does) and ram-load.c's record parser placing pages into one
 * 64 KiB RAM block named "mem", next to the "timer" and "globalstate"
 * sections of a -M none machine.  Everything is libtern's code; nothing
 * is stubbed.
 *
 * Seeds are real streams: tests/fuzz/corpus/fuzz-ram/seed-* were saved
 * by a Tern migration to file: of a -M none guest with a 64 KiB
 * memory-backend-file "mem" (tests/fuzz/make-seeds-ram.py).  Any input
 * must end in success or an Error; crashes, hangs and sanitizer reports
 * are bugs.
 *
 * libFuzzer build: make fuzz (docs/fuzzing.md).
 * Plain build (meson): the main() below
 *   fuzz-ram FILE...          replays each file (e.g. a crash reproducer)
 *   fuzz-ram --write-seeds DIR
 *                             writes the built-in inputs (none beyond the
 *                             saved corpus: a no-op kept for make fuzz)
 *   fuzz-ram [--tap] [-n N] --corpus DIR
 *                             replays DIR (every seed-* file must load,
 *                             and leaves the RAM its name promises), then
 *                             N (default 3000) deterministic mutations
 *                             of the seeds
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "migration/global_state.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "../../migration/ram.h"
#include "fuzz-corpus.h"
#include "fuzz-mutate.h"
#include "fuzz-stderr.h"

/* The block the seeds were saved from: 16 target pages named "mem". */
#define FUZZ_RAM_NAME "mem"
#define FUZZ_RAM_SIZE (64 * KiB)

static RAMBlock *fuzz_ram_block;
/* The error of the last failed load (plain build: seed failures). */
static char *fuzz_last_error;

/* The seeds came from -M none; CONFIGURATION must name the same. */
static const char *fuzz_machine_type_name(void)
{
    return "none";
}

static void fuzz_setup(void)
{
    Error *err = NULL;

    if (fuzz_ram_block) {
        return;
    }
    fuzz_ram_block = ram_block_add(FUZZ_RAM_NAME, FUZZ_RAM_SIZE, NULL, &err);
    if (!fuzz_ram_block) {
        fprintf(stderr, "fuzz-ram: %s\n", error_get_pretty(err));
        abort();
    }
    qemu_register_machine_type_name(fuzz_machine_type_name);
    /* the sections of -M none, in its order (hw/machine.c) */
    timer_state_register();
    global_state_register();
    ram_mig_init();
}

/* Load one input; 0 when it loaded, negative errno with an Error. */
static int fuzz_load(const uint8_t *data, size_t size)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(size);
    Error *err = NULL;
    QEMUFile *f;
    int ret;

    if (size) {
        memcpy(bioc->data, data, size);
    }
    bioc->usage = size;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    global_state_reset_received();
    ret = qemu_loadvm_state(f, &err);
    if (ret < 0 && !err) {
        fprintf(stderr, "fuzz-ram: failure %d without an Error\n", ret);
        abort();
    }
    if (ret == 0 && err) {
        fprintf(stderr, "fuzz-ram: success with an Error: %s\n",
                error_get_pretty(err));
        abort();
    }
    g_free(fuzz_last_error);
    fuzz_last_error = err ? g_strdup(error_get_pretty(err)) : NULL;
    error_free(err);
    qemu_fclose(f);
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    fuzz_load(data, size);
    return 0;
}

#ifndef CONFIG_LIBFUZZER

/* fuzz_load() for fuzz_corpus_replay(): 0 when the input loaded. */
static int fuzz_load_input(const uint8_t *data, size_t size)
{
    return fuzz_load(data, size) == 0 ? 0 : 1;
}

/*
 * The RAM a seed leaves, by its name: "seed-zero*" all zero;
 * "seed-ramfile-N*" python/tern/ramfile.py's make_ram(SIZE, N): page i
 * is zero (i % 4 == 0), all (i & 0xff or 1) (i % 4 == 1), or random.
 * Only the first two kinds are checked (the random pages would need
 * Python's generator).  Returns false with a message on a difference.
 */
static bool fuzz_check_ram(const char *name)
{
    const uint8_t *mem = fuzz_ram_block->host;
    size_t page = TARGET_PAGE_SIZE;

    for (size_t i = 0; i < FUZZ_RAM_SIZE / page; i++) {
        int want = -1;

        if (g_str_has_prefix(name, "seed-zero") ||
            (g_str_has_prefix(name, "seed-ramfile-") && i % 4 == 0)) {
            want = 0;
        } else if (g_str_has_prefix(name, "seed-ramfile-") && i % 4 == 1) {
            want = (i & 0xff) ? (int)(i & 0xff) : 1;
        }
        for (size_t j = 0; want >= 0 && j < page; j++) {
            if (mem[i * page + j] != want) {
                fprintf(stderr,
                        "fuzz-ram: %s: page %zu byte %zu is 0x%02x, "
                        "want 0x%02x\n",
                        name, i, j, mem[i * page + j], want);
                return false;
            }
        }
    }
    return true;
}

/*
 * Load every seed-* file of dir (real streams) and check the RAM it
 * leaves; append each to seeds.  false when one does not load.
 */
static bool fuzz_load_seeds(const char *dir, GPtrArray *seeds)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    bool ok = true;

    if (!d) {
        fprintf(stderr, "fuzz-ram: no corpus at %s\n", dir);
        return false;
    }
    while (ok && (n = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, n, NULL);
        char *data;
        gsize len;
        GByteArray *b;

        if (!g_str_has_prefix(n, "seed-") ||
            !g_file_get_contents(path, &data, &len, NULL)) {
            continue;
        }
        memset(fuzz_ram_block->host, 0x5a, FUZZ_RAM_SIZE);
        if (fuzz_load((const uint8_t *)data, len) != 0) {
            fprintf(stderr, "fuzz-ram: seed %s does not load: %s\n", path,
                    fuzz_last_error);
            ok = false;
        } else {
            ok = fuzz_check_ram(n);
        }
        b = g_byte_array_new_take((guint8 *)data, len);
        g_ptr_array_add(seeds, b);
    }
    g_dir_close(d);
    if (ok && seeds->len == 0) {
        fprintf(stderr, "fuzz-ram: no seed-* file in %s\n", dir);
        ok = false;
    }
    return ok;
}

static int fuzz_replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;
    GError *gerr = NULL;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        fprintf(stderr, "fuzz-ram: %s\n", gerr->message);
        g_error_free(gerr);
        return 1;
    }
    printf("%s: %s\n", path,
           fuzz_load((uint8_t *)data, len) == 0 ? "loaded" : "rejected");
    return 0;
}

/* N mutations of the seeds, round robin; returns how many loaded. */
static long fuzz_mutations(GPtrArray *seeds, long iterations)
{
    GRand *r = g_rand_new_with_seed(0x7a3d);
    long it, accepted = 0;

    for (it = 0; it < iterations; it++) {
        GByteArray *seed = seeds->pdata[it % seeds->len];
        GByteArray *b = g_byte_array_sized_new(seed->len);

        g_byte_array_append(b, seed->data, seed->len);
        fuzz_mutate_bytes(r, b);
        if (fuzz_load(b->data, b->len) == 0) {
            accepted++;
        }
        g_byte_array_free(b, true);
    }
    g_rand_free(r);
    return accepted;
}

int main(int argc, char **argv)
{
    GPtrArray *seeds =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    const char *corpus_dir = NULL;
    FuzzCorpusStats corpus = {0};
    long iterations = 3000, accepted;
    bool tap = false, ok;
    int i, files = 0, saved_stderr;

    fuzz_setup();
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) {
            tap = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--write-seeds") && i + 1 < argc) {
            return 0; /* every seed is a saved file */
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            corpus_dir = argv[++i];
        } else {
            files++;
            if (fuzz_replay_file(argv[i])) {
                return 1;
            }
        }
    }
    if (files) {
        return 0;
    }
    if (!corpus_dir) {
        fprintf(stderr, "usage: fuzz-ram [--tap] [-n N] --corpus DIR | "
                        "FILE...\n");
        return 2;
    }
    if (!fuzz_load_seeds(corpus_dir, seeds)) {
        return 1;
    }
    saved_stderr = fuzz_stderr_silence();
    ok = fuzz_corpus_replay("fuzz-ram", corpus_dir, fuzz_load_input, &corpus);
    accepted = ok ? fuzz_mutations(seeds, iterations) : 0;
    fuzz_stderr_restore(saved_stderr);
    if (!ok) {
        return 1;
    }
    if (tap) {
        printf("1..3\nok 1 /fuzz-ram/seeds %u real streams load\n"
               "ok 2 /fuzz-ram/corpus %u saved inputs, %u loaded\n"
               "ok 3 /fuzz-ram/mutations %ld inputs, %ld loaded\n",
               seeds->len, corpus.files, corpus.accepted, iterations, accepted);
    } else {
        printf("fuzz-ram: %u seeds, %u saved inputs, %ld mutated inputs "
               "(%ld loaded), no crash\n",
               seeds->len, corpus.files, iterations, accepted);
    }
    g_ptr_array_free(seeds, true);
    return 0;
}

#endif /* CONFIG_LIBFUZZER */
