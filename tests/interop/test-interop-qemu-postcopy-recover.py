#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-qemu-postcopy-recover: postcopy recovery between QEMU 7.2
and Tern, both ways, RAM compared byte for byte.

As test-interop-qemu-postcopy (whose helpers it uses): QEMU `-M none`
with 64 MiB of known RAM -> Tern -> QEMU, each hop in postcopy with
max-postcopy-bandwidth low.  In each hop, after a few destination pages
were read (faulted and requested), migrate-pause breaks the
connection: on QEMU's side (its source in the first hop, its
destination in the second), with --preempt on Tern's side (its
destination, then its source); both sides must report
postcopy-paused; migrate-recover on a new port and migrate with
resume: true bring both to postcopy-active through QEMU's RECV_BITMAP /
POSTCOPY_RESUME / RESUME_ACK exchange; more pages are read, the hop
completes.  The last QEMU's RAM (pmemsave) must equal the original
file: no page lost or stale across two recoveries.  With --preempt,
postcopy-preempt is on on both sides too.
"""
import importlib.util
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, free_port, incoming_vm,  # noqa: E402
                     poll_migration, qemu_binary, skip, skip_unless_built,
                     start_migration, Vm, wait_migration)

_spec = importlib.util.spec_from_file_location(
    'interop_postcopy', os.path.join(os.path.dirname(
        os.path.abspath(__file__)), 'test-interop-qemu-postcopy.py'))
pc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pc)

SLOW = 2 << 20
# --preempt: the same with postcopy-preempt on both sides (a recovery
# opens both channels again)
PREEMPT = '--preempt' in sys.argv[1:]


def probe(dst, ref, addrs, name):
    for addr in addrs:
        got = pc.xp_words(dst, addr)
        check(got == pc.file_words(ref, addr),
              f'{name}: page {addr:#x} reads {got}, want '
              f'{pc.file_words(ref, addr)}')


def recover_hop(src, dst_binary, name, ref, pause_on_src):
    dst = incoming_vm(pc.ram_args(dst_binary), name=name,
                      binary=qemu_binary() if dst_binary == 'qemu' else None,
                      serial=False)
    caps = ['postcopy-ram', 'events'] + (['postcopy-preempt']
                                          if PREEMPT else [])
    start_migration(src, dst.uri, dst, caps=caps,
                    params={'max-bandwidth': pc.PRECOPY_BW,
                            'max-postcopy-bandwidth': SLOW},
                    dst_caps=caps)
    poll_migration(src, ('active',), 20)
    time.sleep(1)
    src.cmd('migrate-start-postcopy')
    poll_migration(dst, ('postcopy-active',), 20)
    probe(dst, ref, pc.PROBES[:3], name)
    (src if pause_on_src else dst).cmd('migrate-pause')
    for vm in (src, dst):
        info = poll_migration(vm, ('postcopy-paused', 'failed', 'completed'),
                              20, 0.02)
        check(info['status'] == 'postcopy-paused', f'{vm.name}: {info}')
    port = free_port()
    dst.cmd('migrate-recover', uri=f'tcp:127.0.0.1:{port}')
    src.cmd('migrate-set-parameters', **{'max-postcopy-bandwidth':
                                         pc.POSTCOPY_BW})
    src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}', resume=True)
    for vm in (src, dst):
        # QEMU connects in the background: still paused for a moment
        info = poll_migration(vm, ('postcopy-active', 'completed', 'failed'),
                              20, 0.02)
        check(info['status'] in ('postcopy-active', 'completed'),
              f'{vm.name} after recovery: {info}')
    probe(dst, ref, pc.PROBES[3:], name)
    info = wait_migration(src, 60)
    poll_migration(dst, ('completed',), 30)
    for vm in (src, dst):
        seen = [e['data']['status'] for e in vm.qmp.events
                if e['event'] == 'MIGRATION']
        check('postcopy-paused' in seen and 'postcopy-recover' in seen,
              f'{vm.name}: MIGRATION events {seen}')
    return dst, info


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-pc-recover-') as tmp:
        ref, out = os.path.join(tmp, 'a.ram'), os.path.join(tmp, 'c.ram')
        pc.make_ram(ref, 5)
        with Vm(pc.file_args(ref), binary=qemu_binary(), name='qemu-src',
                serial=False) as qsrc:
            # plain: QEMU pauses (its source, then its destination);
            # --preempt: Tern pauses (its destination, then its source)
            tdst, qinfo = recover_hop(qsrc, 'tern', 'tern-dst', ref,
                                      not PREEMPT)
        with tdst:
            qdst, tinfo = recover_hop(tdst, 'qemu', 'qemu-dst', ref,
                                      PREEMPT)
            with qdst:
                qdst.cmd('pmemsave', val=0, size=pc.SIZE, filename=out)
                with open(ref, 'rb') as a, open(out, 'rb') as c:
                    check(a.read() == c.read(),
                          'QEMU -> Tern -> QEMU with recoveries: RAM differs')
        for who, info in (('QEMU', qinfo), ('Tern', tinfo)):
            ram = info['ram']
            print(f'{who} source: postcopy-bytes {ram["postcopy-bytes"]}, '
                  f'postcopy-requests {ram["postcopy-requests"]}')
    print(f'postcopy recovery{" (preempt)" if PREEMPT else ""}: QEMU -> '
          f'Tern -> QEMU identical')
    return 0


if __name__ == '__main__':
    sys.exit(main())
