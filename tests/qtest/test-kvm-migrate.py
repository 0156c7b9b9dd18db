#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-kvm-migrate: a running KVM guest moves to another tern with its vCPU.

The stress guest runs under -accel kvm; it is live-migrated over TCP to a
second tern started with -incoming.  Proves that the "cpu" section (KVM
registers, segments, control registers, FPU/XSAVE, MSRs incl. the TSC,
vCPU events) is saved and restored: the destination continues the SAME
guest run (it never prints 'stress: start', its verified-page counter keeps
growing from where the source was) and finds no MISMATCH; the "serial"
section carries the UART registers.  Also checks that the destination's
guest survives a stop/cont after the migration, and (with a tiny guest that
sets distinctive general, SSE and MSR values and spins) that HMP
'info registers' is identical on both sides after the migration.
Skipped (exit 77) when /dev/kvm cannot be opened or the guest is missing.
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, code_serial_puts, have_kvm,  # noqa
                     MigrationPair, skip, skip_unless_built, stress_args,
                     tiny_multiboot_elf)


def last_verified(text):
    found = re.findall(r'stress: ok .*verified=(\d+)', text)
    return int(found[-1]) if found else None


def register_guest(path):
    """A guest that prints 'R', sets distinctive values in the general
    and SSE registers and the SYSENTER MSRs, then spins (`jmp .`) so that
    every register stays constant."""
    import struct
    load, entry = 0x100000, 0x100000 + 84 + 12
    code = code_serial_puts('R\n')
    # CR4 |= OSFXSR | OSXMMEXCPT (SSE).  Paging stays off: some hosts'
    # KVM (kvm-pvm) refuse CR0.PG for non-PVM guests and emulate
    # paging-off guests, so only instructions KVM's emulator knows are
    # used (no x87).
    code += bytes.fromhex('0f20e0' '0d00060000' '0f22e0')
    fix = []                         # offsets of 32-bit data addresses

    def ins(prefix, data_off):
        nonlocal code
        code += bytes.fromhex(prefix)
        fix.append((len(code), data_off))
        code += b'\0\0\0\0'
    ins('f30f6f05', 0)               # movdqu xmm0, [data]
    ins('f30f6f0d', 16)              # movdqu xmm1, [data+16]
    ins('f30f6f3d', 16)              # movdqu xmm7, [data+16]
    # wrmsr SYSENTER_CS/ESP/EIP
    for msr, val in ((0x174, 0x10), (0x175, 0x9000), (0x176, 0xabcdef)):
        code += b'\xb9' + struct.pack('<I', msr) + b'\xb8' + \
            struct.pack('<I', val) + bytes.fromhex('31d2' '0f30')
    for op, val in ((0xb8, 0x11111111), (0xbb, 0x22222222),
                    (0xb9, 0x33333333), (0xba, 0x44444444),
                    (0xbe, 0x55555555), (0xbf, 0x66666666),
                    (0xbd, 0x77777777), (0xbc, 0x00090000)):
        code += bytes([op]) + struct.pack('<I', val)
    code += bytes.fromhex('f9' 'ebfe')   # stc; jmp .
    data_at = entry + len(code)
    for off, doff in fix:
        code = code[:off] + struct.pack('<I', data_at + doff) + \
            code[off + 4:]
    code += bytes(range(1, 17)) + bytes(range(0xf0, 0x100))
    return tiny_multiboot_elf(path, code, load=load)


def test_registers_survive(tmp):
    elf = register_guest(os.path.join(tmp, 'regs.elf'))
    args = ['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel', elf]
    with MigrationPair(args, names=('rsrc', 'rdst')) as pair:
        src, dst = pair
        src.wait_serial('R\n', timeout=20)
        time.sleep(0.3)
        before = src.hmp('info registers')
        check('EAX=11111111' in before and 'XMM00=100f0e0d0c0b0a090807060504'
              '030201' in before and 'XMM07=fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0'
              in before and 'SYSENTER_EIP=00abcdef' in before,
              f'guest did not set its registers:\n{before}')
        info = pair.migrate(60)
        check(info['status'] == 'completed', f'migration failed: {info}')
        src_regs = src.hmp('info registers')
        deadline = time.time() + 20
        while dst.cmd('query-status')['status'] != 'running':
            check(time.time() < deadline, 'destination did not start')
            time.sleep(0.1)
        dst_regs = dst.hmp('info registers')
        check(src_regs == dst_regs,
              f'registers differ after migration:\nsource:\n{src_regs}\n'
              f'destination:\n{dst_regs}')
        check('R\n' not in dst.serial(),
              'destination guest restarted from its entry point')


def main():
    if not have_kvm():
        skip('/dev/kvm cannot be opened (no KVM on this host)')
    skip_unless_built(guest=True)

    with tempfile.TemporaryDirectory(prefix='test-kvm-migrate-') as tmp:
        test_registers_survive(tmp)

    args = stress_args('kvm', 'mem=16M-112M rate=64', '128M')
    with MigrationPair(args) as pair:
        src, dst = pair
        src.wait_serial('stress: ok', timeout=30)
        src.wait_serial('stress: ok', timeout=30,
                        start=len(src.serial()))
        check(dst.cmd('query-status')['status'] == 'inmigrate',
              'destination not in inmigrate')

        info = pair.migrate(60)
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
