/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-option.c: "key=val,..." option strings: ",," escapes, the implied
 * key, key-alone means on, typed getters' errors in QEMU's words,
 * check_known, round trip through qemu_opts_to_string.
 */
#include "qemu/osdep.h"
#include "qemu/option.h"

static void test_opts_parse_pairs_keep_order(void)
{
    QemuOpts *opts = qemu_opts_parse("b=2,a=1,c=3", NULL, &error_abort);

    g_assert_cmpuint(qemu_opts_count(opts), ==, 3);
    g_assert_cmpstr(qemu_opts_key(opts, 0), ==, "b");
    g_assert_cmpstr(qemu_opts_value(opts, 0), ==, "2");
    g_assert_cmpstr(qemu_opts_key(opts, 2), ==, "c");
    g_assert_cmpstr(qemu_opt_get(opts, "a"), ==, "1");
    g_assert_null(qemu_opt_get(opts, "d"));
    g_assert_false(qemu_opt_has(opts, "d"));
    qemu_opts_free(opts);
}

static void test_opts_double_comma_escapes(void)
{
    QemuOpts *opts = qemu_opts_parse(
        "authz-simple,id=auth0,identity=C=GB,,O=Wire Test,,CN=client,x=,,",
        "qom-type", &error_abort);

    g_assert_cmpstr(qemu_opt_get(opts, "qom-type"), ==, "authz-simple");
    g_assert_cmpstr(qemu_opt_get(opts, "identity"), ==,
                    "C=GB,O=Wire Test,CN=client");
    g_assert_cmpstr(qemu_opt_get(opts, "x"), ==, ",");
    qemu_opts_free(opts);
}

static void test_opts_implied_key_only_first(void)
{
    QemuOpts *opts = qemu_opts_parse("tls-creds-x509,id=x,verify-peer",
                                     "qom-type", &error_abort);

    g_assert_cmpstr(qemu_opt_get(opts, "qom-type"), ==, "tls-creds-x509");
    g_assert_cmpstr(qemu_opt_get(opts, "id"), ==, "x");
    /* key alone later on means on */
    g_assert_cmpstr(qemu_opt_get(opts, "verify-peer"), ==, "on");
    qemu_opts_free(opts);

    /* first element with '=' is a normal pair even with an implied key */
    opts = qemu_opts_parse("accel=kvm", "type", &error_abort);
    g_assert_false(qemu_opt_has(opts, "type"));
    g_assert_cmpstr(qemu_opt_get(opts, "accel"), ==, "kvm");
    qemu_opts_free(opts);

    /* an implied value may contain ",," */
    opts = qemu_opts_parse("a,,b,k=v", "type", &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "type"), ==, "a,b");
    g_assert_cmpstr(qemu_opt_get(opts, "k"), ==, "v");
    qemu_opts_free(opts);
}

static void test_opts_key_alone_without_implied_is_on(void)
{
    QemuOpts *opts =
        qemu_opts_parse("server,nowait,port=4", NULL, &error_abort);

    g_assert_cmpstr(qemu_opt_get(opts, "server"), ==, "on");
    /* "no" prefix is not special */
    g_assert_cmpstr(qemu_opt_get(opts, "nowait"), ==, "on");
    qemu_opts_free(opts);
}

static void test_opts_repeated_key_keeps_last(void)
{
    QemuOpts *opts = qemu_opts_parse("a=1,b=2,a=3", NULL, &error_abort);

    g_assert_cmpuint(qemu_opts_count(opts), ==, 2);
    g_assert_cmpstr(qemu_opts_key(opts, 0), ==, "a");
    g_assert_cmpstr(qemu_opt_get(opts, "a"), ==, "3");
    qemu_opts_free(opts);
}

static void test_opts_empty_key_error(void)
{
    const char *bad[] = {"=x", "a=1,=2", "a=1,,,=2", ",a=1"};
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        Error *err = NULL;

        g_assert_null(qemu_opts_parse(bad[i], NULL, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter ''");
        error_free(err);
    }
}

static void test_opts_empty_and_trailing_comma_ok(void)
{
    QemuOpts *opts = qemu_opts_parse("", NULL, &error_abort);

    g_assert_cmpuint(qemu_opts_count(opts), ==, 0);
    qemu_opts_free(opts);
    opts = qemu_opts_parse("a=1,", NULL, &error_abort);
    g_assert_cmpuint(qemu_opts_count(opts), ==, 1);
    qemu_opts_free(opts);
}

static void test_opts_bool_values_and_error(void)
{
    QemuOpts *opts = qemu_opts_parse("a=on,b=off,c=yes,d=no,e=true,f=false,"
                                     "g=maybe",
                                     NULL, &error_abort);
    Error *err = NULL;

    g_assert_true(qemu_opt_get_bool(opts, "a", false, &error_abort));
    g_assert_false(qemu_opt_get_bool(opts, "b", true, &error_abort));
    g_assert_true(qemu_opt_get_bool(opts, "c", false, &error_abort));
    g_assert_false(qemu_opt_get_bool(opts, "d", true, &error_abort));
    g_assert_true(qemu_opt_get_bool(opts, "e", false, &error_abort));
    g_assert_false(qemu_opt_get_bool(opts, "f", true, &error_abort));
    g_assert_true(qemu_opt_get_bool(opts, "absent", true, &error_abort));
    g_assert_true(qemu_opt_get_bool(opts, "g", true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'g' expects 'on' or 'off'");
    error_free(err);
    qemu_opts_free(opts);
}

static void test_opts_number_values_and_error(void)
{
    QemuOpts *opts =
        qemu_opts_parse("n=42,h=0x10,bad=12a,neg=x", NULL, &error_abort);
    Error *err = NULL;

    g_assert_cmpuint(qemu_opt_get_number(opts, "n", 0, &error_abort), ==, 42);
    g_assert_cmpuint(qemu_opt_get_number(opts, "h", 0, &error_abort), ==, 16);
    g_assert_cmpuint(qemu_opt_get_number(opts, "absent", 7, &error_abort), ==,
                     7);
    g_assert_cmpuint(qemu_opt_get_number(opts, "bad", 5, &err), ==, 5);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' expects a number");
    error_free(err);
    qemu_opts_free(opts);
}

static void test_opts_size_values_and_error(void)
{
    QemuOpts *opts =
        qemu_opts_parse("s=1G,t=512,u=1.5k,bad=1x,big=16E", NULL, &error_abort);
    Error *err = NULL;

    g_assert_cmpuint(qemu_opt_get_size(opts, "s", 0, &error_abort), ==, GiB);
    g_assert_cmpuint(qemu_opt_get_size(opts, "t", 0, &error_abort), ==, 512);
    g_assert_cmpuint(qemu_opt_get_size(opts, "u", 0, &error_abort), ==, 1536);
    g_assert_cmpuint(qemu_opt_get_size(opts, "bad", 3, &err), ==, 3);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' expects a size");
    error_free(err);
    err = NULL;
    qemu_opt_get_size(opts, "big", 0, &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Value '16E' out of range for parameter 'big'");
    error_free(err);
    qemu_opts_free(opts);
}

static void test_opts_check_known_names_first_unknown(void)
{
    static const char *const known[] = {"id", "dir", "endpoint", NULL};
    QemuOpts *opts =
        qemu_opts_parse("id=a,dir=/x,bogus=1,other=2", NULL, &error_abort);
    Error *err = NULL;

    g_assert_false(qemu_opts_check_known(opts, known, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'bogus'");
    error_free(err);
    qemu_opt_unset(opts, "bogus");
    qemu_opt_unset(opts, "other");
    g_assert_true(qemu_opts_check_known(opts, known, &error_abort));
    qemu_opts_free(opts);
}

static void test_opts_set_unset(void)
{
    QemuOpts *opts = qemu_opts_new();

    qemu_opt_set(opts, "a", "1");
    qemu_opt_set(opts, "b", "2");
    qemu_opt_set(opts, "a", qemu_opt_get(opts, "a")); /* aliasing */
    g_assert_cmpstr(qemu_opt_get(opts, "a"), ==, "1");
    qemu_opt_unset(opts, "a");
    qemu_opt_unset(opts, "never");
    g_assert_cmpuint(qemu_opts_count(opts), ==, 1);
    g_assert_cmpstr(qemu_opts_key(opts, 0), ==, "b");
    qemu_opts_free(opts);
    qemu_opts_free(NULL);
}

static void test_opts_to_string_round_trips(void)
{
    const char *in = "qom-type=secret,id=s0,data=a,,b,flag=on";
    QemuOpts *opts = qemu_opts_parse(in, NULL, &error_abort);
    g_autofree char *out = qemu_opts_to_string(opts);
    QemuOpts *again = qemu_opts_parse(out, NULL, &error_abort);

    g_assert_cmpstr(out, ==, in);
    g_assert_cmpstr(qemu_opt_get(again, "data"), ==, "a,b");
    qemu_opts_free(opts);
    qemu_opts_free(again);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/parse/pairs-keep-order",
                    test_opts_parse_pairs_keep_order);
    g_test_add_func("/option/parse/double-comma-escapes",
                    test_opts_double_comma_escapes);
    g_test_add_func("/option/parse/implied-key-only-first",
                    test_opts_implied_key_only_first);
    g_test_add_func("/option/parse/key-alone-is-on",
                    test_opts_key_alone_without_implied_is_on);
    g_test_add_func("/option/parse/repeated-key-keeps-last",
                    test_opts_repeated_key_keeps_last);
    g_test_add_func("/option/parse/empty-key-error", test_opts_empty_key_error);
    g_test_add_func("/option/parse/empty-and-trailing-comma-ok",
                    test_opts_empty_and_trailing_comma_ok);
    g_test_add_func("/option/get/bool-values-and-error",
                    test_opts_bool_values_and_error);
    g_test_add_func("/option/get/number-values-and-error",
                    test_opts_number_values_and_error);
    g_test_add_func("/option/get/size-values-and-error",
                    test_opts_size_values_and_error);
    g_test_add_func("/option/check-known/names-first-unknown",
                    test_opts_check_known_names_first_unknown);
    g_test_add_func("/option/set-unset", test_opts_set_unset);
    g_test_add_func("/option/to-string/round-trips",
                    test_opts_to_string_round_trips);
    return g_test_run();
}
