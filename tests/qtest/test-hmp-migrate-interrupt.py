#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-hmp-migrate-interrupt: Ctrl-C during a blocking HMP "migrate".

A source with -monitor stdio (a pipe) and a stress guest migrates at
1 MiB/s to a listening destination with "migrate URI" (no -d).  While the
progress lines come, SIGINT to the source (what a terminal's Ctrl-C
sends) must cancel the migration: the monitor prints that it cancels, the
summary says "Migration cancelled by Ctrl-C; the guest is running here",
the prompt comes back, "info status" says running, the guest keeps
writing to its serial port, and QMP's query-migrate says cancelled.
The same with a real Ctrl-C typed on a pseudo-terminal.
Meanwhile a QMP socket changes a parameter (the documented way to tune a
blocking migration).  A second migration from the same source then
completes.  Without a blocking migrate, SIGINT still ends the process.
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, QMP, skip_unless_built,  # noqa: E402
                     stress_args, tern_binary, Vm, wait_migration)


class StdioMonitor:
    """A tern process whose HMP monitor is its stdin/stdout pipes."""

    def __init__(self, args, tmpdir):
        self.qmp_path = os.path.join(tmpdir, 'src.qmp')
        self.serial_path = os.path.join(tmpdir, 'src.serial')
        self.proc = subprocess.Popen(
            [tern_binary(), '-display', 'none', '-monitor', 'stdio',
             '-qmp', f'unix:{self.qmp_path},server=on,wait=off',
             '-serial', f'file:{self.serial_path}'] + args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.out = b''
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()
        self.qmp = QMP(self.qmp_path)

    def _reader(self):
        while True:
            data = os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                return
            with self.lock:
                self.out += data

    def text(self):
        with self.lock:
            return self.out.decode(errors='replace').replace('\r\n', '\n')

    def send(self, line):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()

    def wait_for(self, needle, start=0, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.text()
            pos = text.find(needle, start)
            if pos >= 0:
                return pos + len(needle)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f'{needle!r} not seen after {start}:\n'
                             f'{self.text()[start:][-3000:]}')

    def serial_len(self):
        try:
            return os.path.getsize(self.serial_path)
        except OSError:
            return 0

    def kill(self):
        self.qmp.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_ctrl_c_cancels(tmpdir):
    port = free_port()
    dst = Vm(stress_args(extra=['-incoming', f'tcp:127.0.0.1:{port}']),
             name='dst')
    src = StdioMonitor(stress_args(), tmpdir)
    try:
        src.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 20})
        src.wait_for('(qemu) ')
        src.send(f'migrate tcp:127.0.0.1:{port}')
        pos = src.wait_for('Ctrl-C cancels the migration')
        pos = src.wait_for('% of RAM sent', pos)
        # a parameter changed over QMP while the monitor waits
        src.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': 2 << 20})
        bw = src.qmp.cmd('query-migrate-parameters')['max-bandwidth']
        check(bw == 2 << 20, f'max-bandwidth during migrate: {bw}')
        pos = src.wait_for('% of RAM sent', pos)
        os.kill(src.proc.pid, signal.SIGINT)
        pos = src.wait_for('Ctrl-C: cancelling the migration', pos)
        pos = src.wait_for('Migration cancelled by Ctrl-C; the guest is '
                           'running here\n(qemu) ', pos)
        check(src.proc.poll() is None, 'the source exited on Ctrl-C')
        status = src.qmp.cmd('query-migrate')['status']
        check(status == 'cancelled', f'query-migrate: {status}')
        src.send('info status')
        src.wait_for('VM status: running', pos)
        before = src.serial_len()
        deadline = time.time() + 10
        while src.serial_len() == before and time.time() < deadline:
            time.sleep(0.1)
        check(src.serial_len() > before,
              'the guest did not write to its serial port after Ctrl-C')
    finally:
        dst.kill()
    # the same source migrates again, to a fresh destination
    port = free_port()
    dst = Vm(stress_args(extra=['-incoming', f'tcp:127.0.0.1:{port}']),
             name='dst2')
    try:
        src.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 30})
        pos = len(src.text())
        src.send(f'migrate tcp:127.0.0.1:{port}')
        src.wait_for('Migration completed in', pos, timeout=60)
        wait_migration(dst, want=('completed',))
        check(dst.cmd('query-status')['status'] == 'running',
              'destination not running after the second migration')
    finally:
        dst.kill()
        src.kill()


def test_ctrl_c_on_a_terminal():
    """The same through a pseudo-terminal: the ^C byte typed on the
    monitor's terminal becomes SIGINT via the line discipline; the
    progress line is rewritten in place (\r) until then."""
    import pty
    import select
    port = free_port()
    dst = Vm(stress_args(extra=['-incoming', f'tcp:127.0.0.1:{port}']),
             name='dst-pty')
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(tern_binary(), [tern_binary(), '-display', 'none',
                                 '-monitor', 'stdio', '-serial',
                                 'file:/dev/null'] + stress_args())
    out = b''

    def read_until(needle, timeout=30.0):
        nonlocal out
        deadline = time.time() + timeout
        while needle not in out and time.time() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        check(needle in out, f'pty: {needle!r} not seen:\n{out[-2000:]!r}')

    try:
        read_until(b'(qemu) ')
        os.write(fd, b'migrate_set_parameter max-bandwidth 1\n')
        read_until(b'(qemu) migrate_set_parameter max-bandwidth 1\r\n(qemu) ')
        os.write(fd, f'migrate tcp:127.0.0.1:{port}\n'.encode())
        read_until(b'% of RAM sent')
        read_until(b'   \r ')  # a progress line rewritten in place
        os.write(fd, b'\x03')
        read_until(b'Migration cancelled by Ctrl-C; the guest is running '
                   b'here\r\r\n(qemu) ')
        os.write(fd, b'info status\n')
        read_until(b'VM status: running')
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        dst.kill()


def test_sigint_without_migrate_exits(tmpdir):
    src = StdioMonitor(['-M', 'none', '-m', '16'], tmpdir)
    try:
        src.wait_for('(qemu) ')
        os.kill(src.proc.pid, signal.SIGINT)
        rc = src.proc.wait(20)
        check(rc == 0, f'exit status after SIGINT: {rc}')
    finally:
        src.kill()


def main():
    import tempfile
    skip_unless_built(guest=True)
    with tempfile.TemporaryDirectory(prefix='tern-hmp-int-') as tmp:
        test_ctrl_c_cancels(tmp)
    test_ctrl_c_on_a_terminal()
    with tempfile.TemporaryDirectory(prefix='tern-hmp-int-') as tmp:
        test_sigint_without_migrate_exits(tmp)
    print('ok')


if __name__ == '__main__':
    main()
