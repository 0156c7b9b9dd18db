# SPDX-License-Identifier: GPL-2.0-or-later
"""Throw-away TLS credentials made by tests/tls-certs.sh (certtool from
gnutls-bin), the one place the project makes certificates."""
import os
import subprocess

from .vm import source_dir


class CerttoolMissing(RuntimeError):
    """certtool (gnutls-bin) is not installed."""


def make_certs(outdir):
    """Run tests/tls-certs.sh into outdir; return outdir.

    outdir/x509 holds ca-cert.pem and server and client certificates
    and keys (server: localhost, 127.0.0.1) for tls-creds-x509 dir=;
    outdir/x509-other the same from another CA; outdir/psk and
    outdir/psk-other a keys.psk each (user qemu).  Raises
    CerttoolMissing without certtool, CalledProcessError on failure.
    """
    script = os.path.join(source_dir(), 'tests', 'tls-certs.sh')
    r = subprocess.run(['sh', script, outdir], capture_output=True,
                       text=True)
    if r.returncode == 77:
        raise CerttoolMissing('certtool (gnutls-bin) is not installed')
    if r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout,
                                            r.stderr)
    return outdir


def make_x509(outdir):
    """make_certs(outdir); return the x509 directory (for dir=)."""
    return os.path.join(make_certs(outdir), 'x509')
