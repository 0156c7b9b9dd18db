#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-cmdline: build/tern's command line and HMP.

Proves: malformed options exit 1 with one clear line on stderr; -version,
-help (every option vl.c accepts, one line each) and -machine help; -accel
with options (kvm,dirty-ring-size=N), soft, kvm and -enable-kvm; -daemonize with -pidfile (parent returns once the
child serves QMP); -monitor on a unix socket and on stdio with the
"(qemu) " prompt, unknown commands, usage errors, info status, quit, and
"xp/4xw ADDR" (format glued to the command name, as QEMU accepts).
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from ternlib import (QMP, Vm, check, guest_elf, have_kvm, skip,  # noqa: E402
                     source_dir, stress_args, tern_binary)

TERN = tern_binary()


def run(args, timeout=20, stdin=subprocess.DEVNULL):
    return subprocess.run([TERN] + args, stdin=stdin, capture_output=True,
                          timeout=timeout)


def test_bad_options():
    cases = [
        (['-foo'], 'tern: -foo: invalid option'),
        (['--foo'], 'tern: --foo: invalid option'),
        (['-m'], 'tern: -m: requires an argument'),
        (['-M', 'none', '-m', 'lots'],
         "tern: -m lots: Parameter 'size' expects a non-negative number "
         "below 2^64"),
        (['-M', 'no-such-machine'], None),
        (['-M', 'none', '-smp', '2'], 'tern: -smp 2: only 1 vCPU is supported'),
        (['-M', 'none', '-object', 'no-such-type,id=x'],
         "tern: -object no-such-type,id=x: Parameter 'qom-type' does not "
         "accept value 'no-such-type'"),
        (['-M', 'none', '-qmp', 'bogus:x'], None),
        (['-M', 'none', '-qmp', 'unix:/tmp/x.sock'], None),
        (['-M', 'none', '-uuid', 'xx'],
         'tern: -uuid xx: failed to parse UUID string: wrong format'),
        (['-M', 'none', '-display', 'gtk'], None),
        (['stray'], 'tern: stray: invalid option'),
        (['-M', 'none', '-accel', 'kvm,foo=1'],
         "tern: -accel kvm,foo=1: Invalid parameter 'foo'"),
        (['-M', 'none', '-accel', 'soft,foo=1'],
         "tern: -accel soft,foo=1: Invalid parameter 'foo'"),
        (['-M', 'none', '-accel', 'bogus'],
         'tern: -accel bogus: invalid accelerator bogus'),
        (['-M', 'none', '-accel', 'kvm,dirty-ring-size=100'], None),
        (['-M', 'none', '-accel', 'kvm,dirty-ring-size=x'], None),
        (['-accel'], 'tern: -accel: requires an argument'),
    ]
    for args, want in cases:
        p = run(args)
        err = p.stderr.decode()
        lines = err.splitlines()
        check(p.returncode == 1, f'{args}: exit {p.returncode}, stderr {err!r}')
        check(len(lines) == 1 and lines[0].startswith('tern: '),
              f'{args}: expected one "tern: " line, got {err!r}')
        if want:
            check(lines[0] == want, f'{args}: {lines[0]!r} != {want!r}')


def test_info_options():
    p = run(['-version'])
    out = p.stdout.decode()
    check(p.returncode == 0 and out.startswith('Tern emulator version ') and
          '7.2' in out, f'-version: {out!r}')
    check("speaks QEMU 7.2's migration stream" in out, f'-version: {out!r}')
    p = run(['-h'])
    check(p.returncode == 0 and '-incoming' in p.stdout.decode(), '-h')
    check_help(p.stdout.decode())
    p = run(['-accel', 'help'])
    out = p.stdout.decode()
    check(p.returncode == 0 and 'kvm\n' in out and 'soft\n' in out,
          f'-accel help: {out!r}')
    p = run(['--help'])
    check(p.returncode == 0, '--help')
    p = run(['-machine', 'help'])
    out = p.stdout.decode()
    check(p.returncode == 0 and 'none' in out and 'pc-lite' in out,
          f'-machine help: {out!r}')


def vl_option_names():
    """The option names in system/vl.c's table ({"name", OPT_...})."""
    with open(os.path.join(source_dir(), 'system', 'vl.c')) as f:
        src = f.read()
    names = re.findall(r'\{"([A-Za-z-]+)", OPT_[A-Z_]+,', src)
    check(len(names) > 20, f'option table not found in vl.c: {names}')
    return names


def check_help(text):
    """Every accepted option is named in -h, each line with a description."""
    lines = [ln for ln in text.splitlines() if ln.startswith('  -')]
    for name in vl_option_names():
        pat = re.compile(r'(?<![\w-])-' + re.escape(name) + r'(?![\w-])')
        check(any(pat.search(ln.split('  ')[1]) for ln in lines),
              f'-h does not list -{name}: {text!r}')
    for ln in lines:
        parts = ln.strip().split('  ')
        check(len(parts) >= 2 and parts[-1].strip(),
              f'-h line without a description: {ln!r}')
        check(len(ln) <= 80, f'-h line longer than 80 columns: {ln!r}')


def test_accel(tmp):
    """-accel NAME[,opts] reaches the accelerator; the guest runs."""
    if not os.path.exists(guest_elf()):
        print(f'test-cmdline: accel: {guest_elf()} not built, skipped')
        return
    specs = [['-accel', 'soft']]
    if have_kvm():
        specs += [['-accel', 'kvm'], ['-enable-kvm'],
                  ['-accel', 'kvm,dirty-ring-size=4096']]
    else:
        print('test-cmdline: no /dev/kvm, kvm cases skipped')
    for i, spec in enumerate(specs):
        args = stress_args(accel='soft')[2:]
        with Vm(spec + args, name=f'accel{i}', tmpdir=tmp) as vm:
            vm.wait_serial('stress: ok', timeout=20)
            st = vm.cmd('query-status')['status']
            check(st == 'running', f'{spec}: status {st}')
            err = vm.stderr()
            check('Invalid' not in err, f'{spec}: stderr {err!r}')


def test_daemonize(tmp):
    qmp_path = os.path.join(tmp, 'd.qmp')
    pidfile = os.path.join(tmp, 'd.pid')
    p = run(['-M', 'none', '-display', 'none', '-daemonize',
             '-pidfile', pidfile, '-name', 'daemon-vm',
             '-qmp', f'unix:{qmp_path},server=on,wait=off'], timeout=20)
    check(p.returncode == 0, f'-daemonize parent exit {p.returncode}: '
          f'{p.stderr!r}')
    # The parent returned only once the child was ready.
    check(os.path.exists(qmp_path), 'QMP socket missing after -daemonize')
    with open(pidfile) as f:
        pid = int(f.read().strip())
    check(pid != os.getpid(), 'pid')
    q = QMP(qmp_path, timeout=10)
    check(q.cmd('query-name') == {'name': 'daemon-vm'}, 'query-name')
    check(q.cmd('query-status')['status'] == 'running', 'daemon running')
    q.cmd_raw('quit')
    q.close()
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        raise AssertionError('daemon did not exit after quit')
    check(not os.path.exists(pidfile), 'pidfile not removed at exit')
    # A start-up error after the fork: parent exits 1, no pidfile left.
    p = run(['-M', 'none', '-display', 'none', '-daemonize',
             '-pidfile', pidfile, '-accel', 'soft,foo=1'], timeout=20)
    err = p.stderr.decode()
    check(p.returncode == 1 and
          err == "tern: -accel soft,foo=1: Invalid parameter 'foo'\n",
          f'-daemonize failing start: exit {p.returncode}, {err!r}')
    check(not os.path.exists(pidfile), 'pidfile left after failed start')


def read_until(sock, token, timeout=10):
    sock.settimeout(timeout)
    buf = b''
    while token not in buf:
        data = sock.recv(4096)
        if not data:
            raise EOFError(f'closed; got {buf!r}')
        buf += data
    return buf


def test_hmp_unix(tmp):
    path = os.path.join(tmp, 'hmp.sock')
    proc = subprocess.Popen([TERN, '-M', 'none', '-m', '16',
                             '-display', 'none',
                             '-monitor', f'unix:{path},server=on,wait=off'],
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        greet = read_until(s, b'(qemu) ')
        check(b"monitor - type 'help' for more information\r\n" in greet,
              f'greeting {greet!r}')

        def cmd(line):
            s.sendall(line.encode() + b'\n')
            out = read_until(s, b'(qemu) ')
            return out[:-len(b'(qemu) ')].decode()

        check(cmd('info status') == 'VM status: running\r\n', 'info status')
        check(cmd('stop') == '', 'stop')
        check(cmd('info status') == 'VM status: paused\r\n', 'paused')
        check(cmd('c') == '', 'c alias')
        check(cmd('foo') == "unknown command: 'foo'\r\n", 'unknown')
        check(cmd('info nope') == "unknown command: 'info nope'\r\n",
              'unknown info')
        out = cmd('object_del')
        check(out == 'object_del: string expected\r\n'
              'Try "help object_del" for more information\r\n',
              f'usage error: {out!r}')
        out = cmd('stop now')
        check(out.startswith('stop|s: extraneous characters at the end of '
                             'line\r\n'), f'extraneous: {out!r}')
        out = cmd('object_del nope')
        check(out == "Error: object 'nope' not found\r\n", f'{out!r}')
        out = cmd('help stop')
        check(out == 'stop|s  -- stop emulation\r\n', f'help stop: {out!r}')
        out = cmd('info')
        check('info status  -- ' in out and 'info version  -- ' in out,
              f'info list: {out!r}')
        check(cmd('info version').strip() != '', 'info version')
        # QEMU: the command name ends at '/', "xp/4xw" == "xp /4xw".
        out = cmd('xp/4xw 0x1000')
        check(out == cmd('xp /4xw 0x1000') and
              out.startswith('0000000000001000: 0x'), f'xp/4xw: {out!r}')
        check(cmd('/4xw') == "unknown command: ''\r\n", 'empty name')
        s.sendall(b'quit\n')
        check(proc.wait(10) == 0, 'exit status after HMP quit')
        s.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_hmp_stdio():
    proc = subprocess.Popen([TERN, '-M', 'none', '-display', 'none',
                             '-monitor', 'stdio'],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(b'info status\nquit\n', timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError('-monitor stdio did not quit')
    text = out.decode()
    check(proc.returncode == 0, f'exit {proc.returncode} {err!r}')
    check('(qemu) VM status: running\r\n(qemu) ' in text, f'stdio: {text!r}')


def main():
    if not os.path.exists(TERN):
        skip(f'{TERN} not built')
    test_bad_options()
    test_info_options()
    with tempfile.TemporaryDirectory(prefix='tern-cmdline-') as tmp:
        test_daemonize(tmp)
        test_hmp_unix(tmp)
        test_accel(tmp)
    test_hmp_stdio()
    print('test-cmdline: ok')


if __name__ == '__main__':
    main()
