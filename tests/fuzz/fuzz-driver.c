/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-driver.c: the entry points every fuzz target shares (see
 * fuzz-driver.h): libFuzzer's LLVMFuzzerTestOneInput() and the plain
 * build's main() (file replay, seed check and writing, corpus replay,
 * deterministic mutations, TAP output).
 */
#include "qemu/osdep.h"
#include "fuzz-driver.h"

static void fuzz_driver_setup(void)
{
    static bool ready;

    if (!ready) {
        ready = true;
        if (fuzz_driver.setup) {
            fuzz_driver.setup();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_driver_setup();
    fuzz_driver.input(data, size);
    return 0;
}

void fuzz_mutate_bytes(GRand *r, GByteArray *b)
{
    static const uint8_t interesting[] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x20, 0x7e, 0x7f, 0x80, 0xff,
    };
    int n = g_rand_int_range(r, 1, 5);

    while (n-- > 0 && b->len > 0) {
        guint pos = g_rand_int_range(r, 0, b->len);
        uint8_t v;

        switch (g_rand_int_range(r, 0, 6)) {
        case 0: /* flip a bit */
            b->data[pos] ^= 1 << g_rand_int_range(r, 0, 8);
            break;
        case 1: /* random byte */
            b->data[pos] = g_rand_int_range(r, 0, 256);
            break;
        case 2: /* interesting byte */
            b->data[pos] =
                interesting[g_rand_int_range(r, 0, sizeof(interesting))];
            break;
        case 3: /* truncate */
            g_byte_array_set_size(b, pos);
            break;
        case 4: /* insert */
            v = g_rand_int_range(r, 0, 256);
            g_array_insert_val((GArray *)b, pos, v);
            break;
        default: /* remove */
            g_byte_array_remove_index(b, pos);
            break;
        }
    }
}

#ifndef CONFIG_LIBFUZZER

/* The plain run's options and counts. */
typedef struct FuzzRun {
    const FuzzDriver *d;
    bool tap;
    long iterations;
    const char *seed_dir;   /* --write-seeds */
    const char *corpus_dir; /* --corpus */
    GPtrArray *seeds;       /* of GByteArray */
    GPtrArray *seed_names;  /* of char *, beside seeds */
    unsigned test;          /* TAP: the last test number printed */
} FuzzRun;

/* A TAP line (or, without --tap, a plain one on failure only). */
static void fuzz_report(FuzzRun *run, bool ok, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void fuzz_report(FuzzRun *run, bool ok, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    run->test++;
    if (run->tap) {
        printf("%sok %u /%s/%s\n", ok ? "" : "not ", run->test, run->d->name,
               msg);
    } else if (!ok) {
        fprintf(stderr, "%s: %s\n", run->d->name, msg);
    }
    fflush(stdout);
}

/* Point stderr at /dev/null; returns the saved descriptor or -1. */
static int fuzz_stderr_silence(void)
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

/* Undo fuzz_stderr_silence(); saved is what it returned. */
static void fuzz_stderr_restore(int saved)
{
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

static gint fuzz_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The regular files of dir whose names start with prefix, as full
 * paths in name order (empty when dir does not exist).
 */
static GPtrArray *fuzz_dir_files(const char *dir, const char *prefix)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;

    while (d && (n = g_dir_read_name(d))) {
        char *path = g_build_filename(dir, n, NULL);

        if (g_str_has_prefix(n, prefix) &&
            g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            g_ptr_array_add(paths, path);
        } else {
            g_free(path);
        }
    }
    if (d) {
        g_dir_close(d);
    }
    g_ptr_array_sort(paths, fuzz_name_cmp);
    return paths;
}

/* The contents of path, or NULL with a message. */
static GByteArray *fuzz_read_file(const FuzzDriver *d, const char *path)
{
    GError *gerr = NULL;
    char *data;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        fprintf(stderr, "%s: %s\n", d->name, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    return g_byte_array_new_take((guint8 *)data, len);
}

/* FILE... : replay each and say whether it was taken; 0 or 1. */
static int fuzz_replay_files(const FuzzDriver *d, char **paths)
{
    for (; *paths; paths++) {
        GByteArray *b = fuzz_read_file(d, *paths);

        if (!b) {
            return 1;
        }
        printf("%s: %s\n", *paths,
               d->input(b->data, b->len) == 0 ? d->taken : "refused");
        g_byte_array_unref(b);
    }
    return 0;
}

/* Collect the built-in seeds and the corpus's real streams. */
static bool fuzz_collect_seeds(FuzzRun *run)
{
    const FuzzDriver *d = run->d;
    const char *prefix = d->seed_prefix ? d->seed_prefix : "builtin";

    for (unsigned i = 0; i < d->n_seeds; i++) {
        g_ptr_array_add(run->seeds, d->seed(i));
        g_ptr_array_add(run->seed_names, g_strdup_printf("%s-%u", prefix, i));
    }
    if (d->corpus_seed_prefix && !run->seed_dir) {
        g_autoptr(GPtrArray) paths = NULL;

        if (!run->corpus_dir) {
            fprintf(stderr, "%s: real-stream seeds need --corpus DIR\n",
                    d->name);
            return false;
        }
        paths = fuzz_dir_files(run->corpus_dir, d->corpus_seed_prefix);
        for (guint i = 0; i < paths->len; i++) {
            GByteArray *b = fuzz_read_file(d, paths->pdata[i]);

            if (!b) {
                return false;
            }
            g_ptr_array_add(run->seeds, b);
            g_ptr_array_add(run->seed_names,
                            g_path_get_basename(paths->pdata[i]));
        }
    }
    if (!run->seeds->len && !run->seed_dir) {
        fprintf(stderr, "%s: no seeds (no %s* file in %s)\n", d->name,
                d->corpus_seed_prefix ? d->corpus_seed_prefix : "seed",
                run->corpus_dir ? run->corpus_dir : "the corpus");
        return false;
    }
    return true;
}

/* Every seed must be taken (or refused) as its target says. */
static bool fuzz_check_seeds(FuzzRun *run)
{
    const FuzzDriver *d = run->d;

    for (guint i = 0; i < run->seeds->len; i++) {
        const GByteArray *b = run->seeds->pdata[i];
        const char *name = run->seed_names->pdata[i];
        bool ok = d->seed_check ? d->seed_check(i, name, b)
                                : d->input(b->data, b->len) == 0;

        if (!ok) {
            fuzz_report(run, false, "seeds %s fails its check", name);
            return false;
        }
    }
    fuzz_report(run, true, "seeds %u inputs checked", run->seeds->len);
    return true;
}

/* --write-seeds DIR: the built-in seeds as DIR/PREFIX-N. */
static bool fuzz_write_seeds(FuzzRun *run)
{
    g_mkdir_with_parents(run->seed_dir, 0755);
    for (guint i = 0; i < run->seeds->len; i++) {
        const GByteArray *b = run->seeds->pdata[i];
        g_autofree char *path =
            g_build_filename(run->seed_dir, run->seed_names->pdata[i], NULL);
        GError *gerr = NULL;

        if (!g_file_set_contents(path, (const char *)b->data, b->len, &gerr)) {
            fprintf(stderr, "%s: %s\n", run->d->name, gerr->message);
            g_error_free(gerr);
            return false;
        }
    }
    return true;
}

/* Replay every regular file of --corpus DIR, in name order. */
static bool fuzz_replay_corpus(FuzzRun *run, unsigned *files, unsigned *taken)
{
    g_autoptr(GPtrArray) paths = NULL;

    if (!run->corpus_dir) {
        return true;
    }
    paths = fuzz_dir_files(run->corpus_dir, "");
    for (guint i = 0; i < paths->len; i++) {
        GByteArray *b = fuzz_read_file(run->d, paths->pdata[i]);

        if (!b) {
            return false;
        }
        (*files)++;
        *taken += run->d->input(b->data, b->len) == 0;
        g_byte_array_unref(b);
    }
    return true;
}

/* N mutations of the seeds, round robin; returns how many were taken. */
static long fuzz_mutations(FuzzRun *run)
{
    const FuzzDriver *d = run->d;
    GRand *r = g_rand_new_with_seed(d->rand_seed);
    long taken = 0;

    for (long it = 0; it < run->iterations; it++) {
        const GByteArray *seed = run->seeds->pdata[it % run->seeds->len];
        GByteArray *b = g_byte_array_sized_new(seed->len + 8);

        g_byte_array_append(b, seed->data, seed->len);
        (d->mutate ? d->mutate : fuzz_mutate_bytes)(r, b);
        taken += d->input(b->data, b->len) == 0;
        g_byte_array_unref(b);
    }
    g_rand_free(r);
    return taken;
}

/* Seeds, regressions, corpus and mutations; the exit status. */
static int fuzz_run(FuzzRun *run)
{
    const FuzzDriver *d = run->d;
    unsigned files = 0, corpus_taken = 0;
    long taken;
    int saved_stderr = -1;
    bool ok;

    if (run->tap) {
        printf("1..%d\n", d->regressions ? 4 : 3);
    }
    if (!fuzz_check_seeds(run)) {
        return 1;
    }
    if (d->regressions) {
        ok = d->regressions(run->seeds);
        fuzz_report(run, ok, "regressions");
        if (!ok) {
            return 1;
        }
    }
    if (d->quiet) {
        saved_stderr = fuzz_stderr_silence(); /* expected warnings */
    }
    ok = fuzz_replay_corpus(run, &files, &corpus_taken);
    taken = ok ? fuzz_mutations(run) : 0;
    fuzz_stderr_restore(saved_stderr);
    fuzz_report(run, ok, "corpus %u saved inputs, %u %s", files, corpus_taken,
                d->taken);
    if (!ok) {
        return 1;
    }
    fuzz_report(run, true, "mutations %ld inputs, %ld %s", run->iterations,
                taken, d->taken);
    if (!run->tap) {
        printf("%s: %u seeds, %u saved inputs (%u %s), %ld mutated inputs "
               "(%ld %s), no crash\n",
               d->name, run->seeds->len, files, corpus_taken, d->taken,
               run->iterations, taken, d->taken);
    }
    return 0;
}

int main(int argc, char **argv)
{
    FuzzRun run = {.d = &fuzz_driver, .iterations = fuzz_driver.iterations};
    int i, ret = 1;

    fuzz_driver_setup();
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) {
            run.tap = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            run.iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--write-seeds") && i + 1 < argc) {
            run.seed_dir = argv[++i];
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            run.corpus_dir = argv[++i];
        } else {
            return fuzz_replay_files(run.d, argv + i);
        }
    }
    run.seeds =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    run.seed_names = g_ptr_array_new_with_free_func(g_free);
    if (!fuzz_collect_seeds(&run)) {
        goto cleanup;
    }
    if (run.seed_dir) {
        /* libFuzzer's starting corpus: only seeds that work */
        run.tap = false;
        ret = fuzz_check_seeds(&run) && fuzz_write_seeds(&run) ? 0 : 1;
    } else {
        ret = fuzz_run(&run);
    }
cleanup:
    g_ptr_array_free(run.seed_names, true);
    g_ptr_array_free(run.seeds, true);
    return ret;
}

#endif /* CONFIG_LIBFUZZER */
