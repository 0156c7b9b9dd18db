/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * init.h: start-up of the crypto subsystem.
 */
#ifndef CRYPTO_INIT_H
#define CRYPTO_INIT_H

#include "qemu/osdep.h"

/*
 * Register the user-creatable object types of the crypto subsystem
 * (tls-creds-x509, tls-creds-psk, tls-creds-anon, authz-simple,
 * authz-list).  Call once at start-up, before any -object is created;
 * calling it again does nothing.
 */
void crypto_register_types(void);

#endif /* CRYPTO_INIT_H */
