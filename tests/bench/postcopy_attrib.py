#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Attribute the slow postcopy faults (above p99) to what the kernel did.

Runs the bench case postcopy-blocktime-sw-16MiBs-preempt (Tern only) with
the postcopy_hop_* traces on both sides while tracefs records
sched_switch, sched_wakeup, sched_migrate_task and the NET_RX softirq
(trace_clock mono: the same clock as the hop stamps).  For each fault
served on the preempt channel whose total (fault read -> placed) is above
the run's p99 is split at the fault path's own kernel events:

  send_req  REQ_PAGES about to be written -> NET_RX softirq entered in
            the fault thread (the send path down to the loopback)
  rx_req    -> the source's request reader woken (TCP receive of the
            request): "mig/src/preempt" where requests go on the
            preempt connection (two Terns), else the return-path thread
  wait_rp   -> the request reader running
  rp_work   -> NET_RX entered in it (parse, follow the socket's CPU,
            build and write the page on the preempt channel)
  rx_page   -> the preempt reader woken
  wait_rd   -> the preempt reader running
  rd_work   -> the page placed (read the record, UFFDIO_COPY)

and classed: the return-path thread woken at normal priority (before
it was made real-time); the request behind the bulk on the shared main socket (the
return-path thread woken by the source's migration thread at its
release of the socket, or the fault thread sleeping in its write); NET_RX
deferred to ksoftirqd (a wake-up done by ksoftirqd/N, a CFS thread); the
path split across the CPUs (a wake-up across CPUs, or the path's CPU
idle or running the stopper thread migration/N, which moves a thread,
within the fault); another task switched in on the path's CPU
meanwhile; or none of those: the chain ran uninterrupted on one CPU and
every step was slower (the nested VM's CPU itself slow).

Usage (as root: tracefs): postcopy_attrib.py [--build build] [--runs N]
                          [--keep DIR]
Prints one JSON line per run (the segments' medians below and above p99,
the classes' counts, NET_RX time in ksoftirqd and inline); each run's
stderr, trace and attrib.json (every fault above p99 with its segments,
wakers and class) stay in DIR/run-*.  Figures: docs/benchmarks.md,
"Postcopy fault latency: the loaded floor, the slow faults traced".
"""
import argparse
import bisect
import json
import os
import re
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402

TRACEFS = '/sys/kernel/tracing'
EVENTS = ('sched/sched_switch', 'sched/sched_wakeup',
          'sched/sched_migrate_task', 'irq/softirq_entry',
          'irq/softirq_exit')
NET_RX = 3


def tracefs_write(name, value):
    with open(os.path.join(TRACEFS, name), 'w') as f:
        f.write(value)


def tracefs_start():
    if not os.path.exists(os.path.join(TRACEFS, 'trace')):
        os.system(f'mount -t tracefs nodev {TRACEFS} 2>/dev/null')
    tracefs_write('tracing_on', '0')
    tracefs_write('trace_clock', 'mono')
    tracefs_write('buffer_size_kb', '65536')
    tracefs_write('trace', '')
    for ev in EVENTS:
        tracefs_write(f'events/{ev}/enable', '1')
    tracefs_write('events/irq/softirq_entry/filter', f'vec == {NET_RX}')
    tracefs_write('events/irq/softirq_exit/filter', f'vec == {NET_RX}')
    tracefs_write('tracing_on', '1')


def tracefs_stop(path):
    tracefs_write('tracing_on', '0')
    for ev in EVENTS:
        tracefs_write(f'events/{ev}/enable', '0')
    with open(os.path.join(TRACEFS, 'trace')) as f, open(path, 'w') as out:
        for line in f:
            out.write(line)
    tracefs_write('trace', '')
    tracefs_write('buffer_size_kb', '1408')


LINE = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')


def parse_trace(path):
    """Events as (ns, cpu, cur_comm, cur_pid, name, fields)."""
    evs = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, cpu, ts, name, rest = m.groups()
            sec, frac = ts.split('.')
            ns = int(sec) * 1000000000 + int(frac.ljust(9, '0')[:9])
            evs.append((ns, int(cpu), comm, int(pid), name, rest))
    evs.sort(key=lambda e: e[0])
    return evs


def field(rest, key):
    m = re.search(rf'\b{key}=(\S+)', rest)
    return m.group(1) if m else None


def netrx_ms(evs):
    """NET_RX softirq time (ms): (in ksoftirqd, inline in other tasks)."""
    opened, ksirq, inline = {}, 0, 0
    for ns, cpu, comm, _pid, name, _rest in evs:
        if name == 'softirq_entry':
            opened[cpu] = (ns, comm)
        elif name == 'softirq_exit' and cpu in opened:
            s, c = opened.pop(cpu)
            if c.startswith('ksoftirqd'):
                ksirq += ns - s
            else:
                inline += ns - s
    return round(ksirq / 1e6, 1), round(inline / 1e6, 1)


PATH = ('mig/dst/fault', 'mig/src/preempt', 'mig/dst/preempt')
RP_THREAD = 'return path'  # reads the requests when the preempt one does not
SEGS = ('send_req', 'rx_req', 'wait_rp', 'rp_work', 'rx_page', 'wait_rd',
        'rd_work')


class Timeline:
    """Per-thread events of the fault path, and per-CPU switches."""

    def __init__(self, evs):
        self.sirq = {}    # pid -> [ns of NET_RX softirq_entry in its context]
        self.wake = {}    # pid -> [(ns, waker comm, waker cpu, target cpu, prio)]
        self.run = {}     # pid -> [(ns, cpu)] switched in
        self.out = {}     # pid -> [(ns, prev_state)] switched out
        self.sw = []      # (ns, cpu, prev comm, next comm)
        self.pids = {}
        for ns, cpu, comm, pid, name, rest in evs:
            if comm in PATH or comm == RP_THREAD:
                self.pids.setdefault(comm, {})
                self.pids[comm][pid] = self.pids[comm].get(pid, 0) + 1
            if name == 'softirq_entry':
                self.sirq.setdefault(pid, []).append((ns, comm, cpu))
            elif name == 'sched_wakeup':
                self.wake.setdefault(int(field(rest, 'pid')), []).append(
                    (ns, comm, cpu, int(field(rest, 'target_cpu')),
                     int(field(rest, 'prio'))))
            elif name == 'sched_switch':
                nxt = int(field(rest, 'next_pid'))
                self.run.setdefault(nxt, []).append((ns, cpu))
                self.out.setdefault(int(field(rest, 'prev_pid')), []).append(
                    (ns, field(rest, 'prev_state')))
                pc = rest.split('prev_comm=', 1)[1].split(' prev_pid=')[0]
                nc = rest.split('next_comm=', 1)[1].split(' next_pid=')[0]
                self.sw.append((ns, cpu, pc, nc))
        self.sw_ts = [e[0] for e in self.sw]

    @staticmethod
    def first(lst, t0, t1):
        i = bisect.bisect_left(lst, (t0,))
        return lst[i] if i < len(lst) and lst[i][0] <= t1 else None

    def choose_pids(self, faults):
        """Of the threads named as the path's (other Terns may run on the
        host), the ones whose events fall in these faults' windows."""
        chosen = {}
        for comm, cands in self.pids.items():
            def hits(pid):
                return sum(1 for t in faults[::20]
                           if self.first(self.run.get(pid, []), t[1], t[5]))
            chosen[comm] = max(cands, key=hits)
        if PATH[1] not in chosen and RP_THREAD in chosen:
            chosen[PATH[1]] = chosen[RP_THREAD]  # requests on the return path
        self.pids = chosen

    def others(self, cpus, t0, t1):
        """Tasks other than the path's switched in on cpus during
        [t0, t1]."""
        i = bisect.bisect_left(self.sw_ts, t0)
        names = []
        while i < len(self.sw) and self.sw[i][0] <= t1:
            if self.sw[i][1] in cpus and self.sw[i][3] not in PATH + (
                    RP_THREAD,):
                names.append((self.sw[i][1], self.sw[i][3]))
            i += 1
        return names


def fault_split(tl, t):
    """The segments of one fault (us; None where an event is missing),
    with the wakers and CPUs of its two wake-ups."""
    f, rp, rd = (tl.pids.get(c) for c in PATH)
    req, t_rp, tx, recv, placed = t[1], t[2], t[3], t[4], t[5]
    s1 = tl.first(tl.sirq.get(f, []), req, t_rp)
    w1 = tl.first(tl.wake.get(rp, []), req, t_rp)
    r1 = tl.first(tl.run.get(rp, []), w1[0], t_rp) if w1 else None
    s2 = tl.first(tl.sirq.get(rp, []), r1[0], recv) if r1 else None
    w2 = tl.first(tl.wake.get(rd, []), tx, recv)
    r2 = tl.first(tl.run.get(rd, []), w2[0], recv) if w2 else None
    marks = [req, s1 and s1[0], w1 and w1[0], r1 and r1[0], s2 and s2[0],
             w2 and w2[0], r2 and r2[0], placed]
    seg = {}
    for i, name in enumerate(SEGS):
        a, b = marks[i], marks[i + 1]
        seg[name] = (b - a) / 1e3 if a and b and b >= a else None
    # the fault thread asleep before its request reached the loopback:
    # waiting for the main socket, which the load thread holds reading
    sent = (s1 and s1[0]) or (w1 and w1[0]) or t_rp
    slept = [o for o in tl.out.get(f, []) if req <= o[0] < sent and
             o[1] not in ('R', 'R+')]
    return {'seg': seg, 'w1': w1 and w1[1:], 'w2': w2 and w2[1:],
            'fault_slept': bool(slept),
            'others': tl.others({e[1] for e in (r1, r2) if e}, req, placed)}


def cause_of(d):
    """The class of one slow fault (see the notebook)."""
    w1, w2, seg = d['w1'], d['w2'], d['seg']
    if w1 and w1[3] >= 100:
        return 'return-path thread not yet real-time (first request)'
    if (w1 and w1[0] == 'live_migration') or d['fault_slept']:
        return 'request behind the bulk on the shared main socket'
    if (w1 and w1[0].startswith('ksoftirqd')) or \
            (w2 and w2[0].startswith('ksoftirqd')):
        return 'NET_RX deferred to ksoftirqd'
    if not w1 or not w2 or None in seg.values():
        return 'events missing (stall without events, or served otherwise)'
    moved = [n for _c, n in d['others']
             if n.startswith('migration/') or n.startswith('swapper/')]
    if w1[1] != w1[2] or w2[1] != w2[2] or moved:
        return 'the path split across the CPUs (a remote wake-up, a CPU idle' \
            ' or a thread moved meanwhile)'
    if d['others']:
        return 'another task ran on the path\'s CPU meanwhile'
    return 'uninterrupted on one CPU, every step slower'


def attribute(dst_err, src_err, trace_path):
    req, src, placed = {}, {}, {}
    for line in dst_err.splitlines():
        for name, table in (('postcopy_hop_req', req),
                            ('postcopy_hop_placed', placed)):
            if f':{name} ' in line:
                w = line.split(f':{name} ', 1)[1].split()
                table.setdefault(w[0], dict(zip(w[1::2], w[2::2])))
    for line in src_err.splitlines():
        if ':postcopy_hop_src ' in line and ' sent ' in line:
            w = line.split(':postcopy_hop_src ', 1)[1].split()
            src.setdefault(w[0], dict(zip(w[1::2], w[2::2])))
    faults = []
    for page, p in placed.items():
        if p.get('via') != 'preempt' or page not in req or page not in src:
            continue
        faults.append([int(req[page]['fault']), int(req[page]['req']),
                       int(src[page]['rp']), int(src[page]['tx']),
                       int(p['recv']), int(p['placed'])])
    faults.sort(key=lambda t: t[5] - t[0])
    n = len(faults)
    k99 = int(0.99 * n)
    p99 = (faults[k99][5] - faults[k99][0]) / 1e3
    evs = parse_trace(trace_path)
    tl = Timeline(evs)
    tl.choose_pids(faults)

    splits = [fault_split(tl, t) for t in faults]
    med = {}
    for name in SEGS:
        v = [d['seg'][name] for d in splits[:k99] if d['seg'][name] is not None]
        med[name] = round(statistics.median(v), 1) if v else None
    slow = []
    for t, d in zip(faults[k99 + 1:], splits[k99 + 1:]):
        d['total_us'] = (t[5] - t[0]) / 1e3
        d['stamps'] = t
        d['cause'] = cause_of(d)
        d['others'] = d['others'][:4]
        slow.append(d)
    slow_med = {}
    for name in SEGS:
        v = [d['seg'][name] for d in slow if d['seg'][name] is not None]
        slow_med[name] = round(statistics.median(v), 1) if v else None
    causes = {}
    for d in slow:
        causes[d['cause']] = causes.get(d['cause'], 0) + 1
    fast_causes = {}
    for d in splits[:k99]:
        c = cause_of(d)
        fast_causes[c] = fast_causes.get(c, 0) + 1
    ksirq, inline = netrx_ms(evs)
    return {'netrx_ms_in_ksoftirqd': ksirq, 'netrx_ms_inline': inline,
            'faults': n, 'p99_us': p99, 'median_seg_below_p99': med,
            'median_seg_above_p99': slow_med,
            'slow': slow, 'causes_above_p99': causes,
            'causes_below_p99': fast_causes}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--keep', help='keep stderr and traces here')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    case = {'kind': 'postcopy-stress', 'rate': 16, 'preempt': True,
            'mem_mb': 256, 'stress_mb': 128, 'precopy_bw': 64 << 20,
            'postcopy_bw': 32 << 20, 'hops': True}
    keep = args.keep or tempfile.mkdtemp(prefix='pc-attrib-')
    os.makedirs(keep, exist_ok=True)
    for i in range(args.runs):
        tmp = tempfile.mkdtemp(prefix='run-', dir=keep)
        trace_path = os.path.join(tmp, 'sched.trace')
        tracefs_start()
        try:
            res = bench.run_postcopy_case(
                'tern', os.path.join(build, 'tern'), case, tmp,
                os.path.join(build, 'guest', 'stress.elf'), None, 0)
        finally:
            tracefs_stop(trace_path)
        with open(os.path.join(tmp, 'tern-dst.stderr')) as f:
            dst_err = f.read()
        with open(os.path.join(tmp, 'tern-src.stderr')) as f:
            src_err = f.read()
        a = attribute(dst_err, src_err, trace_path)
        a['fault_p50_us'] = res.get('fault_p50_us')
        a['fault_p99_us'] = res.get('fault_p99_us')
        a['dir'] = tmp
        with open(os.path.join(tmp, 'attrib.json'), 'w') as f:
            json.dump(a, f, indent=1)
        print(json.dumps({k: a[k] for k in (
            'faults', 'p99_us', 'fault_p50_us', 'fault_p99_us',
            'median_seg_below_p99', 'median_seg_above_p99',
            'causes_above_p99', 'causes_below_p99',
            'netrx_ms_in_ksoftirqd', 'netrx_ms_inline', 'dir')}),
            flush=True)


if __name__ == '__main__':
    sys.exit(main())
