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

/* ---------------- source ---------------- */

void postcopy_preempt_set_channel(MigrationState *s, QIOChannel *ioc)
{
    QEMUFile *f = qemu_file_new_output(ioc);

    g_mutex_lock(&s->preempt_lock);
    s->preempt_file = f;
    g_mutex_unlock(&s->preempt_lock);
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
    QEMUFile *f;

    g_mutex_lock(&s->preempt_lock);
    f = s->preempt_file;
    s->preempt_file = NULL;
    g_mutex_unlock(&s->preempt_lock);
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
    pin.ls = ram_load_state_new();
    ram_load_state_stop_prefault(pin.ls);
    ram_load_state_set_placer(pin.ls, pl);
    pin.thread = g_thread_new("mig/dst/preempt", postcopy_preempt_thread, mis);
    return true;
}

void postcopy_preempt_incoming_stop(bool abort)
{
    if (!pin.thread) {
        return;
    }
    if (abort) {
        qemu_file_shutdown(pin.f);
    }
    g_thread_join(pin.thread);
    pin.thread = NULL;
    ram_load_state_free(pin.ls);
    pin.ls = NULL;
    qemu_fclose(pin.f);
    pin.f = NULL;
}
