/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-stress-core: the stress workload core (guest/stress-core.c) run
 * natively over a malloc'd "RAM": argument parsing, fill and verify,
 * corruption detection (the MISMATCH line), resuming from a copy of RAM
 * as a migration destination does, dirty marking and the rate limit.
 */
#include "qemu/osdep.h"
#include "stress-core.h"

#define RAM_SIZE (8 * MiB)

typedef struct TestPlat {
    GString *out;
    int exit_code; /* -1 = not called */
    uint64_t polls;
    uint64_t poll_limit;  /* stop after this many polls, 0 = never */
    int64_t stop_at_us;   /* stop once past this time, 0 = never */
    unsigned long *dirty; /* one bit per RAM page, or NULL */
} TestPlat;

static uint64_t tp_now_us(void *opaque)
{
    return g_get_monotonic_time();
}

static void tp_putc(void *opaque, char c)
{
    TestPlat *tp = opaque;

    g_string_append_c(tp->out, c);
}

static void tp_exit(void *opaque, unsigned code)
{
    TestPlat *tp = opaque;

    tp->exit_code = code;
}

static bool tp_poll(void *opaque)
{
    TestPlat *tp = opaque;

    tp->polls++;
    if (tp->poll_limit && tp->polls > tp->poll_limit) {
        return false;
    }
    if (tp->stop_at_us && g_get_monotonic_time() >= tp->stop_at_us) {
        return false;
    }
    return true;
}

static void tp_wait_us(void *opaque, uint64_t us)
{
    g_usleep(MIN(us, 10000));
}

static void tp_dirty(void *opaque, uint64_t addr, uint64_t len)
{
    TestPlat *tp = opaque;
    uint64_t p;

    if (!tp->dirty) {
        return;
    }
    for (p = addr / TARGET_PAGE_SIZE; p <= (addr + len - 1) / TARGET_PAGE_SIZE;
         p++) {
        tp->dirty[p / 64] |= 1ul << (p % 64);
    }
}

typedef struct Fixture {
    uint8_t *ram;
    TestPlat tp;
    StressPlatform plat;
    StressCtx ctx;
} Fixture;

static void fixture_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->ram = g_malloc0(RAM_SIZE);
    f->tp.out = g_string_new("");
    f->tp.exit_code = -1;
    f->plat = (StressPlatform){
        .now_us = tp_now_us,
        .putc = tp_putc,
        .exit = tp_exit,
        .poll = tp_poll,
        .wait_us = tp_wait_us,
        .dirty = tp_dirty,
        .opaque = &f->tp,
    };
}

static void fixture_free(Fixture *f)
{
    g_free(f->ram);
    g_free(f->tp.dirty);
    g_string_free(f->tp.out, true);
}

static void fixture_setup(Fixture *f, const char *cmdline)
{
    StressConfig cfg;

    stress_config_default(&cfg);
    g_assert_true(stress_parse_args(&f->plat, cmdline, &cfg));
    g_assert_true(
        stress_setup(&f->ctx, &f->plat, (uintptr_t)f->ram, RAM_SIZE, 0, &cfg));
}

static void test_parse(void)
{
    Fixture f;
    StressConfig cfg;

    fixture_init(&f);
    stress_config_default(&cfg);
    g_assert_true(stress_parse_args(
        &f.plat,
        "/path/stress.elf mem=16M-0x7000000 rate=64 pattern=hot:8 "
        "verify=off passes=3 report_ms=0 tsc_khz=2400000",
        &cfg));
    g_assert_cmpuint(cfg.mem_start, ==, 16 * MiB);
    g_assert_cmpuint(cfg.mem_end, ==, 112 * MiB);
    g_assert_cmpuint(cfg.has_mem, ==, 1);
    g_assert_cmpuint(cfg.rate_mib, ==, 64);
    g_assert_cmpuint(cfg.pattern, ==, STRESS_PATTERN_HOT);
    g_assert_cmpuint(cfg.hot_mib, ==, 8);
    g_assert_cmpuint(cfg.verify, ==, 0);
    g_assert_cmpuint(cfg.passes, ==, 3);
    g_assert_cmpuint(cfg.report_ms, ==, 0);
    g_assert_cmpuint(cfg.tsc_khz, ==, 2400000);
    g_assert_cmpstr(f.tp.out->str, ==, "");

    stress_config_default(&cfg);
    g_assert_true(stress_parse_args(&f.plat, "pattern=seq foo=1", &cfg));
    g_assert_cmpuint(cfg.pattern, ==, STRESS_PATTERN_SEQ);
    g_assert_nonnull(
        strstr(f.tp.out->str, "stress: ignoring unknown argument 'foo=1'"));

    g_assert_false(stress_parse_args(&f.plat, "rate=fast", &cfg));
    g_assert_nonnull(
        strstr(f.tp.out->str, "stress: error: bad argument 'rate=fast'"));
    g_assert_false(stress_parse_args(NULL, "mem=16M", &cfg));
    g_assert_false(stress_parse_args(NULL, "mem=16Q-32M", &cfg));
    g_assert_false(stress_parse_args(NULL, "pattern=hot:0", &cfg));
    g_assert_false(stress_parse_args(NULL, "write=bytes", &cfg));
    stress_config_default(&cfg);
    g_assert_cmpuint(cfg.write_word, ==, 0);
    g_assert_true(stress_parse_args(NULL, "write=word", &cfg));
    g_assert_cmpuint(cfg.write_word, ==, 1);
    g_assert_true(stress_parse_args(NULL, "write=page", &cfg));
    g_assert_cmpuint(cfg.write_word, ==, 0);
    g_assert_false(stress_parse_args(NULL, "verify=maybe", &cfg));
    g_assert_false(stress_parse_args(NULL, "rate=99999999999", &cfg));
    fixture_free(&f);
}

static void test_bad_range(void)
{
    Fixture f;
    StressConfig cfg;

    fixture_init(&f);
    stress_config_default(&cfg);
    g_assert_true(stress_parse_args(&f.plat, "mem=4M-16M", &cfg));
    g_assert_false(
        stress_setup(&f.ctx, &f.plat, (uintptr_t)f.ram, RAM_SIZE, 0, &cfg));
    g_assert_nonnull(
        strstr(f.tp.out->str, "stress: error: mem=4M-16M does not fit RAM"));
    fixture_free(&f);
}

/* passes=2 writes every page twice, verifies, and exits with DONE. */
static void test_passes(void)
{
    Fixture f;
    StressState *st;
    uint64_t p;
    int rc;

    fixture_init(&f);
    fixture_setup(&f, "mem=2M-6M passes=2 report_ms=0");
    g_assert_nonnull(
        strstr(f.tp.out->str,
               "stress: start mem=2M-6M rate=0 pattern=random verify=on"));
    rc = stress_run(&f.ctx);
    g_assert_cmpint(rc, ==, STRESS_EXIT_DONE);
    g_assert_cmpint(f.tp.exit_code, ==, STRESS_EXIT_DONE);
    g_assert_nonnull(strstr(f.tp.out->str, "stress: done pass=2 "));
    g_assert_null(strstr(f.tp.out->str, "MISMATCH"));

    st = f.ctx.st;
    g_assert_cmpuint(st->writes, ==, 2 * st->npages);
    g_assert_cmpuint(st->finished, ==, 1);
    /* Every data page was written: random-looking, never zero. */
    for (p = 0; p < st->npages; p++) {
        uint64_t *w =
            (uint64_t *)(f.ram + st->data_start + p * STRESS_PAGE_SIZE);

        g_assert_cmpuint(f.ctx.gen[p], >=, 1);
        g_assert_cmpuint(w[0], ==, stress_page_word(p, f.ctx.gen[p], 0));
        g_assert_cmpuint(w[0] | w[511], !=, 0);
    }
    g_assert_true(stress_verify_all(&f.ctx));
    /* A finished workload stays finished. */
    g_assert_cmpint(stress_run(&f.ctx), ==, STRESS_RUN_STOPPED);
    fixture_free(&f);
}

/* A corrupted word is found and reported with the documented line. */
static void test_corruption(void)
{
    Fixture f;
    StressState *st;
    uint64_t *w, page, bad;
    char *expect;
    int rc;

    fixture_init(&f);
    /* the hot set (1 MiB) is rewritten; pages above it only verified */
    fixture_setup(&f, "mem=1M-5M pattern=hot:1 report_ms=0");
    st = f.ctx.st;
    f.tp.poll_limit = st->npages + 10;
    g_assert_cmpint(stress_run(&f.ctx), ==, STRESS_RUN_STOPPED);
    g_assert_cmpuint(st->pass, ==, 1);

    page = st->data_start + (st->npages - 3) * STRESS_PAGE_SIZE;
    w = (uint64_t *)(f.ram + page);
    bad = w[7] ^ 0x100;
    w[7] = bad;

    g_assert_false(stress_verify_all(&f.ctx));
    expect = g_strdup_printf("stress: MISMATCH page=0x%" PRIx64
                             " expected=0x%" PRIx64 " got=0x%" PRIx64
                             " gen=1 word=7\n",
                             page, bad ^ 0x100, bad);
    g_assert_nonnull(strstr(f.tp.out->str, expect));

    /* The running loop finds it too and exits with MISMATCH. */
    g_string_truncate(f.tp.out, 0);
    f.tp.poll_limit = 0;
    f.tp.stop_at_us = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    rc = stress_run(&f.ctx);
    g_assert_cmpint(rc, ==, STRESS_EXIT_MISMATCH);
    g_assert_cmpint(f.tp.exit_code, ==, STRESS_EXIT_MISMATCH);
    g_assert_nonnull(strstr(f.tp.out->str, expect));
    g_free(expect);
    fixture_free(&f);
}

/*
 * Copy RAM mid-run (as migration does) and continue from the copy: the
 * state block is found, every written page is checked, the run finishes.
 */
static void test_resume(void)
{
    Fixture src, dst;
    uint64_t addr;
    StressState *st;
    int rc;

    fixture_init(&src);
    fixture_setup(&src, "mem=3M-7M pattern=seq report_ms=0");
    src.tp.poll_limit = 700; /* stop inside the first pass */
    g_assert_cmpint(stress_run(&src.ctx), ==, STRESS_RUN_STOPPED);
    g_assert_cmpuint(src.ctx.st->pass, ==, 0);

    fixture_init(&dst);
    memcpy(dst.ram, src.ram, RAM_SIZE);
    g_assert_cmpuint(stress_find_state((uintptr_t)dst.ram, RAM_SIZE, 0), ==,
                     3 * MiB);
    addr = stress_find_state((uintptr_t)dst.ram, RAM_SIZE, STRESS_NO_STATE);
    g_assert_cmpuint(addr, ==, 3 * MiB);
    g_assert_true(
        stress_attach(&dst.ctx, &dst.plat, (uintptr_t)dst.ram, RAM_SIZE, addr));
    g_assert_nonnull(strstr(dst.tp.out->str, "stress: resume pass=0 "));
    st = dst.ctx.st;
    st->cfg.passes = 2;
    rc = stress_run(&dst.ctx);
    g_assert_cmpint(rc, ==, STRESS_EXIT_DONE);
    g_assert_nonnull(
        strstr(dst.tp.out->str, "stress: resume verified 700 pages\n"));
    g_assert_nonnull(strstr(dst.tp.out->str, "stress: done pass=2 "));

    /* A lost page (stale content on the destination) is caught. */
    memcpy(dst.ram, src.ram, RAM_SIZE);
    memset(dst.ram + 3 * MiB + 2 * STRESS_PAGE_SIZE + 100 * 4096, 0, 4096);
    g_string_truncate(dst.tp.out, 0);
    g_assert_true(
        stress_attach(&dst.ctx, &dst.plat, (uintptr_t)dst.ram, RAM_SIZE, addr));
    rc = stress_run(&dst.ctx);
    g_assert_cmpint(rc, ==, STRESS_EXIT_MISMATCH);
    g_assert_nonnull(strstr(dst.tp.out->str, "stress: MISMATCH page="));
    g_assert_nonnull(strstr(dst.tp.out->str, " got=0x0 gen=1 word=0"));

    /* Nothing there: no state found. */
    memset(dst.ram, 0, RAM_SIZE);
    g_assert_cmpuint(stress_find_state((uintptr_t)dst.ram, RAM_SIZE, 3 * MiB),
                     ==, STRESS_NO_STATE);
    fixture_free(&src);
    fixture_free(&dst);
}

/* Every page the workload wrote was reported dirty. */
static void test_dirty(void)
{
    Fixture f;
    StressState *st;
    uint64_t p, gp, dp;

    fixture_init(&f);
    f.tp.dirty = g_new0(unsigned long, RAM_SIZE / TARGET_PAGE_SIZE / 64);
    fixture_setup(&f, "mem=2M-6M report_ms=0");
    st = f.ctx.st;
    memset(f.tp.dirty, 0, RAM_SIZE / TARGET_PAGE_SIZE / 8);
    f.tp.poll_limit = st->npages + 100;
    g_assert_cmpint(stress_run(&f.ctx), ==, STRESS_RUN_STOPPED);

#define DIRTY(pg) (f.tp.dirty[(pg) / 64] & (1ul << ((pg) % 64)))
    g_assert_true(DIRTY(st->self / TARGET_PAGE_SIZE));
    for (p = 0; p < st->npages; p++) {
        dp = (st->data_start + p * STRESS_PAGE_SIZE) / TARGET_PAGE_SIZE;
        gp = (st->gen_table + p * 4) / TARGET_PAGE_SIZE;
        g_assert_true(DIRTY(dp));
        g_assert_true(DIRTY(gp));
    }
    /* and nothing outside the range */
    g_assert_false(DIRTY(2 * MiB / TARGET_PAGE_SIZE - 1));
    g_assert_false(DIRTY(6 * MiB / TARGET_PAGE_SIZE));
#undef DIRTY
    fixture_free(&f);
}

/* rate=N keeps to about N MiB/s. */
static void test_rate(void)
{
    Fixture f;
    double mib;

    fixture_init(&f);
    fixture_setup(&f, "mem=2M-6M rate=32 report_ms=100");
    f.tp.stop_at_us = g_get_monotonic_time() + 500 * 1000;
    g_assert_cmpint(stress_run(&f.ctx), ==, STRESS_RUN_STOPPED);
    mib = f.ctx.st->writes / 256.0;
    /* 32 MiB/s for 0.5 s = 16 MiB */
    g_assert_cmpfloat(mib, >, 10);
    g_assert_cmpfloat(mib, <, 20);
    g_assert_nonnull(strstr(f.tp.out->str, "stress: ok pass="));
    g_assert_nonnull(strstr(f.tp.out->str, "MiB/s verified="));
    fixture_free(&f);

    /* busy_wait: the waits are spent verifying, the rate holds. */
    fixture_init(&f);
    f.plat.busy_wait = true;
    fixture_setup(&f, "mem=2M-6M rate=32 report_ms=0");
    f.tp.stop_at_us = g_get_monotonic_time() + 300 * 1000;
    g_assert_cmpint(stress_run(&f.ctx), ==, STRESS_RUN_STOPPED);
    mib = f.ctx.st->writes / 256.0;
    g_assert_cmpfloat(mib, >, 5);
    g_assert_cmpfloat(mib, <, 12);
    g_assert_cmpuint(f.ctx.st->verified, >, 4 * f.ctx.st->writes);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stress-core/parse", test_parse);
    g_test_add_func("/stress-core/bad-range", test_bad_range);
    g_test_add_func("/stress-core/passes", test_passes);
    g_test_add_func("/stress-core/corruption", test_corruption);
    g_test_add_func("/stress-core/resume", test_resume);
    g_test_add_func("/stress-core/dirty", test_dirty);
    g_test_add_func("/stress-core/rate", test_rate);
    return g_test_run();
}
