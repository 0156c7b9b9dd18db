#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-qmp: the QMP server of build/tern -M none.

Proves: greeting shape, capabilities negotiation, query-status/-version,
stop/cont with STOP/RESUME events, -S and -incoming defer states,
object-add/del errors, getfd/closefd with SCM_RIGHTS, human-monitor-command,
malformed JSON keeps the connection usable, several QMP sockets (unix and
tcp) at once, quit emits SHUTDOWN and exits 0.
"""
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from ternlib import (check, FINAL, free_port, MigrationPair,  # noqa: E402
                     poll_migration, skip_unless_built, Vm)


def expect_error(qmp, name, args, cls, desc):
    reply = qmp.cmd_raw(name, args)
    check('error' in reply, f'{name}: expected an error, got {reply}')
    check(reply['error']['class'] == cls and reply['error']['desc'] == desc,
          f'{name}: got {reply["error"]}, expected {cls}: {desc}')


def raw_line(sock_file_qmp):
    return sock_file_qmp._recv()


def test_basics():
    port = free_port()
    with Vm(['-M', 'none', '-qmp', f'tcp:127.0.0.1:{port},server=on,wait=off'],
            name='qmp') as vm:
        q = vm.qmp
        g = q.greeting['QMP']
        check(set(g['version']['qemu']) == {'major', 'minor', 'micro'},
              f'greeting version: {g}')
        check('package' in g['version'] and g['capabilities'] == ['oob'],
              f'greeting: {g}')

        st = vm.cmd('query-status')
        check(st == {'status': 'running', 'singlestep': False,
                     'running': True}, f'query-status: {st}')
        ver = vm.cmd('query-version')
        check(ver['qemu'] == g['version']['qemu'], f'query-version: {ver}')
        names = [c['name'] for c in vm.cmd('query-commands')]
        for n in ('qmp_capabilities', 'query-status', 'stop', 'cont', 'quit',
                  'getfd', 'closefd', 'object-add', 'object-del',
                  'human-monitor-command'):
            check(n in names, f'{n} missing from query-commands')

        # id echo, unknown command
        r = q.cmd_raw('query-status', id='abc-1')
        check(r.get('id') == 'abc-1' and 'return' in r, f'id echo: {r}')
        r = q.cmd_raw('no-such-command', id=42)
        check(r == {'error': {'class': 'CommandNotFound',
                              'desc': 'The command no-such-command has not '
                                      'been found'}, 'id': 42},
              f'unknown command: {r}')
        expect_error(q, 'qmp_capabilities', None, 'CommandNotFound',
                     'Capabilities negotiation is already complete, command '
                     'ignored')

        # stop / cont with events
        vm.cmd('stop')
        q.wait_event('STOP', timeout=10)
        check(vm.cmd('query-status')['status'] == 'paused', 'not paused')
        check(vm.hmp('info status') == 'VM status: paused\r\n',
              'HMP info status while paused')
        vm.cmd('cont')
        q.wait_event('RESUME', timeout=10)
        check(vm.cmd('query-status')['running'] is True, 'not running')
        check(vm.hmp('info status') == 'VM status: running\r\n',
              'HMP info status while running')
        out = vm.hmp('nosuch')
        check(out == "unknown command: 'nosuch'\r\n", f'hmp unknown: {out!r}')

        # object-add / object-del errors
        expect_error(q, 'object-add', {'qom-type': 'no-such-type', 'id': 'x'},
                     'GenericError',
                     "Parameter 'qom-type' does not accept value "
                     "'no-such-type'")
        expect_error(q, 'object-add', {'qom-type': 'memory-backend-ram'},
                     'GenericError', "Parameter 'id' is missing")
        expect_error(q, 'object-del', {'id': 'nope'}, 'GenericError',
                     "object 'nope' not found")
        expect_error(q, 'object-del', {}, 'GenericError',
                     "Parameter 'id' is missing")

        # malformed JSON: an error reply, then the connection still works
        q.send_raw('{"execute": nonsense}\n')
        r = q.recv_reply()
        check(r['error']['class'] == 'GenericError' and
              r['error']['desc'].startswith('JSON parse error'),
              f'garbage reply: {r}')
        q.send_raw('this is not json\n')
        r = q.recv_reply()
        check(r['error']['desc'].startswith('JSON parse error'), f'{r}')
        q.send_raw('[1]\n')
        r = q.recv_reply()
        check(r['error']['desc'] == 'QMP input must be a JSON object', f'{r}')
        # two commands in one write, one split over two writes
        q.send_raw('{"execute": "query-status", "id": 1}'
                   '{"execute": "query-version", "id": 2}\n')
        r1, r2 = q.recv_reply(), q.recv_reply()
        check(r1['id'] == 1 and r2['id'] == 2, f'two in one: {r1} {r2}')
        q.send_raw('{"execute": "query-')
        time.sleep(0.1)
        q.send_raw('status", "id": 3}')
        r = q.recv_reply()
        check(r['id'] == 3 and r['return']['running'], f'split: {r}')

        # a second client on the tcp socket must negotiate first
        t = socket.create_connection(('127.0.0.1', port), timeout=10)
        tf = t.makefile('rb')
        greet = json.loads(tf.readline())
        check('QMP' in greet, f'tcp greeting: {greet}')
        t.sendall(b'{"execute": "query-status"}\n')
        r = json.loads(tf.readline())
        check(r['error'] == {'class': 'CommandNotFound',
                             'desc': "Expecting capabilities negotiation "
                                     "with 'qmp_capabilities'"},
              f'before negotiation: {r}')
        t.sendall(b'{"execute": "qmp_capabilities"}\n')
        line = tf.readline()
        check(line.endswith(b'\r\n'), f'line end: {line!r}')
        check(json.loads(line) == {'return': {}}, f'negotiation: {line!r}')
        # events reach every negotiated client
        vm.cmd('stop')
        ev = json.loads(tf.readline())
        check(ev['event'] == 'STOP' and 'seconds' in ev['timestamp'] and
              'microseconds' in ev['timestamp'], f'tcp event: {ev}')
        vm.cmd('cont')
        t.close()

        # quit: SHUTDOWN, reply, exit 0
        r = q.cmd_raw('quit')
        check(r == {'return': {}}, f'quit: {r}')
        ev = q.wait_event('SHUTDOWN', timeout=10)
        check(ev['data'] == {'guest': False, 'reason': 'host-qmp-quit'},
              f'SHUTDOWN: {ev}')
        rc = vm.wait_exit(10)
        check(rc == 0, f'exit status {rc}')


def test_getfd():
    uuid = '12345678-9abc-def0-1234-56789abcdef0'
    with Vm(['-M', 'none', '-uuid', uuid.upper()], name='getfd') as vm:
        q = vm.qmp
        check(vm.cmd('query-uuid') == {'UUID': uuid}, 'query-uuid')
        check(vm.hmp('info uuid') == uuid + '\r\n', 'info uuid')
        expect_error(q, 'getfd', {'fdname': 'x'}, 'GenericError',
                     'No file descriptor supplied via SCM_RIGHTS')
        r, w = os.pipe()
        try:
            msg = json.dumps({'execute': 'getfd',
                              'arguments': {'fdname': 'mine'}}).encode()
            socket.send_fds(q.sock, [msg], [w])
            reply = q.recv_reply()
            check(reply == {'return': {}}, f'getfd: {reply}')
            # fd names must not start with a digit
            socket.send_fds(q.sock, [json.dumps(
                {'execute': 'getfd', 'arguments': {'fdname': '1x'}}).encode()],
                [w])
            reply = q.recv_reply()
            check(reply['error']['desc'] == "Parameter 'fdname' expects a name "
                  "not starting with a digit", f'{reply}')
            vm.cmd('closefd', fdname='mine')
            expect_error(q, 'closefd', {'fdname': 'mine'}, 'GenericError',
                         "File descriptor named 'mine' not found")
            # HMP getfd through human-monitor-command uses the QMP socket's fd
            socket.send_fds(q.sock, [json.dumps(
                {'execute': 'human-monitor-command',
                 'arguments': {'command-line': 'getfd viahmp'}}).encode()],
                [w])
            reply = q.recv_reply()
            check(reply == {'return': ''}, f'hmp getfd: {reply}')
            check(vm.hmp('closefd viahmp') == '', 'hmp closefd')
        finally:
            os.close(r)
            os.close(w)


def test_start_states():
    with Vm(['-M', 'none', '-S'], name='prelaunch') as vm:
        st = vm.cmd('query-status')
        check(st['status'] == 'prelaunch' and not st['running'], f'-S: {st}')
        check(vm.hmp('info status') == 'VM status: paused (prelaunch)\r\n',
              'info status prelaunch')
        vm.cmd('cont')
        vm.qmp.wait_event('RESUME', timeout=10)
        check(vm.cmd('query-status')['status'] == 'running', 'cont from -S')
    with Vm(['-M', 'none', '-incoming', 'defer'], name='inmig') as vm:
        st = vm.cmd('query-status')
        check(st['status'] == 'inmigrate', f'-incoming defer: {st}')
        check(vm.hmp('info status') == 'VM status: paused (inmigrate)\r\n',
              'info status inmigrate')
        # stop/cont while inmigrate only change autostart (as QEMU)
        vm.cmd('stop')
        vm.cmd('cont')
        check(vm.cmd('query-status')['status'] == 'inmigrate',
              'still inmigrate')


def migrate_none(dst_stop_first):
    """-M none src -> -incoming defer dst; returns dst's final status."""
    with MigrationPair(['-M', 'none', '-m', '16'], defer=True) as pair:
        src, dst = pair
        names = [c['name'] for c in dst.cmd('query-commands')]
        if 'migrate-incoming' not in names:
            return None
        if dst_stop_first:
            dst.cmd('stop')
        deadline = time.time() + 30
        pair.start()
        st = poll_migration(src, FINAL, 30).get('status')
        check(st == 'completed', f'migration {st}')
        while time.time() < deadline:
            status = dst.cmd('query-status')['status']
            if status != 'inmigrate':
                break
            time.sleep(0.05)
        check(src.cmd('query-status')['status'] == 'postmigrate',
              'source not postmigrate')
        return status


def test_autostart():
    """stop while inmigrate clears autostart, as QEMU's qmp_stop does."""
    status = migrate_none(False)
    if status is None:
        print('test_autostart: no migrate-incoming, skipped')
        return
    check(status == 'running', f'dst after migration: {status}')
    status = migrate_none(True)
    check(status == 'paused', f'dst after stop+migration: {status}')


def test_sigterm():
    """SIGTERM: SHUTDOWN (host-signal), exit status 0, socket file gone."""
    with Vm(['-M', 'none'], name='sigterm') as vm:
        vm.proc.send_signal(signal.SIGTERM)
        ev = vm.qmp.wait_event('SHUTDOWN', timeout=10)
        check(ev['data'] == {'guest': False, 'reason': 'host-signal'},
              f'SHUTDOWN on SIGTERM: {ev}')
        check(vm.wait_exit(10) == 0, 'exit status after SIGTERM')
        check(not os.path.exists(vm.qmp_path), 'QMP socket left behind')


def main():
    skip_unless_built()
    test_basics()
    test_getfd()
    test_start_states()
    test_autostart()
    test_sigterm()
    print('test-qmp: ok')


if __name__ == '__main__':
    main()
