#!/usr/bin/env python3
"""test-kvm-migrate: a running KVM guest moves to another tern with its vCPU.

The stress guest runs under -accel kvm; it is live-migrated over TCP to a
second tern started with -incoming.  Proves that the "cpu" section (KVM
registers, segments, control registers, FPU/XSAVE, MSRs incl. the TSC,
vCPU events) is saved and restored: the destination continues the SAME
guest run (it never prints 'stress: start', its verified-page counter keeps
growing from where the source was) and finds no MISMATCH; the "serial"
section carries the UART registers.  Also checks that the destination's
guest survives a stop/cont after the migration.
Skipped (exit 77) when /dev/kvm cannot be opened or the guest is missing.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (Vm, check, free_port, guest_elf, have_kvm,  # noqa
                     skip, tern_binary)


def last_verified(text):
    found = re.findall(r'stress: ok .*verified=(\d+)', text)
    return int(found[-1]) if found else None


def wait_migration(vm, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = vm.cmd('query-migrate')
        if info.get('status') in ('completed', 'failed', 'cancelled'):
            return info
        time.sleep(0.1)
    raise TimeoutError('migration did not finish')


def main():
    if not have_kvm():
        skip('/dev/kvm cannot be opened (no KVM on this host)')
    if not os.path.exists(tern_binary()):
        skip(f'{tern_binary()} is not built')
    if not os.path.exists(guest_elf()):
        skip(f'{guest_elf()} is not built')

    args = ['-accel', 'kvm', '-M', 'pc-lite', '-m', '128M',
            '-kernel', guest_elf(), '-append', 'mem=16M-112M rate=64']
    port = free_port()
    with Vm(args, name='src') as src, \
            Vm(args + ['-incoming', f'tcp:127.0.0.1:{port}'],
               name='dst') as dst:
        src.wait_serial('stress: ok', timeout=30)
        src.wait_serial('stress: ok', timeout=30,
                        start=len(src.serial()))
        check(dst.cmd('query-status')['status'] == 'inmigrate',
              'destination not in inmigrate')

        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        info = wait_migration(src)
        check(info['status'] == 'completed', f'migration failed: {info}')
        before = last_verified(src.serial())
        check(src.cmd('query-status')['status'] == 'postmigrate',
              'source not in postmigrate')

        # the destination resumes the same run
        dst.wait_serial('stress: ok', timeout=30)
        deadline = time.time() + 30
        while True:
            out = dst.serial()
            after = last_verified(out)
            if after is not None and before is not None and after > before:
                break
            check(time.time() < deadline,
                  f'destination did not go on from verified={before}: '
                  f'{out[-400:]!r}')
            time.sleep(0.2)
        check('stress: start' not in out,
              'destination guest restarted from its entry point (vCPU '
              'state not restored)')
        check('MISMATCH' not in out, f'guest found corrupted memory: {out}')
        check(dst.cmd('query-status')['status'] == 'running',
              'destination not running')

        # stop/cont on the destination keeps the guest alive
        dst.cmd('stop')
        dst.cmd('cont')
        dst.wait_serial('stress: ok', timeout=30, start=len(dst.serial()))
        check('MISMATCH' not in dst.serial(), 'mismatch after stop/cont')
        check('internal-error' not in dst.cmd('query-status')['status'],
              'destination vCPU failed')
    print('test-kvm-migrate: all checks passed')


if __name__ == '__main__':
    main()
