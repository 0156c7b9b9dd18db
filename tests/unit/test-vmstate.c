/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vmstate.c: VMState save/load round-trips, subsections, version
 * checks, vmdesc JSON, and hostile input.
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "migration/vmstate.h"

typedef struct Inner {
    uint16_t a;
    int32_t b;
} Inner;

typedef struct Dev {
    bool flag;
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    uint32_t arr[4];
    uint8_t buf[10];
    Inner inner;
    Inner inners[2];
    uint32_t count;
    uint64_t varr[8];
    uint32_t v2_only; /* field from version 2 */
    /* subsection state */
    bool sub_needed;
    uint64_t sub_val;
    int post_load_calls;
    int post_load_ret;
} Dev;

static const VMStateDescription vmstate_inner = {
    .name = "inner",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT16(a, Inner),
            VMSTATE_INT32(b, Inner),
            VMSTATE_END_OF_LIST(),
        },
};

static bool dev_sub_needed(void *opaque)
{
    return ((Dev *)opaque)->sub_needed;
}

static const VMStateDescription vmstate_dev_sub = {
    .name = "dev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = dev_sub_needed,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT64(sub_val, Dev),
            VMSTATE_END_OF_LIST(),
        },
};

static int dev_post_load(void *opaque, int version_id, Error **errp)
{
    Dev *d = opaque;

    d->post_load_calls++;
    if (d->post_load_ret) {
        error_setg(errp, "dev refuses: %d", version_id);
    }
    return d->post_load_ret;
}

static const VMStateDescription vmstate_dev = {
    .name = "dev",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load_errp = dev_post_load,
    .fields =
        (const VMStateField[]){
            VMSTATE_BOOL(flag, Dev),
            VMSTATE_INT8(i8, Dev),
            VMSTATE_UINT8(u8, Dev),
            VMSTATE_INT16(i16, Dev),
            VMSTATE_UINT16(u16, Dev),
            VMSTATE_INT32(i32, Dev),
            VMSTATE_UINT32(u32, Dev),
            VMSTATE_INT64(i64, Dev),
            VMSTATE_UINT64(u64, Dev),
            VMSTATE_UINT32_ARRAY(arr, Dev, 4),
            VMSTATE_BUFFER(buf, Dev),
            VMSTATE_UNUSED(3),
            VMSTATE_STRUCT(inner, Dev, 0, vmstate_inner, Inner),
            VMSTATE_STRUCT_ARRAY(inners, Dev, 2, 0, vmstate_inner, Inner),
            VMSTATE_UINT32(count, Dev),
            VMSTATE_VARRAY_UINT32_V(varr, Dev, count, 8, 0, vmstate_info_uint64,
                                    uint64_t),
            VMSTATE_UINT32_V(v2_only, Dev, 2),
            VMSTATE_END_OF_LIST(),
        },
    .subsections =
        (const VMStateDescription *const[]){
            &vmstate_dev_sub,
            NULL,
        },
};

/* Wire size of vmstate_dev at version 2 without the subsection. */
#define DEV_WIRE_SIZE                                                          \
    (1 + 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 16 + 10 + 3 + 6 + 12 + 4 + 8 * 3 + 4)

static void dev_fill(Dev *d)
{
    memset(d, 0, sizeof(*d));
    d->flag = true;
    d->i8 = -5;
    d->u8 = 250;
    d->i16 = -30000;
    d->u16 = 60000;
    d->i32 = -2000000000;
    d->u32 = 4000000000u;
    d->i64 = INT64_MIN + 7;
    d->u64 = UINT64_MAX - 9;
    d->arr[0] = 1;
    d->arr[3] = 4;
    memcpy(d->buf, "0123456789", 10);
    d->inner.a = 0x1234;
    d->inner.b = -1;
    d->inners[0].a = 7;
    d->inners[1].b = 8;
    d->count = 3;
    d->varr[0] = 10;
    d->varr[2] = 30;
    d->v2_only = 0xcafe;
    d->sub_val = 0x5555aaaa;
}

static QEMUFile *input_from(const uint8_t *data, size_t len)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len);
    QEMUFile *f;

    if (len) {
        memcpy(bioc->data, data, len);
    }
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    return f;
}

/* Load @len bytes of @data into @dst as @version_id; the load's result. */
static int load_dev(const uint8_t *data, size_t len, Dev *dst, int version_id,
                    Error **errp)
{
    QEMUFile *f = input_from(data, len);
    int ret = vmstate_load_state(f, &vmstate_dev, dst, version_id, errp);

    qemu_fclose(f);
    return ret;
}

/* Save d, return the bytes (caller g_free's). */
static uint8_t *save_bytes(Dev *d, size_t *len, GString *vmdesc)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint8_t *data;

    g_assert_cmpint(
        vmstate_save_state(f, &vmstate_dev, d, vmdesc, &error_abort), ==, 0);
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    data = g_memdup2(bioc->data, bioc->usage);
    *len = bioc->usage;
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return data;
}

static void test_roundtrip(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;

    dev_fill(&src);
    src.sub_needed = false;
    data = save_bytes(&src, &len, NULL);
    g_assert_cmpuint(len, ==, DEV_WIRE_SIZE);
    /* Integers are big-endian: i16 -30000 = 0x8ad0 at offset 3. */
    g_assert_cmpint(data[3], ==, 0x8a);
    g_assert_cmpint(data[4], ==, 0xd0);

    memset(&dst, 0, sizeof(dst));
    g_assert_cmpint(load_dev(data, len, &dst, 2, &error_abort), ==, 0);
    g_assert_cmpint(dst.post_load_calls, ==, 1);
    dst.post_load_calls = 0;
    src.sub_val = 0;
    g_assert(memcmp(&src, &dst, offsetof(Dev, sub_needed)) == 0);
}

static void test_subsection_roundtrip(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;
    QEMUFile *f;

    dev_fill(&src);
    src.sub_needed = true;
    data = save_bytes(&src, &len, NULL);
    g_assert_cmpuint(len, ==, DEV_WIRE_SIZE + 1 + 1 + 9 + 4 + 8);
    g_assert_cmpint(data[DEV_WIRE_SIZE], ==, 0x05);
    g_assert_cmpint(data[DEV_WIRE_SIZE + 1], ==, 9);
    g_assert(memcmp(data + DEV_WIRE_SIZE + 2, "dev/extra", 9) == 0);

    memset(&dst, 0, sizeof(dst));
    f = input_from(data, len);
    g_assert_cmpint(vmstate_load_state(f, &vmstate_dev, &dst, 2, &error_abort),
                    ==, 0);
    g_assert_cmpint(qemu_file_try_peek_byte(f), ==, -1);
    qemu_fclose(f);
    g_assert_cmphex(dst.sub_val, ==, 0x5555aaaa);
}

/* A version-1 stream lacks v2_only. */
static void test_older_version(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;

    dev_fill(&src);
    data = save_bytes(&src, &len, NULL);
    /* Drop the last 4 bytes (v2_only): what a v1 source sends. */
    memset(&dst, 0, sizeof(dst));
    g_assert_cmpint(load_dev(data, DEV_WIRE_SIZE - 4, &dst, 1, &error_abort),
                    ==, 0);
    g_assert_cmpuint(dst.v2_only, ==, 0);
    g_assert_cmpuint(dst.varr[2], ==, 30);
}

static void test_version_errors(void)
{
    Dev d;
    Error *err = NULL;
    QEMUFile *f = input_from((const uint8_t *)"", 0);

    memset(&d, 0, sizeof(d));
    g_assert_cmpint(vmstate_load_state(f, &vmstate_dev, &d, 3, &err), ==,
                    -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "dev: incoming version_id 3 is greater than our "
                    "version_id 2");
    error_free(err);
    err = NULL;
    g_assert_cmpint(vmstate_load_state(f, &vmstate_dev, &d, 0, &err), ==,
                    -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "dev: incoming version_id 0 is too old for "
                    "minimum_version_id 1");
    error_free(err);
    qemu_fclose(f);
}

/* Every truncation of a valid stream fails cleanly. */
static void test_truncated(void)
{
    Dev src, dst;
    size_t len, cut;
    g_autofree uint8_t *data = NULL;

    dev_fill(&src);
    src.sub_needed = true;
    data = save_bytes(&src, &len, NULL);
    for (cut = 0; cut < len; cut++) {
        Error *err = NULL;
        int ret;

        memset(&dst, 0, sizeof(dst));
        ret = load_dev(data, cut, &dst, 2, &err);
        if (cut == DEV_WIRE_SIZE) {
            /* Exactly the fields: valid, the subsection is optional. */
            g_assert_cmpint(ret, ==, 0);
            g_assert_null(err);
        } else {
            g_assert_cmpint(ret, <, 0);
            g_assert_nonnull(err);
            g_assert_cmpint(dst.post_load_calls, ==, 0);
            error_free(err);
        }
    }
}

static void test_unknown_subsection(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;
    Error *err = NULL;
    QEMUFile *f;

    dev_fill(&src);
    src.sub_needed = true;
    data = save_bytes(&src, &len, NULL);
    memcpy(data + DEV_WIRE_SIZE + 2, "dev/xtrax", 9);
    g_assert_cmpint(load_dev(data, len, &dst, 2, &err), <, 0);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unknown subsection 'dev/xtrax' for 'dev'");
    error_free(err);

    /* Another prefix is not ours: left in the stream for the caller. */
    memcpy(data + DEV_WIRE_SIZE + 2, "abc/extra", 9);
    f = input_from(data, len);
    g_assert_cmpint(vmstate_load_state(f, &vmstate_dev, &dst, 2, &error_abort),
                    ==, 0);
    g_assert_cmpint(qemu_get_byte(f), ==, 0x05);
    qemu_fclose(f);
}

static void test_post_load_error(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;
    Error *err = NULL;

    dev_fill(&src);
    data = save_bytes(&src, &len, NULL);
    memset(&dst, 0, sizeof(dst));
    dst.post_load_ret = -EINVAL;
    g_assert_cmpint(load_dev(data, len, &dst, 2, &err), ==, -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==, "dev refuses: 2");
    error_free(err);
}

/* A received element count above the array capacity is refused. */
static void test_varray_overflow(void)
{
    Dev src, dst;
    size_t len;
    g_autofree uint8_t *data = NULL;
    Error *err = NULL;
    size_t count_off = DEV_WIRE_SIZE - 4 - 24 - 4;

    dev_fill(&src);
    data = save_bytes(&src, &len, NULL);
    g_assert_cmpint(data[count_off + 3], ==, 3);
    data[count_off + 3] = 200;
    g_assert_cmpint(load_dev(data, len, &dst, 2, &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "exceeds the capacity"));
    error_free(err);
}

static void test_vmdesc(void)
{
    Dev src;
    size_t len;
    g_autofree uint8_t *data = NULL;
    g_autoptr(GString) desc = g_string_new("{");

    dev_fill(&src);
    src.sub_needed = true;
    data = save_bytes(&src, &len, desc);
    g_string_append_c(desc, '}');
    g_assert_cmpstr(
        desc->str, ==,
        "{\"vmsd_name\": \"dev\", \"version\": 2, \"fields\": ["
        "{\"name\": \"flag\", \"type\": \"bool\", \"size\": 1}, "
        "{\"name\": \"i8\", \"type\": \"int8\", \"size\": 1}, "
        "{\"name\": \"u8\", \"type\": \"uint8\", \"size\": 1}, "
        "{\"name\": \"i16\", \"type\": \"int16\", \"size\": 2}, "
        "{\"name\": \"u16\", \"type\": \"uint16\", \"size\": 2}, "
        "{\"name\": \"i32\", \"type\": \"int32\", \"size\": 4}, "
        "{\"name\": \"u32\", \"type\": \"uint32\", \"size\": 4}, "
        "{\"name\": \"i64\", \"type\": \"int64\", \"size\": 8}, "
        "{\"name\": \"u64\", \"type\": \"uint64\", \"size\": 8}, "
        "{\"name\": \"arr\", \"array_len\": 4, \"type\": \"uint32\", "
        "\"size\": 4}, "
        "{\"name\": \"buf\", \"type\": \"buffer\", \"size\": 10}, "
        "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 3}, "
        "{\"name\": \"inner\", \"type\": \"struct\", \"struct\": "
        "{\"vmsd_name\": \"inner\", \"version\": 1, \"fields\": ["
        "{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, "
        "{\"name\": \"b\", \"type\": \"int32\", \"size\": 4}]}, "
        "\"size\": 6}, "
        "{\"name\": \"inners\", \"index\": 0, \"type\": \"struct\", "
        "\"struct\": {\"vmsd_name\": \"inner\", \"version\": 1, "
        "\"fields\": [{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, "
        "{\"name\": \"b\", \"type\": \"int32\", \"size\": 4}]}, "
        "\"size\": 6}, "
        "{\"name\": \"inners\", \"index\": 1, \"type\": \"struct\", "
        "\"struct\": {\"vmsd_name\": \"inner\", \"version\": 1, "
        "\"fields\": [{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, "
        "{\"name\": \"b\", \"type\": \"int32\", \"size\": 4}]}, "
        "\"size\": 6}, "
        "{\"name\": \"count\", \"type\": \"uint32\", \"size\": 4}, "
        "{\"name\": \"varr\", \"array_len\": 3, \"type\": \"uint64\", "
        "\"size\": 8}, "
        "{\"name\": \"v2_only\", \"type\": \"uint32\", \"size\": 4}], "
        "\"subsections\": [{\"vmsd_name\": \"dev/extra\", \"version\": 1, "
        "\"fields\": [{\"name\": \"sub_val\", \"type\": \"uint64\", "
        "\"size\": 8}]}]}");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/roundtrip", test_roundtrip);
    g_test_add_func("/vmstate/subsection/roundtrip", test_subsection_roundtrip);
    g_test_add_func("/vmstate/subsection/unknown", test_unknown_subsection);
    g_test_add_func("/vmstate/version/older", test_older_version);
    g_test_add_func("/vmstate/version/errors", test_version_errors);
    g_test_add_func("/vmstate/truncated", test_truncated);
    g_test_add_func("/vmstate/post-load-error", test_post_load_error);
    g_test_add_func("/vmstate/varray-overflow", test_varray_overflow);
    g_test_add_func("/vmstate/vmdesc", test_vmdesc);
    return g_test_run();
}
