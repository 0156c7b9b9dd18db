#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-postcopy: postcopy-ram between two Terns, soft vCPU.

1. Capability rules: migrate-start-postcopy without the capability and
   before a migration gets QEMU 7.2's errors; a destination whose RAM is
   a private file mapping (userfaultfd cannot register it) refuses the
   capability with QEMU's "Postcopy is not supported" and prints why,
   while a source with the same RAM accepts it.
2. For the soft vCPU and (when /dev/kvm opens) KVM: the stress guest
   writes 16 MiB/s over 32 MiB, max-bandwidth 4 MiB/s
   (precopy cannot converge; soft vCPU: max-postcopy-bandwidth 16 MiB/s,
   so that postcopy lasts and the guest faults); migrate-start-postcopy: the source goes
   postcopy-active then completed, with postcopy-bytes and (the guest
   faulting on pages it has not got yet) postcopy-requests counted; the
   destination guest runs, re-verifies every page and goes on writing;
   MIGRATION events on both sides go through postcopy-active
   (KVM: goes on with its page checks without a MISMATCH); with
   postcopy-blocktime on the destination, its query-migrate and info
   migrate show the vCPU's blocktime (ms) once completed; the
   destination's idle pollers (postcopy-idle-poll.h) ran (soft: spun
   while the guest faulted) and are gone at the end.
3. Zero pages: a `-M none` guest whose RAM is all zero, precopy and
   postcopy throttled hard.  Reading (HMP xp) on the destination during
   postcopy a page the precopy sent as a zero record answers at once
   (the precopy placer's zero check mapped it, so it does not fault and
   wait for the slow postcopy tail); a page not sent yet faults, is
   requested (postcopy_fault trace, postcopy-requests) and reads zero.
4. postcopy-ram on both sides but never started: an ordinary precopy
   (ADVISE sent, no discard, no package) that completes.
5. migrate_cancel during postcopy: failed (not cancelled: the guest is
   not given back), error-desc says so, the source guest stays paused;
   the destination pauses (postcopy-paused), as 7.2's does.
6. The destination killed during postcopy: the source goes
   postcopy-paused with the reason in error-desc and the guest stays
   paused (the guest ran on the destination: resuming here would lose
   its writes); migrate_cancel then fails it for good.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (accels, check, MigrationPair, QMPError,  # noqa
                     poll_migration, skip_unless_built, stress_args, Vm)

APPEND = 'mem=16M-48M rate=16 pattern=random report_ms=250'
LIMIT = 4 << 20
POSTCOPY_LIMIT = 16 << 20
KVM_LIMIT = 32 << 10


def vm_args(accel='soft'):
    return stress_args(accel, APPEND, '64M')


def capability_rules():
    with Vm(vm_args(), name='src') as vm:
        try:
            vm.cmd('migrate-start-postcopy')
            raise AssertionError('migrate-start-postcopy accepted')
        except QMPError as e:
            check('Enable postcopy with migrate_set_capability' in str(e),
                  str(e))
        out = vm.hmp('migrate_start_postcopy')
        check('Error: Enable postcopy with migrate_set_capability' in out,
              out)
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'postcopy-ram', 'state': True}])
        try:
            vm.cmd('migrate-start-postcopy')
            raise AssertionError('migrate-start-postcopy accepted')
        except QMPError as e:
            check('Postcopy must be started after migration' in str(e),
                  str(e))
        caps = {c['capability']: c['state']
                for c in vm.cmd('query-migrate-capabilities')}
        check(caps['postcopy-ram'], f'capability not on: {caps}')
        # postcopy-ram with multifd: refused at migrate, guest untouched
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True}])
        try:
            vm.cmd('migrate', uri='tcp:127.0.0.1:1')
            raise AssertionError('postcopy-ram with multifd accepted')
        except QMPError as e:
            check('Postcopy is not yet compatible with multifd' in str(e),
                  str(e))
        check(vm.cmd('query-migrate').get('status') in (None, 'none'),
              'a refused migrate changed the status')
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': False}])


def file_ram_refused():
    with tempfile.TemporaryDirectory(prefix='tern-postcopy-') as tmp:
        path = os.path.join(tmp, 'ram')
        args = ['-M', 'none,memory-backend=mem', '-m', '16M', '-object',
                f'memory-backend-file,id=mem,size=16M,mem-path={path}']
        caps = [{'capability': 'postcopy-ram', 'state': True}]
        with Vm(args + ['-incoming', 'defer'], name='dst',
                serial=False) as dst:
            try:
                dst.cmd('migrate-set-capabilities', capabilities=caps)
                raise AssertionError('file-backed destination accepted')
            except QMPError as e:
                check(str(e).endswith('Postcopy is not supported'), str(e))
            check("userfaultfd needs anonymous private memory" in
                  dst.stderr(), dst.stderr())
        with Vm(args, name='src', serial=False) as src:
            src.cmd('migrate-set-capabilities', capabilities=caps)


def start_postcopy(pair, accel='soft'):
    """Precopy that cannot finish, then migrate-start-postcopy.  A KVM
    guest may be slow under nested virtualisation (it may have written
    little yet): its precopy is throttled to KVM_LIMIT and postcopy
    starts at once, so most of its RAM goes over in postcopy."""
    src, dst = pair
    src.wait_serial('stress: ok pass=1' if accel == 'soft' else 'stress: ok',
                    30)
    params = {'max-bandwidth': LIMIT if accel == 'soft' else KVM_LIMIT}
    if accel == 'soft':
        # postcopy held to ~2 s: the guest surely faults and requests
        # pages (unlimited, the rest went in ~0.1 s and a run could
        # finish with no request at all)
        params['max-postcopy-bandwidth'] = POSTCOPY_LIMIT
    pair.start(caps=['postcopy-ram', 'events'],
               dst_caps=['postcopy-ram', 'events', 'postcopy-blocktime'],
               params=params)
    poll_migration(src, ('active',), 20, 0.01)
    if accel == 'soft':
        time.sleep(1.5)
    src.cmd('migrate-start-postcopy')
    return poll_migration(src, ('postcopy-active', 'completed', 'failed'),
                          20, 0.01)


def thread_names(vm):
    """The names of vm's process's threads."""
    names = []
    task = f'/proc/{vm.proc.pid}/task'
    for tid in os.listdir(task):
        try:
            with open(f'{task}/{tid}/comm') as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended meanwhile
            pass
    return names


def idle_poll_trace(dst):
    """The destination's postcopy_idle_poll line at the end of postcopy:
    (pollers, ms spun), waiting for it at most 10 s."""
    deadline = time.time() + 10
    while True:
        for line in dst.stderr().splitlines():
            if ':postcopy_idle_poll ' in line and ' spun ' in line:
                w = line.split(':postcopy_idle_poll ', 1)[1].split()
                return int(w[0]), float(w[3])
        check(time.time() < deadline, 'no postcopy_idle_poll trace: ' +
              dst.stderr()[-2000:])
        time.sleep(0.1)


def postcopy_ok(accel):
    dst_args = vm_args(accel) + ['-trace', 'postcopy_idle_poll']
    with MigrationPair(vm_args(accel), dst_args) as pair:
        src, dst = pair
        t0 = time.time()
        start_postcopy(pair, accel)
        info = poll_migration(src, ('completed', 'failed'), 60)
        check(info['status'] == 'completed', f'source: {info}')
        ram = info['ram']
        print(f'postcopy ({accel}): completed in {time.time() - t0:.1f}s, '
              f'postcopy-bytes {ram["postcopy-bytes"]}, requests '
              f'{ram["postcopy-requests"]}, downtime {info["downtime"]} ms')
        check(ram['postcopy-bytes'] > 0, f'no postcopy bytes: {ram}')
        if accel == 'soft':
            check(ram['postcopy-requests'] > 0, f'no page requests: {ram}')
        for vm, want in ((src, ['setup', 'active', 'postcopy-active',
                                'completed']),
                         (dst, ['active', 'postcopy-active', 'completed'])):
            vm.qmp.wait_event('MIGRATION', 10, lambda e: e['data'][
                'status'] == 'completed')
            seen = [e['data']['status'] for e in vm.qmp.events
                    if e['event'] == 'MIGRATION'] + ['completed']
            check(seen[-len(want):] == want and
                  (vm is dst or seen == want),
                  f'{vm.name} MIGRATION events {seen}, want {want}')
        hmp = src.hmp('info migrate')
        # 7.2 prints the request count only when there were requests
        check('postcopy ram:' in hmp and
              ('postcopy request count:' in hmp) ==
              (ram['postcopy-requests'] > 0), hmp)
        dinfo = dst.cmd('query-migrate')
        check(dinfo['status'] == 'completed', f'destination: {dinfo}')
        # postcopy-blocktime (destination, completed): the one vCPU
        # waited for the pages it faulted on (soft: it had to)
        vcpu = dinfo.get('postcopy-vcpu-blocktime')
        check(isinstance(vcpu, list) and len(vcpu) == 1 and
              dinfo.get('postcopy-blocktime') == vcpu[0] and
              (accel != 'soft' or vcpu[0] > 0), f'blocktime: {dinfo}')
        print(f'postcopy ({accel}): vCPU blocktime {vcpu[0]} ms')
        out = dst.hmp('info migrate')
        check(f'postcopy blocktime: {vcpu[0]}' in out and
              f'postcopy vcpu blocktime: {vcpu[0]}' in out, out)
        check('postcopy-blocktime' not in info, f'source shows it: {info}')
        if accel == 'soft':
            out = dst.wait_serial('stress: resume verified', 30)
            dst.wait_serial('stress: ok', 30, out.index('stress: resume'))
        else:
            # progress after the switch: the guest runs on what it got
            dst.wait_serial('stress: ok', 30, len(dst.serial()))
        check('MISMATCH' not in dst.serial(), dst.serial())
        check(dst.cmd('query-status')['status'] == 'running', 'dst')
        check(src.cmd('query-status')['status'] == 'postmigrate', 'src')
        # the idle pollers ran while the guest faulted, and ended
        pollers, spun = idle_poll_trace(dst)
        print(f'postcopy ({accel}): {pollers} idle pollers spun {spun} ms')
        check(pollers >= 1 and (accel != 'soft' or spun > 0),
              f'idle pollers: {pollers}, spun {spun} ms')
        # (a joined thread's /proc entry may outlive the join a moment)
        deadline = time.time() + 5
        while 'mig/dst/poll' in thread_names(dst):
            check(time.time() < deadline, 'pollers left')
            time.sleep(0.05)


def postcopy_zero_pages():
    args = ['-M', 'none,memory-backend=mem', '-m', '64M', '-object',
            'memory-backend-ram,id=mem,size=64M']
    with MigrationPair(args, args + ['-trace', 'postcopy_fault*'],
                       serial=False) as pair:
        src, dst = pair
        pair.start(caps=['postcopy-ram', 'events'],
               dst_caps=['postcopy-ram', 'events'],
                   params={'max-bandwidth': 32 << 10,
                           'max-postcopy-bandwidth': 16 << 10})
        poll_migration(src, ('active',), 20)
        time.sleep(2)   # the first ~5000 zero pages are over
        src.cmd('migrate-start-postcopy')
        poll_migration(dst, ('postcopy-active',), 20, 0.01)
        t0 = time.time()
        out = dst.hmp('xp /2xw 0x1000')
        took = time.time() - t0
        check('0x00000000 0x00000000' in out, out)
        out = dst.hmp('xp /2xw 0x3ff0000')
        check('0x00000000 0x00000000' in out, out)
        info = poll_migration(src, ('completed', 'failed'), 60)
        check(info['status'] == 'completed', f'source: {info}')
        err = dst.stderr()
        print(f'zero pages: xp of a page sent as zero took {took:.3f}s; '
              f'postcopy took {info["total-time"]} ms in all')
        check(took < 1, f'xp of a precopied zero page took {took:.1f}s')
        check('postcopy_fault mem:0x3ff0000' in err, err[-2000:])
        check('postcopy_fault mem:0x1000' not in err, err[-2000:])
        check(info['ram']['postcopy-requests'] > 0, f'requests: {info}')


def advised_only():
    args = ['-M', 'none,memory-backend=mem', '-m', '64M', '-object',
            'memory-backend-ram,id=mem,size=64M']
    with MigrationPair(args, serial=False) as pair:
        src, dst = pair
        info = pair.migrate(30, caps=['postcopy-ram'],
                            dst_caps=['postcopy-ram'])
        check(info['ram']['postcopy-bytes'] == 0, f'postcopy bytes: {info}')
        poll_migration(dst, ('completed',), 20)
        check(dst.cmd('query-status')['status'] == 'running', 'dst')


def postcopy_cancel():
    args = ['-M', 'none,memory-backend=mem', '-m', '64M', '-object',
            'memory-backend-ram,id=mem,size=64M']
    with MigrationPair(args, serial=False) as pair:
        src, dst = pair
        pair.start(caps=['postcopy-ram'], dst_caps=['postcopy-ram'],
                   params={'max-bandwidth': 32 << 10,
                           'max-postcopy-bandwidth': 16 << 10})
        poll_migration(src, ('active',), 20)
        time.sleep(1)
        src.cmd('migrate-start-postcopy')
        poll_migration(src, ('postcopy-active',), 20, 0.01)
        src.cmd('migrate_cancel')
        info = poll_migration(src, ('failed', 'cancelled', 'completed'), 20)
        check(info['status'] == 'failed', f'source: {info}')
        check('Postcopy failed (migrate_cancel)' in info.get('error-desc', ''),
              info)
        st = src.cmd('query-status')['status']
        check(st == 'paused', f'source guest {st}, want paused')
        # as 7.2: the destination cannot tell a cancel from a cut and
        # pauses, its guest still running on what it has
        info = poll_migration(dst, ('postcopy-paused', 'failed'), 20)
        check(info['status'] == 'postcopy-paused', f'destination: {info}')


def postcopy_dst_killed():
    with MigrationPair(vm_args()) as pair:
        src, dst = pair
        start_postcopy(pair)
        dst.kill()
        info = poll_migration(src, ('completed', 'failed',
                                    'postcopy-paused'), 30)
        print(f'destination killed: {info["status"]}: '
              f'{info.get("error-desc")}')
        # as 7.2: a lost destination looks like a cut; the source pauses
        # (a recovery may follow) and says why
        check(info['status'] == 'postcopy-paused', f'source: {info}')
        check(info.get('error-desc'), info)
        st = src.cmd('query-status')['status']
        check(st == 'finish-migrate', f'source guest {st}, want stopped')
        src.cmd('migrate_cancel')
        info = poll_migration(src, ('completed', 'failed'), 30)
        check(info['status'] == 'failed', f'source: {info}')
        check('Postcopy failed' in info.get('error-desc', ''), info)
        check(src.cmd('query-status')['status'] == 'paused', 'source guest')


def main():
    skip_unless_built(guest=True)
    capability_rules()
    file_ram_refused()
    for accel in accels():
        postcopy_ok(accel)
    postcopy_zero_pages()
    advised_only()
    postcopy_cancel()
    postcopy_dst_killed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
