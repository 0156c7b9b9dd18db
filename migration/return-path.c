/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * return-path.c: messages from the destination back to the source, on
 * the same connection in the opposite direction (QEMU 7.2 format; the
 * message numbers and lengths are in include/migration/messages.h).
 *
 * Destination: savevm's OPEN_RETURN_PATH and PING hooks call
 * migrate_rp_open_incoming() and migrate_rp_answer_ping(); SHUT is sent
 * when the load ends (migration.c).  Messages are written from the load
 * thread and the main thread, serialised by mis->rp_lock.
 *
 * Source (return-path capability): after the header we send
 * OPEN_RETURN_PATH and PING 1 and start a reader thread; completion waits
 * for SHUT before declaring success, so a destination that rejects the
 * stream makes the migration fail instead of "completed".  The reader
 * dispatches through rp_msgs[] (see return-path.h): precopy handles SHUT
 * and PONG, any other type fails the migration.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration.h"
#include "postcopy-ram.h"
#include "recv-bitmap.h"
#include "return-path.h"
#include "watchdog.h"

/* What the reader knows about one message type. */
typedef struct MigRPMessageDef {
    const char *name;
    int len;          /* fixed data length, or -1: variable up to max_len */
    uint16_t max_len; /* variable types only */
    MigRPMessageHandler *handler; /* NULL: not expected (fails) */
} MigRPMessageDef;

/*
 * Indexed by type.  Handlers are installed at start-up on the main
 * thread (migrate_rp_register_handler) and only read afterwards.
 */
static MigRPMessageDef rp_msgs[MIG_RP_MSG_MAX] = {
    [MIG_RP_MSG_INVALID] = {.name = "INVALID", .len = -1},
    [MIG_RP_MSG_SHUT] = {.name = "SHUT", .len = MIG_RP_MSG_SHUT_LEN},
    [MIG_RP_MSG_PONG] = {.name = "PONG", .len = MIG_RP_MSG_PONG_LEN},
    [MIG_RP_MSG_REQ_PAGES_ID] = {.name = "REQ_PAGES_ID",
                                 .len = -1,
                                 .max_len = MIG_RP_MSG_REQ_PAGES_ID_MAX_LEN},
    [MIG_RP_MSG_REQ_PAGES] = {.name = "REQ_PAGES",
                              .len = MIG_RP_MSG_REQ_PAGES_LEN},
    [MIG_RP_MSG_RECV_BITMAP] = {.name = "RECV_BITMAP",
                                .len = -1,
                                .max_len = MIG_RP_MSG_RECV_BITMAP_MAX_LEN},
    [MIG_RP_MSG_RESUME_ACK] = {.name = "RESUME_ACK",
                               .len = MIG_RP_MSG_RESUME_ACK_LEN},
    [MIG_RP_MSG_SWITCHOVER_ACK] = {.name = "SWITCHOVER_ACK",
                                   .len = MIG_RP_MSG_SWITCHOVER_ACK_LEN},
    [MIG_RP_MSG_CKPT_OFFER] = {.name = "CKPT_OFFER",
                               .len = MIG_RP_MSG_CKPT_OFFER_LEN},
    [MIG_RP_MSG_CKPT_REQ] = {.name = "CKPT_REQ",
                             .len = -1,
                             .max_len = MIG_RP_MSG_CKPT_REQ_MAX_LEN},
    [MIG_RP_MSG_CKPT_ACK] = {.name = "CKPT_ACK",
                             .len = MIG_RP_MSG_CKPT_ACK_LEN},
    [MIG_RP_MSG_CKPT_PART] = {.name = "CKPT_PART",
                              .len = MIG_RP_MSG_CKPT_PART_LEN},
};

static const char *migrate_rp_msg_name(uint16_t type)
{
    return type < MIG_RP_MSG_MAX ? rp_msgs[type].name : "?";
}

void migrate_rp_register_handler(enum mig_rp_message_type type,
                                 MigRPMessageHandler *handler)
{
    g_assert(type > MIG_RP_MSG_INVALID && type < MIG_RP_MSG_MAX);
    rp_msgs[type].handler = handler;
}

/* ---------------- destination ---------------- */

/* One message on f, not flushed. */
static void migrate_put_rp_message_to(QEMUFile *f, uint16_t type, uint16_t len,
                                      const uint8_t *data)
{
    TRACE("migration_rp_send", "%s (0x%04x) len %u", migrate_rp_msg_name(type),
          type, len);
    qemu_put_be16(f, type);
    qemu_put_be16(f, len);
    qemu_put_buffer(f, data, len);
}

/* One message on the open return path (rp_lock held), not flushed. */
static void migrate_put_rp_message(MigrationIncomingState *mis, uint16_t type,
                                   uint16_t len, const uint8_t *data)
{
    migrate_put_rp_message_to(mis->to_src_file, type, len, data);
}

static void migrate_send_rp_message(MigrationIncomingState *mis, uint16_t type,
                                    uint16_t len, const uint8_t *data)
{
    g_mutex_lock(&mis->rp_lock);
    if (mis->to_src_file) {
        migrate_put_rp_message(mis, type, len, data);
        qemu_fflush(mis->to_src_file);
    }
    g_mutex_unlock(&mis->rp_lock);
}

bool migrate_send_rp_recv_bitmap(MigrationIncomingState *mis, const char *name,
                                 const uint8_t *bitmap, uint64_t size)
{
    uint8_t buf[MIG_RP_MSG_RECV_BITMAP_MAX_LEN];
    size_t name_len = MIN(strlen(name), 255);
    bool ok = false;

    buf[0] = name_len;
    memcpy(buf + 1, name, name_len);
    g_mutex_lock(&mis->rp_lock);
    if (mis->to_src_file) {
        migrate_put_rp_message(mis, MIG_RP_MSG_RECV_BITMAP, 1 + name_len, buf);
        qemu_put_be64(mis->to_src_file, size);
        qemu_put_buffer(mis->to_src_file, bitmap, size);
        qemu_put_be64(mis->to_src_file, RECV_BITMAP_END_MARK);
        ok = qemu_fflush(mis->to_src_file) >= 0;
    }
    g_mutex_unlock(&mis->rp_lock);
    return ok;
}

/* Send a message whose data is one be32 (SHUT, PONG). */
static void migrate_send_rp_u32(MigrationIncomingState *mis, uint16_t type,
                                uint32_t value)
{
    uint8_t buf[sizeof(uint32_t)];

    stl_be_p(buf, value);
    migrate_send_rp_message(mis, type, sizeof(buf), buf);
}

void migrate_send_rp_pong(MigrationIncomingState *mis, uint32_t value)
{
    migrate_send_rp_u32(mis, MIG_RP_MSG_PONG, value);
}

void migrate_send_rp_shut(MigrationIncomingState *mis, uint32_t value)
{
    migrate_send_rp_u32(mis, MIG_RP_MSG_SHUT, value);
}

void migrate_send_rp_resume_ack(MigrationIncomingState *mis, uint32_t value)
{
    migrate_send_rp_u32(mis, MIG_RP_MSG_RESUME_ACK, value);
}

void migrate_put_rp_req_pages(QEMUFile *f, const char *rbname, uint64_t start,
                              uint32_t len)
{
    uint8_t buf[MIG_RP_MSG_REQ_PAGES_ID_MAX_LEN];
    size_t n = 12;

    stq_be_p(buf, start);
    stl_be_p(buf + 8, len);
    if (rbname) {
        size_t name_len = MIN(strlen(rbname), 255);

        buf[n++] = name_len;
        memcpy(buf + n, rbname, name_len);
        n += name_len;
    }
    migrate_put_rp_message_to(
        f, rbname ? MIG_RP_MSG_REQ_PAGES_ID : MIG_RP_MSG_REQ_PAGES, n, buf);
}

void migrate_send_rp_req_pages(MigrationIncomingState *mis, const char *rbname,
                               uint64_t start, uint32_t len)
{
    g_mutex_lock(&mis->rp_lock);
    if (mis->to_src_file) {
        migrate_put_rp_req_pages(mis->to_src_file, rbname, start, len);
        qemu_fflush(mis->to_src_file);
    }
    g_mutex_unlock(&mis->rp_lock);
}

/* A message of type carrying be64 len, then len bytes of data. */
static void migrate_send_rp_trailing(MigrationIncomingState *mis, uint16_t type,
                                     const uint8_t *offer, uint64_t len)
{
    uint8_t buf[8];

    stq_be_p(buf, len);
    g_mutex_lock(&mis->rp_lock);
    if (mis->to_src_file) {
        TRACE("migration_rp_send", "%s len 8 + %" PRIu64,
              migrate_rp_msg_name(type), len);
        qemu_put_be16(mis->to_src_file, type);
        qemu_put_be16(mis->to_src_file, sizeof(buf));
        qemu_put_buffer(mis->to_src_file, buf, sizeof(buf));
        qemu_put_buffer(mis->to_src_file, offer, len);
        qemu_fflush(mis->to_src_file);
    }
    g_mutex_unlock(&mis->rp_lock);
}

void migrate_send_rp_ckpt_offer(MigrationIncomingState *mis,
                                const uint8_t *offer, uint64_t len)
{
    migrate_send_rp_trailing(mis, MIG_RP_MSG_CKPT_OFFER, offer, len);
}

void migrate_send_rp_ckpt_part(MigrationIncomingState *mis, const uint8_t *part,
                               uint64_t len)
{
    migrate_send_rp_trailing(mis, MIG_RP_MSG_CKPT_PART, part, len);
}

void migrate_send_rp_ckpt_req(MigrationIncomingState *mis, const char *rbname,
                              uint64_t offset)
{
    uint8_t buf[MIG_RP_MSG_CKPT_REQ_MAX_LEN];
    size_t name_len = MIN(strlen(rbname), 255);

    stq_be_p(buf, offset);
    buf[8] = name_len;
    memcpy(buf + 9, rbname, name_len);
    migrate_send_rp_message(mis, MIG_RP_MSG_CKPT_REQ, 9 + name_len, buf);
}

void migrate_send_rp_ckpt_ack(MigrationIncomingState *mis, uint32_t seq)
{
    migrate_send_rp_u32(mis, MIG_RP_MSG_CKPT_ACK, seq);
}

/*
 * Tern's extension after SHUT with an error: "be16 0x7e01 | be16 len |
 * text" (not NUL-terminated, at most MIG_RP_MSG_MAX_LEN bytes).  Outside
 * QEMU's numbering (types count up from 1), and sent only where a QEMU
 * source has stopped reading.
 */
#define TERN_RP_MSG_REASON 0x7e01

void migrate_send_rp_failure(MigrationIncomingState *mis, const char *reason)
{
    size_t len = MIN(strlen(reason), MIG_RP_MSG_MAX_LEN);

    migrate_send_rp_shut(mis, 1);
    migrate_send_rp_message(mis, TERN_RP_MSG_REASON, len,
                            (const uint8_t *)reason);
}

bool migrate_rp_open_incoming(QEMUFile *f, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    QEMUFile *rp;

    if (mis->to_src_file) {
        return true; /* already open */
    }
    if (!qemu_file_is_writable(f) &&
        !qio_channel_has_feature(qemu_file_get_ioc(f),
                                 QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        /* A file or pipe: nobody to answer; ignore as 7.2 does. */
        return true;
    }
    rp = qemu_file_get_return_path(f);
    if (!rp) {
        error_setg(errp, "CMD_OPEN_RETURN_PATH failed");
        return false;
    }
    g_mutex_lock(&mis->rp_lock);
    mis->to_src_file = rp;
    g_mutex_unlock(&mis->rp_lock);
    /* a new migration: its source asks anew (postcopy-preempt.h) */
    __atomic_store_n(&mis->preempt_requests, false, __ATOMIC_RELEASE);
    return true;
}

bool migrate_rp_answer_ping(uint32_t value, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (!mis->to_src_file) {
        /* An OPEN_RETURN_PATH on a one-way channel: nothing to answer. */
        return true;
    }
    migrate_send_rp_pong(mis, value);
    return true;
}

/* ---------------- source ---------------- */

/*
 * How long the reader waits for a reason after SHUT with an error: a Tern
 * destination sends it at once, a QEMU one closes (EOF), but a peer that
 * does neither must not keep the source waiting.
 */
#define RP_REASON_WAIT_MS 500

static char *migrate_rp_read_reason_blocking(QEMUFile *rp);

/* Shuts rp down unless disarmed within RP_REASON_WAIT_MS. */
typedef struct RPDeadline {
    GMutex lock;
    GCond cond;
    bool disarmed;
    QEMUFile *rp;
} RPDeadline;

static gpointer migrate_rp_deadline_thread(gpointer opaque)
{
    RPDeadline *d = opaque;
    gint64 end =
        g_get_monotonic_time() + RP_REASON_WAIT_MS * G_TIME_SPAN_MILLISECOND;

    g_mutex_lock(&d->lock);
    while (!d->disarmed && g_cond_wait_until(&d->cond, &d->lock, end)) {
        /* woken: disarmed, or spuriously */
    }
    if (!d->disarmed) {
        qemu_file_shutdown(d->rp);
    }
    g_mutex_unlock(&d->lock);
    return NULL;
}

/*
 * After SHUT with an error: a Tern destination's reason, or NULL (a QEMU
 * destination just closes: EOF; a silent peer: the deadline shuts the
 * return path down).  Unprintable bytes become '?'.
 */
static char *migrate_rp_read_reason(QEMUFile *rp)
{
    RPDeadline d = {.rp = rp};
    GThread *th;
    char *text;

    g_mutex_init(&d.lock);
    g_cond_init(&d.cond);
    th = g_thread_new("rp reason", migrate_rp_deadline_thread, &d);
    text = migrate_rp_read_reason_blocking(rp);
    g_mutex_lock(&d.lock);
    d.disarmed = true;
    g_cond_signal(&d.cond);
    g_mutex_unlock(&d.lock);
    g_thread_join(th);
    g_mutex_clear(&d.lock);
    g_cond_clear(&d.cond);
    return text;
}

static char *migrate_rp_read_reason_blocking(QEMUFile *rp)
{
    uint16_t type = qemu_get_be16(rp);
    uint16_t len = qemu_get_be16(rp);
    char *text;

    if (qemu_file_get_error(rp) || type != TERN_RP_MSG_REASON ||
        len > MIG_RP_MSG_MAX_LEN) {
        return NULL;
    }
    text = g_malloc0(len + 1);
    if (qemu_get_buffer(rp, (uint8_t *)text, len) != len) {
        g_free(text);
        return NULL;
    }
    for (uint16_t i = 0; i < len; i++) {
        if (!g_ascii_isprint(text[i])) {
            text[i] = '?';
        }
    }
    return text;
}

/* SHUT: 0 ends the return path cleanly, anything else is an error. */
static int migrate_rp_handle_shut(const MigRPMessage *msg, Error **errp)
{
    uint32_t value = ldl_be_p(msg->data);

    TRACE("migration_rp_recv_shut", "value %u", value);
    if (value) {
        g_autofree char *reason = NULL;

        __atomic_store_n(&msg->s->rp_dest_failed, true, __ATOMIC_RELEASE);
        reason = migrate_rp_read_reason(msg->rp);

        if (reason) {
            error_setg(errp,
                       "RP: Sibling indicated error %d; the destination "
                       "reported: %s",
                       value, reason);
        } else {
            error_setg(errp, "RP: Sibling indicated error %d", value);
        }
        return -EINVAL;
    }
    __atomic_store_n(&msg->s->rp_shut_received, true, __ATOMIC_RELEASE);
    return MIG_RP_END;
}

/* PONG: the destination is alive; precopy needs nothing more. */
static int migrate_rp_handle_pong(const MigRPMessage *msg, Error **errp)
{
    TRACE("migration_rp_recv_pong", "value %u", ldl_be_p(msg->data));
    return 0;
}

void migrate_rp_init(void)
{

    migrate_rp_register_handler(MIG_RP_MSG_SHUT, migrate_rp_handle_shut);
    migrate_rp_register_handler(MIG_RP_MSG_PONG, migrate_rp_handle_pong);
}

/*
 * The row for a message header, or NULL with errp set: unknown types and
 * data longer than any message may carry are invalid; a type we handle
 * must have its length.  Types without a handler pass (they fail as
 * unexpected once their data has been read, as before).
 */
static const MigRPMessageDef *
migrate_rp_check_header(uint16_t type, uint16_t len, Error **errp)
{
    const MigRPMessageDef *def;
    int expect;

    if (type >= MIG_RP_MSG_MAX || type == MIG_RP_MSG_INVALID ||
        len > MIG_RP_MSG_MAX_LEN) {
        error_setg(errp, "RP: Received invalid message 0x%04x length 0x%04x",
                   type, len);
        return NULL;
    }
    def = &rp_msgs[type];
    expect = def->len >= 0 ? def->len : def->max_len;
    if (def->handler &&
        (def->len >= 0 ? len != def->len : len > def->max_len)) {
        error_setg(errp,
                   "RP: Received '%s' message (0x%04x) with incorrect "
                   "length %d expecting %d",
                   def->name, type, len, expect);
        return NULL;
    }
    return def;
}

/* One message from rp (preempt: the postcopy-preempt channel's). */
static int migrate_rp_read(MigrationState *s, QEMUFile *rp, bool preempt,
                           Error **errp)
{
    g_autofree uint8_t *data = NULL;
    const MigRPMessageDef *def;
    MigRPMessage msg = {.s = s, .rp = rp, .preempt = preempt};

    msg.type = qemu_get_be16(rp);
    msg.len = qemu_get_be16(rp);
    if (qemu_file_get_error(rp)) {
        return -EIO;
    }
    TRACE("migration_rp_recv", "%s (0x%04x) len %u",
          migrate_rp_msg_name(msg.type), msg.type, msg.len);
    def = migrate_rp_check_header(msg.type, msg.len, errp);
    if (!def) {
        return -EINVAL;
    }
    if (preempt && msg.type != MIG_RP_MSG_REQ_PAGES &&
        msg.type != MIG_RP_MSG_REQ_PAGES_ID) {
        error_setg(errp,
                   "RP: Received '%s' message (0x%04x) on the "
                   "postcopy-preempt channel, which carries page requests "
                   "only",
                   def->name, msg.type);
        return -EINVAL;
    }
    if (msg.len) {
        data = g_malloc(msg.len);
        if (qemu_get_buffer(rp, data, msg.len) != msg.len) {
            return -EIO;
        }
    }
    if (!def->handler) {
        error_setg(errp,
                   "RP: Received '%s' message (0x%04x), not "
                   "expected in a precopy migration",
                   def->name, msg.type);
        return -EINVAL;
    }
    msg.data = data;
    migration_progress_beat();
    return def->handler(&msg, errp);
}

/* See return-path.h. */
int migrate_rp_read_message(MigrationState *s, QEMUFile *rp, Error **errp)
{
    return migrate_rp_read(s, rp, false, errp);
}

/* See return-path.h. */
int migrate_rp_read_request(MigrationState *s, QEMUFile *rp, Error **errp)
{
    return migrate_rp_read(s, rp, true, errp);
}

/*
 * The reader failed.  A bad or failing message (SHUT with an error: the
 * destination's own verdict) is recorded as the migration's error now,
 * before the migration thread, which may notice rp_error in its loop,
 * fails.  A channel that merely closed or broke is only kept in rp_err:
 * it is often the echo of the real failure (a multifd channel reset, a
 * stream error, our own shutdown), which the migration thread records
 * first; migration_run_fail() falls back to rp_err.
 */
static GMutex rp_fail_lock; /* two readers may fail at once */

static void migrate_rp_fail(MigrationState *s, QEMUFile *rp, Error *err)
{
    if (err) {
        migrate_set_error(s, err);
    } else {
        int ret = qemu_file_get_error_obj(rp, &err);

        /* say which channel died: a bare "Input/output error" doesn't */
        if (err) {
            error_prepend(&err, "Return path closed before the "
                                "destination finished: ");
        } else {
            error_setg_errno(&err, ret ? -ret : EIO,
                             "Return path closed before the "
                             "destination finished");
        }
    }
    g_mutex_lock(&rp_fail_lock);
    if (s->rp_err) {
        error_free(err); /* the first reader's error stands */
    } else {
        s->rp_err = err;
    }
    __atomic_store_n(&s->rp_error, -EIO, __ATOMIC_RELEASE);
    g_mutex_unlock(&rp_fail_lock);
}

void migrate_rp_fail_message(MigrationState *s, Error *err)
{
    migrate_rp_fail(s, NULL, err);
}

static gpointer migrate_rp_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    Error *err = NULL;
    int ret;

    do {
        ret = migrate_rp_read_message(s, s->rp_file, &err);
        if (migration_status() == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            /* the PONG right after the switch: before the first request */
            postcopy_rp_thread_prioritise();
        }
    } while (ret == 0);
    if (ret != MIG_RP_END || !s->rp_shut_received) {
        /* no error of ours: the channel broke (postcopy may pause) */
        s->rp_channel_failed = !err;
        migrate_rp_fail(s, s->rp_file, err);
    }
    return NULL;
}

bool migrate_rp_start(MigrationState *s, Error **errp)
{
    s->rp_file = qemu_file_get_return_path(s->to_dst_file);
    if (!s->rp_file) {
        error_setg(errp, "Unable to open return-path for postcopy");
        return false;
    }
    s->rp_shut_received = false;
    s->rp_dest_failed = false;
    s->rp_error = 0;
    s->rp_channel_failed = false;
    s->rp_err = NULL;
    s->rp_thread = g_thread_new("return path", migrate_rp_thread, s);
    return true;
}

void migrate_rp_wait_verdict(MigrationState *s, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    while (s->rp_thread && !__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&s->rp_shut_received, __ATOMIC_ACQUIRE) &&
           g_get_monotonic_time() < deadline) {
        g_usleep(10 * 1000);
    }
}

int migrate_rp_wait_shut(MigrationState *s, Error **errp)
{
    if (!s->rp_thread) {
        return 0;
    }
    g_thread_join(s->rp_thread);
    s->rp_thread = NULL;
    if (!s->rp_shut_received) {
        if (s->rp_err) {
            error_propagate(errp, s->rp_err);
            s->rp_err = NULL;
        } else {
            error_setg(errp, "Return path closed before the destination "
                             "finished");
        }
        return -EIO;
    }
    return 0;
}

void migrate_rp_cleanup(MigrationState *s)
{
    if (s->rp_thread) {
        if (s->rp_file) {
            qemu_file_shutdown(s->rp_file);
        }
        g_thread_join(s->rp_thread);
        s->rp_thread = NULL;
    }
    if (s->rp_file) {
        qemu_fclose(s->rp_file);
        s->rp_file = NULL;
    }
    error_free(s->rp_err);
    s->rp_err = NULL;
}
