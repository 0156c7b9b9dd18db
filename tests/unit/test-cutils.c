/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-cutils.c: qemu_strtosz and qemu_strto* follow QEMU's semantics
 * (suffixes, fractions, overflow, garbage, end pointer), size_to_str.
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

static void test_strtosz_plain_number_is_bytes(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtosz("12345", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 12345);
    g_assert_cmpint(qemu_strtosz("0", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 0);
}

static void test_strtosz_every_suffix_is_power_of_1024(void)
{
    static const struct {
        const char *s;
        uint64_t v;
    } cases[] = {
        {"1B", 1},          {"1b", 1},          {"1K", KiB},
        {"1k", KiB},        {"1M", MiB},        {"1m", MiB},
        {"2G", 2 * GiB},    {"1g", GiB},        {"1T", 1ULL << 40},
        {"1P", 1ULL << 50}, {"1E", 1ULL << 60}, {"15E", 15ULL << 60},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t v = 0;

        g_assert_cmpint(qemu_strtosz(cases[i].s, NULL, &v), ==, 0);
        g_assert_cmpuint(v, ==, cases[i].v);
    }
}

static void test_strtosz_decimal_fraction(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtosz("1.5G", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, GiB + GiB / 2);
    g_assert_cmpint(qemu_strtosz("0.5k", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 512);
    g_assert_cmpint(qemu_strtosz("12.345M", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, (uint64_t)(12.345 * MiB));
    /* a zero fraction of a byte is fine, a non-zero one is not */
    g_assert_cmpint(qemu_strtosz("1.0", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 1);
    g_assert_cmpint(qemu_strtosz("1.5", NULL, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtosz("1.5B", NULL, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtosz("1.", NULL, &v), ==, -EINVAL);
}

static void test_strtosz_hex_integer_only(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtosz("0x1000", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
    g_assert_cmpint(qemu_strtosz("0x10k", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 16 * KiB);
    g_assert_cmpint(qemu_strtosz("0x1.8k", NULL, &v), ==, -EINVAL);
}

static void test_strtosz_garbage_is_einval(void)
{
    const char *bad[] = {
        "",    " ",   "k",   "abc", "-1",  "-0", "+1",
        "12x", "1kk", "1 k", "1k ", ".5k", "0x", "1e3",
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        uint64_t v = 42;

        g_assert_cmpint(qemu_strtosz(bad[i], NULL, &v), ==, -EINVAL);
    }
    g_assert_cmpint(qemu_strtosz(NULL, NULL, &(uint64_t){0}), ==, -EINVAL);
}

static void test_strtosz_overflow_is_erange(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtosz("16E", NULL, &v), ==, -ERANGE);
    g_assert_cmpint(qemu_strtosz("18446744073709551616", NULL, &v), ==,
                    -ERANGE);
    g_assert_cmpint(qemu_strtosz("99999999999999999999999k", NULL, &v), ==,
                    -ERANGE);
    g_assert_cmpint(qemu_strtosz("15.99999999E", NULL, &v), ==, 0);
    g_assert_cmpint(qemu_strtosz("18446744073709551615", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, UINT64_MAX);
    g_assert_cmpint(qemu_strtosz("0x10000000000000000", NULL, &v), ==, -ERANGE);
}

static void test_strtosz_end_pointer_allows_trailing(void)
{
    const char *s = "4k,foo", *end = NULL;
    uint64_t v;

    g_assert_cmpint(qemu_strtosz(s, &end, &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
    g_assert_true(end == s + 2);

    s = "xyz";
    g_assert_cmpint(qemu_strtosz(s, &end, &v), ==, -EINVAL);
    g_assert_true(end == s);
}

static void test_strtosz_mib_default_unit(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtosz_MiB("128", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 128 * MiB);
    g_assert_cmpint(qemu_strtosz_MiB("1.5", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, MiB + MiB / 2);
    g_assert_cmpint(qemu_strtosz_MiB("1G", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, GiB);
    g_assert_cmpint(qemu_strtosz_MiB("4096B", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
}

static void test_strtoi64_full_string_and_range(void)
{
    int64_t v;
    const char *end;

    g_assert_cmpint(qemu_strtoi64("-42", NULL, 10, &v), ==, 0);
    g_assert_cmpint(v, ==, -42);
    g_assert_cmpint(qemu_strtoi64(" 7", NULL, 10, &v), ==, 0);
    g_assert_cmpint(qemu_strtoi64("7 ", NULL, 10, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi64("0x10", NULL, 0, &v), ==, 0);
    g_assert_cmpint(v, ==, 16);
    g_assert_cmpint(qemu_strtoi64("", NULL, 10, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi64(NULL, NULL, 10, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi64("9223372036854775808", NULL, 10, &v), ==,
                    -ERANGE);
    g_assert_cmpint(v, ==, INT64_MAX);
    g_assert_cmpint(qemu_strtoi64("-9223372036854775809", NULL, 10, &v), ==,
                    -ERANGE);
    g_assert_cmpint(v, ==, INT64_MIN);
    g_assert_cmpint(qemu_strtoi64("12abc", &end, 10, &v), ==, 0);
    g_assert_cmpint(v, ==, 12);
    g_assert_cmpstr(end, ==, "abc");
}

static void test_strtou64_wraps_negative_like_strtoull(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtou64("18446744073709551615", NULL, 10, &v), ==, 0);
    g_assert_cmpuint(v, ==, UINT64_MAX);
    g_assert_cmpint(qemu_strtou64("-1", NULL, 10, &v), ==, 0);
    g_assert_cmpuint(v, ==, UINT64_MAX);
    g_assert_cmpint(qemu_strtou64("18446744073709551616", NULL, 10, &v), ==,
                    -ERANGE);
    g_assert_cmpint(qemu_strtou64("abc", NULL, 10, &v), ==, -EINVAL);
}

static void test_strtoi_clamps_to_int(void)
{
    int v;
    unsigned int u;
    unsigned long ul;

    g_assert_cmpint(qemu_strtoi("2147483647", NULL, 10, &v), ==, 0);
    g_assert_cmpint(v, ==, INT_MAX);
    g_assert_cmpint(qemu_strtoi("2147483648", NULL, 10, &v), ==, -ERANGE);
    g_assert_cmpint(v, ==, INT_MAX);
    g_assert_cmpint(qemu_strtoi("-2147483649", NULL, 10, &v), ==, -ERANGE);
    g_assert_cmpint(v, ==, INT_MIN);
    g_assert_cmpint(qemu_strtoi("1x", NULL, 10, &v), ==, -EINVAL);

    g_assert_cmpint(qemu_strtoui("4294967295", NULL, 10, &u), ==, 0);
    g_assert_cmpuint(u, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("4294967296", NULL, 10, &u), ==, -ERANGE);
    g_assert_cmpint(qemu_strtoui("-1", NULL, 10, &u), ==, 0);
    g_assert_cmpuint(u, ==, UINT_MAX);

    g_assert_cmpint(qemu_strtoul("0777", NULL, 0, &ul), ==, 0);
    g_assert_cmpuint(ul, ==, 0777);
}

static void test_size_to_str_picks_unit(void)
{
    static const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {0, "0 B"},          {512, "512 B"},         {999, "999 B"},
        {1000, "0.977 KiB"}, {1536, "1.5 KiB"},      {MiB, "1 MiB"},
        {4 * GiB, "4 GiB"},  {UINT64_MAX, "16 EiB"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *s = size_to_str(cases[i].v);

        g_assert_cmpstr(s, ==, cases[i].s);
    }
}

static void test_parse_bool_words(void)
{
    bool b;

    g_assert_true(qemu_parse_bool("on", &b) && b);
    g_assert_true(qemu_parse_bool("yes", &b) && b);
    g_assert_true(qemu_parse_bool("true", &b) && b);
    g_assert_true(qemu_parse_bool("off", &b) && !b);
    g_assert_true(qemu_parse_bool("no", &b) && !b);
    g_assert_true(qemu_parse_bool("false", &b) && !b);
    g_assert_false(qemu_parse_bool("1", &b));
    g_assert_false(qemu_parse_bool("On", &b));
    g_assert_false(qemu_parse_bool(NULL, &b));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cutils/strtosz/plain-number-is-bytes",
                    test_strtosz_plain_number_is_bytes);
    g_test_add_func("/cutils/strtosz/every-suffix-is-power-of-1024",
                    test_strtosz_every_suffix_is_power_of_1024);
    g_test_add_func("/cutils/strtosz/decimal-fraction",
                    test_strtosz_decimal_fraction);
    g_test_add_func("/cutils/strtosz/hex-integer-only",
                    test_strtosz_hex_integer_only);
    g_test_add_func("/cutils/strtosz/garbage-is-einval",
                    test_strtosz_garbage_is_einval);
    g_test_add_func("/cutils/strtosz/overflow-is-erange",
                    test_strtosz_overflow_is_erange);
    g_test_add_func("/cutils/strtosz/end-pointer-allows-trailing",
                    test_strtosz_end_pointer_allows_trailing);
    g_test_add_func("/cutils/strtosz/MiB-default-unit",
                    test_strtosz_mib_default_unit);
    g_test_add_func("/cutils/strtoi64/full-string-and-range",
                    test_strtoi64_full_string_and_range);
    g_test_add_func("/cutils/strtou64/wraps-negative-like-strtoull",
                    test_strtou64_wraps_negative_like_strtoull);
    g_test_add_func("/cutils/strtoi/clamps-to-int", test_strtoi_clamps_to_int);
    g_test_add_func("/cutils/size-to-str/picks-unit",
                    test_size_to_str_picks_unit);
    g_test_add_func("/cutils/parse-bool/words", test_parse_bool_words);
    return g_test_run();
}
