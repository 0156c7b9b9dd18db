# SPDX-License-Identifier: GPL-2.0-or-later
"""ternmigrate: drive a live migration between two VMMs over QMP.

Works unchanged with Tern and with QEMU 7.2 (it only uses QMP commands
both implement).  Used by scripts/tern-migrate and by the demo.

    tern-migrate --source unix:src.qmp --dest unix:dst.qmp \
        [--tls-creds ID] [--tls-hostname NAME] [--multifd N] \
        [--max-bandwidth BYTES] [--downtime-limit MS] [--cap NAME]...
        [--dest-uri URI] [URI]

The destination is started with `-incoming defer` (tern-migrate then
has it listen on --dest-uri, default URI) or with `-incoming URI` of a
socket (tcp: or unix:): tern-migrate then uses that listener, found in
the destination's query-migrate "socket-address", and says which URI it
used; URI may then be left out.  Exit status 0 when the migration
completed, 1 with the error-desc (and a hint) otherwise.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                '..', 'python'))
from tern.migration import FINAL, poll_migration, set_migration  # noqa
from tern.qmp import QMP, QMPError  # noqa: E402


def human(n):
    n = float(n)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(n) < 1024 or unit == 'TiB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return str(n)


def progress_line(info, width=24):
    """One line: bar, percent of RAM sent, throughput, dirty rate,
    remaining, pass, expected downtime."""
    ram = info.get('ram', {})
    total = ram.get('total', 0)
    remaining = ram.get('remaining', 0)
    pct = 100.0 * (total - remaining) / total if total else 0.0
    filled = int(width * pct / 100)
    bar = '#' * filled + '-' * (width - filled)
    page = ram.get('page-size', 4096) or 4096
    dirty = ram.get('dirty-pages-rate', 0) * page
    line = (f"[{bar}] {pct:5.1f}% {info.get('status', '?')} "
            f"| {ram.get('mbps', 0) / 8:8.1f} MB/s "
            f"| dirty {human(dirty)}/s "
            f"| remaining {human(remaining)} "
            f"| pass {ram.get('dirty-sync-count', 0)}")
    if 'expected-downtime' in info:
        line += f" | exp. downtime {info['expected-downtime']} ms"
    if 'cpu-throttle-percentage' in info:
        line += f" | throttle {info['cpu-throttle-percentage']}%"
    return line


def summary(info):
    ram = info.get('ram', {})
    secs = (info.get('total-time') or 0) / 1000.0
    rate = ram.get('transferred', 0) / secs if secs else 0
    return (f"completed in {info.get('total-time')} ms, downtime "
            f"{info.get('downtime')} ms, {human(ram.get('transferred', 0))} "
            f"sent ({human(rate)}/s), {ram.get('normal', 0)} normal pages, "
            f"{ram.get('duplicate', 0)} zero pages, "
            f"{ram.get('dirty-sync-count', 0)} passes")


class Progress:
    """on_info for poll_migration: a progress line per answer, redrawn
    in place on a terminal, at most one a second otherwise."""

    def __init__(self, out=sys.stdout, period=1.0):
        self.out = out
        self.tty = out.isatty()
        self.period = period
        self.last_print = 0.0

    def __call__(self, info):
        done = info.get('status') in FINAL
        line = progress_line(info)
        if self.tty:
            self.out.write('\r\033[K' + line + ('\n' if done else ''))
        elif done or time.time() - self.last_print >= self.period:
            self.out.write(line + '\n')
            self.last_print = time.time()
        self.out.flush()


def watch(src, out=sys.stdout, interval=0.25):
    """Poll query-migrate until the migration ends; returns the last info."""
    return poll_migration(src, FINAL, None, interval, Progress(out))


WILDCARD_HOSTS = ('', '0.0.0.0', '::', '[::]')

HINT = ('hint: start the destination with "-incoming defer" (tern-migrate '
        'then has it listen on URI) or with "-incoming tcp:HOST:PORT" '
        '(tern-migrate uses that listener), and give its QMP socket '
        'with --dest')


def uri_host(uri):
    """The HOST of tcp:HOST:PORT, or None."""
    if uri and uri.startswith('tcp:') and ':' in uri[4:]:
        return uri[4:].rsplit(':', 1)[0] or None
    return None


def listener_uri(addr, host_hint):
    """A URI the source can connect to for one socket-address entry
    of the destination's query-migrate; None for an unknown type.
    A wildcard listening host (0.0.0.0, ::) becomes host_hint (or
    127.0.0.1); host_hint=False keeps it (to show the listener)."""
    if addr.get('type') == 'inet':
        host = addr.get('host', '')
        if host in WILDCARD_HOSTS and host_hint is not False:
            host = host_hint or '127.0.0.1'
        if ':' in host and not host.startswith('['):
            host = f'[{host}]'
        return f"tcp:{host}:{addr.get('port')}"
    if addr.get('type') == 'unix':
        return f"unix:{addr.get('path')}"
    if addr.get('type') == 'vsock':
        return f"vsock:{addr.get('cid')}:{addr.get('port')}"
    return None


def same_listener(uri, listen):
    """Does the user's uri reach the listener listen (same socket type
    and port or path; the host may differ, e.g. a public name)?"""
    if not uri:
        return False
    if uri.startswith('tcp:') and listen.startswith('tcp:'):
        return uri.rsplit(':', 1)[-1] == listen.rsplit(':', 1)[-1]
    return uri == listen


def pick_uri(args, dst):
    """(uri the source migrates to, uri dst must listen on or None
    when it already listens).  Prints which URI it chose."""
    addrs = dst.cmd('query-migrate').get('socket-address') or []
    listens = [u for u in (listener_uri(a, uri_host(args.uri) or
                                        uri_host(args.dest))
                           for a in addrs) if u]
    if not listens:
        if not args.uri:
            raise UsageError('no URI given and the destination is not '
                             'listening yet')
        return args.uri, args.dest_uri or args.uri
    if args.uri and any(same_listener(args.uri, u) for u in listens):
        uri = args.uri
    else:
        uri = listens[0]
    shown = [u for u in (listener_uri(a, False) for a in addrs) if u]
    print(f"tern-migrate: the destination already listens on "
          f"{', '.join(shown)}; migrating to {uri}"
          + (f' (not {args.uri})' if args.uri and args.uri != uri else ''))
    return uri, None


class UsageError(RuntimeError):
    """The two processes cannot be set up as asked (with HINT)."""


def migrate(args):
    src = QMP(args.source, wait=False)
    dst = QMP(args.dest, wait=False)
    uri, listen = pick_uri(args, dst)
    caps = list(args.cap or [])
    if args.multifd:
        caps.append('multifd')
    sp, dp = {}, {}
    if args.tls_creds:
        sp['tls-creds'] = dp['tls-creds'] = args.tls_creds
        if args.tls_hostname:
            sp['tls-hostname'] = args.tls_hostname
    if args.multifd:
        sp['multifd-channels'] = dp['multifd-channels'] = args.multifd
    if args.max_bandwidth is not None:
        sp['max-bandwidth'] = args.max_bandwidth
    if args.downtime_limit is not None:
        sp['downtime-limit'] = args.downtime_limit
    set_migration(dst, caps, dp)
    if listen:
        try:
            dst.cmd('migrate-incoming', uri=listen)
        except QMPError as e:
            raise UsageError(f'the destination refused migrate-incoming '
                             f'{listen}: {e.desc}') from e
    set_migration(src, caps, sp)
    src.cmd('migrate', uri=uri)
    info = watch(src)
    if info.get('status') != 'completed':
        print(f"tern-migrate: migration {info.get('status')}: "
              f"{info.get('error-desc', 'no error reported')}", file=sys.stderr)
        return 1
    # wait for the destination to finish loading
    try:
        dinfo = poll_migration(dst, ('completed', 'failed'), 60, 0.1)
    except TimeoutError:
        dinfo = dst.cmd('query-migrate')
    if dinfo.get('status') != 'completed':
        print(f"tern-migrate: destination {dinfo.get('status')}: "
              f"{dinfo.get('error-desc', '')}", file=sys.stderr)
        return 1
    print('tern-migrate: ' + summary(info))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='tern-migrate',
        description='Live-migrate between two Tern or QEMU processes over QMP.')
    ap.add_argument('--source', required=True, help='source QMP: unix:PATH | tcp:HOST:PORT')
    ap.add_argument('--dest', required=True,
                    help='destination QMP (started with -incoming defer or '
                         '-incoming tcp:HOST:PORT)')
    ap.add_argument('--tls-creds', help='id of tls-creds objects on both sides')
    ap.add_argument('--tls-hostname', help='hostname to check in the certificate')
    ap.add_argument('--multifd', type=int, metavar='N', help='use N multifd channels')
    ap.add_argument('--max-bandwidth', type=int, metavar='BYTES', help='bytes per second')
    ap.add_argument('--downtime-limit', type=int, metavar='MS')
    ap.add_argument('--cap', action='append', metavar='NAME', help='enable a capability on both sides')
    ap.add_argument('--dest-uri', metavar='URI',
                    help='URI the destination listens on (default: URI), '
                         'e.g. tcp:0.0.0.0:4444')
    ap.add_argument('uri', nargs='?',
                    help='migration URI the source connects to, e.g. '
                         'tcp:host:4444 (default: the destination\'s '
                         'listener when it has one)')
    args = ap.parse_args(argv)
    try:
        return migrate(args)
    except UsageError as e:
        print(f'tern-migrate: {e}\n{HINT}', file=sys.stderr)
        return 1
    except QMPError as e:
        print(f'tern-migrate: {e.desc}', file=sys.stderr)
        return 1
    except (OSError, EOFError, RuntimeError) as e:
        print(f'tern-migrate: {e}', file=sys.stderr)
        return 1
