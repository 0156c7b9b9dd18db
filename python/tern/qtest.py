# SPDX-License-Identifier: GPL-2.0-or-later
"""A client of Tern's -qtest protocol (QEMU's qtest subset: system/qtest.c),
to write and read guest RAM of a running process without a vCPU.

    qt = QTestListener(tmpdir)              # listens before the VM starts
    vm = Vm(args + qt.args())               # tern connects at start-up
    qt.accept()
    qt.writeq(0x1000, 0x1122334455667788)
    data = qt.read(0x1000, 8)
"""
import os
import socket


class QTestError(RuntimeError):
    pass


class QTestListener:
    """The socket a tern started with args() connects to; accept() then
    returns self, ready for commands."""

    def __init__(self, tmpdir, name='qtest'):
        self.path = os.path.join(tmpdir, f'{name}.sock')
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(1)
        self.sock = None
        self.rfile = None

    def args(self):
        return ['-qtest', f'unix:{self.path}']

    def accept(self, timeout=30.0):
        self.lsock.settimeout(timeout)
        self.sock, _ = self.lsock.accept()
        self.sock.settimeout(timeout)
        self.rfile = self.sock.makefile('rb')
        return self

    def close(self):
        for s in (self.rfile, self.sock, self.lsock):
            if s is not None:
                s.close()

    def cmd(self, line):
        """Send one command; return the reply after 'OK' ('' if none);
        QTestError on a FAIL."""
        self.sock.sendall(line.encode() + b'\n')
        reply = self.rfile.readline().decode().strip()
        if not reply.startswith('OK'):
            raise QTestError(f'{line}: {reply}')
        return reply[3:]

    def writeq(self, addr, value):
        self.cmd(f'writeq {addr:#x} {value:#x}')

    def readq(self, addr):
        return int(self.cmd(f'readq {addr:#x}'), 16)

    def write(self, addr, data):
        self.cmd(f'write {addr:#x} {len(data)} 0x{data.hex()}')

    def read(self, addr, size):
        return bytes.fromhex(self.cmd(f'read {addr:#x} {size}')[2:])
