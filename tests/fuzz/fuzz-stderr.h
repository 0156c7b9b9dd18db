/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-stderr.h: silence stderr while the plain (non-libFuzzer) fuzz
 * drivers run their mutated inputs, whose warnings are expected noise.
 * Shared by fuzz-loadvm.c and fuzz-qmp.c.
 */
#ifndef TESTS_FUZZ_STDERR_H
#define TESTS_FUZZ_STDERR_H

/*
 * Point stderr at /dev/null.  Returns the saved stderr descriptor for
 * fuzz_stderr_restore(), or -1 if it could not be saved (stderr is then
 * left alone).
 */
static inline int fuzz_stderr_silence(void)
{
    int saved;

    fflush(stderr);
    saved = dup(2);
    if (saved >= 0) {
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull >= 0) {
            dup2(devnull, 2);
            close(devnull);
        }
    }
    return saved;
}

/* Undo fuzz_stderr_silence(); @saved is what it returned. */
static inline void fuzz_stderr_restore(int saved)
{
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

#endif
