#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-qemu-postcopy: postcopy-ram QEMU 7.2 -> Tern -> QEMU 7.2,
RAM compared byte for byte.

A QEMU `-M none` whose 64 MiB of RAM is a shared file of known content
migrates into a Tern `-M none` with memory-backend-ram (userfaultfd needs
anonymous memory), precopy throttled by max-bandwidth, then
migrate-start-postcopy with max-postcopy-bandwidth so the bulk takes a
few seconds; meanwhile HMP `xp` on the destination reads pages the
stream has not brought yet, which fault and are requested from the
source (postcopy-requests grows) and must read as in the file.  Tern
then migrates the same way into a QEMU with memory-backend-ram, read
with `xp` during postcopy too; at the end that QEMU's RAM is saved with
pmemsave and must equal the original file.  With --preempt, the same
with postcopy-preempt on both sides.
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, incoming_vm, poll_migration,  # noqa: E402
                     qemu_binary, skip, skip_unless_built, start_migration,
                     Vm, wait_migration)
from tern import ramfile  # noqa: E402

SIZE = 64 << 20
PRECOPY_BW = 8 << 20
POSTCOPY_BW = 16 << 20
# pages read on the destination during postcopy: near the end of RAM,
# which the throttled precopy has not reached yet
PROBES = [SIZE - (k * 97 + 3) * 4096 for k in range(8)]
# --preempt: the same with postcopy-preempt on both sides (requested
# pages on the second channel)
PREEMPT = '--preempt' in sys.argv[1:]


def make_ram(path, seed):
    ramfile.make_ram(path, SIZE, seed)


def file_args(path):
    return ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M',
            '-nodefaults', '-object',
            f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
            f'mem-path={path},share=on']


def ram_args(binary):
    args = ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M',
            '-object', f'memory-backend-ram,id=mem,size={SIZE >> 20}M']
    return args + (['-nodefaults'] if binary == 'qemu' else [])


def xp_words(vm, addr):
    """Four 32-bit words at guest physical addr, read with HMP xp."""
    out = vm.hmp(f'xp /4xw {addr:#x}')
    words = re.findall(r'0x([0-9a-f]+)', out.split(':', 1)[1])
    check(len(words) == 4, f'{vm.name}: xp output {out!r}')
    return [int(w, 16) for w in words]


def file_words(path, addr):
    with open(path, 'rb') as f:
        f.seek(addr)
        data = f.read(16)
    return [int.from_bytes(data[i:i + 4], 'little') for i in range(0, 16, 4)]


def postcopy_hop(src, dst_binary, name, ref):
    """Migrate src into a new memory-backend-ram destination in postcopy,
    reading PROBES there during postcopy; returns (dst, source info)."""
    dst = incoming_vm(ram_args(dst_binary), name=name,
                      binary=qemu_binary() if dst_binary == 'qemu' else None,
                      serial=False)
    caps = ['postcopy-ram'] + (['postcopy-preempt'] if PREEMPT else [])
    start_migration(src, dst.uri, dst, caps=caps,
                    params={'max-bandwidth': PRECOPY_BW,
                            'max-postcopy-bandwidth': POSTCOPY_BW},
                    dst_caps=caps)
    poll_migration(src, ('active',), 20)
    time.sleep(1)
    src.cmd('migrate-start-postcopy')
    poll_migration(dst, ('postcopy-active',), 20)
    for addr in PROBES:
        got = xp_words(dst, addr)
        check(got == file_words(ref, addr),
              f'{name}: page {addr:#x} reads {got}, want '
              f'{file_words(ref, addr)}')
    info = wait_migration(src, 60)
    poll_migration(dst, ('completed',), 30)
    return dst, info


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-postcopy-') as tmp:
        ref, out = os.path.join(tmp, 'a.ram'), os.path.join(tmp, 'c.ram')
        make_ram(ref, 3)
        with Vm(file_args(ref), binary=qemu_binary(), name='qemu-src',
                serial=False) as qsrc:
            tdst, qinfo = postcopy_hop(qsrc, 'tern', 'tern-dst', ref)
        with tdst:
            qdst, tinfo = postcopy_hop(tdst, 'qemu', 'qemu-dst', ref)
            with qdst:
                qdst.cmd('pmemsave', val=0, size=SIZE, filename=out)
                with open(ref, 'rb') as a, open(out, 'rb') as c:
                    check(a.read() == c.read(),
                          'QEMU -> Tern -> QEMU postcopy: RAM differs')
        for who, info in (('QEMU', qinfo), ('Tern', tinfo)):
            ram = info['ram']
            print(f'{who} source: postcopy-bytes {ram["postcopy-bytes"]}, '
                  f'postcopy-requests {ram["postcopy-requests"]}')
            check(ram['postcopy-bytes'] > 0, f'{who}: no postcopy: {info}')
            check(ram['postcopy-requests'] > 0, f'{who}: no requests: {info}')
    print(f'postcopy{" (preempt)" if PREEMPT else ""}: QEMU -> Tern -> '
          f'QEMU identical')
    return 0


if __name__ == '__main__':
    sys.exit(main())
