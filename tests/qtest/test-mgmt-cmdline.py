#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-mgmt-cmdline: the command line and QMP a management tool uses,
without libvirt (test-libvirt drives the real thing).

Proves: -machine X,accel=Y takes the accelerator (it used to read freed
memory); accelerator lists ("kvm:tcg") take the first usable one and
"tcg" is the soft vCPU; every option libvirt 9.0 passes to start a
domain is accepted, and the ones Tern cannot honour are refused with one
clear line; -chardev socket,fd=N + -mon mode=control serves QMP on a
socket the caller made listen; -add-fd + /dev/fdset/N feeds the UART;
-object secret (and the JSON -object form) makes a real secret;
-no-shutdown keeps the process after a guest shutdown (state shutdown,
SHUTDOWN event); -msg timestamp=on prefixes messages; the probing QMP
commands answer (query-version says QEMU 7.2.0 with Tern in package,
qom-list-properties answers a list even for unknown types) and
query-qmp-schema describes every registered command.
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from ternlib import (QMP, Vm, check, code_debug_exit, have_kvm,  # noqa: E402
                     skip_unless_built, tern_binary, tiny_multiboot_elf)

TERN = tern_binary()


def cmd_error(q, name, **args):
    """The error of a command that must fail."""
    reply = q.cmd_raw(name, args or None)
    check('error' in reply, f'{name} {args} did not fail: {reply}')
    return reply['error']


def run(args, timeout=20, pass_fds=()):
    return subprocess.run([TERN] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout,
                          pass_fds=pass_fds)


def test_machine_accel():
    # -machine none,accel=... once printed "invalid accelerator <garbage>".
    accels = ['soft', 'tcg', 'kvm:tcg', 'tcg:kvm']
    if have_kvm():
        accels.append('kvm')
    for accel in accels:
        with Vm(['-machine', f'none,accel={accel}']) as vm:
            kvm = vm.cmd('query-kvm')
            want = accel.split(':')[0] == 'kvm' and have_kvm()
            check(kvm['enabled'] == want, f'accel={accel}: {kvm}')
            check(vm.stderr() == '', f'accel={accel}: {vm.stderr()!r}')
    r = run(['-machine', 'none,accel=bogus:kvm'])
    check(r.returncode == 1 and r.stderr.decode() ==
          'tern: -accel bogus:kvm: invalid accelerator bogus\n',
          f'bad list: {r.stderr!r}')


def test_refused():
    cases = [
        (['-device', 'e1000'], "'e1000' is not a valid device model name"),
        (['-sandbox', 'on'], 'no seccomp sandbox'),
        (['-rtc', 'base=localtime'], 'only base=utc'),
        (['-overcommit', 'cpu-pm=on'], 'cpu-pm=on is not supported'),
        (['-machine', 'none,usb=on'], 'usb=on is not supported'),
        (['-audiodev', '{"id":"a","driver":"pa"}'], 'no sound devices'),
        (['-boot', 'menu=on'], 'menu=on is not supported'),
        (['-chardev', 'pty,id=c'], "backend 'pty' is not supported"),
        (['-chardev', 'socket,id=c,path=/tmp/x'], 'server=on'),
        (['-mon', 'chardev=nope,mode=control'], 'chardev "nope" not found'),
        (['-add-fd', 'fd=99,set=0'], 'fd=99 is not an open file descriptor'),
        (['-msg', 'guest-name=on'], 'guest-name=on is not supported'),
    ]
    for args, text in cases:
        r = run(['-M', 'none'] + args)
        err = r.stderr.decode()
        check(r.returncode == 1 and text in err and err.count('\n') == 1,
              f'{args}: exit {r.returncode}: {err!r}')


def test_libvirt_start_line(tmp):
    """The options libvirt 9.0 passes to start a domain, in its order,
    with the monitor on a socket we made listen and the UART on an fd."""
    elf = tiny_multiboot_elf(os.path.join(tmp, 'hi.elf'),
                             bytes.fromhex('66baf803') +
                             b''.join(bytes([0xb0, c, 0xee]) for c in b'hi\n') +
                             code_debug_exit(0))
    sock_path = os.path.join(tmp, 'mon.sock')
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(sock_path)
    lsock.listen(1)
    serial = os.path.join(tmp, 'serial.log')
    sfd = os.open(serial, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    key = os.path.join(tmp, 'master.key')
    with open(key, 'wb') as f:
        f.write(os.urandom(32))
    mfd = lsock.fileno()
    args = [
        '-name', 'guest=g1,debug-threads=on', '-S',
        '-object', f'secret,id=masterKey0,format=raw,file={key}',
        '-machine', 'pc-lite,usb=off,dump-guest-core=off',
        '-accel', 'kvm' if have_kvm() else 'tcg',
        '-m', '64', '-overcommit', 'mem-lock=off',
        '-smp', '1,sockets=1,cores=1,threads=1',
        '-uuid', '06547ff9-7544-4167-b247-39433efcc1d4',
        '-display', 'none', '-no-user-config', '-nodefaults',
        '-chardev', f'socket,id=charmonitor,fd={mfd},server=on,wait=off',
        '-mon', 'chardev=charmonitor,id=monitor,mode=control',
        '-rtc', 'base=utc', '-no-shutdown', '-no-acpi', '-boot', 'strict=on',
        '-kernel', elf,
        '-add-fd', f'set=0,fd={sfd},opaque=serial0-source',
        '-chardev', 'file,id=charserial0,path=/dev/fdset/0,append=on',
        '-device', 'isa-serial,chardev=charserial0,id=serial0,index=0',
        '-audiodev', '{"id":"audio1","driver":"none"}',
        '-msg', 'timestamp=on',
        '-object', '{"qom-type":"secret","id":"s2","data":"aGVsbG8=",'
                   '"format":"base64"}',
    ]
    with open(serial, 'w'):
        pass
    proc = subprocess.Popen([TERN] + args, stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, pass_fds=(mfd, sfd))
    os.close(sfd)
    lsock.close()
    try:
        q = QMP(sock_path)
        check(q.cmd('query-status')['status'] == 'prelaunch', 'not -S')
        chardevs = {c['label']: c for c in q.cmd('query-chardev')}
        check(set(chardevs) == {'charmonitor', 'charserial0'},
              f'query-chardev: {chardevs}')
        check(q.cmd('query-name') == {'name': 'g1'}, 'name')
        cpus = q.cmd('query-cpus-fast')
        check(len(cpus) == 1 and cpus[0]['thread-id'] > 0, f'cpus: {cpus}')
        q.cmd('cont')
        ev = q.wait_event('SHUTDOWN', timeout=30)
        check(ev['data'] == {'guest': True, 'reason': 'guest-shutdown'},
              f'SHUTDOWN: {ev}')
        # -no-shutdown: still here, stopped in state shutdown.
        deadline = time.time() + 10
        while q.cmd('query-status')['status'] != 'shutdown':
            check(time.time() < deadline, 'state never became shutdown')
            time.sleep(0.05)
        check(proc.poll() is None, '-no-shutdown: the process exited')
        q.cmd('system_powerdown')
        q.wait_event('POWERDOWN', timeout=5)
        err = cmd_error(q, 'cont')
        check('Resetting the Virtual Machine is required' in err['desc'],
              f'cont after shutdown: {err}')
        q.cmd('quit')
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(serial) as f:
        check(f.read() == 'hi\n', 'UART output through /dev/fdset/0')


def test_msg_timestamp():
    r = run(['-msg', 'timestamp=on', '-M', 'bogus'])
    line = r.stderr.decode()
    check(re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z tern: -machine '
                   r'bogus: unsupported machine type', line),
          f'timestamped message: {line!r}')


def test_secret(tmp):
    key = os.urandom(32)
    kpath = os.path.join(tmp, 'k')
    with open(kpath, 'wb') as f:
        f.write(key)
    with Vm(['-M', 'none', '-object',
             f'secret,id=master,format=raw,file={kpath}']) as vm:
        vm.cmd('object-add', **{'qom-type': 'secret', 'id': 'plain',
                                'data': 'c2VjcmV0', 'format': 'base64'})
        err = cmd_error(vm.qmp, 'object-add', **{
            'qom-type': 'secret', 'id': 'enc', 'data': 'AAAA',
            'keyid': 'master', 'iv': base64.b64encode(bytes(16)).decode(),
            'format': 'base64'})
        check('whole number of blocks' in err['desc'], f'bad data: {err}')
        err = cmd_error(vm.qmp, 'object-add', **{
            'qom-type': 'secret', 'id': 'x', 'data': 'a', 'file': kpath})
        check('mutually exclusive' in err['desc'], f'data+file: {err}')
        err = cmd_error(vm.qmp, 'object-add', **{
            'qom-type': 'secret', 'id': 'y', 'data': 'AAAAAAAAAAAAAAAAAAAAAA==',
            'keyid': 'nosuch', 'iv': 'AAAAAAAAAAAAAAAAAAAAAA=='})
        check("No secret with id 'nosuch'" in err['desc'], f'keyid: {err}')


def test_probe_commands():
    with Vm(['-M', 'none']) as vm:
        ver = vm.cmd('query-version')
        check(ver['qemu'] == {'major': 7, 'minor': 2, 'micro': 0} and
              'tern' in ver['package'], f'query-version: {ver}')
        check(vm.cmd('query-target') == {'arch': 'x86_64'}, 'query-target')
        machines = {m['name']: m for m in vm.cmd('query-machines')}
        check(set(machines) == {'none', 'pc-lite'} and
              machines['pc-lite'].get('is-default'), f'machines: {machines}')
        types = {t['name'] for t in vm.cmd('qom-list-types')}
        check({'secret', 'tls-creds-x509', 'memory-backend-ram',
               'pc-lite-machine'} <= types, f'types: {types}')
        check(vm.cmd('qom-list-properties', typename='no-such-type') == [],
              'qom-list-properties on an unknown type must be []')
        props = {p['name'] for p in
                 vm.cmd('qom-list-properties', typename='secret')}
        check({'data', 'file', 'keyid', 'iv', 'format'} <= props,
              f'secret props: {props}')
        err = cmd_error(vm.qmp, 'device-list-properties', typename='e1000')
        check(err['class'] == 'DeviceNotFound', f'device: {err}')
        check(vm.cmd('query-tpm-models') == [] and
              vm.cmd('query-block') == [] and
              vm.cmd('query-named-block-nodes', flat=True) == [], 'empties')
        check(vm.cmd('query-cpus-fast') == [], '-M none has no vCPU')
        vm.cmd('object-add', **{'qom-type': 'secret', 'id': 'sec0',
                                'data': 'x'})
        check(vm.cmd('qom-list', path='/objects') ==
              [{'name': 'sec0', 'type': 'child<secret>'}], 'qom-list')
        check(cmd_error(vm.qmp, 'qom-list', path='/nope')['class'] ==
              'DeviceNotFound', 'qom-list of a missing path')
        opts = {o['option'] for o in vm.cmd('query-command-line-options')}
        check('sandbox' not in opts and 'machine' in opts, f'opts: {opts}')
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'late-block-activate', 'state': True}])
        check_schema(vm)


def schema_path(schema, by_name, entity, path):
    """Follow libvirt-style path components (member names, +variant)."""
    t = by_name[by_name[entity]['arg-type']]
    for comp in path:
        if comp.startswith('+'):
            case = [v for v in t.get('variants', []) if v['case'] == comp[1:]]
            if not case:
                return False
            t = by_name[case[0]['type']]
            continue
        m = [m for m in t.get('members', []) if m['name'] == comp]
        if not m:
            return False
        t = by_name[m[0]['type']]
    return True


def check_schema(vm):
    schema = vm.cmd('query-qmp-schema')
    by_name = {e['name']: e for e in schema}
    check(len(by_name) == len(schema), 'schema names are unique')
    cmds = {c['name'] for c in vm.cmd('query-commands')}
    in_schema = {e['name'] for e in schema if e['meta-type'] == 'command'}
    check(cmds == in_schema, f'commands vs schema: {cmds ^ in_schema}')
    check(vm.cmd('x-query-schema-gaps') == [],
          'commands without a schema line: ' +
          str(vm.cmd('x-query-schema-gaps')))
    for e in schema:
        for key in ('arg-type', 'ret-type', 'element-type'):
            if key in e:
                check(e[key] in by_name, f'{e["name"]}: {key} {e[key]}')
    events = {e['name'] for e in schema if e['meta-type'] == 'event'}
    check({'MIGRATION', 'SHUTDOWN', 'STOP', 'RESUME', 'POWERDOWN'} <= events,
          f'events: {events}')
    check(schema_path(schema, by_name, 'migrate', ['uri']), 'migrate/uri')
    check(schema_path(schema, by_name, 'object-add', ['+secret', 'keyid']),
          'object-add/+secret/keyid')
    check(not schema_path(schema, by_name, 'object-add', ['+sev-guest']),
          'object-add lists a type Tern lacks')
    check(schema_path(schema, by_name, 'migrate-set-parameters',
                      ['max-bandwidth']), 'migrate-set-parameters')
    caps = by_name[by_name[by_name[by_name[
        'migrate-set-capabilities']['arg-type']]['members'][0]['type']]
        ['element-type']]
    capenum = by_name[caps['members'][0]['type']]
    check('late-block-activate' in capenum['values'], f'caps: {capenum}')
    json.dumps(schema)


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-mgmt-') as tmp:
        test_machine_accel()
        test_refused()
        test_msg_timestamp()
        test_secret(tmp)
        test_probe_commands()
        test_libvirt_start_line(tmp)
    print('test-mgmt-cmdline: ok')


if __name__ == '__main__':
    main()
