/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-hmp-parse: HMP line splitting (quotes, escapes), command lookup
 * with aliases, QEMU's texts for unknown commands and bad arguments,
 * help output, and "\r\n" line ends of captured output.
 */
#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "../../monitor/monitor-internal.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"
#include <sys/socket.h>

static void check_split(const char *line, const char *const *expect)
{
    Error *err = NULL;
    int argc = -1;
    char **argv = hmp_split_line(line, &argc, &err);
    int n = 0;

    g_assert_null(err);
    g_assert_nonnull(argv);
    while (expect[n]) {
        g_assert_cmpint(n, <, argc);
        g_assert_cmpstr(argv[n], ==, expect[n]);
        n++;
    }
    g_assert_cmpint(argc, ==, n);
    g_assert_null(argv[argc]);
    g_strfreev(argv);
}

static void test_split(void)
{
    static const char *const e0[] = {NULL};
    static const char *const e1[] = {"migrate", "-d", "tcp:1.2.3.4:5", NULL};
    static const char *const e2[] = {"echo", "a b", "c", NULL};
    static const char *const e3[] = {"x", "it's", "q\"uote", NULL};
    static const char *const e4[] = {"x", "a\nb", "a b", "ab", NULL};
    static const char *const e5[] = {"x", "", NULL};

    check_split("", e0);
    check_split("   \t ", e0);
    check_split("  migrate  -d\ttcp:1.2.3.4:5  ", e1);
    check_split("echo \"a b\" c", e2);
    check_split("x \"it's\" 'q\"uote'", e3);
    check_split("x \"a\\nb\" a\\ b a\"b\"", e4);
    check_split("x \"\"", e5);
}

/* The command name ends at '/' (QEMU: "xp/4xw ADDR" == "xp /4xw ADDR"). */
static void test_split_slash(void)
{
    static const char *const e0[] = {"xp", "/4xw", "0x1000", NULL};
    static const char *const e1[] = {"xp", "/", "0x1000", NULL};
    static const char *const e2[] = {"", "/4xw", NULL};
    static const char *const e3[] = {"xp/4xw", "0", NULL};
    static const char *const e4[] = {"migrate", "unix:/tmp/a/b", NULL};

    check_split("xp/4xw 0x1000", e0);
    check_split("xp /4xw 0x1000", e0);
    check_split("  xp/4xw\t0x1000 ", e0);
    check_split("xp/ 0x1000", e1);
    check_split("/4xw", e2);
    check_split("\"xp/4xw\" 0", e3);
    check_split("migrate unix:/tmp/a/b", e4);
}

static void test_split_unterminated(void)
{
    Error *err = NULL;
    int argc;
    char **argv = hmp_split_line("echo \"abc", &argc, &err);

    g_assert_null(argv);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "unterminated string literal");
    error_free(err);
}

static char *last_args;

static void cmd_record(Monitor *mon, int argc, char **argv)
{
    g_free(last_args);
    last_args = g_strjoinv("|", argv);
    monitor_printf(mon, "got %d\nline2\n", argc);
}

static void info_thing(Monitor *mon)
{
    monitor_printf(mon, "thing: ok\n");
}

static void check_output(const char *line, const char *expect)
{
    char *out = hmp_run_command_line(line);

    g_assert_cmpstr(out, ==, expect);
    g_free(out);
}

static void test_unknown_command(void)
{
    check_output("foo", "unknown command: 'foo'\r\n");
    check_output("  foo bar", "unknown command: 'foo'\r\n");
    check_output("info nope", "unknown command: 'info nope'\r\n");
    check_output("help nope", "unknown command: 'nope'\r\n");
    check_output("", "");
}

static void test_dispatch_and_alias(void)
{
    check_output("record/4xw 0x10", "got 2\r\nline2\r\n");
    g_assert_cmpstr(last_args, ==, "/4xw|0x10");
    check_output("rec/x a", "got 2\r\nline2\r\n");
    g_assert_cmpstr(last_args, ==, "/x|a");
    check_output("/4xw", "unknown command: ''\r\n");
    check_output("nope/4xw 1", "unknown command: 'nope'\r\n");
    check_output("record a", "got 1\r\nline2\r\n");
    g_assert_cmpstr(last_args, ==, "a");
    check_output("rec -f \"x y\" z", "got 3\r\nline2\r\n");
    g_assert_cmpstr(last_args, ==, "-f|x y|z");
    check_output("info thing", "thing: ok\r\n");
}

static void test_bad_args(void)
{
    check_output("record", "record|rec: string expected\r\n"
                           "Try \"help record\" for more information\r\n");
    check_output("rec a b c",
                 "record|rec: extraneous characters at the end of line\r\n"
                 "Try \"help rec\" for more information\r\n");
    check_output("exact a",
                 "exact: extraneous characters at the end of "
                 "line\r\nTry \"help exact\" for more information\r\n");
    check_output("say \"open", "unterminated string literal\r\n");
}

static void test_help(void)
{
    check_output("help record",
                 "record|rec [-f] arg [opt] -- record arguments\r\n");
    check_output("help exact", "exact  -- no arguments\r\n");
    check_output("help info", "info thing  -- show a thing\r\n");
    check_output("info", "info thing  -- show a thing\r\n");
    check_output("help",
                 "exact  -- no arguments\r\n"
                 "record|rec [-f] arg [opt] -- record arguments\r\n"
                 "say text... -- say anything\r\n"
                 "slow  -- takes a while\r\n"
                 "info [subcommand] -- show various information about the "
                 "system state\r\n");
}

static void cmd_other(Monitor *mon, int argc, char **argv)
{
    monitor_printf(mon, "other\n");
}

/* "again|ag" registered later replaces both "again" and "ag". */
static void test_replace_overlapping(void)
{
    hmp_register_command("again", "again", "first", cmd_record);
    hmp_register_command("ag", "ag", "short", cmd_record);
    hmp_register_command("again|ag", "again", "second", cmd_other);
    check_output("again", "other\r\n");
    check_output("ag", "other\r\n");
    check_output("help ag", "again|ag  -- second\r\n");
}

/* "slow": suspend the monitor, print, resume 50 ms later. */
static gboolean slow_done(gpointer opaque)
{
    Monitor *mon = opaque;

    monitor_printf(mon, "slow done\n");
    monitor_resume(mon);
    monitor_unref(mon);
    return G_SOURCE_REMOVE;
}

static void cmd_slow(Monitor *mon, int argc, char **argv)
{
    if (monitor_suspend(mon) < 0) {
        monitor_printf(mon, "cannot suspend\n");
        return;
    }
    monitor_printf(mon, "slow started\n");
    g_timeout_add(50, slow_done, monitor_ref(mon));
}

/* Read from fd until text ends with suffix (main loop runs meanwhile). */
static void read_until(int fd, GString *acc, const char *suffix)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!g_str_has_suffix(acc->str, suffix)) {
        char buf[256];
        ssize_t n;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        main_loop_wait(10);
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            g_string_append_len(acc, buf, n);
        }
    }
}

static void test_suspend_resume(void)
{
    int sv[2];
    GString *out = g_string_new(NULL);
    const char *after_greeting;
    Monitor *mon;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==,
                    0);
    mon = monitor_new_socket(false, sv[0]);
    g_assert_nonnull(mon);
    read_until(sv[1], out, "(qemu) ");
    g_string_truncate(out, 0);

    /* Both lines in one write: the second waits for the resume. */
    g_assert_cmpint(send(sv[1], "slow\ninfo thing\n", 16, 0), ==, 16);
    read_until(sv[1], out, "slow started\r\n");
    g_assert_cmpstr(out->str, ==, "slow started\r\n");
    read_until(sv[1], out, "thing: ok\r\n(qemu) ");
    after_greeting = out->str;
    g_assert_cmpstr(after_greeting, ==,
                    "slow started\r\nslow done\r\n(qemu) "
                    "thing: ok\r\n(qemu) ");

    /* Over a capture monitor suspend is refused. */
    check_output("slow", "cannot suspend\r\n");
    close(sv[1]);
    for (int i = 0; i < 5; i++) {
        main_loop_wait(10);
    }
    g_string_free(out, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    hmp_register_command("record|rec", "record [-f] arg [opt]",
                         "record arguments", cmd_record);
    hmp_register_command("exact", "exact", "no arguments", cmd_record);
    hmp_register_command("say", "say text...", "say anything", cmd_record);
    hmp_register_command("slow", "slow", "takes a while", cmd_slow);
    hmp_register_info("thing", "show a thing", info_thing);
    bql_lock();
    main_loop_init();
    g_test_add_func("/hmp/split/words-quotes-escapes", test_split);
    g_test_add_func("/hmp/split/unterminated", test_split_unterminated);
    g_test_add_func("/hmp/split/command-name-slash", test_split_slash);
    g_test_add_func("/hmp/dispatch/unknown-command", test_unknown_command);
    g_test_add_func("/hmp/dispatch/alias-and-info", test_dispatch_and_alias);
    g_test_add_func("/hmp/dispatch/bad-args", test_bad_args);
    g_test_add_func("/hmp/help", test_help);
    g_test_add_func("/hmp/monitor/suspend-resume", test_suspend_resume);
    g_test_add_func("/hmp/register/replace-overlapping",
                    test_replace_overlapping);
    return g_test_run();
}
