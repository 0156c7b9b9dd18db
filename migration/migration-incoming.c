/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-incoming.c: the destination side.  -incoming URI or
 * migrate-incoming starts a transport (transport.c) on the main thread;
 * its channels come back through migration_channel_incoming() (TLS
 * first, then sorted, channel.c); once the migration has them all a load
 * thread reads the whole stream with qemu_loadvm_state().  The result is
 * handled on the main thread: success sets the run state from
 * globalstate and -S; failure prints the error and "load of migration
 * failed: <strerror>" and exits with 1, as QEMU 7.2 does.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration/global_state.h"
#include "migration/misc.h"
#include "migration/savevm.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "migration.h"
#include "multifd.h"
#include "postcopy-ram.h"
#include "postcopy-recover.h"
#include "precopy-recover.h"
#include "ram.h"
#include "return-path.h"
#include "transport.h"
#include "watchdog.h"

/* The value of the destination's SHUT message: loaded, or not. */
#define MIGRATION_RP_SHUT_OK 0

typedef struct IncomingResult {
    int ret;
    Error *err;
} IncomingResult;

/* Main thread: run the guest as the source's globalstate and -S say. */
static void migration_incoming_start_guest(void)
{
    RunState received;

    /* QEMU 7.2's rule (docs/wire-format.md, the globalstate section). */
    if (!global_state_received(&received)) {
        received = RUN_STATE_RUNNING;
    }
    if (received == RUN_STATE_RUNNING) {
        if (autostart) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    } else {
        runstate_set(received);
    }
    TRACE("migration_incoming_started", "run state %s",
          runstate_is_running() ? "running" : "stopped");
}

static void migration_incoming_postcopy_run_bh(void *opaque)
{
    migration_incoming_start_guest();
}

void migration_incoming_postcopy_run(void)
{
    migration_incoming_get_current()->postcopy_started = true;
    main_loop_schedule(migration_incoming_postcopy_run_bh, NULL);
}

/* Main thread: the stream has been read (or failed). */
static void migration_incoming_done_bh(void *opaque)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    IncomingResult *r = opaque;

    if (mis->load_thread) {
        g_thread_join(mis->load_thread);
        mis->load_thread = NULL;
    }
    if (r->ret < 0 && mis->abort_err) {
        /* aborted here (watchdog, migrate_cancel): that is the reason */
        error_free(r->err);
        r->err = mis->abort_err;
        mis->abort_err = NULL;
    }
    if (r->ret < 0) {
        if (mis->to_src_file) {
            /* SHUT 1, and why (a Tern source shows it in error-desc) */
            migrate_send_rp_failure(mis, r->err ? error_get_pretty(r->err)
                                                : g_strerror(-r->ret));
        }
        /*
         * 7.2 prints the specific error, then the errno line; a bare
         * "Input/output error" (truncated stream) only once.
         */
        if (r->err && strcmp(error_get_pretty(r->err), g_strerror(-r->ret))) {
            error_report_err(r->err);
            r->err = NULL;
        }
        error_free(r->err);
        r->err = NULL;
        error_report("load of migration failed: %s", g_strerror(-r->ret));
        migrate_incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        exit(EXIT_FAILURE);
    }

    if (mis->to_src_file) {
        migrate_send_rp_shut(mis, MIGRATION_RP_SHUT_OK);
        qemu_fclose(mis->to_src_file);
        mis->to_src_file = NULL;
    }
    multifd_recv_cleanup();
    qemu_fclose(mis->from_src_file);
    mis->from_src_file = NULL;
    migration_incoming_channels_release(mis);
    if (mis->socket_addresses) {
        g_ptr_array_unref(mis->socket_addresses);
        mis->socket_addresses = NULL;
    }

    if (!mis->postcopy_started) {
        migration_incoming_start_guest();
    }
    mis->postcopy_started = false;
    migrate_incoming_set_status(mis, MIGRATION_STATUS_COMPLETED);
    g_free(r);
}

static gpointer migration_incoming_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    IncomingResult *r = g_new0(IncomingResult, 1);

    r->ret = qemu_loadvm_state(mis->from_src_file, &r->err);
    if (r->ret == 0 &&
        postcopy_ram_incoming_state() == POSTCOPY_INCOMING_RUNNING) {
        /* the guest runs; the rest of the stream fills its RAM */
        r->ret = qemu_loadvm_state_main(mis->from_src_file, &r->err);
        /* a broken stream pauses until migrate-recover's is there */
        while (r->ret < 0 && postcopy_incoming_pause(mis, r->err)) {
            error_free(r->err);
            r->err = NULL;
            r->ret = qemu_loadvm_state_main(mis->from_src_file, &r->err);
        }
        qemu_loadvm_state_cleanup();
    }
    postcopy_ram_incoming_end(r->ret >= 0);
    TRACE("migration_incoming_loaded", "ret %d", r->ret);
    main_loop_schedule(migration_incoming_done_bh, r);
    return NULL;
}

void migration_incoming_process(QIOChannel *ioc)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    Error *err = NULL;

    ram_mig_init();
    migration_channel_tune(ioc, false);
    mis->from_src_file = qemu_file_new_input(ioc);
    if (migrate_multifd_connections() &&
        !multifd_recv_start(mis->channels, mis->from_src_file, &err)) {
        migration_incoming_fail(err);
        return;
    }
    global_state_reset_received();
    mis->start_time = migration_clock_ms();
    migrate_incoming_set_status(mis, MIGRATION_STATUS_ACTIVE);
    mis->load_thread =
        g_thread_new("mig/dst/load", migration_incoming_thread, mis);
    migration_watchdog_incoming_start(mis);
}

void migration_incoming_abort(Error *err)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (mis->abort_err || mis->postcopy_started || !mis->load_thread ||
        __atomic_load_n(&mis->status, __ATOMIC_ACQUIRE) !=
            MIGRATION_STATUS_ACTIVE) {
        error_free(err);
        return;
    }
    TRACE("migration_incoming_abort", "%s", error_get_pretty(err));
    mis->abort_err = err;
    /* the load thread (and multifd receivers) wake up with an error */
    for (guint i = 0; mis->channels && i < mis->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(mis->channels, i);

        qio_channel_shutdown(c->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
}

static void migration_incoming_cancelled_bh(void *opaque)
{
    migration_incoming_fail(opaque);
}

bool migration_incoming_cancel(void)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    Error *err = NULL;

    if (!mis->started) {
        return false;
    }
    if (precopy_incoming_cancel(mis)) {
        return true; /* paused: the load thread wakes and fails */
    }
    error_setg(&err, "Migration cancelled on the destination");
    if (mis->load_thread) {
        /* an armed precopy must not pause */
        __atomic_store_n(&mis->cancelled, true, __ATOMIC_RELEASE);
        migration_incoming_abort(err);
        return true;
    }
    if (socket_incoming_listening()) {
        /* nothing loaded yet: stop listening and fail as a load would */
        socket_incoming_stop();
        main_loop_schedule(migration_incoming_cancelled_bh, err);
        return true;
    }
    error_free(err);
    return false;
}

void migration_incoming_fail(Error *err)
{
    error_report_err(err);
    error_report("load of migration failed: %s", g_strerror(EIO));
    exit(EXIT_FAILURE);
}

bool migration_incoming_start(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const MigrationTransport *t;

    if (!strcmp(uri, "defer")) {
        mis->deferred = true;
        return true;
    }
    if (migration_transport_refuse(uri, errp)) {
        return false;
    }
    /* 7.2 announces setup before it looks at the protocol */
    migration_event_status(MIGRATION_STATUS_SETUP);
    t = migration_transport_find_incoming(uri, errp);
    if (!t) {
        return false;
    }
    if (!migration_transport_check_caps(t, errp)) {
        return false;
    }
    if (!t->incoming_start(migration_transport_arg(t, uri), errp)) {
        return false;
    }
    mis->started = true;
    return true;
}

bool migrate_incoming_qmp(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (runstate_get() != RUN_STATE_INMIGRATE) {
        error_setg(errp, "'-incoming' was not specified on the command "
                         "line");
        return false;
    }
    return migration_incoming_start(uri, errp);
}
