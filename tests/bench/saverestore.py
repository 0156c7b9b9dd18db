# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: saving RAM to a file on a real disk and restoring it.

QEMU (7.2 has no mapped-ram) saves with `migrate exec:cat > FILE` and
restores with `migrate-incoming exec:cat FILE`; Tern saves with the
mapped-ram capability to file:FILE (1 or 2 channels, buffered or
direct-io) and restores the same way.  Each run:
  1. save: a -M none source whose RAM is the random RAM file; time from
     the source's MIGRATION setup to completed event ('save s'), and from
     setup to the end of an fsync of the file started once the migration
     is completed and the source has no child process left (QEMU's
     `cat` has written the last bytes) ('save s incl. fsync': the data
     is on the disk, the same way for both);
  2. the file's page cache is dropped (fsync + POSIX_FADV_DONTNEED), so
     the restore reads the disk;
  3. restore: a -M none -incoming defer destination; time from
     migrate-incoming to its completed event ('restore s').
The disk's own sequential bandwidth is measured in the same run with dd
(1 MiB blocks of the RAM file, buffered and oflag=direct writes each
until durable with conv=fsync, cold buffered and iflag=direct reads) and
given as the cases' limit; each run's save and restore is also given as
% of the dd figure of the same kind of I/O (direct for direct-io cases).
The best durable write found by any method on this disk (several
O_DIRECT writers with 8 MiB writes into a preallocated file, then
fsync: faster than either dd here) is measured too, and each save is
given as % of it: 100 / QEMU's % estimates the largest save ratio
against QEMU the disk allows (a virtual disk's speed moves between
measures, so a save can land a little above 100 %).  A live case saves a stress guest dirtying 64 MiB/s
with mapped-ram and records the file size against RAM (goal: <= 1%).
"""
import mmap
import os
import re
import subprocess
import threading
import time

from tern.migration import poll_migration, set_migration
from tern.vm import Vm

FINAL = ('completed', 'failed', 'cancelled')


def _vmm(binary, args, tmp, name):
    return Vm(['-nodefaults'] + args, binary=binary, name=name, serial=False,
              tmpdir=tmp)


def _event_s(vm, status, timeout):
    ev = vm.qmp.wait_event('MIGRATION', timeout=timeout,
                           pred=lambda e: e['data']['status'] == status)
    ts = ev['timestamp']
    return ts['seconds'] + ts['microseconds'] / 1e6


def _wait_children(pid, timeout=60):
    """Wait until pid has no child process left (QEMU's exec: `cat`
    may still be writing the pipe's last bytes when the migration
    completes)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        kids = []
        for d in os.listdir('/proc'):
            try:
                with open(f'/proc/{d}/stat') as f:
                    st = f.read()
            except (OSError, ValueError):
                continue
            fields = st[st.rindex(')') + 2:].split()
            if d.isdigit() and int(fields[1]) == pid and fields[0] != 'Z':
                kids.append(d)
        if not kids:
            return
        time.sleep(0.01)


def drop_cache(path):
    """fsync path and drop its pages from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def dd_bandwidth(diskdir, size, src):
    """The disk's sequential bandwidth for size bytes of src's content
    (the RAM file), measured the ways the saves and restores use it:
    written with 1 MiB blocks buffered and O_DIRECT, each until durable
    (conv=fsync: dd's time includes the final fsync, as 'save s incl.
    fsync' does), and read back cold (page cache dropped) buffered and
    O_DIRECT.  A dict of GiB/s: write_buf, write_direct, read_buf,
    read_direct."""
    path = os.path.join(diskdir, 'dd.bench')
    count = size >> 20

    def rate(args):
        r = subprocess.run(['dd', 'bs=1M', f'count={count}'] + args,
                           capture_output=True, text=True)
        m = re.search(r'(\d+) bytes .* copied, ([\d.]+) s', r.stderr)
        if not m:
            raise RuntimeError(f'dd: {r.stderr.strip()[-200:]}')
        return int(m.group(1)) / float(m.group(2)) / (1 << 30)

    out = {}
    try:
        try:
            out['write_best'] = best_write(path, size, src)
        except OSError:
            pass  # e.g. no O_DIRECT here: dd's oflag=direct says so below
        for mode, oflag in (('buf', []), ('direct', ['oflag=direct'])):
            if os.path.exists(path):
                os.unlink(path)
            out[f'write_{mode}'] = rate([f'if={src}', f'of={path}',
                                         'conv=fsync'] + oflag)
        for mode, iflag in (('buf', []), ('direct', ['iflag=direct'])):
            drop_cache(path)
            out[f'read_{mode}'] = rate([f'if={path}', 'of=/dev/null']
                                       + iflag)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return out


def best_write(path, size, src, writers=4, block=8 << 20):
    """GiB/s of the fastest durable write of size bytes of src's content
    measured on the bench's disk: writers threads, each writing its
    contiguous share with block-byte O_DIRECT pwrites into a file
    preallocated to size (so ext4 runs them in parallel instead of
    serializing extending writes), timed until an fsync returns."""
    share = size // writers // block * block
    bufs = []
    with open(src, 'rb') as f:
        for i in range(writers):
            buf = mmap.mmap(-1, share)  # page-aligned, as O_DIRECT wants
            f.seek(i * share)
            f.readinto(buf)
            bufs.append(buf)
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    errors = []

    def writer(i):
        try:
            view = memoryview(bufs[i])
            for off in range(0, share, block):
                os.pwrite(fd, view[off:off + block], i * share + off)
        except OSError as e:
            errors.append(e)

    try:
        os.posix_fallocate(fd, 0, share * writers)
        threads = [threading.Thread(target=writer, args=(i,))
                   for i in range(writers)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        os.fsync(fd)
        secs = time.time() - t0
    finally:
        os.close(fd)
        os.unlink(path)
        for buf in bufs:
            buf.close()
    if errors:
        raise RuntimeError(f'best write: {errors[0]}')
    return share * writers / secs / (1 << 30)


def disk_pct(system, case, r, limits):
    """Save and restore speed of run r as % of the dd figure of the same
    kind of I/O (O_DIRECT for a direct-io case, buffered otherwise)."""
    mode = 'direct' if system == 'tern' and case.get('direct') else 'buf'
    w = limits.get(f'disk_write_{mode}_gibs')
    rd = limits.get(f'disk_read_{mode}_gibs')
    if w:
        r['save_disk_pct'] = round(100.0 * r['save_gibs'] / w, 1)
    if limits.get('disk_write_best_gibs'):
        r['save_best_pct'] = round(
            100.0 * r['save_gibs'] / limits['disk_write_best_gibs'], 1)
    if rd:
        r['restore_disk_pct'] = round(100.0 * r['restore_gibs'] / rd, 1)


def _settings(system, case):
    caps, params = {'events': True}, {'max-bandwidth': 100 << 30}
    if system == 'tern':
        caps['mapped-ram'] = True
        if case['channels']:
            caps['multifd'] = True
            params['multifd-channels'] = case['channels']
        if case.get('direct'):
            params['direct-io'] = True
    return caps, params


def run_save_restore(system, binary, case, ramfile, size, diskdir, tmp):
    """One save and one restore of size bytes of ramfile's content."""
    mb = size >> 20
    path = os.path.join(diskdir, f'{system}.save')
    caps, params = _settings(system, case)
    src = _vmm(binary, ['-M', 'none,memory-backend=mem', '-m', f'{mb}M',
                        '-object', f'memory-backend-file,id=mem,size={mb}M,'
                        f'mem-path={ramfile},share=on'], tmp, f'{system}-src')
    try:
        set_migration(src, caps, params)
        uri = f'file:{path}' if system == 'tern' else f'exec:cat > {path}'
        src.cmd('migrate', uri=uri)
        info = poll_migration(src, FINAL, 600, 0.1)
        if info.get('status') != 'completed':
            raise RuntimeError(f"save {info.get('status')}: "
                               f"{info.get('error-desc')}")
        setup = _event_s(src, 'setup', 5)
        save_s = _event_s(src, 'completed', 5) - setup
        _wait_children(src.proc.pid)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # from the same start to the data on disk (event timestamps are
        # wall-clock time), whatever the poll's delay
        save_sync_s = time.time() - setup
        drop_cache(path)
        src_cpu = info
    finally:
        src.kill()
    file_bytes = os.path.getsize(path)
    dst = _vmm(binary, ['-M', 'none,memory-backend=mem', '-m', f'{mb}M',
                        '-object', f'memory-backend-ram,id=mem,size={mb}M',
                        '-incoming', 'defer'], tmp, f'{system}-dst')
    try:
        set_migration(dst, caps, params)
        uri = f'file:{path}' if system == 'tern' else f'exec:cat {path}'
        t0 = time.time()
        dst.cmd('migrate-incoming', uri=uri)
        done = _event_s(dst, 'completed', 600)
        if dst.proc.poll() is not None:
            raise RuntimeError('restore failed: ' + dst.stderr()[-300:])
        restore_s = done - t0
    finally:
        dst.kill()
        os.unlink(path)
    return {'save_s': save_s, 'save_sync_s': save_sync_s,
            'restore_s': restore_s, 'file_bytes': file_bytes,
            'save_gibs': size / (1 << 30) / save_sync_s,
            'restore_gibs': size / (1 << 30) / restore_s,
            'bytes': src_cpu.get('ram', {}).get('transferred'),
            'series': []}


def run_live_size(binary, guest, mem_mb, rate, diskdir, tmp, accel):
    """Tern: a stress guest dirtying rate MiB/s saved live with mapped-ram;
    the file's size against RAM."""
    path = os.path.join(diskdir, 'live.save')
    src = Vm(['-M', 'pc-lite', '-accel', accel, '-m', f'{mem_mb}M',
              '-kernel', guest, '-append',
              f'mem=16M-{mem_mb - 16}M rate={rate} pattern=random',
              '-serial', f'file:{tmp}/live.serial'], name='live-src',
             serial=False, tmpdir=tmp)
    try:
        deadline = time.time() + 5 + (mem_mb - 32) / rate
        while time.time() < deadline:
            with open(f'{tmp}/live.serial', 'rb') as f:
                if b'stress: ok pass=1' in f.read():
                    break
            time.sleep(0.2)
        set_migration(src, {'events': True, 'mapped-ram': True},
                      {'max-bandwidth': 100 << 30})
        src.cmd('migrate', uri=f'file:{path}')
        info = poll_migration(src, FINAL, 600, 0.1)
        if info.get('status') != 'completed':
            raise RuntimeError(f"live save {info.get('status')}: "
                               f"{info.get('error-desc')}")
        size = os.path.getsize(path)
        ram = mem_mb << 20
        return {'file_bytes': size, 'ram_bytes': ram,
                'file_over_ram_pct': 100.0 * (size - ram) / ram,
                'passes': info['ram'].get('dirty-sync-count'),
                'bytes': info['ram'].get('transferred'),
                'wall_s': info.get('total-time', 0) / 1000.0, 'series': []}
    finally:
        src.kill()
        if os.path.exists(path):
            os.unlink(path)


def plot(results, plotdir, terminal):
    """saverestore.png: save and restore GiB/s of each save/restore case
    (QEMU exec:cat and Tern mapped-ram) against the disk's dd figures."""
    rows = []
    for name, case in results['cases'].items():
        if not name.startswith('saverestore-'):
            continue
        for system in ('qemu', 'tern'):
            for r in case.get(system, [])[:1]:
                label = 'QEMU exec:cat' if system == 'qemu' else \
                    name.replace('saverestore-', '')
                rows.append((f'{label}', r['save_gibs'], r['restore_gibs']))
    if not rows:
        return None
    # QEMU's runs are the same work in every case: keep one
    seen, uniq = set(), []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            uniq.append(row)
    lim = results['limits']
    path = os.path.join(plotdir, 'saverestore.dat')
    with open(path, 'w') as f:
        for i, (label, s, r) in enumerate(uniq):
            f.write(f'{i} "{label}" {s:.3f} {r:.3f}\n')
    out = os.path.join(plotdir, 'saverestore.png')
    script = [
        terminal, f"set output '{out}'",
        "set title 'save (incl. fsync) and cold restore of "
        f"{results['size'] >> 20} MiB, GiB/s'",
        'set style data histograms', 'set style fill solid 0.6',
        'set boxwidth 0.9', 'set grid ytics', 'set yrange [0:*]',
        'set xtics rotate by -20', 'set key outside right',
        f"plot '{path}' using 3:xtic(2) title 'save', '' using 4 "
        "title 'restore'"
        + (f", {lim['disk_write_direct_gibs']} with lines dt 2 "
           "title 'dd write direct', "
           f"{lim['disk_write_buf_gibs']} with lines dt 4 "
           "title 'dd write buffered', "
           f"{lim['disk_read_direct_gibs']} with lines dt 3 "
           "title 'dd read direct'"
           + (f", {lim['disk_write_best_gibs']} with lines dt 5 "
              "title 'best durable write'"
              if lim.get('disk_write_best_gibs') else '')
           if lim.get('disk_write_direct_gibs') else ''),
    ]
    subprocess.run(['gnuplot'], input='\n'.join(script).encode(), check=False)
    os.unlink(path)
    return out
