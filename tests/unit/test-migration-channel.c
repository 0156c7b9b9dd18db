/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-migration-channel.c: the channels of a migration.  Source: the
 * list shuts every channel down (the peer reads EOF) and holds one
 * reference per entry.  Destination: the first channel is the main one
 * and starts loading at once (the listener stops); a later one is
 * dropped; with the multifd capability later channels are sorted as
 * multifd and loading waits for them.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-socket.h"
#include "migration/options.h"
#include "migration/tls.h"
#include "../../migration/migration.h"

static MigrationIncomingState incoming;
static QIOChannel *processed;
static int listener_stops;

/* Stand-ins for the rest of the migration. */
bool migration_is_running(void)
{
    return false;
}

void migration_parameters_changed(void)
{
}

MigrationIncomingState *migration_incoming_get_current(void)
{
    return &incoming;
}

void migration_incoming_process(QIOChannel *ioc)
{
    processed = ioc;
}

void postcopy_incoming_recover_channel(QIOChannel *ioc)
{
    processed = ioc;
}

void migration_incoming_fail(Error *err)
{
    g_assert_not_reached();
}

void socket_incoming_drain(void)
{
}

void socket_incoming_stop(void)
{
    listener_stops++;
}

bool socket_incoming_listening(void)
{
    return false;
}

QIOChannel *migration_tls_client_wrap(QIOChannel *ioc, const char *hostname,
                                      Error **errp)
{
    g_assert_not_reached();
}

void migration_tls_server_wrap_async(QIOChannel *ioc, MigrationTLSDoneFunc done,
                                     void *opaque)
{
    g_assert_not_reached();
}

/* A connected socket channel; *peer gets the other end's fd. */
static QIOChannel *channel_pair(int *peer)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *peer = sv[1];
    return QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
}

static void incoming_reset(void)
{
    migration_incoming_channels_release(&incoming);
    memset(&incoming, 0, sizeof(incoming));
    processed = NULL;
    listener_stops = 0;
    migrate_options_reset();
}

static void test_channel_outgoing_list(void)
{
    MigrationState s = {0};
    int peer[2];
    QIOChannel *a = channel_pair(&peer[0]);
    QIOChannel *b = channel_pair(&peer[1]);
    char c;

    g_mutex_init(&s.lock);
    migrate_channel_add(&s, MIGRATION_CHANNEL_MAIN, a);
    migrate_channel_add(&s, MIGRATION_CHANNEL_MULTIFD, b);
    g_assert_cmpint(a->refcount, ==, 2);
    migrate_channels_shutdown(&s);
    for (int i = 0; i < 2; i++) {
        g_assert_cmpint(read(peer[i], &c, 1), ==, 0); /* EOF */
        close(peer[i]);
    }
    migrate_channel_remove(&s, a);
    g_assert_cmpint(a->refcount, ==, 1);
    g_assert_cmpint(s.channels->len, ==, 1);
    migrate_channels_release(&s);
    g_assert_null(s.channels);
    g_assert_cmpint(b->refcount, ==, 1);
    migrate_channels_release(&s); /* nothing left: no-op */
    qio_channel_unref(a);
    qio_channel_unref(b);
    g_mutex_clear(&s.lock);
}

static void test_channel_incoming_main_first(void)
{
    int peer[2];
    QIOChannel *a = channel_pair(&peer[0]);
    QIOChannel *b = channel_pair(&peer[1]);

    incoming_reset();
    migration_channel_incoming(a);
    g_assert_true(processed == a);
    g_assert_true(incoming.loading);
    g_assert_cmpint(listener_stops, ==, 1);
    g_assert_cmpint(a->refcount, ==, 2); /* the list's */

    processed = NULL;
    migration_channel_incoming(b); /* no multifd, no preempt: dropped */
    g_assert_null(processed);
    g_assert_cmpint(incoming.channels->len, ==, 1);
    g_assert_cmpint(b->refcount, ==, 1);

    incoming_reset();
    g_assert_cmpint(a->refcount, ==, 1);
    qio_channel_unref(a);
    qio_channel_unref(b);
    close(peer[0]);
    close(peer[1]);
}

static void test_channel_incoming_multifd_waits(void)
{
    int peer;
    QIOChannel *a = channel_pair(&peer);

    incoming_reset();
    migrate_capability_set_supported(MIGRATION_CAPABILITY_MULTIFD, true);
    g_assert_true(migrate_capability_set("multifd", true, &error_abort));
    migration_channel_incoming(a);
    /* the main channel is kept, but loading waits for the multifd ones */
    g_assert_null(processed);
    g_assert_false(incoming.loading);
    g_assert_cmpint(listener_stops, ==, 0);
    g_assert_cmpint(incoming.channels->len, ==, 1);
    incoming_reset();
    migrate_capability_set_supported(MIGRATION_CAPABILITY_MULTIFD, false);
    qio_channel_unref(a);
    close(peer);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migrate_options_reset();
    g_test_add_func("/migration/channel/outgoing-list",
                    test_channel_outgoing_list);
    g_test_add_func("/migration/channel/incoming-main-first",
                    test_channel_incoming_main_first);
    g_test_add_func("/migration/channel/incoming-multifd-waits",
                    test_channel_incoming_multifd_waits);
    return g_test_run();
}
