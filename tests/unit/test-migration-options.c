/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-migration-options: capabilities and parameters (migration/options.c)
 * keep QEMU 7.2's names, order, defaults and error texts, and a failed
 * set changes nothing.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"
#include "../../migration/options-json.h"
#include "../../migration/migration.h"

/* Stubs for what options.c needs from migration.c. */
static bool fake_running;
static int params_changed;

bool migration_is_running(void)
{
    return fake_running;
}

void migration_parameters_changed(void)
{
    params_changed++;
}

static void check_set_json(const char *json, const char *want_err)
{
    json_object *args = json_tokener_parse(json);
    Error *err = NULL;
    bool ok = migrate_parameters_set_json(args, &err);

    if (want_err) {
        g_assert_false(ok);
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, want_err);
        error_free(err);
    } else {
        g_assert_true(ok);
        g_assert_null(err);
    }
    json_object_put(args);
}

static void check_set_str(const char *name, const char *value,
                          const char *want_err)
{
    Error *err = NULL;
    bool ok = migrate_parameter_set_str(name, value, &err);

    if (want_err) {
        g_assert_false(ok);
        g_assert_cmpstr(error_get_pretty(err), ==, want_err);
        error_free(err);
    } else {
        g_assert_true(ok);
    }
}

static void test_defaults(void)
{
    migrate_options_reset();
    g_assert_cmpuint(migrate_max_bandwidth(), ==, 134217728);
    g_assert_cmpuint(migrate_downtime_limit(), ==, 300);
    g_assert_cmpint(migrate_cpu_throttle_initial(), ==, 20);
    g_assert_cmpint(migrate_cpu_throttle_increment(), ==, 10);
    g_assert_cmpint(migrate_max_cpu_throttle(), ==, 99);
    g_assert_cmpint(migrate_throttle_trigger_threshold(), ==, 50);
    g_assert_cmpint(migrate_multifd_channels(), ==, 2);
    g_assert_cmpstr(migrate_tls_creds(), ==, "");
    g_assert_cmpstr(migrate_tls_hostname(), ==, "");
    g_assert_cmpstr(migrate_tls_authz(), ==, "");
    g_assert_false(migrate_events());
}

static void test_capability_order(void)
{
    json_object *caps = migrate_capabilities_to_json();

    /* QEMU 7.2's 21, then mapped-ram (QEMU 9.0), then Tern's own */
    g_assert_cmpint(json_object_array_length(caps), ==, 24);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
                        json_object_array_get_idx(caps, 0), "capability")),
                    ==, "xbzrle");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
                        json_object_array_get_idx(caps, 20), "capability")),
                    ==, "postcopy-preempt");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
                        json_object_array_get_idx(caps, 21), "capability")),
                    ==, "mapped-ram");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
                        json_object_array_get_idx(caps, 22), "capability")),
                    ==, "x-checkpoint-assisted");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(
                        json_object_array_get_idx(caps, 23), "capability")),
                    ==, "x-precopy-recover");
    json_object_put(caps);
}

static void test_capability_set(void)
{
    Error *err = NULL;

    migrate_options_reset();
    g_assert_true(migrate_capability_set("events", true, &err));
    g_assert_true(migrate_events());
    g_assert_false(migrate_capability_set("x-colo", true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Capability 'x-colo' is not supported by Tern yet");
    error_free(err);
    err = NULL;
    g_assert_false(migrate_capability_set("nosuch", true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "invalid parameter value: nosuch");
    error_free(err);
    err = NULL;
    fake_running = true;
    g_assert_false(migrate_capability_set("events", false, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "There's a migration process in progress");
    error_free(err);
    fake_running = false;
    g_assert_true(migrate_events());
}

static void test_parameter_json(void)
{
    migrate_options_reset();
    check_set_json("{\"downtime-limit\": 2000001}",
                   "Parameter 'downtime_limit' expects an integer in the "
                   "range of 0 to (2000 * 1000) ms");
    check_set_json("{\"multifd-channels\": 256}",
                   "Parameter 'multifd-channels' expects uint8_t");
    check_set_json("{\"max-cpu-throttle\": 10}",
                   "Parameter 'max_cpu_throttle' expects an integer in the "
                   "range of cpu_throttle_initial to 99");
    check_set_json("{\"no-such\": 1}", "Parameter 'no-such' is unexpected");
    /* All or nothing: the valid member of a failed set is not applied. */
    check_set_json("{\"max-bandwidth\": 5, \"compress-level\": 10}",
                   "Parameter 'compress_level' expects a value between 0 "
                   "and 9");
    g_assert_cmpuint(migrate_max_bandwidth(), ==, 134217728);
    params_changed = 0;
    check_set_json("{\"max-bandwidth\": 300000, \"tls-creds\": \"tls0\"}",
                   NULL);
    g_assert_cmpuint(migrate_max_bandwidth(), ==, 300000);
    g_assert_cmpstr(migrate_tls_creds(), ==, "tls0");
    g_assert_cmpint(params_changed, ==, 1);
    check_set_json("{\"tls-creds\": null}", NULL);
    g_assert_cmpstr(migrate_tls_creds(), ==, "");
}

static void test_parameter_hmp(void)
{
    migrate_options_reset();
    check_set_str("max-bandwidth", "100", NULL);
    g_assert_cmpuint(migrate_max_bandwidth(), ==, 100 * MiB);
    check_set_str("max-bandwidth", "1.5k", NULL);
    g_assert_cmpuint(migrate_max_bandwidth(), ==, 1536);
    check_set_str("downtime-limit", "1k", NULL);
    g_assert_cmpuint(migrate_downtime_limit(), ==, 1024);
    check_set_str("max-bandwidth", "abc", "Invalid size abc");
    check_set_str("compress-level", "300",
                  "Parameter 'compress-level' expects uint8_t");
    check_set_str("compress-level", "abc",
                  "Parameter 'compress-level' expects uint64");
    check_set_str("cpu-throttle-tailslow", "maybe",
                  "Parameter 'cpu-throttle-tailslow' expects 'on' or 'off'");
    check_set_str("nosuch", "1", "invalid parameter value: nosuch");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/options/defaults", test_defaults);
    g_test_add_func("/migration/options/capability-order",
                    test_capability_order);
    g_test_add_func("/migration/options/capability-set", test_capability_set);
    g_test_add_func("/migration/options/parameter-json", test_parameter_json);
    g_test_add_func("/migration/options/parameter-hmp", test_parameter_hmp);
    return g_test_run();
}
