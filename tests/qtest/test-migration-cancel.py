#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-cancel: migrate_cancel ends a blocked transport.

Three sources of a migration that cannot make progress:
  tcp:   a connect to a listener whose backlog is full (its SYNs are
         dropped: the connect would wait minutes for the kernel),
  file:  a FIFO nobody opens for reading (open would wait forever),
  exec:  a command that never reads its input (the write blocks on a
         full pipe).
Each stays blocked for over a second; migrate_cancel must turn the
status "cancelled" within 1 s, and a new migration (to a file) must
then complete.
"""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (Vm, check, poll_migration, wait_migration,  # noqa
                     FINAL)

# 512M of zero pages: a stream (over 1 MB) that no pipe buffer holds
MACHINE = ['-M', 'none', '-m', '512M']


def full_backlog():
    """A listener (backlog 0, never accepting) with its queue filled."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(('127.0.0.1', port))
        fillers.append(c)
    time.sleep(0.2)
    return lsock, fillers, port


def cancel_within(vm, what, limit=1.0):
    time.sleep(1.5)
    info = vm.cmd('query-migrate')
    check(info.get('status') not in FINAL,
          f'{what}: not blocked after 1.5 s: {info}')
    t0 = time.time()
    vm.cmd('migrate_cancel')
    info = poll_migration(vm, FINAL, timeout=10, interval=0.02)
    took = time.time() - t0
    check(info['status'] == 'cancelled', f'{what}: {info}')
    check(took <= limit, f'{what}: cancelled after {took:.2f} s')
    print(f'{what}: cancelled in {took * 1000:.0f} ms')


def migrate_again(vm, tmp, what):
    path = os.path.join(tmp, f'after-{what}.mig')
    vm.cmd('migrate', uri=f'file:{path}')
    wait_migration(vm, 30)
    check(os.path.getsize(path) > 0, f'{what}: empty stream')
    vm.cmd('cont')
    check(vm.cmd('query-status')['status'] == 'running', 'not running')


def main():
    tmp = tempfile.mkdtemp(prefix='tern-cancel-')
    with Vm(MACHINE, name='src', tmpdir=tmp) as vm:
        lsock, fillers, port = full_backlog()
        try:
            vm.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
            cancel_within(vm, 'tcp full backlog')
        finally:
            for c in fillers:
                c.close()
            lsock.close()
        migrate_again(vm, tmp, 'tcp')

        fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(fifo)
        vm.cmd('migrate', uri=f'file:{fifo}')
        cancel_within(vm, 'file FIFO without reader')
        migrate_again(vm, tmp, 'fifo')

        vm.cmd('migrate', uri='exec:exec sleep 60')
        cancel_within(vm, 'exec command that never reads')
        migrate_again(vm, tmp, 'exec')
    print('test-migration-cancel: ok')


if __name__ == '__main__':
    main()
