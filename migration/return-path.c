/*
 * return-path.c: messages from the destination back to the source, on
 * the same connection in the opposite direction (QEMU 7.2 format):
 *
 *   be16 type | be16 len | data[len]
 *   type 1 SHUT  len 4: be32 0 = clean end, non-zero = error
 *   type 2 PONG  len 4: be32 echo of the PING value
 *   (3..7: postcopy page requests, bitmaps, resume, switchover ack —
 *    not used by precopy; a source that gets one fails the migration)
 *
 * Destination: the loader calls loadvm_on_open_return_path() when the
 * stream carries OPEN_RETURN_PATH and loadvm_on_ping() for each PING;
 * SHUT is sent when the load ends (migration.c).  Messages are written
 * from the load thread and the main thread, serialised by mis->rp_lock.
 *
 * Source (return-path capability): after the header we send
 * OPEN_RETURN_PATH and PING 1 and start a reader thread; completion waits
 * for SHUT before declaring success, so a destination that rejects the
 * stream makes the migration fail instead of "completed".
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration/savevm.h"
#include "migration.h"

enum {
    MIG_RP_MSG_INVALID = 0,
    MIG_RP_MSG_SHUT,
    MIG_RP_MSG_PONG,
    MIG_RP_MSG_REQ_PAGES_ID,
    MIG_RP_MSG_REQ_PAGES,
    MIG_RP_MSG_RECV_BITMAP,
    MIG_RP_MSG_RESUME_ACK,
    MIG_RP_MSG_SWITCHOVER_ACK,
    MIG_RP_MSG_MAX,
};

static const char *const rp_msg_names[MIG_RP_MSG_MAX] = {
    "INVALID",   "SHUT",        "PONG",       "REQ_PAGES_ID",
    "REQ_PAGES", "RECV_BITMAP", "RESUME_ACK", "SWITCHOVER_ACK",
};

/* ---------------- destination ---------------- */

static void migrate_send_rp_message(MigrationIncomingState *mis, uint16_t type,
                                    uint16_t len, const uint8_t *data)
{
    g_mutex_lock(&mis->rp_lock);
    if (mis->to_src_file) {
        TRACE("migration_rp_send", "%s (0x%04x) len %u",
              type < MIG_RP_MSG_MAX ? rp_msg_names[type] : "?", type, len);
        qemu_put_be16(mis->to_src_file, type);
        qemu_put_be16(mis->to_src_file, len);
        qemu_put_buffer(mis->to_src_file, data, len);
        qemu_fflush(mis->to_src_file);
    }
    g_mutex_unlock(&mis->rp_lock);
}

/* Send a message whose data is one be32 (SHUT, PONG). */
static void migrate_send_rp_u32(MigrationIncomingState *mis, uint16_t type,
                                uint32_t value)
{
    uint8_t buf[4];

    buf[0] = value >> 24;
    buf[1] = value >> 16;
    buf[2] = value >> 8;
    buf[3] = value;
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

bool loadvm_on_open_return_path(QEMUFile *f, Error **errp)
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
    return true;
}

bool loadvm_on_ping(uint32_t value, Error **errp)
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

static gpointer migrate_rp_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    QEMUFile *rp = s->rp_file;
    Error *err = NULL;

    for (;;) {
        uint8_t buf[512];
        uint16_t type = qemu_get_be16(rp);
        uint16_t len = qemu_get_be16(rp);
        uint32_t value;

        if (qemu_file_get_error(rp)) {
            break;
        }
        TRACE("migration_rp_recv", "%s (0x%04x) len %u",
              type < MIG_RP_MSG_MAX ? rp_msg_names[type] : "?", type, len);
        if (type >= MIG_RP_MSG_MAX || type == MIG_RP_MSG_INVALID ||
            len > sizeof(buf)) {
            error_setg(&err,
                       "RP: Received invalid message 0x%04x length "
                       "0x%04x",
                       type, len);
            break;
        }
        if (qemu_get_buffer(rp, buf, len) != len) {
            break;
        }
        if ((type == MIG_RP_MSG_SHUT || type == MIG_RP_MSG_PONG) && len != 4) {
            error_setg(&err,
                       "RP: Received '%s' message (0x%04x) with "
                       "incorrect length %d expecting %d",
                       rp_msg_names[type], type, len, 4);
            break;
        }
        switch (type) {
        case MIG_RP_MSG_SHUT:
            value = ((uint32_t)buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) |
                    buf[3];
            TRACE("migration_rp_recv_shut", "value %u", value);
            if (value) {
                error_setg(&err, "RP: Sibling indicated error %d", value);
            } else {
                __atomic_store_n(&s->rp_shut_received, true, __ATOMIC_RELEASE);
            }
            goto out;
        case MIG_RP_MSG_PONG:
            break;
        default:
            error_setg(&err,
                       "RP: Received '%s' message (0x%04x), not "
                       "expected in a precopy migration",
                       rp_msg_names[type], type);
            goto out;
        }
    }
out:
    if (!s->rp_shut_received) {
        if (!err) {
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
        /*
         * Record it as the migration's error now (the first one wins):
         * the migration thread may notice rp_error in its loop and fail
         * before it asks us why.
         */
        migrate_set_error(s, err);
        s->rp_err = err;
        __atomic_store_n(&s->rp_error, -EIO, __ATOMIC_RELEASE);
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
    s->rp_error = 0;
    s->rp_err = NULL;
    s->rp_thread = g_thread_new("return path", migrate_rp_thread, s);
    return true;
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
