/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-postcopy-cmd.c: arbitrary bytes into both ends of postcopy's
 * control protocol, libtern's real code (nothing stubbed), with one
 * 64 KiB anonymous RAM block "mem" and the sections of -M none.
 *
 * Byte 0 of an input picks the end:
 *   even  the destination: the rest follows a fixed stream header
 *         (QEVM, version 3, CONFIGURATION "none") and goes to
 *         qemu_loadvm_state() with postcopy-ram on: COMMAND records
 *         POSTCOPY_ADVISE, RAM_DISCARD, LISTEN, RUN, PACKAGED,
 *         RECV_BITMAP, POSTCOPY_RESUME (postcopy-ram.c,
 *         postcopy-recover.c).  There is no return path (a buffer
 *         cannot carry one), so LISTEN stops before userfaultfd.
 *   odd   the source's return-path reader, status postcopy-recover:
 *         the rest is read message by message (migrate_rp_read_message)
 *         until an error or the end: RECV_BITMAP with its raw bitmap
 *         (recv-bitmap.c), RESUME_ACK, REQ_PAGES(_ID), PONG, SHUT.
 *         With bit 1 set too, the same bytes go to the reader of a Tern
 *         destination's page requests on the postcopy-preempt channel
 *         (migrate_rp_read_request), where only REQ_PAGES(_ID) is valid.
 * Any input must end in success or an Error; crashes, hangs and
 * sanitizer reports are bugs.
 *
 * Entry points and plain run: fuzz-driver.h (7 built-in exchanges named
 * seed-N, each taken or refused as it should be; 20000 mutations by
 * default).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "../unit/byte-array-put.h"
#include "migration/global_state.h"
#include "migration/messages.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "sysemu/ramblock.h"
#include "../../migration/migration.h"
#include "../../migration/options-json.h"
#include "../../migration/postcopy-ram.h"
#include "../../migration/postcopy-recover.h"
#include "../../migration/ram.h"
#include "../../migration/recv-bitmap.h"
#include "../../migration/return-path.h"
#include "fuzz-driver.h"
#include "fuzz-load.h"

#define FUZZ_RAM_NAME "mem"
#define FUZZ_RAM_SIZE (64 * KiB)
#define FUZZ_RAM_PAGES (FUZZ_RAM_SIZE / TARGET_PAGE_SIZE)
/* return-path messages read per input at most */
#define FUZZ_RP_MAX_MESSAGES 64

static RAMBlock *fuzz_ram_block;

static const char *fuzz_machine_type_name(void)
{
    return "none";
}

static void fuzz_setup(void)
{
    MigrationState *s = migrate_get_current();
    Error *err = NULL;
    json_object *caps;

    if (fuzz_ram_block) {
        return;
    }
    fuzz_ram_block = ram_block_add(FUZZ_RAM_NAME, FUZZ_RAM_SIZE, NULL, &err);
    if (!fuzz_ram_block) {
        fprintf(stderr, "fuzz-postcopy-cmd: %s\n", error_get_pretty(err));
        abort();
    }
    fuzz_ram_block->bmap = bitmap_new(FUZZ_RAM_PAGES);
    qemu_register_machine_type_name(fuzz_machine_type_name);
    timer_state_register();
    global_state_register();
    ram_mig_init();
    g_mutex_init(&s->lock);
    g_mutex_init(&s->pause_lock);
    g_cond_init(&s->pause_cond);
    g_mutex_init(&s->preempt_lock);
    g_mutex_init(&migration_incoming_get_current()->rp_lock);
    postcopy_ram_init();
    migrate_rp_init();
    ram_postcopy_rp_init();
    postcopy_recover_init();
    caps = json_tokener_parse("[{\"capability\": \"postcopy-ram\", "
                              "\"state\": true}]");
    if (!migrate_capabilities_set_json(caps, &err)) {
        fprintf(stderr, "fuzz-postcopy-cmd: %s\n", error_get_pretty(err));
        abort();
    }
    json_object_put(caps);
}

/* Fail loudly when the result and the Error disagree. */
static void fuzz_check_result(int ret, Error *err)
{
    if (ret < 0 && !err) {
        fprintf(stderr, "fuzz-postcopy-cmd: failure %d without an Error\n",
                ret);
        abort();
    }
    if (ret >= 0 && err) {
        fprintf(stderr, "fuzz-postcopy-cmd: success with an Error: %s\n",
                error_get_pretty(err));
        abort();
    }
}

/* The destination: header + data through the loader; 0 when loaded. */
static int fuzz_destination(const uint8_t *data, size_t size)
{
    static const uint8_t hdr[] = {'Q', 'E', 'V', 'M', 0,   0,   0,   3,  7,
                                  0,   0,   0,   4,   'n', 'o', 'n', 'e'};
    g_autofree uint8_t *buf = g_malloc(sizeof(hdr) + size);
    Error *err = NULL;
    QEMUFile *f;
    int ret;

    memcpy(buf, hdr, sizeof(hdr));
    if (size) {
        memcpy(buf + sizeof(hdr), data, size);
    }
    f = fuzz_file_new_input(buf, sizeof(hdr) + size);
    global_state_reset_received();
    ret = qemu_loadvm_state(f, &err);
    fuzz_check_result(ret, err);
    error_free(err);
    qemu_fclose(f);
    postcopy_ram_incoming_end(ret >= 0);
    return ret < 0 ? ret : 0;
}

/*
 * The source's return-path reader, or (preempt) its reader of requests
 * on the preempt channel; 0 when every message was taken.
 */
static int fuzz_return_path(const uint8_t *data, size_t size, bool preempt)
{
    MigrationState *s = migrate_get_current();
    QEMUFile *rp = fuzz_file_new_input(data, size);
    int ret = 0;

    __atomic_store_n(&s->status, MIGRATION_STATUS_POSTCOPY_RECOVER,
                     __ATOMIC_RELEASE);
    bitmap_fill(fuzz_ram_block->bmap, FUZZ_RAM_PAGES);
    for (int i = 0; i < FUZZ_RP_MAX_MESSAGES && ret == 0; i++) {
        Error *err = NULL;

        if (qemu_file_try_peek_byte(rp) < 0) {
            break; /* all read */
        }
        ret = preempt ? migrate_rp_read_request(s, rp, &err)
                      : migrate_rp_read_message(s, rp, &err);
        if (ret < 0 && !err && !qemu_file_get_error(rp)) {
            fprintf(stderr,
                    "fuzz-postcopy-cmd: RP failure %d without an "
                    "Error or a channel error\n",
                    ret);
            abort();
        }
        error_free(err);
    }
    qemu_fclose(rp);
    g_mutex_lock(&s->lock);
    error_free(s->error);
    s->error = NULL;
    g_mutex_unlock(&s->lock);
    __atomic_store_n(&s->status, MIGRATION_STATUS_NONE, __ATOMIC_RELEASE);
    return ret < 0 ? ret : 0;
}

static int fuzz_one(const uint8_t *data, size_t size)
{
    if (!size) {
        return 1;
    }
    return (data[0] & 1) ? fuzz_return_path(data + 1, size - 1, data[0] & 2)
                         : fuzz_destination(data + 1, size - 1);
}

/* ---- built-in inputs: well-formed exchanges ---- */

static void put_cmd(GByteArray *b, uint16_t cmd, GByteArray *data)
{
    uint8_t t = QEMU_VM_COMMAND;

    g_byte_array_append(b, &t, 1);
    byte_array_put_be16(b, cmd);
    byte_array_put_be16(b, data ? data->len : 0);
    if (data) {
        g_byte_array_append(b, data->data, data->len);
    }
}

static GByteArray *seed_destination(int kind)
{
    GByteArray *b = g_byte_array_new();
    GByteArray *d = g_byte_array_new();
    uint8_t zero = 0, eof = QEMU_VM_EOF;

    g_byte_array_append(b, &zero, 1); /* even: destination */
    byte_array_put_be64(d, TARGET_PAGE_SIZE);
    byte_array_put_be64(d, TARGET_PAGE_SIZE);
    put_cmd(b, MIG_CMD_POSTCOPY_ADVISE, d);
    g_byte_array_set_size(d, 0);
    if (kind == 0) { /* a discard of two ranges */
        g_byte_array_append(d, &zero, 1);
        byte_array_put_str8(d, FUZZ_RAM_NAME);
        g_byte_array_append(d, &zero, 1);
        byte_array_put_be64(d, 0);
        byte_array_put_be64(d, 2 * TARGET_PAGE_SIZE);
        byte_array_put_be64(d, 8 * TARGET_PAGE_SIZE);
        byte_array_put_be64(d, TARGET_PAGE_SIZE);
        put_cmd(b, MIG_CMD_POSTCOPY_RAM_DISCARD, d);
    } else if (kind == 1) { /* recovery commands */
        byte_array_put_str8(d, FUZZ_RAM_NAME);
        put_cmd(b, MIG_CMD_RECV_BITMAP, d);
        put_cmd(b, MIG_CMD_POSTCOPY_RESUME, NULL);
    } else { /* a package that asks to listen without a return path */
        GByteArray *pkg = g_byte_array_new();

        put_cmd(pkg, MIG_CMD_POSTCOPY_LISTEN, NULL);
        put_cmd(pkg, MIG_CMD_POSTCOPY_RUN, NULL);
        byte_array_put_be32(d, pkg->len);
        put_cmd(b, MIG_CMD_PACKAGED, d);
        g_byte_array_append(b, pkg->data, pkg->len);
        g_byte_array_free(pkg, true);
        g_byte_array_free(d, true);
        return b;
    }
    g_byte_array_append(b, &eof, 1);
    g_byte_array_free(d, true);
    return b;
}

static void put_rp(GByteArray *b, uint16_t type, GByteArray *data)
{
    byte_array_put_be16(b, type);
    byte_array_put_be16(b, data ? data->len : 0);
    if (data) {
        g_byte_array_append(b, data->data, data->len);
    }
}

static GByteArray *seed_return_path(int kind)
{
    GByteArray *b = g_byte_array_new();
    GByteArray *d = g_byte_array_new();
    uint8_t one = 1, wire[8] = {0x0f, 0xf0, 0, 0, 0, 0, 0, 0};

    g_byte_array_append(b, &one, 1); /* odd: return path */
    byte_array_put_be32(d, 1);
    put_rp(b, MIG_RP_MSG_PONG, d);
    g_byte_array_set_size(d, 0);
    byte_array_put_str8(d, FUZZ_RAM_NAME);
    put_rp(b, MIG_RP_MSG_RECV_BITMAP, d);
    byte_array_put_be64(b, recv_bitmap_wire_size(FUZZ_RAM_PAGES));
    g_byte_array_append(b, wire, sizeof(wire));
    byte_array_put_be64(b, RECV_BITMAP_END_MARK);
    g_byte_array_set_size(d, 0);
    byte_array_put_be32(d, 1);
    put_rp(b, MIG_RP_MSG_RESUME_ACK, d);
    if (kind == 1) {
        g_byte_array_set_size(d, 0);
        byte_array_put_be64(d, TARGET_PAGE_SIZE);
        byte_array_put_be32(d, TARGET_PAGE_SIZE);
        byte_array_put_str8(d, FUZZ_RAM_NAME);
        put_rp(b, MIG_RP_MSG_REQ_PAGES_ID, d);
    }
    g_byte_array_set_size(d, 0);
    byte_array_put_be32(d, 0);
    put_rp(b, MIG_RP_MSG_SHUT, d);
    g_byte_array_free(d, true);
    return b;
}

/*
 * The preempt channel's request reader: a request (kind 0), or a PONG,
 * which only the return path may carry (kind 1).
 */
static GByteArray *seed_preempt_requests(int kind)
{
    GByteArray *b = g_byte_array_new();
    GByteArray *d = g_byte_array_new();
    uint8_t three = 3;

    g_byte_array_append(b, &three, 1); /* odd, bit 1: preempt requests */
    if (kind == 0) {
        byte_array_put_be64(d, TARGET_PAGE_SIZE);
        byte_array_put_be32(d, TARGET_PAGE_SIZE);
        byte_array_put_str8(d, FUZZ_RAM_NAME);
        put_rp(b, MIG_RP_MSG_REQ_PAGES_ID, d);
    } else {
        byte_array_put_be32(d, 1);
        put_rp(b, MIG_RP_MSG_PONG, d);
    }
    g_byte_array_free(d, true);
    return b;
}

#define FUZZ_SEEDS 7

static GByteArray *fuzz_seed(unsigned i)
{
    return i < 3   ? seed_destination(i)
           : i < 5 ? seed_return_path(i - 3)
                   : seed_preempt_requests(i - 5);
}

/*
 * Every built-in input is a well-formed exchange, taken except 2 (asks
 * to listen without a return path), 4 and 5 (request a page with no
 * outgoing migration) and 6 (a PONG on the preempt channel).
 */
static bool fuzz_seed_check(unsigned i, const char *name, const GByteArray *b)
{
    int ret = fuzz_one(b->data, b->len);

    if ((ret == 0) != (i != 2 && i < 4)) {
        fprintf(stderr, "fuzz-postcopy-cmd: %s: %d\n", name, ret);
        return false;
    }
    return true;
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-postcopy-cmd",
    .setup = fuzz_setup,
    .input = fuzz_one,
    .taken = "taken",
    .seed = fuzz_seed,
    .n_seeds = FUZZ_SEEDS,
    .seed_prefix = "seed",
    .seed_check = fuzz_seed_check,
    .rand_seed = 0x9c11,
    .iterations = 20000,
    .quiet = true,
};
