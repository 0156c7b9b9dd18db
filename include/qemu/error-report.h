/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * error-report.h: messages for users on stderr, prefixed with the program
 * name ("tern: ...").  For developers' diagnostics use trace points.
 */
#ifndef QEMU_ERROR_REPORT_H
#define QEMU_ERROR_REPORT_H

#include "qemu/osdep.h"

/* Set the prefix printed before every message (default "tern"). */
void error_set_progname(const char *name);
const char *error_get_progname(void);

/*
 * -msg timestamp=on: start every message with the UTC time as QEMU does
 * ("2026-01-02T03:04:05.678901Z tern: ...").  Start-up, main thread.
 */
void error_report_set_timestamp(bool on);

/* "<prog>: <msg>\n" on stderr. */
void error_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
/* "<prog>: warning: <msg>\n" on stderr. */
void warn_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
/* "<prog>: info: <msg>\n" on stderr. */
void info_report(const char *fmt, ...) QEMU_PRINTF(1, 2);

#endif /* QEMU_ERROR_REPORT_H */
