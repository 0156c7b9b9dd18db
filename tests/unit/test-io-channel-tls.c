/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-channel-tls.c: QIOChannelTLS over a socketpair: handshakes
 * (x509, PSK, anon; async and blocking), every peer check failing with
 * QEMU's words, data both ways, large gathered writes, non-blocking
 * resumption of half-sent records, clean and premature close, shutdown,
 * forged and damaged records.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include <poll.h>
#include "crypto/init.h"
#include "crypto/tlscreds.h"
#include "io/channel-tls.h"
#include "io/channel-socket.h"
#include "qom/object.h"
#include "crypto-tls-certs.h"

static TestTLSCA ca;
static char *dir; /* standard x509 + PSK files */
static unsigned int obj_counter;

/* Create an object from a printf'd -object string; returns it. */
static Object *obj_new(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static Object *obj_new(const char *fmt, ...)
{
    va_list ap;
    char *body, *str;
    Object *obj;

    va_start(ap, fmt);
    body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* "TYPE,rest" -> "TYPE,id=oN,rest" */
    {
        char *comma = strchr(body, ',');
        if (comma) {
            *comma = '\0';
            str =
                g_strdup_printf("%s,id=o%u,%s", body, ++obj_counter, comma + 1);
        } else {
            str = g_strdup_printf("%s,id=o%u", body, ++obj_counter);
        }
    }
    obj = user_creatable_add_opts_str(str, &error_abort);
    g_free(str);
    g_free(body);
    return obj;
}

static void socket_pair(QIOChannel **a, QIOChannel **b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *a = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    *b = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
}

typedef struct HSResult {
    bool done;
    Error *err;
    QIOChannel *master;
} HSResult;

static void hs_done(QIOTask *task, gpointer opaque)
{
    HSResult *r = opaque;

    qio_task_propagate_error(task, &r->err);
    r->done = true;
    if (r->err) {
        /* as real users do: drop the connection, the peer sees EOF */
        qio_channel_shutdown(r->master, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
}

typedef struct Pair {
    QIOChannel *cm, *sm; /* masters */
    QIOChannelTLS *client, *server;
    HSResult cr, sr;
} Pair;

/*
 * Build client and server TLS channels over a socketpair and run both
 * handshakes on the default main loop (non-blocking masters).
 */
static void pair_handshake(Pair *p, Object *ccreds, const char *hostname,
                           Object *screds, const char *authzid)
{
    memset(p, 0, sizeof(*p));
    socket_pair(&p->cm, &p->sm);
    p->client =
        qio_channel_tls_new_client(p->cm, ccreds, hostname, &error_abort);
    p->server =
        qio_channel_tls_new_server(p->sm, screds, authzid, &error_abort);
    p->cr.master = p->cm;
    p->sr.master = p->sm;
    qio_channel_set_blocking(p->cm, false, &error_abort);
    qio_channel_set_blocking(p->sm, false, &error_abort);
    qio_channel_tls_handshake(p->client, hs_done, &p->cr, NULL, NULL);
    qio_channel_tls_handshake(p->server, hs_done, &p->sr, NULL, NULL);
    while (!p->cr.done || !p->sr.done) {
        g_main_context_iteration(NULL, TRUE);
    }
}

static void pair_free(Pair *p)
{
    error_free(p->cr.err);
    error_free(p->sr.err);
    qio_channel_unref(QIO_CHANNEL(p->client));
    qio_channel_unref(QIO_CHANNEL(p->server));
    qio_channel_unref(p->cm);
    qio_channel_unref(p->sm);
}

static void assert_err(Error *err, const char *expect)
{
    const char *got = err ? error_get_pretty(err) : "(no error)";

    if (!g_str_equal(got, expect)) {
        g_printerr("got:    %s\nexpect: %s\n", got, expect);
    }
    g_assert_cmpstr(got, ==, expect);
}

static void assert_err_prefix(Error *err, const char *prefix)
{
    const char *got = err ? error_get_pretty(err) : "(no error)";

    if (!g_str_has_prefix(got, prefix)) {
        g_printerr("got:    %s\nexpect: %s...\n", got, prefix);
    }
    g_assert_true(g_str_has_prefix(got, prefix));
}

/* Send a message each way over a completed pair (blocking masters). */
static void pair_exchange(Pair *p)
{
    char buf[64];
    QIOChannel *c = QIO_CHANNEL(p->client), *s = QIO_CHANNEL(p->server);

    g_assert_null(p->cr.err);
    g_assert_null(p->sr.err);
    qio_channel_set_blocking(c, true, &error_abort);
    qio_channel_set_blocking(s, true, &error_abort);
    g_assert_cmpint(qio_channel_write_all(c, "hello server", 12, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_read_all(s, buf, 12, &error_abort), ==, 0);
    g_assert_cmpint(memcmp(buf, "hello server", 12), ==, 0);
    g_assert_cmpint(qio_channel_write_all(s, "hello client", 12, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_read_all(c, buf, 12, &error_abort), ==, 0);
    g_assert_cmpint(memcmp(buf, "hello client", 12), ==, 0);
}

static void test_x509(void)
{
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    Object *az = obj_new("authz-simple,identity=C=GB,,O=Wire Test,,"
                         "CN=migration-client");
    Pair p;
    char *desc;

    pair_handshake(&p, cc, "localhost", sc, az->id);
    pair_exchange(&p);
    g_assert_cmpstr(qcrypto_tls_session_get_peer_name(
                        qio_channel_tls_get_session(p.server)),
                    ==, TEST_TLS_CLIENT_DN);
    desc = qcrypto_tls_session_get_cipher_desc(
        qio_channel_tls_get_session(p.client));
    g_assert_cmpstr(desc, ==, "TLS1.3 AES-128-GCM");
    g_free(desc);
    pair_free(&p);

    /* IP address SAN */
    pair_handshake(&p, cc, "127.0.0.1", sc, NULL);
    pair_exchange(&p);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
    user_creatable_del(az->id, &error_abort);
}

static void test_psk(void)
{
    Object *cc = obj_new("tls-creds-psk,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-psk,dir=%s,endpoint=server", dir);
    Object *deny = obj_new("authz-simple,identity=bob");
    Pair p;

    /* PSK checks no hostname */
    pair_handshake(&p, cc, NULL, sc, NULL);
    pair_exchange(&p);
    g_assert_cmpstr(qcrypto_tls_session_get_peer_name(
                        qio_channel_tls_get_session(p.server)),
                    ==, "qemu");
    pair_free(&p);

    pair_handshake(&p, cc, NULL, sc, deny->id);
    assert_err(p.sr.err, "TLS PSK authz check for qemu is denied");
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
    user_creatable_del(deny->id, &error_abort);
}

static void test_psk_mismatch(void)
{
    char *d2 = test_tls_dir_new(&ca, NULL); /* another random key */
    Object *cc = obj_new("tls-creds-psk,dir=%s,endpoint=client", d2);
    Object *sc = obj_new("tls-creds-psk,dir=%s,endpoint=server", dir);
    Pair p;

    pair_handshake(&p, cc, NULL, sc, NULL);
    g_assert_nonnull(p.cr.err);
    g_assert_nonnull(p.sr.err);
    assert_err_prefix(p.cr.err, "TLS handshake failed: ");
    assert_err_prefix(p.sr.err, "TLS handshake failed: ");
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
    test_tls_dir_remove(d2);
    g_free(d2);
}

static void test_anon(void)
{
    Object *cc = obj_new("tls-creds-anon,endpoint=client");
    Object *sc = obj_new("tls-creds-anon,endpoint=server");
    Pair p;

    pair_handshake(&p, cc, NULL, sc, NULL);
    pair_exchange(&p);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

static void test_x509_failures(void)
{
    TestTLSCA other;
    TestTLSDirOpts expired = {.server_expired = true};
    char *dother, *dexp;
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    Object *cc_other, *sc_exp, *deny;
    Pair p;

    /* hostname mismatch, missing hostname */
    pair_handshake(&p, cc, "otherhost", sc, NULL);
    assert_err(p.cr.err, "Certificate does not match the hostname otherhost");
    pair_free(&p);
    pair_handshake(&p, cc, NULL, sc, NULL);
    assert_err(p.cr.err, "No hostname for certificate validation");
    pair_free(&p);

    /* the client trusts another CA */
    test_tls_ca_init(&other, "Other CA");
    dother = test_tls_dir_new(&other, NULL);
    cc_other = obj_new("tls-creds-x509,dir=%s,endpoint=client", dother);
    pair_handshake(&p, cc_other, "localhost", sc, NULL);
    assert_err(p.cr.err, "The certificate hasn't got a known issuer");
    pair_free(&p);

    /* expired server certificate (loaded without sanity checks) */
    dexp = test_tls_dir_new(&ca, &expired);
    sc_exp = obj_new("tls-creds-x509,dir=%s,endpoint=server,"
                     "sanity-check=off",
                     dexp);
    pair_handshake(&p, cc, "localhost", sc_exp, NULL);
    assert_err(p.cr.err, "The certificate has expired");
    pair_free(&p);

    /* authz denies the client's DN; the RFC 4514 order is not accepted */
    deny = obj_new("authz-simple,identity=CN=migration-client,,"
                   "O=Wire Test,,C=GB");
    pair_handshake(&p, cc, "localhost", sc, deny->id);
    assert_err(p.sr.err, "TLS x509 authz check for "
                         "C=GB,O=Wire Test,CN=migration-client is denied");
    pair_free(&p);
    pair_handshake(&p, cc, "localhost", sc, "noauthz");
    assert_err(p.sr.err, "Cannot find QAuthZ object ID noauthz");
    pair_free(&p);

    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
    user_creatable_del(cc_other->id, &error_abort);
    user_creatable_del(sc_exp->id, &error_abort);
    user_creatable_del(deny->id, &error_abort);
    test_tls_dir_remove(dother);
    test_tls_dir_remove(dexp);
    g_free(dother);
    g_free(dexp);
    test_tls_ca_deinit(&other);
}

static void test_wrong_endpoint(void)
{
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    QIOChannel *a, *b;
    Error *err = NULL;

    socket_pair(&a, &b);
    g_assert_null(qio_channel_tls_new_server(a, cc, NULL, &err));
    assert_err(err, "Expected TLS credentials for a server endpoint");
    error_free(err);
    qio_channel_unref(a);
    qio_channel_unref(b);
    user_creatable_del(cc->id, &error_abort);
}

/*
 * Run @tioc's blocking handshake while the thread @peer plays a plain
 * (non-TLS) peer on @peer_ioc; the handshake must fail.  Returns its error.
 */
static Error *handshake_with_plain_peer(QIOChannelTLS *tioc, GThreadFunc peer,
                                        QIOChannel *peer_ioc)
{
    GThread *th = g_thread_new("plain", peer, peer_ioc);
    Error *err = NULL;

    g_assert_false(qio_channel_tls_handshake_sync(tioc, &err));
    g_thread_join(th);
    return err;
}

/*
 * A plain peer that reads the ClientHello (as a QEMUFile's 32 KiB buffer
 * would) then hangs up, like a destination without TLS.
 */
static gpointer plain_peer_hangup(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    char buf[32768];

    qio_channel_read(ioc, buf, sizeof(buf), NULL);
    qio_channel_close(ioc, NULL);
    return NULL;
}

static void test_peer_closes_in_handshake(void)
{
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    QIOChannel *a, *b;
    QIOChannelTLS *tioc;
    Error *err;

    socket_pair(&a, &b);
    tioc = qio_channel_tls_new_client(a, cc, "localhost", &error_abort);
    err = handshake_with_plain_peer(tioc, plain_peer_hangup, b);
    assert_err(err, "TLS handshake failed: The TLS connection was "
                    "non-properly terminated.");
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(tioc));
    qio_channel_unref(a);
    qio_channel_unref(b);
    user_creatable_del(cc->id, &error_abort);
}

/* A plain peer that writes a migration header instead of a ClientHello. */
static gpointer plain_peer_qevm(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    static const char hdr[] = "QEVM\0\0\0\3plain stream, no TLS here......";

    qio_channel_write_all(ioc, hdr, sizeof(hdr), NULL);
    return NULL;
}

static void test_tls_one_side_only(void)
{
    Object *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    QIOChannel *a, *b;
    QIOChannelTLS *tioc;
    Error *err;

    socket_pair(&a, &b);
    tioc = qio_channel_tls_new_server(b, sc, NULL, &error_abort);
    err = handshake_with_plain_peer(tioc, plain_peer_qevm, a);
    assert_err_prefix(err, "TLS handshake failed: ");
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(tioc));
    qio_channel_unref(a);
    qio_channel_unref(b);
    user_creatable_del(sc->id, &error_abort);
}

/* ---- bulk data ---- */

typedef struct Bulk {
    QIOChannel *ioc;
    uint8_t *data;
    size_t len;
    size_t page; /* iovec element size */
    bool close_after;
} Bulk;

static gpointer bulk_writer(gpointer opaque)
{
    Bulk *b = opaque;
    size_t n = DIV_ROUND_UP(b->len, b->page);
    struct iovec *iov = g_new(struct iovec, n);

    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = b->data + i * b->page;
        iov[i].iov_len = MIN(b->page, b->len - i * b->page);
    }
    /* 64 elements per writev, as QEMUFile does */
    for (size_t i = 0; i < n; i += 64) {
        g_assert_cmpint(qio_channel_writev_all(b->ioc, iov + i, MIN(64, n - i),
                                               &error_abort),
                        ==, 0);
    }
    if (b->close_after) {
        qio_channel_close(b->ioc, &error_abort);
    }
    g_free(iov);
    return NULL;
}

static uint8_t *random_bytes(size_t len)
{
    uint8_t *p = g_malloc(len);
    GRand *r = g_rand_new_with_seed(len);

    for (size_t i = 0; i < len; i += 4) {
        guint32 v = g_rand_int(r);
        memcpy(p + i, &v, MIN(4, len - i));
    }
    g_rand_free(r);
    return p;
}

static Pair *x509_pair_blocking(Pair *p, Object **cc, Object **sc)
{
    *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    pair_handshake(p, *cc, "localhost", *sc, NULL);
    g_assert_null(p->cr.err);
    g_assert_null(p->sr.err);
    qio_channel_set_blocking(p->cm, true, &error_abort);
    qio_channel_set_blocking(p->sm, true, &error_abort);
    return p;
}

static void large_writev(void)
{
    Object *cc, *sc;
    Pair p;
    size_t len = 8 * MiB + 1234; /* not a whole number of records */
    Bulk b = {.len = len, .page = 4096, .close_after = true};
    uint8_t *in = g_malloc(len + 1);
    GThread *th;
    size_t got = 0;
    ssize_t ret;

    x509_pair_blocking(&p, &cc, &sc);
    b.ioc = QIO_CHANNEL(p.client);
    b.data = random_bytes(len);
    th = g_thread_new("writer", bulk_writer, &b);
    /* read with assorted sizes: across record boundaries */
    while (got < len) {
        size_t want = MIN(len - got, 1 + (got * 7919) % 70000);
        struct iovec iov[2] = {
            {in + got, want / 2},
            {in + got + want / 2, want - want / 2},
        };
        ret = qio_channel_readv(QIO_CHANNEL(p.server), iov, 2, &error_abort);
        g_assert_cmpint(ret, >, 0);
        got += ret;
    }
    /* the writer closed with close_notify: a clean EOF */
    ret = qio_channel_read(QIO_CHANNEL(p.server), (char *)in + len, 1,
                           &error_abort);
    g_assert_cmpint(ret, ==, 0);
    g_thread_join(th);
    g_assert_cmpint(memcmp(in, b.data, len), ==, 0);

    g_free(b.data);
    g_free(in);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

static void test_odd_iovecs(void)
{
    /* elements larger than a record and odd sizes, both directions */
    static const size_t pages[] = {1, 100, 5000, 16384, 16385, 40000};
    Object *cc, *sc;
    Pair p;

    x509_pair_blocking(&p, &cc, &sc);
    for (size_t k = 0; k < ARRAY_SIZE(pages); k++) {
        size_t len = 300000 + k;
        Bulk b = {.len = len, .page = pages[k]};
        uint8_t *in = g_malloc(len);
        GThread *th;

        b.ioc = QIO_CHANNEL(k & 1 ? p.server : p.client);
        b.data = random_bytes(len);
        th = g_thread_new("writer", bulk_writer, &b);
        g_assert_cmpint(
            qio_channel_read_all(QIO_CHANNEL(k & 1 ? p.client : p.server),
                                 (char *)in, len, &error_abort),
            ==, 0);
        g_thread_join(th);
        g_assert_cmpint(memcmp(in, b.data, len), ==, 0);
        g_free(in);
        g_free(b.data);
    }
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

/*
 * Both ends non-blocking in one thread: writes block mid-record (the
 * socket buffer fills) and must resume the same record on the next
 * writev; reads see QIO_CHANNEL_ERR_BLOCK; watches fire for data already
 * decrypted in user space.
 */
static void nonblocking(void)
{
    Object *cc, *sc;
    Pair p;
    size_t len = 4 * MiB;
    uint8_t *out = random_bytes(len), *in = g_malloc(len);
    size_t sent = 0, got = 0;
    unsigned int blocks_w = 0, blocks_r = 0;
    QIOChannel *c, *s;

    x509_pair_blocking(&p, &cc, &sc);
    c = QIO_CHANNEL(p.client);
    s = QIO_CHANNEL(p.server);
    qio_channel_set_blocking(c, false, &error_abort);
    qio_channel_set_blocking(s, false, &error_abort);

    while (got < len) {
        if (sent < len) {
            struct iovec iov[64];
            size_t n = 0;
            ssize_t ret;

            for (size_t off = sent; off < len && n < 64; off += 4096) {
                iov[n].iov_base = out + off;
                iov[n].iov_len = MIN(4096, len - off);
                n++;
            }
            ret = qio_channel_writev(c, iov, n, &error_abort);
            if (ret == QIO_CHANNEL_ERR_BLOCK) {
                blocks_w++;
            } else {
                g_assert_cmpint(ret, >, 0);
                if ((size_t)ret < MIN(len - sent, n * 4096)) {
                    blocks_w++; /* stopped at a record that blocked */
                }
                sent += ret;
            }
        }
        for (;;) {
            ssize_t ret = qio_channel_read(s, (char *)in + got,
                                           MIN(len - got, 10000), &error_abort);
            if (ret == QIO_CHANNEL_ERR_BLOCK) {
                blocks_r++;
                break;
            }
            g_assert_cmpint(ret, >, 0);
            got += ret;
            if (got == len) {
                break;
            }
        }
    }
    g_assert_cmpint(sent, ==, len);
    g_assert_cmpint(memcmp(in, out, len), ==, 0);
    g_assert_cmpuint(blocks_w, >, 0);
    g_assert_cmpuint(blocks_r, >, 0);

    /* a watch fires for data GnuTLS already decrypted */
    g_assert_cmpint(qio_channel_write_all(c, "0123456789", 10, &error_abort),
                    ==, 0);
    qio_channel_wait(s, G_IO_IN);
    g_assert_cmpint(qio_channel_read(s, (char *)in, 3, &error_abort), ==, 3);
    g_assert_true(qio_channel_wait_timeout(s, G_IO_IN, 1000));
    g_assert_cmpint(qio_channel_read(s, (char *)in, 7, &error_abort), ==, 7);
    g_assert_cmpint(memcmp(in, "3456789", 7), ==, 0);

    g_free(in);
    g_free(out);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

/* The data path tests, for each record path. */
static const unsigned int opt_sets[] = {
    /* Tern's record layer */
    QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD |
        QIO_CHANNEL_TLS_OPT_RECORDS,
    /* GnuTLS records, gathered */
    QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD,
    /* GnuTLS records, one per iovec element */
    0,
};

static void test_large_writev(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(opt_sets); i++) {
        qio_channel_tls_set_default_opts(opt_sets[i]);
        large_writev();
    }
    qio_channel_tls_set_default_opts(opt_sets[0]);
}

static void test_nonblocking(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(opt_sets); i++) {
        qio_channel_tls_set_default_opts(opt_sets[i]);
        nonblocking();
    }
    qio_channel_tls_set_default_opts(opt_sets[0]);
}

static void test_premature_close(void)
{
    Object *cc, *sc;
    Pair p;
    char buf[8];
    Error *err = NULL;

    x509_pair_blocking(&p, &cc, &sc);
    qio_channel_write_all(QIO_CHANNEL(p.client), "abc", 3, &error_abort);
    /* the client's transport goes away without close_notify */
    qio_channel_close(p.cm, &error_abort);
    g_assert_cmpint(
        qio_channel_read(QIO_CHANNEL(p.server), buf, 8, &error_abort), ==, 3);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 8, &err), ==,
                    -1);
    assert_err(err, "Cannot read from TLS channel: The TLS connection was "
                    "non-properly terminated.");
    error_free(err);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

static gpointer blocked_reader(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    char buf[8];
    Error *err = NULL;
    ssize_t ret = qio_channel_read(ioc, buf, sizeof(buf), &err);

    error_free(err);
    return GINT_TO_POINTER(ret <= 0 ? 1 : 0);
}

static void test_shutdown_wakes_reader(void)
{
    Object *cc, *sc;
    Pair p;
    GThread *th;

    x509_pair_blocking(&p, &cc, &sc);
    th = g_thread_new("reader", blocked_reader, p.server);
    g_usleep(100 * 1000);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(p.server),
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    qio_channel_shutdown(QIO_CHANNEL(p.server), QIO_CHANNEL_SHUTDOWN_BOTH,
                         &error_abort);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(th)), ==, 1);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

/* The blocking handshake, as the migration thread uses it. */
static gpointer sync_server(gpointer opaque)
{
    Error *err = NULL;
    bool ok = qio_channel_tls_handshake_sync(opaque, &err);

    error_free(err);
    return GINT_TO_POINTER(ok);
}

static void test_handshake_sync(void)
{
    Object *cc = obj_new("tls-creds-psk,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-psk,dir=%s,endpoint=server", dir);
    QIOChannel *a, *b;
    QIOChannelTLS *c, *s;
    GThread *th;
    char buf[4];

    socket_pair(&a, &b);
    c = qio_channel_tls_new_client(a, cc, NULL, &error_abort);
    s = qio_channel_tls_new_server(b, sc, NULL, &error_abort);
    th = g_thread_new("server", sync_server, s);
    g_assert_true(qio_channel_tls_handshake_sync(c, &error_abort));
    g_assert_true(GPOINTER_TO_INT(g_thread_join(th)));
    qio_channel_write_all(QIO_CHANNEL(c), "ping", 4, &error_abort);
    qio_channel_read_all(QIO_CHANNEL(s), buf, 4, &error_abort);
    g_assert_cmpint(memcmp(buf, "ping", 4), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(a);
    qio_channel_unref(b);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

/*
 * Tern's record layer against GnuTLS's own (the wire format a QEMU peer
 * uses): every combination, both directions, odd sizes, then KeyUpdate
 * requested by each side, then close_notify.
 */
static void run_interop(unsigned int copts, unsigned int sopts)
{
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    QCryptoTLSSession *cs, *ss;
    Pair p;
    size_t len = 1 * MiB + 77;
    uint8_t *in = g_malloc(len);

    /* the options are read when a channel is created */
    memset(&p, 0, sizeof(p));
    socket_pair(&p.cm, &p.sm);
    qio_channel_tls_set_default_opts(copts);
    p.client = qio_channel_tls_new_client(p.cm, cc, "localhost", &error_abort);
    qio_channel_tls_set_default_opts(sopts);
    p.server = qio_channel_tls_new_server(p.sm, sc, NULL, &error_abort);
    qio_channel_tls_set_default_opts(QIO_CHANNEL_TLS_OPT_GATHER |
                                     QIO_CHANNEL_TLS_OPT_READAHEAD |
                                     QIO_CHANNEL_TLS_OPT_RECORDS);
    p.cr.master = p.cm;
    p.sr.master = p.sm;
    qio_channel_set_blocking(p.cm, false, &error_abort);
    qio_channel_set_blocking(p.sm, false, &error_abort);
    qio_channel_tls_handshake(p.client, hs_done, &p.cr, NULL, NULL);
    qio_channel_tls_handshake(p.server, hs_done, &p.sr, NULL, NULL);
    while (!p.cr.done || !p.sr.done) {
        g_main_context_iteration(NULL, TRUE);
    }
    pair_exchange(&p);
    cs = qio_channel_tls_get_session(p.client);
    ss = qio_channel_tls_get_session(p.server);
    g_assert_cmpint(qcrypto_tls_session_has_fast_records(cs), ==,
                    !!(copts & QIO_CHANNEL_TLS_OPT_RECORDS));
    g_assert_cmpint(qcrypto_tls_session_has_fast_records(ss), ==,
                    !!(sopts & QIO_CHANNEL_TLS_OPT_RECORDS));

    for (int round = 0; round < 4; round++) {
        bool c2s = !(round & 1);
        Bulk b = {.len = len, .page = round < 2 ? 4096 : 1000};
        QIOChannel *rd = QIO_CHANNEL(c2s ? p.server : p.client);
        GThread *th;

        if (round == 3) {
            /*
             * Let a GnuTLS side send the KeyUpdate it owes from round 2
             * (it goes out before its next data record) before it asks
             * for one itself, else the peer sees two requests in a row.
             */
            pair_exchange(&p);
        }
        if (round >= 2) {
            /*
             * The writer asks the reader to rotate keys too (one at a
             * time: GnuTLS refuses a request while its own is pending).
             */
            g_assert_cmpint(qcrypto_tls_session_request_key_update(
                                c2s ? cs : ss, &error_abort),
                            ==, 0);
        }
        b.ioc = QIO_CHANNEL(c2s ? p.client : p.server);
        b.data = random_bytes(len);
        th = g_thread_new("writer", bulk_writer, &b);
        g_assert_cmpint(qio_channel_read_all(rd, (char *)in, len, &error_abort),
                        ==, 0);
        g_thread_join(th);
        g_assert_cmpint(memcmp(in, b.data, len), ==, 0);
        g_free(b.data);
    }
    /* after the key updates both ways, both directions still work */
    pair_exchange(&p);

    /* padded records (TLS 1.3 allows them; GnuTLS sends them on demand) */
    if (!(sopts & QIO_CHANNEL_TLS_OPT_RECORDS)) {
        static const size_t sizes[] = {1, 15, 16, 4095, 16000};
        char *msg = g_malloc(16384);

        memset(msg, 'p', 16384);
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
            g_assert_cmpint(qcrypto_tls_session_write_padded(ss, msg, sizes[i],
                                                             300, &error_abort),
                            ==, sizes[i]);
            /*
             * Odd records: a large buffer (opened in place, then the
             * padding found); even ones: 100-byte reads (split between
             * the caller's buffer and the layer's).
             */
            size_t got = 0;

            while (got < sizes[i]) {
                ssize_t r =
                    qio_channel_read(QIO_CHANNEL(p.client), (char *)in + got,
                                     i & 1 ? 65536 : 100, &error_abort);
                g_assert_cmpint(r, >, 0);
                got += r;
            }
            g_assert_cmpint(got, ==, sizes[i]);
            g_assert_cmpint(memcmp(in, msg, sizes[i]), ==, 0);
        }
        g_free(msg);
    }

    /* close_notify reaches the reader as a clean EOF */
    qio_channel_close(QIO_CHANNEL(p.client), &error_abort);
    g_assert_cmpint(
        qio_channel_read(QIO_CHANNEL(p.server), (char *)in, 1, &error_abort),
        ==, 0);
    g_free(in);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

static void test_interop_records(void)
{
    unsigned int fast = QIO_CHANNEL_TLS_OPT_GATHER |
                        QIO_CHANNEL_TLS_OPT_READAHEAD |
                        QIO_CHANNEL_TLS_OPT_RECORDS;
    unsigned int gnutls =
        QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD;

    run_interop(fast, gnutls);
    run_interop(gnutls, fast);
    run_interop(fast, fast);
    run_interop(0, 0); /* QEMU's way: a record per page */
}

/* Anonymous DH negotiates TLS 1.2: GnuTLS keeps the record layer. */
static void test_anon_tls12_fallback(void)
{
    Object *cc = obj_new("tls-creds-anon,endpoint=client");
    Object *sc = obj_new("tls-creds-anon,endpoint=server");
    Pair p;

    pair_handshake(&p, cc, NULL, sc, NULL);
    pair_exchange(&p);
    g_assert_false(qcrypto_tls_session_has_fast_records(
        qio_channel_tls_get_session(p.client)));
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

/*
 * Bytes forged on the wire after the handshake (written to the client's
 * transport behind TLS's back) must fail the server's read with an
 * error, never crash it, on either record path.
 */
static void forged(unsigned int opts, const uint8_t *bytes, size_t len,
                   const char *expect)
{
    Object *cc, *sc;
    Pair p;
    char buf[64];
    Error *err = NULL;

    qio_channel_tls_set_default_opts(opts);
    x509_pair_blocking(&p, &cc, &sc);
    qio_channel_tls_set_default_opts(opt_sets[0]);
    g_assert_cmpint(
        qio_channel_write_all(p.cm, (const char *)bytes, len, &error_abort), ==,
        0);
    qio_channel_shutdown(p.cm, QIO_CHANNEL_SHUTDOWN_WRITE, &error_abort);
    g_assert_cmpint(
        qio_channel_read(QIO_CHANNEL(p.server), buf, sizeof(buf), &err), ==,
        -1);
    assert_err(err, expect);
    error_free(err);
    pair_free(&p);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

static void test_forged_records(void)
{
    uint8_t garbage[5 + 48] = {0x17, 0x03, 0x03, 0x00, 48};
    static const uint8_t too_long[5] = {0x17, 0x03, 0x03, 0x48, 0x00};
    static const uint8_t plain_hs[9] = {0x16, 0x03, 0x03, 0x00, 4, 1, 0, 0, 0};
    /* change_cipher_spec after the handshake: RFC 8446 forbids it */
    static const uint8_t late_ccs[6] = {0x14, 0x03, 0x03, 0x00, 1, 1};

    for (size_t i = 5; i < sizeof(garbage); i++) {
        garbage[i] = i * 37;
    }
    for (size_t i = 0; i < 2; i++) {
        forged(opt_sets[i], garbage, sizeof(garbage),
               "Cannot read from TLS channel: Decryption has failed.");
        forged(opt_sets[i], too_long, sizeof(too_long),
               "Cannot read from TLS channel: A TLS record packet with "
               "invalid length was received.");
        /* GnuTLS calls this one a decryption failure, Tern what it is */
        forged(opt_sets[i], late_ccs, sizeof(late_ccs),
               "Cannot read from TLS channel: An unexpected TLS packet "
               "was received.");
        forged(opt_sets[i], plain_hs, sizeof(plain_hs),
               i ? "Cannot read from TLS channel: Decryption has failed."
                 : "Cannot read from TLS channel: An unexpected TLS packet "
                   "was received.");
    }
}

/* ---- mutated records ---- */

/*
 * A migration stream (8-byte headers and 4 KiB pages, a KeyUpdate half
 * way, close_notify) is captured as ciphertext off the wire, damaged, and
 * fed to the reader of the same session: it must fail or see EOF, never
 * crash, and never report a byte that differs from what was sent.
 */
#define MUT_PAGES 64
#define MUT_LEN (MUT_PAGES * (8 + 4096))
#define MUT_MAX_RECS (2 * MUT_PAGES + 3)
#define MUT_KEY_UPDATE (5 + 1 + 16) /* its record's length field */

typedef struct MutWriter {
    QIOChannel *ioc;
    const uint8_t *data;
    int done;
} MutWriter;

static gpointer mut_tls_writer(gpointer opaque)
{
    MutWriter *w = opaque;
    QCryptoTLSSession *sess =
        qio_channel_tls_get_session(QIO_CHANNEL_TLS(w->ioc));
    struct iovec iov[2 * MUT_PAGES];

    for (size_t i = 0; i < MUT_PAGES; i++) {
        uint8_t *hdr = (uint8_t *)w->data + i * (8 + 4096);

        iov[2 * i] = (struct iovec){hdr, 8};
        iov[2 * i + 1] = (struct iovec){hdr + 8, 4096};
    }
    /* 64 elements per writev, as QEMUFile does */
    g_assert_cmpint(qio_channel_writev_all(w->ioc, iov, 64, &error_abort), ==,
                    0);
    /* the reader is asked to rotate its keys too */
    g_assert_cmpint(qcrypto_tls_session_request_key_update(sess, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_writev_all(w->ioc, iov + 64, 64, &error_abort),
                    ==, 0);
    /* close_notify, the master stays open */
    g_assert_cmpint(qcrypto_tls_session_bye(sess, &error_abort), ==, 1);
    g_atomic_int_set(&w->done, 1);
    return NULL;
}

/* Have the client send data; return its ciphertext, read off sm raw. */
static uint8_t *mut_capture(Pair *p, const uint8_t *data, size_t *lenp)
{
    MutWriter w = {QIO_CHANNEL(p->client), data, 0};
    int fd = qio_channel_get_fd(p->sm);
    size_t cap = 2 * MUT_LEN, len = 0;
    uint8_t *ct = g_malloc(cap);
    GThread *th;

    qio_channel_set_blocking(p->sm, false, &error_abort);
    th = g_thread_new("writer", mut_tls_writer, &w);
    for (;;) {
        /* a unix socket has all the bytes queued once write returns */
        bool fin = g_atomic_int_get(&w.done);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (len == cap) {
            cap *= 2;
            ct = g_realloc(ct, cap);
        }
        r = read(fd, ct + len, cap - len);
        if (r > 0) {
            len += r;
            continue;
        }
        g_assert_cmpint(r, <, 0);
        if (errno == EINTR) {
            continue;
        }
        g_assert_cmpint(errno, ==, EAGAIN);
        if (fin) {
            break;
        }
        poll(&pfd, 1, 10);
    }
    g_thread_join(th);
    qio_channel_set_blocking(p->sm, true, &error_abort);
    *lenp = len;
    return ct;
}

/*
 * Split ct into records: rec[k] is where record k starts (rec[n] = len),
 * plain[k] the payload bytes in records before k.  Returns n.
 */
static size_t mut_records(const uint8_t *ct, size_t len, size_t *rec,
                          size_t *plain)
{
    size_t n = 0, off = 0, key_updates = 0;

    plain[0] = 0;
    while (off < len) {
        size_t rlen;

        g_assert_cmpuint(len - off, >=, 5);
        g_assert_cmpuint(n, <, MUT_MAX_RECS);
        g_assert_cmpuint(ct[off], ==, 23);
        rlen = (ct[off + 3] << 8) | ct[off + 4];
        g_assert_cmpuint(rlen, >, 17);
        rec[n++] = off;
        /* no data record is 5 bytes long here; none is padded */
        if (rlen == MUT_KEY_UPDATE) {
            key_updates++;
            plain[n] = plain[n - 1];
        } else {
            plain[n] = plain[n - 1] + rlen - 17;
        }
        off += 5 + rlen;
    }
    g_assert_cmpuint(off, ==, len);
    g_assert_cmpuint(key_updates, ==, 1);
    rec[n] = len;
    /* the last record is the close_notify alert */
    g_assert_cmpuint(len - rec[n - 1], ==, 5 + 2 + 1 + 16);
    plain[n] = plain[n - 1];
    g_assert_cmpuint(plain[n], ==, MUT_LEN);
    return n;
}

static size_t rand_below(GRand *r, size_t n)
{
    return g_rand_int_range(r, 0, n);
}

/*
 * Damage a copy of ct as kind (0..6) says, -1 not at all.  *first: the
 * stream is intact before it.
 */
static GByteArray *mut_apply(GRand *r, int kind, const uint8_t *ct, size_t len,
                             const size_t *rec, size_t nrec, size_t *first,
                             char *desc, size_t desc_len)
{
    static const uint8_t types[] = {0, 20, 21, 22, 24, 0xff};
    GByteArray *m = g_byte_array_sized_new(len + len / 2);
    size_t a, b, q, k;

    switch (kind) {
    case -1:
        g_byte_array_append(m, ct, len);
        *first = len;
        snprintf(desc, desc_len, "none");
        break;
    case 0: /* flip a bit */
        a = rand_below(r, len);
        g_byte_array_append(m, ct, len);
        m->data[a] ^= 1 << rand_below(r, 8);
        *first = a;
        snprintf(desc, desc_len, "flip a bit at %zu", a);
        break;
    case 1: /* truncate */
        a = rand_below(r, len);
        g_byte_array_append(m, ct, a);
        *first = a;
        snprintf(desc, desc_len, "truncate at %zu", a);
        break;
    case 2: /* duplicate [a, b) at q */
    case 3: /* delete [a, b) */
        if (g_rand_boolean(r)) {
            /* whole records: a replay, a drop */
            k = rand_below(r, nrec);
            b = k + 1 + rand_below(r, 3);
            a = rec[k];
            b = rec[MIN(b, nrec)];
            q = rec[rand_below(r, nrec + 1)];
        } else {
            static const size_t spans[] = {16, 5000, 40000};

            a = rand_below(r, len);
            b = spans[rand_below(r, 3)];
            b = a + 1 + rand_below(r, MIN(len - a, b));
            q = rand_below(r, len + 1);
        }
        if (kind == 2) {
            g_byte_array_append(m, ct, q);
            g_byte_array_append(m, ct + a, b - a);
            g_byte_array_append(m, ct + q, len - q);
            *first = q;
        } else {
            g_byte_array_append(m, ct, a);
            g_byte_array_append(m, ct + b, len - b);
            *first = a;
        }
        snprintf(desc, desc_len, "%s [%zu, %zu) at %zu",
                 kind == 2 ? "duplicate" : "delete", a, b, kind == 2 ? q : a);
        break;
    case 4: /* a record header's length */
        k = rand_below(r, nrec);
        a = rec[k] + 3 + rand_below(r, 2);
        g_byte_array_append(m, ct, len);
        m->data[a] ^= 1 + rand_below(r, 255);
        *first = rec[k];
        snprintf(desc, desc_len, "record %zu length %02x%02x", k,
                 m->data[rec[k] + 3], m->data[rec[k] + 4]);
        break;
    case 5: /* a record header's type */
        k = rand_below(r, nrec);
        g_byte_array_append(m, ct, len);
        m->data[rec[k]] = types[rand_below(r, ARRAY_SIZE(types))];
        *first = rec[k];
        snprintf(desc, desc_len, "record %zu type %u", k, m->data[rec[k]]);
        break;
    default: { /* a record of the attacker's between two */
        uint8_t forged[5 + 40] = {20 + rand_below(r, 4), 3, 3, 0};

        forged[4] = 1 + rand_below(r, 40);
        for (size_t i = 5; i < sizeof(forged); i++) {
            forged[i] = forged[0] == 20 ? 1 : g_rand_int(r);
        }
        k = rand_below(r, nrec + 1);
        g_byte_array_append(m, ct, rec[k]);
        g_byte_array_append(m, forged, 5 + forged[4]);
        g_byte_array_append(m, ct + rec[k], len - rec[k]);
        *first = rec[k];
        snprintf(desc, desc_len, "type %u length %u record before %zu",
                 forged[0], forged[4], k);
        break;
    }
    }
    return m;
}

/* Read buffers as callers shape them: QEMUFile's, pages, odd sizes. */
static size_t mut_iov(GRand *r, struct iovec *iov)
{
    size_t n;

    switch (rand_below(r, 3)) {
    case 0:
        n = 1;
        iov[0].iov_len = 32768;
        break;
    case 1:
        n = 2 * (1 + rand_below(r, 4));
        for (size_t i = 0; i < n; i++) {
            iov[i].iov_len = i & 1 ? 4096 : 8;
        }
        break;
    default:
        n = 1 + rand_below(r, 4);
        for (size_t i = 0; i < n; i++) {
            iov[i].iov_len = 1 + rand_below(r, 20000);
        }
        break;
    }
    /* each its own allocation, so that ASan sees any overrun */
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = g_malloc(iov[i].iov_len);
    }
    return n;
}

typedef struct RawWriter {
    int fd;
    const uint8_t *buf;
    size_t len;
    size_t chunk; /* write at most this much at a time, 0 all */
    guint32 seed;
} RawWriter;

/* Write the (damaged) stream behind TLS's back, then hang up. */
static gpointer raw_writer(gpointer opaque)
{
    RawWriter *w = opaque;
    GRand *rand = g_rand_new_with_seed(w->seed);
    size_t off = 0;

    while (off < w->len) {
        size_t n = w->len - off;
        ssize_t r;

        if (w->chunk) {
            size_t c = 1 + rand_below(rand, w->chunk);

            n = MIN(n, c);
        }
        r = write(w->fd, w->buf + off, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(r, >, 0);
        off += r;
    }
    g_assert_cmpint(shutdown(w->fd, SHUT_WR), ==, 0);
    g_rand_free(rand);
    return NULL;
}

/*
 * Read until an error or EOF; every byte reported must be the payload's
 * at that offset, and at least min_good of them must come (the records
 * before the damage).  A non-blocking reader waits as QEMUFile would.
 */
static void mut_read(QIOChannel *ioc, bool fast, bool nonblock, GRand *r,
                     const uint8_t *data, size_t min_good, const char *desc)
{
    size_t got = 0;
    unsigned int blocks = 0;
    Error *err = NULL;
    ssize_t ret;

    for (;;) {
        struct iovec iov[8];
        size_t n = mut_iov(r, iov);
        size_t off = 0;

        ret = qio_channel_readv(ioc, iov, n, &err);
        if (ret > 0 && got + ret > MUT_LEN) {
            g_printerr("%s: %zu bytes read past the end\n", desc,
                       got + ret - MUT_LEN);
            g_assert_cmpuint(got + ret, <=, MUT_LEN);
        }
        for (size_t i = 0; i < n; i++) {
            size_t len = MIN(iov[i].iov_len, ret > 0 ? ret - off : 0);

            if (memcmp(iov[i].iov_base, data + got + off, len)) {
                g_printerr("%s: wrong data at %zu\n", desc, got + off);
                g_assert_not_reached();
            }
            off += len;
            g_free(iov[i].iov_base);
        }
        if (ret == QIO_CHANNEL_ERR_BLOCK && nonblock) {
            qio_channel_wait(ioc, G_IO_IN);
            continue;
        }
        if (ret == QIO_CHANNEL_ERR_BLOCK && !fast && blocks++ < 3) {
            /*
             * GnuTLS says EAGAIN once for a record cut short by EOF,
             * blocking transport or not; qio_channel_read_all() waits
             * and retries, as here.
             */
            qio_channel_wait(ioc, G_IO_IN);
            continue;
        }
        if (ret <= 0) {
            break;
        }
        blocks = 0;
        got += ret;
    }

    if (got < min_good) {
        g_printerr("%s: %zu bytes read, %zu were intact\n", desc, got,
                   min_good);
    }
    g_assert_cmpuint(got, >=, min_good);
    if (ret == 0) {
        /* a clean EOF only after all the data */
        g_assert_null(err);
        g_assert_cmpuint(got, ==, MUT_LEN);
        return;
    }
    g_assert_cmpint(ret, ==, -1);
    if (!err || !g_str_has_prefix(error_get_pretty(err),
                                  "Cannot read from TLS channel: ")) {
        g_printerr("%s: ", desc);
    }
    assert_err_prefix(err, "Cannot read from TLS channel: ");
    error_free(err);
    err = NULL;

    /* the session stays failed */
    {
        char buf[64];

        g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &err), ==, -1);
        assert_err_prefix(err, "Cannot read from TLS channel: ");
        error_free(err);
    }
}

static void mutated(unsigned int opts, unsigned int iters, GRand *r, Object *cc,
                    Object *sc, const uint8_t *data)
{
    for (unsigned int i = 0; i < iters; i++) {
        size_t rec[MUT_MAX_RECS + 1], plain[MUT_MAX_RECS + 1];
        size_t len, nrec, first, k;
        uint8_t *ct;
        GByteArray *m;
        RawWriter w;
        GThread *th;
        GRand *rr;
        Pair p;
        static const size_t chunks[] = {0, 0, 64, 1000, 20000};
        char desc[160], sink[65536];
        int sfd;

        qio_channel_tls_set_default_opts(opts);
        pair_handshake(&p, cc, "localhost", sc, NULL);
        qio_channel_tls_set_default_opts(opt_sets[0]);
        g_assert_null(p.cr.err);
        g_assert_null(p.sr.err);
        g_assert_cmpint(qcrypto_tls_session_has_fast_records(
                            qio_channel_tls_get_session(p.server)),
                        ==, !!(opts & QIO_CHANNEL_TLS_OPT_RECORDS));
        qio_channel_set_blocking(p.cm, true, &error_abort);
        qio_channel_set_blocking(p.sm, true, &error_abort);

        ct = mut_capture(&p, data, &len);
        nrec = mut_records(ct, len, rec, plain);
        /* the first one undamaged: the harness itself works */
        m = mut_apply(r, i ? (int)rand_below(r, 7) : -1, ct, len, rec, nrec,
                      &first, desc, sizeof(desc));
        k = strlen(desc);
        snprintf(desc + k, sizeof(desc) - k, " (opts %u, iteration %u)", opts,
                 i);
        /* the records wholly before the damage must all be read */
        for (k = 0; k < nrec && rec[k + 1] <= first; k++) {
        }

        /* in one go, or dribbled: records and headers split up */
        w = (RawWriter){qio_channel_get_fd(p.cm), m->data, m->len,
                        chunks[rand_below(r, ARRAY_SIZE(chunks))], i};
        th = g_thread_new("raw", raw_writer, &w);
        /*
         * Read shapes from their own generator (how much a read returns
         * varies with timing); every other reader is non-blocking.
         */
        rr = g_rand_new_with_seed(i);
        qio_channel_set_blocking(p.sm, !(i & 1), &error_abort);
        mut_read(QIO_CHANNEL(p.server), opts & QIO_CHANNEL_TLS_OPT_RECORDS,
                 i & 1, rr, data, plain[k], desc);
        g_rand_free(rr);
        /* let the writer finish */
        qio_channel_set_blocking(p.sm, true, &error_abort);
        sfd = qio_channel_get_fd(p.sm);
        for (;;) {
            ssize_t n = read(sfd, sink, sizeof(sink));

            if (n == 0 || (n < 0 && errno != EINTR)) {
                break;
            }
        }
        g_thread_join(th);

        g_byte_array_unref(m);
        g_free(ct);
        pair_free(&p);
    }
}

static void test_mutated_records(void)
{
    Object *cc = obj_new("tls-creds-x509,dir=%s,endpoint=client", dir);
    Object *sc = obj_new("tls-creds-x509,dir=%s,endpoint=server", dir);
    GRand *r = g_rand_new_with_seed(0x7e4e);
    uint8_t *data = random_bytes(MUT_LEN);

    /* mostly Tern's record layer; GnuTLS's as the reference */
    mutated(opt_sets[0], 240, r, cc, sc, data);
    mutated(opt_sets[1], 30, r, cc, sc, data);
    mutated(opt_sets[2], 30, r, cc, sc, data);
    g_free(data);
    g_rand_free(r);
    user_creatable_del(cc->id, &error_abort);
    user_creatable_del(sc->id, &error_abort);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    crypto_register_types();
    test_tls_ca_init(&ca, "Tern Test CA");
    dir = test_tls_dir_new(&ca, NULL);

    g_test_add_func("/io/channel/tls/x509", test_x509);
    g_test_add_func("/io/channel/tls/x509-failures", test_x509_failures);
    g_test_add_func("/io/channel/tls/psk", test_psk);
    g_test_add_func("/io/channel/tls/psk-mismatch", test_psk_mismatch);
    g_test_add_func("/io/channel/tls/anon", test_anon);
    g_test_add_func("/io/channel/tls/wrong-endpoint", test_wrong_endpoint);
    g_test_add_func("/io/channel/tls/peer-closes-in-handshake",
                    test_peer_closes_in_handshake);
    g_test_add_func("/io/channel/tls/tls-one-side-only",
                    test_tls_one_side_only);
    g_test_add_func("/io/channel/tls/handshake-sync", test_handshake_sync);
    g_test_add_func("/io/channel/tls/large-writev", test_large_writev);
    g_test_add_func("/io/channel/tls/odd-iovecs", test_odd_iovecs);
    g_test_add_func("/io/channel/tls/nonblocking", test_nonblocking);
    g_test_add_func("/io/channel/tls/premature-close", test_premature_close);
    g_test_add_func("/io/channel/tls/shutdown-wakes-reader",
                    test_shutdown_wakes_reader);
    g_test_add_func("/io/channel/tls/interop-records", test_interop_records);
    g_test_add_func("/io/channel/tls/forged-records", test_forged_records);
    g_test_add_func("/io/channel/tls/mutated-records", test_mutated_records);
    g_test_add_func("/io/channel/tls/anon-tls12-fallback",
                    test_anon_tls12_fallback);
    ret = g_test_run();

    test_tls_dir_remove(dir);
    g_free(dir);
    test_tls_ca_deinit(&ca);
    user_creatable_cleanup();
    return ret;
}
