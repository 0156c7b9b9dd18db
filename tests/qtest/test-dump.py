#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-dump: RAM backends, xp, info ramblock and dump-guest-memory on -M none.

Proves, without needing a guest or KVM:
  1. memory-backend-file,share=on maps an existing file's content as guest
     RAM (RAM block named after the object id, shown by info ramblock in
     QEMU's layout);
  2. HMP xp prints those bytes in QEMU's layout;
  3. QMP and HMP dump-guest-memory write an ELF64 core whose PT_LOAD holds
     exactly the file's bytes; begin/length restrict it to a range;
  4. -M none -m 64M has one block "ram" of 64 MiB (QEMU's name), memfd
     backends work, and bad backends/arguments give QEMU's error texts;
  5. when qemu-system-x86_64 is installed: xp in every format and info
     ramblock print exactly what QEMU 7.2 prints for the same memory file.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, elf_load_segments, qemu_binary,  # noqa
                     skip_unless_built, tern_binary, Vm)

SIZE = 32 << 20


def pattern(size):
    # 4 KiB pages, each starting with its page number, then a fill byte
    out = bytearray()
    for page in range(size // 4096):
        out += page.to_bytes(4, 'little') + bytes([page & 0xff]) * 4092
    return bytes(out)


def segment_bytes(path, seg):
    with open(path, 'rb') as f:
        f.seek(seg['offset'])
        return f.read(seg['filesz'])


def test_file_backend(tmp):
    memfile = os.path.join(tmp, 'guest.ram')
    data = pattern(SIZE)
    with open(memfile, 'wb') as f:
        f.write(data)
    args = ['-object', f'memory-backend-file,id=mem,size=32M,'
            f'mem-path={memfile},share=on',
            '-machine', 'none,memory-backend=mem', '-m', '32M']
    with Vm(args, name='file', serial=False) as vm:
        rb = vm.hmp('info ramblock')
        check(rb.splitlines()[0].split() ==
              ['Block', 'Name', 'PSize', 'Offset', 'Used', 'Total'],
              f'info ramblock header: {rb!r}')
        check(rb.splitlines()[1].split() ==
              ['mem', '4', 'KiB', '0x0000000000000000',
               '0x0000000002000000', '0x0000000002000000'],
              f'info ramblock: {rb!r}')

        got = vm.hmp('xp /4xw 0x5000')
        check(got == '0000000000005000: 0x00000005 0x05050505 0x05050505 '
              '0x05050505\r\n', f'xp: {got!r}')

        dump = os.path.join(tmp, 'all.elf')
        vm.cmd('dump-guest-memory', paging=False, protocol='file:' + dump)
        info = elf_load_segments(dump)
        segs = info['segments']
        check(len(segs) == 1 and segs[0]['paddr'] == 0 and
              segs[0]['filesz'] == SIZE, f'PT_LOADs: {segs}')
        check(segment_bytes(dump, segs[0]) == data,
              'dump content differs from the backing file')

        part = os.path.join(tmp, 'part.elf')
        vm.cmd('dump-guest-memory', paging=False, protocol='file:' + part,
               begin=0x3000, length=0x2000)
        segs = elf_load_segments(part)['segments']
        check(len(segs) == 1 and segs[0]['paddr'] == 0x3000 and
              segs[0]['filesz'] == 0x2000, f'ranged PT_LOADs: {segs}')
        check(segment_bytes(part, segs[0]) == data[0x3000:0x5000],
              'ranged dump content')

        hmp = os.path.join(tmp, 'hmp.elf')
        out = vm.hmp(f'dump-guest-memory {hmp} 0x1000 0x1000')
        check(out == '', f'HMP dump said {out!r}')
        segs = elf_load_segments(hmp)['segments']
        check(segment_bytes(hmp, segs[0]) == data[0x1000:0x2000],
              'HMP ranged dump content')

        for bad, text in (
                ({'paging': False, 'protocol': 'tcp:x'},
                 "Parameter 'protocol' expects protocol starting with "
                 "'file:' or 'fd:'"),
                ({'protocol': 'file:' + hmp}, "Parameter 'paging' is missing"),
                ({'paging': False, 'protocol': 'file:' + hmp, 'begin': 0},
                 "Parameter 'length' is missing")):
            r = vm.qmp.cmd_raw('dump-guest-memory', bad)
            check('error' in r and r['error']['desc'] == text,
                  f'{bad}: {r}')


def test_default_ram_and_memfd(tmp):
    with Vm(['-M', 'none', '-m', '64M'], name='none', serial=False) as vm:
        rb = vm.hmp('info ramblock').splitlines()
        check(len(rb) == 2 and rb[1].split()[0] == 'ram' and
              rb[1].split()[4] == '0x0000000004000000', f'{rb}')
    with Vm(['-object', 'memory-backend-memfd,id=m2,size=16M',
             '-M', 'none,memory-backend=m2'], name='memfd',
            serial=False) as vm:
        rb = vm.hmp('info ramblock').splitlines()
        check(rb[1].split()[0] == 'm2', f'{rb}')
        check(vm.hmp('xp /2xg 0x8') ==
              '0000000000000008: 0x0000000000000000 0x0000000000000000\r\n',
              'memfd RAM not zero')


def test_backend_errors(tmp):
    cases = [
        (['-object', 'memory-backend-ram,id=m,size=32M',
          '-M', 'none,memory-backend=m', '-m', '64M'],
         'Machine memory size does not match the size of the memory '
         'backend'),
        (['-M', 'none,memory-backend=zz', '-m', '64M'],
         "Memory backend 'zz' not found"),
        (['-object', 'memory-backend-file,id=m,size=32M,'
          'mem-path=/nonexistent/x', '-M', 'none,memory-backend=m'],
         "can't open backing store /nonexistent/x for guest RAM: No such "
         "file or directory"),
        (['-object', 'memory-backend-file,id=m,size=32M',
          '-M', 'none,memory-backend=m'], "Parameter 'mem-path' is missing"),
        (['-object', 'memory-backend-ram,id=m', '-M',
          'none,memory-backend=m'], "Parameter 'size' is missing"),
    ]
    for args, text in cases:
        p = subprocess.run([tern_binary(), '-display', 'none', '-serial',
                            'none'] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        err = p.stderr.decode(errors='replace')
        check(p.returncode != 0 and text in err,
              f'{args}: rc={p.returncode} stderr={err!r}')


def test_xp_matches_qemu(tmp):
    """Same memory file under QEMU and tern: identical xp/info output."""
    if not qemu_binary():
        print('note: qemu-system-x86_64 not installed: QEMU comparison '
              'skipped')
        return
    memfile = os.path.join(tmp, 'cmp.ram')
    data = bytearray(pattern(SIZE))
    data[0x2000:0x2010] = b"A\n'\\\x01\xff\x80zZ09~ \r\t\x7f"
    with open(memfile, 'wb') as f:
        f.write(data)
    cmds = ['xp /4xw 0x1000', 'xp /3xb 0x2000', 'xp /17xb 0x2000',
            'xp /2xg 0x2008', 'xp /5xh 0x3000', 'xp /3dw 0x2000',
            'xp /3uh 0x2000', 'xp /2ow 0x2000', 'xp /16cb 0x2000',
            'xp 0x2004', 'xp /2x 0x4000000', 'xp /2xw 0x1fffffc',
            'xp /3dg 0x2000', 'xp /3zw 0', 'info ramblock']
    out = {}
    for name, binary, extra in (('qemu', qemu_binary(), ['-nodefaults']),
                                ('tern', None, [])):
        args = ['-object', f'memory-backend-file,id=mem,size=32M,'
                f'mem-path={memfile},share=on',
                '-machine', 'none,memory-backend=mem', '-m', '32M'] + extra
        with Vm(args, binary=binary, name=name, serial=False,
                tmpdir=tmp) as vm:
            out[name] = [vm.hmp(c) for c in cmds]
    for c, q, t in zip(cmds, out['qemu'], out['tern']):
        check(q == t, f'{c}: QEMU {q!r} tern {t!r}')


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='test-dump-') as tmp:
        test_file_backend(tmp)
        test_default_ram_and_memfd(tmp)
        test_backend_errors(tmp)
        test_xp_matches_qemu(tmp)
    print('test-dump: all checks passed')


if __name__ == '__main__':
    main()
