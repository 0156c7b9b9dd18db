#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-qemu-migration: QEMU 7.2 -> Tern -> QEMU 7.2, RAM compared
byte for byte.

A Debian qemu-system-x86_64 `-M none` whose 64 MiB of RAM is a shared
memory-backend-file of known content (random pages, pages of one
repeated byte, zero pages) migrates into `tern -M none,memory-backend=mem
-incoming ...` (its RAM also a shared file); the Tern file must equal the
source file.  Tern then migrates out into a fresh QEMU whose file must
equal it too.  Done over tcp (with the return-path capability on the
second hop, so Tern's source waits for QEMU's SHUT and Tern's destination
answers QEMU's PING/SHUT on the first), and over exec (through files).
Last, Tern -> QEMU over tcp with no capability at all, through a relay
that records what comes back: Tern opens the return path anyway (to learn
the destination's verdict, docs/migration.md section 11) and QEMU 7.2
answers it unconfigured: PONG 1, then SHUT 0 before Tern says completed.
The same over fd: (one half of a socketpair passed to Tern with getfd,
the other relayed to QEMU): a socket fd: asks for the verdict too.
Also checks the run state rule: a -S QEMU source makes the destination
prelaunch.
"""
import os
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (check, incoming_vm,  # noqa: E402
                     qemu_binary, skip, skip_unless_built, start_migration,
                     Vm, wait_migration)
from tern import ramfile  # noqa: E402
from tern.migration import wait_incoming  # noqa: E402

SIZE = 64 << 20


def make_ram(path, seed):
    ramfile.make_ram(path, SIZE, seed)


def empty_ram(path):
    ramfile.empty_ram(path, SIZE)


def mem_args(path, binary):
    obj = ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
           f'mem-path={path},share=on']
    if binary == 'qemu':
        return (['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M',
                 '-nodefaults'] + obj)
    return ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] + obj


def hop(src, dst_args, binary, name):
    """Migrate src over tcp, with the return path, into a new
    destination; return the destination and the source's info."""
    dst = incoming_vm(dst_args, name=name,
                      binary=qemu_binary() if binary == 'qemu' else None,
                      serial=False)
    start_migration(src, dst.uri, caps=['return-path'])
    info = wait_migration(src, 60)
    wait_incoming(dst, 30)
    return dst, info


def run_tcp(tmp):
    a, b, c = (os.path.join(tmp, f'tcp-{n}.ram') for n in 'abc')
    make_ram(a, 1)
    empty_ram(b)
    empty_ram(c)
    with Vm(mem_args(a, 'qemu') + ['-S'], binary=qemu_binary(),
            name='qemu-src', serial=False) as qsrc:
        tdst, _ = hop(qsrc, mem_args(b, 'tern'), 'tern', 'tern-dst')
    with tdst:
        check(ramfile.same_ram(a, b), 'tcp: QEMU -> Tern RAM differs')
        status = tdst.cmd('query-status')['status']
        check(status == 'prelaunch', f'tcp: Tern state {status}')
        qdst, info = hop(tdst, mem_args(c, 'qemu'), 'qemu', 'qemu-dst')
        with qdst:
            check(ramfile.same_ram(b, c), 'tcp: Tern -> QEMU RAM differs')
            check(qdst.cmd('query-status')['status'] == 'prelaunch',
                  'tcp: QEMU state')
    print(f'tcp: QEMU -> Tern -> QEMU identical (Tern sent '
          f'{info["ram"]["transferred"] >> 10} KiB, '
          f'{info["ram"]["duplicate"]} zero pages)')


def run_exec(tmp):
    a, b, c = (os.path.join(tmp, f'exec-{n}.ram') for n in 'abc')
    s1, s2 = (os.path.join(tmp, f'exec-{n}.mig') for n in '12')
    make_ram(a, 2)
    empty_ram(b)
    empty_ram(c)
    with Vm(mem_args(a, 'qemu'), binary=qemu_binary(), name='qemu-src',
            serial=False) as qsrc:
        qsrc.cmd('migrate', uri=f'exec:cat > {s1}')
        wait_migration(qsrc, 60)
    with Vm(mem_args(b, 'tern') + ['-incoming', f'exec:cat {s1}'],
            name='tern-dst', serial=False) as tdst:
        wait_incoming(tdst, 30)
        check(ramfile.same_ram(a, b), 'exec: QEMU -> Tern RAM differs')
        # QEMU's source ran (no -S): globalstate "running" -> running
        check(tdst.cmd('query-status')['status'] == 'running',
              'exec: Tern state')
        tdst.cmd('migrate', uri=f'exec:cat > {s2}')
        wait_migration(tdst, 60)
    with Vm(mem_args(c, 'qemu') + ['-incoming', f'exec:cat {s2}'],
            binary=qemu_binary(), name='qemu-dst', serial=False) as qdst:
        wait_incoming(qdst, 30)
        check(ramfile.same_ram(b, c), 'exec: Tern -> QEMU RAM differs')
        check(qdst.cmd('query-status')['status'] == 'running',
              'exec: QEMU state')
    print('exec: QEMU -> Tern -> QEMU identical')


class Relay:
    """Forward one tcp connection (or conn, already connected) to port;
    keep the bytes sent back."""

    def __init__(self, port, conn=None):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.back = b''
        threading.Thread(target=self._run, args=(port, conn),
                         daemon=True).start()

    def _run(self, port, conn):
        c = conn or self.lsock.accept()[0]
        u = socket.create_connection(('127.0.0.1', port))
        threading.Thread(target=self._pump, args=(c, u, False),
                         daemon=True).start()
        self._pump(u, c, True)

    def _pump(self, a, b, keep):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                if keep:
                    self.back += data
                b.sendall(data)
        except OSError:
            return


def run_verdict(tmp, fd=False):
    """Tern -> QEMU with no capability, over tcp or (fd) fd: of a
    socketpair: QEMU answers the return path Tern opens anyway."""
    what = 'fd' if fd else 'tcp'
    a, b = (os.path.join(tmp, f'verdict-{what}-{n}.ram') for n in 'ab')
    make_ram(a, 4 if fd else 3)
    empty_ram(b)
    with Vm(mem_args(a, 'tern') + ['-S'], name='tern-src',
            serial=False) as src:
        dst = incoming_vm(mem_args(b, 'qemu'), binary=qemu_binary(),
                          name='qemu-dst', serial=False)
        with dst:
            port = int(dst.uri.rsplit(':', 1)[1])
            if fd:
                ours, theirs = socket.socketpair()
                relay = Relay(port, conn=ours)
                src.qmp.getfd(theirs.fileno(), 'migfd')
                theirs.close()
                src.cmd('migrate', uri='fd:migfd')
            else:
                relay = Relay(port)
                src.cmd('migrate', uri=f'tcp:127.0.0.1:{relay.port}')
            info = wait_migration(src, 60)
            wait_incoming(dst, 30)
            check(ramfile.same_ram(a, b), f'verdict {what}: RAM differs')
    pong, shut = bytes.fromhex('0002000400000001'), \
        bytes.fromhex('0001000400000000')
    check(relay.back.startswith(pong) and relay.back.endswith(shut),
          f'verdict {what}: QEMU sent back {relay.back.hex()}')
    print(f'{what}, no capability: Tern -> QEMU {info["status"]}; QEMU '
          f'answered the return path: {relay.back.hex()}')


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-interop-') as tmp:
        run_tcp(tmp)
        run_exec(tmp)
        run_verdict(tmp)
        run_verdict(tmp, fd=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
