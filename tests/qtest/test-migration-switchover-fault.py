#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-switchover-fault: no split brain around the switch-over.

The rule (docs/migration.md, "What happens when things go wrong"): once
the source has sent its final device state it does not resume the guest
on its own unless it knows the destination did not start.  A fake
destination (return-path on) reads the whole stream and then:
  1. stays silent (a stalled switch-over) and the source is cancelled:
     status failed, error-desc says the destination's state is unknown,
     the guest stays paused; 'cont' resumes it;
  2. closes the connection without a verdict: the same;
  3. answers SHUT 1 (it did not start): the guest resumes at once.
Without the return-path capability (issue 17, finding 3b) the source
still asks a socket destination for its verdict (it opens the return
path anyway; QEMU 7.2 and Tern destinations answer it), so:
  4. the connection closed after the last byte: held, not `completed`;
  5. SHUT 1: resumed.
An fd: that is a socket (connected to the fake destination, passed with
getfd) is asked the same way, without the capability:
  6. closed after the last byte: held;
  7. SHUT 1: resumed.
And where no reply can come (exec:, an fd: that is a pipe):
  8. the command fails after taking the whole stream: held;
  9. the command succeeds: completed, guest in postmigrate;
 10. a pipe fd: read to its end: completed, guest in postmigrate.
After each, a migration to a file completes.
"""
import os
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import Vm, check, poll_migration, wait_migration, FINAL  # noqa

MACHINE = ['-M', 'none', '-m', '16M']
UNKNOWN = "The final device state was sent but the destination's state " \
          "is unknown"


class FakeDest:
    """Accept one connection and read everything into self.got."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.conn = None
        self.got = 0
        self.last = time.time()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.conn, _ = self.lsock.accept()
        while True:
            try:
                data = self.conn.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self.got += len(data)
            self.last = time.time()

    def wait_all_sent(self, vm, timeout=20):
        """Until the source stopped its guest and nothing came for 0.5 s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (vm.cmd('query-status')['status'] == 'finish-migrate' and
                    self.got and time.time() - self.last > 0.5):
                return
            time.sleep(0.05)
        raise AssertionError(f'no switch-over: {vm.cmd("query-migrate")}')

    def close(self):
        for s in (self.conn, self.lsock):
            if s:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def check_held(vm, what, cause):
    info = poll_migration(vm, FINAL, timeout=10)
    check(info['status'] == 'failed', f'{what}: {info}')
    check(info.get('error-desc', '').startswith(UNKNOWN + cause),
          f'{what}: error-desc {info.get("error-desc")!r}')
    time.sleep(0.3)
    check(vm.cmd('query-status')['status'] == 'paused',
          f'{what}: guest not held: {vm.cmd("query-status")}')
    print(f'{what}: held: {info["error-desc"]}')
    vm.cmd('cont')
    check(vm.cmd('query-status')['status'] == 'running', f'{what}: cont')


def migrate_again(vm, tmp, what, rp=True):
    path = os.path.join(tmp, f'{what}.mig')
    set_rp(vm, False)  # a file carries no return path
    vm.cmd('migrate', uri=f'file:{path}')
    wait_migration(vm, 30)
    vm.cmd('cont')
    set_rp(vm, rp)


def set_rp(vm, on):
    vm.cmd('migrate-set-capabilities', capabilities=[
        {'capability': 'return-path', 'state': on}])


def dest_uri(vm, dest, fd):
    """tcp: to dest, or (fd) fd: of a socket connected to it."""
    if not fd:
        return f'tcp:127.0.0.1:{dest.port}'
    with socket.create_connection(('127.0.0.1', dest.port)) as s:
        vm.qmp.getfd(s.fileno(), 'migfd')
    return 'fd:migfd'


def run_case(vm, tmp, what, action, rp=True, fd=False):
    dest = FakeDest()
    try:
        vm.cmd('migrate', uri=dest_uri(vm, dest, fd))
        dest.wait_all_sent(vm)
        action(vm, dest)
        if what.endswith('shut-1'):
            info = poll_migration(vm, FINAL, timeout=10)
            check(info['status'] == 'failed', f'{what}: {info}')
            check(vm.cmd('query-status')['status'] == 'running',
                  f'{what}: not resumed')
            print(f'{what}: resumed: {info.get("error-desc")}')
        else:
            check_held(vm, what, ' (migrate_cancel)' if 'cancel' in what
                       else ' (Return path closed')
    finally:
        dest.close()
    migrate_again(vm, tmp, what if rp else f'{what}-no-rp', rp)


def exec_cases(vm, tmp):
    set_rp(vm, False)
    vm.cmd('migrate', uri='exec:cat > /dev/null; exit 3')
    check_held(vm, 'exec-fails', " (Command '/bin/sh -c cat > /dev/null; "
               "exit 3' exited with status 3")
    migrate_again(vm, tmp, 'exec-fails', rp=False)
    vm.cmd('migrate', uri='exec:cat > /dev/null')
    info = wait_migration(vm, 30)
    check(vm.cmd('query-status')['status'] == 'postmigrate',
          f'exec-ok: {vm.cmd("query-status")}')
    print(f'exec-ok: {info["status"]}, guest postmigrate')
    vm.cmd('cont')


def fd_pipe_case(vm):
    """A pipe carries no reply: completed once the stream was taken."""
    rfd, wfd = os.pipe()
    got = []
    reader = threading.Thread(
        target=lambda: got.append(len(os.fdopen(rfd, 'rb').read())),
        daemon=True)
    reader.start()
    set_rp(vm, False)
    vm.qmp.getfd(wfd, 'migpipe')
    os.close(wfd)
    vm.cmd('migrate', uri='fd:migpipe')
    info = wait_migration(vm, 30)
    reader.join(10)
    check(got and got[0] > 0, f'fd-pipe: nothing read: {got}')
    check(vm.cmd('query-status')['status'] == 'postmigrate',
          f'fd-pipe: {vm.cmd("query-status")}')
    print(f'fd-pipe: {info["status"]}, {got[0]} bytes, guest postmigrate')
    vm.cmd('cont')


def main():
    tmp = tempfile.mkdtemp(prefix='tern-swfault-')
    with Vm(MACHINE, name='src', tmpdir=tmp) as vm:
        set_rp(vm, True)
        run_case(vm, tmp, 'stalled-cancel',
                 lambda vm, d: vm.cmd('migrate_cancel'))
        run_case(vm, tmp, 'cut', lambda vm, d: d.close())
        run_case(vm, tmp, 'shut-1',
                 lambda vm, d: d.conn.sendall(struct.pack('>HHI', 1, 4, 1)))
        # the same without the capability: the verdict is asked anyway
        for what, action in (
                ('cut', lambda vm, d: d.close()),
                ('shut-1',
                 lambda vm, d: d.conn.sendall(struct.pack('>HHI', 1, 4, 1)))):
            set_rp(vm, False)
            run_case(vm, tmp, what, action, rp=False)
            # issue 17, finding 3: an fd: socket is asked as tcp: is
            set_rp(vm, False)
            run_case(vm, tmp, f'fd-{what}', action, rp=False, fd=True)
        exec_cases(vm, tmp)
        fd_pipe_case(vm)
    print('test-migration-switchover-fault: ok')


if __name__ == '__main__':
    main()
