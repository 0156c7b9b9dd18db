#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-mapped-ram: save to and restore from a mapped-ram file.

Cases (all by default, or those named on the command line):
  live      a stress guest dirtying RAM is saved live over several passes
            (a 1 ms downtime limit until 6, at least 3) with one writer,
            pages rewritten in place; the file stays RAM +
            headers; an independent reader (below, written from the
            documented layout) compares every page of the file with the
            source's RAM (a shared memory-backend-file); tern-img checks
            it; the restored guest verifies every page and keeps running
  stopped   stop, save in one go with 2 channels, restore with 2
  fd        save to and restore from a file passed as an fd (getfd)
  direct    4 channels, direct-io on (the save directory is on a real
            disk, not tmpfs), at offset=; restore with direct-io too
  refuse    QEMU 9's refusals: a non-seekable transport, compression or
            TLS with multifd, postcopy, direct-io with fd:, a pipe fd
  bad       damaged files (truncated, wrong version, misaligned
            pages_offset, bitmap past the end, block name and size that
            do not match): the destination exits with status 1 and the
            error, never a crash
  fullfs    in a private mount namespace: a save to a full tmpfs fails
            with ENOSPC and the source keeps running; direct-io on a
            file system without O_DIRECT (ramfs) is refused clearly.
            Skipped with the reason when mount namespaces are not allowed
--accel kvm runs the guest under KVM (skipped without /dev/kvm).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, guest_elf, have_kvm, QMPError, set_migration,  # noqa
                     skip, skip_unless_built, source_dir, start_migration,
                     Vm, wait_migration)
from tern.migration import wait_incoming  # noqa: E402

ACCEL = 'soft'
MEM = 64 << 20
PAGE = 4096
APPEND = 'mem=16M-48M rate=16 pattern=random report_ms=250'
TMPDIR = None
PASSES = 6  # dirty-log passes of the live save at least


# ---- an independent reader of the documented layout ----

def read_mapped_ram(path, offset=0):
    """{block name: (length, pages_offset, set of present pages)} of a
    mapped-ram save: stream header, configuration, ram START with a
    28-byte big-endian header after each block entry, bitmaps as
    little-endian 64-bit words."""
    blocks = {}
    with open(path, 'rb') as f:
        data = f.read(8 << 20)  # every header lies in the first blocks

        def at(pos, fmt):
            return struct.unpack_from(fmt, data, pos)

        check(at(offset, '>II') == (0x5145564D, 3), 'reader: stream header')
        pos = offset + 8
        check(data[pos] == 0x07, 'reader: configuration record')
        pos += 5 + at(pos + 1, '>I')[0]
        caps = []
        while data[pos] == 0x05:
            n = data[pos + 1]
            name = data[pos + 2:pos + 2 + n].decode()
            pos += 2 + n + 4
            check(name == 'configuration/capabilities', f'reader: {name}')
            count = at(pos, '>I')[0]
            pos += 4
            for _ in range(count):
                caps.append(data[pos + 1:pos + 1 + data[pos]].decode())
                pos += 1 + data[pos]
        check('mapped-ram' in caps, f'reader: capabilities {caps}')
        check(data[pos] == 0x01, 'reader: START')
        n = data[pos + 5]
        check(data[pos + 6:pos + 6 + n] == b'ram', 'reader: ram first')
        pos += 6 + n + 8
        total = at(pos, '>Q')[0]
        check(total & 0xfff == 4, 'reader: MEM_SIZE')
        total &= ~0xfff
        pos += 8
        while total:
            f.seek(pos)
            head = f.read(1 + 255 + 8 + 28)
            n = head[0]
            name = head[1:1 + n].decode()
            length, = struct.unpack_from('>Q', head, 1 + n)
            ver, psize, bmoff, pgoff = struct.unpack_from('>IQQQ', head,
                                                          9 + n)
            check((ver, psize) == (1, PAGE), f'reader: {name} header')
            check(bmoff == pos + 9 + n + 28, f'reader: {name} bitmap_offset')
            check(pgoff % (1 << 20) == 0, f'reader: {name} alignment')
            pages = length // PAGE
            f.seek(bmoff)
            words = struct.unpack(f'<{(pages + 63) // 64}Q',
                                  f.read((pages + 63) // 64 * 8))
            present = {w * 64 + b for w, word in enumerate(words)
                       for b in range(64) if word >> b & 1}
            check(all(p < pages for p in present), f'reader: {name} bits')
            blocks[name] = (length, pgoff, present, pos + 9 + n)
            total -= length
            pos = pgoff + length
        f.seek(pos)
        check(f.read(8) == struct.pack('>Q', 0x10), 'reader: EOS')
    return blocks


def compare_with_ram(path, ramfile, offset=0):
    """Every page of the save equals the source's RAM (absent = zero)."""
    blocks = read_mapped_ram(path, offset)
    check(list(blocks) == ['mem'], f'blocks {list(blocks)}')
    length, pgoff, present, _ = blocks['mem']
    check(length == MEM, f'block length {length}')
    zero = bytes(PAGE)
    with open(path, 'rb') as f, open(ramfile, 'rb') as r:
        for page in range(length // PAGE):
            ram = r.read(PAGE)
            if page in present:
                f.seek(pgoff + page * PAGE)
                got = f.read(PAGE)
            else:
                got = zero
            check(got == ram, f'page {page}: file differs from RAM '
                  f'(present {page in present})')
    return len(present)


# ---- guests ----

def guest_args(ramfile=None, extra=()):
    args = ['-accel', ACCEL, '-m', f'{MEM >> 20}M', '-kernel', guest_elf(),
            '-append', APPEND]
    if ramfile:
        args += ['-object', f'memory-backend-file,id=mem,size={MEM >> 20}M,'
                 f'mem-path={ramfile},share=on',
                 '-M', 'pc-lite,memory-backend=mem']
    else:
        args += ['-M', 'pc-lite']
    return args + list(extra)


def first_ok():
    """The soft vCPU has written every page by pass 1; a KVM guest may be
    slow under nested virtualisation: any progress line will do."""
    return 'stress: ok pass=1' if ACCEL == 'soft' else 'stress: ok'


def caps_for(channels):
    caps = {'mapped-ram': True}
    if channels:
        caps['multifd'] = True
    return caps


def params_for(channels, direct=False, **more):
    params = dict(more)
    if channels:
        params['multifd-channels'] = channels
    if direct:
        params['direct-io'] = True
    return params


def save(src, uri, channels=0, direct=False, **params):
    start_migration(src, uri, caps=caps_for(channels),
                    params=params_for(channels, direct, **params))
    return wait_migration(src, 60)


def restore(path, channels=0, direct=False, offset=None, ramfile=None,
            extra=(), paused=False):
    """A destination restoring path (of a guest saved paused: then cont
    it); returns it once the guest verified every page and goes on
    running."""
    dst = Vm(guest_args(ramfile, ['-incoming', 'defer'] + list(extra)),
             name='dst')
    try:
        set_migration(dst, caps_for(channels), params_for(channels, direct))
        uri = f'file:{path}' + (f',offset={offset}' if offset else '')
        dst.cmd('migrate-incoming', uri=uri)
        if paused:
            wait_incoming(dst, 30)
            check(dst.cmd('query-status')['status'] == 'paused',
                  'guest saved paused is not paused')
            dst.cmd('cont')
        out = dst.wait_serial('stress: ok pass=', 30,
                              max(0, dst.serial().find('stress: resume')))
        if ACCEL == 'soft':
            check(re.search(r'stress: resume verified \d+ pages', out),
                  f'no resume line:\n{out}')
        n = dst.serial().count('stress: ok')
        deadline = time.time() + 10
        while dst.serial().count('stress: ok') < n + 1:
            check(time.time() < deadline, 'restored guest stalled')
            time.sleep(0.1)
        check(dst.cmd('query-status')['status'] == 'running',
              'restored guest not running')
        check(dst.cmd('query-migrate').get('status') == 'completed',
              'destination status')
        check('MISMATCH' not in dst.serial(), dst.serial())
        return dst
    except BaseException:
        print(dst.stderr())
        dst.kill()
        raise


def DST_RAM():
    """A fresh file for a destination's memory-backend-file."""
    path = os.path.join(TMPDIR, 'dst.ram')
    if os.path.exists(path):
        os.unlink(path)
    return path


def file_size_ok(path, offset=0):
    """RAM + one 1 MiB-aligned header region + the device state."""
    size = os.path.getsize(path)
    check(size >= offset + MEM, f'file size {size} below RAM')
    check(size <= offset + MEM + (1 << 20) + (64 << 10),
          f'file size {size} is more than RAM + headers')
    return size


def tern_img(path, *args):
    return subprocess.run([os.path.join(source_dir(), 'scripts', 'tern-img'),
                           'info', path] + list(args),
                          capture_output=True, text=True, timeout=60)


# ---- cases ----

def test_live():
    path = os.path.join(TMPDIR, 'live.mig')
    ramfile = os.path.join(TMPDIR, 'live.ram')
    with Vm(guest_args(ramfile), name='src') as src:
        src.wait_serial(first_ok(), 30)
        # a 1 ms downtime limit never converges: let the save go for
        # PASSES passes (each rewriting pages the guest dirtied), then
        # allow the switch-over
        start_migration(src, f'file:{path}', caps=caps_for(0),
                        params={'max-bandwidth': 32 << 20,
                                'downtime-limit': 1})
        deadline = time.time() + 90
        while True:
            info = src.cmd('query-migrate')
            if info.get('status') == 'completed':
                # converged by itself (the guest paused by the host's
                # load, or a KVM guest this host runs slowly): the pass
                # count is checked below
                break
            check(info.get('status') in ('setup', 'active'),
                  f'live save failed: {info}')
            if info.get('ram', {}).get('dirty-sync-count', 0) >= PASSES:
                break
            check(time.time() < deadline, f'live save: {info}')
            time.sleep(0.1)
        src.cmd('migrate-set-parameters', **{'downtime-limit': 60000})
        info = wait_migration(src, 60)
        passes = info['ram']['dirty-sync-count']
        # page data written by the migration thread counts as transferred
        # (the bandwidth estimate the switch-over uses)
        ram = info['ram']
        check(ram['multifd-bytes'] == 0 and
              ram['transferred'] >= ram['normal-bytes'] > 0, f'stats {ram}')
        # the soft guest dirties in bursts and the save may converge by
        # itself before PASSES; 3 passes and pages written more than once
        # are what the file-size check needs
        check(passes >= 3 or ACCEL != 'soft', f'only {passes} passes')
        check(src.cmd('query-status')['status'] == 'postmigrate',
              'source not postmigrate')
        size = file_size_ok(path)
        present = compare_with_ram(path, ramfile)
        check(ram['normal'] > present or ACCEL != 'soft',
              f"{ram['normal']} page writes for {present} pages: none "
              'rewritten')
        r = tern_img(path)
        check(r.returncode == 0 and 'check: ok' in r.stdout and
              f'{present} present' in r.stdout and 'complete: yes' in
              r.stdout, f'tern-img: {r.stdout}{r.stderr}')
        restore(path, ramfile=DST_RAM()).kill()
    print(f'live: {passes} passes, {ram["normal"]} page writes, file {size} '
          f'bytes for {MEM} of RAM, {present} pages present, every page '
          'equals the source RAM')


def test_stopped():
    path = os.path.join(TMPDIR, 'stopped.mig')
    ramfile = os.path.join(TMPDIR, 'stopped.ram')
    with Vm(guest_args(ramfile), name='src') as src:
        src.wait_serial(first_ok(), 30)
        src.cmd('stop')
        info = save(src, f'file:{path}', 2, **{'max-bandwidth': 0})
        # the writer threads' bytes are multifd-bytes, as QEMU counts them
        ram = info['ram']
        check(ram['multifd-bytes'] == ram['normal-bytes'] > 0, f'stats {ram}')
        file_size_ok(path)
        present = compare_with_ram(path, ramfile)
        # stopped: one pass, every data page written exactly once
        check(ram['normal'] == present, f'{ram["normal"]} pages written '
              f'for {present} present')
        restore(path, 2, ramfile=DST_RAM(), paused=True).kill()
    print(f'stopped: saved with 2 channels ({present} pages), restored '
          'with 2')


def test_direct():
    path = os.path.join(TMPDIR, 'direct.mig')
    ramfile = os.path.join(TMPDIR, 'direct.ram')
    fstype = subprocess.run(['stat', '-f', '-c', '%T', TMPDIR],
                            capture_output=True, text=True).stdout.strip()
    check(fstype not in ('tmpfs', 'ramfs'),
          f'{TMPDIR} is {fstype}: direct-io wants a real disk')
    with Vm(guest_args(ramfile), name='src') as src:
        src.wait_serial(first_ok(), 30)
        save(src, f'file:{path},offset=1M', 4, True,
             **{'max-bandwidth': 0})
        file_size_ok(path, 1 << 20)
        present = compare_with_ram(path, ramfile, 1 << 20)
        r = tern_img(path, '--offset', '1M')
        check(r.returncode == 0, f'tern-img: {r.stdout}{r.stderr}')
        restore(path, 4, True, offset='1M', ramfile=DST_RAM()).kill()
        restore(path, 1, False, offset=1 << 20, ramfile=DST_RAM()).kill()
    print(f'direct: 4 channels with O_DIRECT on {fstype} at offset=1M '
          f'({present} pages), restored with 4 (direct) and 1')


def expect_refused(vm, what, fn, text):
    try:
        fn()
    except QMPError as e:
        check(text in str(e), f'{what}: {e}')
        return
    info = wait_migration(vm, 30, want=('failed',))
    check(text in info.get('error-desc', ''), f'{what}: {info}')


def test_refuse():
    path = os.path.join(TMPDIR, 'refuse.mig')
    seek = 'Migration requires seekable transport (e.g. file)'
    combo = 'Mapped-ram only available for non-compressed non-TLS multifd ' \
            'migration'
    with Vm(guest_args(), name='src') as src:
        set_migration(src, {'mapped-ram': True})
        expect_refused(src, 'tcp', lambda: src.cmd(
            'migrate', uri='tcp:127.0.0.1:1'), seek)
        expect_refused(src, 'exec', lambda: src.cmd(
            'migrate', uri='exec:cat > /dev/null'), seek)
        expect_refused(src, 'compression', lambda: set_migration(
            src, {'multifd': True}, {'multifd-compression': 'zlib'}), combo)
        set_migration(src, {'multifd': True})
        expect_refused(src, 'zlib', lambda: set_migration(
            src, None, {'multifd-compression': 'zlib'}), combo)
        src.cmd('object-add', **{'qom-type': 'tls-creds-anon', 'id': 'tls0',
                                 'endpoint': 'client'})
        set_migration(src, None, {'tls-creds': 'tls0'})
        expect_refused(src, 'tls', lambda: src.cmd(
            'migrate', uri=f'file:{path}'), combo)
        set_migration(src, {'multifd': False}, {'tls-creds': ''})
        try:
            set_migration(src, {'postcopy-ram': True})
            check(False, 'postcopy-ram with mapped-ram accepted')
        except QMPError as e:
            check('Mapped-ram migration is incompatible with postcopy' in
                  str(e), f'postcopy: {e}')
        for cap, text in (('compress', 'Mapped-ram migration is '
                           'incompatible with compression'),
                          ('xbzrle', 'Mapped-ram migration is incompatible '
                           'with xbzrle')):
            try:
                set_migration(src, {cap: True})
                check(False, f'{cap} with mapped-ram accepted')
            except QMPError as e:
                check(text in str(e), f'{cap}: {e}')
        rfd, wfd = os.pipe()
        src.qmp.getfd(wfd, 'pipe')
        os.close(wfd)
        src.cmd('migrate', uri='fd:pipe')
        info = wait_migration(src, 30, want=('failed',))
        os.close(rfd)
        check(seek in info.get('error-desc', ''), f'pipe: {info}')
        set_migration(src, {'multifd': True}, {'direct-io': True})
        expect_refused(src, 'direct-io fd:', lambda: src.cmd(
            'migrate', uri='fd:nosuch'), 'direct-io is not supported with '
            'the fd: URI')
        check(src.cmd('query-status')['status'] == 'running',
              'source stopped after refusals')
    with Vm(guest_args(extra=['-incoming', 'defer']), name='dst') as dst:
        set_migration(dst, {'mapped-ram': True})
        try:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
            check(False, 'destination accepted tcp with mapped-ram')
        except QMPError as e:
            check(seek in str(e), f'destination tcp: {e}')
    print('refuse: tcp (both sides), exec, a pipe fd, multifd compression, '
          'TLS, '
          'postcopy, compress, xbzrle and direct-io with fd: refused with '
          'their texts')


def test_fd():
    path = os.path.join(TMPDIR, 'fd.mig')
    ramfile = os.path.join(TMPDIR, 'fd.ram')
    with Vm(guest_args(ramfile), name='src') as src:
        src.wait_serial(first_ok(), 30)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        src.qmp.getfd(fd, 'save')
        os.close(fd)
        save(src, 'fd:save', 2, **{'max-bandwidth': 0})
        file_size_ok(path)
        present = compare_with_ram(path, ramfile)
        dst = Vm(guest_args(DST_RAM(), ['-incoming', 'defer']), name='dst')
        try:
            set_migration(dst, caps_for(2), params_for(2))
            fd = os.open(path, os.O_RDONLY)
            dst.qmp.getfd(fd, 'restore')
            os.close(fd)
            dst.cmd('migrate-incoming', uri='fd:restore')
            wait_incoming(dst, 30)
            out = dst.wait_serial('stress: ok pass=', 30,
                                  max(0, dst.serial().find('stress: resume')))
            check('MISMATCH' not in out, out)
            if ACCEL == 'soft':
                check('stress: resume verified' in out, out)
        finally:
            dst.kill()
    print(f'fd: saved to and restored from a file descriptor passed with '
          f'getfd, 2 channels ({present} pages)')


def header_pos(path):
    """File offset of the first block's 28-byte header."""
    return next(iter(read_mapped_ram(path).values()))[3]


def bad_file_case(good, what, text, damage=None, extra=(), ramfile=None,
                  caps=None):
    path = os.path.join(TMPDIR, f'bad-{what}.mig')
    shutil.copyfile(good, path)
    if damage:
        with open(path, 'r+b') as f:
            damage(f, header_pos(path))
    dst = Vm(guest_args(ramfile, ['-incoming', 'defer'] + list(extra)),
             name=f'dst-{what}')
    try:
        set_migration(dst, caps or {'mapped-ram': True})
        dst.cmd('migrate-incoming', uri=f'file:{path}')
        rc = dst.wait_exit(30)
        err = dst.stderr()
        check(rc == 1, f'{what}: exit status {rc}\n{err}')
        check(text in err, f'{what}: {text!r} not in\n{err}')
    finally:
        dst.kill()
        os.unlink(path)


def test_bad():
    good = os.path.join(TMPDIR, 'good.mig')
    ramfile = os.path.join(TMPDIR, 'bad.ram')
    with Vm(guest_args(), name='src') as src:
        src.wait_serial(first_ok(), 30)
        src.cmd('stop')
        save(src, f'file:{good}', 0, **{'max-bandwidth': 0})
    size = os.path.getsize(good)

    def put(off, fmt, value):
        return lambda f, h: (f.seek(h + off), f.write(struct.pack(fmt,
                                                                 value)))

    bad_file_case(good, 'truncated', 'the file is truncated',
                  lambda f, h: f.truncate(size // 2))
    bad_file_case(good, 'short', 'load of migration failed',
                  lambda f, h: f.truncate(h + 10))
    bad_file_case(good, 'version', 'Migration mapped-ram capability version '
                  'not supported (expected <= 1, got 2)', put(0, '>I', 2))
    bad_file_case(good, 'alignment', 'Error reading ramblock ram pages, '
                  'region has bad alignment', put(20, '>Q', (1 << 20) + 512))
    bad_file_case(good, 'bitmap', 'bitmap at 0x', put(12, '>Q', size + 4096))
    bad_file_case(good, 'size', 'Size mismatch: ram: 0x4000000 != 0x2000000',
                  extra=['-m', '32M'])
    bad_file_case(good, 'name', 'Unknown ramblock "ram", cannot accept '
                  'migration', ramfile=ramfile)
    bad_file_case(good, 'cap', 'Capability mapped-ram is off, but received '
                  'capability is on', caps={'events': True})
    print('bad: truncated, short, version, alignment, bitmap, size, name, '
          'capability off: refused; the destination exits with status 1')


def in_namespace(case):
    """Run case in a private mount namespace (this script again)."""
    r = subprocess.run(['unshare', '-m', '--propagation', 'private',
                        sys.executable, os.path.abspath(__file__),
                        '--accel', ACCEL, '--in-ns', case],
                       capture_output=True, text=True, timeout=240)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode == 77 or 'unshare failed' in r.stderr or \
            'Operation not permitted' in r.stderr and not r.stdout:
        print(f'{case}: SKIPPED: mount namespaces not allowed here')
        return
    check(r.returncode == 0, f'{case} failed in its namespace')


def mount(fstype, where, opts=None):
    cmd = ['mount', '-t', fstype] + (['-o', opts] if opts else []) + \
        ['none', where]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        skip(f'cannot mount {fstype}: {r.stderr.strip()}')


def test_fullfs_inner():
    full = os.path.join(TMPDIR, 'full')
    ramfs = os.path.join(TMPDIR, 'ramfs')
    os.mkdir(full)
    os.mkdir(ramfs)
    mount('tmpfs', full, 'size=8M')
    mount('ramfs', ramfs)
    try:
        fullfs_cases(full, ramfs)
    finally:
        subprocess.run(['umount', full])
        subprocess.run(['umount', ramfs])


def fullfs_cases(full, ramfs):
    with Vm(guest_args(), name='src') as src:
        src.wait_serial(first_ok(), 30)
        start_migration(src, f'file:{full}/saved.mig',
                        caps=caps_for(2), params=params_for(2))
        info = wait_migration(src, 60, want=('failed',))
        check('No space left on device' in info.get('error-desc', ''),
              f'full disk: {info}')
        enospc = info['error-desc']
        n = src.serial().count('stress: ok')
        deadline = time.time() + 10
        while src.serial().count('stress: ok') < n + 1:
            check(time.time() < deadline, 'source stalled after ENOSPC')
            time.sleep(0.1)
        check(src.cmd('query-status')['status'] == 'running',
              'source not running after ENOSPC')
        set_migration(src, None, {'direct-io': True})
        src.cmd('migrate', uri=f'file:{ramfs}/saved.mig')
        info = wait_migration(src, 60, want=('failed',))
        check('does not support O_DIRECT' in info.get('error-desc', ''),
              f'ramfs direct-io: {info}')
        odirect = info['error-desc']
        check(src.cmd('query-status')['status'] == 'running',
              'source not running after the direct-io refusal')
    print(f'fullfs: full tmpfs: "{enospc}", the source keeps running; '
          f'ramfs with direct-io: "{odirect}"')


CASES = {'live': test_live, 'stopped': test_stopped, 'direct': test_direct,
         'fd': test_fd,
         'refuse': test_refuse, 'bad': test_bad,
         'fullfs': lambda: in_namespace('fullfs')}


def main():
    global ACCEL, TMPDIR
    args = sys.argv[1:]
    if args[:1] == ['--accel']:
        ACCEL = args[1]
        args = args[2:]
    skip_unless_built(guest=True)
    if ACCEL == 'kvm' and not have_kvm():
        skip('/dev/kvm cannot be opened')
    # a directory on a real disk (direct-io), not a tmpfs /tmp
    base = os.environ.get('TERN_BUILD_DIR', tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix='tern-mapped-', dir=base) as tmp:
        TMPDIR = tmp
        if args[:1] == ['--in-ns']:
            test_fullfs_inner()
            return 0
        for name in args or list(CASES):
            CASES[name]()
    return 0


if __name__ == '__main__':
    sys.exit(main())
