/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-trace.c: trace points are off by default and do not evaluate
 * their arguments, glob patterns (with '-' negation, last wins) enable
 * them lazily via the generation counter, output has the
 * pid@sec.usec:name message form, and -trace options parse.
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"

static int evaluations;

static int count_eval(int v)
{
    evaluations++;
    return v;
}

/* One fixed site per name so the tests exercise the static cache. */
static void site_migrate_start(int v)
{
    TRACE("migrate_start", "value %d", count_eval(v));
}

static void site_migrate_end(void)
{
    TRACE("migrate_end", "done");
}

static void site_ram_save(const char *s)
{
    TRACE("ram_save_page", "block %s", s);
}

static char *read_file_and_truncate(const char *path)
{
    char *contents = NULL;

    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_true(g_file_set_contents(path, "", 0, NULL));
    return contents;
}

static char *trace_tmp_path(void)
{
    return g_build_filename(g_get_tmp_dir(), "tern-test-trace-XXXXXX", NULL);
}

static void test_trace_off_by_default_skips_arguments(void)
{
    trace_disable_all();
    evaluations = 0;
    site_migrate_start(1);
    site_migrate_start(2);
    g_assert_cmpint(evaluations, ==, 0);
    g_assert_false(trace_name_is_enabled("migrate_start"));
}

static void test_trace_pattern_enables_lazily_and_prints(void)
{
    g_autofree char *path = trace_tmp_path();
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    int fd = g_mkstemp(path);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(trace_set_output_file(path, &error_abort));
    trace_disable_all();
    site_migrate_start(0); /* resolved as off at this generation */

    trace_enable_pattern("migrate_*");
    evaluations = 0;
    site_migrate_start(42);
    site_migrate_end();
    site_ram_save("pc.ram");
    g_assert_cmpint(evaluations, ==, 1);
    out = read_file_and_truncate(path);
    lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* 2 + trailing "" */
    g_assert_true(g_regex_match_simple(
        "^[0-9]+@[0-9]+\\.[0-9]{6}:migrate_start value 42$", lines[0], 0, 0));
    g_assert_true(g_str_has_suffix(lines[1], ":migrate_end done"));

    g_assert_true(trace_set_output_file(NULL, &error_abort));
    unlink(path);
    trace_disable_all();
}

static void test_trace_negation_and_last_match_wins(void)
{
    trace_disable_all();
    trace_enable_pattern("*,-ram_*");
    g_assert_true(trace_name_is_enabled("migrate_start"));
    g_assert_false(trace_name_is_enabled("ram_save_page"));
    trace_enable_pattern("ram_save_?age");
    g_assert_true(trace_name_is_enabled("ram_save_page"));
    g_assert_false(trace_name_is_enabled("ram_load_page"));
    trace_disable_all();
    g_assert_false(trace_name_is_enabled("migrate_start"));
}

static void test_trace_disable_reaches_resolved_sites(void)
{
    g_autofree char *path = trace_tmp_path();
    g_autofree char *out = NULL;
    int fd = g_mkstemp(path);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(trace_set_output_file(path, &error_abort));
    trace_enable_pattern("migrate_end");
    site_migrate_end();
    trace_disable_all();
    site_migrate_end();
    site_migrate_end();
    out = read_file_and_truncate(path);
    g_assert_cmpuint(strlen(out), >, 0);
    g_assert_null(strstr(strstr(out, "\n") + 1, "migrate_end"));
    g_assert_true(trace_set_output_file(NULL, &error_abort));
    unlink(path);
}

static void test_trace_opt_parse_forms(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-test-trace-XXXXXX", NULL);
    g_autofree char *events = g_build_filename(dir, "events", NULL);
    g_autofree char *log = g_build_filename(dir, "log", NULL);
    g_autofree char *arg = NULL;
    g_autofree char *out = NULL;
    Error *err = NULL;

    trace_disable_all();
    g_assert_true(trace_opt_parse("migrate_*", &error_abort));
    g_assert_true(trace_name_is_enabled("migrate_x"));
    trace_disable_all();
    g_assert_true(trace_opt_parse("a_*,b_*", &error_abort));
    g_assert_true(trace_name_is_enabled("a_1") && trace_name_is_enabled("b_1"));
    trace_disable_all();

    g_assert_true(
        g_file_set_contents(events, "# comment\nram_*\n\n", -1, NULL));
    arg = g_strdup_printf("enable=migrate_end,events=%s,file=%s", events, log);
    g_assert_true(trace_opt_parse(arg, &error_abort));
    g_assert_true(trace_name_is_enabled("ram_save_page"));
    site_ram_save("x");
    site_migrate_end();
    g_assert_true(trace_set_output_file(NULL, &error_abort));
    g_assert_true(g_file_get_contents(log, &out, NULL, NULL));
    g_assert_nonnull(strstr(out, ":ram_save_page block x\n"));
    g_assert_nonnull(strstr(out, ":migrate_end done\n"));

    g_assert_false(trace_opt_parse("events=/nonexistent/ev", &err));
    g_assert_true(
        g_str_has_prefix(error_get_pretty(err),
                         "Could not open trace events file '/nonexistent/ev'"));
    error_free(err);
    err = NULL;
    g_assert_false(trace_opt_parse("enable=x,bogus=1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'bogus'");
    error_free(err);
    trace_disable_all();
    unlink(events);
    unlink(log);
    rmdir(dir);
}

/* Sites racing with pattern changes from another thread stay sane. */
static gpointer toggler(gpointer opaque)
{
    int i;

    for (i = 0; i < 200; i++) {
        trace_enable_pattern("nothing_matches_this_*");
        trace_disable_all();
    }
    return NULL;
}

static void test_trace_generation_bump_races_with_sites(void)
{
    GThread *t = g_thread_new("toggler", toggler, NULL);
    int i;

    evaluations = 0;
    for (i = 0; i < 100000; i++) {
        site_migrate_start(i);
    }
    g_thread_join(t);
    g_assert_cmpint(evaluations, ==, 0);
}

static void site_hot_path(int i)
{
    TRACE("hot_path_never_enabled", "i %d", count_eval(i));
}

/* -m perf: the cost of a disabled trace point (should be ~1 ns). */
static void test_trace_disabled_cost_bench(void)
{
    const int n = 50 * 1000 * 1000;
    gint64 t0, t1;
    int i;

    if (!g_test_perf()) {
        g_test_skip("benchmark: run with -m perf");
        return;
    }
    trace_disable_all();
    evaluations = 0;
    t0 = g_get_monotonic_time();
    for (i = 0; i < n; i++) {
        site_hot_path(i);
    }
    t1 = g_get_monotonic_time();
    g_assert_cmpint(evaluations, ==, 0);
    g_test_message("disabled TRACE: %.2f ns per call", (t1 - t0) * 1000.0 / n);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/trace/off-by-default-skips-arguments",
                    test_trace_off_by_default_skips_arguments);
    g_test_add_func("/trace/pattern-enables-lazily-and-prints",
                    test_trace_pattern_enables_lazily_and_prints);
    g_test_add_func("/trace/negation-and-last-match-wins",
                    test_trace_negation_and_last_match_wins);
    g_test_add_func("/trace/disable-reaches-resolved-sites",
                    test_trace_disable_reaches_resolved_sites);
    g_test_add_func("/trace/opt-parse-forms", test_trace_opt_parse_forms);
    g_test_add_func("/trace/generation-bump-races-with-sites",
                    test_trace_generation_bump_races_with_sites);
    g_test_add_func("/trace/disabled-cost-bench",
                    test_trace_disabled_cost_bench);
    return g_test_run();
}
