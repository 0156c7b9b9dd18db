#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the real-stream seeds of fuzz-ram (tests/fuzz/corpus/fuzz-ram/):
each is what a Tern migration to file: saved from a -M none guest whose
RAM is a 64 KiB memory-backend-file "mem" (the block fuzz-ram loads
into).  Names say what RAM they leave (fuzz-ram checks it):
  seed-zero-*        all-zero RAM
  seed-ramfile-N-*   python/tern/ramfile.py make_ram(64 KiB, N)
Usage: make-seeds-ram.py [--build DIR] [OUTDIR]"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'python'))
from tern import ramfile  # noqa: E402
from tern.migration import start_migration, wait_migration  # noqa: E402
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
    for n in sorted(os.listdir(a.outdir)):
        p = os.path.join(a.outdir, n)
        print(f'{p}: {os.path.getsize(p)} bytes')


if __name__ == '__main__':
    main()
