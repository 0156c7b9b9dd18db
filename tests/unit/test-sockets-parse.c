/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-sockets-parse.c: socket_parse accepts QEMU's address spellings and
 * rejects bad ones with QEMU 7.2's error texts; printing and dup.
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"

static void test_parse_inet_host_port(void)
{
    g_autoptr(SocketAddress) a = socket_parse("localhost:4444", &error_abort);
    g_autofree char *s = NULL;
    g_autofree char *uri = NULL;

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(a->host, ==, "localhost");
    g_assert_cmpstr(a->port, ==, "4444");
    g_assert_false(a->ipv4_only);
    g_assert_false(a->ipv6_only);
    s = socket_address_to_string(a);
    uri = socket_address_to_uri(a);
    g_assert_cmpstr(s, ==, "localhost:4444");
    g_assert_cmpstr(uri, ==, "tcp:localhost:4444");
}

static void test_parse_tcp_prefix_and_empty_host(void)
{
    g_autoptr(SocketAddress) a = socket_parse("tcp:127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) b = socket_parse("tcp::4444", &error_abort);

    g_assert_cmpstr(a->host, ==, "127.0.0.1");
    g_assert_cmpstr(a->port, ==, "0");
    g_assert_cmpstr(b->host, ==, "");
    g_assert_cmpstr(b->port, ==, "4444");
}

static void test_parse_ipv6_brackets(void)
{
    g_autoptr(SocketAddress) a = socket_parse("[::1]:4444", &error_abort);
    g_autofree char *s = socket_address_to_string(a);
    g_autofree char *uri = socket_address_to_uri(a);

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(a->host, ==, "::1");
    g_assert_cmpstr(a->port, ==, "4444");
    g_assert_cmpstr(s, ==, "[::1]:4444");
    g_assert_cmpstr(uri, ==, "tcp:[::1]:4444");
}

static void test_parse_inet_flags(void)
{
    g_autoptr(SocketAddress) a =
        socket_parse("tcp:0.0.0.0:1,ipv4=on", &error_abort);
    g_autoptr(SocketAddress) b = socket_parse("[::]:1,ipv6,to=5", &error_abort);
    g_autoptr(SocketAddress) c = socket_parse("h:1,ipv4=off", &error_abort);

    g_assert_true(a->ipv4_only);
    g_assert_cmpstr(a->port, ==, "1");
    g_assert_true(b->ipv6_only);
    g_assert_cmpstr(b->port, ==, "1");
    g_assert_false(c->ipv4_only);
}

static void test_parse_unix_path(void)
{
    g_autoptr(SocketAddress) a =
        socket_parse("unix:/tmp/mig.sock", &error_abort);
    g_autofree char *s = socket_address_to_string(a);
    g_autofree char *uri = socket_address_to_uri(a);

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(a->path, ==, "/tmp/mig.sock");
    g_assert_cmpstr(s, ==, "/tmp/mig.sock");
    g_assert_cmpstr(uri, ==, "unix:/tmp/mig.sock");
}

static void test_parse_fd_name(void)
{
    g_autoptr(SocketAddress) a = socket_parse("fd:migfd", &error_abort);
    g_autoptr(SocketAddress) b = socket_parse("fd:7", &error_abort);
    g_autofree char *uri = socket_address_to_uri(a);

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_FD);
    g_assert_cmpstr(a->fd_name, ==, "migfd");
    g_assert_cmpstr(b->fd_name, ==, "7");
    g_assert_cmpstr(uri, ==, "fd:migfd");
}

static void test_parse_vsock(void)
{
    g_autoptr(SocketAddress) a = socket_parse("vsock:3:1234", &error_abort);
    g_autofree char *uri = socket_address_to_uri(a);

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_VSOCK);
    g_assert_cmpstr(a->cid, ==, "3");
    g_assert_cmpstr(a->port, ==, "1234");
    g_assert_cmpstr(uri, ==, "vsock:3:1234");
}

static void test_parse_errors_use_qemu_text(void)
{
    static const struct {
        const char *in;
        const char *msg;
    } cases[] = {
        {"localhost", "error parsing address 'localhost'"},
        {"tcp:localhost:", "error parsing address 'localhost:'"},
        {"tcp:", "error parsing address ''"},
        {"tcp::", "error parsing port in address ':'"},
        {"tcp:[::1", "error parsing IPv6 address '[::1'"},
        {"[::1]", "error parsing IPv6 address '[::1]'"},
        {"[]:1", "error parsing IPv6 address '[]:1'"},
        {"[::1]:", "error parsing IPv6 address '[::1]:'"},
        {"h:1,ipv4=x", "error parsing 'ipv4' flag '=x'"},
        {"unix:", "invalid Unix socket address"},
        {"fd:", "Invalid file descriptor number ''"},
        {"vsock:3", "error parsing address '3'"},
        {"vsock:1:", "error parsing address '1:'"},
        {"vsock:x:1", "Failed to parse cid 'x'"},
        {"vsock:1:y", "Failed to parse port 'y'"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        Error *err = NULL;

        g_assert_null(socket_parse(cases[i].in, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        error_free(err);
    }
}

static void test_address_dup_is_deep(void)
{
    SocketAddress *a = socket_parse("[fe80::1]:99,ipv6=on", &error_abort);
    SocketAddress *b = socket_address_dup(a);

    socket_address_free(a);
    g_assert_cmpstr(b->host, ==, "fe80::1");
    g_assert_cmpstr(b->port, ==, "99");
    g_assert_true(b->ipv6_only);
    socket_address_free(b);
    socket_address_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sockets/parse/inet-host-port", test_parse_inet_host_port);
    g_test_add_func("/sockets/parse/tcp-prefix-and-empty-host",
                    test_parse_tcp_prefix_and_empty_host);
    g_test_add_func("/sockets/parse/ipv6-brackets", test_parse_ipv6_brackets);
    g_test_add_func("/sockets/parse/inet-flags", test_parse_inet_flags);
    g_test_add_func("/sockets/parse/unix-path", test_parse_unix_path);
    g_test_add_func("/sockets/parse/fd-name", test_parse_fd_name);
    g_test_add_func("/sockets/parse/vsock", test_parse_vsock);
    g_test_add_func("/sockets/parse/errors-use-qemu-text",
                    test_parse_errors_use_qemu_text);
    g_test_add_func("/sockets/dup-is-deep", test_address_dup_is_deep);
    return g_test_run();
}
