#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-transports: a live stress guest migrates over every
transport and the destination's guest verifies every page afterwards.

For each of tcp, unix, exec (through a FIFO), fd (socketpair halves passed
to both sides with getfd over QMP, SCM_RIGHTS) and file (save, then
restore with -incoming file:PATH,offset=N): the source runs the stress
workload, migrates, ends in postmigrate; the destination's guest re-reads
every page the source wrote ("stress: resume verified N pages", N = all
data pages), goes on printing "stress: ok" lines, and never reports a
MISMATCH.  Accelerator: soft by default; TERN_TEST_ACCEL=kvm (see
test-migration-kvm.py) reuses the same checks.
"""
import os
import re
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, have_kvm, MigrationPair, skip,  # noqa
                     skip_unless_built, start_migration, stress_args, Vm,
                     wait_migration)

ACCEL = os.environ.get('TERN_TEST_ACCEL', 'soft')
APPEND = 'mem=16M-48M rate=16 pattern=random report_ms=250'
# The soft vCPU has written every page once by pass 1; a KVM guest may be
# slow under nested virtualisation: any progress line will do there.
FIRST_OK = 'stress: ok pass=1' if ACCEL == 'soft' else 'stress: ok'


def vm_args(extra=()):
    return stress_args(ACCEL, APPEND, '64M', extra)


def check_destination(src, dst, what):
    src_out = src.serial()
    m = re.search(r'pages=(\d+)', src_out)
    out = dst.wait_serial('stress: ok pass=', 30,
                          max(0, dst.serial().find('stress: resume')))
    if ACCEL == 'soft':
        m2 = re.search(r'stress: resume verified (\d+) pages', out)
        check(m2, f'{what}: no resume line:\n{out}')
        if m:
            check(int(m2.group(1)) == int(m.group(1)),
                  f'{what}: verified {m2.group(1)} of {m.group(1)} pages')
    # A second progress line proves the guest keeps running and checking.
    n = out.count('stress: ok')
    deadline = time.time() + 10
    while dst.serial().count('stress: ok') < n + 2:
        check(time.time() < deadline, f'{what}: guest stalled')
        time.sleep(0.1)
    check(dst.cmd('query-status')['status'] == 'running',
          f'{what}: destination not running')
    check(dst.cmd('query-migrate').get('status') == 'completed',
          f'{what}: destination status')
    out = dst.serial()
    check('MISMATCH' not in out, f'{what}: {out}')
    check('MISMATCH' not in src_out, f'{what}: {src_out}')


def migrate_live(what, uri=None, listen=None, defer=False, before=None):
    with MigrationPair(vm_args(), uri=uri, listen=listen,
                       defer=defer) as pair:
        src, dst = pair
        src.wait_serial(FIRST_OK, 30)
        if before:
            before(src, dst)
        check(dst.cmd('query-status')['status'] == 'inmigrate',
              f'{what}: destination not inmigrate')
        t0 = time.time()
        info = pair.migrate(40, params={'max-bandwidth': 1 << 30})
        check(src.cmd('query-status')['status'] == 'postmigrate',
              f'{what}: source not postmigrate')
        check_destination(src, dst, what)
        print(f'{what}: {time.time() - t0:.1f}s, downtime '
              f'{info.get("downtime")} ms, '
              f'{info["ram"]["transferred"] >> 20} MiB')


def test_tcp():
    migrate_live('tcp')


def test_unix(tmp):
    path = os.path.join(tmp, 'mig.sock')
    migrate_live('unix', f'unix:{path}')


def test_exec(tmp):
    fifo = os.path.join(tmp, 'mig.fifo')
    os.mkfifo(fifo)
    migrate_live('exec', f'exec:cat > {fifo}', f'exec:cat {fifo}')


def test_fd():
    a, b = socket.socketpair()

    def before(src, dst):
        dst.qmp.getfd(b.fileno(), 'migin')
        src.qmp.getfd(a.fileno(), 'migout')
        a.close()
        b.close()

    # the destination listens (migrate-incoming) when the pair migrates
    migrate_live('fd', 'fd:migout', 'fd:migin', defer=True, before=before)


def test_file(tmp):
    path = os.path.join(tmp, 'saved.mig')
    with Vm(vm_args(), name='src') as src:
        src.wait_serial(FIRST_OK, 30)
        start_migration(src, f'file:{path},offset=4096',
                        params={'max-bandwidth': 1 << 30})
        wait_migration(src, 40)
        check(src.cmd('query-status')['status'] == 'postmigrate',
              'file: source not postmigrate')
        with open(path, 'rb') as f:
            f.seek(4096)
            check(f.read(8) == b'QEVM\0\0\0\3', 'file: no stream at offset')
        with Vm(vm_args(['-incoming', f'file:{path},offset=4k']),
                name='dst') as dst:
            check_destination(src, dst, 'file')
    print('file: saved and restored')


def main():
    skip_unless_built(guest=True)
    if ACCEL == 'kvm' and not have_kvm():
        skip('/dev/kvm cannot be opened')
    only = sys.argv[1:] or ['tcp', 'unix', 'exec', 'fd', 'file']
    with tempfile.TemporaryDirectory(prefix='tern-mig-') as tmp:
        for name in only:
            fn = globals()[f'test_{name}']
            if fn.__code__.co_argcount:
                fn(tmp)
            else:
                fn()
    return 0


if __name__ == '__main__':
    sys.exit(main())
