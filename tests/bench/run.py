#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: Tern and Debian's QEMU on the same work, in one run.

Each case runs QEMU -> QEMU and Tern -> Tern alternately (median of N runs
each) and records total time, throughput, CPU seconds of each side,
downtime and bytes sent, plus a time series of remaining RAM and
throughput sampled from query-migrate.  multifd-tcp-none also runs the
machine's floor (tests/bench/multifd-floor) in every round, and gives
every destination the same first-touch draw (firsttouch.py).  Output:
  - a markdown table on stdout and in docs/benchmarks.md,
  - raw results as JSON (docs/bench/results.json),
  - PNG plots drawn with gnuplot (docs/bench/*.png).

Usage: tests/bench/run.py [--build build] [--quick] [--runs N] [--case NAME...]
"""
import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(SRC, 'python'))
from tern import migration  # noqa: E402
from tern.migration import FINAL, set_migration  # noqa: E402
from tern.tlscerts import make_x509  # noqa: E402
from tern.vm import Vm, free_port, have_kvm  # noqa: E402
sys.path.insert(0, HERE)
import saverestore  # noqa: E402
import libvirt_bench  # noqa: E402
import checkpoint  # noqa: E402
import firsttouch  # noqa: E402
import wake_floor  # noqa: E402

QEMU = shutil.which('qemu-system-x86_64')
CLK_TCK = os.sysconf('SC_CLK_TCK')
BIG_BW = 100 << 30            # "unlimited" max-bandwidth, bytes/s


def vmm(binary, args, tmp, name):
    """One VMM process (QEMU or Tern) with QMP in tmp, no default devices
    and no serial log unless args ask for one."""
    return Vm(['-nodefaults'] + args, binary=binary, name=name, serial=False,
              tmpdir=tmp)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def loopback_bytes():
    """Bytes the loopback interface has carried so far (both VMMs' sockets
    and anything else on the machine, TCP/IP headers included), or None."""
    try:
        with open('/sys/class/net/lo/statistics/rx_bytes') as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def make_random_file(path, size):
    """size bytes of random data (cached between runs)."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    chunk = 64 << 20
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def make_halftext_file(path, size):
    """size bytes where every other 4 KiB page is zero and the rest is
    English-like text with numbers (compressible about 3-4x), as a guest's
    page cache and heap might hold (cached between runs)."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    words = ('migration page channel packet guest memory dirty bitmap '
             'stream transfer source destination compress level thread '
             'kernel buffer socket').split()
    chunk = bytearray()
    n = 0
    while len(chunk) < (2 << 20):
        page = bytearray()
        while len(page) < 4096:
            n += 1
            page += f'{words[n * 7 % len(words)]} {n * 2654435761 % 100000} '.encode()
        chunk += bytes(4096) + page[:4096]
    with open(path, 'wb') as f:
        left = size
        while left:
            k = min(len(chunk), left)
            f.write(chunk[:k])
            left -= k


def _event_time(ev):
    ts = ev['timestamp']
    return ts['seconds'] + ts['microseconds'] / 1e6


def _take_event(qmp, status, timeout):
    """The MIGRATION event with this status, or None within timeout s."""
    try:
        return qmp.wait_event('MIGRATION', timeout=timeout,
                              pred=lambda e: e['data']['status'] == status)
    except (TimeoutError, OSError):
        return None


def thread_cpu_seconds(pid, comm):
    """utime + stime summed over the threads of pid named comm (QEMU
    names its migration thread live_migration with -name
    debug-threads=on; Tern always does)."""
    total = 0.0
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/comm') as f:
                if f.read().strip() != comm:
                    continue
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return total


def poll_migration(src, dst, t0, timeout, on_sample=None):
    """Sample query-migrate until both sides finish.

    Returns (info, series, wall).  wall is measured from the QMP event
    timestamps both processes put on their MIGRATION events (one host, one
    clock): from the source's "setup" to the destination's "completed"
    (the source's "completed" when there is no destination), so neither
    the 0.1 s polling period nor QMP latency is in it.  Only the source is
    queried while it runs; the destination is only listened to.
    """
    series = []
    deadline = time.time() + timeout

    def sample(info):
        ram = info.get('ram', {})
        series.append({'t': time.time() - t0,
                       'remaining': ram.get('remaining', 0),
                       'transferred': ram.get('transferred', 0),
                       'mbps': ram.get('mbps', 0)})
        if on_sample:
            on_sample(info)
        if info.get('status') in FINAL:
            return
        if dst is not None and dst.proc.poll() is not None:
            raise RuntimeError('destination exited: ' + dst.stderr()[-500:])

    try:
        info = migration.poll_migration(src, FINAL, timeout, 0.1, sample)
    except TimeoutError:
        raise RuntimeError('migration timed out') from None
    st = info.get('status')
    if st != 'completed':
        raise RuntimeError(f"source {st}: {info.get('error-desc')}")
    start = _take_event(src.qmp, 'setup', 5)
    end = _take_event(src.qmp, 'completed', 5)
    if dst is not None:
        dend = _take_event(dst.qmp, 'completed', max(1, deadline - time.time()))
        if dend is None:
            raise RuntimeError('destination did not complete: ' + dst.stderr()[-500:])
        end = dend
    if start is None or end is None:
        raise RuntimeError('MIGRATION events missing')
    return info, series, _event_time(end) - _event_time(start)


def run_ram_case(system, binary, case, ramfile, size, tmp, tls_dir):
    """RAM-only -M none migration of size bytes of ramfile's content."""
    mb = size >> 20
    src_args = ['-M', 'none', '-m', f'{mb}M',
                '-object', f'memory-backend-file,id=mem,size={mb}M,'
                           f'mem-path={ramfile},share=on',
                '-machine', 'none,memory-backend=mem']
    dst_args = ['-M', 'none', '-m', f'{mb}M',
                '-object', f'memory-backend-ram,id=mem,size={mb}M',
                '-machine', 'none,memory-backend=mem', '-incoming', 'defer']
    params = {'max-bandwidth': BIG_BW}
    caps = {'events': True}
    if case.get('compress'):
        # the compress capability on both sides, compress-threads N
        caps['compress'] = True
        params['compress-threads'] = case['compress']
    if case.get('multifd'):
        # both sides: -incoming defer, the same channel count and method
        caps['multifd'] = True
        params.update({'multifd-channels': case['multifd'][0],
                       'multifd-compression': case['multifd'][1]})
    if case['transport'] == 'tls':
        src_args += ['-object', f'tls-creds-x509,id=tls0,dir={tls_dir},endpoint=client']
        dst_args += ['-object', f'tls-creds-x509,id=tls0,dir={tls_dir},endpoint=server']
        params.update({'tls-creds': 'tls0', 'tls-hostname': 'localhost'})
    # the destination's first touch drawn the same way in every run
    # (firsttouch.py): held memory, given back as the destination grows
    ho = firsttouch.Handover(size) if case.get('handover') else None
    src = vmm(binary, src_args, tmp, f'{system}-src')
    dst = None
    try:
        if case['transport'] in ('tcp', 'tls'):
            port = free_port()
            in_uri = out_uri = f'tcp:127.0.0.1:{port}'
        elif case['transport'] == 'unix':
            path = os.path.join(tmp, f'{system}.sock')
            in_uri = out_uri = f'unix:{path}'
        else:  # exec to a file: save only
            # next to the RAM file, in tmpfs: the case measures the
            # migration, not the disk (on /tmp single runs went from 2 to
            # 9 s with the host's write-back)
            out = os.path.join(os.path.dirname(ramfile), f'{system}.save')
            in_uri = None
            out_uri = f'exec:cat > {out}'
        if in_uri:
            dst = vmm(binary, dst_args, tmp, f'{system}-dst')
            set_migration(dst, caps,
                          {k: v for k, v in params.items()
                           if k != 'tls-hostname'})
            dst.cmd('migrate-incoming', uri=in_uri)
        set_migration(src, caps, params)
        cpu_s0 = cpu_seconds(src.proc.pid)
        cpu_d0 = cpu_seconds(dst.proc.pid) if dst else 0
        rd0 = loopback_bytes() if dst else None
        if ho and dst:
            ho.start(dst.proc.pid)
        t0 = time.time()
        src.cmd('migrate', uri=out_uri)
        info, series, wall = poll_migration(src, dst, t0, 600)
        rd1 = loopback_bytes() if dst else None
        compressed = bool(case.get('compress') or
                          (case.get('multifd') or (0, 'none'))[1] != 'none')
        res = {
            'wall_s': wall,
            'total_time_ms': info.get('total-time'),
            'gibs': size / (1 << 30) / wall,
            **ram_counts(info, compressed),
            'wire_bytes': (rd1 - rd0) if rd0 is not None and
                              rd1 is not None else None,
            'src_cpu_s': cpu_seconds(src.proc.pid) - cpu_s0,
            'dst_cpu_s': (cpu_seconds(dst.proc.pid) - cpu_d0) if dst else None,
            'series': series,
        }
        if out_uri.startswith('exec:'):
            os.unlink(out)
        return res
    finally:
        if ho:
            ho.stop()
        src.kill()
        if dst:
            dst.kill()


def run_floor_case(build, case, ramfile, size):
    """The machine's floor for a multifd 'none' case: tests/bench/
    multifd-floor moves the same RAM file over as many loopback TCP
    connections into fresh THP memory of another process, with nothing
    else (no zero check, no protocol, no page tracking), its destination
    drawing its first touch the same way as the VMMs' (case['handover']).
    Returns its wall_s, gibs, src_cpu_s and dst_cpu_s."""
    exe = os.path.join(build, 'tests', 'bench', 'multifd-floor')
    ho = firsttouch.Handover(size) if case.get('handover') else None
    p = subprocess.Popen([exe, '--wait', '--channels',
                          str(case['multifd'][0]), ramfile, str(size >> 20)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        ready = p.stdout.readline().split()  # "ready PID" (the receiver)
        if len(ready) != 2:
            raise RuntimeError('multifd-floor did not start')
        if ho:
            ho.start(int(ready[1]))
        p.stdin.write('go\n')
        p.stdin.flush()
        line = p.stdout.readline()
        if p.wait(timeout=600) or not line:
            raise RuntimeError(f'multifd-floor failed ({p.returncode})')
        return json.loads(line)
    finally:
        if ho:
            ho.stop()
        if p.poll() is None:
            p.kill()
            p.wait()


def floor_summary(results):
    """For each case run against the floor: its 'limit' cell (the floor's
    median throughput, each VMM's median as % of it) and lines for a
    table of the three (medians of GiB/s and CPU s per side)."""
    out = []
    for name, case in results['cases'].items():
        floor = case.get('floor')
        fg = median([r.get('gibs') for r in floor or []])
        if not fg:
            continue
        rows, pct = [], {}
        for label, key in (('floor (multifd-floor)', 'floor'),
                           ('QEMU', 'qemu'), ('Tern', 'tern')):
            runs = case.get(key, [])
            g = median([r.get('gibs') for r in runs])
            if g is None:
                continue
            pct[key] = 100 * g / fg
            rows.append(f"| {label} | {len(runs)} | {g:.2f} | {pct[key]:.0f} | "
                        f"{fmt(median([r.get('src_cpu_s') for r in runs]))} | "
                        f"{fmt(median([r.get('dst_cpu_s') for r in runs]))} |")
        case['limit'] = (f'floor {fg:.2f} GiB/s (multifd-floor, median of '
                         f'{len(floor)}): QEMU {pct.get("qemu", 0):.0f} %, '
                         f'Tern {pct.get("tern", 0):.0f} % of it')
        out += ['', f'### {name} against the machine\'s floor', '',
                '`tests/bench/multifd-floor`: the same RAM file written '
                'by as many threads over as many loopback TCP connections '
                '(512 KiB packets, 16-byte header) into fresh THP memory of '
                'a second process, nothing else; run in every round '
                'between the VMMs, every destination (the floor\'s too) '
                'drawing its first touch from memory the bench process '
                'gives back just ahead of it (tests/bench/firsttouch.py).', '',
                '| who | runs | GiB/s | % of floor | src CPU s | dst CPU s |',
                '|---|---|---|---|---|---|'] + rows
    return out


def run_stress_case(system, binary, case, tmp, guest):
    """The stress guest dirtying at case['rate'] MiB/s.

    case['accel'] 'kvm': both under KVM.  'sw': a software vCPU on both
    sides, for hosts whose KVM cannot run the guest at speed (kvm-pvm, see
    docs/machine.md): QEMU's TCG, Tern's soft vCPU (the same workload,
    compiled natively).  The guest's own re-reads are off there
    (verify=off) so that TCG reaches 256 MiB/s; the rate each guest
    reached is in the results ('guest dirty MiB/s').
    """
    mem = case['mem_mb']
    append = (f"mem=16M-{mem - 16}M rate={case['rate']} "
              f"pattern={case.get('pattern', 'random')}")
    if case.get('write'):
        append += f" write={case['write']}"
    sw = case.get('accel') == 'sw'
    if sw:
        append += ' verify=off'
    if system == 'qemu':
        machine = ['-M', 'pc', '-accel', 'tcg' if sw else 'kvm',
                   '-m', f'{mem}M', '-vga', 'none',
                   '-device', 'isa-debug-exit,iobase=0x501,iosize=1']
    else:
        machine = ['-M', 'pc-lite', '-accel', 'soft' if sw else 'kvm',
                   '-m', f'{mem}M']
    common = machine + ['-kernel', guest, '-append', append,
                        '-name', 'bench,debug-threads=on']
    src = vmm(binary, common + ['-serial', f'file:{tmp}/{system}-src.serial'],
              tmp, f'{system}-src')
    dst = vmm(binary, common + ['-serial', f'file:{tmp}/{system}-dst.serial',
                                '-incoming', 'defer'], tmp, f'{system}-dst')
    try:
        # let the guest write its whole range once (it takes range / rate
        # seconds; a guest that KVM runs slowly on this host gets that
        # plus 5 s, then the migration starts anyway)
        rate = case['rate']
        deadline = time.time() + (5 + (mem - 32) / rate if rate else 10)
        while time.time() < deadline:
            with open(f'{tmp}/{system}-src.serial', 'rb') as f:
                if b'stress: ok pass=1' in f.read():
                    break
            time.sleep(0.2)
        params = {'max-bandwidth': case.get('max_bw', BIG_BW),
                  'downtime-limit': 300}
        caps = {'events': True}
        if 'xbzrle' in case:
            caps['xbzrle'] = case['xbzrle']
        set_migration(dst, caps, params)
        set_migration(src, caps, params)
        port = free_port()
        dst.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}')
        cpu_s0 = cpu_seconds(src.proc.pid)
        cpu_d0 = cpu_seconds(dst.proc.pid)
        t0 = time.time()
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        # the migration thread's own CPU (not the vCPU's: QEMU's TCG guest
        # runs in the same process), last seen while it still ran
        mig_cpu = [0.0]

        def on_sample(_info):
            mig_cpu[0] = max(mig_cpu[0],
                             thread_cpu_seconds(src.proc.pid, 'live_migration'))
        info, series, wall = poll_migration(src, dst, t0, 300, on_sample)
        res_x = {}
        xp = (info.get('xbzrle-cache') or {}).get('pages')
        if xp and mig_cpu[0] > 0:
            res_x['xbzrle_pages_per_mig_cpu_s'] = xp / mig_cpu[0]
        return {
            **res_x,
            'mig_thread_cpu_s': mig_cpu[0],
            'wall_s': wall,
            'guest_rate': guest_rate(f'{tmp}/{system}-src.serial'),
            'total_time_ms': info.get('total-time'),
            'downtime_ms': info.get('downtime'),
            **ram_counts(info),
            'src_cpu_s': cpu_seconds(src.proc.pid) - cpu_s0,
            'dst_cpu_s': cpu_seconds(dst.proc.pid) - cpu_d0,
            'series': series,
        }
    finally:
        src.kill()
        dst.kill()


def fault_latency(stderr):
    """Tern's postcopy_fault_latency trace line (fault read by the fault
    thread to page placed): exact p50/p99/max in microseconds, of all
    faults and of those whose page came on the main stream (the bulk, or
    the requested page without preempt) and on the preempt channel; the
    faults whose page was placed before the fault was noted ('unplaced');
    and the log2 histogram {upper_us: n}."""
    for line in reversed(stderr.splitlines()):
        if 'postcopy_fault_latency' not in line:
            continue
        w = line.split()
        out = {}
        try:
            for prefix, start in (('fault', 0), ('main', w.index('main:')),
                                  ('preempt', w.index('preempt:'))):
                for key in ('n', 'p50', 'p99', 'max'):
                    v = w[w.index(key, start) + 1]
                    out[f'{prefix}_{key}' + ('' if key == 'n' else '_us')] = \
                        int(v) if key == 'n' else float(v)
            out['fault_unplaced'] = int(w[w.index('unplaced') + 1])
        except (ValueError, IndexError):
            return {}
        for prefix in ('fault', 'main', 'preempt'):
            if not out[f'{prefix}_n']:  # no sample: no latency to show
                for key in ('p50', 'p99', 'max'):
                    del out[f'{prefix}_{key}_us']
        hist = {}
        for tok in w[w.index('hist') + 1:]:
            up, n = tok.lstrip('<').split('us:')
            hist[int(up)] = int(n)
        out['fault_hist'] = hist
        return out
    return {}


HOPS = ('fault_to_req', 'req_to_rp', 'rp_to_tx', 'tx_to_recv',
        'recv_to_placed')


def fault_hops(dst_err, src_err):
    """Per-hop p50/p99 (us) of the faults served on the preempt channel,
    from the postcopy_hop_* traces (CLOCK_MONOTONIC ns on both sides):
    fault read by the fault thread -> about to write REQ_PAGES ->
    request taken by the source's return-path thread -> about to write
    the page on the preempt channel -> its record read by the
    destination's preempt thread -> placed (UFFDIO_COPY returned, the
    vCPU woken).  A loopback write runs the receiving side's TCP
    processing and wake-up before it returns, so each "about to write"
    stamp is where the next hop starts.  Also the time the two writes
    took to return (req_write, tx_write)."""
    def fields(line, name):
        if f':{name} ' not in line:
            return None
        w = line.split(f':{name} ', 1)[1].split()
        return w[0], dict(zip(w[1::2], w[2::2]))
    req, src, placed = {}, {}, {}
    for line in dst_err.splitlines():
        for name, table in (('postcopy_hop_req', req),
                            ('postcopy_hop_placed', placed)):
            f = fields(line, name)
            if f:
                table.setdefault(f[0], f[1])
    for line in src_err.splitlines():
        f = fields(line, 'postcopy_hop_src')
        if f and 'sent' in f[1]:
            src.setdefault(f[0], f[1])
    hops = {h: [] for h in HOPS + ('req_write', 'tx_write')}
    for page, p in placed.items():
        if p.get('via') != 'preempt' or page not in req or page not in src:
            continue
        t = [int(req[page]['fault']), int(req[page]['req']),
             int(src[page]['rp']), int(src[page]['tx']), int(p['recv']),
             int(p['placed'])]
        for i, h in enumerate(HOPS):
            hops[h].append((t[i + 1] - t[i]) / 1000)
        hops['req_write'].append((int(req[page]['written']) -
                                  int(req[page]['req'])) / 1000)
        hops['tx_write'].append((int(src[page]['sent']) -
                                 int(src[page]['tx'])) / 1000)
    out = {'hops_n': len(hops[HOPS[0]])}
    for h, v in hops.items():
        if v:
            v.sort()
            out[f'hop_{h}_p50_us'] = round(statistics.median(v), 1)
            out[f'hop_{h}_p99_us'] = round(v[min(len(v) - 1,
                                                 int(0.99 * len(v)))], 1)
    return out


def run_postcopy_case(system, binary, case, tmp, guest, ramfile, size):
    """Postcopy: migrate-start-postcopy at once (RAM-only, every page goes
    in postcopy) or after a second of precopy of the stress guest dirtying
    (its vCPU faults on what it touches).  switch_ms: from the command to
    the destination's postcopy-active event (the guest runs there);
    blocktime from the destination's postcopy-blocktime; Tern's fault
    service latency from its postcopy_fault_latency trace."""
    if case['kind'] == 'postcopy-ram':
        mb = size >> 20
        src_args = ['-M', 'none,memory-backend=mem', '-m', f'{mb}M',
                    '-object', f'memory-backend-file,id=mem,size={mb}M,'
                               f'mem-path={ramfile},share=on']
        dst_args = ['-M', 'none,memory-backend=mem', '-m', f'{mb}M',
                    '-object', f'memory-backend-ram,id=mem,size={mb}M']
    else:
        mem = case['mem_mb']
        top = 16 + case['stress_mb'] if case.get('stress_mb') else mem - 16
        append = f"mem=16M-{top}M rate={case['rate']} pattern=random"
        if system == 'qemu':
            machine = ['-M', 'pc', '-accel', 'tcg', '-m', f'{mem}M',
                       '-vga', 'none', '-device',
                       'isa-debug-exit,iobase=0x501,iosize=1']
        else:
            machine = ['-M', 'pc-lite', '-accel', 'soft', '-m', f'{mem}M']
        src_args = dst_args = machine + ['-kernel', guest, '-append',
                                         append + ' verify=off',
                                         '-name', 'bench,debug-threads=on']
        serial = f'{tmp}/{system}-src.serial'
        src_args = src_args + ['-serial', f'file:{serial}']
        dst_args = dst_args + ['-serial', f'file:{tmp}/{system}-dst.serial']
    if system == 'tern':
        dst_args = dst_args + ['-trace', 'postcopy_fault_latency']
        if case.get('hops'):
            dst_args += ['-trace', 'postcopy_hop_*']
            src_args = src_args + ['-trace', 'postcopy_hop_*']
    src = vmm(binary, src_args, tmp, f'{system}-src')
    dst = vmm(binary, dst_args + ['-incoming', 'defer'], tmp, f'{system}-dst')
    try:
        caps = {'events': True, 'postcopy-ram': True}
        if case.get('preempt'):
            caps['postcopy-preempt'] = True
        set_migration(dst, dict(caps, **{'postcopy-blocktime': True}), None)
        params = {'max-bandwidth': case.get('precopy_bw', BIG_BW)}
        if case.get('postcopy_bw'):
            params['max-postcopy-bandwidth'] = case['postcopy_bw']
        set_migration(src, caps, params)
        port = free_port()
        dst.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}')
        if case.get('stress_mb'):
            # until the guest has written its whole range once
            deadline = time.time() + 10 + case['stress_mb'] / case['rate']
            while time.time() < deadline:
                with open(serial, 'rb') as f:
                    if b'stress: ok pass=1' in f.read():
                        break
                time.sleep(0.2)
        elif case['kind'] != 'postcopy-ram':
            time.sleep(case.get('warm_s', 3))
        t0 = time.time()
        cpu_s0 = cpu_seconds(src.proc.pid)
        cpu_d0 = cpu_seconds(dst.proc.pid)
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        if case['kind'] != 'postcopy-ram':
            time.sleep(case.get('precopy_s', 1))
        t_switch = time.time()
        src.cmd('migrate-start-postcopy')
        info, series, wall = poll_migration(src, dst, t0, 600)
        ev = _take_event(dst.qmp, 'postcopy-active', 5)
        dinfo = dst.cmd('query-migrate')
        res = {'wall_s': wall,
               'total_time_ms': info.get('total-time'),
               'downtime_ms': info.get('downtime'),
               'switch_ms': (_event_time(ev) - t_switch) * 1000 if ev
               else None,
               'blocktime_ms': dinfo.get('postcopy-blocktime'),
               'postcopy_requests': info.get('ram', {}).get(
                   'postcopy-requests'),
               # from migrate to completed, the guest's own work included
               'src_cpu_s': cpu_seconds(src.proc.pid) - cpu_s0,
               'dst_cpu_s': cpu_seconds(dst.proc.pid) - cpu_d0,
               **ram_counts(info), 'series': series}
        if case['kind'] == 'postcopy-ram':
            res['gibs'] = size / (1 << 30) / wall
        else:
            res['postcopy_bulk_mibs'] = wake_floor.bulk_mibs(
                series, t_switch - t0)
        if system == 'tern':
            res.update(fault_latency(dst.stderr()))
            if case.get('hops'):
                res.update(fault_hops(dst.stderr(), src.stderr()))
        if res.get('blocktime_ms') is not None and res['postcopy_requests']:
            res['blocktime_per_req_us'] = (res['blocktime_ms'] * 1000 /
                                           res['postcopy_requests'])
        return res
    finally:
        src.kill()
        dst.kill()


def ram_counts(info, compressed=False):
    """Byte and page counters of a completed query-migrate.

    bytes: everything sent.  overhead_bytes: bytes minus page payloads
    (headers, zero-page flags, block names, device state), which does not
    depend on how much of its memory the guest happened to have written
    before the switch-over, so it compares the two formats.  It means
    nothing when pages are compressed (QEMU 7.2 even counts multifd pages
    at their uncompressed size in 'transferred'), so it is left out then;
    compare 'wire_bytes' instead.
    """
    ram = info.get('ram', {})
    out = {'bytes': ram.get('transferred'),
           'normal_pages': ram.get('normal'),
           'zero_pages': ram.get('duplicate')}
    if (not compressed and ram.get('transferred') is not None and
            ram.get('normal-bytes') is not None):
        out['overhead_bytes'] = ram['transferred'] - ram['normal-bytes']
    x = info.get('xbzrle-cache')
    if x:
        out.update({'xbzrle_pages': x.get('pages'),
                    'xbzrle_bytes': x.get('bytes'),
                    'xbzrle_cache_miss': x.get('cache-miss'),
                    'xbzrle_overflow': x.get('overflow')})
    return out


def run_xbzrle_micro(build):
    """tests/bench/xbzrle-bench: encoder pages per CPU second, per
    encoder and workload, from memory (4096 pages) and from L2 (32)."""
    exe = os.path.join(build, 'tests', 'bench', 'xbzrle-bench')
    if not os.path.exists(exe):
        return None
    out = {}
    for pages in (4096, 32):
        res = subprocess.run([exe, '0.5', str(pages)], capture_output=True,
                             text=True)
        for line in res.stdout.splitlines():
            # "encode avx2 8 bytes 1654700 pages/cpu-s ..."
            # "decode 8 bytes 71103216 pages/cpu-s"
            words = line.split(' pages/cpu-s')[0].split()
            if words and words[0] in ('encode', 'decode'):
                out[f"{' '.join(words[:-1])} ({pages} pages)"] = \
                    float(words[-1])
    return out


def guest_rate(serial_path):
    """Last dirty rate (MiB/s) the stress guest reported."""
    rate = None
    try:
        with open(serial_path, 'rb') as f:
            for line in f.read().decode(errors='replace').splitlines():
                if line.startswith('stress: ok') and 'rate=' in line:
                    rate = float(line.split('rate=')[1].split('MiB')[0])
    except (OSError, ValueError):
        pass
    return rate


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=2):
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


METRICS = [  # key, label, better
    ('gibs', 'throughput GiB/s', 'higher'),
    ('wall_s', 'total s', 'lower'),
    ('downtime_ms', 'downtime ms', 'lower'),
    ('guest_rate', 'guest dirty MiB/s', 'context'),
    ('bytes', 'bytes sent', 'lower'),
    ('wire_bytes', 'bytes on loopback incl. TCP/IP headers', 'lower'),
    ('normal_pages', 'pages sent with data', 'context'),
    ('zero_pages', 'zero pages', 'context'),
    ('overhead_bytes', 'bytes sent besides page data', 'lower'),
    ('save_s', 'save s (until completed)', 'lower'),
    ('save_sync_s', 'save s incl. fsync', 'lower'),
    ('save_gibs', 'save GiB/s incl. fsync', 'higher'),
    ('restore_s', 'restore s (cold cache)', 'lower'),
    ('restore_gibs', 'restore GiB/s', 'higher'),
    ('save_disk_pct', 'save % of dd write (same mode)', 'higher'),
    ('save_best_pct', 'save % of best durable write', 'higher'),
    ('restore_disk_pct', 'restore % of dd read (same mode)', 'higher'),
    ('file_bytes', 'file bytes', 'lower'),
    ('file_over_ram_pct', 'file size over RAM %', 'lower'),
    ('passes', 'dirty-log passes', 'context'),
    ('switch_ms', 'postcopy switch ms', 'lower'),
    ('blocktime_ms', 'postcopy blocktime ms', 'lower'),
    ('postcopy_requests', 'page requests', 'context'),
    ('postcopy_bulk_mibs', 'postcopy MiB/s sent (bulk + requested pages)',
     'context'),
    ('fault_p50_us', 'fault latency p50 us', 'lower'),
    ('fault_p99_us', 'fault latency p99 us', 'lower'),
    ('fault_max_us', 'fault latency max us', 'lower'),
    ('preempt_n', 'faults served on the preempt channel', 'context'),
    ('preempt_p50_us', 'preempt-served fault latency p50 us', 'lower'),
    ('preempt_p99_us', 'preempt-served fault latency p99 us', 'lower'),
    ('main_n', 'faults served by the main stream', 'context'),
    ('main_p99_us', 'main-stream-served fault latency p99 us', 'lower'),
    ('fault_unplaced', 'faults placed before noted', 'context'),
    ('blocktime_per_req_us', 'blocktime us per page request', 'lower'),
    *[(f'hop_{h}_p50_us', f'hop {h} p50 us', 'lower') for h in HOPS],
    ('src_cpu_s', 'src CPU s', 'lower'),
    ('dst_cpu_s', 'dst CPU s', 'lower'),
    ('mig_thread_cpu_s', 'migration thread CPU s', 'lower'),
    ('xbzrle_pages_per_mig_cpu_s', 'xbzrle pages per migration-thread CPU s',
     'higher'),
    ('xbzrle_pages', 'xbzrle pages (cache hits)', 'context'),
    ('xbzrle_bytes', 'xbzrle bytes', 'lower'),
    ('xbzrle_cache_miss', 'xbzrle cache misses', 'context'),
    ('xbzrle_overflow', 'xbzrle overflows', 'context'),
] + libvirt_bench.METRICS


def summarize(results):
    rows = []
    for name, case in results['cases'].items():
        for key, label, better in METRICS:
            q = median([r.get(key) for r in case.get('qemu', [])])
            t = median([r.get(key) for r in case.get('tern', [])])
            if q is None and t is None:
                continue
            if (case.get('accel') == 'sw' and key.endswith('_cpu_s') and
                    key != 'mig_thread_cpu_s'):
                # QEMU's source CPU includes TCG running the guest
                better = 'context'
            ratio = (t / q) if (q and t is not None) else None
            rows.append((name, label, q, t, ratio, better,
                         case.get('limit', '')))
    return rows


def compress_vs_multifd(results):
    """The compress capability against multifd+zstd on the same RAM:
    throughput and CPU per GiB of Tern compress, QEMU compress and Tern
    multifd+zstd (lines for the report; none without both cases)."""
    comp = results['cases'].get('compress-tcp-text', {})
    mfd = results['cases'].get('multifd-tcp-zstd-text', {})
    rows = []
    for label, runs in (('Tern compress', comp.get('tern', [])),
                        ('QEMU compress', comp.get('qemu', [])),
                        ('Tern multifd+zstd', mfd.get('tern', []))):
        gibs = median([r.get('gibs') for r in runs])
        cpu = median([(r.get('src_cpu_s') or 0) + (r.get('dst_cpu_s') or 0)
                      for r in runs])
        if gibs:
            gib = results['size'] / (1 << 30)
            rows.append(f'| {label} | {gibs:.2f} | {cpu / gib:.2f} |')
    if len(rows) < 3:
        return []
    return ['', '### compress against multifd+zstd (half zero, half text '
            'pages)', '', '| method | GiB/s | CPU s per GiB (both sides) |',
            '|---|---|---|'] + rows


def markdown(results, rows):
    lim = results['limits']
    out = ['# Benchmarks', '',
           f"Generated by `make bench{' QUICK=1' if results['quick'] else ''}` "
           f"on {results['date']} ({results.get('ram_runs', results['runs'])} "
           f"run(s) per system for the ram cases"
           f"{' after one unrecorded warm-up run each' if results.get('warmup') else ''}, "
           f"{results['runs']} for the stress cases, "
           'medians; QEMU is Debian\'s qemu-system-x86_64 '
           f"{results['qemu_version']}).", '',
           'Machine limits: '
           f"memcpy {lim.get('memcpy_gibs')} GiB/s, "
           f"one loopback TCP stream {lim.get('tcp_gibs')} GiB/s, "
           f"AES-128-GCM {lim.get('aesgcm_gibs')} GiB/s per core.", '',
           '| case | figure | QEMU | Tern | Tern/QEMU | better | limit |',
           '|---|---|---|---|---|---|---|']
    for name, label, q, t, ratio, better, limit in rows:
        out.append(f'| {name} | {label} | {fmt(q)} | {fmt(t)} | '
                   f'{fmt(ratio)} | {better} | {limit} |')
    tcp = results['cases'].get('ram-tcp', {})
    tls = results['cases'].get('ram-tls', {})
    for system in ('qemu', 'tern'):
        a = median([r.get('gibs') for r in tls.get(system, [])])
        b = median([r.get('gibs') for r in tcp.get(system, [])])
        if a and b:
            out.append('')
            out.append(f'{system}: TLS throughput is {100 * a / b:.0f}% '
                       'of plain tcp in this run.')
    for name, case in results['cases'].items():
        rate = median([r.get('guest_rate') for r in case.get('tern', [])])
        if case.get('accel') == 'kvm' and case.get('rate') and \
                rate is not None and rate < 1:
            out.append('')
            out.append(f'{name}: the KVM guest wrote {rate:.2f} MiB/s of '
                       f"its {case['rate']} (this host's KVM cannot run it "
                       'at speed, see docs/machine.md); the stress-sw cases '
                       'have a guest that writes at its rate.')
    for name, case in results['cases'].items():
        if case.get('rtt_floor'):
            out += wake_floor.sentence(name, case['rtt_floor'],
                                       case.get('tern', []))
    micro = results.get('xbzrle_micro')
    if micro:
        out += ['', '## XBZRLE encoder, pages per CPU second', '',
                '`tests/bench/xbzrle-bench` (migration/xbzrle.c): each '
                'encoder on the same page pairs, from memory (4096 pages) '
                'and from L2 (32 pages).', '',
                '| what | pages/CPU-s |', '|---|---|']
        out += [f'| {k} | {v:.0f} |' for k, v in micro.items()]
    out += compress_vs_multifd(results)
    out += results.get('floor_lines', [])
    errs = [(n, s, e) for n, c in results['cases'].items()
            for s, e in c.get('errors', {}).items()]
    if errs:
        out += ['', '## Runs that failed', '']
        out += [f'- {n} / {s}: {e}' for n, s, e in errs]
    for name, case in results['cases'].items():
        if 'runs' in case or 'error' in case:
            out += checkpoint.markdown(case)
    out += ['', '## Plots', '']
    for name in results['cases']:
        if os.path.exists(os.path.join(results['plotdir'], f'{name}.png')):
            out.append(f'![{name}](bench/{name}.png)')
        if os.path.exists(os.path.join(results['plotdir'],
                                       f'{name}-latency.png')):
            out.append(f'![{name} fault latency](bench/{name}-latency.png)')
    if os.path.exists(os.path.join(results['plotdir'], 'ratios.png')):
        out.append('![ratios](bench/ratios.png)')
    if os.path.exists(os.path.join(results['plotdir'], 'saverestore.png')):
        out.append('![saverestore](bench/saverestore.png)')
    return '\n'.join(out) + '\n'


def plot(results, plotdir):
    if not shutil.which('gnuplot'):
        print('bench: gnuplot not found; no plots', file=sys.stderr)
        return
    os.makedirs(plotdir, exist_ok=True)
    for name, case in results['cases'].items():
        data = {}
        for system in ('qemu', 'tern'):
            runs = case.get(system) or []
            if not runs or not runs[0].get('series'):
                continue
            path = os.path.join(plotdir, f'{name}-{system}.dat')
            prev = None
            with open(path, 'w') as f:
                for s in runs[0]['series']:
                    if prev is not None and s['t'] > prev['t']:
                        rate = ((s['transferred'] - prev['transferred']) /
                                (s['t'] - prev['t']) / (1 << 30))
                    else:
                        rate = 0
                    f.write(f"{s['t']:.3f} {s['remaining'] / (1 << 20):.1f} {rate:.3f}\n")
                    prev = s
            data[system] = path
        if not data:
            continue
        script = [
            _png_terminal(900, 420, 10),
            f"set output '{os.path.join(plotdir, name + '.png')}'",
            f"set title '{name}: remaining RAM and throughput'",
            "set xlabel 'seconds'", "set ylabel 'remaining MiB'",
            "set y2label 'GiB/s'", 'set y2tics', 'set ytics nomirror',
            'set key outside right', 'set grid',
        ]
        plots = []
        for system, path in data.items():
            plots.append(f"'{path}' using 1:2 with lines lw 2 title '{system} remaining'")
            plots.append(f"'{path}' using 1:3 axes x1y2 with lines dt 2 title '{system} GiB/s'")
        script.append('plot ' + ', '.join(plots))
        subprocess.run(['gnuplot'], input='\n'.join(script).encode(), check=False)
    saverestore.plot(results, plotdir, _png_terminal(900, 420, 9))
    # bar chart of the main ratio per case
    rows = [r for r in summarize(results) if r[1] in ('throughput GiB/s', 'total s')
            and r[4] is not None]
    if rows:
        path = os.path.join(plotdir, 'ratios.dat')
        with open(path, 'w') as f:
            for i, (name, label, q, t, ratio, better, _) in enumerate(rows):
                f.write(f'{i} "{name}\\n{label}" {ratio:.3f}\n')
        script = [
            _png_terminal(900, 420, 9),
            f"set output '{os.path.join(plotdir, 'ratios.png')}'",
            "set title 'Tern / QEMU (throughput: higher is better; time: lower)'",
            'set style fill solid 0.6', 'set boxwidth 0.6', 'set grid ytics',
            'set yrange [0:*]', 'set xtics rotate by -30',
            f"plot '{path}' using 1:3:xtic(2) with boxes notitle, 1 with lines dt 2 notitle",
        ]
        subprocess.run(['gnuplot'], input='\n'.join(script).encode(), check=False)


def plot_fault_latency(results, plotdir):
    """Histogram of Tern's postcopy fault service latency per case (its
    first run): pages by log2 bucket of microseconds."""
    for name, case in results['cases'].items():
        hist = next((r['fault_hist'] for r in case.get('tern', [])
                     if r.get('fault_hist')), None)
        if not hist:
            continue
        path = os.path.join(plotdir, f'{name}-latency.dat')
        with open(path, 'w') as f:
            for i, (up, n) in enumerate(sorted(hist.items())):
                f.write(f'{i} "<{up}" {n}\n')
        script = [
            _png_terminal(700, 360, 10),
            f"set output '{os.path.join(plotdir, name + '-latency.png')}'",
            f"set title '{name}: Tern fault to page placed (us)'",
            "set ylabel 'faults'", 'set style fill solid 0.6',
            'set boxwidth 0.6', 'set grid ytics', 'set yrange [0:*]',
            f"plot '{path}' using 1:3:xtic(2) with boxes notitle",
        ]
        subprocess.run(['gnuplot'], input='\n'.join(script).encode(),
                       check=False)
        os.unlink(path)


@functools.lru_cache(maxsize=None)
def _has_cairo():
    """Whether this gnuplot has the pngcairo terminal (asked once)."""
    r = subprocess.run(['gnuplot', '-e', 'set terminal'], capture_output=True, text=True)
    return 'pngcairo' in (r.stdout + r.stderr)


def _png_terminal(width, height, font_size):
    """gnuplot's 'set terminal' line for a width x height PNG: pngcairo
    with that font size where gnuplot has it, plain png otherwise."""
    if _has_cairo():
        return f'set terminal pngcairo size {width},{height} font ",{font_size}"'
    return f'set terminal png size {width},{height}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--runs', type=int)
    ap.add_argument('--case', action='append')
    ap.add_argument('--hops', action='store_true',
                    help='postcopy cases: trace every fault on both Tern '
                    'sides and report per-hop medians (the traces add '
                    'their own cost to the fault path)')
    ap.add_argument('--out', default=os.path.join(SRC, 'docs'))
    ap.add_argument('--disk-dir', default='/var/tmp',
                    help='a directory on a real disk for the save/restore '
                    'cases (not tmpfs)')
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    tern = os.path.join(build, 'tern')
    guest = os.path.join(build, 'guest', 'stress.elf')
    # RAM cases are short (about a second) and noisy: more runs each
    runs = args.runs or (1 if args.quick else 3)
    ram_runs = args.runs or (1 if args.quick else 7)
    size = (512 << 20) if args.quick else (2 << 30)
    kvm = have_kvm()

    cases = {
        'ram-tcp': {'kind': 'ram', 'transport': 'tcp'},
        'ram-unix': {'kind': 'ram', 'transport': 'unix'},
        'ram-exec-file': {'kind': 'ram', 'transport': 'exec'},
        'ram-tls': {'kind': 'ram', 'transport': 'tls'},
        # multifd, 2 channels (channels, multifd-compression); random RAM
        # against the machine's floor (multifd-floor in every round),
        # every destination given the same first-touch draw
        'multifd-tcp-none': {'kind': 'ram', 'transport': 'tcp',
                             'multifd': (2, 'none'), 'floor': True,
                             'handover': True},
        'multifd-tcp-zstd': {'kind': 'ram', 'transport': 'tcp',
                             'multifd': (2, 'zstd')},
        'multifd-tcp-zlib': {'kind': 'ram', 'transport': 'tcp',
                             'multifd': (2, 'zlib')},
        'multifd-tls-none': {'kind': 'ram', 'transport': 'tls',
                             'multifd': (2, 'none')},
        # half zero pages, half text pages: what compression is for
        'multifd-tcp-zstd-text': {'kind': 'ram', 'transport': 'tcp',
                                  'multifd': (2, 'zstd'),
                                  'content': 'halftext'},
        'multifd-tcp-zlib-text': {'kind': 'ram', 'transport': 'tcp',
                                  'multifd': (2, 'zlib'),
                                  'content': 'halftext'},
        'ram-tcp-text': {'kind': 'ram', 'transport': 'tcp',
                         'content': 'halftext'},
        # compress capability (7.2's zlib page threads), 2 threads at
        # level 1, against Tern's multifd+zstd on the same RAM above
        'compress-tcp-text': {'kind': 'ram', 'transport': 'tcp',
                              'compress': 2, 'content': 'halftext'},
    }
    for rate in (0, 64, 256):
        cases[f'stress-kvm-{rate}MiBs'] = {'kind': 'stress', 'rate': rate,
                                           'accel': 'kvm',
                                           'mem_mb': 256 if args.quick else 1024}
    for rate in (64, 256):
        cases[f'stress-sw-{rate}MiBs'] = {'kind': 'stress', 'rate': rate,
                                          'accel': 'sw',
                                          'mem_mb': 256 if args.quick else 1024}
    # save to / restore from a file on a real disk: QEMU exec:cat against
    # Tern mapped-ram (tests/bench/saverestore.py)
    for ch, direct in ((0, False), (2, False), (1, True), (2, True)):
        name = (f"saverestore-mapped-{ch or 1}ch"
                f"{'-direct' if direct else ''}")
        cases[name] = {'kind': 'saverestore', 'channels': ch,
                       'direct': direct}
    cases['mapped-ram-live-64MiBs'] = {'kind': 'livesize', 'rate': 64,
                                       'mem_mb': 256 if args.quick else 1024}
    # XBZRLE: the guest rewrites 8 bytes of a page per write
    # (write=word) at 64 MiB/s of page writes in a 64 MiB hot set (what
    # the default 64 MiB cache holds; with pages picked over all of RAM
    # few are ever found in it, for QEMU as for Tern), 100 MiB/s of
    # bandwidth, with and without the capability.  sw only: this host's
    # KVM runs the guest at a few pages a second (docs/machine.md).
    for on in (False, True):
        cases[f"xbzrle-sw-64MiBs-{'on' if on else 'off'}"] = {
            'kind': 'stress', 'rate': 64, 'accel': 'sw', 'write': 'word',
            'pattern': 'hot:64', 'xbzrle': on, 'max_bw': 100 << 20,
            'mem_mb': 256 if args.quick else 1024}
    # The same libvirt 9.0 drives both (tests/bench/libvirt_bench.py).
    cases['libvirt-virsh'] = {'kind': 'libvirt',
                              'mem_mb': 256 if args.quick else 1024}
    # postcopy: all of RAM in postcopy; the stress guest (soft vCPU /
    # TCG) switched while dirtying, with and without postcopy-preempt
    cases['postcopy-ram-tcp'] = {'kind': 'postcopy-ram'}
    for preempt in (False, True):
        cases['postcopy-stress-sw-64MiBs' + ('-preempt' if preempt
                                             else '')] = {
            'kind': 'postcopy-stress', 'rate': 64, 'preempt': preempt,
            'mem_mb': 256 if args.quick else 1024,
            'precopy_bw': 64 << 20}
    # blocktime on the same work for both: the guest (TCG / soft vCPU)
    # first writes all of a 128 MiB range (so that none of it is a zero
    # page), then random pages of it at 16 MiB/s; one second of precopy
    # at 64 MiB/s, then postcopy with the bulk stream held to 32 MiB/s
    # (max-postcopy-bandwidth): for the ~4 s it takes, most pages the
    # guest touches are missing, so both fault on thousands of pages at
    # the same rate.  Blocktime per page request is the comparable
    # figure (the request counts differ a little between runs).
    # Without preempt the requested pages share the main stream with
    # the bulk (and its rate limit).
    for preempt in (False, True):
        cases['postcopy-blocktime-sw-16MiBs' + ('-preempt' if preempt
                                                else '')] = {
            'kind': 'postcopy-stress', 'rate': 16, 'preempt': preempt,
            'mem_mb': 256, 'stress_mb': 128, 'precopy_bw': 64 << 20,
            'postcopy_bw': 32 << 20,
            # with preempt, the machine's floor under the same load
            # beside each Tern run (tests/bench/wake_floor.py)
            'rtt_floor': preempt}
    for c in cases.values():
        if args.hops and c['kind'].startswith('postcopy'):
            c['hops'] = True
    # Tern only: checkpoint-assisted migration, 20% of the pages changed
    # since the checkpoint (tests/bench/checkpoint.py)
    cases['checkpoint-20pct'] = {'kind': 'checkpoint'}
    if args.case:
        cases = {k: v for k, v in cases.items() if k in args.case}
    if args.quick and not args.case:
        cases = {k: v for k, v in cases.items()
                 if k in ('ram-tcp', 'ram-tls', 'stress-kvm-64MiBs',
                          'stress-sw-64MiBs', 'libvirt-virsh')}

    limits = {}
    lim_bin = os.path.join(build, 'tests', 'bench', 'bench-limits')
    if os.path.exists(lim_bin):
        limits = json.loads(subprocess.run([lim_bin], capture_output=True,
                                           text=True).stdout)
    qv = subprocess.run([QEMU, '--version'], capture_output=True,
                        text=True).stdout.split('\n')[0] if QEMU else 'missing'
    plotdir = os.path.join(args.out, 'bench')
    results = {'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               'quick': args.quick, 'runs': runs, 'ram_runs': ram_runs,
               'size': size, 'warmup': not args.quick,
               'limits': limits, 'qemu_version': qv, 'cases': {},
               'plotdir': plotdir}
    tmp = tempfile.mkdtemp(prefix='tern-bench-')
    shm = tempfile.mkdtemp(prefix='tern-bench-', dir='/dev/shm')
    try:
        ramfile = os.path.join(shm, 'src.ram')
        tls_dir = None
        if any(c.get('transport') == 'tls' for c in cases.values()):
            tls_dir = make_x509(os.path.join(tmp, 'tls'))
        if any(c['kind'] in ('ram', 'saverestore', 'postcopy-ram',
                          'checkpoint')
               and 'content' not in c
               for c in cases.values()):
            make_random_file(ramfile, size)
        textfile = os.path.join(shm, 'src-text.ram')
        if any(c.get('content') == 'halftext' for c in cases.values()):
            make_halftext_file(textfile, size)
        disk = None
        if any(c['kind'] in ('saverestore', 'livesize')
               for c in cases.values()):
            disk = tempfile.mkdtemp(prefix='tern-bench-', dir=args.disk_dir)
            fs = subprocess.run(['stat', '-f', '-c', '%T', disk],
                                capture_output=True, text=True).stdout.strip()
            if any(c['kind'] == 'saverestore' for c in cases.values()):
                dd = saverestore.dd_bandwidth(disk, size, ramfile)
                limits.update({f'disk_{k}_gibs': round(v, 3)
                               for k, v in dd.items()})
                limits['disk_fs'] = fs
        for name, case in cases.items():
            out = results['cases'][name] = {'qemu': [], 'tern': [], 'errors': {}}
            if case['kind'] == 'checkpoint':
                print(f'bench: {name} tern', file=sys.stderr, flush=True)
                try:
                    out['runs'] = checkpoint.run_checkpoint_case(
                        tern, ramfile, size, shm, tmp, poll_migration,
                        free_port, runs)
                except Exception as e:  # reported, not fatal
                    out['error'] = str(e)[:300]
                continue
            if case['kind'] in ('saverestore', 'livesize'):
                run_file_case(name, case, out, QEMU, tern, ramfile, size,
                              disk, tmp, guest, limits, kvm, runs)
                continue
            if case['kind'] == 'stress':
                out['accel'] = case['accel']
                out['rate'] = case['rate']
            if case['kind'] == 'ram':
                out['limit'] = {'tcp': f"tcp {limits.get('tcp_gibs')} GiB/s",
                                'unix': f"memcpy {limits.get('memcpy_gibs')} GiB/s",
                                'exec': f"memcpy {limits.get('memcpy_gibs')} GiB/s",
                                'tls': f"AES-GCM {limits.get('aesgcm_gibs')} GiB/s/core"
                                }[case['transport']]
            if case['kind'] in ('stress', 'libvirt') and \
                    case.get('accel', 'kvm') == 'kvm' and not kvm:
                out['errors']['all'] = 'skipped: /dev/kvm cannot be opened'
                continue
            if case['kind'] == 'libvirt' and libvirt_bench.unusable():
                out['errors']['all'] = f'skipped: {libvirt_bench.unusable()}'
                continue
            n_runs = ram_runs if case['kind'] == 'ram' else runs
            systems = (('qemu', QEMU), ('tern', tern))
            if case.get('floor'):
                # the machine's floor, interleaved with the VMMs' runs
                systems += (('floor', None),)
                out['floor'] = []
            if case['kind'] == 'ram' and not args.quick:
                # one unrecorded run each first: the first migration after
                # the RAM file is written meets cold host memory (QEMU's
                # first ram-tcp run once took 1.17 GiB/s, its others
                # 1.50-1.87)
                for system, binary in systems:
                    print(f'bench: {name} {system} warm-up run',
                          file=sys.stderr, flush=True)
                    try:
                        if system == 'floor':
                            run_floor_case(build, case, ramfile, size)
                            continue
                        run_ram_case(system, binary, case,
                                     textfile if case.get('content')
                                     else ramfile, size, tmp, tls_dir)
                    except Exception as e:  # reported by the real runs
                        print(f'bench: warm-up failed: {e}', file=sys.stderr)
            case_ram = textfile if case.get('content') else ramfile
            for i in range(n_runs):
                for system, binary in systems:
                    if system in out['errors']:
                        continue
                    print(f'bench: {name} {system} run {i + 1}/{n_runs}',
                          file=sys.stderr, flush=True)
                    try:
                        if system == 'floor':
                            r = run_floor_case(build, case, case_ram, size)
                        elif case['kind'] == 'ram':
                            r = run_ram_case(system, binary, case, case_ram,
                                             size, tmp, tls_dir)
                        elif case['kind'] == 'libvirt':
                            r = libvirt_bench.run_case(
                                system, binary, case, tmp, guest,
                                os.path.join(build, 'tests-libvirt-cache'))
                        elif case['kind'].startswith('postcopy'):
                            r = run_postcopy_case(system, binary, case, tmp,
                                                  guest, ramfile, size)
                        else:
                            r = run_stress_case(system, binary, case, tmp, guest)
                        out[system].append(r)
                    except Exception as e:  # a failed run is reported, not fatal
                        out['errors'][system] = str(e)[:300]
                    if system == 'tern' and case.get('rtt_floor'):
                        print(f'bench: {name} loaded floor {i + 1}/{n_runs}',
                              file=sys.stderr, flush=True)
                        rate = (out['tern'][-1].get('postcopy_bulk_mibs')
                                if out['tern'] else None)
                        out.setdefault('rtt_floor', []).append(
                            wake_floor.run_floor(
                                build, rate or case['postcopy_bw'] / 2**20))
            if out.get('rtt_floor'):
                out['limit'] = wake_floor.limit_text(out['rtt_floor'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
        if disk:
            shutil.rmtree(disk, ignore_errors=True)

    if not args.case or 'xbzrle-micro' in args.case:
        results['xbzrle_micro'] = run_xbzrle_micro(build)
    os.makedirs(plotdir, exist_ok=True)
    plot(results, plotdir)
    if shutil.which('gnuplot'):
        plot_fault_latency(results, plotdir)
    results['floor_lines'] = floor_summary(results)
    rows = summarize(results)
    md = markdown(results, rows)
    print(md)
    write_benchmarks_md(os.path.join(args.out, 'benchmarks.md'), md)
    with open(os.path.join(plotdir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    for name in results['cases']:
        for system in ('qemu', 'tern'):
            p = os.path.join(plotdir, f'{name}-{system}.dat')
            if os.path.exists(p):
                os.unlink(p)
    rp = os.path.join(plotdir, 'ratios.dat')
    if os.path.exists(rp):
        os.unlink(rp)
    return 0


def run_file_case(name, case, out, qemu, tern, ramfile, size, disk, tmp,
                  guest, limits, kvm, n_runs=1):
    """n_runs runs of a save/restore case (QEMU exec:cat and Tern
    mapped-ram, alternately) or one of the live mapped-ram file-size
    case (Tern only)."""
    if case['kind'] == 'saverestore':
        out['limit'] = (f"disk {limits.get('disk_fs')} dd GiB/s: write "
                        f"buffered+fsync {limits.get('disk_write_buf_gibs')}"
                        f" / direct+fsync "
                        f"{limits.get('disk_write_direct_gibs')}, cold read"
                        f" buffered {limits.get('disk_read_buf_gibs')} / "
                        f"direct {limits.get('disk_read_direct_gibs')}; "
                        "best durable write (4 O_DIRECT writers, 8 MiB, "
                        f"preallocated) {limits.get('disk_write_best_gibs')}")
        runs = (('qemu', qemu), ('tern', tern)) * n_runs
    else:
        out['limit'] = 'goal: file <= RAM + 1%'
        runs = (('tern', tern),)
    for system, binary in runs:
        print(f'bench: {name} {system} run {len(out[system]) + 1}',
              file=sys.stderr, flush=True)
        try:
            if case['kind'] == 'saverestore':
                r = saverestore.run_save_restore(system, binary, case,
                                                 ramfile, size, disk, tmp)
                saverestore.disk_pct(system, case, r, limits)
            else:
                # the soft vCPU writes at its rate on any host (this
                # host's KVM cannot run the guest at speed)
                r = saverestore.run_live_size(binary, guest, case['mem_mb'],
                                              case['rate'], disk, tmp, 'soft')
            out[system].append(r)
        except Exception as e:  # a failed run is reported, not fatal
            out['errors'][system] = str(e)[:300]


# Everything from this heading on in docs/benchmarks.md is written by hand
# (what was tried and measured) and kept when make bench rewrites the rest.
NOTES_MARKER = '## Notebook: tried and measured'


def write_benchmarks_md(path, md):
    """Write the generated report to path, keeping its hand-written notes."""
    notes = ''
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        at = old.find(NOTES_MARKER)
        if at >= 0:
            notes = old[at:]
    with open(path, 'w') as f:
        f.write(md)
        if notes:
            f.write('\n' + notes)


if __name__ == '__main__':
    sys.exit(main())
