/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * error-report.c: user-facing messages on stderr.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"

static const char *progname = "tern";
/* -msg timestamp=on; set once at start-up. */
static bool msg_timestamp;

void error_report_set_timestamp(bool on)
{
    msg_timestamp = on;
}

void error_set_progname(const char *name)
{
    const char *slash = strrchr(name, '/');

    progname = slash ? slash + 1 : name;
}

const char *error_get_progname(void)
{
    return progname;
}

static void vreport(const char *kind, const char *fmt, va_list ap)
{
    GString *line = g_string_new(NULL);

    if (msg_timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

        g_string_append_printf(line, "%s.%06dZ ", ts,
                               g_date_time_get_microsecond(now));
    }
    g_string_append_printf(line, "%s: %s", progname, kind);
    g_string_append_vprintf(line, fmt, ap);
    g_string_append_c(line, '\n');
    /* One write so lines from several threads do not interleave. */
    fputs(line->str, stderr);
    fflush(stderr);
    g_string_free(line, TRUE);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("info: ", fmt, ap);
    va_end(ap);
}
