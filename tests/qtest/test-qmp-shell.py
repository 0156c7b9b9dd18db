#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-qmp-shell: scripts/qmp-shell driven through its stdin.

QMP mode on a unix socket: query-status, key=value arguments (numbers
read as JSON), a raw JSON line, an unknown command (its error reply, and
exit 1 with -e), a line without '='; then `migrate uri=tcp:...` to a
destination started with -incoming tcp, which completes.  HMP mode (-H)
on a tcp QMP socket given as HOST:PORT: "info status" and "info migrate"
print HMP's text.  A socket nobody listens on: exit 1 with a message.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, skip_unless_built, source_dir,  # noqa
                     Vm, wait_migration)

SHELL = os.path.join(source_dir(), 'scripts', 'qmp-shell')


def shell(args, lines):
    r = subprocess.run([SHELL] + args, input=''.join(l + '\n' for l in lines),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def replies(out):
    return [json.loads(ln) for ln in out.splitlines() if ln.startswith('{')]


def test_qmp(tmp):
    port = free_port()
    qmp = os.path.join(tmp, 'src.qmp')
    args = ['-M', 'none', '-m', '16M']
    src = Vm(args + ['-qmp', f'unix:{qmp},server=on,wait=off'], name='src',
             qmp=False, serial=False, tmpdir=tmp)
    dst = Vm(args + ['-incoming', f'tcp:127.0.0.1:{port}'], name='dst',
             tmpdir=tmp)
    try:
        rc, out, err = shell([qmp], [
            'query-status',
            'migrate-set-parameters max-bandwidth=1073741824 downtime-limit=500',
            'query-migrate-parameters',
            '{"execute": "query-version", "id": 7}',
            'no-such-command',
            'migrate-set-parameters max-bandwidth',
            f'migrate uri=tcp:127.0.0.1:{port}',
        ])
        check(rc == 0, f'qmp-shell exit {rc}: {out}{err}')
        r = replies(out)
        check(len(r) == 6, f'expected 6 replies: {out}')
        check(r[0]['return']['status'] == 'running', f'query-status: {r[0]}')
        check(r[1] == {'return': {}}, f'set-parameters: {r[1]}')
        check(r[2]['return']['max-bandwidth'] == 1073741824 and
              r[2]['return']['downtime-limit'] == 500, f'params: {r[2]}')
        check(r[3]['id'] == 7 and 'qemu' in r[3]['return'], f'raw: {r[3]}')
        check(r[4]['error']['class'] == 'CommandNotFound',
              f'unknown command: {r[4]}')
        check(r[5] == {'return': {}}, f'migrate: {r[5]}')
        check('expected key=value' in err, f'bad line not reported: {err}')
        wait_migration(dst)
        check(dst.cmd('query-status')['status'] == 'running',
              'destination not running')
        rc, out, err = shell(['-e', qmp], ['query-migrate', 'nope'])
        check(rc == 1, f'-e with an error: exit {rc}')
        check(replies(out)[0]['return']['status'] == 'completed',
              f'query-migrate after migrate: {out}')
    finally:
        src.kill()
        dst.kill()
    print('qmp mode: ok')


def test_hmp(tmp):
    port = free_port()
    vm = Vm(['-M', 'none', '-m', '16M',
             '-qmp', f'tcp:127.0.0.1:{port},server=on,wait=off'],
            name='hmp', qmp=False, serial=False, tmpdir=tmp)
    try:
        rc, out, err = shell(['-H', f'127.0.0.1:{port}'],
                             ['info status', 'info migrate_parameters'])
        check(rc == 0, f'qmp-shell -H exit {rc}: {out}{err}')
        check('VM status: running\n' in out, f'info status: {out}')
        check('max-bandwidth: 134217728 bytes/second' in out,
              f'info migrate_parameters: {out}')
    finally:
        vm.kill()
    print('hmp mode: ok')
    rc, out, err = shell([os.path.join(tmp, 'nothing.qmp')], ['query-status'])
    check(rc == 1 and 'cannot connect' in err, f'no socket: {rc} {err}')


def main():
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-qmp-shell-') as tmp:
        test_qmp(tmp)
        test_hmp(tmp)
    print('ok')


if __name__ == '__main__':
    main()
