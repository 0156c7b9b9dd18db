# SPDX-License-Identifier: GPL-2.0-or-later
"""tern: Python helpers shared by the tests, the bench, the demo and
scripts/tern-migrate (stdlib only).

    tern.qmp        QMP client (unix or tcp address)
    tern.vm         a Tern or QEMU process with QMP and a serial log
    tern.migration  set up, start and wait for a migration; a
                    source/destination pair
    tern.tlscerts   throw-away TLS credentials (tests/tls-certs.sh)
    tern.ramfile    known RAM contents for interop tests

Callers put this folder (python/ in the source tree) on sys.path.
"""
