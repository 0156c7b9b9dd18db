#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-multifd: multifd between two Tern processes, and its failures.

Tern -> Tern with the soft stress guest (and a KVM guest with 2
channels, none and zstd, where /dev/kvm opens) (every page re-verified on the
destination, which then keeps writing and verifying): multifd-channels
1, 2 and 8 with compression none, 2 channels with zlib and zstd, 2
channels over x509 TLS (tcp) and over PSK TLS (unix); max-bandwidth
holds for the sum over 4 channels.  Both sides use
-incoming defer with the same settings, as with QEMU.

Stray connections (issue 17, finding 1): a plain connection and a TLS
attempt opened to the destination before the real source (idle, then
one sends garbage), the real migration (with multifd), then the strays
are closed or send garbage: the destination keeps running the guest;
the same on a plain destination, where an idle connection must not take
the main channel's place (the destination peeks at the first bytes).

Failures, through python/tern/faultproxy.py: one multifd channel reset
mid-stream, a corrupt packet header on one channel, wrong channel counts
(source 2 / destination 4: the destination says so after its wait;
source 4 / destination 2: the extra channels are refused), and a
destination with another -uuid (the initial packets are refused).  Each time
the source's error-desc says what broke (naming the channel where it
knows it), the source guest keeps running, and a new migration to a
fresh destination completes and verifies.  multifd on exec: is refused
with QEMU's text.
"""
import os
import re
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (certs_or_skip, check, free_port, have_kvm,  # noqa
                     MigrationPair, QMPError, skip_unless_built,
                     start_migration, stress_args, Vm, wait_migration)
from tern.faultproxy import FaultProxy, multifd_channel  # noqa: E402

APPEND = 'mem=16M-48M rate=32 pattern=random report_ms=250'


def soft_args(extra=()):
    return stress_args('soft', APPEND, '64M', extra)


def kvm_args(extra=()):
    return stress_args('kvm', APPEND, '64M', extra)


def mfd(n, comp='none', **more):
    p = {'multifd-channels': n, 'multifd-compression': comp}
    p.update(more)
    return p


def check_resumed(src, dst):
    """The destination re-verified every page and runs on; the source
    stopped (postmigrate)."""
    src_out = src.serial()
    out = dst.wait_serial('stress: resume verified', 30)
    npages = int(re.search(r'pages=(\d+)', src_out).group(1))
    m = re.search(r'stress: resume verified (\d+) pages', out)
    check(m and int(m.group(1)) == npages, f'verified: {out[-300:]}')
    dst.wait_serial('stress: ok pass=', 30, out.index('resume verified'))
    check('MISMATCH' not in dst.serial(), dst.serial()[-500:])
    check(dst.cmd('query-status')['status'] == 'running', 'dst running')
    check(src.cmd('query-status')['status'] == 'postmigrate', 'src state')
    return npages


def migrate_ok(src, dst_args, params, name='dst', dst_params=None,
               uri=None):
    """Migrate src into a new -incoming defer Tern (over uri, default a
    free tcp port); returns dst."""
    uri = uri or f'tcp:localhost:{free_port()}'
    dst = Vm(dst_args + ['-incoming', 'defer'], name=name)
    try:
        start_migration(src, uri, dst, uri, caps=['multifd'],
                        params=params, dst_caps=['multifd'],
                        dst_params=dst_params or params)
        info = wait_migration(src, 60)
        check(info['ram']['multifd-bytes'] > 0, f'multifd-bytes: {info}')
        check_resumed(src, dst)
    except BaseException:
        print(dst.stderr())
        dst.kill()
        raise
    return dst


def test_channels():
    for n, comp in ((1, 'none'), (2, 'none'), (8, 'none'), (2, 'zlib'),
                    (2, 'zstd')):
        # Compressing on a loaded 2-core machine can fall below the
        # guest's dirty rate: a generous downtime-limit keeps these cases
        # about correctness, not convergence.
        more = {'downtime-limit': 5000} if comp != 'none' else {}
        with Vm(soft_args(), name='src') as src:
            src.wait_serial('stress: ok pass=1', 30)
            with migrate_ok(src, soft_args(), mfd(n, comp, **more),
                            dst_params=mfd(n, comp)):
                pass
        print(f'  channels {n} {comp}: every page verified')


def check_running_kvm(src, dst):
    """A KVM guest has no resume hook: it keeps checking pages as it
    writes them, so two more progress lines without a MISMATCH prove the
    destination runs on correct memory."""
    n = dst.serial().count('stress: ok')
    deadline = time.time() + 15
    while dst.serial().count('stress: ok') < n + 2:
        check(time.time() < deadline, 'KVM destination guest stalled')
        time.sleep(0.1)
    check('MISMATCH' not in dst.serial(), dst.serial()[-500:])
    check('MISMATCH' not in src.serial(), src.serial()[-500:])
    check(dst.cmd('query-status')['status'] == 'running', 'dst running')
    check(src.cmd('query-status')['status'] == 'postmigrate', 'src state')


def test_channels_kvm():
    """Two channels, none and zstd, with the guest in a KVM vCPU (dirty
    pages from KVM's dirty log)."""
    if not have_kvm():
        print('  KVM cases skipped: /dev/kvm cannot be opened')
        return
    for comp in ('none', 'zstd'):
        port = free_port()
        uri = f'tcp:localhost:{port}'
        with Vm(kvm_args(), name='src') as src:
            src.wait_serial('stress: ok', 30)
            with Vm(kvm_args(['-incoming', 'defer']), name='dst') as dst:
                start_migration(src, uri, dst, uri, caps=['multifd'],
                                params=mfd(2, comp), dst_caps=['multifd'],
                                dst_params=mfd(2, comp))
                info = wait_migration(src, 60)
                check(info['ram']['multifd-bytes'] > 0, f'{info}')
                check_running_kvm(src, dst)
        print(f'  KVM guest, channels 2 {comp}: destination runs, '
              'no MISMATCH')


def test_bandwidth():
    """max-bandwidth limits the sum over the main and all multifd
    channels."""
    limit = 32 << 20
    with Vm(soft_args(), name='src') as src:
        src.wait_serial('stress: ok pass=1', 30)
        port = free_port()
        with Vm(soft_args() + ['-incoming', 'defer'], name='dst') as dst:
            start_migration(src, f'tcp:localhost:{port}', dst,
                            f'tcp:localhost:{port}', caps=['multifd'],
                            params=mfd(4, **{'max-bandwidth': limit}),
                            dst_caps=['multifd'], dst_params=mfd(4))
            info = wait_migration(src, 60)
            check_resumed(src, dst)
    rate = info['ram']['transferred'] / (info['total-time'] / 1000.0)
    check(rate < limit * 1.25, f'{rate / (1 << 20):.1f} MiB/s sent with '
          f'max-bandwidth 32 MiB/s: {info}')
    print(f'  4 channels, max-bandwidth 32 MiB/s: {rate / (1 << 20):.1f} '
          'MiB/s over all channels')


def tls_args(d, end, kind='x509'):
    return ['-object', f'tls-creds-{kind},id=tls0,dir={d},endpoint={end}']


def test_tls(tmp):
    certs = certs_or_skip(os.path.join(tmp, 'certs'))
    x509 = os.path.join(certs, 'x509')
    with Vm(soft_args(tls_args(x509, 'client')), name='src') as src:
        src.wait_serial('stress: ok pass=1', 30)
        with migrate_ok(src, soft_args(tls_args(x509, 'server')),
                        mfd(2, 'zstd', **{'tls-creds': 'tls0'})):
            pass
    print('  channels 2 zstd x509 TLS over tcp: every page verified')
    psk = os.path.join(certs, 'psk')
    with Vm(soft_args(tls_args(psk, 'client', 'psk')), name='src') as src:
        src.wait_serial('stress: ok pass=1', 30)
        with migrate_ok(src, soft_args(tls_args(psk, 'server', 'psk')),
                        mfd(2, **{'tls-creds': 'tls0'}),
                        uri=f'unix:{os.path.join(tmp, "psk.sock")}'):
            pass
    print('  channels 2 none PSK TLS over unix: every page verified')
    return x509


# ---- stray connections ----

def stray_connect(port, data=b''):
    s = socket.create_connection(('127.0.0.1', port))
    if data:
        s.sendall(data)
    return s


def test_strays(x509):
    """A TLS destination and a plain one, each with strays around a real
    multifd migration: the destination guest keeps running."""
    for tls in (True, False):
        extra_dst = tls_args(x509, 'server') if tls else []
        extra_src = tls_args(x509, 'client') if tls else []
        params = mfd(2, **({'tls-creds': 'tls0'} if tls else {}))
        port = free_port()
        with Vm(soft_args(extra_src), name='src') as src, \
                Vm(soft_args(extra_dst) + ['-incoming', 'defer'],
                   name='dst') as dst:
            src.wait_serial('stress: ok pass=1', 30)
            dst.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'multifd', 'state': True}])
            dst.cmd('migrate-set-parameters', **params)
            dst.cmd('migrate-incoming', uri=f'tcp:localhost:{port}')
            idle = stray_connect(port)
            hello = stray_connect(port, b'\x16\x03\x01\x00\x05hello')
            closed = stray_connect(port)
            junk = stray_connect(port, b'GET / HTTP/1.0\r\n\r\n')
            closed.close()
            time.sleep(0.3)
            start_migration(src, f'tcp:localhost:{port}', caps=['multifd'],
                            params=params)
            wait_migration(src, 60)
            check_resumed(src, dst)
            idle.sendall(b'\x00garbage after the migration' * 100)
            time.sleep(0.2)
            for s in (idle, hello, junk):
                s.close()
            time.sleep(1)
            check(dst.proc.poll() is None,
                  f'destination exited:\n{dst.stderr()}')
            check(dst.cmd('query-status')['status'] == 'running',
                  'destination guest not running')
            check('dropping an incoming connection' in dst.stderr(),
                  f'no warning:\n{dst.stderr()}')
        print(f'  strays around a {"TLS" if tls else "plain"} migration: '
              'destination still running')


# ---- failures, through a fault proxy ----


def failed_then_recovers(src, what, want, dst=None):
    """src's migration failed with want in its error-desc; the guest runs
    on; a new migration to a fresh destination completes."""
    info = wait_migration(src, 60, want=('failed',))
    desc = info.get('error-desc', '')
    check(re.search(want, desc), f'{what}: error-desc {desc!r}')
    check(src.cmd('query-status')['status'] == 'running',
          f'{what}: source guest not running')
    if dst is not None:
        dst.wait_exit(30)
        print(f'    destination: {dst.stderr().strip().splitlines()[0]}')
    new = migrate_ok(src, soft_args(), mfd(2), name='dst2')
    new.kill()
    print(f'  {what}: source failed with "{desc}", guest ran on, '
          'a new migration completed')


def fault_case(what, channel, after, fault, want, dst_want):
    """multifd channel `channel`'s connection gets `fault` (FaultProxy's
    reset or corrupt) after `after` bytes from the source."""
    port = free_port()
    with Vm(soft_args(), name='src') as src, \
            Vm(soft_args() + ['-incoming', 'defer'], name='dst') as dst:
        src.wait_serial('stress: ok pass=1', 30)
        proxy = FaultProxy(port, fault, at=after,
                           victim=multifd_channel(channel))
        try:
            start_migration(src, proxy.uri, dst,
                            f'tcp:127.0.0.1:{port}', caps=['multifd'],
                            params=mfd(2, **{'max-bandwidth': 64 << 20}),
                            dst_caps=['multifd'], dst_params=mfd(2))
            failed_then_recovers(src, what, want, dst)
            check(re.search(dst_want, dst.stderr()),
                  f'{what}: destination said:\n{dst.stderr()}')
        finally:
            proxy.close()


def test_faults():
    fault_case('channel 1 reset mid-stream', 1, 4 << 20, 'reset',
               r'multifd channel \d|Connection reset|Broken pipe',
               r'multifd channel|load of migration failed')
    # flip a byte of the first packet header after the initial packet
    fault_case('corrupt packet header on channel 1', 1, 64 + 2, 'corrupt',
               r'.', r'failed to receive packet via multifd channel 1: '
               r'multifd: received packet magic 1122cc44 and expected '
               r'magic 11223344')


def count_case(what, src_params, dst_params, dst_extra, want, dst_want,
               wait_dst=False):
    """A migration that must fail on a settings mismatch; the source's
    guest runs on and a new migration completes."""
    with Vm(soft_args(), name='src') as src:
        src.wait_serial('stress: ok pass=1', 30)
        port = free_port()
        with Vm(soft_args(dst_extra) + ['-incoming', 'defer'],
                name='dst') as dst:
            start_migration(src, f'tcp:localhost:{port}', dst,
                            f'tcp:localhost:{port}', caps=['multifd'],
                            params=src_params, dst_caps=['multifd'],
                            dst_params=dst_params)
            if wait_dst:
                dst.wait_exit(30)
            failed_then_recovers(src, what, want)
            check(dst_want in dst.stderr(),
                  f'{what}: destination said:\n{dst.stderr()}')


def test_channel_counts():
    count_case('source 2 channels, destination 4', mfd(2), mfd(4), [], r'.',
               'multifd: only 2 of 4 channels connected after 10 s', True)
    count_case('source 4 channels, destination 2', mfd(4), mfd(2), [],
               r'multifd channel [23]', 'one multifd channel too many')
    count_case('another UUID on the destination', mfd(2), mfd(2),
               ['-uuid', '12345678-1234-1234-1234-123456789abc'], r'.',
               "multifd: received uuid '00000000-0000-0000-0000-"
               "000000000000' and expected uuid '12345678-1234-1234-1234-"
               "123456789abc' for channel", True)


def test_refused_transport():
    with Vm(['-M', 'none', '-m', '16M'], name='src', serial=False) as src:
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True}])
        src.cmd('migrate', uri='exec:cat > /dev/null')
        info = wait_migration(src, 30, want=('failed',))
        check(info.get('error-desc') ==
              'multifd is not supported by current protocol', f'{info}')
    with Vm(['-M', 'none', '-m', '16M', '-incoming', 'defer'], name='dst',
            serial=False) as dst:
        dst.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True}])
        try:
            dst.cmd('migrate-incoming', uri='exec:cat /dev/null')
            check(False, 'migrate-incoming exec: accepted')
        except QMPError as e:
            check('multifd is not supported by current protocol' in str(e),
                  str(e))
    print('  exec: refused on both sides')


def main():
    skip_unless_built(guest=True)
    with tempfile.TemporaryDirectory(prefix='tern-multifd-') as tmp:
        test_refused_transport()
        test_channels()
        test_channels_kvm()
        test_bandwidth()
        x509 = test_tls(tmp)
        test_strays(x509)
        test_faults()
        test_channel_counts()
    return 0


if __name__ == '__main__':
    sys.exit(main())
