/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-qom.c: user-creatable objects: add/del, QEMU 7.2's error texts
 * for unknown type, missing/bad/duplicate id, unknown property, refusal
 * to delete, reference counting and finalize.
 */
#include "qemu/osdep.h"
#include "qom/object.h"

typedef struct TestObj {
    Object parent;
    char *data;
    bool in_use;
} TestObj;

static int finalize_count;

static bool test_obj_complete(Object *obj, QemuOpts *props, Error **errp)
{
    TestObj *t = (TestObj *)obj;
    const char *data = qemu_opt_get(props, "data");

    if (data && !strcmp(data, "bad")) {
        error_setg(errp, "Property 'data' is bad");
        return false;
    }
    t->data = g_strdup(data);
    t->in_use = qemu_opt_get_bool(props, "in-use", false, errp);
    return true;
}

static bool test_obj_can_delete(Object *obj, Error **errp)
{
    TestObj *t = (TestObj *)obj;

    if (t->in_use) {
        error_setg(errp, "object '%s' is in use", obj->id);
        return false;
    }
    return true;
}

static void test_obj_finalize(Object *obj)
{
    TestObj *t = (TestObj *)obj;

    g_free(t->data);
    finalize_count++;
}

static const char *const test_obj_props[] = {"data", "in-use", NULL};

static const ObjectTypeInfo test_obj_type = {
    .name = "test-obj",
    .instance_size = sizeof(TestObj),
    .props = test_obj_props,
    .complete = test_obj_complete,
    .can_delete = test_obj_can_delete,
    .finalize = test_obj_finalize,
};

static const ObjectTypeInfo bare_type = {
    .name = "bare",
    .instance_size = sizeof(Object),
};

/* Run fn's errp through add and check the message. */
static void assert_add_fails(const char *optstr, const char *msg)
{
    Error *err = NULL;

    g_assert_null(user_creatable_add_opts_str(optstr, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_qom_add_resolve_del(void)
{
    Object *obj;
    TestObj *t;

    finalize_count = 0;
    obj =
        user_creatable_add_opts_str("test-obj,id=t0,data=hello", &error_abort);
    g_assert_nonnull(obj);
    g_assert_true(object_resolve_id("t0") == obj);
    g_assert_true(object_type_lookup("test-obj") == &test_obj_type);
    t = (TestObj *)obj;
    g_assert_cmpstr(t->data, ==, "hello");
    g_assert_cmpstr(obj->id, ==, "t0");
    g_assert_true(object_resolve_id_type("t0", "test-obj", &error_abort) ==
                  obj);
    g_assert_true(user_creatable_del("t0", &error_abort));
    g_assert_null(object_resolve_id("t0"));
    g_assert_cmpint(finalize_count, ==, 1);
}

static void test_qom_add_from_qemu_opts(void)
{
    QemuOpts *props = qemu_opts_new();
    Object *obj;

    qemu_opt_set(props, "qom-type", "test-obj");
    qemu_opt_set(props, "id", "ignored");
    qemu_opt_set(props, "data", "x");
    obj = user_creatable_add("test-obj", "t1", props, &error_abort);
    g_assert_cmpstr(obj->id, ==, "t1");
    g_assert_null(object_resolve_id("ignored"));
    qemu_opts_free(props);
    /* no props at all */
    g_assert_nonnull(user_creatable_add("bare", "b1", NULL, &error_abort));
    g_assert_true(user_creatable_del("t1", &error_abort));
    g_assert_true(user_creatable_del("b1", &error_abort));
}

static void test_qom_unknown_type(void)
{
    assert_add_fails("no-such-type,id=x",
                     "Parameter 'qom-type' does not accept value "
                     "'no-such-type'");
    assert_add_fails("id=x", "Parameter 'qom-type' is missing");
}

static void test_qom_bad_or_missing_id(void)
{
    assert_add_fails("test-obj,data=a", "Parameter 'id' is missing");
    assert_add_fails("test-obj,id=1x", "Parameter 'id' expects an identifier");
    assert_add_fails("test-obj,id=a/b", "Parameter 'id' expects an identifier");
    g_assert_nonnull(
        user_creatable_add_opts_str("test-obj,id=a-b.c_d9", &error_abort));
    g_assert_true(user_creatable_del("a-b.c_d9", &error_abort));
}

static void test_qom_duplicate_id(void)
{
    Error *err = NULL;

    g_assert_nonnull(
        user_creatable_add_opts_str("test-obj,id=dup", &error_abort));
    assert_add_fails("bare,id=dup",
                     "attempt to add duplicate property 'dup' to object "
                     "(type 'container')");
    g_assert_null(user_creatable_add_cmdline("test-obj,id=dup", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Duplicate ID 'dup' for object");
    error_free(err);
    g_assert_true(user_creatable_del("dup", &error_abort));
}

static void test_qom_unknown_property(void)
{
    Error *err = NULL;

    assert_add_fails("test-obj,id=p,bogus=1",
                     "Parameter 'bogus' is unexpected");
    assert_add_fails("bare,id=p,data=1", "Parameter 'data' is unexpected");
    g_assert_null(user_creatable_add_cmdline("test-obj,id=p,bogus=1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'bogus'");
    error_free(err);
    g_assert_null(object_resolve_id("p"));
}

static void test_qom_complete_failure_finalizes(void)
{
    finalize_count = 0;
    assert_add_fails("test-obj,id=c,data=bad", "Property 'data' is bad");
    g_assert_null(object_resolve_id("c"));
    g_assert_cmpint(finalize_count, ==, 1);
}

static void test_qom_del_unknown_and_in_use(void)
{
    Error *err = NULL;

    g_assert_false(user_creatable_del("nope", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "object 'nope' not found");
    error_free(err);
    err = NULL;

    g_assert_nonnull(
        user_creatable_add_opts_str("test-obj,id=busy,in-use", &error_abort));
    g_assert_false(user_creatable_del("busy", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "object 'busy' is in use");
    error_free(err);
    g_assert_nonnull(object_resolve_id("busy"));
    ((TestObj *)object_resolve_id("busy"))->in_use = false;
    g_assert_true(user_creatable_del("busy", &error_abort));
}

static void test_qom_resolve_wrong_type(void)
{
    Error *err = NULL;

    g_assert_nonnull(user_creatable_add_opts_str("bare,id=w", &error_abort));
    g_assert_null(object_resolve_id_type("w", "test-obj", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "object 'w' has type 'bare', not 'test-obj'");
    error_free(err);
    err = NULL;
    g_assert_null(object_resolve_id_type("zz", "test-obj", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "object 'zz' not found");
    error_free(err);
    g_assert_true(user_creatable_del("w", &error_abort));
}

static void test_qom_ref_outlives_delete(void)
{
    Object *obj;

    finalize_count = 0;
    obj = user_creatable_add_opts_str("test-obj,id=r,data=kept", &error_abort);
    object_ref(obj);
    g_assert_true(user_creatable_del("r", &error_abort));
    /* gone from the table, still alive for the holder */
    g_assert_null(object_resolve_id("r"));
    g_assert_cmpint(finalize_count, ==, 0);
    g_assert_cmpstr(((TestObj *)obj)->data, ==, "kept");
    object_unref(obj);
    g_assert_cmpint(finalize_count, ==, 1);
    object_unref(NULL);
}

static void test_qom_cleanup_deletes_all(void)
{
    finalize_count = 0;
    user_creatable_add_opts_str("test-obj,id=c1", &error_abort);
    user_creatable_add_opts_str("test-obj,id=c2", &error_abort);
    user_creatable_cleanup();
    g_assert_null(object_resolve_id("c1"));
    g_assert_null(object_resolve_id("c2"));
    g_assert_cmpint(finalize_count, ==, 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    object_type_register(&test_obj_type);
    object_type_register(&bare_type);
    g_test_add_func("/qom/add-resolve-del", test_qom_add_resolve_del);
    g_test_add_func("/qom/add-from-qemu-opts", test_qom_add_from_qemu_opts);
    g_test_add_func("/qom/error/unknown-type", test_qom_unknown_type);
    g_test_add_func("/qom/error/bad-or-missing-id", test_qom_bad_or_missing_id);
    g_test_add_func("/qom/error/duplicate-id", test_qom_duplicate_id);
    g_test_add_func("/qom/error/unknown-property", test_qom_unknown_property);
    g_test_add_func("/qom/error/complete-failure-finalizes",
                    test_qom_complete_failure_finalizes);
    g_test_add_func("/qom/error/del-unknown-and-in-use",
                    test_qom_del_unknown_and_in_use);
    g_test_add_func("/qom/error/resolve-wrong-type",
                    test_qom_resolve_wrong_type);
    g_test_add_func("/qom/ref-outlives-delete", test_qom_ref_outlives_delete);
    g_test_add_func("/qom/cleanup-deletes-all", test_qom_cleanup_deletes_all);
    return g_test_run();
}
