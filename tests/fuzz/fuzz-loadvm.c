/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-loadvm.c: feed arbitrary bytes to qemu_loadvm_state().
 *
 * The registry holds what a RAM-only machine has: "timer",
 * "globalstate", the real "ram" section (ram.c's handler registered by
 * ram_mig_init(), ram-load.c's record parser) over two 64 KiB blocks,
 * "ram" and "mem", and two devices with arrays and subsections (the
 * fake devices of tests/unit/stubs/fake-devices.c, shared with
 * test-savevm).  Postcopy's COMMANDs go to a handler that reads their
 * data (fuzz-postcopy-cmd drives the real ones).  Any input must end in
 * success or an Error; crashes, hangs and sanitizer reports are bugs.
 *
 * Seeds: four streams built here by the save side, whose "ram" section
 * comes from the fake live handler (fake-devices.c speaks the ram record
 * format) into block "ram" -- the fake handler is unregistered before
 * the real one is, so every load goes to ram-load.c, and the RAM each
 * seed leaves is checked; plus tests/fuzz/corpus/fuzz-loadvm/seed-*,
 * real streams a Tern migration saved to file: (copies of fuzz-ram's,
 * tests/fuzz/make-seeds-ram.py), into block "mem".
 *
 * Entry points and plain run: fuzz-driver.h (the regression inputs
 * below, 20000 mutations by default).
 */
#include "qemu/osdep.h"
#include "sysemu/runstate.h"
#include "migration/global_state.h"
#include "migration/qemu-file.h"
#include "migration/register.h"
#include "migration/savevm.h"
#include "migration/vmstate.h"
#include "sysemu/ramblock.h"
#include "../../migration/ram.h"
#include "../unit/stubs/fake-devices.h"
#include "fuzz-driver.h"
#include "fuzz-load.h"

/* The block the real streams (corpus seed-*) were saved from. */
#define FUZZ_MEM_NAME "mem"
#define FUZZ_MEM_SIZE (64 * KiB)
/* The built-in seeds, made before the real ram handler is registered. */
#define FUZZ_SEEDS 4

static GByteArray *fuzz_builtin[FUZZ_SEEDS];
/* The block the built-in seeds load into ("ram", FAKE_RAM_SIZE). */
static RAMBlock *fuzz_ram_block;

/* ---- the migration subsystem's answers: a return path that works ---- */

static bool fuzz_open_return_path(QEMUFile *f, Error **errp)
{
    return true;
}

static bool fuzz_answer_ping(uint32_t value, Error **errp)
{
    return true;
}

static const SaveVMHooks fuzz_hooks = {
    .open_return_path = fuzz_open_return_path,
    .answer_ping = fuzz_answer_ping,
};

/*
 * Postcopy's commands accepted (every data byte read, so a bad length
 * shows under a sanitizer); ENABLE_COLO stays unsupported.
 */
static int fuzz_command(const LoadVMCommand *c, Error **errp)
{
    unsigned sum = 0;

    for (uint16_t i = 0; i < c->len; i++) {
        sum += c->data[i];
    }
    return sum == UINT_MAX ? -EINVAL : 0;
}

static void fuzz_register_commands(void)
{
    static const enum qemu_vm_cmd cmds[] = {
        MIG_CMD_POSTCOPY_ADVISE, MIG_CMD_POSTCOPY_LISTEN,
        MIG_CMD_POSTCOPY_RUN,    MIG_CMD_POSTCOPY_RAM_DISCARD,
        MIG_CMD_POSTCOPY_RESUME, MIG_CMD_RECV_BITMAP,
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        loadvm_command_register(cmds[i], fuzz_command);
    }
}

static const char *fuzz_machine_type_name(void)
{
    return "none";
}

static GByteArray *fuzz_seed_saved(bool with_commands);
static GByteArray *fuzz_seed_packaged(void);
static GByteArray *fuzz_seed_commands(void);

/*
 * The registry, and the built-in seeds made with the fake "ram" save
 * side before ram.c's handler takes its place.
 */
static void fuzz_setup(void)
{
    savevm_set_hooks(&fuzz_hooks);
    fuzz_register_commands();
    qemu_register_machine_type_name(fuzz_machine_type_name);
    timer_state_register();
    register_savevm_live("ram", 0, FAKE_RAM_VERSION, &fake_ram_handlers,
                         &fake_ram);
    global_state_register();
    vmstate_register(0, &vmstate_fake_dev, &fake_dev);
    vmstate_register(0, &vmstate_fake_arrays, &fake_arrays);

    fuzz_builtin[0] = fuzz_seed_saved(false);
    fuzz_builtin[1] = fuzz_seed_saved(true);
    fuzz_builtin[2] = fuzz_seed_packaged();
    fuzz_builtin[3] = fuzz_seed_commands();

    unregister_savevm("ram", &fake_ram);
    fuzz_ram_block = ram_block_add("ram", FAKE_RAM_SIZE, NULL, &error_abort);
    ram_block_add(FUZZ_MEM_NAME, FUZZ_MEM_SIZE, NULL, &error_abort);
    ram_mig_init();
}

/* Load one input; 0 when it loaded, negative errno (with an Error). */
static int fuzz_load(const uint8_t *data, size_t size)
{
    return fuzz_load_stream("fuzz-loadvm", data, size, NULL);
}

/* fuzz_load() for the driver: 0 when the input loaded. */
static int fuzz_load_input(const uint8_t *data, size_t size)
{
    return fuzz_load(data, size) == 0 ? 0 : 1;
}

/* A valid stream from the save side: header, ram, devices, vmdesc. */
static GByteArray *fuzz_seed_saved(bool with_commands)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    GByteArray *b = g_byte_array_new();
    int i;

    for (i = 0; i < FAKE_RAM_SIZE; i++) {
        /* every other page zero, to have both kinds of page record */
        fake_ram.mem[i] = (i / FAKE_PAGE_SIZE) % 2 ? 0 : i * 13;
    }
    fake_ram.pages_per_iter = 4;
    qemu_savevm_state_header(f);
    if (with_commands) {
        qemu_savevm_send_open_return_path(f);
        qemu_savevm_send_ping(f, 1);
    }
    qemu_savevm_state_setup(f, NULL);
    while (qemu_savevm_state_iterate(f) == 0) {
        ;
    }
    global_state_store();
    qemu_savevm_state_complete_precopy(f, NULL);
    qemu_fflush(f);
    g_byte_array_append(b, bioc->data, bioc->usage);
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return b;
}

/* A PACKAGED stream with device state inside. */
static GByteArray *fuzz_seed_packaged(void)
{
    static const uint8_t head[] = {
        'Q', 'E', 'V', 'M',  0,   0,   0,   3,   7,   0,   0,   0,   4,   'n',
        'o', 'n', 'e', 0x05, 26,  'c', 'o', 'n', 'f', 'i', 'g', 'u', 'r', 'a',
        't', 'i', 'o', 'n',  '/', 'c', 'a', 'p', 'a', 'b', 'i', 'l', 'i', 't',
        'i', 'e', 's', 0,    0,   0,   1,   0,   0,   0,   1,   6,   'e', 'v',
        'e', 'n', 't', 's',  8,   0,   1,   0,   0, /* OPEN_RETURN_PATH */
        8,   0,   7,   0,    4,                     /* PACKAGED */
    };
    static const uint8_t timer[] = {
        4, 0, 0, 0, 0, 5,    't', 'i', 'm', 'e', 'r', 0, 0, 0, 0, 0, 0, 0, 2,
        0, 0, 0, 0, 0, 0,    0,   1,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 2, 0x7e, 0,   0,   0,   0,   8,   0, 2, 0, 4, 0, 0, 0, 3,
    };
    GByteArray *b = g_byte_array_new();
    uint32_t be = GUINT32_TO_BE(sizeof(timer));

    g_byte_array_append(b, head, sizeof(head));
    g_byte_array_append(b, (uint8_t *)&be, 4);
    g_byte_array_append(b, timer, sizeof(timer));
    g_byte_array_append(b, (const uint8_t *)"\0", 1);
    return b;
}

/* Every COMMAND, postcopy-shaped: device state in a package, no vmdesc. */
static GByteArray *fuzz_seed_commands(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QIOChannelBuffer *pkg = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    QEMUFile *pf = qemu_file_new_output(QIO_CHANNEL(pkg));
    static const uint8_t advise[MIG_CMD_POSTCOPY_ADVISE_LEN] = {
        0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0,
    };
    static const uint8_t discard[] = {
        0, 3,    'r', 'a', 'm', 0, 0, 0, 0, 0,    0,
        0, 0x10, 0,   0,   0,   0, 0, 0, 0, 0x10, 0,
    };
    GByteArray *b = g_byte_array_new();

    qemu_savevm_state_header(f);
    qemu_savevm_send_open_return_path(f);
    qemu_savevm_send_ping(f, 1);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_ADVISE, sizeof(advise),
                             advise);
    qemu_savevm_state_setup(f, NULL);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RAM_DISCARD, sizeof(discard),
                             discard);
    qemu_savevm_command_send(pf, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
    global_state_store();
    qemu_savevm_state_complete_devices(pf, NULL);
    qemu_savevm_send_ping(pf, 3);
    qemu_savevm_command_send(pf, MIG_CMD_POSTCOPY_RUN, 0, NULL);
    qemu_fflush(pf);
    qemu_savevm_send_packaged(f, pkg->data, pkg->usage, NULL);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RESUME, 0, NULL);
    qemu_savevm_command_send(f, MIG_CMD_RECV_BITMAP, 4,
                             (const uint8_t *)"\3ram");
    qemu_savevm_state_complete_live(f, NULL);
    qemu_savevm_state_send_eof(f);
    qemu_fflush(f);
    g_byte_array_append(b, bioc->data, bioc->usage);
    qemu_fclose(pf);
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(pkg));
    qio_channel_unref(QIO_CHANNEL(bioc));
    return b;
}

/*
 * Regression inputs that must be refused with a given message: a
 * capability count of 2^32-1, and thousands of sections opened (the
 * table of open sections is bounded).  Returns false if one loads or
 * gives another error.
 */
static bool fuzz_check_one(const char *what, GByteArray *b, const char *want)
{
    g_autofree char *why = NULL;
    bool ok = fuzz_load_stream("fuzz-loadvm", b->data, b->len, &why) < 0 &&
              strstr(why, want);

    if (!ok) {
        fprintf(stderr, "fuzz-loadvm: %s: got '%s', want '%s'\n", what,
                why ? why : "success", want);
    }
    return ok;
}

static bool fuzz_regressions(GPtrArray *seeds)
{
    GByteArray *saved = seeds->pdata[0];
    static const uint8_t caps[] = {
        'Q', 'E',  'V',  'M',  0,    0,    0,   3,   7,   0,   0,   0,
        4,   'n',  'o',  'n',  'e',  0x05, 26,  'c', 'o', 'n', 'f', 'i',
        'g', 'u',  'r',  'a',  't',  'i',  'o', 'n', '/', 'c', 'a', 'p',
        'a', 'b',  'i',  'l',  'i',  't',  'i', 'e', 's', 0,   0,   0,
        1,   0xff, 0xff, 0xff, 0xff, 0,    0,   0,   0,
    };
    g_autoptr(GByteArray) b = g_byte_array_new();
    const uint8_t *timer = NULL;
    size_t start, end, i;
    bool ok;

    g_byte_array_append(b, caps, sizeof(caps));
    ok = fuzz_check_one("huge capability count", b,
                        "Failed to load configuration/capabilities");

    /* the saved stream's "timer" section, opened 5000 times */
    for (i = 5; i + 6 < saved->len; i++) {
        if (saved->data[i - 5] == 4 &&
            !memcmp(saved->data + i, "\x05timer", 6)) {
            timer = saved->data + i - 5;
            break;
        }
    }
    if (!timer) {
        fprintf(stderr, "fuzz-loadvm: no timer section in the seed\n");
        return false;
    }
    start = timer - saved->data;
    for (end = start + 11; end + 5 <= saved->len; end++) {
        if (saved->data[end] == 0x7e &&
            !memcmp(saved->data + end + 1, timer + 1, 4)) {
            break;
        }
    }
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, saved->data, start);
    for (i = 0; i < 5000; i++) {
        uint32_t id = GUINT32_TO_BE(1000 + i);

        g_byte_array_append(b, timer, 1);
        g_byte_array_append(b, (uint8_t *)&id, 4);
        g_byte_array_append(b, timer + 5, end + 1 - (start + 5));
        g_byte_array_append(b, (uint8_t *)&id, 4);
    }
    g_byte_array_append(b, timer, saved->len - start);
    ok &= fuzz_check_one("5000 sections", b, "Too many savevm sections");

    /* 2000 PACKAGED commands, each inside the previous one */
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, caps, 17); /* header, configuration "none" */
    for (i = 0; i < 2000; i++) {
        static const uint8_t pkg[] = {8, 0, 7, 0, 4};
        uint32_t len = GUINT32_TO_BE((2000 - 1 - i) * 9 + 1);

        g_byte_array_append(b, pkg, sizeof(pkg));
        g_byte_array_append(b, (uint8_t *)&len, 4);
    }
    g_byte_array_append(b, (const uint8_t *)"\0", 1);
    ok &= fuzz_check_one("nested packages", b,
                         "packaged state inside packaged state");
    return ok;
}

static GByteArray *fuzz_seed(unsigned i)
{
    GByteArray *b = g_byte_array_sized_new(fuzz_builtin[i]->len);

    g_byte_array_append(b, fuzz_builtin[i]->data, fuzz_builtin[i]->len);
    return b;
}

/*
 * Every seed loads; the built-in ones that carry RAM (all but the
 * PACKAGED one) leave in block "ram" what the save side sent, so the
 * pages went through ram-load.c.
 */
static bool fuzz_seed_check(unsigned i, const char *name, const GByteArray *b)
{
    bool builtin = i < FUZZ_SEEDS && i != 2;
    g_autofree char *why = NULL;

    memset(fuzz_ram_block->host, 0x5a, FAKE_RAM_SIZE);
    if (fuzz_load_stream("fuzz-loadvm", b->data, b->len, &why) != 0) {
        fprintf(stderr, "fuzz-loadvm: seed %s does not load: %s\n", name, why);
        return false;
    }
    if (builtin && memcmp(fuzz_ram_block->host, fake_ram.mem, FAKE_RAM_SIZE)) {
        fprintf(stderr,
                "fuzz-loadvm: seed %s: block ram differs from what "
                "was sent\n",
                name);
        return false;
    }
    return true;
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-loadvm",
    .setup = fuzz_setup,
    .input = fuzz_load_input,
    .taken = "loaded",
    .seed = fuzz_seed,
    .n_seeds = FUZZ_SEEDS,
    .corpus_seed_prefix = "seed-",
    .seed_check = fuzz_seed_check,
    .regressions = fuzz_regressions,
    .rand_seed = 0x7e57,
    .iterations = 20000,
    .quiet = true,
};
