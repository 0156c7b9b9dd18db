#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-precopy-recover: a precopy that survives a network cut
(x-precopy-recover, Tern only; docs/migration.md, "What happens when
things go wrong").

The stress guest (soft vCPU, 64 MiB; it fills 32 MiB, then writes at
16 MiB/s at random into the first 2 MiB of them) migrates through
python/tern's FaultProxy, which cuts the main connection half way
through the first pass (the stream of a pass is about 34 MiB):

1. Both sides with the capability: both go precopy-paused, the guest
   still runs on the source, both error-descs say why and what to do;
   migrate-recover on a new port, migrate resume=true (first to a port
   nobody listens on: that attempt fails and pauses again); the migration
   completes and the destination guest verifies every page.  The bytes
   sent after the resume are what the destination missed plus pages
   dirtied since: at least most of the missing part of the pass, at
   most that plus what the source sent that never arrived, what arrived
   after the last acknowledgement (one iteration at most) and a few
   rounds of the 2 MiB the guest keeps dirtying; apart from what was
   lost in flight, well below a whole pass (nothing the destination
   had was sent again).
2. Cancel while paused: the source goes cancelled with its guest
   running, the destination's migrate_cancel ends it (exit 1, as any
   failed load); a second migration to a fresh destination completes.
3. x-precopy-recover without return-path is refused at migrate.
4. The capability on the source only: the destination does not agree,
   so the cut fails the migration as before (no pause), the guest runs
   on the source.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, poll_migration, QMPError,  # noqa
                     skip_unless_built, stress_args, Vm)
from tern.faultproxy import FaultProxy  # noqa: E402

APPEND = 'mem=16M-48M rate=16 pattern=hot:2 report_ms=250'
HOT = 2 << 20             # after the first pass, writes go to 2 MiB only
BANDWIDTH = 32 << 20
# the most one iteration sends (a 100 ms rate-limit period): pages the
# destination got after its last acknowledgement are sent again too
ACK_WINDOW = BANDWIDTH // 10
PASS_BYTES = 34 << 20     # one pass of this guest's stream, about
CUT_AT = 17 << 20         # half of it
CAPS = [{'capability': 'return-path', 'state': True},
        {'capability': 'x-precopy-recover', 'state': True},
        {'capability': 'events', 'state': True}]
PAUSED = ('precopy-paused', 'failed', 'completed', 'cancelled')


def source(name='src'):
    vm = Vm(stress_args('soft', APPEND, '64M'), name=name)
    vm.wait_serial('stress: ok pass=1', 30)
    return vm


def destination(name='dst', caps=CAPS):
    vm = Vm(stress_args('soft', APPEND, '64M') + ['-incoming', 'defer'],
            name=name)
    if caps:
        vm.cmd('migrate-set-capabilities', capabilities=caps)
    vm.port = free_port()
    vm.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{vm.port}')
    return vm


def start_cut(src, dst, caps=CAPS):
    """Migrate src to dst through a proxy that cuts at CUT_AT."""
    proxy = FaultProxy(dst.port, 'cut', at=CUT_AT)
    src.cmd('migrate-set-capabilities', capabilities=caps)
    src.cmd('migrate-set-parameters', **{'max-bandwidth': BANDWIDTH})
    src.cmd('migrate', uri=proxy.uri)
    return proxy


def both_paused(src, dst):
    sinfo = poll_migration(src, PAUSED, 30, 0.02)
    dinfo = poll_migration(dst, PAUSED, 30, 0.02)
    check(sinfo['status'] == 'precopy-paused', f'source: {sinfo}')
    check(dinfo['status'] == 'precopy-paused', f'destination: {dinfo}')
    for side, info in (('source', sinfo), ('destination', dinfo)):
        desc = info.get('error-desc', '')
        check('Precopy paused' in desc and 'migrate-recover' in desc,
              f'{side} error-desc: {info}')
    check(src.cmd('query-status')['status'] == 'running',
          'source guest not running while paused')
    out = src.hmp('info migrate')
    check('Migration status: precopy-paused (Precopy paused' in out, out)
    return sinfo


def verified(dst):
    out = dst.wait_serial('stress: resume verified', 30)
    dst.wait_serial('stress: ok', 30, out.index('stress: resume'))
    check('MISMATCH' not in dst.serial(), dst.serial())
    check(dst.cmd('query-status')['status'] == 'running', 'dst not running')


def cut_and_recover():
    src, dst = source(), destination()
    try:
        proxy = start_cut(src, dst)
        sinfo = both_paused(src, dst)
        check(proxy.fired, 'the proxy did not cut')
        print(f'paused: {sinfo["error-desc"]}')
        before = sinfo['ram']['transferred']
        # the guest goes on dirtying pages here while paused
        src.wait_serial('stress: ok', 10, len(src.serial()))
        port = free_port()
        dst.cmd('migrate-recover', uri=f'tcp:127.0.0.1:{port}')
        # a resume to the wrong place fails and pauses again
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{free_port()}', resume=True)
        info = poll_migration(src, ('precopy-paused', 'failed',
                                    'cancelled'), 20, 0.02)
        deadline = time.time() + 20
        while 'refused' not in info.get('error-desc', '') and \
                time.time() < deadline:
            time.sleep(0.05)
            info = src.cmd('query-migrate')
        check(info['status'] == 'precopy-paused' and
              'refused' in info.get('error-desc', ''),
              f'after a failed resume: {info}')
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}', resume=True)
        info = poll_migration(src, ('completed', 'failed', 'cancelled',
                                    'precopy-paused'), 60)
        check(info['status'] == 'completed', f'source: {info}')
        poll_migration(dst, ('completed',), 30)
        verified(dst)
        after = info['ram']['transferred'] - before
        missing = PASS_BYTES - proxy.fired_at
        lost = before - proxy.fired_at  # sent, never reached the proxy
        print(f'cut at {proxy.fired_at} bytes of a {PASS_BYTES}-byte '
              f'pass; {before} bytes sent before the pause ({lost} of '
              f'them lost), {after} after the resume (missing part '
              f'{missing}, RAM 64 MiB)')
        # what was lost goes again, what the destination had does not
        check(after >= missing * 3 // 4, f'{after} < missing {missing}')
        check(after <= missing + lost + ACK_WINDOW + 4 * HOT,
              f'{after} bytes after the resume: more than missing + lost '
              f'+ unacknowledged + re-dirtied')
        # beyond what was lost in flight, well below a whole pass
        check(after - lost < PASS_BYTES * 85 // 100,
              f'{after} bytes after the resume: a whole pass again?')
        for vm in (src, dst):
            seen = [e['data']['status'] for e in vm.qmp.events
                    if e['event'] == 'MIGRATION']
            check('precopy-paused' in seen and 'precopy-recover' in seen,
                  f'{vm.name} MIGRATION events {seen}')
        proxy.close()
    finally:
        src.kill()
        dst.kill()


def cancel_paused():
    src, dst = source(), destination()
    try:
        proxy = start_cut(src, dst)
        both_paused(src, dst)
        src.cmd('migrate_cancel')
        info = poll_migration(src, ('cancelled', 'failed'), 20)
        check(info['status'] == 'cancelled', f'source: {info}')
        check(src.cmd('query-status')['status'] == 'running',
              'source guest not running after cancel')
        dst.cmd('migrate_cancel')
        deadline = time.time() + 20
        while dst.proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        check(dst.proc.poll() == 1, f'destination exit {dst.proc.poll()}')
        check('Migration cancelled on the destination' in dst.stderr(),
              dst.stderr())
        proxy.close()
        # the guest migrates again, from scratch, to a new destination
        dst2 = destination('dst2', caps=None)
        try:
            src.cmd('migrate', uri=f'tcp:127.0.0.1:{dst2.port}')
            info = poll_migration(src, ('completed', 'failed',
                                        'cancelled'), 60)
            check(info['status'] == 'completed', f'second: {info}')
            poll_migration(dst2, ('completed',), 30)
            verified(dst2)
        finally:
            dst2.kill()
    finally:
        src.kill()
        dst.kill()


def refused_without_rp():
    src = Vm(stress_args('soft', APPEND, '64M'), name='src')
    try:
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'x-precopy-recover', 'state': True}])
        try:
            src.cmd('migrate', uri=f'tcp:127.0.0.1:{free_port()}')
        except QMPError as e:
            check("Capability 'x-precopy-recover' requires capability "
                  "'return-path'" in str(e), str(e))
        else:
            raise AssertionError('x-precopy-recover without return-path')
        check(src.cmd('query-migrate').get('status') in (None, 'none'),
              'a migration started')
    finally:
        src.kill()


def source_only():
    src, dst = source(), destination(caps=[
        {'capability': 'return-path', 'state': True}])
    try:
        start_cut(src, dst)
        info = poll_migration(src, PAUSED, 30, 0.02)
        check(info['status'] == 'failed', f'source: {info}')
        check(src.cmd('query-status')['status'] == 'running',
              'source guest not running')
        deadline = time.time() + 20
        while dst.proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        check(dst.proc.poll() == 1, f'destination exit {dst.proc.poll()}')
        print(f'source only: {info.get("error-desc")}')
    finally:
        src.kill()
        dst.kill()


def main():
    skip_unless_built(guest=True)
    refused_without_rp()
    cut_and_recover()
    cancel_paused()
    source_only()
    return 0


if __name__ == '__main__':
    sys.exit(main())
