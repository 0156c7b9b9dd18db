#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-qtest: Tern's -qtest protocol subset (system/qtest.c) on a
RAM-only machine.

Client mode (tern connects to the test's socket, as QEMU's libqtest
expects) and server=on mode; the replies of QEMU's qtest for writeX /
readX ("OK 0x%016x", little-endian), read ("OK 0x<hex>"), write (missing
digits are zeros), memset; FAIL for an unknown command, a bad argument,
an address outside RAM; and the written bytes are guest RAM (read back
with HMP xp) and reach the destination when written after every page was sent
(paused before the switchover: only the dirty log can resend them).
"""
import os
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, MigrationPair, skip_unless_built,  # noqa: E402
                     Vm, wait_migration)
from tern.migration import wait_incoming  # noqa: E402
from tern.qtest import QTestError, QTestListener  # noqa: E402

ARGS = ['-M', 'none', '-m', '16M']


def expect_fail(qt, line, want):
    try:
        qt.cmd(line)
    except QTestError as e:
        check(want in str(e), f'{line}: {e}')
        return
    raise AssertionError(f'{line}: no FAIL')


def test_protocol(tmp):
    qt = QTestListener(tmp, 'client')
    with Vm(ARGS + qt.args(), name='qt', serial=False, tmpdir=tmp) as vm:
        qt.accept()
        check(qt.cmd('writeq 0x1000 0x1122334455667788') == '', 'writeq')
        check(qt.cmd('readq 0x1000') == '0x1122334455667788', 'readq')
        check(qt.cmd('readb 0x1000') == '0x0000000000000088', 'readb')
        check(qt.cmd('readw 0x1006') == '0x0000000000001122', 'readw')
        check(qt.cmd('readl 0x1002') == '0x0000000033445566', 'readl')
        qt.cmd('writeb 0x2000 0xab')
        qt.cmd('writew 0x2002 0x1234')
        qt.cmd('writel 0x2004 0xdeadbeef')
        check(qt.cmd('read 0x2000 8') == '0xab003412efbeadde', 'read')
        qt.cmd('write 0x3000 4 0xc0ff')  # two bytes given, two zeros
        check(qt.read(0x3000, 4) == b'\xc0\xff\x00\x00', 'write padding')
        qt.cmd('memset 0x3000 3 0x7e')
        check(qt.read(0x3000, 4) == b'\x7e\x7e\x7e\x00', 'memset')
        out = vm.hmp('xp /2xb 0x3000')
        check('0x7e 0x7e' in out, f'xp: {out}')
        expect_fail(qt, 'clock_step 10', "FAIL Unknown command 'clock_step'")
        expect_fail(qt, 'readq 0x1000000', 'FAIL address not in RAM')
        expect_fail(qt, 'readq', 'FAIL bad arguments')
        expect_fail(qt, 'writeb 0x10 zz', 'FAIL bad arguments')
        expect_fail(qt, 'write 0x10 2 0xzz', 'FAIL bad hex data')
        qt.close()
    print('protocol: ok')


def test_server(tmp):
    path = os.path.join(tmp, 'srv.sock')
    with Vm(ARGS + ['-qtest', f'unix:{path},server=on,wait=off'],
            name='srv', serial=False, tmpdir=tmp):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(b'writel 0x40 0x1\nreadl 0x40\n')
        f = s.makefile('rb')
        check(f.readline() == b'OK\n', 'server writel')
        check(f.readline() == b'OK 0x0000000000000001\n', 'server readl')
        s.close()
    print('server=on: ok')


def test_migration(tmp):
    """Bytes written after their pages were sent arrive."""
    qs = QTestListener(tmp, 'msrc')
    qd = QTestListener(tmp, 'mdst')
    with MigrationPair(ARGS + qs.args(), ARGS + qd.args()) as pair:
        src, dst = pair
        qs.accept()
        qd.accept()
        pair.start(caps=['pause-before-switchover'])
        # every page went out already; only the dirty log can resend them
        wait_migration(src, 30, want=('pre-switchover',))
        for i in range(64):
            qs.writeq(0x100000 + i * 4096 + 8 * i, 0x5a5a000000000000 + i)
        src.cmd('migrate-continue', state='pre-switchover')
        wait_migration(src, 30)
        wait_incoming(dst, 30)
        for i in range(64):
            got = qd.readq(0x100000 + i * 4096 + 8 * i)
            check(got == 0x5a5a000000000000 + i, f'page {i}: {got:#x}')
        qs.close()
        qd.close()
    print('migration: 64 pages written through -qtest arrived')


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-qtest-') as tmp:
        test_protocol(tmp)
        test_server(tmp)
        test_migration(tmp)


if __name__ == '__main__':
    main()
