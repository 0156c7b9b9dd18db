#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tls-certs.sh: throw-away TLS credentials for two-process tests, made with
# certtool (gnutls-bin) at run time; no key is ever committed.
#
#   tests/tls-certs.sh OUTDIR
#
# OUTDIR/x509/      ca-cert.pem, server-cert.pem, server-key.pem,
#                   client-cert.pem, client-key.pem, keys.psk
#                   (server: CN/DNS localhost + IP 127.0.0.1;
#                    client: C=GB,O=Wire Test,CN=migration-client)
# OUTDIR/x509-other/ the same names from another CA (a "wrong CA" set)
# OUTDIR/psk/       keys.psk with user qemu
# OUTDIR/psk-other/ keys.psk with user qemu and another key
# Keys are ECDSA P-256: generated in milliseconds.
set -e
OUT=${1:?usage: tls-certs.sh OUTDIR}
command -v certtool >/dev/null 2>&1 || { echo "certtool not found" >&2; exit 77; }

hexkey() {
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

keygen() {
    certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
        --outfile "$1" >/dev/null 2>&1
}

# make_set DIR CA_NAME
make_set() {
    d=$1
    w=$d/.work
    mkdir -p "$d" "$w"
    keygen "$w/ca-key.pem"
    printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 30\n' "$2" \
        > "$w/ca.info"
    certtool --generate-self-signed --load-privkey "$w/ca-key.pem" \
        --template "$w/ca.info" --outfile "$d/ca-cert.pem" >/dev/null 2>&1

    keygen "$d/server-key.pem"
    printf '%s\n' 'organization = Wire Test' 'cn = localhost' \
        'dns_name = localhost' 'ip_address = 127.0.0.1' 'tls_www_server' \
        'signing_key' 'encryption_key' 'expiration_days = 30' \
        > "$w/server.info"
    certtool --generate-certificate --load-privkey "$d/server-key.pem" \
        --load-ca-certificate "$d/ca-cert.pem" \
        --load-ca-privkey "$w/ca-key.pem" --template "$w/server.info" \
        --outfile "$d/server-cert.pem" >/dev/null 2>&1

    keygen "$d/client-key.pem"
    printf '%s\n' 'country = GB' 'organization = Wire Test' \
        'cn = migration-client' 'tls_www_client' 'signing_key' \
        'encryption_key' 'expiration_days = 30' > "$w/client.info"
    certtool --generate-certificate --load-privkey "$d/client-key.pem" \
        --load-ca-certificate "$d/ca-cert.pem" \
        --load-ca-privkey "$w/ca-key.pem" --template "$w/client.info" \
        --outfile "$d/client-cert.pem" >/dev/null 2>&1
    printf 'qemu:%s\n' "$(hexkey)" > "$d/keys.psk"
    rm -rf "$w"
}

make_set "$OUT/x509" "Tern Test CA"
make_set "$OUT/x509-other" "Other Test CA"
mkdir -p "$OUT/psk" "$OUT/psk-other"
printf 'qemu:%s\n' "$(hexkey)" > "$OUT/psk/keys.psk"
printf 'qemu:%s\n' "$(hexkey)" > "$OUT/psk-other/keys.psk"
