/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-hmp-expr: the HMP expression language evaluates C-base numbers and
 * operators with the documented precedence, stops at trailing text, and
 * reports QEMU's errors for malformed input.
 */
#include "qemu/osdep.h"
#include "monitor/hmp-expr.h"

static void check_value(const char *text, uint64_t expect, const char *rest)
{
    const char *p = text;
    uint64_t v = 0;
    Error *err = NULL;

    g_assert_true(hmp_expr_eval(&p, &v, &err));
    g_assert_null(err);
    g_assert_cmphex(v, ==, expect);
    g_assert_cmpstr(p, ==, rest);
}

static void check_error(const char *text, const char *msg)
{
    const char *p = text;
    uint64_t v;
    Error *err = NULL;

    g_assert_false(hmp_expr_eval(&p, &v, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_hmp_expr_values_and_precedence(void)
{
    check_value("0x1000", 0x1000, "");
    check_value("010", 8, "");
    check_value(" 1 + 2 * 3", 7, "");
    check_value("(1 + 2) * 3", 9, "");
    check_value("0x10 | 1 + 1", 0x12, "");
    check_value("1 + 0x10 & 0x18", 0x11, "");
    check_value("-1", UINT64_MAX, "");
    check_value("~0 ^ 0xff", ~(uint64_t)0xff, "");
    check_value("7 % 4 / 1", 3, "");
    check_value("0x100 junk", 0x100, "junk");
}

static void test_hmp_expr_errors(void)
{
    check_error("", "unexpected end of expression");
    check_error("(1 + 2", "')' expected");
    check_error("4 / 0", "division by zero");
    check_error("x", "invalid char 'x' in expression");
    check_error("0x1ffffffffffffffff", "number too large");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp-expr/values-and-precedence",
                    test_hmp_expr_values_and_precedence);
    g_test_add_func("/hmp-expr/errors", test_hmp_expr_errors);
    return g_test_run();
}
