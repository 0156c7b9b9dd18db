# SPDX-License-Identifier: GPL-2.0-or-later
"""The loaded floor under a postcopy fault's latency (make bench).

A postcopy fault served on the preempt channel is a round trip between
SCHED_FIFO threads over loopback TCP (request ~32 B one way, the page
record 4 KiB + header the other) while the postcopy bulk streams and the
guest's vCPU keeps a CPU busy.  tests/bench/wake-pingpong.c measures the
same round trip with zero work, under the same load (a bulk loopback
stream paced at the rate the case's bulk ran, plus a busy CFS process
writing pages as the stress guest does): with Tern's policy (both ends
held to one CPU as postcopy-cpu.c holds the fault path, SCHED_IDLE
spinners on the CPUs as postcopy-idle-poll.c's pollers), free to move,
and on one CPU without spinners; and with Tern's policy once more with
the round trips 4 ms apart, as the faults come at the end of the case
when the guest has most of its pages (a path idle that long runs cold on
this machine).  If that bare round trip's p99 is already above a goal,
the goal is beyond the machine; if well below, the gap is Tern's.
"""
import json
import os
import statistics
import subprocess

# (name, wake-pingpong arguments); a later --gap-us wins
MODES = (('policy', ['--cpu', '0', '--idle-poll']), ('free', []),
         ('pinned', ['--cpu', '0']),
         ('sparse', ['--cpu', '0', '--idle-poll', '--gap-us', '4000']))
ROUNDS = 2000
GAP_US = 1000   # faults come ~1 ms apart for most of the case


def run_floor(build, load_mibs):
    """One interleaved set: each mode once under the load; {mode: stats}
    (a mode that failed has {'error': text})."""
    binary = os.path.join(build, 'tests', 'bench', 'wake-pingpong')
    out = {'load_mibs': load_mibs}
    for name, extra in MODES:
        cmd = [binary, '--fifo', '--bytes', '32', '--reply-bytes', '4120',
               '--rounds', str(ROUNDS), '--gap-us', str(GAP_US),
               '--load-mibs', str(max(1, round(load_mibs))),
               '--load-vcpu'] + extra
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=120)
            out[name] = json.loads(r.stdout)
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            out[name] = {'error': str(e)[:200]}
    return out


def bulk_mibs(series, t_switch_rel):
    """The postcopy bulk's rate (MiB/s) from query-migrate samples: the
    bytes sent from 0.2 s after the switch to the last sample with RAM
    remaining."""
    after = [s for s in series
             if s['t'] >= t_switch_rel + 0.2 and s.get('remaining', 0) > 0]
    if len(after) < 2 or after[-1]['t'] <= after[0]['t']:
        return None
    return ((after[-1]['transferred'] - after[0]['transferred']) /
            (after[-1]['t'] - after[0]['t']) / (1 << 20))


def _med(floors, mode, key):
    v = [f[mode][key] for f in floors if key in f.get(mode, {})]
    return statistics.median(v) if v else None


def figures(floors):
    """{mode: (p50, p99, p99.9)} medians over the sets, and the load rate."""
    out = {}
    for mode, _ in MODES:
        t = tuple(_med(floors, mode, k) for k in ('rtt_p50_us', 'rtt_p99_us',
                                                   'rtt_p999_us'))
        if None not in t:
            out[mode] = t
    rates = [f['load_mibs'] for f in floors if f.get('load_mibs')]
    return out, (statistics.median(rates) if rates else None)


def limit_text(floors):
    """The 'limit' column of the case's rows."""
    figs, rate = figures(floors)
    if not figs:
        return ''
    parts = [f'{m} {a:.0f}/{b:.0f}/{c:.0f}' for m, (a, b, c) in figs.items()]
    return (f"bare RTT p50/p99/p99.9 us under bulk {rate:.0f} MiB/s + busy "
            f"vCPU ({len(floors)} sets): " + ', '.join(parts))


def sentence(name, floors, tern_runs):
    """A line under the table: Tern's p99 against the loaded floor's."""
    figs, rate = figures(floors)
    p99 = [r.get('fault_p99_us') for r in tern_runs
           if r.get('fault_p99_us') is not None]
    if 'policy' not in figs or not p99:
        return []
    t = statistics.median(p99)
    f = figs['policy']
    return ['', f'{name}: Tern\'s fault p99 {t:.0f} us against {f[1]:.0f} us '
            f'for a bare round trip with zero work under the same load '
            f'(bulk {rate:.0f} MiB/s + a busy vCPU, Tern\'s CPU policy; '
            f'p50 {f[0]:.0f}, p99.9 {f[2]:.0f} us; free to move: p99 '
            f"{figs.get('free', (0, 0, 0))[1]:.0f} us; round trips 4 ms "
            f"apart: p50 {figs.get('sparse', (0, 0, 0))[0]:.0f}, p99 "
            f"{figs.get('sparse', (0, 0, 0))[1]:.0f} us; "
            'tests/bench/wake_floor.py).']
