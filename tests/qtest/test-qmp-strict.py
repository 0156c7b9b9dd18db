#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-qmp-strict: QMP input QEMU 7.2 refuses, Tern refuses too.

A key twice in one object ("JSON parse error, duplicate key"), an
integer beyond uint64 or below int64 for a uint64 parameter ("expects
uint64"; json-c alone would clamp it), and "migrate fd:N" naming one of
the monitor's own sockets (the listener or a connection): refused, the
monitor keeps answering and the VM keeps running.  The QMP texts are
checked against QEMU 7.2 too when qemu-system-x86_64 is installed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import QMP, Vm, check, qemu_binary  # noqa

MACHINE = ['-M', 'none', '-m', '16M']
BIG = [(18446744073709551616, False), (-9223372036854775809, False),
       (18446744073709551615, True), (-1, True)]


def raw(vm, text):
    vm.qmp.send_raw(text + '\n')
    return vm.qmp.recv_reply()


def check_json(vm, who):
    r = raw(vm, '{"execute": "query-status", "execute": "query-status"}')
    check(r.get('error', {}).get('desc') == 'JSON parse error, duplicate key',
          f'{who}: duplicate key: {r}')
    r = raw(vm, '{"execute": "migrate-set-parameters", "arguments": '
                '{"max-bandwidth": 1, "max-bandwidth": 2}}')
    check('error' in r, f'{who}: duplicate argument accepted: {r}')
    for value, ok in BIG:
        r = raw(vm, '{"execute": "migrate-set-parameters", "arguments": '
                    '{"max-bandwidth": %d}}' % value)
        if ok:
            check('return' in r, f'{who}: {value} refused: {r}')
        else:
            check(r.get('error', {}).get('desc') ==
                  "Parameter 'max-bandwidth' expects uint64",
                  f'{who}: {value}: {r}')
    check(vm.cmd('query-status')['status'] in ('running', 'prelaunch'),
          f'{who}: not running')


def socket_fds(pid):
    fds = []
    for name in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{name}').startswith('socket:'):
                fds.append(int(name))
        except OSError:
            pass
    return fds


def check_monitor_fds(vm):
    fds = socket_fds(vm.proc.pid)
    check(len(fds) >= 2, f'expected a listener and a connection: {fds}')
    for fd in fds:
        r = vm.qmp.cmd_raw('migrate', {'uri': f'fd:{fd}'})
        check(r.get('error', {}).get('desc') ==
              f'File descriptor {fd} belongs to a monitor',
              f'migrate fd:{fd}: {r}')
        check(vm.cmd('query-migrate').get('status') is None,
              f'fd:{fd}: a migration started')
    # The monitor is intact: the connection answers, the listener accepts.
    check(vm.cmd('query-status')['status'] == 'running', 'VM not running')
    second = QMP(vm.qmp_path, wait=False)
    check(second.cmd('query-status')['status'] == 'running',
          'second connection')


def main():
    with Vm(MACHINE, name='strict') as vm:
        check_json(vm, 'tern')
        check_monitor_fds(vm)
    if qemu_binary():
        with Vm(MACHINE, binary=qemu_binary(), name='qemu') as vm:
            check_json(vm, 'qemu')
    print('test-qmp-strict: ok')


if __name__ == '__main__':
    main()
