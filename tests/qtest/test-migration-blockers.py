#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-blockers: migration blockers, QEMU 7.2's texts.

  1. A detached dump-guest-memory (writing into a FIFO nobody reads yet)
     blocks migration: query-migrate lists blocked-reasons, HMP info
     migrate prints "Outgoing migration blocked:", QMP and HMP migrate
     fail at once with the reason, a second dump is refused; once the
     FIFO is drained the dump completes (DUMP_COMPLETED), the blocker is
     gone and the same migrate succeeds.  With qemu-system-x86_64
     installed, QEMU 7.2 says the same words in the same places.
  2. A dump while a migration runs (paused before switchover) is refused
     with "disallowing migration blocker (migration in progress) for:".
  3. -only-migratable: shown by info migrate; a dump still works (QEMU
     lets that blocker through); with KVM and an invariant-TSC host,
     -cpu host,+invtsc is refused at start-up with QEMU's text, and
     without -only-migratable the invtsc blocker refuses migrate.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (MigrationPair, QMPError, Vm, check, have_kvm,  # noqa
                     guest_elf, qemu_binary, skip_unless_built,
                     tern_binary, wait_migration)

DUMP_REASON = 'Live migration disabled: dump-guest-memory in progress'
INVTSC_REASON = ('State blocked by non-migratable CPU device '
                 '(invtsc flag)')
RAM_ARGS = ['-M', 'none', '-m', '32M']


def migrate_error(vm, uri):
    try:
        vm.cmd('migrate', uri=uri)
    except QMPError as e:
        return e.desc
    return None


def drain(fd):
    os.set_blocking(fd, True)
    n = 0
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        n += len(b)
    os.close(fd)
    return n


def start_detached_dump(vm, tmp, name):
    """dump-guest-memory detach=true into a FIFO; returns its read fd."""
    fifo = os.path.join(tmp, name)
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    vm.cmd('dump-guest-memory', paging=False, protocol=f'file:{fifo}',
           detach=True)
    return rfd


def check_blocked(vm, tmp, uri):
    """Case 1 on vm (Tern or QEMU); returns nothing, raises on mismatch."""
    rfd = start_detached_dump(vm, tmp, f'{vm.name}.fifo')
    info = vm.cmd('query-migrate')
    check(info.get('blocked-reasons') == [DUMP_REASON],
          f'{vm.name}: query-migrate {info}')
    hmp = vm.hmp('info migrate')
    check(f'Outgoing migration blocked:\n  {DUMP_REASON}\n' in
          hmp.replace('\r', ''), f'{vm.name}: info migrate {hmp!r}')
    check(vm.cmd('query-dump')['status'] == 'active', 'dump not active')
    err = migrate_error(vm, uri)
    check(err == DUMP_REASON, f'{vm.name}: migrate said {err!r}')
    out = vm.hmp(f'migrate -d "{uri}"')
    check(f'Error: {DUMP_REASON}' in out, f'{vm.name}: HMP migrate {out!r}')
    try:
        vm.cmd('dump-guest-memory', paging=False,
               protocol=f'file:{tmp}/{vm.name}.second')
        check(False, 'second dump accepted')
    except QMPError as e:
        check(e.desc == 'There is a dump in process, please wait.',
              f'{vm.name}: second dump: {e.desc}')
    check(vm.cmd('query-migrate').get('status') in (None, 'none'),
          'a refused migrate left a status')
    n = drain(rfd)
    check(n > 32 << 20, f'dump wrote {n} bytes')
    ev = vm.qmp.wait_event('DUMP_COMPLETED', timeout=30)
    check(ev['data']['result']['status'] == 'completed', f'event {ev}')
    check('blocked-reasons' not in vm.cmd('query-migrate'),
          f'{vm.name}: still blocked after the dump')
    check('Outgoing migration blocked' not in vm.hmp('info migrate'),
          'info migrate still blocked')


def test_dump_blocker(tmp):
    with MigrationPair(RAM_ARGS, serial=False) as pair:
        src, dst = pair
        check_blocked(src, tmp, pair.uri)
        src.cmd('migrate', uri=pair.uri)
        wait_migration(src)
    print('ok: a detached dump blocks migrate, its end unblocks it')


def test_qemu_same_texts(tmp):
    if not qemu_binary():
        print('skip: no qemu-system-x86_64 for the comparison')
        return
    with Vm(RAM_ARGS + ['-nodefaults', '-monitor', 'none'],
            binary=qemu_binary(), name='qemu', serial=False) as q:
        check_blocked(q, tmp, 'exec:cat > /dev/null')
    print('ok: QEMU 7.2 shows the same texts')


def test_dump_during_migration(tmp):
    with MigrationPair(RAM_ARGS, serial=False) as pair:
        src, dst = pair
        pair.start(caps=['pause-before-switchover'])
        wait_migration(src, want=('pre-switchover',))
        try:
            src.cmd('dump-guest-memory', paging=False,
                    protocol=f'file:{tmp}/during', detach=True)
            check(False, 'dump accepted during migration')
        except QMPError as e:
            check(e.desc == 'disallowing migration blocker (migration in '
                  f'progress) for: {DUMP_REASON}', f'dump said {e.desc}')
        src.cmd('migrate-continue', state='pre-switchover')
        wait_migration(src)
    print('ok: a dump during a migration is refused')


def invtsc_host():
    with open('/proc/cpuinfo') as f:
        flags = f.read()
    return ' constant_tsc' in flags and ' nonstop_tsc' in flags


def test_only_migratable(tmp):
    with Vm(RAM_ARGS + ['-only-migratable'], name='om', serial=False) as vm:
        check('only-migratable: on' in vm.hmp('info migrate'),
              'info migrate does not show only-migratable: on')
        rfd = start_detached_dump(vm, tmp, 'om.fifo')
        check(vm.cmd('query-migrate').get('blocked-reasons') ==
              [DUMP_REASON], 'the dump did not block under -only-migratable')
        drain(rfd)
        vm.qmp.wait_event('DUMP_COMPLETED', timeout=30)
    if not have_kvm() or not invtsc_host() or not os.path.exists(guest_elf()):
        print('skip: invtsc cases need KVM, an invariant TSC and the guest')
        return
    kvm = ['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel',
           guest_elf(), '-append', 'mem=4M-8M rate=1', '-S']
    p = subprocess.run([tern_binary(), '-display', 'none', '-cpu',
                        'host,+invtsc', '-only-migratable'] + kvm,
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 1, f'invtsc under -only-migratable: {p}')
    check('disallowing migration blocker (--only-migratable) for: '
          f'{INVTSC_REASON}' in p.stderr, f'stderr: {p.stderr!r}')
    with Vm(kvm + ['-cpu', 'host,+invtsc'], name='invtsc',
            serial=False) as vm:
        check(vm.cmd('query-migrate').get('blocked-reasons') ==
              [INVTSC_REASON], 'invtsc does not block')
        err = migrate_error(vm, 'exec:cat > /dev/null')
        check(err == INVTSC_REASON, f'migrate said {err!r}')
    with Vm(kvm + ['-cpu', 'host', '-only-migratable'], name='host',
            serial=False) as vm:
        check('blocked-reasons' not in vm.cmd('query-migrate'),
              '-cpu host without invtsc is blocked')
    print('ok: -only-migratable and the invtsc blocker')


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-blockers-') as tmp:
        test_dump_blocker(tmp)
        test_qemu_same_texts(tmp)
        test_dump_during_migration(tmp)
        test_only_migratable(tmp)


if __name__ == '__main__':
    main()
