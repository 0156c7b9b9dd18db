/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-error.c: Error **errp semantics (first error wins, propagate,
 * prepend, errno text, classes).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"

static void test_error_first_wins(void)
{
    Error *err = NULL;

    error_setg(&err, "first %d", 1);
    error_setg(&err, "second");
    g_assert_cmpstr(error_get_pretty(err), ==, "first 1");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    error_free(err);
}

static void test_error_null_errp_ignored(void)
{
    error_setg(NULL, "dropped");
    error_propagate(NULL, NULL);
}

static void test_error_errno_suffix(void)
{
    Error *err = NULL;

    error_setg_errno(&err, ECONNREFUSED, "Failed to connect to '%s'",
                     "localhost:4444");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Failed to connect to 'localhost:4444': "
                    "Connection refused");
    error_free(err);
}

static void test_error_propagate_prepend(void)
{
    Error *local = NULL, *dst = NULL;

    error_setg(&local, "inner");
    error_propagate_prepend(&dst, local, "outer: ");
    g_assert_cmpstr(error_get_pretty(dst), ==, "outer: inner");
    local = NULL;
    error_setg(&local, "later");
    error_propagate(&dst, local); /* dropped: dst already set */
    g_assert_cmpstr(error_get_pretty(dst), ==, "outer: inner");
    error_prepend(&dst, "%s ", "top:");
    g_assert_cmpstr(error_get_pretty(dst), ==, "top: outer: inner");
    error_free(dst);
}

static void test_error_class_names(void)
{
    Error *err = NULL;

    error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
              "The command x has not been found");
    g_assert_cmpstr(error_class_name(error_get_class(err)), ==,
                    "CommandNotFound");
    error_free(err);
    g_assert_cmpstr(error_class_name(ERROR_CLASS_GENERIC_ERROR), ==,
                    "GenericError");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/first-wins", test_error_first_wins);
    g_test_add_func("/error/null-errp", test_error_null_errp_ignored);
    g_test_add_func("/error/errno-suffix", test_error_errno_suffix);
    g_test_add_func("/error/propagate-prepend", test_error_propagate_prepend);
    g_test_add_func("/error/class-names", test_error_class_names);
    return g_test_run();
}
