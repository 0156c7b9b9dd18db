#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-checkpoint: checkpoint-assisted migration (x-checkpoint-assisted).

A soft-vCPU stress guest runs; its RAM is dumped (dump-guest-memory, or
a mapped-ram save: the checkpoint); it goes on dirtying part of its memory; then it migrates to
a destination that holds the checkpoint (-checkpoint PATH or the
"checkpoint" parameter).  Every case must end with the destination
re-verifying every page the workload wrote (no MISMATCH), whatever
happened to the checkpoint:

  1. plain (a dump) and mapped-ram (a save): pages the guest did not change since the dump go as HASH
     records (checkpoint.pages > 0, loaded-pages on the destination,
     nothing re-requested) and the bytes on the wire drop;
  2. moved: the checkpoint's pages are permuted in the file (each page
     now sits at another guest address): they are still found by hash
     (moved-pages counts them);
  3. changed after indexing, and truncated after indexing: the
     destination finds wrong or missing pages, asks the source again
     (rerequested-pages > 0), and the migration completes correctly;
  4. another guest's checkpoint: nothing is saved, all is re-sent
     normally;
  5. the "checkpoint" parameter set over QMP instead of -checkpoint, and
     capability checks (return-path required);
  6. cold: migrate as soon as the destination listens, while it still
     indexes (the offer is streamed in pieces); and against a
     destination that does not stream (TERN_TEST_CKPT_NO_STREAM: it
     answers as the first version of the exchange did, and the source
     falls back to waiting for the whole offer);
  7. fast link: no max-bandwidth, so the source measures the link
     against its hash speed and may send every page whole; the guest
     verifies every page whatever it chose, the counters add up.  The
     source advises "offer on demand" (its trace shows the CKPT_CTL
     records it sent); against a destination that predates it
     (TERN_TEST_CKPT_NO_ON_DEMAND: it takes that advise for a sync) it
     falls back to the fast link's streamed advise;
  8. late offer: the link starts fast (on-demand advise, no offer), then
     max-bandwidth is lowered as the first pages go (the destination is
     held with SIGSTOP around that), so the source asks for the offer
     (OFFER_NOW) once it measures that hashing pays: pages go as hashes.
"""
import os
import random
import re
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, incoming_vm, QMPError, set_migration,  # noqa
                     skip_unless_built, start_migration, stress_args, Vm,
                     wait_migration)

MEM = '96M'
APPEND = 'mem=16M-80M rate=8 pattern=random report_ms=250'
PAGE = 4096
CAPS = {'return-path': True, 'x-checkpoint-assisted': True}
# A limited link, so that the hash threads run ahead of the sender (which
# never waits for them: a page reached before its hash goes whole).  The
# checks below need a few thousand of the ~20,000 data pages as hashes;
# the hashing also runs while the source waits for the offer.
PARAMS = {'max-bandwidth': 32 << 20}
FAST = {'max-bandwidth': 100 << 30}
# The source's trace of the CKPT_CTL records it sends.
TRACE = ['-trace', 'migration_ckpt_ctl']
ON_DEMAND, STREAMED_FAST, OFFER_NOW = 0x80000004, 0x80000003, 0x80000005


def soft_args(append=APPEND, extra=()):
    return stress_args('soft', append, MEM, extra)


def dump(vm, path):
    vm.cmd('dump-guest-memory', paging=False, protocol='file:' + path)


def elf_data_range(path):
    """(offset, length) of the PT_LOAD data of a Tern dump (one segment
    after the page-aligned headers)."""
    with open(path, 'rb') as f:
        head = f.read(PAGE)
    phoff = int.from_bytes(head[32:40], 'little')
    off = int.from_bytes(head[phoff + 8:phoff + 16], 'little')
    size = int.from_bytes(head[phoff + 32:phoff + 40], 'little')
    return off, size


def wait_indexed(dst, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = dst.cmd('query-migrate').get('checkpoint', {})
        if c.get('index-status') in ('ready', 'failed'):
            return c
        time.sleep(0.1)
    raise AssertionError(f'checkpoint not indexed: {c}')


def check_verified(src, dst):
    """The destination resumed the workload and re-verified every page."""
    npages = int(re.search(r'pages=(\d+)', src.serial()).group(1))
    out = dst.wait_serial('stress: resume verified', 30)
    m = re.search(r'stress: resume verified (\d+) pages', out)
    check(int(m.group(1)) == npages, f'verified {m.group(1)} of {npages}')
    dst.wait_serial('stress: ok pass=', 30, out.index('resume verified'))
    check('MISMATCH' not in dst.serial(), dst.serial())
    check('MISMATCH' not in src.serial(), src.serial())


def wait_dirtied(vm, mib, timeout=60):
    """Wait until the workload has written mib MiB in all."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [int(x) for x in re.findall(r'dirtied=(\d+)MiB', vm.serial())]
        if got and max(got) >= mib:
            return
        time.sleep(0.1)
    raise AssertionError(f'{vm.name}: not {mib} MiB dirtied')


def mapped_ram_save(src, path):
    """A mapped-ram save of the running guest, which then runs on."""
    set_migration(src, caps={'mapped-ram': True})
    src.cmd('migrate', uri='file:' + path)
    wait_migration(src, 60)
    set_migration(src, caps={'mapped-ram': False})
    src.cmd('cont')


def ctl_sent(info):
    """The CKPT_CTL arguments the source sent, in order (its trace)."""
    return [int(x, 16) for x in
            re.findall(r'migration_ckpt_ctl CKPT_CTL 0x([0-9a-f]+)',
                       info['src-stderr'])]


def start_late(src, dst, params):
    """Migrate on a fast link, then lower max-bandwidth to params' once the
    first pages went.  The destination is stopped (SIGSTOP) until the
    source's setup (and its advise) is done, and again right after the
    source's first pages (it answered), for long enough that what went at
    full speed is at most what the socket buffers held, and that the
    source applies the new limit (at the end of its first 100 ms period,
    after the first 50 ms call of sending pages)."""
    pid = dst.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        start_migration(src, dst.uri, caps=CAPS, params=FAST)
        deadline = time.time() + 30
        while src.cmd('query-migrate').get('status') != 'active':
            check(time.time() < deadline, 'source not active')
            time.sleep(0.01)
        src.cmd('migrate-set-parameters', **params)
        os.kill(pid, signal.SIGCONT)
        while True:
            ram = src.cmd('query-migrate').get('ram', {})
            if ram.get('normal', 0) + ram.get('duplicate', 0) > 0:
                break
            check(time.time() < deadline, 'no page sent')
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.3)
    finally:
        os.kill(pid, signal.SIGCONT)


def migrate(tmp, name, after_dump=None, mutate=None, use_param=False,
            take=dump, cold=False, dst_env=None, params=None, late=False):
    """Checkpoint the source (dump, then after_dump(path)), let it dirty
    about a fifth of its pages, start the destination with it, apply
    mutate(path) once indexed, migrate (late: start_late()); returns
    (source's checkpoint info, source info with its stderr as
    'src-stderr')."""
    ckpt = os.path.join(tmp, name + '.elf')
    with Vm(soft_args(extra=TRACE), name='src') as src:
        src.wait_serial('stress: ok pass=1', 60)
        take(src, ckpt)
        if after_dump:
            after_dump(ckpt)
        wait_dirtied(src, 64 + 14)  # ~20% of the 64 MiB range rewritten
        args = soft_args()
        if not use_param:
            args += ['-checkpoint', ckpt]
        env = dict(os.environ, **dst_env) if dst_env else None
        with incoming_vm(args, name='dst', env=env) as dst:
            if use_param:
                dst.cmd('migrate-set-parameters', checkpoint=ckpt)
                check(dst.cmd('query-migrate-parameters')['checkpoint'] ==
                      ckpt, 'checkpoint parameter')
            if not cold:
                idx = wait_indexed(dst)
                check(idx['index-status'] == 'ready', idx)
            if mutate:
                mutate(ckpt)
            if late:
                start_late(src, dst, params or PARAMS)
            else:
                start_migration(src, dst.uri, caps=CAPS,
                                params=params or PARAMS)
            info = wait_migration(src, 120)
            info['src-stderr'] = src.stderr()
            check_verified(src, dst)
            dinfo = dst.cmd('query-migrate')
            hmp = src.hmp('info migrate')
            check('checkpoint:' in hmp, hmp)
            check('checkpoint file:' in dst.hmp('info migrate'),
                  dst.hmp('info migrate'))
    c, d = info['checkpoint'], dinfo['checkpoint']
    print(f'  {name}: {c["pages"]} hash pages ({c["moved-pages"]} moved), '
          f'{info["ram"]["transferred"] >> 20} MiB sent, '
          f'{c["requested-pages"]} re-sent; exchange '
          f'{c["exchange-bytes"]} bytes {c["exchange-time"]} ms; dst '
          f'indexed {d["indexed-pages"]} in {d["index-time"]} ms, '
          f'loaded {d["loaded-pages"]}, re-requested '
          f'{d["rerequested-pages"]} ({d["busy-pages"]} busy); hashed '
          f'{c["hashed-pages"]}, {c["unhashed-pages"]} before their hash')
    check(c['requested-pages'] == d['rerequested-pages'], (c, d))
    check(c['pages'] == d['loaded-pages'] + d['rerequested-pages'], (c, d))
    # pages asked for again because the checkpoint failed verification
    # (the others, busy-pages, came over the link while the destination's
    # verification was behind)
    c['failed-pages'] = d['rerequested-pages'] - d['busy-pages']
    return c, info


def data_pages(path):
    """The checkpoint's guest pages: (file offset of the first, count)."""
    off, size = elf_data_range(path)
    return off, size // PAGE


def rewrite_pages(path, which):
    """Overwrite the data pages for which which(i) is true with random
    bytes (what another guest, or a changed file, holds there)."""
    off, n = data_pages(path)
    rnd = random.Random(path)
    with open(path, 'r+b') as f:
        for i in range(n):
            if which(i):
                f.seek(off + i * PAGE)
                f.write(rnd.randbytes(PAGE))


def test_plain(tmp):
    c, info = migrate(tmp, 'plain')
    check(c['pages'] > 4000, c)
    check(c['moved-pages'] == 0 and c['failed-pages'] == 0, c)
    check(c['bytes-saved'] == c['pages'] * (PAGE - 32), c)
    # the pages sent as hashes did not cross as data
    total = 96 << 20
    check(info['ram']['transferred'] < total - c['bytes-saved'] + (4 << 20),
          info['ram'])


def test_mapped_ram(tmp):
    """A mapped-ram save as the checkpoint."""
    c, _ = migrate(tmp, 'mapped-ram', take=mapped_ram_save)
    check(c['pages'] > 4000 and c['moved-pages'] == 0, c)
    check(c['failed-pages'] == 0, c)


def test_moved(tmp):
    def shift(path):
        """Every page of the dump one page lower in guest memory."""
        off, n = data_pages(path)
        with open(path, 'r+b') as f:
            f.seek(off)
            data = f.read(n * PAGE)
            f.seek(off)
            f.write(data[PAGE:] + data[:PAGE])

    c, _ = migrate(tmp, 'moved', after_dump=shift)
    check(c['pages'] > 4000 and c['moved-pages'] == c['pages'], c)
    check(c['failed-pages'] == 0, c)


def test_changed_after_index(tmp):
    c, _ = migrate(tmp, 'changed',
                   mutate=lambda p: rewrite_pages(p, lambda i: i % 3 == 0))
    check(c['pages'] > 4000 and c['requested-pages'] > 1000, c)


def test_truncated_after_index(tmp):
    def truncate(path):
        off, n = data_pages(path)
        os.truncate(path, off + n // 2 * PAGE)

    c, _ = migrate(tmp, 'truncated', mutate=truncate)
    check(c['pages'] > 4000 and c['requested-pages'] > 1000, c)


def test_other_guest(tmp):
    c, info = migrate(tmp, 'other',
                      after_dump=lambda p: rewrite_pages(p, lambda i: True))
    check(c['pages'] == 0 and c['requested-pages'] == 0, c)
    check(info['ram']['normal'] > 10000, info['ram'])


def test_cold(tmp):
    """Migrate at once: the pieces of the offer arrive while pages go."""
    c, info = migrate(tmp, 'cold', cold=True)
    check(c['pages'] > 0 and c['moved-pages'] == 0, c)
    check(c['failed-pages'] == 0, c)
    check(c['bytes-saved'] == c['pages'] * (PAGE - 32), c)


def test_fast_link(tmp):
    """No max-bandwidth: the source measures the link against its hash
    speed (checkpoint-pace.c) and may send every page whole; whatever it
    chose, each page is right and each non-zero page is counted once."""
    c, info = migrate(tmp, 'fast', params=FAST)
    print(f"  fast: {c['whole-pages']} pages whole (link "
          f"{c['link-speed'] >> 20} MiB/s, hashing "
          f"{c['hash-speed'] >> 20} MiB/s)")
    check(c['hash-speed'] > 0, c)
    check(c['failed-pages'] == 0, c)
    check(c['whole-pages'] + c['unhashed-pages'] <= info['ram']['normal'],
          (c, info['ram']))
    check(c['bytes-saved'] == c['pages'] * (PAGE - 32), c)
    # offer on demand; asked for only if hashing came to pay
    sent = ctl_sent(info)
    check(sent[0] == ON_DEMAND and
          all(x == OFFER_NOW or x < ON_DEMAND for x in sent[1:]), sent)


def test_no_on_demand(tmp):
    """A fast link against a destination that predates the offer on
    demand: it takes the advise for a sync, the source falls back to the
    fast link's streamed advise (and the destination streams)."""
    c, info = migrate(tmp, 'no-on-demand', params=FAST,
                      dst_env={'TERN_TEST_CKPT_NO_ON_DEMAND': '1'})
    sent = ctl_sent(info)
    check(sent[:2] == [ON_DEMAND, STREAMED_FAST], sent)
    check(OFFER_NOW not in sent and 0 not in sent, sent)
    check(c['failed-pages'] == 0, c)
    check(c['bytes-saved'] == c['pages'] * (PAGE - 32), c)


def test_late_offer(tmp):
    """The link starts fast, max-bandwidth is lowered before the first
    page: the source asks for the offer once hashing pays."""
    c, info = migrate(tmp, 'late', late=True)
    sent = ctl_sent(info)
    check(sent[:2] == [ON_DEMAND, OFFER_NOW], sent)
    check(c['pages'] > 0 and c['failed-pages'] == 0, c)
    check(c['bytes-saved'] == c['pages'] * (PAGE - 32), c)


def test_no_stream(tmp):
    """A destination that does not stream: the whole offer, as before."""
    c, info = migrate(tmp, 'no-stream',
                      dst_env={'TERN_TEST_CKPT_NO_STREAM': '1'})
    check(c['pages'] > 4000 and c['failed-pages'] == 0, c)
    check(ctl_sent(info)[:2] == [0x80000002, 0], ctl_sent(info))
    # the offer lists every page of the 96 MiB guest (8 bytes each)
    check(c['exchange-bytes'] > (96 << 20) // PAGE * 8, c)


def test_parameter(tmp):
    c, _ = migrate(tmp, 'param', use_param=True)
    check(c['pages'] > 4000, c)


def test_caps(tmp):
    """x-checkpoint-assisted needs return-path; it is refused at migrate."""
    with Vm(soft_args(), name='src') as src:
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'x-checkpoint-assisted', 'state': True}])
        try:
            src.cmd('migrate', uri='tcp:127.0.0.1:1')
            check(False, 'migrate accepted without return-path')
        except QMPError as e:
            check("requires capability 'return-path'" in str(e), str(e))
    with Vm(['-M', 'none', '-checkpoint', '/nonexistent/ckpt'],
            name='bad', qmp=False) as bad:
        check(bad.wait_exit(30) == 1, 'exit status')
        check("Could not open checkpoint '/nonexistent/ckpt'" in bad.stderr(),
              bad.stderr())


def main():
    skip_unless_built(guest=True)
    slow = '--slow' in sys.argv
    with tempfile.TemporaryDirectory(prefix='tern-ckpt-') as tmp:
        if slow:
            test_moved(tmp)
            test_truncated_after_index(tmp)
            test_other_guest(tmp)
            test_parameter(tmp)
        else:
            test_caps(tmp)
            test_plain(tmp)
            test_mapped_ram(tmp)
            test_changed_after_index(tmp)
            test_cold(tmp)
            test_fast_link(tmp)
            test_no_on_demand(tmp)
            test_late_offer(tmp)
            test_no_stream(tmp)


if __name__ == '__main__':
    main()
