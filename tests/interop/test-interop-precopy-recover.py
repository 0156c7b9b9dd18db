#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-precopy-recover: x-precopy-recover (Tern only) changes
nothing towards QEMU 7.2 peers.

A -M none guest whose 64 MiB of RAM is a shared file of random content:
  1. Tern with return-path and x-precopy-recover -> QEMU 7.2: QEMU
     answers the negotiation PING like any PING, the migration completes
     as usual, RAM identical.
  2. The same through a proxy that cuts the connection half way: the
     Tern source is not armed, so it fails (no pause), its guest state
     unchanged.
  3. QEMU 7.2 -> Tern with x-precopy-recover: the plain stream, RAM
     identical; a cut half way fails the Tern destination as before
     (exit 1, no pause: QEMU never asked).
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, free_port, incoming_vm,  # noqa: E402
                     poll_migration,
                     qemu_binary, skip, skip_unless_built, start_migration,
                     Vm, wait_migration)
from tern import ramfile  # noqa: E402
from tern.faultproxy import FaultProxy  # noqa: E402
from tern.migration import wait_incoming  # noqa: E402

SIZE = 64 << 20
CAPS = ['return-path', 'x-precopy-recover']


def mem_args(path, binary):
    obj = ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
           f'mem-path={path},share=on']
    args = ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] + obj
    return args + (['-nodefaults'] if binary == 'qemu' else [])


def port_of(uri):
    return int(uri.rsplit(':', 1)[1])


def wait_exit(vm, timeout=20):
    deadline = time.time() + timeout
    while vm.proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    return vm.proc.poll()


def tern_to_qemu(tmp, a):
    b = os.path.join(tmp, 'b.ram')
    ramfile.empty_ram(b, SIZE)
    with Vm(mem_args(a, 'tern') + ['-S'], name='tern-src',
            serial=False) as tsrc:
        with incoming_vm(mem_args(b, 'qemu'), name='qemu-dst',
                         binary=qemu_binary(), serial=False) as qdst:
            start_migration(tsrc, qdst.uri, caps=CAPS)
            wait_migration(tsrc, 60)
            wait_incoming(qdst, 30)
    check(ramfile.same_ram(a, b), 'Tern -> QEMU RAM differs')
    print('Tern x-precopy-recover -> QEMU 7.2: completed, RAM identical')


def tern_to_qemu_cut(tmp, a):
    c = os.path.join(tmp, 'c.ram')
    ramfile.empty_ram(c, SIZE)
    with Vm(mem_args(a, 'tern') + ['-S'], name='tern-src2',
            serial=False) as tsrc:
        with incoming_vm(mem_args(c, 'qemu'), name='qemu-dst2',
                         binary=qemu_binary(), serial=False) as qdst:
            proxy = FaultProxy(port_of(qdst.uri), 'cut', at=SIZE // 2)
            start_migration(tsrc, proxy.uri, caps=CAPS,
                            params={'max-bandwidth': 64 << 20})
            info = poll_migration(tsrc, ('failed', 'completed', 'cancelled',
                                         'precopy-paused'), 60)
            check(info['status'] == 'failed', f'source: {info}')
            check(proxy.fired, 'the proxy did not cut')
            wait_exit(qdst)
            proxy.close()
        check(tsrc.cmd('query-status')['status'] == 'prelaunch',
              tsrc.cmd('query-status'))
    print('Tern x-precopy-recover -> QEMU 7.2, cut: source failed, no '
          f"pause: {info.get('error-desc')}")


def qemu_to_tern(tmp, a):
    d = os.path.join(tmp, 'd.ram')
    ramfile.empty_ram(d, SIZE)
    with Vm(mem_args(a, 'qemu') + ['-S'], binary=qemu_binary(),
            name='qemu-src', serial=False) as qsrc:
        with Vm(mem_args(d, 'tern') + ['-incoming', 'defer'],
                name='tern-dst', serial=False) as tdst:
            tdst.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'x-precopy-recover', 'state': True}])
            port = free_port()
            tdst.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}')
            start_migration(qsrc, f'tcp:127.0.0.1:{port}',
                            caps=['return-path'])
            wait_migration(qsrc, 60)
            wait_incoming(tdst, 30)
    check(ramfile.same_ram(a, d), 'QEMU -> Tern RAM differs')
    print('QEMU 7.2 -> Tern x-precopy-recover: completed, RAM identical')


def qemu_to_tern_cut(tmp, a):
    e = os.path.join(tmp, 'e.ram')
    ramfile.empty_ram(e, SIZE)
    with Vm(mem_args(a, 'qemu') + ['-S'], binary=qemu_binary(),
            name='qemu-src2', serial=False) as qsrc:
        with Vm(mem_args(e, 'tern') + ['-incoming', 'defer'],
                name='tern-dst2', serial=False) as tdst:
            tdst.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'x-precopy-recover', 'state': True}])
            port = free_port()
            tdst.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}')
            proxy = FaultProxy(port, 'cut', at=SIZE // 2)
            start_migration(qsrc, proxy.uri, caps=['return-path'],
                            params={'max-bandwidth': 64 << 20})
            code = wait_exit(tdst)
            check(code == 1, f'Tern destination: exit {code}')
            check('Migration paused' not in tdst.stderr(), tdst.stderr())
            proxy.close()
    print('QEMU 7.2 -> Tern x-precopy-recover, cut: destination failed, '
          'no pause')


def main():
    skip_unless_built()
    if not qemu_binary():
        skip('qemu-system-x86_64 not installed')
    with tempfile.TemporaryDirectory(prefix='tern-iprec-') as tmp:
        a = os.path.join(tmp, 'a.ram')
        ramfile.make_ram(a, SIZE, 11)
        tern_to_qemu(tmp, a)
        tern_to_qemu_cut(tmp, a)
        qemu_to_tern(tmp, a)
        qemu_to_tern_cut(tmp, a)


if __name__ == '__main__':
    main()
