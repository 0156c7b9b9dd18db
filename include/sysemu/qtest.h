/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest.h: -qtest, a test-only way to read and write guest RAM without
 * a vCPU (system/qtest.c), a subset of QEMU's qtest protocol.
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Start serving the qtest protocol on spec: "unix:PATH" connects to a
 * listening socket at PATH (as QEMU does: the test harness listens),
 * "unix:PATH,server=on[,wait=off]" listens there and takes one client
 * (wait=on, the default, waits for it here).  Main thread, after the
 * machine's RAM exists; the protocol then runs on the main loop.
 * False with errp set on a bad spec or a socket error.
 */
bool qtest_init(const char *spec, Error **errp);

#endif /* SYSEMU_QTEST_H */
