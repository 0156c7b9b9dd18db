/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-return-path.c: the source's return-path reader against raw bytes
 * from a fake destination (a socketpair): every message is checked
 * against its type's row with QEMU 7.2's error texts, unexpected types
 * fail as before, a handler registered later slots in as a new row; and
 * the destination's SHUT/PONG bytes.
 */
#include "qemu/osdep.h"
#include <signal.h>
#include <sys/socket.h>
#include "qemu/bswap.h"
#include "io/channel-socket.h"
#include "migration/messages.h"
#include "stubs/migration.h"
#include "../../migration/return-path.h"

/* A source whose return path reads what the test writes to peer_fd. */
typedef struct FakeSource {
    MigrationState s;
    QIOChannel *ioc;
    int peer_fd;
} FakeSource;

static void fake_source_start(FakeSource *fs)
{
    int sv[2];

    memset(fs, 0, sizeof(*fs));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    fs->ioc = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    fs->peer_fd = sv[1];
    fs->s.to_dst_file = qemu_file_new_output(fs->ioc);
    g_assert_true(migrate_rp_start(&fs->s, &error_abort));
}

/* Build "be16 type | be16 len | data" messages. */
static void put_msg(GByteArray *b, uint16_t type, uint16_t len,
                    const uint8_t *data)
{
    uint8_t head[4];

    stw_be_p(head, type);
    stw_be_p(head + 2, len);
    g_byte_array_append(b, head, sizeof(head));
    if (len) {
        g_byte_array_append(b, data, len);
    }
}

static void put_u32_msg(GByteArray *b, uint16_t type, uint32_t value)
{
    uint8_t data[4];

    stl_be_p(data, value);
    put_msg(b, type, sizeof(data), data);
}

/*
 * Send bytes from the destination, close its end, and wait for the
 * reader.  Returns migrate_rp_wait_shut()'s value; *err its error.
 */
static int fake_source_finish(FakeSource *fs, GByteArray *b, Error **err)
{
    int ret;

    g_assert_cmpint(write(fs->peer_fd, b->data, b->len), ==, b->len);
    close(fs->peer_fd);
    ret = migrate_rp_wait_shut(&fs->s, err);
    migrate_rp_cleanup(&fs->s);
    qemu_fclose(fs->s.to_dst_file);
    qio_channel_unref(fs->ioc);
    error_free(fs->s.error);
    g_byte_array_set_size(b, 0);
    return ret;
}

static void expect_rp_full(GByteArray *b, const char *msg, bool exact);

/* Run b through a fresh reader; expect success or an error starting msg. */
static void expect_rp(GByteArray *b, const char *msg)
{
    expect_rp_full(b, msg, false);
}

static void expect_rp_full(GByteArray *b, const char *msg, bool exact)
{
    FakeSource fs;
    Error *err = NULL;
    int ret;

    fake_source_start(&fs);
    ret = fake_source_finish(&fs, b, &err);
    if (!msg) {
        g_assert_null(err);
        g_assert_cmpint(ret, ==, 0);
        return;
    }
    g_assert_nonnull(err);
    if (!g_str_has_prefix(error_get_pretty(err), msg)) {
        g_printerr("expected \"%s\", got \"%s\"\n", msg, error_get_pretty(err));
    }
    g_assert_true(g_str_has_prefix(error_get_pretty(err), msg));
    if (exact) {
        g_assert_cmpstr(error_get_pretty(err), ==, msg);
    }
    g_assert_cmpint(ret, <, 0);
    error_free(err);
}

static void test_precopy_messages(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    put_u32_msg(b, MIG_RP_MSG_SHUT, 0);
    expect_rp(b, NULL);

    put_u32_msg(b, MIG_RP_MSG_PONG, 1);
    put_u32_msg(b, MIG_RP_MSG_PONG, 2);
    put_u32_msg(b, MIG_RP_MSG_SHUT, 0);
    expect_rp(b, NULL);

    put_u32_msg(b, MIG_RP_MSG_PONG, 1);
    put_u32_msg(b, MIG_RP_MSG_SHUT, 1);
    expect_rp_full(b, "RP: Sibling indicated error 1", true); /* QEMU's */

    /* A Tern destination says why after SHUT 1 (0x7e01, the text). */
    put_u32_msg(b, MIG_RP_MSG_SHUT, 1);
    put_msg(b, 0x7e01, 16, (const uint8_t *)"Size mismatch\n!!");
    expect_rp_full(b,
                   "RP: Sibling indicated error 1; the destination "
                   "reported: Size mismatch?!!",
                   true);

    /* Anything else after SHUT 1 is not a reason. */
    put_u32_msg(b, MIG_RP_MSG_SHUT, 1);
    put_u32_msg(b, MIG_RP_MSG_PONG, 3);
    expect_rp_full(b, "RP: Sibling indicated error 1", true);
    put_u32_msg(b, MIG_RP_MSG_SHUT, 2);
    put_msg(b, 0x7e01, 10, (const uint8_t *)"cut short");
    g_byte_array_set_size(b, b->len - 3);
    expect_rp_full(b, "RP: Sibling indicated error 2", true);

    /* Closed before SHUT. */
    put_u32_msg(b, MIG_RP_MSG_PONG, 1);
    expect_rp(b, "Return path closed before the destination finished");

    /* Closed inside a message's data. */
    put_u32_msg(b, MIG_RP_MSG_SHUT, 0);
    g_byte_array_set_size(b, b->len - 2);
    expect_rp(b, "Return path closed before the destination finished");
}

static void test_malformed(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t big[MIG_RP_MSG_MAX_LEN + 1] = {0};

    put_msg(b, 0, 0, NULL);
    expect_rp(b, "RP: Received invalid message 0x0000 length 0x0000");

    put_msg(b, MIG_RP_MSG_MAX, 4, big);
    expect_rp(b, "RP: Received invalid message 0x000c length 0x0004");

    put_msg(b, 0xffff, 0, NULL);
    expect_rp(b, "RP: Received invalid message 0xffff length 0x0000");

    /* Longer than any message may be: invalid, before any data. */
    put_msg(b, MIG_RP_MSG_SHUT, sizeof(big), big);
    expect_rp(b, "RP: Received invalid message 0x0001 length 0x0201");

    put_msg(b, MIG_RP_MSG_SHUT, 2, big);
    expect_rp(b, "RP: Received 'SHUT' message (0x0001) with incorrect "
                 "length 2 expecting 4");

    put_msg(b, MIG_RP_MSG_PONG, 8, big);
    expect_rp(b, "RP: Received 'PONG' message (0x0002) with incorrect "
                 "length 8 expecting 4");
}

/* Types precopy has no handler for fail whatever their length. */
static void test_unexpected(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t data[MIG_RP_MSG_MAX_LEN] = {0};

    put_msg(b, MIG_RP_MSG_REQ_PAGES, MIG_RP_MSG_REQ_PAGES_LEN, data);
    expect_rp(b, "RP: Received 'REQ_PAGES' message (0x0004), not expected "
                 "in a precopy migration");

    put_msg(b, MIG_RP_MSG_REQ_PAGES, 20, data);
    expect_rp(b, "RP: Received 'REQ_PAGES' message (0x0004), not expected "
                 "in a precopy migration");

    put_msg(b, MIG_RP_MSG_REQ_PAGES_ID, sizeof(data), data);
    expect_rp(b, "RP: Received 'REQ_PAGES_ID' message (0x0003), not "
                 "expected in a precopy migration");

    put_msg(b, MIG_RP_MSG_SWITCHOVER_ACK, 0, NULL);
    expect_rp(b, "RP: Received 'SWITCHOVER_ACK' message (0x0007), not "
                 "expected in a precopy migration");
}

/* What the rows added below saw. */
static GString *handled;

static int test_resume_ack(const MigRPMessage *msg, Error **errp)
{
    g_string_append_printf(handled, "RESUME_ACK %u ", ldl_be_p(msg->data));
    return 0;
}

static int test_req_pages_id(const MigRPMessage *msg, Error **errp)
{
    g_string_append_printf(handled, "REQ_PAGES_ID %u ", msg->len);
    if (msg->len < 13) {
        error_setg(errp, "short REQ_PAGES_ID");
        return -EINVAL;
    }
    return 0;
}

/* A postcopy-style handler slots in as a row with its length check. */
static void test_new_rows(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t data[MIG_RP_MSG_MAX_LEN] = {0};

    handled = g_string_new(NULL);
    migrate_rp_register_handler(MIG_RP_MSG_RESUME_ACK, test_resume_ack);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES_ID, test_req_pages_id);

    put_u32_msg(b, MIG_RP_MSG_RESUME_ACK, 1);
    put_msg(b, MIG_RP_MSG_REQ_PAGES_ID, 16, data);
    put_msg(b, MIG_RP_MSG_REQ_PAGES_ID, MIG_RP_MSG_REQ_PAGES_ID_MAX_LEN, data);
    put_u32_msg(b, MIG_RP_MSG_SHUT, 0);
    expect_rp(b, NULL);
    g_assert_cmpstr(handled->str, ==,
                    "RESUME_ACK 1 REQ_PAGES_ID 16 REQ_PAGES_ID 268 ");

    /* A variable type's own bound. */
    put_msg(b, MIG_RP_MSG_REQ_PAGES_ID, MIG_RP_MSG_REQ_PAGES_ID_MAX_LEN + 1,
            data);
    expect_rp(b, "RP: Received 'REQ_PAGES_ID' message (0x0003) with "
                 "incorrect length 269 expecting 268");

    put_msg(b, MIG_RP_MSG_RESUME_ACK, 0, NULL);
    expect_rp(b, "RP: Received 'RESUME_ACK' message (0x0006) with "
                 "incorrect length 0 expecting 4");

    put_msg(b, MIG_RP_MSG_REQ_PAGES_ID, 2, data);
    expect_rp(b, "short REQ_PAGES_ID");

    /* Unregistered again: unexpected, as in precopy. */
    migrate_rp_register_handler(MIG_RP_MSG_RESUME_ACK, NULL);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES_ID, NULL);
    put_u32_msg(b, MIG_RP_MSG_RESUME_ACK, 1);
    expect_rp(b, "RP: Received 'RESUME_ACK' message (0x0006), not "
                 "expected in a precopy migration");
    g_string_free(handled, true);
}

static int test_req_preempt(const MigRPMessage *msg, Error **errp)
{
    g_string_append_printf(handled, "%s%s ",
                           msg->type == MIG_RP_MSG_REQ_PAGES ? "REQ_PAGES"
                                                             : "REQ_PAGES_ID",
                           msg->preempt ? "@preempt" : "");
    return 0;
}

/*
 * Page requests on the postcopy-preempt channel (a Tern destination's):
 * the same encoding as on the return path, handlers told which channel;
 * any other message there is an error.
 */
static void test_preempt_requests(void)
{
    uint8_t data[MIG_RP_MSG_MAX_LEN] = {0};
    MigrationState s = {0};
    Error *err = NULL;
    QIOChannel *ioc, *peer;
    QEMUFile *dst, *in;
    int sv[2];

    handled = g_string_new(NULL);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES_ID, test_req_preempt);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES, test_req_preempt);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    ioc = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    in = qemu_file_new_input(ioc);
    peer = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
    dst = qemu_file_new_output(peer);

    /* what the destination writes, as the return path would */
    migrate_put_rp_req_pages(dst, "pc.ram", 0x2000, 4096);
    migrate_put_rp_req_pages(dst, NULL, 0x3000, 4096);
    g_assert_cmpint(qemu_fflush(dst), ==, 0);
    g_assert_cmpint(migrate_rp_read_request(&s, in, &error_abort), ==, 0);
    g_assert_cmpint(migrate_rp_read_request(&s, in, &error_abort), ==, 0);
    migrate_put_rp_req_pages(dst, NULL, 0x4000, 4096);
    g_assert_cmpint(qemu_fflush(dst), ==, 0);
    g_assert_cmpint(migrate_rp_read_message(&s, in, &error_abort), ==, 0);
    g_assert_cmpstr(handled->str, ==,
                    "REQ_PAGES_ID@preempt REQ_PAGES@preempt REQ_PAGES ");

    /* nothing but requests there */
    stl_be_p(data, 0x00020004);
    stl_be_p(data + 4, 7);
    qemu_put_buffer(dst, data, 8);
    g_assert_cmpint(qemu_fflush(dst), ==, 0);
    g_assert_cmpint(migrate_rp_read_request(&s, in, &err), ==, -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "RP: Received 'PONG' message (0x0002) on the "
                    "postcopy-preempt channel, which carries page requests "
                    "only");
    error_free(err);

    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES_ID, NULL);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES, NULL);
    qemu_fclose(dst);
    qemu_fclose(in);
    qio_channel_unref(peer);
    qio_channel_unref(ioc);
    g_string_free(handled, true);
}

/* Destination: OPEN_RETURN_PATH, PONG and SHUT bytes. */
static void test_destination(void)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint8_t got[16];
    QIOChannel *ioc;
    QEMUFile *f;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    ioc = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    f = qemu_file_new_input(ioc);
    g_assert_true(migrate_rp_answer_ping(5, &error_abort)); /* no rp: no-op */
    g_assert_true(migrate_rp_open_incoming(f, &error_abort));
    g_assert_nonnull(mis->to_src_file);
    g_assert_true(migrate_rp_open_incoming(f, &error_abort)); /* again */
    g_assert_true(migrate_rp_answer_ping(0x01020304, &error_abort));
    migrate_send_rp_shut(mis, 0);
    g_assert_cmpint(read(sv[1], got, sizeof(got)), ==, 16);
    g_assert(memcmp(got,
                    "\x00\x02\x00\x04\x01\x02\x03\x04"
                    "\x00\x01\x00\x04\x00\x00\x00\x00",
                    16) == 0);
    /* a failed load: SHUT 1, then the reason */
    migrate_send_rp_failure(mis, "bad");
    g_assert_cmpint(read(sv[1], got, sizeof(got)), ==, 15);
    g_assert(memcmp(got,
                    "\x00\x01\x00\x04\x00\x00\x00\x01"
                    "\x7e\x01\x00\x03"
                    "bad",
                    15) == 0);
    qemu_fclose(mis->to_src_file);
    mis->to_src_file = NULL;
    qemu_fclose(f);
    qio_channel_unref(ioc);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_test_init(&argc, &argv, NULL);
    migrate_rp_init();
    g_test_add_func("/return-path/precopy-messages", test_precopy_messages);
    g_test_add_func("/return-path/malformed", test_malformed);
    g_test_add_func("/return-path/unexpected", test_unexpected);
    g_test_add_func("/return-path/new-rows", test_new_rows);
    g_test_add_func("/return-path/destination", test_destination);
    g_test_add_func("/return-path/preempt-requests", test_preempt_requests);
    return g_test_run();
}
