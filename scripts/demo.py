#!/usr/bin/env python3
"""make demo: live-migrate a running guest between two Tern processes.

Generates throwaway TLS certificates, starts a destination
(`tern -incoming defer`) and a source running the stress guest (KVM when
/dev/kvm opens, else the soft vCPU), sets TLS up over QMP, migrates while
the guest dirties memory, shows a live progress line, the final
`info migrate`, and the guest's own verdict from the destination's serial
output.  Cleans up everything it made; exits non-zero if anything failed.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(SRC, 'tests', 'qtest'))
sys.path.insert(0, os.path.join(SRC, 'tests', 'bench'))
from ternlib import Vm, free_port, have_kvm  # noqa: E402
from run import make_tls_creds  # noqa: E402
sys.path.insert(0, os.path.join(SRC, 'scripts'))
from ternmigrate import progress_line, summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build', nargs='?', default='build')
    ap.add_argument('--mem', type=int, default=512, help='guest RAM in MiB')
    ap.add_argument('--rate', type=int, default=64, help='guest dirty rate MiB/s')
    ap.add_argument('--working-set', type=int, default=128,
                    help='MiB of guest RAM the stress guest writes and verifies')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    os.environ['TERN_BUILD_DIR'] = build
    tern = os.path.join(build, 'tern')
    guest = os.path.join(build, 'guest', 'stress.elf')
    accel = 'kvm' if have_kvm() else 'soft'
    print(f'demo: accelerator {accel}'
          + ('' if accel == 'kvm' else ' (/dev/kvm cannot be opened: soft vCPU)'))

    tmp = tempfile.mkdtemp(prefix='tern-demo-')
    src = dst = None
    ok = False
    try:
        creds = make_tls_creds(os.path.join(tmp, 'tls'))
        print(f'demo: generated throwaway x509 certificates in {creds}')
        mem = args.mem
        top = min(mem - 16, args.working_set + 16)
        common = ['-M', 'pc-lite', '-accel', accel, '-m', f'{mem}M',
                  '-kernel', guest,
                  '-append', f'mem=16M-{top}M rate={args.rate} pattern=random']
        dst = Vm(common + ['-object', f'tls-creds-x509,id=tls0,dir={creds},endpoint=server',
                           '-incoming', 'defer'], name='dst', tmpdir=tmp)
        src = Vm(common + ['-object', f'tls-creds-x509,id=tls0,dir={creds},endpoint=client'],
                 name='src', tmpdir=tmp)
        print('demo: source booted the stress guest; waiting for it to write '
              'its whole range once')
        src.wait_serial('stress: ok', timeout=60)
        deadline = time.time() + 20
        while time.time() < deadline and 'stress: ok pass=1' not in src.serial():
            time.sleep(0.2)
        if 'stress: ok pass=1' not in src.serial():
            print('demo: (the guest is slow here: migrating before its first '
                  'full pass; every page it wrote is still verified)')
        for line in src.serial().splitlines()[-2:]:
            print(f'  source serial | {line}')

        port = free_port()
        uri = f'tcp:localhost:{port}'
        dst.cmd('migrate-set-parameters', tls_creds='tls0')
        dst.cmd('migrate-incoming', uri=uri)
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'events', 'state': True}])
        src.cmd('migrate-set-parameters', tls_creds='tls0',
                tls_hostname='localhost', max_bandwidth=10 << 30,
                downtime_limit=300)
        print(f'demo: migrating over TLS to {uri} while the guest dirties '
              f'{args.rate} MiB/s')
        src.cmd('migrate', uri=uri)
        tty = sys.stdout.isatty()
        last = 0
        while True:
            info = src.cmd('query-migrate')
            st = info.get('status')
            line = progress_line(info)
            if tty:
                print('\r' + line, end='', flush=True)
            elif time.time() - last > 0.5 or st in ('completed', 'failed'):
                print(line, flush=True)
                last = time.time()
            if st in ('completed', 'failed', 'cancelled'):
                break
            time.sleep(0.1)
        if tty:
            print()
        print('demo: info migrate on the source:')
        for line in src.hmp('info migrate').splitlines():
            print(f'  {line}')
        if st != 'completed':
            print(f"demo: migration {st}: {info.get('error-desc')}")
            return 1
        mark = len(dst.serial())
        print('demo: waiting for the guest on the destination to verify its pages')
        dst.wait_serial('stress: ok', timeout=30, start=mark)
        time.sleep(1.5)
        out = dst.serial()[mark:]
        for line in out.splitlines()[-3:]:
            print(f'  destination serial | {line}')
        if 'MISMATCH' in out:
            print('demo: FAILED: the guest found a corrupted page')
            return 1
        print(f"demo: OK: {summary(info)}; source is "
              f"{src.cmd('query-status')['status']}, destination is "
              f"{dst.cmd('query-status')['status']}")
        ok = True
        return 0
    except Exception as e:
        print(f'\ndemo: FAILED: {e}')
        for vm in (src, dst):
            if vm:
                print(f'--- {vm.name} stderr ---\n{vm.stderr()[-1500:]}')
        return 1
    finally:
        for vm in (src, dst):
            if vm:
                vm.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if not ok:
            pass


if __name__ == '__main__':
    sys.exit(main())
