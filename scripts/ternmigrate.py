# SPDX-License-Identifier: GPL-2.0-or-later
"""ternmigrate: drive a live migration between two VMMs over QMP.

Works unchanged with Tern and with QEMU 7.2 (it only uses QMP commands
both implement).  Used by scripts/tern-migrate and by the demo.

    tern-migrate --source unix:src.qmp --dest unix:dst.qmp \
        [--tls-creds ID] [--tls-hostname NAME] [--multifd N] \
        [--max-bandwidth BYTES] [--downtime-limit MS] [--cap NAME]...
        [--dest-uri URI] URI

The destination must have been started with `-incoming defer`.  Exit
status 0 when the migration completed, 1 with the error-desc otherwise.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                '..', 'python'))
from tern.migration import FINAL, poll_migration, start_migration  # noqa
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


def migrate(args):
    src = QMP(args.source, wait=False)
    dst = QMP(args.dest, wait=False)
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
    start_migration(src, args.uri, dst, args.dest_uri or args.uri,
                    caps, sp, caps, dp)
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
    ap.add_argument('--dest', required=True, help='destination QMP (started with -incoming defer)')
    ap.add_argument('--tls-creds', help='id of tls-creds objects on both sides')
    ap.add_argument('--tls-hostname', help='hostname to check in the certificate')
    ap.add_argument('--multifd', type=int, metavar='N', help='use N multifd channels')
    ap.add_argument('--max-bandwidth', type=int, metavar='BYTES', help='bytes per second')
    ap.add_argument('--downtime-limit', type=int, metavar='MS')
    ap.add_argument('--cap', action='append', metavar='NAME', help='enable a capability on both sides')
    ap.add_argument('--dest-uri', metavar='URI',
                    help='URI the destination listens on (default: URI), '
                         'e.g. tcp:0.0.0.0:4444')
    ap.add_argument('uri', help='migration URI the source connects to, e.g. tcp:host:4444')
    args = ap.parse_args(argv)
    try:
        return migrate(args)
    except QMPError as e:
        print(f'tern-migrate: {e.desc}', file=sys.stderr)
        return 1
    except (OSError, EOFError, RuntimeError) as e:
        print(f'tern-migrate: {e}', file=sys.stderr)
        return 1
