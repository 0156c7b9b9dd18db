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
 * Entry points and plain run: fuzz-driver.h.  No built-in seeds: the
 * plain run needs --corpus, where every seed-* file must load and leave
 * the RAM its name promises; N (default 3000) mutations of them follow.
 */
#include "qemu/osdep.h"
#include "migration/global_state.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "../../migration/ram.h"
#include "fuzz-driver.h"
#include "fuzz-load.h"

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
    g_free(fuzz_last_error);
    fuzz_last_error = NULL;
    return fuzz_load_stream("fuzz-ram", data, size, &fuzz_last_error);
}

/* fuzz_load() for the driver: 0 when the input loaded. */
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

/* A real stream (corpus seed-* file) loads and leaves its RAM. */
static bool fuzz_seed_check(unsigned i, const char *name, const GByteArray *b)
{
    memset(fuzz_ram_block->host, 0x5a, FUZZ_RAM_SIZE);
    if (fuzz_load(b->data, b->len) != 0) {
        fprintf(stderr, "fuzz-ram: seed %s does not load: %s\n", name,
                fuzz_last_error);
        return false;
    }
    return fuzz_check_ram(name);
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-ram",
    .setup = fuzz_setup,
    .input = fuzz_load_input,
    .taken = "loaded",
    .corpus_seed_prefix = "seed-",
    .seed_check = fuzz_seed_check,
    .rand_seed = 0x7a3d,
    .iterations = 3000,
    .quiet = true,
};
