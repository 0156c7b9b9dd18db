#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-checkpoint: checkpoint-assisted migration leaves QEMU 7.2
peers with the ordinary stream.

A checkpoint (Tern dump-guest-memory) of a -M none guest whose 64 MiB of
RAM is a shared file of known content exists on the host.
  1. QEMU 7.2 -> Tern started with -checkpoint: QEMU sends its usual
     stream, Tern loads it (RAM identical) and never touches the
     checkpoint (loaded-pages 0, nothing re-requested).
  2. Tern started with -checkpoint -> QEMU 7.2, return-path on,
     x-checkpoint-assisted off: the plain stream, RAM identical.
  3. Tern with x-checkpoint-assisted -> QEMU 7.2 (a misconfiguration):
     QEMU refuses the stream; the Tern source fails with an error
     instead of waiting for an offer that never comes, and its guest
     state is unchanged (it can migrate again).
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, incoming_vm,  # noqa: E402
                     qemu_binary, skip, skip_unless_built, start_migration,
                     Vm, wait_migration)
from tern import ramfile  # noqa: E402
from tern.migration import poll_migration, wait_incoming  # noqa: E402

SIZE = 64 << 20


def mem_args(path, binary):
    obj = ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
           f'mem-path={path},share=on']
    args = ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] + obj
    return args + (['-nodefaults'] if binary == 'qemu' else [])


def take_checkpoint(ram, ckpt):
    with Vm(mem_args(ram, 'tern'), name='tern-ckpt', serial=False) as vm:
        vm.cmd('dump-guest-memory', paging=False, protocol='file:' + ckpt)


def qemu_to_tern(tmp, a, ckpt):
    b = os.path.join(tmp, 'b.ram')
    ramfile.empty_ram(b, SIZE)
    with Vm(mem_args(a, 'qemu') + ['-S'], binary=qemu_binary(),
            name='qemu-src', serial=False) as qsrc:
        with incoming_vm(mem_args(b, 'tern') + ['-checkpoint', ckpt],
                         name='tern-dst', serial=False) as tdst:
            start_migration(qsrc, tdst.uri, caps=['return-path'])
            wait_migration(qsrc, 60)
            info = wait_incoming(tdst, 30)
            c = info.get('checkpoint', {})
            check(c.get('index-status') in ('indexing', 'ready'), c)
            check(c.get('loaded-pages') == 0 and
                  c.get('rerequested-pages') == 0, c)
    check(ramfile.same_ram(a, b), 'QEMU -> Tern RAM differs')
    print('QEMU 7.2 -> Tern with -checkpoint: plain stream, RAM identical')


def tern_to_qemu(tmp, a, ckpt):
    c = os.path.join(tmp, 'c.ram')
    ramfile.empty_ram(c, SIZE)
    with Vm(mem_args(a, 'tern') + ['-S', '-checkpoint', ckpt],
            name='tern-src', serial=False) as tsrc:
        with incoming_vm(mem_args(c, 'qemu'), name='qemu-dst',
                         binary=qemu_binary(), serial=False) as qdst:
            start_migration(tsrc, qdst.uri, caps=['return-path'])
            info = wait_migration(tsrc, 60)
            check('checkpoint' not in info or
                  'pages' not in info['checkpoint'], info)
            wait_incoming(qdst, 30)
    check(ramfile.same_ram(a, c), 'Tern -> QEMU RAM differs')
    print('Tern with -checkpoint -> QEMU 7.2: plain stream, RAM identical')


def tern_assisted_to_qemu(tmp, a):
    with Vm(mem_args(a, 'tern') + ['-S'], name='tern-src2',
            serial=False) as tsrc:
        d = os.path.join(tmp, 'd.ram')
        ramfile.empty_ram(d, SIZE)
        with incoming_vm(mem_args(d, 'qemu'), name='qemu-dst2',
                         binary=qemu_binary(), serial=False) as qdst:
            start_migration(tsrc, qdst.uri,
                            caps=['return-path', 'x-checkpoint-assisted'])
            info = poll_migration(tsrc, timeout=60)
            check(info['status'] == 'failed', info)
            check(info.get('error-desc'), info)
        check(tsrc.cmd('query-status')['status'] == 'prelaunch',
              tsrc.cmd('query-status'))
    print('Tern x-checkpoint-assisted -> QEMU 7.2: refused, source failed '
          f"cleanly: {info['error-desc']}")


def main():
    skip_unless_built()
    if not qemu_binary():
        skip('qemu-system-x86_64 not installed')
    with tempfile.TemporaryDirectory(prefix='tern-ickpt-') as tmp:
        a = os.path.join(tmp, 'a.ram')
        ckpt = os.path.join(tmp, 'ckpt.elf')
        ramfile.make_ram(a, SIZE, 7)
        take_checkpoint(a, ckpt)
        qemu_to_tern(tmp, a, ckpt)
        tern_to_qemu(tmp, a, ckpt)
        tern_assisted_to_qemu(tmp, a)


if __name__ == '__main__':
    main()
