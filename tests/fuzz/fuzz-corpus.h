/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-corpus.h: saved inputs of the plain (non-libFuzzer) fuzz drivers.
 *
 * Every target's main() takes --corpus DIR (meson passes
 * tests/fuzz/corpus/TARGET in make check) and replays each file there:
 * the seeds taken from real streams and the reproducers of fixed
 * crashes.  --write-seeds DIR writes the target's built-in inputs as
 * files, which make fuzz hands to libFuzzer with the saved ones.
 */
#ifndef TESTS_FUZZ_CORPUS_H
#define TESTS_FUZZ_CORPUS_H

/* One input: 0 when it loaded (or was accepted), non-zero otherwise. */
typedef int (*FuzzInputFunc)(const uint8_t *data, size_t size);

/* Counts of a corpus replay. */
typedef struct FuzzCorpusStats {
    unsigned files;
    unsigned accepted; /* fn returned 0 */
} FuzzCorpusStats;

static inline gint fuzz_corpus_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Replay every regular file of dir with fn, in name order, adding to
 * *stats.  A missing dir is an empty corpus; false (and a message) only
 * when a file cannot be read.
 */
static inline bool fuzz_corpus_replay(const char *prog, const char *dir,
                                      FuzzInputFunc fn, FuzzCorpusStats *stats)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    bool ok = true;

    if (!d) {
        g_ptr_array_free(names, true);
        return true;
    }
    while ((n = g_dir_read_name(d))) {
        g_ptr_array_add(names, g_build_filename(dir, n, NULL));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, fuzz_corpus_cmp);
    for (guint i = 0; i < names->len && ok; i++) {
        const char *path = names->pdata[i];
        char *data = NULL;
        gsize len;
        GError *gerr = NULL;

        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            continue;
        }
        if (!g_file_get_contents(path, &data, &len, &gerr)) {
            fprintf(stderr, "%s: %s\n", prog, gerr->message);
            g_error_free(gerr);
            ok = false;
            break;
        }
        stats->files++;
        if (fn((const uint8_t *)data, len) == 0) {
            stats->accepted++;
        }
        g_free(data);
    }
    g_ptr_array_free(names, true);
    return ok;
}

/* Write len bytes of data as dir/name; false with a message on error. */
static inline bool fuzz_corpus_write(const char *prog, const char *dir,
                                     const char *name, const uint8_t *data,
                                     size_t len)
{
    char *path = g_build_filename(dir, name, NULL);
    GError *gerr = NULL;
    bool ok = g_file_set_contents(path, (const char *)data, len, &gerr);

    if (!ok) {
        fprintf(stderr, "%s: %s\n", prog, gerr->message);
        g_error_free(gerr);
    }
    g_free(path);
    return ok;
}

#endif
