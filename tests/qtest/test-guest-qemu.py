#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-guest-qemu: the stress guest ELF boots under Debian's QEMU.

Proves that build/guest/stress.elf is a valid multiboot v1 kernel for
QEMU's own loader (so the same guest can run on either side of an
interop migration), that it prints its start and progress lines, and that
its exit codes through isa-debug-exit are the documented ones:
passes=N done -> status 1, bad argument -> status 35.

KVM when /dev/kvm opens, else TCG.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import Vm, check, guest_elf, have_kvm, qemu_binary, skip  # noqa

EXIT_DONE = 1       # debug-exit value 0x00
EXIT_BADARG = 35    # debug-exit value 0x11


def qemu_args(append):
    accel = 'kvm' if have_kvm() else 'tcg'
    return ['-accel', accel, '-M', 'pc', '-m', '128M', '-nodefaults',
            '-kernel', guest_elf(), '-append', append,
            '-device', 'isa-debug-exit,iobase=0x501,iosize=1']


def test_progress():
    with Vm(qemu_args('mem=16M-112M rate=0 report_ms=200'),
            binary=qemu_binary(), name='guest', qmp=False) as vm:
        out = vm.wait_serial('stress: start mem=16M-112M rate=0', 30)
        first = out.index('stress: start')
        vm.wait_serial('stress: ok pass=', 30, first)
        out = vm.serial()
        second = out.index('stress: ok pass=') + 1
        out = vm.wait_serial('stress: ok pass=', 30, second)
        check('MISMATCH' not in out, out)
        check('pattern=random verify=on tsc_khz=' in out, out)
        print('progress: ok', out.count('stress: ok'), 'report lines')


def test_passes_exit():
    with Vm(qemu_args('mem=16M-0x1080000 passes=2 report_ms=500'),
            binary=qemu_binary(), name='guest', qmp=False) as vm:
        rc = vm.wait_exit(90)
        out = vm.serial()
        check(rc == EXIT_DONE,
              f'exit status {rc}, expected {EXIT_DONE}:\n{out}')
        check('stress: done pass=2' in out, out)
        check('MISMATCH' not in out, out)
        print('passes=2: exit', rc)


def test_bad_arg():
    with Vm(qemu_args('rate=fast'), binary=qemu_binary(), name='guest',
            qmp=False) as vm:
        rc = vm.wait_exit(30)
        out = vm.serial()
        check(rc == EXIT_BADARG, f'exit status {rc}, expected {EXIT_BADARG}')
        check("stress: error: bad argument 'rate=fast'" in out, out)
        print('bad argument: exit', rc)


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 not installed')
    if not os.path.exists(guest_elf()):
        skip(f'{guest_elf()} not built')
    test_progress()
    test_passes_exit()
    test_bad_arg()


if __name__ == '__main__':
    main()
