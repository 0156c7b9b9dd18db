/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * init.c: start-up of the crypto subsystem.
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include "crypto/init.h"
#include "crypto/secret.h"
#include "tlscredspriv.h"

void crypto_register_types(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    qcrypto_tls_creds_register_types();
    qauthz_register_types();
    qcrypto_secret_register_types();
}
