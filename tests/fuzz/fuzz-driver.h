/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-driver.h: what a fuzz target in tests/fuzz/ declares; the shared
 * driver (fuzz-driver.c, linked into every target by tests/fuzz/
 * meson.build) does the rest.
 *
 * A target defines one `const FuzzDriver fuzz_driver`: its input
 * function and its built-in seeds.  fuzz-driver.c then provides
 *   - LLVMFuzzerTestOneInput() (make fuzz, -DCONFIG_LIBFUZZER): setup
 *     once, then input() on every libFuzzer input;
 *   - main() for the plain build (meson, gcc):
 *       TARGET FILE...            replays each file (e.g. a reproducer)
 *       TARGET --write-seeds DIR  checks the built-in seeds and writes
 *                                 them as DIR/PREFIX-N (libFuzzer's
 *                                 starting corpus in make fuzz)
 *       TARGET [--tap] [-n N] [--corpus DIR]
 *                                 checks the seeds (built-in, plus the
 *                                 corpus's real streams where the
 *                                 target has them), runs the
 *                                 regression checks, replays every
 *                                 saved input of DIR, then N
 *                                 deterministic mutations of the seeds
 *                                 round robin (make check runs it with
 *                                 --tap --corpus tests/fuzz/corpus/TARGET)
 * Any input must end in success or an error; a crash, an abort, a hang
 * or a sanitizer report is a bug.
 */
#ifndef TESTS_FUZZ_DRIVER_H
#define TESTS_FUZZ_DRIVER_H

/* One input: 0 when taken (loaded, accepted...), non-zero when refused. */
typedef int (*FuzzInputFunc)(const uint8_t *data, size_t size);

typedef struct FuzzDriver {
    /* the target's name, in messages and TAP test names */
    const char *name;
    /* optional: called once, before the first input */
    void (*setup)(void);
    /* mandatory: one input */
    FuzzInputFunc input;
    /* what input() == 0 means, in messages: "loaded", "decoded"... */
    const char *taken;

    /* built-in seed i of n_seeds: a new array the driver frees */
    GByteArray *(*seed)(unsigned i);
    unsigned n_seeds;
    /* --write-seeds names them PREFIX-N; NULL: "builtin" */
    const char *seed_prefix;
    /*
     * Optional: the corpus files whose names start with this are seeds
     * too (real streams), checked and mutated like built-in ones; a
     * target with no built-in seeds then needs --corpus.
     */
    const char *corpus_seed_prefix;
    /*
     * Optional: true when seed number i (its name: PREFIX-N or the
     * corpus file's) is taken or refused as it should be, with a
     * message on stderr otherwise.  Default: input() must take it.
     */
    bool (*seed_check)(unsigned i, const char *name, const GByteArray *b);
    /* optional: regression checks given the seeds; false with a message */
    bool (*regressions)(GPtrArray *seeds);

    /* the mutations' generator seed and count (-n overrides) */
    guint32 rand_seed;
    long iterations;
    /* optional: one mutation step; default fuzz_mutate_bytes() */
    void (*mutate)(GRand *r, GByteArray *b);
    /* silence stderr while the corpus and the mutations run */
    bool quiet;
} FuzzDriver;

/* Every target defines this (fuzz-driver.c runs it). */
extern const FuzzDriver fuzz_driver;

/*
 * Apply one to four byte mutations to b (flip a bit, set a random or an
 * "interesting" byte, truncate, insert or remove a byte): deterministic
 * for a given GRand state.
 */
void fuzz_mutate_bytes(GRand *r, GByteArray *b);

#endif
