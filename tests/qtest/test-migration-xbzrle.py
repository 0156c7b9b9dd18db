#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-xbzrle: Tern -> Tern with capability xbzrle, the stress
guest checking every page on the destination.

Soft vCPU:
  * write=word: after its first write a page only gets 8 bytes rewritten,
    so re-sent pages go as XBZRLE deltas.  The migration is throttled
    (max-bandwidth 24 MiB/s) so that it takes several rounds; once
    query-migrate shows deltas, xbzrle-cache-size is changed from 64 MiB
    to 8 MiB mid-migration (query-migrate's cache-size follows, and the
    new cache starts empty, so misses must go on growing), then the
    bandwidth is raised so it converges.  Checks: pages, bytes and
    cache-miss moved, encoding-rate > 1, XBZRLE bytes far below the
    pages they stand for, the HMP "info migrate" xbzrle lines, and the
    destination guest re-verifies every page and keeps running.
  * write=page: every rewrite changes the whole page, so cached pages
    overflow: the overflow counter moves and the guest still verifies.
KVM (when /dev/kvm opens): a KVM stress guest on these hosts writes a
few pages a second (nested virtualisation), too few to exercise the
cache, so besides it (its own pages checked by itself) the test writes
RAM outside the guest's range through -qtest, as in the interop test:
8 bytes in pages of a hot set and some whole pages, during a throttled
migration with pause-before-switchover; afterwards every written page
is read back through the destination's -qtest and compared, and the
counters must show deltas, misses and overflows.
"""
import os
import random
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (accels, check, MigrationPair,  # noqa: E402
                     skip_unless_built, stress_args)
from tern.migration import poll_migration, wait_migration  # noqa: E402
from tern.qtest import QTestListener  # noqa: E402

MiB = 1 << 20


def append(write):
    return f'mem=16M-48M rate=32 pattern=random write={write} report_ms=250'


def check_destination(src, dst, accel, what):
    """The destination resumed the workload with no MISMATCH."""
    src_out = src.serial()
    out = dst.wait_serial('stress: ok pass=', 30,
                          max(0, dst.serial().find('stress: resume')))
    if accel == 'soft':
        m = re.search(r'pages=(\d+)', src_out)
        m2 = re.search(r'stress: resume verified (\d+) pages', out)
        check(m and m2 and m.group(1) == m2.group(1),
              f'{what}: resume verification: {out}')
    n = out.count('stress: ok')
    deadline = time.time() + 15
    while dst.serial().count('stress: ok') < n + 2:
        check(time.time() < deadline, f'{what}: guest stalled')
        time.sleep(0.1)
    check(dst.cmd('query-status')['status'] == 'running',
          f'{what}: destination not running')
    out = dst.serial()
    check('MISMATCH' not in out, f'{what}: {out}')
    check('MISMATCH' not in src_out, f'{what}: {src_out}')


def hmp(vm, line):
    return vm.cmd('human-monitor-command', command_line=line)


def test_deltas(accel):
    what = f'{accel} write=word'
    with MigrationPair(stress_args(accel, append('word'), '64M')) as pair:
        src, dst = pair
        src.wait_serial('stress: ok', 30)
        pair.start(caps=['xbzrle'], params={'max-bandwidth': 24 * MiB})
        # wait for the first deltas
        deadline = time.time() + 60
        rate = 0
        while True:
            info = src.cmd('query-migrate')
            check(info['status'] in ('setup', 'active'), f'{what}: {info}')
            x = info.get('xbzrle-cache', {'pages': 0, 'encoding-rate': 0})
            rate = max(rate, x['encoding-rate'])
            if x['pages'] > 100:
                break
            check(time.time() < deadline, f'{what}: no deltas: {info}')
            time.sleep(0.1)
        check(x['cache-size'] == 64 * MiB, f'{what}: cache-size {x}')
        miss_before = x['cache-miss']
        src.cmd('migrate-set-parameters', xbzrle_cache_size=8 * MiB)
        info = src.cmd('query-migrate')
        check(info['xbzrle-cache']['cache-size'] == 8 * MiB,
              f'{what}: resized cache-size {info}')
        check(src.cmd('query-migrate-parameters')['xbzrle-cache-size'] ==
              8 * MiB, f'{what}: parameter')
        # the new cache is empty: misses go on (pages still re-sent)
        deadline = time.time() + 30
        while True:
            x = src.cmd('query-migrate')['xbzrle-cache']
            rate = max(rate, x['encoding-rate'])
            if x['cache-miss'] > miss_before + 100 and rate > 1:
                break
            check(time.time() < deadline,
                  f'{what}: no misses after resize or encoding-rate: {x}')
            time.sleep(0.1)
        lines = hmp(src, 'info migrate')
        for want in ('cache size: 8388608 bytes', 'xbzrle transferred: ',
                     'xbzrle pages: ', 'xbzrle cache miss: ',
                     'xbzrle cache miss rate: ', 'xbzrle encoding rate: ',
                     'xbzrle overflow: '):
            check(want in lines, f'{what}: HMP lacks {want!r}:\n{lines}')
        src.cmd('migrate-set-parameters', max_bandwidth=1 << 30)
        info = poll_migration(src, timeout=60)
        check(info['status'] == 'completed', f'{what}: {info}')
        x = info['xbzrle-cache']
        check(x['pages'] > 0 and x['bytes'] > 0 and x['cache-miss'] > 0,
              f'{what}: counters {x}')
        check(x['bytes'] * 8 < x['pages'] * 4096,
              f'{what}: deltas not small: {x}')
        check_destination(src, dst, accel, what)
        print(f'{what}: {info["ram"]["transferred"] >> 10} KiB sent, '
              f'xbzrle {x["pages"]} pages in {x["bytes"] >> 10} KiB, '
              f'{x["cache-miss"]} misses, {x["overflow"]} overflows, '
              f'encoding-rate up to {rate:.1f}, downtime {info.get("downtime")} ms')


def test_overflow(accel):
    what = f'{accel} write=page'
    with MigrationPair(stress_args(accel, append('page'), '64M')) as pair:
        src, dst = pair
        src.wait_serial('stress: ok', 30)
        pair.start(caps=['xbzrle'], params={'max-bandwidth': 24 * MiB})
        deadline = time.time() + 60
        while True:
            info = src.cmd('query-migrate')
            if info['status'] not in ('setup', 'active') or \
                    info.get('xbzrle-cache', {}).get('overflow', 0) > 50:
                break
            check(time.time() < deadline, f'{what}: no overflow: {info}')
            time.sleep(0.1)
        src.cmd('migrate-set-parameters', max_bandwidth=1 << 30)
        info = poll_migration(src, timeout=60)
        check(info['status'] == 'completed', f'{what}: {info}')
        x = info['xbzrle-cache']
        check(x['overflow'] > 0 and x['bytes'] >= x['overflow'] * 4096,
              f'{what}: counters {x}')
        check_destination(src, dst, accel, what)
        print(f'{what}: xbzrle {x["pages"]} pages, {x["overflow"]} '
              f'overflows, {x["cache-miss"]} misses')


PAGE = 4096
HOT_BASE = 32 * MiB  # above the KVM guest's stress range (16M-20M)
HOT_PAGES = 256


def qtest_batch(qt, rnd, hot, mirror):
    """8 bytes in 128 hot pages, one hot page whole; mirror follows."""
    for _ in range(128):
        off = rnd.choice(hot) * PAGE + rnd.randrange(PAGE // 8) * 8
        val = rnd.getrandbits(64)
        qt.writeq(HOT_BASE + off, val)
        mirror[off:off + 8] = val.to_bytes(8, 'little')
    off = rnd.choice(hot) * PAGE
    data = rnd.randbytes(PAGE)
    qt.write(HOT_BASE + off, data)
    mirror[off:off + PAGE] = data


def test_kvm_qtest(tmp):
    what = 'kvm + qtest'
    qs, qd = QTestListener(tmp, 'src'), QTestListener(tmp, 'dst')
    args = stress_args('kvm', 'mem=16M-20M rate=0 pattern=random '
                       'report_ms=250', '64M')
    rnd = random.Random(7)
    hot = rnd.sample(range(4096), HOT_PAGES)
    mirror = bytearray(4096 * PAGE)
    with MigrationPair(args + qs.args(), args + qd.args()) as pair:
        src, dst = pair
        qs.accept()
        qd.accept()
        src.wait_serial('stress: ok', 30)
        pair.start(caps=['xbzrle', 'pause-before-switchover'],
                   params={'max-bandwidth': 512 << 10, 'downtime-limit': 1})
        deadline = time.time() + 60
        while True:
            qtest_batch(qs, rnd, hot, mirror)
            info = src.cmd('query-migrate')
            check(info['status'] in ('setup', 'active', 'pre-switchover'),
                  f'{what}: {info}')
            x = info.get('xbzrle-cache', {})
            if info['status'] == 'pre-switchover' or \
                    (x.get('pages', 0) > 500 and x.get('overflow', 0) > 5):
                break
            check(time.time() < deadline, f'{what}: no switchover: {x}')
        src.cmd('migrate-set-parameters', max_bandwidth=1 << 30,
                downtime_limit=300)
        wait_migration(src, 60, want=('pre-switchover',))
        src.cmd('migrate-continue', state='pre-switchover')
        info = wait_migration(src, 60)
        x = info['xbzrle-cache']
        check(x['pages'] > 100 and x['bytes'] > 0 and x['cache-miss'] > 0 and
              x['overflow'] > 0, f'{what}: counters {x}')
        dst_info = poll_migration(dst, until=('completed',), timeout=30)
        check(dst_info['status'] == 'completed', f'{what}: {dst_info}')
        for page in sorted(hot):
            got = qd.read(HOT_BASE + page * PAGE, PAGE)
            check(got == mirror[page * PAGE:(page + 1) * PAGE],
                  f'{what}: page {HOT_BASE + page * PAGE:#x} differs')
        check_destination(src, dst, 'kvm', what)
        qs.close()
        qd.close()
        print(f'{what}: {HOT_PAGES} pages identical; xbzrle {x["pages"]} '
              f'pages in {x["bytes"] >> 10} KiB, {x["cache-miss"]} misses, '
              f'{x["overflow"]} overflows')


def main():
    skip_unless_built(guest=True)
    test_deltas('soft')
    test_overflow('soft')
    if 'kvm' in accels():
        with tempfile.TemporaryDirectory(prefix='tern-xbzrle-') as tmp:
            test_kvm_qtest(tmp)
    else:
        print('kvm: /dev/kvm cannot be opened, KVM case not run')


if __name__ == '__main__':
    main()
