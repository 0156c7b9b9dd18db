#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the real-stream seeds of fuzz-ram (tests/fuzz/corpus/fuzz-ram/):
each is what a Tern migration to file: saved from a -M none guest whose
RAM is a 64 KiB memory-backend-file "mem" (the block fuzz-ram loads
into).  Names say what RAM they leave (fuzz-ram checks it):
  seed-zero-*        all-zero RAM
  seed-ramfile-N-*   python/tern/ramfile.py make_ram(64 KiB, N); in
                     seed-ramfile-3-xbzrle the random pages were also
                     rewritten through -qtest during the migration, so
                     it carries XBZRLE records
Usage: make-seeds-ram.py [--build DIR] [OUTDIR]"""
import argparse
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'python'))
from tern import ramfile  # noqa: E402
from tern.migration import start_migration, wait_migration  # noqa: E402
from tern.qtest import QTestListener  # noqa: E402
from tern.vm import Vm  # noqa: E402

SIZE = 64 * 1024


def save(tmp, ram_path, out, caps=None, params=None):
    """Migrate a -M none guest backed by ram_path to file:out."""
    args = ['-M', 'none,memory-backend=mem', '-m', '64K', '-S',
            '-object', f'memory-backend-file,id=mem,size=64K,'
            f'mem-path={ram_path},share=on']
    with Vm(args, name='seed', serial=False, tmpdir=tmp) as vm:
        start_migration(vm, f'file:{out}', caps=caps, params=params)
        info = wait_migration(vm, 30)
        if info['status'] != 'completed':
            raise SystemExit(f'make-seeds-ram: {out}: {info}')


def save_xbzrle(tmp, ram_path, out):
    """As save(), with xbzrle at 32 KiB/s while -qtest rewrites 8 bytes
    of the random pages (page % 4 >= 2) until deltas went out;
    pause-before-switchover keeps every write inside the stream."""
    qt = QTestListener(tmp, 'seed-qtest')
    args = ['-M', 'none,memory-backend=mem', '-m', '64K', '-S',
            '-object', f'memory-backend-file,id=mem,size=64K,'
            f'mem-path={ram_path},share=on'] + qt.args()
    rnd = random.Random(3)
    pages = [p for p in range(SIZE // 4096) if p % 4 >= 2]
    with Vm(args, name='seed', serial=False, tmpdir=tmp) as vm:
        qt.accept()
        start_migration(vm, f'file:{out}',
                        caps=['xbzrle', 'pause-before-switchover'],
                        params={'max-bandwidth': 32768, 'downtime-limit': 1})
        while True:
            for _ in range(4):
                qt.writeq(rnd.choice(pages) * 4096 + 8 * rnd.randrange(512),
                          rnd.getrandbits(64))
            info = vm.cmd('query-migrate')
            if info['status'] == 'pre-switchover' or \
                    info.get('xbzrle-cache', {}).get('pages', 0) > 8:
                break
        vm.cmd('migrate-set-parameters', max_bandwidth=1 << 30)
        wait_migration(vm, 30, want=('pre-switchover',))
        vm.cmd('migrate-continue', state='pre-switchover')
        info = wait_migration(vm, 30)
        qt.close()
        if not info['xbzrle-cache']['bytes']:
            raise SystemExit(f'make-seeds-ram: {out}: no XBZRLE record: '
                             f'{info}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', help='Tern build directory (default build/)')
    ap.add_argument('outdir', nargs='?', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'fuzz-ram'))
    a = ap.parse_args()
    if a.build:
        os.environ['TERN_BUILD_DIR'] = os.path.abspath(a.build)
    os.makedirs(a.outdir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='tern-seeds-') as tmp:
        ram = os.path.join(tmp, 'ram')
        ramfile.empty_ram(ram, SIZE)
        save(tmp, ram, os.path.join(a.outdir, 'seed-zero-file'))
        ramfile.make_ram(ram, SIZE, 1)
        save(tmp, ram, os.path.join(a.outdir, 'seed-ramfile-1-file'))
        # a slow link: the pages spread over several PART sections
        ramfile.make_ram(ram, SIZE, 2)
        save(tmp, ram, os.path.join(a.outdir, 'seed-ramfile-2-slow'),
             params={'max-bandwidth': 32768})
        ramfile.make_ram(ram, SIZE, 3)
        save_xbzrle(tmp, ram, os.path.join(a.outdir,
                                           'seed-ramfile-3-xbzrle'))
    for n in sorted(os.listdir(a.outdir)):
        p = os.path.join(a.outdir, n)
        print(f'{p}: {os.path.getsize(p)} bytes')


if __name__ == '__main__':
    main()
