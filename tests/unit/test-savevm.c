/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-savevm.c: whole streams.  Save then load with a fake live "ram"
 * handler and the timer/globalstate devices; every malformed input gives
 * QEMU 7.2's error text; a stream built byte by byte like the one QEMU
 * 7.2 -M none sends loads; COMMAND handlers registered later slot in as
 * rows of the command table; with no hooks installed everything reads as
 * off.  The fake devices are tests/unit/stubs/fake-devices.c.
 */
#include "qemu/osdep.h"
#include <signal.h>
#include <sys/socket.h>
#include "io/channel-buffer.h"
#include "io/channel-socket.h"
#include "sysemu/runstate.h"
#include "migration/global_state.h"
#include "migration/qemu-file.h"
#include "migration/register.h"
#include "migration/savevm.h"
#include "migration/vmstate.h"
#include "stubs/fake-devices.h"
#include "stubs/runstate.h"

/* ------------------------------------------------------------------ */
/* Hooks: what the migration subsystem answers in the real binary */

/* The return path, simulated. */
static bool fake_rp_available;
static GArray *pings_seen;

static bool fake_open_return_path(QEMUFile *f, Error **errp)
{
    if (!fake_rp_available) {
        error_setg(errp, "CMD_OPEN_RETURN_PATH failed");
        return false;
    }
    return true;
}

static bool fake_answer_ping(uint32_t value, Error **errp)
{
    g_array_append_val(pings_seen, value);
    return true;
}

/* Configuration, simulated. */
static bool local_ignore_shared;
static bool local_uuid_set;
static uint8_t local_uuid[16];

static bool fake_validated_capability(const char *name)
{
    return !strcmp(name, "x-ignore-shared") && local_ignore_shared;
}

static bool fake_local_uuid(uint8_t uuid[16])
{
    if (local_uuid_set) {
        memcpy(uuid, local_uuid, 16);
    }
    return local_uuid_set;
}

static const SaveVMHooks fake_hooks = {
    .validated_capability = fake_validated_capability,
    .local_uuid = fake_local_uuid,
    .open_return_path = fake_open_return_path,
    .answer_ping = fake_answer_ping,
};

/* Postcopy's command handlers, simulated: they log what they got. */
static bool fake_quit_on_run;
static GString *commands_seen;

static int fake_postcopy_command(const LoadVMCommand *c, Error **errp)
{
    g_string_append_printf(commands_seen, "%s(%u) ",
                           qemu_savevm_command_name(c->cmd), c->len);
    if (c->cmd == MIG_CMD_POSTCOPY_RUN && fake_quit_on_run) {
        return LOADVM_QUIT;
    }
    return 0;
}

static const enum qemu_vm_cmd postcopy_cmds[] = {
    MIG_CMD_POSTCOPY_ADVISE,      MIG_CMD_POSTCOPY_LISTEN, MIG_CMD_POSTCOPY_RUN,
    MIG_CMD_POSTCOPY_RAM_DISCARD, MIG_CMD_POSTCOPY_RESUME, MIG_CMD_RECV_BITMAP,
};

/* Install (or with false, remove) the simulated postcopy handlers. */
static void fake_postcopy_register(bool on)
{
    for (size_t i = 0; i < G_N_ELEMENTS(postcopy_cmds); i++) {
        loadvm_command_register(postcopy_cmds[i],
                                on ? fake_postcopy_command : NULL);
    }
}

/* ------------------------------------------------------------------ */
/* Helpers */

static void fill_ram(void)
{
    int i, j;

    memset(fake_ram.mem, 0, sizeof(fake_ram.mem));
    for (i = 0; i < FAKE_RAM_PAGES; i += 3) {
        for (j = 0; j < 4096; j++) {
            fake_ram.mem[i * 4096 + j] = (i * 31 + j * 7) & 0xff;
        }
    }
}

/* Run the source side into a buffer; returns the stream (g_free). */
static uint8_t *save_stream(size_t *len)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint64_t must, can;
    uint8_t *data;
    int ret;

    qemu_savevm_state_header(f);
    g_assert_cmpint(qemu_savevm_state_setup(f, &error_abort), ==, 0);
    qemu_savevm_state_pending_estimate(&must, &can);
    g_assert_cmpuint(must, ==, FAKE_RAM_SIZE);
    do {
        ret = qemu_savevm_state_iterate(f);
        g_assert_cmpint(ret, >=, 0);
    } while (ret == 0 && fake_ram.next_page < FAKE_RAM_PAGES - 5);
    global_state_store();
    g_assert_cmpint(qemu_savevm_state_complete_precopy(f, &error_abort), ==, 0);
    qemu_savevm_state_cleanup();
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    data = g_memdup2(bioc->data, bioc->usage);
    *len = bioc->usage;
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return data;
}

static int load_bytes(const uint8_t *data, size_t len, Error **errp)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len);
    QEMUFile *f;
    int ret;

    if (len) {
        memcpy(bioc->data, data, len);
    }
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    global_state_reset_received();
    ret = qemu_loadvm_state(f, errp);
    qemu_fclose(f);
    return ret;
}

/* A byte builder for hand-made streams. */
static void b_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void b_be16(GByteArray *b, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);

    g_byte_array_append(b, (uint8_t *)&be, 2);
}

static void b_be32(GByteArray *b, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);

    g_byte_array_append(b, (uint8_t *)&be, 4);
}

static void b_be64(GByteArray *b, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    g_byte_array_append(b, (uint8_t *)&be, 8);
}

static void b_str8(GByteArray *b, const char *s)
{
    b_u8(b, strlen(s));
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

static void b_header(GByteArray *b, const char *machine)
{
    b_be32(b, 0x5145564d);
    b_be32(b, 3);
    b_u8(b, 0x07);
    b_be32(b, strlen(machine));
    g_byte_array_append(b, (const uint8_t *)machine, strlen(machine));
}

static void b_section_start(GByteArray *b, uint8_t type, uint32_t id,
                            const char *name, uint32_t inst, uint32_t ver)
{
    b_u8(b, type);
    b_be32(b, id);
    b_str8(b, name);
    b_be32(b, inst);
    b_be32(b, ver);
}

static void b_footer(GByteArray *b, uint32_t id)
{
    b_u8(b, 0x7e);
    b_be32(b, id);
}

/* A QEMU_VM_COMMAND record's head: command @cmd, @len payload bytes. */
static void b_command(GByteArray *b, uint16_t cmd, uint16_t len)
{
    b_u8(b, 0x08);
    b_be16(b, cmd);
    b_be16(b, len);
}

/* ram START: block list "ram" then EOS. */
static void b_ram_start(GByteArray *b, uint32_t id)
{
    b_section_start(b, 0x01, id, "ram", 0, 4);
    b_be64(b, FAKE_RAM_SIZE | RAM_FLAG_MEM_SIZE);
    b_str8(b, "ram");
    b_be64(b, FAKE_RAM_SIZE);
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, id);
}

static void b_timer(GByteArray *b, uint32_t id, int64_t ticks, int64_t clock)
{
    b_section_start(b, 0x04, id, "timer", 0, 2);
    b_be64(b, ticks);
    b_be64(b, 0);
    b_be64(b, clock);
    b_footer(b, id);
}

static void b_globalstate(GByteArray *b, uint32_t id, const char *state)
{
    uint8_t buf[100] = {0};

    b_section_start(b, 0x04, id, "globalstate", 0, 1);
    b_be32(b, strlen(state) + 1);
    memcpy(buf, state, strlen(state));
    g_byte_array_append(b, buf, 100);
    b_footer(b, id);
}

static const char qemu_none_vmdesc[] =
    "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", "
    "\"instance_id\": 0, \"vmsd_name\": \"timer\", \"version\": 2, "
    "\"fields\": [{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", "
    "\"size\": 8}, {\"name\": \"unused\", \"type\": \"unused_buffer\", "
    "\"size\": 8}, {\"name\": \"cpu_clock_offset\", \"type\": \"int64\", "
    "\"size\": 8}]}, {\"name\": \"globalstate\", \"instance_id\": 0, "
    "\"vmsd_name\": \"globalstate\", \"version\": 1, \"fields\": "
    "[{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}]}";

static void b_eof_vmdesc(GByteArray *b)
{
    b_u8(b, 0x00);
    b_u8(b, 0x06);
    b_be32(b, strlen(qemu_none_vmdesc));
    g_byte_array_append(b, (const uint8_t *)qemu_none_vmdesc,
                        strlen(qemu_none_vmdesc));
}

static void expect_error(GByteArray *b, int expect_ret, const char *msg)
{
    Error *err = NULL;
    int ret = load_bytes(b->data, b->len, &err);

    if (!err || strcmp(error_get_pretty(err), msg) != 0) {
        g_printerr("expected \"%s\", got \"%s\"\n", msg,
                   err ? error_get_pretty(err) : "(no error)");
    }
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    if (expect_ret) {
        g_assert_cmpint(ret, ==, expect_ret);
    } else {
        g_assert_cmpint(ret, <, 0);
    }
    error_free(err);
    g_byte_array_set_size(b, 0);
}

/* ------------------------------------------------------------------ */
/* Tests */

/* Save a full stream, wipe the state, load it back. */
static void test_save_load(void)
{
    g_autofree uint8_t *copy = g_malloc(FAKE_RAM_SIZE);
    g_autofree uint8_t *data = NULL;
    int64_t ticks, clock;
    size_t len;
    RunState rs;

    fill_ram();
    memcpy(copy, fake_ram.mem, FAKE_RAM_SIZE);
    fake_ram.pages_per_iter = 4;
    fake_ram.iterations = 0;
    timer_state_set(123456789, -42);
    fake_dev.reg = 0xfeedf00d;
    memcpy(fake_dev.fifo, "fifo-contents-16", 16);
    fake_dev.extra_needed = true;
    fake_dev.extra = 77;
    stub_runstate = RUN_STATE_RUNNING;

    data = save_stream(&len);
    g_assert_cmpint(fake_ram.iterations, >=, 2);
    g_assert(memcmp(data, "QEVM\0\0\0\3\x07\0\0\0\4none", 17) == 0);

    memset(fake_ram.mem, 0xee, FAKE_RAM_SIZE);
    timer_state_set(0, 0);
    memset(&fake_dev, 0, sizeof(fake_dev));
    fake_ram.load_setups = fake_ram.load_cleanups = 0;

    g_assert_cmpint(load_bytes(data, len, &error_abort), ==, 0);
    g_assert(memcmp(copy, fake_ram.mem, FAKE_RAM_SIZE) == 0);
    timer_state_get(&ticks, &clock);
    g_assert_cmpint(ticks, ==, 123456789);
    g_assert_cmpint(clock, ==, -42);
    g_assert_cmphex(fake_dev.reg, ==, 0xfeedf00d);
    g_assert(memcmp(fake_dev.fifo, "fifo-contents-16", 16) == 0);
    g_assert_cmpuint(fake_dev.extra, ==, 77);
    g_assert_true(global_state_received(&rs));
    g_assert_cmpint(rs, ==, RUN_STATE_RUNNING);
    g_assert_cmpint(global_state_get_runstate(), ==, RUN_STATE_RUNNING);
    g_assert_cmpint(fake_ram.load_setups, ==, 1);
    g_assert_cmpint(fake_ram.load_cleanups, ==, 1);
}

/* Every truncation fails cleanly; after EOF the trailer is optional. */
static void test_truncated(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len, cut, eof_at;
    uint32_t desc_len;

    fill_ram();
    fake_ram.pages_per_iter = 8;
    fake_dev.extra_needed = true;
    data = save_stream(&len);
    /* The trailer: ... 00 06 be32 len json */
    for (eof_at = len - 6; eof_at > 0; eof_at--) {
        memcpy(&desc_len, data + eof_at + 2, 4);
        if (data[eof_at] == 0 && data[eof_at + 1] == 6 &&
            eof_at + 6 + GUINT32_FROM_BE(desc_len) == len) {
            break;
        }
    }
    g_assert_cmpuint(eof_at, >, 0);

    for (cut = 0; cut < len; cut++) {
        Error *err = NULL;
        int ret = load_bytes(data, cut, &err);

        if (cut <= eof_at) {
            g_assert_cmpint(ret, <, 0);
            g_assert_nonnull(err);
            error_free(err);
        } else {
            g_assert_cmpint(ret, ==, 0);
            g_assert_null(err);
        }
    }
}

/* The VMDESCRIPTION of a -M none-like registry is QEMU's, byte for byte. */
static void test_vmdesc_qemu_shape(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    const uint8_t *p;
    uint32_t be;

    unregister_savevm("ram", &fake_ram);
    vmstate_unregister(&vmstate_fake_dev, &fake_dev);
    timer_state_set(0, 0);
    stub_runstate = RUN_STATE_PRELAUNCH;
    global_state_store();

    g_assert_cmpint(qemu_savevm_state_setup(f, &error_abort), ==, 0);
    g_assert_cmpint(qemu_savevm_state_iterate(f), ==, 1);
    g_assert_cmpint(qemu_savevm_state_complete_precopy(f, &error_abort), ==, 0);
    qemu_fflush(f);

    /* FULL timer ... FULL globalstate ... 00 06 len json */
    g_assert_cmpuint(bioc->usage, ==,
                     (1 + 4 + 6 + 8 + 24 + 5) + (1 + 4 + 12 + 8 + 104 + 5) + 1 +
                         1 + 4 + 486);
    p = bioc->data + 19;
    g_assert(memcmp(p, "\0\0\0\0\0\0\0\0", 8) == 0);
    p = bioc->data + 48 + 25;
    g_assert(memcmp(p, "\0\0\0\x0aprelaunch\0", 14) == 0);
    p = bioc->data + bioc->usage - 486 - 6;
    g_assert_cmpint(p[0], ==, 0);
    g_assert_cmpint(p[1], ==, 6);
    memcpy(&be, p + 2, 4);
    g_assert_cmpuint(GUINT32_FROM_BE(be), ==, 486);
    g_assert(memcmp(p + 6, qemu_none_vmdesc, 486) == 0);
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));

    register_savevm_live("ram", 0, 4, &fake_ram_handlers, &fake_ram);
    vmstate_register(0, &vmstate_fake_dev, &fake_dev);
}

/* A stream shaped like QEMU 7.2 -M none's (docs/wire-format.md section 1),
 * built byte by byte. */
static void test_qemu_none_stream(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    RunState rs;
    int i;

    memset(fake_ram.mem, 0xee, FAKE_RAM_SIZE);
    b_header(b, "none");
    b_ram_start(b, 2);
    /* PART: page 0 zero with name, then CONTINUE zero pages, one PAGE. */
    b_u8(b, 0x02);
    b_be32(b, 2);
    b_be64(b, 0x0 | RAM_FLAG_ZERO);
    b_str8(b, "ram");
    b_u8(b, 0);
    for (i = 1; i < FAKE_RAM_PAGES - 1; i++) {
        b_be64(b, (uint64_t)i * 4096 | RAM_FLAG_CONTINUE | RAM_FLAG_ZERO);
        b_u8(b, 0);
    }
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 2);
    /* Another PART: CONTINUE state survives sections. */
    b_u8(b, 0x02);
    b_be32(b, 2);
    b_be64(b, (uint64_t)(FAKE_RAM_PAGES - 1) * 4096 | RAM_FLAG_CONTINUE |
                  RAM_FLAG_PAGE);
    for (i = 0; i < 4096; i++) {
        b_u8(b, i & 0xff);
    }
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 2);
    /* END with nothing left. */
    b_u8(b, 0x03);
    b_be32(b, 2);
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 2);
    b_timer(b, 0, 0, 0);
    b_globalstate(b, 4, "prelaunch");
    b_eof_vmdesc(b);

    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_cmpint(fake_ram.mem[0], ==, 0);
    g_assert_cmpint(fake_ram.mem[(FAKE_RAM_PAGES - 1) * 4096 - 1], ==, 0);
    g_assert_cmpint(fake_ram.mem[(FAKE_RAM_PAGES - 1) * 4096 + 255], ==, 255);
    g_assert_true(global_state_received(&rs));
    g_assert_cmpint(rs, ==, RUN_STATE_PRELAUNCH);
}

/* Tolerated: no ram, no devices, arbitrary ids, no vmdesc, no END. */
static void test_tolerated(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    RunState rs;

    b_header(b, "none");
    b_u8(b, 0x00);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_false(global_state_received(&rs));
    g_assert_cmpint(global_state_get_runstate(), ==, RUN_STATE__MAX);
    g_byte_array_set_size(b, 0);

    b_header(b, "none");
    b_ram_start(b, 77);
    b_globalstate(b, 1000, "paused");
    b_u8(b, 0x00);
    b_u8(b, 0x42); /* not a vmdesc: warning only */
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_cmpint(global_state_get_runstate(), ==, RUN_STATE_PAUSED);
    g_byte_array_set_size(b, 0);

    /* OPEN_RETURN_PATH then PING with a return path available. */
    fake_rp_available = true;
    g_array_set_size(pings_seen, 0);
    b_header(b, "none");
    b_command(b, MIG_CMD_OPEN_RETURN_PATH, 0);
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 0x1234);
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_cmpuint(pings_seen->len, ==, 1);
    g_assert_cmphex(g_array_index(pings_seen, uint32_t, 0), ==, 0x1234);
    fake_rp_available = false;
    g_byte_array_set_size(b, 0);

    /* A PACKAGED nested stream carrying device state. */
    {
        g_autoptr(GByteArray) pkg = g_byte_array_new();

        b_timer(pkg, 0, 5, 6);
        b_globalstate(pkg, 4, "postmigrate");
        b_header(b, "none");
        b_command(b, MIG_CMD_PACKAGED, 4);
        b_be32(b, pkg->len);
        g_byte_array_append(b, pkg->data, pkg->len);
        b_eof_vmdesc(b);
        g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
        g_assert_cmpint(global_state_get_runstate(), ==, RUN_STATE_POSTMIGRATE);
    }
}

static void test_malformed_header(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    b_be32(b, 0x51455600);
    b_be32(b, 3);
    expect_error(b, -EINVAL, "Not a migration stream");

    b_be32(b, 0x5145564d);
    b_be32(b, 2);
    expect_error(b, -ENOTSUP,
                 "SaveVM v2 format is obsolete and don't work anymore");

    b_be32(b, 0x5145564d);
    b_be32(b, 4);
    expect_error(b, -ENOTSUP, "Unsupported migration stream version");

    b_be32(b, 0x5145564d);
    expect_error(b, -ENOTSUP, "Unsupported migration stream version");

    expect_error(b, -EINVAL, "Not a migration stream"); /* empty */

    b_be32(b, 0x5145564d);
    b_be32(b, 3);
    b_ram_start(b, 2);
    expect_error(b, -EINVAL, "Configuration section missing");

    b_header(b, "pc-i440fx-7.2");
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "Machine type received is 'pc-i440fx-7.2' and local is "
                 "'none'");

    b_header(b, "non");
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "Machine type received is 'non' and local is 'none'");
}

/*
 * A header whose CONFIGURATION carries the capabilities subsection with
 * x-ignore-shared on (the record is left open for what follows).
 */
static void b_header_ignore_shared(GByteArray *b)
{
    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/capabilities");
    b_be32(b, 1);
    b_be32(b, 1);
    b_str8(b, "x-ignore-shared");
}

/* A destination with x-ignore-shared off refuses a source with it on. */
static void expect_ignore_shared_refused(GByteArray *b)
{
    b_header_ignore_shared(b);
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "Capability x-ignore-shared is off, but "
                 "received capability is on");
}

static void test_malformed_configuration(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/target-page-bits");
    b_be32(b, 1);
    b_be32(b, 13);
    b_u8(b, 0);
    expect_error(b, -EINVAL, "Received TARGET_PAGE_BITS is 13 but local is 12");

    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/target-page-bits");
    b_be32(b, 1);
    b_be32(b, 12);
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_byte_array_set_size(b, 0);

    expect_ignore_shared_refused(b);

    local_ignore_shared = true;
    b_header(b, "none");
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "Capability x-ignore-shared is on, but "
                 "received capability is off");
    b_header_ignore_shared(b);
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_byte_array_set_size(b, 0);

    /* The source side sends the subsection when the capability is on. */
    {
        QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
        QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
        static const char expect[] =
            "QEVM\0\0\0\3\x07\0\0\0\4none\x05\x1a"
            "configuration/capabilities\0\0\0\1\0\0\0\1\x0f"
            "x-ignore-shared";

        qemu_savevm_state_header(f);
        qemu_fflush(f);
        g_assert_cmpuint(bioc->usage, ==, sizeof(expect) - 1);
        g_assert(memcmp(bioc->data, expect, sizeof(expect) - 1) == 0);
        qemu_fclose(f);
        qio_channel_unref(QIO_CHANNEL(bioc));
    }
    local_ignore_shared = false;

    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/capabilities");
    b_be32(b, 1);
    b_be32(b, 2);
    b_str8(b, "events");
    b_str8(b, "no-such-cap");
    b_u8(b, 0);
    expect_error(b, -EINVAL, "Received unknown capability no-such-cap");

    /* UUID: not set locally -> warning only; mismatch -> error. */
    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/uuid");
    b_be32(b, 1);
    b_be32(b, 0x12345678);
    b_be32(b, 0x12345678);
    b_be32(b, 0x12345678);
    b_be32(b, 0x12345678);
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    local_uuid_set = true;
    memset(local_uuid, 0, 16);
    local_uuid[12] = 0x12;
    local_uuid[13] = 0x34;
    local_uuid[14] = 0x56;
    local_uuid[15] = 0x78;
    expect_error(b, -EINVAL,
                 "UUID received is 12345678-1234-5678-1234-"
                 "567812345678 and local is 00000000-0000-0000-0000-"
                 "000012345678");
    local_uuid_set = false;

    b_header(b, "none");
    b_u8(b, 0x05);
    b_str8(b, "configuration/bogus");
    b_be32(b, 1);
    b_u8(b, 0);
    expect_error(b, -ENOENT,
                 "Unknown subsection 'configuration/bogus' for "
                 "'configuration'");
}

static void test_malformed_sections(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    b_header(b, "none");
    b_u8(b, 66);
    expect_error(b, -EINVAL, "Unknown savevm section type 66");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 1, 4);
    expect_error(b, -EINVAL,
                 "Unknown savevm section or instance 'ram' 1. "
                 "Make sure that your current VM setup matches your saved "
                 "VM setup, including any hotplugged devices");

    b_header(b, "none");
    b_section_start(b, 0x04, 2, "nosuchdev", 0, 1);
    expect_error(b, -EINVAL,
                 "Unknown savevm section or instance "
                 "'nosuchdev' 0. Make sure that your current VM setup "
                 "matches your saved VM setup, including any hotplugged "
                 "devices");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 5);
    expect_error(b, -EINVAL, "savevm: unsupported version 5 for 'ram' v4");

    /* A be32 version is unsigned: 0xffffffff is newer than anything. */
    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 0xffffffff);
    expect_error(b, -EINVAL,
                 "savevm: unsupported version 4294967295 for 'ram' v4");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 3);
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 2);
    expect_error(b, -EINVAL,
                 "error while loading state for instance 0x0 of "
                 "device 'ram': ram: stream version 3 is not 4");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 4);
    b_be64(b, FAKE_RAM_SIZE | RAM_FLAG_MEM_SIZE);
    b_str8(b, "pc.ram");
    b_be64(b, FAKE_RAM_SIZE);
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 2);
    expect_error(b, -EINVAL,
                 "error while loading state for instance 0x0 of "
                 "device 'ram': Unknown ramblock \"pc.ram\", cannot accept "
                 "migration");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 4);
    b_be64(b, RAM_FLAG_EOS);
    b_u8(b, 0x00);
    expect_error(b, -EINVAL, "Missing section footer for ram");

    b_header(b, "none");
    b_section_start(b, 0x01, 2, "ram", 0, 4);
    b_be64(b, RAM_FLAG_EOS);
    b_footer(b, 3);
    expect_error(b, -EINVAL,
                 "Mismatched section id in footer for ram - read 0x3 "
                 "expected 0x2");

    b_header(b, "none");
    b_ram_start(b, 2);
    b_u8(b, 0x02);
    b_be32(b, 5);
    expect_error(b, -EINVAL, "Unknown savevm section 5");

    b_header(b, "none");
    b_ram_start(b, 2);
    b_u8(b, 0x02);
    b_be32(b, 2);
    b_be64(b, 0x400);
    expect_error(b, -EINVAL,
                 "error while loading state section id 2(ram): "
                 "Unknown combination of migration flags: 0x400");

    b_header(b, "none");
    b_globalstate(b, 4, "bogus");
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "error while loading state for instance 0x0 of "
                 "device 'globalstate': invalid parameter value: bogus");

    /* Run states of a migration in progress are refused. */
    {
        static const char *const refused[] = {
            "inmigrate", "finish-migrate", "save-vm", "restore-vm", "colo",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
            g_autofree char *msg = g_strdup_printf(
                "error while loading state for instance 0x0 of device "
                "'globalstate': run state '%s' cannot be given to a "
                "destination (a source sends running, paused, prelaunch, "
                "postmigrate, suspended or an error state)",
                refused[i]);

            b_header(b, "none");
            b_globalstate(b, 4, refused[i]);
            b_u8(b, 0);
            expect_error(b, -EINVAL, msg);
        }
    }

    /* 100 non-NUL bytes of runstate: no overrun, just invalid. */
    b_header(b, "none");
    b_section_start(b, 0x04, 4, "globalstate", 0, 1);
    b_be32(b, 100);
    {
        uint8_t junk[100];

        memset(junk, 'x', sizeof(junk));
        g_byte_array_append(b, junk, sizeof(junk));
    }
    b_footer(b, 4);
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "error while loading state for instance 0x0 of "
                 "device 'globalstate': invalid parameter value: "
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

    b_header(b, "none");
    b_section_start(b, 0x04, 0, "timer", 0, 3);
    expect_error(b, -EINVAL, "savevm: unsupported version 3 for 'timer' v2");

    /* fakedev v3 with an unknown subsection. */
    b_header(b, "none");
    b_section_start(b, 0x04, 9, "fakedev", 0, 3);
    b_be32(b, 1);
    g_byte_array_append(b, (const uint8_t *)"0123456789abcdef", 16);
    b_u8(b, 0x05);
    b_str8(b, "fakedev/other");
    b_be32(b, 1);
    b_footer(b, 9);
    b_u8(b, 0);
    expect_error(b, -ENOENT,
                 "error while loading state for instance 0x0 of "
                 "device 'fakedev': Unknown subsection 'fakedev/other' for "
                 "'fakedev'");

    /* Truncated inside a device section. */
    b_header(b, "none");
    b_section_start(b, 0x04, 0, "timer", 0, 2);
    b_be64(b, 1);
    expect_error(b, -EIO,
                 "error while loading state for instance 0x0 of "
                 "device 'timer': Failed to load timer:unused: "
                 "Input/output error");

    /* Truncated between records. */
    b_header(b, "none");
    b_ram_start(b, 2);
    expect_error(b, -EIO, "Input/output error");
}

static void test_malformed_commands(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    b_header(b, "none");
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 1);
    expect_error(b, -EPERM, "CMD_PING (0x1) received with no return path");

    b_header(b, "none");
    b_command(b, MIG_CMD_PING, 0);
    expect_error(b, -ERANGE,
                 "PING received with bad length - expecting 4, got 0");

    b_header(b, "none");
    b_command(b, 0xb, 0);
    expect_error(b, -EINVAL, "MIG_CMD 0xb unknown (len 0x0)");

    b_header(b, "none");
    b_command(b, 0, 7);
    expect_error(b, -EINVAL, "MIG_CMD 0x0 unknown (len 0x7)");

    /* With no hooks set, OPEN_RETURN_PATH fails like a missing return path. */
    b_header(b, "none");
    b_command(b, MIG_CMD_OPEN_RETURN_PATH, 0);
    expect_error(b, -EPERM, "CMD_OPEN_RETURN_PATH failed");

    /* Postcopy commands are rejected by the default hook. */
    b_header(b, "none");
    b_command(b, MIG_CMD_POSTCOPY_ADVISE, 16);
    b_be64(b, 0x1000);
    b_be64(b, 0x1000);
    expect_error(b, -ENOTSUP,
                 "Migration command POSTCOPY_ADVISE (0x3) is not supported");

    b_header(b, "none");
    b_command(b, MIG_CMD_POSTCOPY_LISTEN, 1);
    expect_error(b, -ERANGE,
                 "POSTCOPY_LISTEN received with bad length - "
                 "expecting 0, got 1");

    b_header(b, "none");
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 0x2000000);
    expect_error(b, -EINVAL,
                 "loadvm_handle_cmd_packaged: Unreasonably "
                 "large packaged state: 33554432");

    /* A package shorter than announced. */
    b_header(b, "none");
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 100);
    b_be32(b, 0);
    expect_error(b, -EIO, "Input/output error");

    /* A package inside a package is refused, however small. */
    b_header(b, "none");
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 10);
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 1);
    b_u8(b, 0); /* EOF of the inner package */
    expect_error(b, -EINVAL,
                 "loadvm_handle_cmd_packaged: packaged state inside "
                 "packaged state");

    /* Garbage inside a package. */
    b_header(b, "none");
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 1);
    b_u8(b, 0x99);
    b_u8(b, 0);
    expect_error(b, -EINVAL, "Unknown savevm section type 153");
}

/* Handlers registered later slot in as rows, with the rows' lengths. */
static void test_command_table(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    fake_postcopy_register(true);
    g_string_truncate(commands_seen, 0);
    fake_quit_on_run = false;

    /* Variable-length rows take any length; their data is handed over. */
    b_header(b, "none");
    b_command(b, MIG_CMD_POSTCOPY_ADVISE, 0);
    b_command(b, MIG_CMD_POSTCOPY_RAM_DISCARD, 300);
    for (int i = 0; i < 300; i++) {
        b_u8(b, i);
    }
    b_command(b, MIG_CMD_RECV_BITMAP, 4);
    b_str8(b, "ram");
    b_command(b, MIG_CMD_POSTCOPY_RESUME, 0);
    /* After ADVISE no VMDESCRIPTION is looked for after EOF. */
    b_u8(b, 0);
    b_u8(b, 0x42);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_cmpstr(commands_seen->str, ==,
                    "POSTCOPY_ADVISE(0) POSTCOPY_RAM_DISCARD(300) "
                    "RECV_BITMAP(4) POSTCOPY_RESUME(0) ");
    g_byte_array_set_size(b, 0);

    /* Fixed lengths hold with a handler too. */
    b_header(b, "none");
    b_command(b, MIG_CMD_POSTCOPY_RUN, 2);
    b_be16(b, 0);
    expect_error(b, -ERANGE,
                 "POSTCOPY_RUN received with bad length - expecting 0, "
                 "got 2");

    /* Truncated data: the stream's error. */
    b_header(b, "none");
    b_command(b, MIG_CMD_POSTCOPY_RAM_DISCARD, 10);
    b_be32(b, 0);
    expect_error(b, -EIO, "Input/output error");

    /* LOADVM_QUIT ends the load at once, inside a package too. */
    fake_quit_on_run = true;
    b_header(b, "none");
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, 5);
    b_command(b, MIG_CMD_POSTCOPY_RUN, 0);
    b_u8(b, 0x99); /* never read */
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    qemu_loadvm_state_cleanup();
    g_byte_array_set_size(b, 0);
    fake_quit_on_run = false;

    /* Unregistered again: not supported. */
    fake_postcopy_register(false);
    b_header(b, "none");
    b_command(b, MIG_CMD_RECV_BITMAP, 4);
    b_str8(b, "ram");
    expect_error(b, -ENOTSUP,
                 "Migration command RECV_BITMAP (0xa) is not supported");

    b_header(b, "none");
    b_command(b, MIG_CMD_ENABLE_COLO, 0);
    expect_error(b, -ENOTSUP,
                 "Migration command ENABLE_COLO (0x8) is not supported");

    g_assert_cmpstr(qemu_savevm_command_name(MIG_CMD_PACKAGED), ==, "PACKAGED");
    g_assert_cmpstr(qemu_savevm_command_name(MIG_CMD_MAX), ==, "INVALID");
}

/* With no hooks installed: everything off, no return path. */
static void test_hooks_default(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    savevm_set_hooks(NULL);
    local_ignore_shared = true; /* not asked */

    b_header(b, "none");
    b_command(b, MIG_CMD_OPEN_RETURN_PATH, 0);
    expect_error(b, -EPERM, "CMD_OPEN_RETURN_PATH failed");

    b_header(b, "none");
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 7);
    expect_error(b, -EPERM, "CMD_PING (0x7) received with no return path");

    expect_ignore_shared_refused(b);

    /* The header carries no capabilities and no uuid. */
    {
        QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
        QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));

        qemu_savevm_state_header(f);
        qemu_fflush(f);
        g_assert_cmpuint(bioc->usage, ==, 17);
        g_assert(memcmp(bioc->data, "QEVM\0\0\0\3\x07\0\0\0\4none", 17) == 0);
        qemu_fclose(f);
        qio_channel_unref(QIO_CHANNEL(bioc));
    }
    local_ignore_shared = false;
    savevm_set_hooks(&fake_hooks);
}

/* The machine type's name comes from qemu_machine_type_name(). */
static void test_machine_type_name(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));

    stub_machine_type_name = "pc-lite";
    qemu_savevm_state_header(f);
    qemu_fflush(f);
    g_assert(memcmp(bioc->data, "QEVM\0\0\0\3\x07\0\0\0\7pc-lite", 20) == 0);
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));

    b_header(b, "none");
    b_u8(b, 0);
    expect_error(b, -EINVAL,
                 "Machine type received is 'none' and local is 'pc-lite'");

    /* No name registered reads as an empty one. */
    stub_machine_type_name = NULL;
    b_header(b, "none");
    b_u8(b, 0);
    expect_error(b, -EINVAL, "Machine type received is 'none' and local is ''");
    b_header(b, "");
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    stub_machine_type_name = "none";
}

/* OPEN_RETURN_PATH twice only warns; PINGs inside a package answered. */
static void test_return_path_commands(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) pkg = g_byte_array_new();

    fake_rp_available = true;
    g_array_set_size(pings_seen, 0);
    b_command(pkg, MIG_CMD_PING, 4);
    b_be32(pkg, 3);
    b_header(b, "none");
    b_command(b, MIG_CMD_OPEN_RETURN_PATH, 0);
    b_command(b, MIG_CMD_OPEN_RETURN_PATH, 0);
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 1);
    b_command(b, MIG_CMD_PACKAGED, 4);
    b_be32(b, pkg->len);
    g_byte_array_append(b, pkg->data, pkg->len);
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 4);
    b_eof_vmdesc(b);
    g_assert_cmpint(load_bytes(b->data, b->len, &error_abort), ==, 0);
    g_assert_cmpuint(pings_seen->len, ==, 3);
    g_assert_cmphex(g_array_index(pings_seen, uint32_t, 0), ==, 1);
    g_assert_cmphex(g_array_index(pings_seen, uint32_t, 1), ==, 3);
    g_assert_cmphex(g_array_index(pings_seen, uint32_t, 2), ==, 4);
    fake_rp_available = false;

    /* A new load starts with the return path closed again. */
    g_byte_array_set_size(b, 0);
    b_header(b, "none");
    b_command(b, MIG_CMD_PING, 4);
    b_be32(b, 2);
    expect_error(b, -EPERM, "CMD_PING (0x2) received with no return path");
}

/* Build a postcopy-shaped stream with the source-side API. */
static uint8_t *save_postcopy_stream(size_t *len)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QIOChannelBuffer *pkg = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    QEMUFile *pf = qemu_file_new_output(QIO_CHANNEL(pkg));
    uint64_t advise[2] = {GUINT64_TO_BE(4096), GUINT64_TO_BE(4096)};
    uint8_t *data;

    qemu_savevm_state_header(f);
    qemu_savevm_send_open_return_path(f);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_ADVISE, 16,
                             (const uint8_t *)advise);
    g_assert_cmpint(qemu_savevm_state_setup(f, &error_abort), ==, 0);
    g_assert_cmpint(qemu_savevm_state_iterate(f), ==, 0);

    /* The package: LISTEN, device state, PING, RUN. */
    qemu_savevm_command_send(pf, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
    g_assert_cmpint(qemu_savevm_state_complete_devices(pf, &error_abort), ==,
                    0);
    qemu_savevm_send_ping(pf, 3);
    qemu_savevm_command_send(pf, MIG_CMD_POSTCOPY_RUN, 0, NULL);
    g_assert_cmpint(qemu_fflush(pf), ==, 0);
    g_assert_cmpint(
        qemu_savevm_send_packaged(f, pkg->data, pkg->usage, &error_abort), ==,
        0);
    qemu_fclose(pf);
    qio_channel_unref(QIO_CHANNEL(pkg));

    /* The rest of RAM after the switch, then END and EOF, no vmdesc. */
    while (qemu_savevm_state_iterate(f) == 0) {
        ;
    }
    g_assert_cmpint(qemu_savevm_state_complete_live(f, &error_abort), ==, 0);
    qemu_savevm_state_send_eof(f);
    qemu_savevm_state_cleanup();
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    data = g_memdup2(bioc->data, bioc->usage);
    *len = bioc->usage;
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return data;
}

static void test_postcopy_shape(void)
{
    g_autofree uint8_t *copy = g_malloc(FAKE_RAM_SIZE);
    g_autofree uint8_t *data = NULL;
    QIOChannelBuffer *bioc;
    QEMUFile *f;
    size_t len;
    int64_t ticks, clock;

    fill_ram();
    memcpy(copy, fake_ram.mem, FAKE_RAM_SIZE);
    fake_ram.pages_per_iter = 3;
    timer_state_set(11, 22);
    stub_runstate = RUN_STATE_RUNNING;
    global_state_store();
    data = save_postcopy_stream(&len);
    g_assert_cmpint(data[len - 1], ==, 0x00); /* EOF, no vmdesc */

    /* One pass: RUN does not quit, the whole stream loads. */
    fake_postcopy_register(true);
    fake_rp_available = true;
    fake_quit_on_run = false;
    g_string_truncate(commands_seen, 0);
    g_array_set_size(pings_seen, 0);
    memset(fake_ram.mem, 0, FAKE_RAM_SIZE);
    timer_state_set(0, 0);
    g_assert_cmpint(load_bytes(data, len, &error_abort), ==, 0);
    g_assert_cmpstr(commands_seen->str, ==,
                    "POSTCOPY_ADVISE(16) POSTCOPY_LISTEN(0) POSTCOPY_RUN(0) ");
    g_assert_cmpuint(pings_seen->len, ==, 1);
    g_assert(memcmp(copy, fake_ram.mem, FAKE_RAM_SIZE) == 0);
    timer_state_get(&ticks, &clock);
    g_assert_cmpint(ticks, ==, 11);
    g_assert_cmpint(global_state_get_runstate(), ==, RUN_STATE_RUNNING);

    /* RUN quits the load; the rest is read like a listen thread would. */
    fake_quit_on_run = true;
    memset(fake_ram.mem, 0, FAKE_RAM_SIZE);
    fake_ram.load_cleanups = 0;
    bioc = qio_channel_buffer_new(len);
    memcpy(bioc->data, data, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    g_assert_cmpint(qemu_loadvm_state(f, &error_abort), ==, 0);
    g_assert_cmpint(fake_ram.load_cleanups, ==, 0);
    g_assert(memcmp(copy, fake_ram.mem, FAKE_RAM_SIZE) != 0);
    g_assert_cmpint(qemu_loadvm_state_main(f, &error_abort), ==, 0);
    qemu_loadvm_state_cleanup();
    g_assert_cmpint(fake_ram.load_cleanups, ==, 1);
    g_assert(memcmp(copy, fake_ram.mem, FAKE_RAM_SIZE) == 0);
    qemu_fclose(f);

    fake_postcopy_register(false);
    fake_rp_available = false;
}

/* Over a socket: the source writes from a thread, closes after vmdesc. */
typedef struct SourceArgs {
    QIOChannel *ioc;
    int ret;
} SourceArgs;

static gpointer source_thread(gpointer opaque)
{
    SourceArgs *a = opaque;
    QEMUFile *f = qemu_file_new_output(a->ioc);
    int ret;

    qemu_savevm_state_header(f);
    qemu_savevm_send_open_return_path(f);
    qemu_savevm_send_ping(f, 1);
    ret = qemu_savevm_state_setup(f, NULL);
    while (ret == 0) {
        ret = qemu_savevm_state_iterate(f);
        qemu_fflush(f);
    }
    if (ret > 0) {
        ret = qemu_savevm_state_complete_precopy(f, NULL);
    }
    qemu_savevm_state_cleanup();
    a->ret = qemu_fclose(f) ?: ret;
    return NULL;
}

static void test_socket(void)
{
    g_autofree uint8_t *copy = g_malloc(FAKE_RAM_SIZE);
    QIOChannel *a, *b;
    SourceArgs args;
    QEMUFile *in;
    GThread *th;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    a = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    b = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
    fill_ram();
    memcpy(copy, fake_ram.mem, FAKE_RAM_SIZE);
    fake_ram.pages_per_iter = 2;
    fake_rp_available = true;
    g_array_set_size(pings_seen, 0);

    args.ioc = a;
    th = g_thread_new("source", source_thread, &args);
    in = qemu_file_new_input(b);
    /* Same process: let the source read RAM before we overwrite it. */
    g_thread_join(th);
    g_assert_cmpint(args.ret, ==, 0);
    memset(fake_ram.mem, 0, FAKE_RAM_SIZE);
    g_assert_cmpint(qemu_loadvm_state(in, &error_abort), ==, 0);
    g_assert(memcmp(copy, fake_ram.mem, FAKE_RAM_SIZE) == 0);
    g_assert_cmpuint(pings_seen->len, ==, 1);
    fake_rp_available = false;
    qemu_fclose(in);
    qio_channel_unref(a);
    qio_channel_unref(b);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_test_init(&argc, &argv, NULL);
    pings_seen = g_array_new(false, false, sizeof(uint32_t));
    commands_seen = g_string_new(NULL);
    savevm_set_hooks(&fake_hooks);

    /* Registration order as in QEMU -M none: timer, ram, globalstate. */
    timer_state_register();
    g_assert_cmpint(
        register_savevm_live("ram", 0, 4, &fake_ram_handlers, &fake_ram), ==,
        1);
    global_state_register();
    vmstate_register(0, &vmstate_fake_dev, &fake_dev);
    g_assert_cmpint(
        register_savevm_live("ram", 0, 4, &fake_ram_handlers, &fake_ram), <, 0);

    g_test_add_func("/savevm/save-load", test_save_load);
    g_test_add_func("/savevm/truncated", test_truncated);
    g_test_add_func("/savevm/vmdesc-qemu-shape", test_vmdesc_qemu_shape);
    g_test_add_func("/savevm/qemu-none-stream", test_qemu_none_stream);
    g_test_add_func("/savevm/tolerated", test_tolerated);
    g_test_add_func("/savevm/malformed/header", test_malformed_header);
    g_test_add_func("/savevm/malformed/configuration",
                    test_malformed_configuration);
    g_test_add_func("/savevm/malformed/sections", test_malformed_sections);
    g_test_add_func("/savevm/malformed/commands", test_malformed_commands);
    g_test_add_func("/savevm/commands/table", test_command_table);
    g_test_add_func("/savevm/commands/return-path", test_return_path_commands);
    g_test_add_func("/savevm/hooks/default", test_hooks_default);
    g_test_add_func("/savevm/hooks/machine-type-name", test_machine_type_name);
    g_test_add_func("/savevm/postcopy-shape", test_postcopy_shape);
    g_test_add_func("/savevm/socket", test_socket);
    return g_test_run();
}
