/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-recover.c: recovery of a postcopy migration whose connection
 * broke, QEMU 7.2's protocol (see postcopy-recover.h).
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration/messages.h"
#include "migration/register.h"
#include "migration/savevm.h"
#include "sysemu/ramblock.h"
#include "migration.h"
#include "postcopy-preempt.h"
#include "postcopy-ram.h"
#include "postcopy-recover.h"
#include "precopy-recover.h"
#include "ram.h"
#include "recv-bitmap.h"
#include "return-path.h"
#include "transport.h"

/* RESUME_ACK's only value (7.2). */
#define POSTCOPY_RESUME_ACK_VALUE 1
/* How often the source's waits look at the return path's health. */
#define POSTCOPY_RESUME_POLL_MS 100

/* ---------------- source: the return-path messages ---------------- */

int migration_recover_active_status(int status)
{
    return status == MIGRATION_STATUS_PRECOPY_RECOVER ||
                   status == MIGRATION_STATUS_PRECOPY_PAUSED
               ? MIGRATION_STATUS_ACTIVE
               : MIGRATION_STATUS_POSTCOPY_ACTIVE;
}

int migration_recover_status(int paused)
{
    return paused == MIGRATION_STATUS_PRECOPY_PAUSED
               ? MIGRATION_STATUS_PRECOPY_RECOVER
               : MIGRATION_STATUS_POSTCOPY_RECOVER;
}

static bool migration_status_recovering(int status)
{
    return status == MIGRATION_STATUS_POSTCOPY_RECOVER ||
           status == MIGRATION_STATUS_PRECOPY_RECOVER;
}

/*
 * RECV_BITMAP: str8 block name, then raw on the return path the block's
 * received bitmap (recv-bitmap.h); every page not received becomes dirty
 * (postcopy: only those; precopy: those too).
 */
static int postcopy_rp_handle_recv_bitmap(const MigRPMessage *msg, Error **errp)
{
    MigrationState *s = msg->s;
    g_autofree uint8_t *wire = NULL;
    int status = migration_status();
    char name[256];
    uint64_t size, want, end, resend;
    RAMBlock *rb;

    if (!migration_status_recovering(status)) {
        error_setg(errp, "ram_dirty_bitmap_reload: incorrect state %s",
                   migration_status_name(status));
        return -EINVAL;
    }
    if (msg->len < 1 || msg->len != 1 + msg->data[0]) {
        error_setg(errp,
                   "RP: Received 'RECV_BITMAP' message (0x%04x) "
                   "with incorrect length %d",
                   msg->type, msg->len);
        return -EINVAL;
    }
    memcpy(name, msg->data + 1, msg->data[0]);
    name[msg->data[0]] = '\0';
    rb = ram_block_by_name(name);
    if (!rb || !rb->bmap) {
        error_setg(errp, "migrate_handle_rp_recv_bitmap: block '%s' not found",
                   name);
        return -EINVAL;
    }
    want = recv_bitmap_wire_size(ram_block_pages(rb));
    size = qemu_get_be64(msg->rp);
    if (!qemu_file_get_error(msg->rp) && size != want) {
        error_setg(errp,
                   "ram_dirty_bitmap_reload: ramblock '%s' bitmap size "
                   "mismatch (0x%" PRIx64 " != 0x%" PRIx64 ")",
                   name, size, want);
        return -EINVAL;
    }
    wire = g_malloc0(want);
    if (qemu_get_buffer(msg->rp, wire, want) != want) {
        return -EIO; /* the channel's error */
    }
    end = qemu_get_be64(msg->rp);
    if (qemu_file_get_error(msg->rp)) {
        return -EIO;
    }
    if (end != RECV_BITMAP_END_MARK) {
        error_setg(errp,
                   "ram_dirty_bitmap_reload: ramblock '%s' end mark "
                   "incorrect: 0x%" PRIx64,
                   name, end);
        return -EINVAL;
    }
    /* not inside TRACE(): its arguments are evaluated only when traced */
    resend = recv_bitmap_to_dirty(rb->bmap, wire, ram_block_pages(rb),
                                  status == MIGRATION_STATUS_PRECOPY_RECOVER);
    TRACE("postcopy_recv_bitmap", "%s: %" PRIu64 " pages to send again", name,
          resend);
    g_mutex_lock(&s->pause_lock);
    s->recv_bitmaps++;
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
    return 0;
}

/*
 * RESUME_ACK: the destination serves faults (postcopy) or loads pages
 * (precopy) again; so do we.
 */
static int postcopy_rp_handle_resume_ack(const MigRPMessage *msg, Error **errp)
{
    MigrationState *s = msg->s;
    uint32_t value = ldl_be_p(msg->data);
    int status = migration_status();

    if (value != POSTCOPY_RESUME_ACK_VALUE) {
        error_setg(errp,
                   "migrate_handle_rp_resume_ack: illegal resume_ack "
                   "value %" PRIu32,
                   value);
        return -EINVAL;
    }
    g_mutex_lock(&s->pause_lock);
    if (migration_status_recovering(status)) {
        migrate_set_status(s, status, migration_recover_active_status(status));
    }
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
    return 0;
}

/* ---------------- source: the handshake ---------------- */

/*
 * Wait (pause_lock held) until *count reaches want, or the status leaves
 * recover (postcopy-recover or precopy-recover: ACK, cancel), or the
 * return path fails.
 */
static bool postcopy_resume_wait(MigrationState *s, int recover,
                                 unsigned int want, Error **errp)
{
    while (s->recv_bitmaps < want && (int)migration_status() == recover &&
           !__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE)) {
        g_cond_wait_until(&s->pause_cond, &s->pause_lock,
                          g_get_monotonic_time() + POSTCOPY_RESUME_POLL_MS *
                                                       G_TIME_SPAN_MILLISECOND);
    }
    if ((int)migration_status() == recover &&
        !__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE)) {
        return true;
    }
    if ((int)migration_status() == migration_recover_active_status(recover)) {
        return true;
    }
    error_setg(errp,
               "%s recovery: the destination did not answer "
               "(return path closed or migration cancelled)",
               recover == MIGRATION_STATUS_PRECOPY_RECOVER ? "Precopy"
                                                           : "Postcopy");
    return false;
}

/* RECV_BITMAP for every block; the count of commands sent. */
static unsigned int postcopy_send_recv_bitmaps(QEMUFile *f)
{
    unsigned int n = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        uint8_t data[1 + 255];
        size_t len = MIN(strlen(rb->idstr), 255);

        if (!rb->bmap) {
            continue;
        }
        data[0] = len;
        memcpy(data + 1, rb->idstr, len);
        qemu_savevm_command_send(f, MIG_CMD_RECV_BITMAP, 1 + len, data);
        n++;
    }
    return n;
}

bool postcopy_resume_handshake(MigrationState *s, QEMUFile *f, Error **errp)
{
    int recover = migration_status();
    unsigned int n;
    bool ok;

    if (!migration_status_recovering(recover)) {
        error_setg(errp, "Migration cancelled during its recovery");
        return false;
    }
    g_mutex_lock(&s->pause_lock);
    s->recv_bitmaps = 0;
    g_mutex_unlock(&s->pause_lock);
    n = postcopy_send_recv_bitmaps(f);
    if (qemu_fflush(f) < 0) {
        qemu_file_get_error_obj(f, errp);
        return false;
    }
    g_mutex_lock(&s->pause_lock);
    ok = postcopy_resume_wait(s, recover, n, errp);
    g_mutex_unlock(&s->pause_lock);
    if (!ok) {
        return false;
    }
    ram_resume_prepare(f);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RESUME, 0, NULL);
    if (qemu_fflush(f) < 0) {
        qemu_file_get_error_obj(f, errp);
        return false;
    }
    g_mutex_lock(&s->pause_lock);
    ok = postcopy_resume_wait(s, recover, UINT_MAX, errp);
    g_mutex_unlock(&s->pause_lock);
    TRACE("postcopy_resumed", "%s", ok ? "ok" : "failed");
    return ok;
}

/* ---------------- destination: the commands ---------------- */

/* The wire bitmap of rb's pages present in guest RAM; NULL on error. */
static uint8_t *postcopy_received_bitmap(RAMBlock *rb, uint64_t *size)
{
    uint64_t pages = ram_block_pages(rb);
    g_autofree uint8_t *present = g_malloc0(pages ? pages : 1);
    uint8_t *wire;

    /*
     * A page is in guest RAM once placed (UFFDIO_COPY/ZEROPAGE, or by
     * precopy and not discarded since): then it never faults again.
     * mincore() may call a swapped-out page missing: it is merely sent
     * again (UFFDIO_COPY then finds it there); never the reverse.
     */
    if (pages && mincore(rb->host, rb->used_length, present) < 0) {
        error_report("Postcopy recovery: mincore of RAM block '%s': %s",
                     rb->idstr, strerror(errno));
        return NULL;
    }
    *size = recv_bitmap_wire_size(pages);
    wire = g_malloc(*size ? *size : 1);
    recv_bitmap_encode(wire, present, pages);
    return wire;
}

/* RECV_BITMAP: str8 block name; answer with the block's received pages. */
static int postcopy_handle_recv_bitmap(const LoadVMCommand *c, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    g_autofree uint8_t *wire = NULL;
    char name[256];
    uint64_t size = 0;
    RAMBlock *rb;

    if (c->len < 1 || c->len != 1 + c->data[0]) {
        error_setg(errp,
                   "loadvm_handle_recv_bitmap: invalid payload length "
                   "(%d)",
                   c->len);
        return -EINVAL;
    }
    memcpy(name, c->data + 1, c->data[0]);
    name[c->data[0]] = '\0';
    rb = ram_block_by_name(name);
    if (!rb) {
        error_setg(errp, "loadvm_handle_recv_bitmap: block '%s' not found",
                   name);
        return -EINVAL;
    }
    if (migration_incoming_status() == MIGRATION_STATUS_PRECOPY_RECOVER) {
        /* precopy: the pages the loader placed (RAM may be prefaulted) */
        wire = ram_load_received_wire(rb, &size);
    } else {
        wire = postcopy_received_bitmap(rb, &size);
    }
    if (wire) {
        migrate_send_rp_recv_bitmap(mis, name, wire, size);
    }
    return 0;
}

/*
 * POSTCOPY_RESUME: the source is ready; serve faults again (postcopy) or
 * go on loading (precopy recovery, Tern only).
 */
static int postcopy_handle_resume(const LoadVMCommand *c, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (migration_incoming_status() == MIGRATION_STATUS_PRECOPY_RECOVER) {
        precopy_incoming_resumed(mis);
        migrate_send_rp_resume_ack(mis, POSTCOPY_RESUME_ACK_VALUE);
        return 0;
    }
    if (migration_incoming_status() != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        /* 7.2 says so and goes on loading */
        error_report("loadvm_postcopy_handle_resume: illegal resume received");
        return 0;
    }
    migrate_incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    migrate_send_rp_resume_ack(mis, POSTCOPY_RESUME_ACK_VALUE);
    /* the source lost our requests: fault again, ask again */
    __atomic_add_fetch(&mis->resumes, 1, __ATOMIC_RELEASE);
    postcopy_ram_wake_faults();
    return 0;
}

/* ---------------- destination: pause and recover ---------------- */

bool migration_incoming_pause_wait(MigrationIncomingState *mis,
                                   const Error *err, int paused)
{
    QEMUFile *from, *to;

    error_report("%s", err ? error_get_pretty(err) : "Input/output error");
    /* recover_lock too: the progress watchdog looks at from_src_file */
    g_mutex_lock(&mis->recover_lock);
    g_mutex_lock(&mis->rp_lock);
    from = mis->from_src_file;
    to = mis->to_src_file;
    mis->from_src_file = NULL;
    mis->to_src_file = NULL;
    g_mutex_unlock(&mis->rp_lock);
    g_mutex_unlock(&mis->recover_lock);
    qemu_file_shutdown(from);
    qemu_fclose(to);
    qemu_fclose(from);
    if (paused == MIGRATION_STATUS_POSTCOPY_PAUSED) {
        postcopy_preempt_incoming_stop(true);
    }

    g_mutex_lock(&mis->recover_lock);
    mis->recover_triggered = false;
    migrate_incoming_set_status(mis, paused);
    error_report("Detected IO failure for %s. Migration paused.",
                 paused == MIGRATION_STATUS_PRECOPY_PAUSED ? "precopy"
                                                           : "postcopy");
    while ((int)migration_incoming_status() == paused) {
        g_cond_wait(&mis->recover_cond, &mis->recover_lock);
    }
    g_mutex_unlock(&mis->recover_lock);
    return mis->from_src_file != NULL;
}

bool postcopy_incoming_pause(MigrationIncomingState *mis, const Error *err)
{
    if (postcopy_ram_incoming_state() != POSTCOPY_INCOMING_RUNNING ||
        !mis->to_src_file) {
        return false;
    }
    return migration_incoming_pause_wait(mis, err,
                                         MIGRATION_STATUS_POSTCOPY_PAUSED);
}

bool migrate_recover(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const MigrationTransport *t;
    bool ok;

    if (migration_incoming_status() != MIGRATION_STATUS_POSTCOPY_PAUSED &&
        migration_incoming_status() != MIGRATION_STATUS_PRECOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is "
                         "paused.");
        return false;
    }
    g_mutex_lock(&mis->recover_lock);
    ok = !mis->recover_triggered;
    mis->recover_triggered = true;
    g_mutex_unlock(&mis->recover_lock);
    if (!ok) {
        error_setg(errp, "Migrate recovery is triggered already");
        return false;
    }
    t = migration_transport_find_incoming(uri, errp);
    if (t) {
        /* the broken channels go; the new ones come in 7.2's order */
        migration_incoming_channels_release(mis);
        socket_incoming_stop();
        mis->loading = false;
        mis->recovering = true;
        ok = t->incoming_start(migration_transport_arg(t, uri), errp);
    }
    if (!t || !ok) {
        mis->recovering = false;
        g_mutex_lock(&mis->recover_lock);
        mis->recover_triggered = false;
        g_mutex_unlock(&mis->recover_lock);
        return false;
    }
    return true;
}

void postcopy_incoming_recover_channel(QIOChannel *ioc)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    Error *err = NULL;
    int paused = migration_incoming_status();
    QEMUFile *f, *rp;

    mis->recovering = false;
    if (paused != MIGRATION_STATUS_POSTCOPY_PAUSED &&
        paused != MIGRATION_STATUS_PRECOPY_PAUSED) {
        return; /* cancelled meanwhile: the channel goes with the list */
    }
    migration_channel_tune(ioc, false);
    f = qemu_file_new_input(ioc);
    rp = qemu_file_get_return_path(f);
    g_mutex_lock(&mis->rp_lock);
    mis->from_src_file = f;
    mis->to_src_file = rp;
    g_mutex_unlock(&mis->rp_lock);
    if (paused == MIGRATION_STATUS_POSTCOPY_PAUSED &&
        !postcopy_preempt_incoming_start(mis, postcopy_ram_uffd(), &err)) {
        /* the load thread's RESUME goes on; urgent pages come on main */
        error_report_err(err);
    }
    g_mutex_lock(&mis->recover_lock);
    migrate_incoming_set_status(mis, migration_recover_status(paused));
    g_cond_broadcast(&mis->recover_cond);
    g_mutex_unlock(&mis->recover_lock);
}

/* ---------------- both sides: migrate-pause ---------------- */

bool migrate_pause(Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    bool done = false;

    if (migration_status() == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        /* the migration thread and the return path see the channel fail */
        migrate_channels_shutdown(migrate_get_current());
        return true;
    }
    if (migration_incoming_status() == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        g_mutex_lock(&mis->rp_lock);
        if (mis->from_src_file) {
            done = qemu_file_shutdown(mis->from_src_file) == 0;
        }
        g_mutex_unlock(&mis->rp_lock);
        if (!done) {
            error_setg(errp, "Failed to pause destination migration");
        }
        return done;
    }
    error_setg(errp, "migrate-pause is currently only supported during "
                     "postcopy-active state");
    return false;
}

void postcopy_recover_init(void)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    g_mutex_init(&mis->recover_lock);
    g_cond_init(&mis->recover_cond);
    migrate_rp_register_handler(MIG_RP_MSG_RECV_BITMAP,
                                postcopy_rp_handle_recv_bitmap);
    migrate_rp_register_handler(MIG_RP_MSG_RESUME_ACK,
                                postcopy_rp_handle_resume_ack);
    loadvm_command_register(MIG_CMD_RECV_BITMAP, postcopy_handle_recv_bitmap);
    loadvm_command_register(MIG_CMD_POSTCOPY_RESUME, postcopy_handle_resume);
}
