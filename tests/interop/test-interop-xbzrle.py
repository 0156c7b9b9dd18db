#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-xbzrle: Tern -> QEMU 7.2 with capability xbzrle, RAM
compared byte for byte.

Tern `-M none` (64 MiB of RAM in a shared memory-backend-file: zero but
for 512 pages of random bytes or one repeated byte) migrates to a Debian
qemu-system-x86_64 `-M none`.  While it runs (downtime-limit 1 ms, a bandwidth of
512 KiB/s and pause-before-switchover, so no write can miss the last
pass), the test rewrites guest
RAM through Tern's -qtest socket: 8 bytes in random pages of a hot set
of 1 MiB (re-sent pages, so XBZRLE deltas once they are cached), and
one whole page with random bytes per batch (overflow: the page goes
whole).  Then the writes stop, the bandwidth is raised, migrate-continue
lets the migration complete, and QEMU's RAM file must equal Tern's: QEMU's
XBZRLE decoder accepted Tern's encoding.  Tern's counters must show
deltas (pages, bytes), misses and overflows.

The other direction (QEMU 7.2 -> Tern with xbzrle) is not tested here:
QEMU only re-sends pages that its own dirty log saw change, and Debian's
QEMU 7.2 has no qtest to write RAM of a -M none machine (a TCG guest
would bring device sections Tern's -M none does not have).  Tern's
decoder is covered by the unit tests, the fuzz target and
test-migration-xbzrle.
"""
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, incoming_vm, qemu_binary,  # noqa: E402
                     skip, skip_unless_built, start_migration, Vm,
                     wait_migration)
from tern import ramfile  # noqa: E402
from tern.migration import wait_incoming  # noqa: E402
from tern.qtest import QTestListener  # noqa: E402

SIZE = 64 << 20
PAGE = 4096
HOT_PAGES = 256


def mem_args(path, binary):
    obj = ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
           f'mem-path={path},share=on']
    extra = ['-nodefaults'] if binary == 'qemu' else []
    return ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] + \
        extra + obj


def dirty_batch(qt, rnd, hot):
    """8 bytes in 256 hot pages, one hot page rewritten whole."""
    for _ in range(256):
        page = rnd.choice(hot)
        qt.writeq(page * PAGE + rnd.randrange(PAGE // 8) * 8,
                  rnd.getrandbits(64))
    qt.write(rnd.choice(hot) * PAGE, rnd.randbytes(PAGE))


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-interop-') as tmp:
        a, c = (os.path.join(tmp, f'{n}.ram') for n in 'ac')
        ramfile.empty_ram(a, SIZE)
        ramfile.empty_ram(c, SIZE)
        qt = QTestListener(tmp)
        rnd = random.Random(18)
        hot = rnd.sample(range(SIZE // PAGE), HOT_PAGES)
        with open(a, 'r+b') as f:
            for i, page in enumerate(hot + rnd.sample(range(SIZE // PAGE),
                                                      HOT_PAGES)):
                f.seek(page * PAGE)
                f.write(rnd.randbytes(PAGE) if i % 2 else
                        bytes([i & 0xff or 1]) * PAGE)
        with Vm(mem_args(a, 'tern') + qt.args(), name='tern-src',
                serial=False) as src, \
                incoming_vm(mem_args(c, 'qemu'), binary=qemu_binary(),
                            name='qemu-dst', serial=False) as dst:
            qt.accept()
            # 512 KiB/s and downtime-limit 1 ms keep the migration going
            # while the test writes; pause-before-switchover makes sure a
            # write cannot land after the last pages went out: writes stop
            # before migrate-continue, and the final pass sends them.
            start_migration(src, dst.uri,
                            caps=['xbzrle', 'pause-before-switchover'],
                            params={'max-bandwidth': 512 << 10,
                                    'downtime-limit': 1})
            deadline = time.time() + 60
            while True:
                dirty_batch(qt, rnd, hot)
                info = src.cmd('query-migrate')
                check(info['status'] in ('setup', 'active',
                                         'pre-switchover'), f'{info}')
                x = info.get('xbzrle-cache', {})
                if info['status'] == 'pre-switchover' or \
                        (x.get('pages', 0) > 1000 and x.get('overflow', 0) > 5):
                    break
                check(time.time() < deadline, f'no switchover: {x}')
            src.cmd('migrate-set-parameters', max_bandwidth=1 << 30,
                    downtime_limit=300)
            wait_migration(src, 60, want=('pre-switchover',))
            src.cmd('migrate-continue', state='pre-switchover')
            info = wait_migration(src, 60)
            wait_incoming(dst, 30)
            qt.close()
            x = info['xbzrle-cache']
            check(x['pages'] > 100 and x['bytes'] > 0 and
                  x['cache-miss'] > 0 and x['overflow'] > 0, f'counters {x}')
            check(ramfile.same_ram(a, c), 'Tern -> QEMU RAM differs')
            check(dst.cmd('query-status')['status'] in
                  ('running', 'paused', 'prelaunch'), 'QEMU state')
        print(f'Tern -> QEMU with xbzrle identical: '
              f'{info["ram"]["transferred"] >> 10} KiB sent, xbzrle '
              f'{x["pages"]} pages in {x["bytes"] >> 10} KiB, '
              f'{x["cache-miss"]} misses, {x["overflow"]} overflows')
    return 0


if __name__ == '__main__':
    sys.exit(main())
