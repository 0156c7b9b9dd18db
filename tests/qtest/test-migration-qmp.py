#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-qmp: the migration commands answer like QEMU 7.2.

Capabilities: the 7.2 list in its order, all off; setting the supported
ones works, unsupported ones are refused honestly, unknown names get 7.2's
text; no change during a migration.  Parameters: 7.2 defaults, set/query
round trip, 7.2's validation texts (QMP and HMP), HMP size parsing
(max-bandwidth's bare number is MiB/s).  query-migrate / info migrate
layouts when idle, on a listening destination, after completion, after a
failure; MIGRATION events only with the events capability; the
destination emits "setup" regardless.  migrate-continue, migrate-incoming
and URI errors with 7.2's texts; pause-before-switchover + migrate-continue
completes.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, MigrationPair, QMPError,  # noqa
                     skip_unless_built, Vm, wait_migration)

CAPS = ['xbzrle', 'rdma-pin-all', 'auto-converge', 'zero-blocks',
        'compress', 'events', 'postcopy-ram', 'x-colo', 'release-ram',
        'block', 'return-path', 'pause-before-switchover', 'multifd',
        'dirty-bitmaps', 'postcopy-blocktime', 'late-block-activate',
        'x-ignore-shared', 'validate-uuid', 'background-snapshot',
        'zero-copy-send', 'postcopy-preempt',
        'mapped-ram',  # QEMU 9.0's, after 7.2's list
        'x-checkpoint-assisted', 'x-precopy-recover']  # Tern's own

DEFAULTS = {
    'cpu-throttle-tailslow': False, 'xbzrle-cache-size': 67108864,
    'cpu-throttle-initial': 20, 'announce-max': 550,
    'decompress-threads': 2, 'compress-threads': 8, 'compress-level': 1,
    'multifd-channels': 2, 'multifd-zstd-level': 1, 'announce-initial': 50,
    'block-incremental': False, 'compress-wait-thread': True,
    'downtime-limit': 300, 'tls-authz': '', 'multifd-compression': 'none',
    'announce-rounds': 5, 'announce-step': 100, 'tls-creds': '',
    'multifd-zlib-level': 1, 'max-cpu-throttle': 99,
    'max-postcopy-bandwidth': 0, 'tls-hostname': '',
    'throttle-trigger-threshold': 50, 'max-bandwidth': 134217728,
    'x-checkpoint-delay': 20000, 'cpu-throttle-increment': 10,
    'direct-io': False,  # QEMU 9.1's, with mapped-ram
    'x-progress-timeout': 30,
    'checkpoint': ''}  # Tern's own: the destination's checkpoint file

HMP_PARAMS = """announce-initial: 50 ms
announce-max: 550 ms
announce-rounds: 5
announce-step: 100 ms
compress-level: 1
compress-threads: 8
compress-wait-thread: on
decompress-threads: 2
throttle-trigger-threshold: 50
cpu-throttle-initial: 20
cpu-throttle-increment: 10
cpu-throttle-tailslow: off
max-cpu-throttle: 99
tls-creds: ''
tls-hostname: ''
max-bandwidth: 134217728 bytes/second
downtime-limit: 300 ms
x-checkpoint-delay: 20000 ms
block-incremental: off
multifd-channels: 2
multifd-compression: none
xbzrle-cache-size: 67108864 bytes
max-postcopy-bandwidth: 0
tls-authz: ''
direct-io: off
"""

GLOBALS = """globals:
store-global-state: on
only-migratable: off
send-configuration: on
send-section-footer: on
decompress-error-check: on
clear-bitmap-shift: 18
"""


def hmp(vm, line):
    return vm.hmp(line).replace('\r\n', '\n')


def expect_error(vm, cmd, desc, **args):
    try:
        vm.cmd(cmd, **args)
    except QMPError as e:
        check(e.desc == desc, f'{cmd} {args}: {e.desc!r} != {desc!r}')
        return
    raise AssertionError(f'{cmd} {args} succeeded, expected {desc!r}')


def set_params_error(vm, args, desc):
    reply = vm.qmp.cmd_raw('migrate-set-parameters', args)
    check(reply.get('error', {}).get('desc') == desc,
          f'{args}: {reply} != {desc!r}')


def test_capabilities(vm):
    caps = vm.cmd('query-migrate-capabilities')
    check([c['capability'] for c in caps] == CAPS, f'order: {caps}')
    check(not any(c['state'] for c in caps), 'all off by default')
    check(hmp(vm, 'info migrate_capabilities') ==
          ''.join(f'{c}: off\n' for c in CAPS), 'info migrate_capabilities')
    expect_error(vm, 'migrate-set-capabilities',
                 "Parameter 'capability' does not accept value 'no-such-cap'",
                 capabilities=[{'capability': 'no-such-cap', 'state': True}])
    expect_error(vm, 'migrate-set-capabilities',
                 "Capability 'x-colo' is not supported by Tern yet",
                 capabilities=[{'capability': 'x-colo', 'state': True}])
    expect_error(vm, 'migrate-set-capabilities',
                 "Parameter 'capabilities[0].state' is missing",
                 capabilities=[{'capability': 'events'}])
    for name in ('events', 'auto-converge', 'zero-blocks',
                 'pause-before-switchover', 'return-path', 'xbzrle'):
        vm.cmd('migrate-set-capabilities',
               capabilities=[{'capability': name, 'state': True}])
    vm.cmd('migrate-set-capabilities',
           capabilities=[{'capability': 'multifd', 'state': False}])
    on = {c['capability'] for c in vm.cmd('query-migrate-capabilities')
          if c['state']}
    check(on == {'events', 'auto-converge', 'zero-blocks',
                 'pause-before-switchover', 'return-path', 'xbzrle'},
          f'on: {on}')
    check(hmp(vm, 'migrate_set_capability nosuch on') ==
          'Error: invalid parameter value: nosuch\n', 'hmp unknown cap')
    out = hmp(vm, 'migrate_set_capability events maybe')
    check(out.startswith("Expected 'on' or 'off'\n"), out)
    check(hmp(vm, 'migrate_set_capability auto-converge off') == '', 'hmp')
    check(hmp(vm, 'migrate_set_capability pause-before-switchover off') ==
          '', 'hmp')
    check(hmp(vm, 'migrate_set_capability return-path off') == '', 'hmp')


def test_parameters(vm):
    check(vm.cmd('query-migrate-parameters') == DEFAULTS, 'defaults')
    check(hmp(vm, 'info migrate_parameters') == HMP_PARAMS,
          hmp(vm, 'info migrate_parameters'))
    set_params_error(vm, {'downtime-limit': 2000001},
                     "Parameter 'downtime_limit' expects an integer in the "
                     "range of 0 to (2000 * 1000) ms")
    set_params_error(vm, {'compress-level': 10},
                     "Parameter 'compress_level' expects a value between 0 "
                     "and 9")
    set_params_error(vm, {'throttle-trigger-threshold': 0},
                     "Parameter 'throttle_trigger_threshold' expects an "
                     "integer in the range of 1 to 100")
    set_params_error(vm, {'cpu-throttle-initial': 100},
                     "Parameter 'cpu_throttle_initial' expects an integer in "
                     "the range of 1 to 99")
    set_params_error(vm, {'max-cpu-throttle': 10},
                     "Parameter 'max_cpu_throttle' expects an integer in the "
                     "range of cpu_throttle_initial to 99")
    set_params_error(vm, {'multifd-channels': 0},
                     "Parameter 'multifd_channels' expects a value between 1 "
                     "and 255")
    set_params_error(vm, {'multifd-channels': 256},
                     "Parameter 'multifd-channels' expects uint8_t")
    set_params_error(vm, {'xbzrle-cache-size': 1000},
                     "Parameter 'xbzrle_cache_size' expects a power of two no "
                     "less than the target page size")
    set_params_error(vm, {'announce-step': 0},
                     "Parameter 'announce_step' expects a value between 0 and "
                     "10000")
    set_params_error(vm, {'multifd-compression': 'foo'},
                     "Parameter 'multifd-compression' does not accept value "
                     "'foo'")
    set_params_error(vm, {'no-such': 1}, "Parameter 'no-such' is unexpected")
    set_params_error(vm, {'block-incremental': 1},
                     "Invalid parameter type for 'block-incremental', "
                     "expected: boolean")
    check(vm.cmd('query-migrate-parameters') == DEFAULTS,
          'failed sets changed nothing')
    vm.cmd('migrate-set-parameters', max_bandwidth=300000, downtime_limit=100,
           tls_creds='tls0', multifd_compression='zstd',
           cpu_throttle_tailslow=True)
    p = vm.cmd('query-migrate-parameters')
    check(p['max-bandwidth'] == 300000 and p['downtime-limit'] == 100 and
          p['tls-creds'] == 'tls0' and p['multifd-compression'] == 'zstd' and
          p['cpu-throttle-tailslow'] is True, f'set: {p}')
    vm.qmp.cmd_raw('migrate-set-parameters', {'tls-creds': None})
    check(vm.cmd('query-migrate-parameters')['tls-creds'] == '', 'null')
    # HMP: max-bandwidth's bare number is MiB/s; suffixes everywhere.
    for line, key, val in [
            ('max-bandwidth 100', 'max-bandwidth', 100 << 20),
            ('max-bandwidth 1k', 'max-bandwidth', 1024),
            ('downtime-limit 1k', 'downtime-limit', 1024),
            ('xbzrle-cache-size 1M', 'xbzrle-cache-size', 1 << 20),
            ('max-postcopy-bandwidth 100', 'max-postcopy-bandwidth', 100),
            ('cpu-throttle-tailslow off', 'cpu-throttle-tailslow', False),
            ('tls-creds ""', 'tls-creds', '')]:
        out = hmp(vm, f'migrate_set_parameter {line}')
        check(out == '', f'{line}: {out}')
        got = vm.cmd('query-migrate-parameters')[key]
        check(got == val, f'{line}: {got} != {val}')
    for line, err in [
            ('nosuch 1', 'Error: invalid parameter value: nosuch\n'),
            ('max-bandwidth abc', 'Error: Invalid size abc\n'),
            ('compress-level 300',
             "Error: Parameter 'compress-level' expects uint8_t\n"),
            ('xbzrle-cache-size 1024',
             "Error: Parameter 'xbzrle_cache_size' expects a power of two "
             "no less than the target page size\n"),
            ('cpu-throttle-tailslow maybe',
             "Error: Parameter 'cpu-throttle-tailslow' expects 'on' or "
             "'off'\n")]:
        out = hmp(vm, f'migrate_set_parameter {line}')
        check(out == err, f'{line}: {out!r}')
    vm.cmd('migrate-set-parameters', max_bandwidth=DEFAULTS['max-bandwidth'],
           downtime_limit=300, multifd_compression='none',
           xbzrle_cache_size=DEFAULTS['xbzrle-cache-size'],
           max_postcopy_bandwidth=0)
    check(vm.cmd('query-migrate-parameters') == DEFAULTS, 'reset')


def test_commands(vm):
    check(vm.cmd('query-migrate') == {}, 'idle query-migrate')
    check(hmp(vm, 'info migrate') == GLOBALS, 'idle info migrate')
    expect_error(vm, 'migrate',
                 "Parameter 'uri' expects a valid migration protocol",
                 uri='foo:bar')
    expect_error(vm, 'migrate',
                 "File descriptor named 'nosuch' has not been found",
                 uri='fd:nosuch')
    expect_error(vm, 'migrate-continue',
                 "Parameter 'state' does not accept value 'bogus'",
                 state='bogus')
    expect_error(vm, 'migrate-incoming',
                 "'-incoming' was not specified on the command line",
                 uri='tcp:127.0.0.1:0')
    check(hmp(vm, 'migrate') ==
          'migrate: string expected\nTry "help migrate" for more '
          'information\n', 'hmp migrate without uri')
    check(hmp(vm, 'migrate foo:bar') ==
          "Error: Parameter 'uri' expects a valid migration protocol\n",
          'hmp migrate foo:bar')
    check(hmp(vm, 'migrate_continue foo') ==
          'Error: invalid parameter value: foo\n', 'hmp migrate_continue')


def test_events_and_switchover():
    """Source events, destination setup event, pause-before-switchover."""
    port = free_port()
    with MigrationPair(['-M', 'none', '-m', '32M', '-S'],
                       ['-M', 'none', '-m', '32M'],
                       uri=f'tcp:127.0.0.1:{port}', defer=True) as pair:
        src, dst = pair
        info = dst.cmd('query-migrate')
        check(info == {}, f'defer: {info}')
        dst.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}')
        ev = dst.qmp.wait_event('MIGRATION', 5)
        check(ev['data'] == {'status': 'setup'}, f'dst event {ev}')
        info = dst.cmd('query-migrate')
        check(info == {'socket-address': [
            {'port': str(port), 'ipv4': True, 'host': '127.0.0.1',
             'type': 'inet'}]}, f'listening: {info}')
        out = hmp(dst, 'info migrate')
        check(out == GLOBALS + f'socket address: [\n\ttcp:127.0.0.1:{port}'
              '\n]\n', out)
        expect_error(dst, 'migrate-incoming',
                     'The incoming migration has already been started',
                     uri=f'tcp:127.0.0.1:{port}')

        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'events', 'state': True},
            {'capability': 'pause-before-switchover', 'state': True}])
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        wait_migration(src, 20, want=('pre-switchover',))
        expect_error(src, 'migrate',
                     "There's a migration process in progress",
                     uri=f'tcp:127.0.0.1:{port}')
        expect_error(src, 'migrate-set-capabilities',
                     "There's a migration process in progress",
                     capabilities=[{'capability': 'events', 'state': False}])
        expect_error(src, 'migrate-continue',
                     'Migration not in expected state: pre-switchover',
                     state='active')
        check(src.cmd('query-status')['status'] == 'finish-migrate',
              'stopped at switchover')
        src.cmd('migrate-continue', state='pre-switchover')
        info = wait_migration(src, 20)
        seq = [e['data'].get('status', e['data'].get('pass'))
               for e in src.qmp.events
               if e['event'] in ('MIGRATION', 'MIGRATION_PASS')]
        statuses = [s for s in seq if isinstance(s, str)]
        check(statuses == ['setup', 'active', 'pre-switchover', 'device',
                           'completed'], f'events: {seq}')
        check(seq[1] == 1, f'first pass event after setup: {seq}')
        check(src.cmd('query-status')['status'] == 'postmigrate', 'source')
        check(set(info) == {'status', 'setup-time', 'downtime', 'total-time',
                            'ram'}, f'completed keys: {info}')
        check(info['ram']['total'] == 32 << 20 and
              info['ram']['remaining'] == 0 and
              info['ram']['duplicate'] == 8192, f'ram: {info}')
        out = hmp(src, 'info migrate')
        check(out.startswith(GLOBALS + 'Migration status: completed\n'
                             'total time: ') and
              '\ndowntime: ' in out and '\nsetup: ' in out and
              'expected downtime' not in out and
              '\nduplicate: 8192 pages\n' in out, out)
        expect_error(src, 'migrate',
                     "Can't migrate the vm that was paused due to previous "
                     "migration", uri=f'tcp:127.0.0.1:{port}')
        wait_migration(dst, 10)
        check(dst.cmd('query-migrate') == {'status': 'completed'},
              'dst completed shape')
        # -S on the source: globalstate says prelaunch
        check(dst.cmd('query-status')['status'] == 'prelaunch',
              dst.cmd('query-status'))


def test_no_events_without_cap():
    with Vm(['-M', 'none', '-m', '16M', '-S'], name='quiet') as vm:
        vm.cmd('migrate', uri='file:/dev/null')
        wait_migration(vm, 20)
        evs = [e for e in vm.qmp.events
               if e['event'] in ('MIGRATION', 'MIGRATION_PASS')]
        check(not evs, f'events without the capability: {evs}')


def main():
    skip_unless_built()
    with Vm(['-M', 'none', '-m', '16M'], name='cmds') as vm:
        test_capabilities(vm)
        test_parameters(vm)
        test_commands(vm)
    test_events_and_switchover()
    test_no_events_without_cap()
    return 0


if __name__ == '__main__':
    sys.exit(main())
