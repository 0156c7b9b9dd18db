/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls-throughput.c: how fast 4 KiB pages cross a loopback TCP connection
 * in plain text and through QIOChannelTLS, one step of the TLS data path
 * at a time.  Built, not run by make check:
 *
 *   build/tests/bench/tls-throughput [--gib N] [--mode M]... [--json]
 *   build/tests/bench/tls-throughput --ciphers   (AEADs on one core)
 *
 * A writer thread sends N GiB (default 1) of 4 KiB pages as 64-element
 * iovecs (as QEMUFile does) from a 64 MiB buffer; the reader thread reads
 * them into place page by page, in 64-page iovecs.  Modes:
 *   plain        no TLS
 *   qemu         what QEMU 7.2 does: priority NORMAL (AES-256-GCM),
 *                one TLS record per page, GnuTLS reading each record
 *                in two syscalls
 *   gather       + pages gathered into 16 KiB records
 *   gather-aes128 + AES-128-GCM preferred (Tern's default priority)
 *   readahead    + read-ahead on the receive side (one read per record)
 *   tern         Tern's default: its own TLS 1.3 record layer sealing
 *                pages straight into 4-record batches and opening
 *                records straight into the reader's pages
 * Certificates are generated on the fly (x509, ECDSA P-256).
 *
 * Columns: GiB/s is wall clock; cpu-GiB/s = 1 / max(writer, reader CPU
 * seconds per GiB), what two idle cores would reach, and robust when
 * other work shares the machine; wr-s/GiB and rd-s/GiB are each thread's
 * CPU seconds per GiB.
 */
#include "qemu/osdep.h"
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include "crypto/init.h"
#include "crypto/tlscreds.h"
#include "io/channel-tls.h"
#include "io/channel-socket.h"
#include "qom/object.h"
#include "../unit/crypto-tls-certs.h"

#define BUF_PAGES (16384) /* 64 MiB of source pages */
#define IOV_PAGES 64

typedef struct BenchMode {
    const char *name;
    bool tls;
    unsigned int opts;    /* QIO_CHANNEL_TLS_OPT_* */
    const char *priority; /* NULL = Tern's default */
} BenchMode;

static const BenchMode modes[] = {
    {"plain", false, 0, NULL},
    {"qemu", true, 0, "NORMAL"},
    {"gather", true, QIO_CHANNEL_TLS_OPT_GATHER, "NORMAL"},
    {"gather-aes128", true, QIO_CHANNEL_TLS_OPT_GATHER, NULL},
    {"readahead", true,
     QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD, NULL},
    {"tern", true,
     QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD |
         QIO_CHANNEL_TLS_OPT_RECORDS,
     NULL},
};

typedef struct BenchSide {
    QIOChannel *ioc;
    uint8_t *buf;
    uint64_t pages;
    QIOChannelTLS *tls;
    bool ok;
    double cpu_s; /* thread CPU time of the transfer */
} BenchSide;

static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tcp_pair(int *a, int *b)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert(l >= 0);
    g_assert(bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    g_assert(listen(l, 1) == 0);
    g_assert(getsockname(l, (struct sockaddr *)&addr, &len) == 0);
    *a = socket(AF_INET, SOCK_STREAM, 0);
    g_assert(connect(*a, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    *b = accept(l, NULL, NULL);
    g_assert(*b >= 0);
    close(l);
    setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static gpointer bench_server_handshake(gpointer opaque)
{
    BenchSide *s = opaque;
    Error *err = NULL;

    s->ok = qio_channel_tls_handshake_sync(s->tls, &err);
    if (!s->ok) {
        error_report_err(err);
    }
    return NULL;
}

/*
 * Move s->pages pages of s->buf (cycling over BUF_PAGES) through s->ioc,
 * IOV_PAGES at a time: written if write, else read.  Sets s->cpu_s and
 * s->ok on success.
 */
static gpointer bench_pump(BenchSide *s, bool write)
{
    struct iovec iov[IOV_PAGES];
    uint64_t page = 0;
    double c0 = thread_cpu_s();

    while (page < s->pages) {
        size_t n = MIN(IOV_PAGES, s->pages - page);
        int ret;

        for (size_t i = 0; i < n; i++) {
            iov[i].iov_base = s->buf + ((page + i) % BUF_PAGES) * 4096;
            iov[i].iov_len = 4096;
        }
        ret = write ? qio_channel_writev_all(s->ioc, iov, n, &error_abort)
                    : qio_channel_readv_all(s->ioc, iov, n, &error_abort);
        if (ret < 0) {
            return NULL;
        }
        page += n;
    }
    s->cpu_s = thread_cpu_s() - c0;
    s->ok = true;
    return NULL;
}

static gpointer bench_writer(gpointer opaque)
{
    return bench_pump(opaque, true);
}

static gpointer bench_reader(gpointer opaque)
{
    return bench_pump(opaque, false);
}

/*
 * Returns wall-clock GiB/s, or a negative number on failure; *cpu_w and
 * *cpu_r get the writer's and reader's CPU seconds per GiB.
 */
static double bench_run(const BenchMode *m, const char *dir, uint64_t pages,
                        uint8_t *src, uint8_t *dst, char **cipher,
                        double *cpu_w, double *cpu_r)
{
    BenchSide w = {.buf = src, .pages = pages};
    BenchSide r = {.buf = dst, .pages = pages};
    QIOChannel *cm, *sm;
    Object *cc = NULL, *sc = NULL;
    GThread *tw, *tr;
    int a, b;
    gint64 t0, t1;

    tcp_pair(&a, &b);
    cm = QIO_CHANNEL(qio_channel_socket_new_fd(a, &error_abort));
    sm = QIO_CHANNEL(qio_channel_socket_new_fd(b, &error_abort));
    w.ioc = cm;
    r.ioc = sm;
    *cipher = g_strdup("-");

    if (m->tls) {
        char *prio = m->priority ? g_strdup_printf(",priority=%s", m->priority)
                                 : g_strdup("");
        char *s;
        GThread *th;

        s = g_strdup_printf("tls-creds-x509,id=bc,dir=%s,endpoint=client%s",
                            dir, prio);
        cc = user_creatable_add_opts_str(s, &error_abort);
        g_free(s);
        s = g_strdup_printf("tls-creds-x509,id=bs,dir=%s,endpoint=server%s",
                            dir, prio);
        sc = user_creatable_add_opts_str(s, &error_abort);
        g_free(s);
        g_free(prio);

        qio_channel_tls_set_default_opts(m->opts);
        w.tls = qio_channel_tls_new_client(cm, cc, "localhost", &error_abort);
        r.tls = qio_channel_tls_new_server(sm, sc, NULL, &error_abort);
        th = g_thread_new("hs", bench_server_handshake, &r);
        if (!qio_channel_tls_handshake_sync(w.tls, &error_abort)) {
            return -1;
        }
        g_thread_join(th);
        if (!r.ok) {
            return -1;
        }
        r.ok = false;
        w.ioc = QIO_CHANNEL(w.tls);
        r.ioc = QIO_CHANNEL(r.tls);
        g_free(*cipher);
        *cipher = qcrypto_tls_session_get_cipher_desc(
            qio_channel_tls_get_session(w.tls));
    }

    t0 = g_get_monotonic_time();
    tr = g_thread_new("reader", bench_reader, &r);
    tw = g_thread_new("writer", bench_writer, &w);
    g_thread_join(tw);
    g_thread_join(tr);
    t1 = g_get_monotonic_time();

    if (w.tls) {
        qio_channel_unref(QIO_CHANNEL(w.tls));
        qio_channel_unref(QIO_CHANNEL(r.tls));
        user_creatable_del("bc", &error_abort);
        user_creatable_del("bs", &error_abort);
    }
    qio_channel_unref(cm);
    qio_channel_unref(sm);
    qio_channel_tls_set_default_opts(QIO_CHANNEL_TLS_OPT_GATHER |
                                     QIO_CHANNEL_TLS_OPT_READAHEAD |
                                     QIO_CHANNEL_TLS_OPT_RECORDS);
    if (!w.ok || !r.ok) {
        return -1;
    }
    *cpu_w = w.cpu_s / ((double)pages * 4096 / GiB);
    *cpu_r = r.cpu_s / ((double)pages * 4096 / GiB);
    return (double)pages * 4096 / GiB / ((t1 - t0) / 1e6);
}

/*
 * One core sealing 16 KiB records with each AEAD TLS 1.3 offers (the
 * gnutls-cli --benchmark-ciphers figure, which leaves AES-256-GCM out).
 */
static void bench_ciphers(void)
{
    static const gnutls_cipher_algorithm_t algs[] = {
        GNUTLS_CIPHER_AES_128_GCM,
        GNUTLS_CIPHER_AES_256_GCM,
        GNUTLS_CIPHER_CHACHA20_POLY1305,
    };
    uint8_t key[32] = {1}, iv[12] = {2}, tag[16];
    uint8_t *buf = g_malloc(16384);

    memset(buf, 0x5a, 16384);
    for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
        gnutls_cipher_hd_t h;
        gnutls_datum_t k = {key, gnutls_cipher_get_key_size(algs[i])};
        gnutls_datum_t v = {iv, 12};
        gint64 t0;
        size_t n = 0;

        if (gnutls_cipher_init(&h, algs[i], &k, &v) < 0) {
            continue;
        }
        t0 = g_get_monotonic_time();
        while (g_get_monotonic_time() - t0 < 300000) {
            for (int j = 0; j < 64; j++) {
                gnutls_cipher_set_iv(h, iv, 12);
                gnutls_cipher_encrypt2(h, buf, 16384, buf, 16384);
                gnutls_cipher_tag(h, tag, 16);
            }
            n += 64;
        }
        printf("%-20s %6.2f GiB/s  gnutls_cipher_encrypt2 (piecewise)\n",
               gnutls_cipher_get_name(algs[i]),
               n * 16384.0 / GiB / ((g_get_monotonic_time() - t0) / 1e6));
        gnutls_cipher_deinit(h);
        {
            gnutls_aead_cipher_hd_t a;
            uint8_t *out = g_malloc(16384 + 16);
            size_t olen;

            if (gnutls_aead_cipher_init(&a, algs[i], &k) < 0) {
                g_free(out);
                continue;
            }
            n = 0;
            t0 = g_get_monotonic_time();
            while (g_get_monotonic_time() - t0 < 300000) {
                for (int j = 0; j < 64; j++) {
                    olen = 16384 + 16;
                    gnutls_aead_cipher_encrypt(a, iv, 12, tag, 5, 16, buf,
                                               16384, out, &olen);
                }
                n += 64;
            }
            printf("%-20s %6.2f GiB/s  gnutls_aead_cipher_encrypt "
                   "(one shot)\n",
                   gnutls_cipher_get_name(algs[i]),
                   n * 16384.0 / GiB / ((g_get_monotonic_time() - t0) / 1e6));
            gnutls_aead_cipher_deinit(a);
            g_free(out);
        }
    }
    g_free(buf);
}

int main(int argc, char **argv)
{
    double gib = 1;
    char **want = NULL;
    gboolean json = FALSE;
    gboolean ciphers = FALSE;
    GOptionEntry entries[] = {
        {"gib", 0, 0, G_OPTION_ARG_DOUBLE, &gib, "GiB per mode", "N"},
        {"mode", 0, 0, G_OPTION_ARG_STRING_ARRAY, &want,
         "plain|qemu|gather|gather-aes128|readahead|tern "
         "(repeatable; default all)",
         "M"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON output", NULL},
        {"ciphers", 0, 0, G_OPTION_ARG_NONE, &ciphers,
         "only compare the AEAD ciphers on one core", NULL},
        {NULL},
    };
    GOptionContext *octx = g_option_context_new("- TLS channel throughput");
    GError *gerr = NULL;
    TestTLSCA ca;
    char *dir;
    uint8_t *src, *dst;
    uint64_t pages;
    bool first = true;

    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
        g_printerr("%s\n", gerr->message);
        return 2;
    }
    g_option_context_free(octx);
    if (ciphers) {
        bench_ciphers();
        return 0;
    }
    pages = (uint64_t)(gib * GiB / 4096);

    crypto_register_types();
    test_tls_ca_init(&ca, "Bench CA");
    dir = test_tls_dir_new(&ca, NULL);
    src = g_malloc((size_t)BUF_PAGES * 4096);
    dst = g_malloc((size_t)BUF_PAGES * 4096);
    {
        uint64_t x = g_random_int() | 1; /* xorshift64: fast, random */

        for (size_t i = 0; i < (size_t)BUF_PAGES * 4096; i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(src + i, &x, 8);
        }
    }
    memset(dst, 0, (size_t)BUF_PAGES * 4096);

    if (json) {
        printf("{");
    }
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        char *cipher = NULL;
        double r, cw = 0, cr = 0, est;

        if (want &&
            !g_strv_contains((const char *const *)want, modes[i].name)) {
            continue;
        }
        r = bench_run(&modes[i], dir, pages, src, dst, &cipher, &cw, &cr);
        /* two threads on two idle cores: the busier one sets the pace */
        est = r > 0 ? 1.0 / MAX(cw, cr) : -1;
        if (json) {
            printf("%s\"%s\": {\"gibs\": %.3f, \"cpu_gibs\": %.3f, "
                   "\"writer_cpu_s_per_gib\": %.3f, "
                   "\"reader_cpu_s_per_gib\": %.3f}",
                   first ? "" : ", ", modes[i].name, r, est, cw, cr);
        } else {
            if (first) {
                printf("%-14s %-20s %8s %9s %9s %9s\n", "mode", "cipher",
                       "GiB/s", "cpu-GiB/s", "wr-s/GiB", "rd-s/GiB");
            }
            printf("%-14s %-20s %8.3f %9.3f %9.3f %9.3f\n", modes[i].name,
                   cipher, r, est, cw, cr);
        }
        fflush(stdout);
        first = false;
        g_free(cipher);
    }
    if (json) {
        printf("}\n");
    }

    test_tls_dir_remove(dir);
    g_free(dir);
    test_tls_ca_deinit(&ca);
    g_free(src);
    g_free(dst);
    g_strfreev(want);
    return 0;
}
