/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-preempt.c: the postcopy-preempt channel (see
 * postcopy-preempt.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration.h"
#include "postcopy-preempt.h"
#include "postcopy-ram.h"
#include "ram-format.h"
#include "ram-load.h"
#include "return-path.h"
#include "migration/savevm.h"

/* ---------------- source ---------------- */

/* The reader of page requests on the preempt channel; s->preempt_lock. */
typedef struct PreemptRequests {
    bool agreed; /* the destination answered the PING */
    GThread *thread;
    QEMUFile *in; /* the preempt channel's other direction */
} PreemptRequests;

static PreemptRequests prq;

/* Read requests until the channel ends; a bad message fails the migration. */
static gpointer postcopy_preempt_requests_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    Error *err = NULL;
    unsigned int n = 0;
    int ret;

    while ((ret = migrate_rp_read_request(s, prq.in, &err)) == 0) {
        n++;
    }
    TRACE("postcopy_preempt_requests_end", "%u requests, ret %d%s%s", n, ret,
          err ? ": " : "", err ? error_get_pretty(err) : "");
    if (err) {
        migrate_rp_fail_message(s, err);
    }
    /*
     * A channel that ended or broke says nothing more: the destination
     * closes it at the end, and a cut breaks the main connection too,
     * whose return-path thread pauses the migration.
     */
    return NULL;
}

/* Start the reader once both the agreement and the channel are there. */
static void postcopy_preempt_requests_maybe_start(MigrationState *s)
{
    if (!prq.agreed || !s->preempt_file || prq.thread) {
        return;
    }
    prq.in = qemu_file_get_return_path(s->preempt_file);
    prq.thread =
        g_thread_new("mig/src/preempt", postcopy_preempt_requests_thread, s);
}

void postcopy_preempt_set_channel(MigrationState *s, QIOChannel *ioc)
{
    QEMUFile *f = qemu_file_new_output(ioc);

    g_mutex_lock(&s->preempt_lock);
    s->preempt_file = f;
    postcopy_preempt_requests_maybe_start(s);
    g_mutex_unlock(&s->preempt_lock);
}

void postcopy_preempt_requests_reset(MigrationState *s)
{
    g_mutex_lock(&s->preempt_lock);
    prq.agreed = false;
    g_mutex_unlock(&s->preempt_lock);
}

void postcopy_preempt_ask_requests(MigrationState *s, QEMUFile *f)
{
    if (migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        qemu_savevm_send_ping(f, POSTCOPY_PREEMPT_PING_REQUESTS);
    }
}

bool postcopy_preempt_pong(MigrationState *s, uint32_t value)
{
    if (value != POSTCOPY_PREEMPT_PONG_REQUESTS) {
        return false;
    }
    TRACE("postcopy_preempt_requests", "destination agreed");
    g_mutex_lock(&s->preempt_lock);
    prq.agreed = true;
    postcopy_preempt_requests_maybe_start(s);
    g_mutex_unlock(&s->preempt_lock);
    return true;
}

QEMUFile *postcopy_preempt_get(MigrationState *s)
{
    g_mutex_lock(&s->preempt_lock);
    if (!s->preempt_file) {
        g_mutex_unlock(&s->preempt_lock);
        return NULL;
    }
    return s->preempt_file;
}

void postcopy_preempt_put(MigrationState *s)
{
    qemu_fflush(s->preempt_file);
    g_mutex_unlock(&s->preempt_lock);
}

int postcopy_preempt_send_eos(MigrationState *s)
{
    QEMUFile *f = postcopy_preempt_get(s);
    int ret;

    if (!f) {
        return 0;
    }
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    postcopy_preempt_put(s);
    ret = qemu_file_get_error(f);
    return ret < 0 ? ret : 0;
}

void postcopy_preempt_close(MigrationState *s)
{
    QEMUFile *f, *in;
    GThread *thread;

    g_mutex_lock(&s->preempt_lock);
    f = s->preempt_file;
    s->preempt_file = NULL;
    in = prq.in;
    thread = prq.thread;
    g_mutex_unlock(&s->preempt_lock);
    if (thread) {
        /* the reader may be serving a request: it takes preempt_lock */
        qemu_file_shutdown(in);
        g_thread_join(thread);
        g_mutex_lock(&s->preempt_lock);
        prq.thread = NULL;
        prq.in = NULL;
        g_mutex_unlock(&s->preempt_lock);
        qemu_fclose(in);
    }
    if (f) {
        qemu_fclose(f);
    }
}

/* ---------------- destination ---------------- */

/* The destination's reader (load thread starts and stops it). */
typedef struct PreemptIncoming {
    GThread *thread;
    QEMUFile *f;
    RAMLoadState *ls;
    /* page requests (fault thread) on f's other direction, under lock */
    GMutex lock;
    QEMUFile *out;  /* NULL: none */
    bool failed;    /* a write on out failed: requests go on the return path */
    RAMBlock *last; /* the block the last request on out named */
} PreemptIncoming;

static PreemptIncoming pin;

/* Read ram records until EOS; an error stops the main stream too. */
static gpointer postcopy_preempt_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    Error *err = NULL;
    int ret;

    postcopy_thread_prioritise("preempt", POSTCOPY_RT_PREEMPT);
    ret = ram_load_section(pin.ls, pin.f, RAM_SECTION_VERSION, &err);

    TRACE("postcopy_preempt_incoming_end", "ret %d", ret);
    if (ret < 0 && !qemu_file_get_error(pin.f)) {
        /* bad data, not a broken channel: the migration stops */
        error_report("postcopy-preempt channel: %s",
                     err ? error_get_pretty(err) : "load failed");
        g_mutex_lock(&mis->rp_lock);
        if (mis->from_src_file) {
            qemu_file_shutdown(mis->from_src_file);
        }
        g_mutex_unlock(&mis->rp_lock);
    }
    error_free(err);
    return NULL;
}

/* The preempt channel of mis's list, or NULL (borrowed). */
static QIOChannel *postcopy_preempt_channel(MigrationIncomingState *mis)
{
    for (guint i = 0; mis->channels && i < mis->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(mis->channels, i);

        if (c->type == MIGRATION_CHANNEL_PREEMPT) {
            return c->ioc;
        }
    }
    return NULL;
}

bool postcopy_preempt_incoming_start(MigrationIncomingState *mis, int uffd,
                                     Error **errp)
{
    QIOChannel *ioc;
    RAMPlacer *pl;

    if (!migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) || pin.thread) {
        return true;
    }
    ioc = postcopy_preempt_channel(mis);
    pl = ram_placer_postcopy_new(uffd, POSTCOPY_VIA_PREEMPT);
    if (!ioc || !pl) {
        ram_placer_free(pl);
        error_setg(errp, "Postcopy: no postcopy-preempt channel");
        return false;
    }
    pin.f = qemu_file_new_input(ioc);
    g_mutex_lock(&pin.lock);
    pin.out = qemu_file_get_return_path(pin.f);
    pin.failed = false;
    pin.last = NULL;
    g_mutex_unlock(&pin.lock);
    pin.ls = ram_load_state_new();
    ram_load_state_stop_prefault(pin.ls);
    ram_load_state_set_placer(pin.ls, pl);
    pin.thread = g_thread_new("mig/dst/preempt", postcopy_preempt_thread, mis);
    return true;
}

void postcopy_preempt_incoming_stop(bool abort)
{
    QEMUFile *out;

    if (!pin.thread) {
        return;
    }
    if (abort) {
        qemu_file_shutdown(pin.f); /* wakes a request blocked in its write */
    }
    g_mutex_lock(&pin.lock);
    out = pin.out; /* closed with pin.f: the reader still reads the channel */
    pin.out = NULL;
    g_mutex_unlock(&pin.lock);
    g_thread_join(pin.thread);
    pin.thread = NULL;
    ram_load_state_free(pin.ls);
    pin.ls = NULL;
    if (out) {
        qemu_fclose(out);
    }
    qemu_fclose(pin.f);
    pin.f = NULL;
}

uint32_t postcopy_preempt_incoming_ping(MigrationIncomingState *mis,
                                        uint32_t value)
{
    if (value != POSTCOPY_PREEMPT_PING_REQUESTS ||
        !migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return value;
    }
    __atomic_store_n(&mis->preempt_requests, true, __ATOMIC_RELEASE);
    TRACE("postcopy_preempt_requests", "source asked");
    return POSTCOPY_PREEMPT_PONG_REQUESTS;
}

bool postcopy_preempt_send_request(MigrationIncomingState *mis, RAMBlock *rb,
                                   uint64_t start, uint32_t len)
{
    bool sent = false;

    if (!__atomic_load_n(&mis->preempt_requests, __ATOMIC_ACQUIRE)) {
        return false;
    }
    g_mutex_lock(&pin.lock);
    if (pin.out && !pin.failed) {
        migrate_put_rp_req_pages(pin.out, rb == pin.last ? NULL : rb->idstr,
                                 start, len);
        sent = qemu_fflush(pin.out) >= 0;
        pin.last = rb;
        if (!sent) {
            /* the rest go on the return path (a cut pauses via main) */
            TRACE("postcopy_preempt_requests",
                  "channel failed: requests go on the return path");
            pin.failed = true;
        }
    }
    g_mutex_unlock(&pin.lock);
    return sent;
}
