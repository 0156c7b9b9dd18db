#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Soak (make check-slow): a 1 GiB soft-vCPU stress guest dirtying memory as
fast as it can is migrated back and forth between two Tern processes six
times, over tcp, unix and TLS (x509), with auto-converge on.  After every hop
the guest on the new side must keep reporting `stress: ok` (it re-verifies
every page it ever wrote, from the generation table in its own RAM) and
never print MISMATCH; the old side must sit in postmigrate.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (certs_or_skip, check, free_port,  # noqa: E402
                     start_migration, stress_args, Vm, wait_migration)

MEM = '1G'
APPEND = 'mem=16M-1008M rate=0 pattern=random report_ms=250'
HOPS = ['tcp', 'unix', 'tls', 'tcp', 'unix', 'tls']


def start(tmp, name, creds, incoming):
    args = stress_args('soft', APPEND, MEM)
    args += ['-object', f'tls-creds-x509,id=tls0,dir={creds},'
                        f'endpoint={"server" if incoming else "client"}']
    if incoming:
        args += ['-incoming', 'defer']
    return Vm(args, name=name, tmpdir=tmp)


def hop(src, dst, transport, tmp, creds, n):
    # x509 creds are per endpoint: the destination needs server creds, the
    # source client creds; both processes got the kind they need at start.
    params = {'max-bandwidth': 1 << 30, 'downtime-limit': 300,
              'tls-creds': ''}
    dst_params = dict(params)
    if transport == 'tls':
        port = free_port()
        uri = f'tcp:localhost:{port}'
        dst_params['tls-creds'] = 'tls0'
        params.update({'tls-creds': 'tls0', 'tls-hostname': 'localhost'})
    else:
        uri = (f'tcp:127.0.0.1:{free_port()}' if transport == 'tcp'
               else f'unix:{tmp}/hop{n}.sock')
    mark = len(dst.serial())
    t0 = time.time()
    start_migration(src, uri, dst, uri, ['auto-converge'], params,
                    ['auto-converge'], dst_params)
    info = wait_migration(src, timeout=240)
    wait_migration(dst, timeout=60)
    out = dst.wait_serial('stress: ok', timeout=30, start=mark)
    time.sleep(1.0)
    out = dst.serial()[mark:]
    check('MISMATCH' not in out, f'hop {n}: guest found corruption:\n{out[-1000:]}')
    check(dst.cmd('query-status')['status'] == 'running', f'hop {n}: destination not running')
    check(src.cmd('query-status')['status'] == 'postmigrate', f'hop {n}: source not postmigrate')
    print(f"hop {n} {transport}: {time.time() - t0:.1f}s, downtime {info.get('downtime')} ms, "
          f"{info['ram']['transferred'] >> 20} MiB sent, "
          f"{info['ram']['dirty-sync-count']} passes")


def main():
    with tempfile.TemporaryDirectory(prefix='tern-soak-') as tmp:
        server = os.path.join(certs_or_skip(os.path.join(tmp, 'tls')), 'x509')
        vm = start(tmp, 'vm0', server, incoming=False)
        vm.wait_serial('stress: ok pass=1', timeout=120)
        for n, transport in enumerate(HOPS, 1):
            nxt = start(tmp, f'vm{n}', server, incoming=True)
            try:
                hop(vm, nxt, transport, tmp, server, n)
            except Exception:
                for v in (vm, nxt):
                    print(f'--- {v.name} stderr ---\n{v.stderr()[-1500:]}')
                nxt.kill()
                raise
            vm.kill()
            # the next hop's source is this destination: give it client creds
            # by re-adding the object as a client endpoint
            nxt.cmd('object-del', id='tls0')
            nxt.cmd('object-add', qom_type='tls-creds-x509', id='tls0',
                    dir=server, endpoint='client')
            vm = nxt
        vm.kill()
    print('soak: all hops verified')
    return 0


if __name__ == '__main__':
    sys.exit(main())
