#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-compress: the compress capability between QEMU 7.2 and
Tern, RAM compared byte for byte.

  1. QEMU 7.2 -> Tern: a -M none QEMU whose 64 MiB of RAM is a shared
     memory-backend-file (random, repeated-byte, text and zero pages)
     migrates with compress on both sides into Tern (decompress-threads
     3); QEMU reports every non-zero page as compressed (no "normal"
     page), and Tern's RAM file equals QEMU's.
  2. Tern -> QEMU 7.2: the same file from Tern (compress-threads 3,
     level 6) into QEMU; every non-zero page goes compressed, zero pages
     as ZERO records, QEMU's RAM equals Tern's, and Tern's query-migrate
     "compression" object and its info migrate lines have 7.2's shape.
  3. A Tern destination without compress refuses QEMU's compressed pages
     with 7.2's "Received an unexpected compressed page".
  4. Tern -> QEMU 7.2 while the test rewrites Tern's RAM through -qtest
     (whole pages of text or random bytes, and 8-byte writes, at 8 MiB/s
     with pause-before-switchover so no write can miss the last pass):
     the re-sent pages go compressed too, and QEMU's RAM equals Tern's.
"""
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, incoming_vm,  # noqa: E402
                     qemu_binary, skip, skip_unless_built, start_migration,
                     Vm, wait_migration)
from tern import ramfile  # noqa: E402
from tern.migration import wait_incoming  # noqa: E402
from tern.qtest import QTestListener  # noqa: E402

SIZE = 64 << 20
PAGES = SIZE // 4096
TEXT = b'Tern compresses pages like QEMU 7.2 does. '


def mem_args(path, qemu):
    obj = ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
           f'mem-path={path},share=on']
    extra = ['-nodefaults'] if qemu else []
    return ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] + \
        extra + obj


def zero_pages(path):
    n = 0
    zero = bytes(4096)
    with open(path, 'rb') as f:
        while True:
            b = f.read(4096)
            if not b:
                return n
            n += b == zero


def migrate(src_path, dst_path, src_qemu, dst_caps, src_params,
            dst_params=None, want='completed'):
    """Migrate a -M none guest over tcp; returns (src info, dst)."""
    src = Vm(mem_args(src_path, src_qemu) + ['-S'],
             binary=qemu_binary() if src_qemu else None,
             name='qemu-src' if src_qemu else 'tern-src', serial=False)
    with src:
        dst = incoming_vm(mem_args(dst_path, not src_qemu),
                          binary=None if src_qemu else qemu_binary(),
                          name='tern-dst' if src_qemu else 'qemu-dst',
                          serial=False)
        start_migration(src, dst.uri, dst=dst, caps=['compress'],
                        params=src_params, dst_caps=dst_caps,
                        dst_params=dst_params)
        info = wait_migration(src, 90, want=(want,))
        hmp = src.hmp('info migrate').replace('\r', '')
    return info, hmp, dst


def qemu_to_tern(tmp):
    a, b = os.path.join(tmp, 'q2t-src.ram'), os.path.join(tmp, 'q2t-dst.ram')
    ramfile.make_ram(a, SIZE, 7, TEXT)
    ramfile.empty_ram(b, SIZE)
    zeros = zero_pages(a)
    info, _, dst = migrate(a, b, True, ['compress'],
                           {'compress-threads': 2},
                           {'decompress-threads': 3})
    with dst:
        wait_incoming(dst, 60)
        check(ramfile.same_ram(a, b), 'QEMU -> Tern: RAM differs')
    comp = info['compression']
    check(info['ram']['normal'] == 0, f'QEMU sent normal pages: {info}')
    check(comp['pages'] >= PAGES - zeros, f'QEMU compressed {comp}')
    print(f'ok: QEMU 7.2 -> Tern, {comp["pages"]} compressed pages '
          f'({comp["compressed-size"] >> 10} KiB), RAM identical')


def tern_to_qemu(tmp):
    a, b = os.path.join(tmp, 't2q-src.ram'), os.path.join(tmp, 't2q-dst.ram')
    ramfile.make_ram(a, SIZE, 8, TEXT)
    ramfile.empty_ram(b, SIZE)
    zeros = zero_pages(a)
    info, hmp, dst = migrate(a, b, False, ['compress'],
                             {'compress-threads': 3, 'compress-level': 6})
    with dst:
        wait_incoming(dst, 60)
        check(ramfile.same_ram(a, b), 'Tern -> QEMU: RAM differs')
    comp = info['compression']
    check(sorted(comp) == ['busy', 'busy-rate', 'compressed-size',
                           'compression-rate', 'pages'],
          f'compression members: {comp}')
    check(info['ram']['normal'] == 0, f'Tern sent normal pages: {info}')
    check(comp['pages'] == PAGES - zeros and comp['busy'] == 0,
          f'Tern compressed {comp}, {PAGES - zeros} non-zero pages')
    check(info['ram']['duplicate'] == zeros, f'zero pages: {info}')
    # every page once: COMPRESS_PAGE = 8-byte header + compressed-size,
    # ZERO = 9 bytes; beyond that only the block name and EOS records
    records = comp['compressed-size'] + 8 * comp['pages'] + 9 * zeros
    extra = info['ram']['transferred'] - records
    check(0 <= extra < 512, f'transferred bytes do not add up: {info}')
    check(comp['compressed-size'] < SIZE // 2, f'poor ratio: {comp}')
    lines = [ln for ln in hmp.splitlines() if ln.startswith('compress')]
    want = ['compression pages: %d pages' % comp['pages'],
            'compression busy: 0', 'compression busy rate: 0.00',
            'compressed size: %d kbytes' % (comp['compressed-size'] >> 10)]
    check(lines[:4] == want and lines[4].startswith('compression rate: '),
          f'info migrate compression lines: {lines}')
    print(f'ok: Tern -> QEMU 7.2, {comp["pages"]} compressed pages '
          f'({comp["compressed-size"] >> 10} KiB, ratio '
          f'{comp["compression-rate"]:.2f}), RAM identical')


def unexpected(tmp):
    a, b = os.path.join(tmp, 'u-src.ram'), os.path.join(tmp, 'u-dst.ram')
    ramfile.make_ram(a, SIZE, 9, TEXT)
    ramfile.empty_ram(b, SIZE)
    info, _, dst = migrate(a, b, True, None, {'compress-threads': 1},
                           want='failed')
    with dst:
        dst.wait_exit(30)
        err = dst.stderr()
    check('Received an unexpected compressed page' in err,
          f'destination without compress said {err!r}')
    print('ok: a destination without compress refuses compressed pages')


def dirty_batch(qt, rnd):
    """Rewrite 64 pages (text or random) and 8 bytes in 64 others."""
    for _ in range(64):
        page = rnd.randrange(PAGES)
        qt.write(page * 4096, rnd.randbytes(4096) if rnd.random() < 0.5
                 else (TEXT * 100)[page % 40:page % 40 + 4096])
        qt.writeq(rnd.randrange(PAGES) * 4096 + rnd.randrange(512) * 8,
                  rnd.getrandbits(64))


def tern_to_qemu_dirty(tmp):
    a, b = os.path.join(tmp, 'qt-src.ram'), os.path.join(tmp, 'qt-dst.ram')
    ramfile.make_ram(a, SIZE, 10, TEXT)
    ramfile.empty_ram(b, SIZE)
    qt = QTestListener(tmp)
    rnd = random.Random(18)
    with Vm(mem_args(a, False) + qt.args(), name='tern-src',
            serial=False) as src, \
            incoming_vm(mem_args(b, True), binary=qemu_binary(),
                        name='qemu-dst', serial=False) as dst:
        qt.accept()
        dst.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'compress', 'state': True}])
        start_migration(src, dst.uri,
                        caps=['compress', 'pause-before-switchover'],
                        params={'max-bandwidth': 8 << 20,
                                'downtime-limit': 1,
                                'compress-threads': 2})
        deadline = time.time() + 60
        while True:
            dirty_batch(qt, rnd)
            info = src.cmd('query-migrate')
            check(info['status'] in ('setup', 'active', 'pre-switchover'),
                  f'{info}')
            if info['status'] == 'pre-switchover' or \
                    info['ram']['dirty-sync-count'] >= 3:
                break
            check(time.time() < deadline, f'no second pass: {info}')
        src.cmd('migrate-set-parameters', max_bandwidth=1 << 30,
                downtime_limit=300)
        wait_migration(src, 60, want=('pre-switchover',))
        src.cmd('migrate-continue', state='pre-switchover')
        info = wait_migration(src, 60)
        wait_incoming(dst, 30)
        qt.close()
        check(ramfile.same_ram(a, b), 'Tern -> QEMU (dirtied): RAM differs')
    comp = info['compression']
    check(info['ram']['normal'] <= 1 and comp['busy'] == 0,
          f'uncompressed pages: {info}')
    print(f'ok: Tern -> QEMU 7.2 with -qtest writes during the migration, '
          f'{comp["pages"]} compressed pages over '
          f'{info["ram"]["dirty-sync-count"]} passes, RAM identical')


def main():
    skip_unless_built()
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    with tempfile.TemporaryDirectory(prefix='tern-compress-') as tmp:
        qemu_to_tern(tmp)
        tern_to_qemu(tmp)
        unexpected(tmp)
        tern_to_qemu_dirty(tmp)


if __name__ == '__main__':
    main()
