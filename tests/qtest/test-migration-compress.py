#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-compress: the compress capability between two Terns.

  1. The soft stress guest (and a KVM one where /dev/kvm opens) migrates
     with compress (compress-threads 2, decompress-threads 3): the
     destination re-verifies every page (soft) or runs on without a
     MISMATCH (KVM); the source's "compression" counters moved (pages,
     compressed-size), no page went uncompressed but zero pages and the
     block's first, and HMP prints the compression lines.
  2. compress-wait-thread off with one thread: pages a busy thread could
     not take go uncompressed and are counted as busy (normal pages are
     at most busy + 1), and the guest still verifies.
  3. compress with postcopy-ram (allowed by 7.2): the soft guest starts on
     the destination mid-migration, its page requests are served as
     compressed records (inflated and placed atomically), and it
     verifies every page.
  4. compress with xbzrle (as 7.2): round one goes compressed, later
     rounds as XBZRLE deltas (the guest rewrites 8 bytes per page), the
     guest verifies every page.
  5. Settings as QEMU 7.2 has them: the defaults, the range errors, and
     multifd with compress refused in either order (QMP and HMP).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, have_kvm, MigrationPair,  # noqa
                     poll_migration, QMPError, skip_unless_built,
                     start_migration, stress_args, Vm, wait_migration)

APPEND = 'mem=16M-48M rate=32 report_ms=250'


def migrate(accel, params, dst_params):
    uri = f'tcp:localhost:{free_port()}'
    args = stress_args(accel, APPEND, '64M')
    with Vm(args, name='src') as src:
        src.wait_serial('stress: ok pass=1' if accel == 'soft' else
                        'stress: ok', 30)
        with Vm(args + ['-incoming', 'defer'], name='dst') as dst:
            start_migration(src, uri, dst, uri, caps=['compress'],
                            params=params, dst_caps=['compress'],
                            dst_params=dst_params)
            info = wait_migration(src, 90)
            hmp = src.hmp('info migrate').replace('\r', '')
            verify(accel, src, dst)
    return info, hmp


def verify(accel, src, dst):
    if accel == 'soft':
        npages = int(re.search(r'pages=(\d+)', src.serial()).group(1))
        out = dst.wait_serial('stress: resume verified', 30)
        m = re.search(r'stress: resume verified (\d+) pages', out)
        check(m and int(m.group(1)) == npages, f'verified: {out[-300:]}')
        dst.wait_serial('stress: ok pass=', 30,
                        out.index('resume verified'))
    else:
        n = dst.serial().count('stress: ok')
        dst.wait_serial('stress: ok', 30, len(dst.serial()))
        check(dst.serial().count('stress: ok') > n, 'KVM guest stalled')
    check('MISMATCH' not in dst.serial(), dst.serial()[-500:])
    check(dst.cmd('query-status')['status'] == 'running', 'dst running')
    check(src.cmd('query-status')['status'] == 'postmigrate', 'src state')


def test_guests():
    params = {'compress-threads': 2, 'downtime-limit': 5000}
    for accel in ['soft'] + (['kvm'] if have_kvm() else []):
        info, hmp = migrate(accel, params, {'decompress-threads': 3})
        comp = info['compression']
        check(comp['pages'] > 0 and comp['compressed-size'] > 0,
              f'{accel}: counters did not move: {comp}')
        check(comp['busy'] == 0 and info['ram']['normal'] <= 1,
              f'{accel}: uncompressed pages with wait-thread on: {info}')
        # at most compressBound(4096) = 4110 bytes + the be32 length
        check(comp['compressed-size'] <= comp['pages'] * 4114,
              f'{accel}: compressed size {comp}')
        check(f'compression pages: {comp["pages"]} pages' in hmp,
              f'{accel}: info migrate: {hmp}')
        print(f'ok: {accel} guest, {comp["pages"]} pages compressed to '
              f'{comp["compressed-size"] >> 10} KiB, every page verified')


def test_no_wait():
    info, _ = migrate('soft', {'compress-threads': 1,
                               'compress-wait-thread': False,
                               'downtime-limit': 5000},
                      {'decompress-threads': 1})
    comp = info['compression']
    check(info['ram']['normal'] <= comp['busy'] + 1,
          f'normal pages not counted as busy: {info}')
    print(f'ok: compress-wait-thread off: {comp["busy"]} busy pages, '
          f'{comp["pages"]} compressed, verified')


def test_postcopy():
    args = stress_args('soft', APPEND + ' pattern=random', '64M')
    with MigrationPair(args) as pair:
        src, dst = pair
        src.wait_serial('stress: ok pass=1', 30)
        caps = ['compress', 'postcopy-ram']
        pair.start(caps=caps, dst_caps=caps,
                   params={'max-bandwidth': 4 << 20, 'compress-threads': 2})
        poll_migration(src, ('active',), 20, 0.01)
        time.sleep(1)
        src.cmd('migrate-start-postcopy')
        info = poll_migration(src, ('completed', 'failed'), 90)
        check(info['status'] == 'completed', f'source: {info}')
        ram, comp = info['ram'], info['compression']
        check(ram['postcopy-bytes'] > 0 and ram['postcopy-requests'] > 0,
              f'no postcopy: {ram}')
        check(ram['normal'] <= 1 and comp['pages'] > 0, f'{info}')
        out = dst.wait_serial('stress: resume verified', 30)
        dst.wait_serial('stress: ok', 30, out.index('stress: resume'))
        check('MISMATCH' not in dst.serial(), dst.serial()[-500:])
    print(f'ok: compress with postcopy, {ram["postcopy-requests"]} '
          f'requests, {comp["pages"]} compressed pages, verified')


def test_xbzrle():
    args = stress_args('soft', 'mem=16M-48M rate=32 pattern=random '
                       'write=word report_ms=250', '64M')
    with MigrationPair(args) as pair:
        src, dst = pair
        src.wait_serial('stress: ok pass=1', 30)
        pair.start(caps=['compress', 'xbzrle'], dst_caps=['compress'],
                   params={'compress-threads': 2, 'max-bandwidth': 16 << 20,
                           'downtime-limit': 5000})
        info = wait_migration(src, 90)
        verify('soft', src, dst)
    comp, x = info['compression'], info['xbzrle-cache']
    check(comp['pages'] > 0 and x['cache-miss'] + x['pages'] > 0,
          f'compress then xbzrle: {comp} {x}')
    check(info['ram']['dirty-sync-count'] >= 2, f'one pass only: {info}')
    print(f'ok: compress then xbzrle, {comp["pages"]} compressed, '
          f'{x["pages"]} xbzrle pages, {x["cache-miss"]} misses, verified')


def expect_error(vm, cmd, desc, **args):
    try:
        vm.cmd(cmd, **args)
    except QMPError as e:
        check(e.desc == desc, f'{cmd}: {e.desc!r}, want {desc!r}')
        return
    check(False, f'{cmd} {args} accepted')


def test_settings():
    with Vm(['-M', 'none', '-m', '16M'], name='set', serial=False) as vm:
        p = vm.cmd('query-migrate-parameters')
        check((p['compress-level'], p['compress-threads'],
               p['decompress-threads'], p['compress-wait-thread']) ==
              (1, 8, 2, True), f'defaults: {p}')
        expect_error(vm, 'migrate-set-parameters',
                     "Parameter 'compress_level' expects a value between "
                     "0 and 9", **{'compress-level': 10})
        expect_error(vm, 'migrate-set-parameters',
                     "Parameter 'compress_threads' expects a value between "
                     "1 and 255", **{'compress-threads': 0})
        expect_error(vm, 'migrate-set-parameters',
                     "Parameter 'decompress_threads' expects a value "
                     "between 1 and 255", **{'decompress-threads': 0})
        both = [{'capability': 'compress', 'state': True},
                {'capability': 'multifd', 'state': True}]
        expect_error(vm, 'migrate-set-capabilities',
                     'Multifd is not compatible with compress',
                     capabilities=both)
        vm.cmd('migrate-set-capabilities', capabilities=both[:1])
        expect_error(vm, 'migrate-set-capabilities',
                     'Multifd is not compatible with compress',
                     capabilities=both[1:])
        out = vm.hmp('migrate_set_capability multifd on')
        check('Multifd is not compatible with compress' in out, out)
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'compress', 'state': False}, both[1]])
        out = vm.hmp('migrate_set_capability compress on')
        check('Multifd is not compatible with compress' in out, out)
        check('compression' not in vm.cmd('query-migrate'),
              'compression member without a migration')
    print('ok: defaults, ranges and the multifd rule')


def main():
    skip_unless_built(guest=True)
    test_settings()
    test_guests()
    test_no_wait()
    test_postcopy()
    test_xbzrle()


if __name__ == '__main__':
    main()
