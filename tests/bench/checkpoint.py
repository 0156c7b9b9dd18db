# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: checkpoint-assisted migration (x-checkpoint-assisted).

One case, one run each way (issue 15's benchmark):
  1. a -M none source whose RAM (2 GiB, or 512 MiB with --quick) is a
     copy of the random RAM file; a checkpoint is taken with
     dump-guest-memory; then 20% of the pages (every fifth) are
     overwritten with new random data through the RAM file;
  2. at loopback speed (max-bandwidth "unlimited") and at 100 MiB/s, a
     plain migration (return-path, no checkpoint) and two checkpoint-
     assisted ones, the destination started with -checkpoint:
       cold: migrate sent as soon as the destination listens, so the
             destination still indexes while pages go (it streams the
             offer as it indexes; an older destination made the source
             wait for the whole index); at loopback the source asks for
             no offer until hashing pays (offer on demand), which it
             does not, so the destination pauses its indexing instead;
       warm: the bench first waits until the destination's query-migrate
             says checkpoint index-status "ready" (what a management tool
             that starts the destination ahead of time sees), then
             migrates;
     each to a fresh destination from a fresh source over the same RAM.
Recorded per run: total time from the source's "setup" event (the
migrate command) to the destination's "completed" (events, as the other
cases), RAM bytes sent, CPU seconds of both processes from the migrate
command on (all their threads, the source's migration thread apart; so
a warm run's destination CPU leaves its indexing out), and for the
checkpoint runs the exchange (its own bytes, and the source's wait for
the offer), pages sent as hashes, pages hashed ahead and pages the sender
reached before their hash (sent whole), pages sent whole because the
source measured its link faster than hashing pays for (with the link's
and one thread's hash speed: migration/checkpoint-pace.h), re-requests, the destination's
indexing time (and for warm its CPU seconds) and when the index was
ready relative to the destination's start and to the migrate command.
Goals (issue 15): bytes <= 25% of plain; time <= 30% of plain at
100 MiB/s; no slower than plain at loopback.

Destination RAM is preallocated (memory-backend-ram prealloc=on), in
every variant alike: on a VM host that takes freed memory back (free
page reporting, as on the bench machine: page_reporting_order on its
kernel command line), a process's first touch of 2 GiB costs 0.2-0.4
CPU s when the memory was freed a moment before and 1-2.4 CPU s when it
was freed a second or more before (an anonymous 2 GiB
MADV_POPULATE_WRITE: 0.21-0.38 s after no pause, 0.98-1.89 s after
1-6 s).  Left in the migration, that swings a 0.8 s plain run by more
than the difference being measured, and by the order of the runs (a
warm run first waits for the index, so its RAM was always freed long
before); preallocated, the migrations compare the work of migrating.
"""
import os
import shutil
import statistics
import time

from tern.migration import set_migration
from tern.vm import Vm

PAGE = 4096
BW_100 = 100 << 20


def _vmm(binary, args, tmp, name):
    return Vm(['-nodefaults'] + args, binary=binary, name=name, serial=False,
              tmpdir=tmp)


def _src_args(mb, ram):
    return ['-M', 'none', '-m', f'{mb}M',
            '-object', f'memory-backend-file,id=mem,size={mb}M,'
                       f'mem-path={ram},share=on',
            '-machine', 'none,memory-backend=mem']


def _dst_args(mb, ckpt):
    args = ['-M', 'none', '-m', f'{mb}M',
            '-object', f'memory-backend-ram,id=mem,size={mb}M,prealloc=on',
            '-machine', 'none,memory-backend=mem', '-incoming', 'defer']
    return args + (['-checkpoint', ckpt] if ckpt else [])


def _change_pages(path, size, every=5):
    """Overwrite every every-th page of the file with new random data."""
    with open(path, 'r+b') as f:
        for off in range(0, size, every * PAGE):
            f.seek(off)
            f.write(os.urandom(PAGE))


def _cpu_seconds(pid, comm=None):
    """CPU seconds (user + system) of process pid, or of its thread named
    comm."""
    tck = os.sysconf('SC_CLK_TCK')
    paths = [f'/proc/{pid}/stat']
    if comm:
        paths = []
        for tid in os.listdir(f'/proc/{pid}/task'):
            try:
                with open(f'/proc/{pid}/task/{tid}/comm') as f:
                    if f.read().strip() == comm:
                        paths.append(f'/proc/{pid}/task/{tid}/stat')
            except OSError:
                continue
    total = 0
    for path in paths:
        try:
            with open(path) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:  # the thread just ended
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tck


def _wait_index(dst, timeout=600):
    """Wait until dst's checkpoint index is no longer "indexing"; returns
    its checkpoint stats."""
    deadline = time.monotonic() + timeout
    while True:
        c = dst.cmd('query-migrate').get('checkpoint', {})
        if c.get('index-status') not in (None, 'indexing'):
            return c
        if time.monotonic() > deadline:
            raise RuntimeError('checkpoint index not ready in time')
        if dst.proc.poll() is not None:
            raise RuntimeError('destination exited: ' + dst.stderr()[-500:])
        time.sleep(0.05)


def _one(tern, mb, ram, ckpt, bw, tmp, poll, port, warm=False):
    """One migration; returns its figures.  warm: migrate only once the
    destination's index is ready."""
    src = _vmm(tern, _src_args(mb, ram), tmp, 'ckpt-src')
    dst = None
    try:
        t_dst = time.monotonic()
        dst = _vmm(tern, _dst_args(mb, ckpt), tmp, 'ckpt-dst')
        uri = f'tcp:127.0.0.1:{port}'
        set_migration(dst, {'events': True})
        dst.cmd('migrate-incoming', uri=uri)
        caps = {'events': True, 'return-path': True}
        if ckpt:
            caps['x-checkpoint-assisted'] = True
        set_migration(src, caps, {'max-bandwidth': bw})
        index = {}
        if warm:
            idx_cpu0 = _cpu_seconds(dst.proc.pid)
            c = _wait_index(dst)
            if c.get('index-status') != 'ready':
                raise RuntimeError('checkpoint index ' +
                                   str(c.get('index-status')))
            index = {'index_cpu_s': _cpu_seconds(dst.proc.pid) - idx_cpu0,
                     'index_ready_s': time.monotonic() - t_dst}
        cpu0 = (_cpu_seconds(src.proc.pid), _cpu_seconds(dst.proc.pid))
        t_mig = time.monotonic()
        src.cmd('migrate', uri=uri)
        # the migration thread's CPU, last seen while it still ran
        mig_cpu = [0.0]

        def on_sample(_info):
            mig_cpu[0] = max(mig_cpu[0],
                             _cpu_seconds(src.proc.pid, 'live_migration'))
        info, _, wall = poll(src, dst, 0, 900, on_sample)
        r = {'wall_s': wall, 'bytes': info['ram']['transferred'],
             'normal_pages': info['ram']['normal'],
             'total_time_ms': info.get('total-time'),
             'src_cpu_s': _cpu_seconds(src.proc.pid) - cpu0[0],
             'dst_cpu_s': _cpu_seconds(dst.proc.pid) - cpu0[1],
             'src_mig_thread_cpu_s': mig_cpu[0]}
        c = info.get('checkpoint')
        if c:
            d = dst.cmd('query-migrate').get('checkpoint', {})
            r.update({'hash_pages': c['pages'],
                      'moved_pages': c['moved-pages'],
                      'requested_pages': c['requested-pages'],
                      'hashed_pages': c.get('hashed-pages'),
                      'unhashed_pages': c.get('unhashed-pages'),
                      'whole_pages': c.get('whole-pages'),
                      'link_speed': c.get('link-speed'),
                      'hash_speed': c.get('hash-speed'),
                      'exchange_bytes': c['exchange-bytes'],
                      'exchange_ms': c['exchange-time'],
                      'index_ms': d.get('index-time'),
                      'index_status': d.get('index-status'),
                      'loaded_pages': d.get('loaded-pages'),
                      'migrate_after_dst_start_s': t_mig - t_dst})
            r.update(index)
            if d.get('index-time') is not None and \
                    d.get('index-status') == 'ready':
                # indexing starts as the destination process parses
                # -checkpoint, a few ms after it was spawned
                r['index_ready_after_migrate_s'] = \
                    d['index-time'] / 1000 - (t_mig - t_dst)
        return r
    finally:
        src.kill()
        if dst:
            dst.kill()


def _median_run(rs):
    """The run of rs with the median wall time, with its wall time, bytes
    and CPU seconds replaced by each figure's median over rs and the
    per-run wall times kept in 'walls'."""
    m = dict(sorted(rs, key=lambda r: r['wall_s'])[len(rs) // 2])
    for k in ('wall_s', 'bytes', 'src_cpu_s', 'dst_cpu_s'):
        vals = [r[k] for r in rs if r.get(k) is not None]
        if vals:
            m[k] = statistics.median(vals)
    m['walls'] = [round(r['wall_s'], 3) for r in rs]
    return m


def run_checkpoint_case(tern, ramfile, size, shm, tmp, poll, free_port,
                        runs=1):
    """The whole case: {'loopback'|'100MiBs': {'plain': r, 'cold': r,
    'warm': r}}, each r the median of `runs` rounds of plain, cold and
    warm in turn (_median_run)."""
    mb = size >> 20
    ram = os.path.join(shm, 'ckpt-src.ram')
    ckpt = os.path.join(shm, 'ckpt.elf')
    shutil.copyfile(ramfile, ram)
    try:
        src = _vmm(tern, _src_args(mb, ram), tmp, 'ckpt-take')
        try:
            src.cmd('dump-guest-memory', paging=False,
                    protocol='file:' + ckpt)
        finally:
            src.kill()
        _change_pages(ram, size)
        # an unrecorded plain run first: the source's first pass reads its
        # RAM file into the page cache, which would otherwise be charged to
        # whichever recorded run came first (plain, at loopback)
        _one(tern, mb, ram, None, 100 << 30, tmp, poll, free_port())
        out = {'size_mib': mb}
        for label, bw in (('loopback', 100 << 30), ('100MiBs', BW_100)):
            rounds = {'plain': [], 'cold': [], 'warm': []}
            for _ in range(max(1, runs)):
                rounds['plain'].append(_one(tern, mb, ram, None, bw, tmp,
                                            poll, free_port()))
                rounds['cold'].append(_one(tern, mb, ram, ckpt, bw, tmp,
                                           poll, free_port()))
                rounds['warm'].append(_one(tern, mb, ram, ckpt, bw, tmp,
                                           poll, free_port(), warm=True))
            out[label] = {v: _median_run(rs) for v, rs in rounds.items()}
        return out
    finally:
        for p in (ram, ckpt):
            if os.path.exists(p):
                os.unlink(p)


def _details(label, variant, c):
    """The exchange, hashing and indexing lines of one checkpoint run."""
    out = [f"| {label} | {variant}: exchange | {c.get('exchange_bytes')} B, "
           f"{c.get('exchange_ms')} ms (source's wait before its first "
           f"page) |",
           f"| {label} | {variant}: pages as hashes / re-requested | "
           f"{c.get('hash_pages')} / {c.get('requested_pages')} |",
           f"| {label} | {variant}: pages hashed ahead / sent before their "
           f"hash | {c.get('hashed_pages')} / {c.get('unhashed_pages')} |",
           f"| {label} | {variant}: pages sent whole, hashing not paying "
           f"(link / one thread's hashing, MB/s) | {c.get('whole_pages')} "
           f"({(c.get('link_speed') or 0) // 1000000} / "
           f"{(c.get('hash_speed') or 0) // 1000000}) |"]
    if variant == 'warm':
        cpu = c.get('index_cpu_s')
        out.append(f"| {label} | warm: destination indexing (before "
                   f"migrate) | {c.get('index_ms')} ms, "
                   f"{cpu if cpu is None else round(cpu, 2)} CPU s |")
    else:
        ready = c.get('index_ready_after_migrate_s')
        mig = c.get('migrate_after_dst_start_s', 0)
        if c.get('index_status', 'ready') != 'ready':
            # paused by a fast link's advise: not done when pages ended
            out.append(f"| {label} | cold: destination indexing | still "
                       f"{c.get('index_status')} at the end ({c.get('index_ms')}"
                       f" ms after its start); migrate {mig:.2f} s after "
                       f"the start |")
            return out
        out.append(f"| {label} | cold: destination indexing | "
                   f"{c.get('index_ms')} ms from its start; migrate "
                   f"{mig:.2f} s after the start, index ready "
                   f"{ready if ready is None else round(ready, 2)} s after "
                   f"migrate |")
    return out


def _ratio(c, p, key):
    if key not in c or key not in p:
        return '', ''
    return f'{c[key]:.6g}', f'{c[key] / p[key]:.3f}' if p[key] else ''


def markdown(case):
    """The case's lines for docs/benchmarks.md."""
    runs_all = case.get('runs', {})
    out = ['', '## Checkpoint-assisted migration (Tern only)', '',
           f"{runs_all.get('size_mib', 2048)} MiB of random RAM, "
           'checkpoint (dump-guest-memory) taken, then '
           '20% of the pages changed; a plain migration (return-path) '
           'against ones whose destination holds the checkpoint: *cold* '
           'migrates as soon as the destination listens (it indexes while '
           'the pages go), *warm* once the destination reports its '
           'index ready (a destination started ahead of time).  Ratios are '
           'checkpoint/plain; CPU s count from the migrate command.  '
           'Each figure is the median over the rounds (plain, cold and '
           'warm in turn); the details come from the median round.', '',
           '| link | figure | plain | cold | cold/plain | warm | warm/plain '
           '| goal |',
           '|---|---|---|---|---|---|---|---|']
    details = []
    for label, goal_t in (('loopback', '<= 1.00'), ('100MiBs', '<= 0.30')):
        runs = runs_all.get(label)
        if not runs:
            continue
        p = runs['plain']
        variants = [(v, runs[v]) for v in ('cold', 'warm') if v in runs]
        if 'checkpoint' in runs:  # results from before the warm variant
            variants = [('cold', runs['checkpoint'])]
        for key, name, goal in (('wall_s', 'total s', goal_t),
                                ('bytes', 'RAM bytes sent', '<= 0.25'),
                                ('src_cpu_s', 'source CPU s', ''),
                                ('dst_cpu_s', 'destination CPU s', '')):
            if key not in p:
                continue
            cells = []
            for v in ('cold', 'warm'):
                c = dict(variants).get(v, {})
                cells += list(_ratio(c, p, key))
            out.append(f'| {label} | {name} | {p[key]:.6g} | '
                       + ' | '.join(cells) + f' | {goal} |')
        if 'walls' in p:
            walls = ', '.join(
                f"{v} " + ' / '.join(f'{w:.2f}' for w in r['walls'])
                for v, r in [('plain', p)] + variants if 'walls' in r)
            out.append(f'| {label} | total s of each round | {walls} '
                       '| | | | | |')
        c = dict(variants).get('cold', {})
        if c.get('exchange_ms') is not None:
            # the cold source's wait for the offer is mostly the
            # destination still indexing
            t = c['wall_s'] - c['exchange_ms'] / 1000
            out.append(f"| {label} | total s after the offer (cold) | "
                       f"{p['wall_s']:.6g} | {t:.6g} | "
                       f"{t / p['wall_s']:.3f} | | | |")
        for v, c in variants:
            details += _details(label, v, c)
    if details:
        out += ['', '| link | figure | value |', '|---|---|---|'] + details
    if case.get('error'):
        out.append('')
        out.append(f"Failed: {case['error']}")
    return out
