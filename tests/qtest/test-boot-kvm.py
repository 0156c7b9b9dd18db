#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-boot-kvm: the pc-lite machine boots the stress guest under KVM.

Proves, with one real tern process each:
  1. build/tern -accel kvm -M pc-lite -m 128M -kernel stress.elf
     -append 'mem=16M-112M rate=64' prints 'stress: ok' on the serial port;
  2. QMP stop/cont stop and restart the guest (STOP/RESUME events, status,
     serial output frozen while paused);
  3. dump-guest-memory (paging=false) writes an ELF64 core with one PT_LOAD
     covering the 128 MiB of RAM, holding the kernel's bytes where the
     loader put them and the multiboot command line with tsc_khz=;
  4. HMP xp (over human-monitor-command) prints QEMU's layout and the same
     bytes as the dump;
  5. a guest writing v to the debug-exit port 0x501 ends tern with status
     (v << 1) | 1;
  6. a guest triple fault stops the VM in internal-error with a message;
     system_reset (QMP and HMP) restarts the guest from its entry point;
  7. a bad -kernel (missing, not multiboot, truncated) is a clear error.
Skipped (exit 77) when /dev/kvm cannot be opened or the guest is not built.
"""
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, code_debug_exit, CODE_HLT_LOOP,  # noqa
                     code_serial_puts, CODE_UD2, elf_load_segments, guest_elf,
                     have_kvm, skip, skip_unless_built, stress_args,
                     tern_binary, tiny_multiboot_elf, Vm)
import subprocess  # noqa: E402

RAM = 128 << 20


def xp_expected(addr, data, size):
    """QEMU's xp /Nx{b,h,w,g} layout for data read at addr."""
    line = 8 if size == 1 else 16
    out = ''
    for off in range(0, len(data), line):
        chunk = data[off:off + line]
        out += '%016x:' % (addr + off)
        for i in range(0, len(chunk), size):
            v = int.from_bytes(chunk[i:i + size], 'little')
            out += ' 0x%0*x' % (size * 2, v)
        out += '\r\n'
    return out


def read_dump(path, gpa, length):
    info = elf_load_segments(path)
    with open(path, 'rb') as f:
        for s in info['segments']:
            if s['paddr'] <= gpa and gpa + length <= s['paddr'] + s['filesz']:
                f.seek(s['offset'] + gpa - s['paddr'])
                return f.read(length)
    raise AssertionError(f'0x{gpa:x} not in the dump')


def test_stress_boot_stop_cont_dump_xp(tmp):
    elf = guest_elf()
    args = stress_args('kvm', 'mem=16M-112M rate=64', '128M')
    with Vm(args, name='boot') as vm:
        vm.wait_serial('stress: ok', timeout=30)
        check(vm.cmd('query-status')['status'] == 'running', 'not running')

        # stop: STOP event, paused, serial output frozen
        vm.cmd('stop')
        vm.qmp.wait_event('STOP', timeout=10)
        check(vm.cmd('query-status')['status'] == 'paused', 'not paused')
        n = len(vm.serial())
        time.sleep(1.5)
        check(len(vm.serial()) == n, 'guest printed while paused')

        # dump while paused
        dump = os.path.join(tmp, 'dump.elf')
        vm.cmd('dump-guest-memory', paging=False, protocol='file:' + dump)
        info = elf_load_segments(dump)
        check(info['type'] == 4, f"e_type {info['type']} is not ET_CORE")
        check(info['machine'] == 62, f"e_machine {info['machine']}")
        segs = info['segments']
        check(len(segs) == 1, f'{len(segs)} PT_LOAD segments, expected 1')
        check(segs[0]['paddr'] == 0 and segs[0]['filesz'] == RAM and
              segs[0]['memsz'] == RAM, f'bad PT_LOAD {segs[0]}')
        check(info['size'] >= segs[0]['offset'] + RAM, 'dump file too short')

        # the kernel's loaded bytes are where its PT_LOADs said
        kinfo = elf_load_segments(elf)
        with open(elf, 'rb') as f:
            kdata = f.read()
        text = kinfo['segments'][0]
        n = min(text['filesz'], 4096)
        want = kdata[text['offset']:text['offset'] + n]
        check(read_dump(dump, text['paddr'], n) == want,
              'kernel bytes in the dump differ from the ELF')

        # multiboot command line somewhere after the kernel: has tsc_khz=
        low = read_dump(dump, 0x100000, 4 << 20)
        check(b'mem=16M-112M rate=64 tsc_khz=' in low,
              'multiboot command line with tsc_khz= not found')

        # xp: QEMU's layout, same bytes as the dump (VM still paused)
        for fmt, size, count in (('4xw', 4, 4), ('8xb', 1, 8),
                                 ('2xg', 8, 2), ('6xh', 2, 6)):
            for gpa in (text['paddr'], 16 << 20, RAM - 64):
                got = vm.hmp(f'xp /{fmt} 0x{gpa:x}')
                exp = xp_expected(gpa, read_dump(dump, gpa, size * count),
                                  size)
                check(got == exp, f'xp /{fmt} 0x{gpa:x}:\n{got!r}\n'
                      f'expected\n{exp!r}')
        got = vm.hmp(f'xp /4xw 0x{RAM:x}')
        check('Cannot access memory' in got, f'xp past RAM: {got!r}')

        # HMP dump-guest-memory too
        dump2 = os.path.join(tmp, 'dump2.elf')
        out = vm.hmp(f'dump-guest-memory {dump2}')
        check(out.strip() == '', f'HMP dump-guest-memory said {out!r}')
        check(read_dump(dump2, 16 << 20, 65536) ==
              read_dump(dump, 16 << 20, 65536),
              'two dumps of a paused VM differ')

        # cont: RESUME, output resumes
        vm.cmd('cont')
        vm.qmp.wait_event('RESUME', timeout=10)
        check(vm.cmd('query-status')['status'] == 'running', 'not running')
        vm.wait_serial('stress: ok', timeout=20, start=len(vm.serial()))

        err = vm.qmp.cmd_raw('dump-guest-memory',
                             {'paging': False, 'protocol': 'tcp:1'})
        check('error' in err, 'bad protocol accepted')


def test_debug_exit(tmp):
    elf = tiny_multiboot_elf(os.path.join(tmp, 'exit.elf'),
                             code_serial_puts('bye\n') + code_debug_exit(3))
    with Vm(['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel', elf],
            name='exit', qmp=False) as vm:
        status = vm.wait_exit(timeout=20)
        check(status == 7, f'exit status {status}, expected 7')
        check('bye' in vm.serial(), 'serial output missing')


def test_triple_fault(tmp):
    elf = tiny_multiboot_elf(os.path.join(tmp, 'ud2.elf'), CODE_UD2)
    with Vm(['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel', elf],
            name='fault') as vm:
        deadline = time.time() + 15
        while vm.cmd('query-status')['status'] != 'internal-error':
            check(time.time() < deadline, 'no internal-error state')
            time.sleep(0.1)
        check('triple fault' in vm.stderr(), f'stderr: {vm.stderr()!r}')
        err = vm.qmp.cmd_raw('cont')
        check('error' in err, 'cont after internal-error accepted')
        # system_reset: prelaunch, then cont runs the guest again
        vm.cmd('system_reset')
        vm.qmp.wait_event('RESET', timeout=10)
        check(vm.cmd('query-status')['status'] == 'prelaunch',
              'not prelaunch after reset')
        vm.cmd('cont')
        deadline = time.time() + 15
        while vm.cmd('query-status')['status'] != 'internal-error':
            check(time.time() < deadline, 'no second internal-error')
            time.sleep(0.1)
        check(vm.stderr().count('triple fault') == 2,
              f'second triple fault not reported: {vm.stderr()!r}')


def test_system_reset(tmp):
    elf = tiny_multiboot_elf(os.path.join(tmp, 'hi.elf'),
                             code_serial_puts('hi\n') + CODE_HLT_LOOP)
    with Vm(['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel', elf],
            name='reset') as vm:
        vm.wait_serial('hi\n', timeout=15)
        vm.cmd('system_reset')
        vm.qmp.wait_event('RESET', timeout=10)
        vm.wait_serial('hi\nhi\n', timeout=15)
        check(vm.cmd('query-status')['status'] == 'running', 'not running')
        out = vm.hmp('system_reset')
        check(out == '', f'HMP system_reset said {out!r}')
        vm.wait_serial('hi\nhi\nhi\n', timeout=15)


def run_tern_fail(args):
    p = subprocess.run([tern_binary(), '-display', 'none', '-serial', 'none']
                       + args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    return p.returncode, p.stderr.decode(errors='replace')


def test_bad_kernel(tmp):
    base = ['-accel', 'kvm', '-M', 'pc-lite', '-m', '16M', '-kernel']
    rc, err = run_tern_fail(base + [os.path.join(tmp, 'missing.elf')])
    check(rc != 0 and 'could not load kernel' in err and 'missing.elf' in err,
          f'missing kernel: rc={rc} {err!r}')

    notmb = os.path.join(tmp, 'notmb.bin')
    with open(notmb, 'wb') as f:
        f.write(b'\x7fELF' + bytes(9000))
    rc, err = run_tern_fail(base + [notmb])
    check(rc != 0 and 'multiboot' in err and 'notmb.bin' in err,
          f'non-multiboot kernel: rc={rc} {err!r}')

    good = tiny_multiboot_elf(os.path.join(tmp, 'good.elf'), CODE_HLT_LOOP)
    with open(good, 'rb') as f:
        data = f.read()
    trunc = os.path.join(tmp, 'trunc.elf')
    with open(trunc, 'wb') as f:
        f.write(data[:60])          # header and half a program header
    rc, err = run_tern_fail(base + [trunc])
    check(rc != 0 and 'trunc.elf' in err and 'Segmentation' not in err,
          f'truncated kernel: rc={rc} {err!r}')

    # load address far outside the 16 MiB of RAM
    far = tiny_multiboot_elf(os.path.join(tmp, 'far.elf'), CODE_HLT_LOOP,
                             load=0x40000000)
    rc, err = run_tern_fail(base + [far])
    check(rc != 0 and 'does not fit in guest RAM' in err,
          f'out-of-RAM kernel: rc={rc} {err!r}')


def main():
    if not have_kvm():
        skip('/dev/kvm cannot be opened (no KVM on this host)')
    skip_unless_built()
    have_guest = os.path.exists(guest_elf())
    with tempfile.TemporaryDirectory(prefix='test-boot-kvm-') as tmp:
        test_debug_exit(tmp)
        test_bad_kernel(tmp)
        test_triple_fault(tmp)
        test_system_reset(tmp)
        if have_guest:
            test_stress_boot_stop_cont_dump_xp(tmp)
        else:
            print(f'note: {guest_elf()} not built: stress boot part skipped')
    print('test-boot-kvm: all checks passed')


if __name__ == '__main__':
    main()
