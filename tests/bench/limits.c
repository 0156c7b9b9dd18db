/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * limits.c: what this machine can do at most, printed as JSON, so the
 * benchmark tables can show how close each system gets:
 *   memcpy_gibs   one core copying 256 MiB buffers
 *   tcp_gibs      one loopback TCP stream (writer thread -> reader)
 *   aesgcm_gibs   GnuTLS AES-128-GCM encryption on one core
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define BUF_SIZE (256 * MiB)
#define CHUNK (1 * MiB)

static double now_s(void)
{
    return g_get_monotonic_time() / 1e6;
}

static double measure_memcpy(void)
{
    uint8_t *a = g_malloc(BUF_SIZE), *b = g_malloc(BUF_SIZE);
    double t0, t;
    int i, reps = 8;

    memset(a, 0x5a, BUF_SIZE);
    memset(b, 0, BUF_SIZE);
    t0 = now_s();
    for (i = 0; i < reps; i++) {
        memcpy(i & 1 ? a : b, i & 1 ? b : a, BUF_SIZE);
    }
    t = now_s() - t0;
    g_free(a);
    g_free(b);
    return (double)reps * BUF_SIZE / GiB / t;
}

typedef struct {
    int fd;
    uint64_t total;
} WriterArgs;

static gpointer tcp_writer(gpointer opaque)
{
    WriterArgs *w = opaque;
    uint8_t *buf = g_malloc0(CHUNK);
    uint64_t sent = 0;

    while (sent < w->total) {
        ssize_t n = send(w->fd, buf, CHUNK, MSG_NOSIGNAL);
        if (n <= 0) {
            break;
        }
        sent += n;
    }
    close(w->fd);
    g_free(buf);
    return NULL;
}

static double measure_tcp(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int lfd, cfd, sfd, one = 1;
    WriterArgs w = {.total = 4 * GiB};
    uint8_t *buf = g_malloc(CHUNK);
    uint64_t got = 0;
    GThread *th;
    double t0, t;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
        return 0;
    }
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        return 0;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sfd = accept(lfd, NULL, NULL);
    w.fd = cfd;
    t0 = now_s();
    th = g_thread_new("writer", tcp_writer, &w);
    for (;;) {
        ssize_t n = recv(sfd, buf, CHUNK, 0);
        if (n <= 0) {
            break;
        }
        got += n;
    }
    t = now_s() - t0;
    g_thread_join(th);
    close(sfd);
    close(lfd);
    g_free(buf);
    return got / (double)GiB / t;
}

static double measure_aesgcm(void)
{
    gnutls_aead_cipher_hd_t h;
    uint8_t keybuf[16] = {1}, nonce[12] = {0};
    gnutls_datum_t key = {keybuf, sizeof(keybuf)};
    size_t rec = 16 * KiB, outlen;
    uint8_t *in = g_malloc0(rec), *out = g_malloc(rec + 16);
    uint64_t done = 0;
    double t0, t;

    if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &key) < 0) {
        return 0;
    }
    t0 = now_s();
    while (done < 2 * GiB) {
        outlen = rec + 16;
        nonce[0]++;
        gnutls_aead_cipher_encrypt(h, nonce, sizeof(nonce), NULL, 0, 16, in,
                                   rec, out, &outlen);
        done += rec;
    }
    t = now_s() - t0;
    gnutls_aead_cipher_deinit(h);
    g_free(in);
    g_free(out);
    return done / (double)GiB / t;
}

int main(int argc, char **argv)
{
    printf("{\"memcpy_gibs\": %.2f, \"tcp_gibs\": %.2f, "
           "\"aesgcm_gibs\": %.2f}\n",
           measure_memcpy(), measure_tcp(), measure_aesgcm());
    return 0;
}
