#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-postcopy-input: a destination fed bad postcopy commands.

Each stream (header, configuration, then COMMAND records) goes to a
`-M none` destination with a 16 MiB memory-backend-ram block `mem`
through exec:cat, with or without postcopy-ram set; the destination
must exit 1 with QEMU 7.2's text for the case (wrong advise length,
page sizes that differ, a discard outside the block, of an unknown
block, with a bad version or missing NUL, commands in the wrong
postcopy state, LISTEN with no return path), never crash or hang.
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import check, skip_unless_built, Vm  # noqa: E402

MACHINE = ['-M', 'none,memory-backend=mem', '-m', '16M', '-object',
           'memory-backend-ram,id=mem,size=16M']
HDR = b'QEVM\0\0\0\3' + b'\x07' + struct.pack('>I', 4) + b'none'


def cmd(n, data=b''):
    return b'\x08' + struct.pack('>HH', n, len(data)) + data


def advise(summary=0x1000, tps=0x1000):
    return cmd(3, struct.pack('>QQ', summary, tps))


def discard(name=b'mem', ranges=((0, 0x1000),), version=0, nil=0):
    data = bytes([version, len(name)]) + name + bytes([nil])
    for start, length in ranges:
        data += struct.pack('>QQ', start, length)
    return cmd(6, data)


LISTEN, RUN = cmd(4), cmd(5)

CASES = [
    # (what, postcopy-ram on the destination, stream, expected text)
    ('advise, capability off', False, advise(),
     'RAM postcopy is disabled but have 16 byte advise'),
    ('empty advise, capability on', True, cmd(3),
     'RAM postcopy is enabled but have 0 byte advise'),
    ('advise of 8 bytes', True, cmd(3, bytes(8)),
     'CMD_POSTCOPY_ADVISE invalid length (8)'),
    ('huge pages on the source', True, advise(summary=0x201000),
     'Postcopy needs matching RAM page sizes (s=201000 d=1000)'),
    ('other target page size', True, advise(tps=0x2000),
     'Postcopy needs matching target page sizes (s=8192 d=4096)'),
    ('advise twice', True, advise() + advise(),
     'CMD_POSTCOPY_ADVISE in wrong postcopy state (1)'),
    ('discard before advise', True, discard(),
     'CMD_POSTCOPY_RAM_DISCARD in wrong postcopy state (0)'),
    ('discard past the block', True,
     advise() + discard(ranges=((0xfff000, 0x2000),)),
     "ram_discard_range: Overrun block 'mem'"),
    ('discard of an unknown block', True, advise() + discard(b'nope'),
     "ram_discard_range: Failed to find block 'nope'"),
    ('discard version 1', True, advise() + discard(version=1),
     'CMD_POSTCOPY_RAM_DISCARD invalid version (1)'),
    ('discard without NUL', True, advise() + discard(nil=0x41),
     'CMD_POSTCOPY_RAM_DISCARD missing nil (65)'),
    ('discard with a torn range', True,
     advise() + cmd(6, discard()[5:-1]),
     'CMD_POSTCOPY_RAM_DISCARD invalid length'),
    ('discard unaligned', True, advise() + discard(ranges=((0x10, 0x1000),)),
     'Unaligned start address'),
    ('discard of an odd length', True,
     advise() + discard(ranges=((0, 0x1001),)), 'Unaligned length: 1001'),
    ('run before listen', True, advise() + RUN,
     'CMD_POSTCOPY_RUN in wrong postcopy state (1)'),
    ('listen without advise', True, LISTEN,
     'CMD_POSTCOPY_LISTEN in wrong postcopy state (0)'),
    ('listen on a one-way channel', True, advise() + LISTEN,
     'Postcopy needs a return path to request pages'),
]


def run_case(tmp, what, cap, stream, expect):
    path = os.path.join(tmp, 'in.mig')
    with open(path, 'wb') as f:
        f.write(HDR + stream)
    with Vm(MACHINE + ['-incoming', 'defer'], name='dst',
            serial=False) as dst:
        if cap:
            dst.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'postcopy-ram', 'state': True}])
        dst.cmd('migrate-incoming', uri=f'exec:cat {path}')
        try:
            rc = dst.wait_exit(20)
        except Exception:
            raise AssertionError(f'{what}: destination did not exit')
        err = dst.stderr()
    check(rc == 1, f'{what}: exit status {rc}:\n{err}')
    check(expect in err, f'{what}: {expect!r} not in:\n{err}')
    for mark in ('Sanitizer', 'runtime error:', 'Assertion', 'Aborted'):
        check(mark not in err, f'{what}: {mark} in:\n{err}')
    print(f'{what}: {err.strip().splitlines()[0]}')


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-pc-input-') as tmp:
        for case in CASES:
            run_case(tmp, *case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
