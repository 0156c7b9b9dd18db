/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * version.h: Tern's version, as -version prints it and QMP reports it in
 * "package", and the QEMU version whose protocols Tern speaks.
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
/*
 * query-version and the QMP greeting report that QEMU release as
 * "qemu" (management tools such as libvirt gate features on it) and
 * Tern's own version in "package".
 */
#define TERN_QEMU_COMPAT_MAJOR 7
#define TERN_QEMU_COMPAT_MINOR 2
#define TERN_QEMU_COMPAT_MICRO 0

#endif /* QAPI_VERSION_H */
