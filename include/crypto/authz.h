/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authz.h: authorization objects, deciding whether an identity (an x509
 * distinguished name, a PSK username) may connect.
 *
 *   authz-simple,id=ID,identity=NAME
 *     allows exactly NAME.
 *   authz-list,id=ID[,policy=allow|deny]
 *       [,rules.N.match=PATTERN,rules.N.policy=allow|deny
 *        [,rules.N.format=exact|glob]]...
 *     the first rule (in increasing N) whose match equals the identity
 *     (exact) or matches it as an fnmatch(3) pattern (glob) decides;
 *     otherwise policy (default deny).  N runs from 0 without gaps.
 *
 * On the command line a comma inside a value is doubled:
 *   identity=C=GB,,O=Wire Test,,CN=migration-client
 * Main thread for creation/deletion; checks may run on any thread while
 * the caller holds a reference.
 */
#ifndef CRYPTO_AUTHZ_H
#define CRYPTO_AUTHZ_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/object.h"

#define TYPE_QAUTHZ_SIMPLE "authz-simple"
#define TYPE_QAUTHZ_LIST "authz-list"

/* Most rules an authz-list object accepts (rules.0 .. rules.N-1). */
#define QAUTHZ_LIST_MAX_RULES 64

typedef struct QAuthZ QAuthZ;

/*
 * Whether identity is allowed by authz.  Returns true if allowed, false
 * if denied (errp untouched: denial is not an error of the check).
 */
bool qauthz_is_allowed(QAuthZ *authz, const char *identity);

/*
 * Find the authz object authzid and ask it about identity.  Returns 1 if
 * allowed, 0 if denied (errp untouched: the caller words the denial), -1
 * with errp set if the object is missing ("Cannot find QAuthZ object ID
 * ID") or is not an authz object ("Object 'ID' is not a QAuthZ subclass").
 */
int qauthz_is_allowed_by_id(const char *authzid, const char *identity,
                            Error **errp);

#endif /* CRYPTO_AUTHZ_H */
