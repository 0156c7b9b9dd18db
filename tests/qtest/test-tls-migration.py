#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-tls-migration: migration wrapped in TLS between two processes.

Credentials are made per run by tests/tls-certs.sh (certtool).  Checked:
  * x509 over tcp (hostname from the URI) with an authz-simple allowing
    the client's DN, and the RAM arrives intact (memory-backend-file);
  * PSK over unix (no hostname needed), authz-list allowing "qemu";
  * x509 over unix without tls-hostname fails on the source with
    "No hostname for certificate validation"; tls-hostname fixes it;
  * tls-hostname mismatch: "Certificate does not match the hostname
    otherhost" (the destination: "the TLS peer closed it after the
    handshake without sending a stream ...");
  * a source trusting another CA: "The certificate hasn't got a known
    issuer" (the destination: "TLS handshake failed: the client sent no
    certificate issued by a CA this side trusts ...");
  * the destination's authz denying the DN: the destination prints
    "TLS x509 authz check for C=GB,O=Wire Test,CN=migration-client is
    denied";
  * PSK keys differing: "TLS handshake failed: ..." on the source;
  * TLS on the source only: "TLS handshake failed: The TLS connection was
    non-properly terminated.";
  * missing creds object: "No TLS credentials with id 'nope'".
With --interop (suite 'interop'): QEMU 7.2 -> Tern (PSK, authz-list),
QEMU 7.2 -> Tern (x509, authz) then that Tern -> QEMU 7.2 (PSK), RAM
compared byte for byte at each hop.
"""
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (certs_or_skip, check, free_port, MigrationPair,  # noqa
                     qemu_binary, skip, skip_unless_built, start_migration,
                     QMPError, Vm, wait_migration)

SIZE = 32 << 20
DN = 'C=GB,O=Wire Test,CN=migration-client'


def make_ram(path, seed):
    rnd = random.Random(seed)
    with open(path, 'wb') as f:
        for i in range(SIZE // 4096):
            f.write(bytes(4096) if i % 3 == 0 else rnd.randbytes(4096))


def empty_ram(path):
    with open(path, 'wb') as f:
        f.truncate(SIZE)


def same(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        return fa.read() == fb.read()


def mem_args(path, qemu=False):
    args = ['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M',
            '-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
            f'mem-path={path},share=on']
    return args + (['-nodefaults'] if qemu else [])


def plain_args():
    return ['-M', 'none', '-m', f'{SIZE >> 20}M']


def creds(kind, d, endpoint, extra=''):
    return ['-object', f'tls-creds-{kind},id=tls0,dir={d},'
            f'endpoint={endpoint}{extra}']


def query(vm):
    return vm.cmd('query-migrate')


def wait_status(vm, want, timeout=30.0):
    """wait_migration, with vm's stderr in the error."""
    try:
        return wait_migration(vm, timeout, want)
    except AssertionError as e:
        raise AssertionError(f'{e}\n{vm.stderr()}') from None


def wait_stderr(vm, text, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in vm.stderr():
            return
        time.sleep(0.05)
    raise AssertionError(f'{vm.name}: no "{text}" in stderr:\n{vm.stderr()}')


def uris(tmp, transport, name):
    if transport == 'tcp':
        port = free_port()
        return f'tcp:127.0.0.1:{port}', f'tcp:localhost:{port}'
    path = os.path.join(tmp, f'{name}.sock')
    return f'unix:{path}', f'unix:{path}'


def migrate(tmp, name, transport, src_args, dst_args, src_params=None,
            dst_params=None, src_binary=None, dst_binary=None):
    """Start both sides, migrate; return (src, dst) still running."""
    listen, connect = uris(tmp, transport, name)
    pair = MigrationPair(src_args, dst_args, uri=connect, listen=listen,
                         defer=True, names=(f'{name}-src', f'{name}-dst'),
                         src_binary=src_binary, dst_binary=dst_binary,
                         serial=False)
    try:
        pair.start(params=src_params, dst_params=dst_params)
    except BaseException:
        pair.kill()
        raise
    return pair.src, pair.dst


def expect_ok(tmp, name, transport, src_args, dst_args, src_params,
              dst_params, ram=None, **kw):
    src, dst = migrate(tmp, name, transport, src_args, dst_args, src_params,
                       dst_params, **kw)
    with src, dst:
        info = wait_status(src, ('completed', 'failed'))
        check(info['status'] == 'completed',
              f'{name}: source {info}\n{src.stderr()}\n{dst.stderr()}')
        wait_status(dst, ('completed',))
        if ram:
            check(same(*ram), f'{name}: RAM differs')
    print(f'{name}: ok')


def expect_src_error(tmp, name, transport, src_args, dst_args, src_params,
                     dst_params, error, dst_error=None):
    """The source fails with error; with dst_error, the destination
    says that (it drops the connection and keeps listening)."""
    src, dst = migrate(tmp, name, transport, src_args, dst_args, src_params,
                       dst_params)
    with src, dst:
        info = wait_status(src, ('failed', 'completed'))
        desc = info.get('error-desc', '')
        check(info['status'] == 'failed' and desc == error,
              f'{name}: want failed "{error}", got {info}')
        deadline = time.time() + 10
        while dst_error and dst_error not in dst.stderr():
            check(time.time() < deadline,
                  f'{name}: destination said {dst.stderr()!r}')
            time.sleep(0.05)
    print(f'{name}: failed as expected: {error}' +
          (f'; destination: {dst_error}' if dst_error else ''))


def run_tern(tmp, certs):
    x509, other = f'{certs}/x509', f'{certs}/x509-other'
    psk, psk_other = f'{certs}/psk', f'{certs}/psk-other'
    on = {'tls-creds': 'tls0'}

    a, b = os.path.join(tmp, 'a.ram'), os.path.join(tmp, 'b.ram')
    make_ram(a, 1)
    empty_ram(b)
    authz = ['-object', 'authz-simple,id=auth0,identity=' +
             DN.replace(',', ',,')]
    expect_ok(tmp, 'x509-tcp-authz', 'tcp',
              mem_args(a) + creds('x509', x509, 'client'),
              mem_args(b) + creds('x509', x509, 'server') + authz,
              on, dict(on, **{'tls-authz': 'auth0'}), ram=(a, b))

    alist = ['-object', 'authz-list,id=auth0,policy=deny,'
             'rules.0.match=qemu,rules.0.policy=allow']
    expect_ok(tmp, 'psk-unix-authz', 'unix',
              plain_args() + creds('psk', psk, 'client'),
              plain_args() + creds('psk', psk, 'server') + alist,
              on, dict(on, **{'tls-authz': 'auth0'}))

    expect_src_error(tmp, 'x509-unix-no-hostname', 'unix',
                     plain_args() + creds('x509', x509, 'client'),
                     plain_args() + creds('x509', x509, 'server'),
                     on, on, 'No hostname for certificate validation')
    expect_ok(tmp, 'x509-unix-tls-hostname', 'unix',
              plain_args() + creds('x509', x509, 'client'),
              plain_args() + creds('x509', x509, 'server'),
              dict(on, **{'tls-hostname': 'localhost'}), on)
    expect_src_error(tmp, 'x509-hostname-mismatch', 'tcp',
                     plain_args() + creds('x509', x509, 'client'),
                     plain_args() + creds('x509', x509, 'server'),
                     dict(on, **{'tls-hostname': 'otherhost'}), on,
                     'Certificate does not match the hostname otherhost',
                     'the TLS peer closed it after the handshake without '
                     'sending a stream')
    expect_src_error(tmp, 'x509-wrong-ca', 'tcp',
                     plain_args() + creds('x509', other, 'client'),
                     plain_args() + creds('x509', x509, 'server'),
                     on, on, "The certificate hasn't got a known issuer",
                     'TLS handshake failed: the client sent no certificate '
                     'issued by a CA this side trusts')
    expect_src_error(tmp, 'tls-source-only', 'tcp',
                     plain_args() + creds('x509', x509, 'client'),
                     plain_args(), on, {},
                     'TLS handshake failed: The TLS connection was '
                     'non-properly terminated.')
    expect_src_error(tmp, 'no-creds-object', 'tcp', plain_args(),
                     plain_args(), {'tls-creds': 'nope'}, {},
                     "No TLS credentials with id 'nope'")

    # PSK keys differ: the handshake itself fails
    src, dst = migrate(tmp, 'psk-mismatch', 'tcp',
                       plain_args() + creds('psk', psk_other, 'client'),
                       plain_args() + creds('psk', psk, 'server'), on, on)
    with src, dst:
        info = wait_status(src, ('failed', 'completed'))
        check(info['status'] == 'failed' and
              info.get('error-desc', '').startswith('TLS handshake failed: '),
              f'psk-mismatch: {info}')
    print(f'psk-mismatch: failed as expected: {info["error-desc"]}')

    # the destination refuses the client's DN
    deny = ['-object', 'authz-simple,id=auth0,identity=CN=someone-else']
    src, dst = migrate(tmp, 'x509-authz-deny', 'tcp',
                       plain_args() + creds('x509', x509, 'client'),
                       plain_args() + creds('x509', x509, 'server') + deny,
                       on, dict(on, **{'tls-authz': 'auth0'}))
    with src, dst:
        wait_stderr(dst, f'TLS x509 authz check for {DN} is denied')
        check(query(dst).get('status') != 'completed',
              'x509-authz-deny: destination completed')
    print('x509-authz-deny: destination refused the DN')

    # RDMA cannot carry TLS: refused at once, the source keeps running
    with Vm(plain_args() + creds('x509', x509, 'client'), name='rdma-src',
            serial=False) as vm:
        vm.cmd('migrate-set-parameters', **{'tls-creds': 'tls0'})
        try:
            vm.cmd('migrate', uri='rdma:127.0.0.1:4444')
            check(False, 'rdma with TLS: migrate accepted')
        except QMPError as e:
            check('TLS is not supported with RDMA' in str(e),
                  f'rdma with TLS: {e}')
        check(vm.cmd('query-status')['status'] == 'running',
              'rdma with TLS: source not running')
    print('rdma-tls: refused as expected')


def run_interop(tmp, certs):
    """QEMU -x509-> Tern -PSK-> QEMU, RAM compared at each hop."""
    x509, psk = f'{certs}/x509', f'{certs}/psk'
    qemu = qemu_binary()
    a, b, c = (os.path.join(tmp, f'i{n}.ram') for n in 'abc')
    make_ram(a, 2)
    empty_ram(b)
    empty_ram(c)
    authz = ['-object', 'authz-simple,id=auth0,identity=' +
             DN.replace(',', ',,')]
    psk_client = ['-object', f'tls-creds-psk,id=tls1,dir={psk},'
                  'endpoint=client']

    port = free_port()
    with MigrationPair(mem_args(a, True) + creds('x509', x509, 'client') +
                       ['-S'],
                       mem_args(b) + creds('x509', x509, 'server') + authz +
                       psk_client, uri=f'tcp:localhost:{port}',
                       listen=f'tcp:127.0.0.1:{port}', defer=True,
                       names=('qemu-src', 'tern'), src_binary=qemu,
                       serial=False) as pair:
        qsrc, tern = pair
        pair.start(params={'tls-creds': 'tls0'},
                   dst_params={'tls-creds': 'tls0', 'tls-authz': 'auth0'})
        info = wait_status(qsrc, ('completed', 'failed'))
        check(info['status'] == 'completed', f'QEMU source: {info}')
        wait_status(tern, ('completed',))
        check(same(a, b), 'QEMU -> Tern over x509: RAM differs')
        print('qemu-to-tern-x509: ok')

        qdst = Vm(mem_args(c, True) + creds('psk', psk, 'server') +
                  ['-incoming', 'defer'], name='qemu-dst', binary=qemu,
                  serial=False)
        with qdst:
            uri = f'tcp:127.0.0.1:{free_port()}'
            start_migration(tern, uri, qdst, uri,
                            params={'tls-creds': 'tls1', 'tls-authz': ''},
                            dst_params={'tls-creds': 'tls0'})
            info = wait_status(tern, ('completed', 'failed'))
            check(info['status'] == 'completed',
                  f'Tern source: {info}\n{qdst.stderr()}')
            wait_status(qdst, ('completed',))
            check(same(b, c), 'Tern -> QEMU over PSK: RAM differs')
            print('tern-to-qemu-psk: ok')


def run_interop_psk(tmp, certs):
    """QEMU -PSK-> Tern with tls-authz on the PSK username."""
    psk = f'{certs}/psk'
    a, b = (os.path.join(tmp, f'p{n}.ram') for n in 'ab')
    make_ram(a, 3)
    empty_ram(b)
    alist = ['-object', 'authz-list,id=auth0,policy=deny,'
             'rules.0.match=qemu,rules.0.policy=allow']
    expect_ok(tmp, 'qemu-to-tern-psk', 'tcp',
              mem_args(a, True) + creds('psk', psk, 'client'),
              mem_args(b) + creds('psk', psk, 'server') + alist,
              {'tls-creds': 'tls0'},
              {'tls-creds': 'tls0', 'tls-authz': 'auth0'}, ram=(a, b),
              src_binary=qemu_binary())


def main():
    interop = '--interop' in sys.argv
    skip_unless_built()
    if interop and not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    with tempfile.TemporaryDirectory(prefix='tern-tls-') as tmp:
        certs = certs_or_skip(os.path.join(tmp, 'certs'))
        if interop:
            run_interop_psk(tmp, certs)
            run_interop(tmp, certs)
        else:
            run_tern(tmp, certs)
    return 0


if __name__ == '__main__':
    sys.exit(main())
