/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * version.h: Tern's version, as QMP query-version and the greeting
 * report it (in QEMU's "qemu" version object) and as -version prints it.
 */
#ifndef QAPI_VERSION_H
#define QAPI_VERSION_H

#define TERN_VERSION_MAJOR 0
#define TERN_VERSION_MINOR 1
#define TERN_VERSION_MICRO 0
#define TERN_VERSION "0.1.0"
#define TERN_PKGVERSION "tern"
/* The QEMU release whose migration stream and monitor Tern speaks. */
#define TERN_QEMU_COMPAT_VERSION "7.2"

#endif /* QAPI_VERSION_H */
