#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-postcopy-rp: the source's page-request handlers fed bad
return-path messages.

A fake destination (a tcp listener that reads and drops the stream)
answers a `-M none` source migrating with the return-path capability,
throttled so the stream is still in precopy, with one bad REQ_PAGES_ID
or REQ_PAGES message: a torn length, REQ_PAGES with no block named
before, an unknown block, a range past the block's end, a REQ_PAGES of
the wrong length.  Each time the migration fails with QEMU 7.2's text in
error-desc and the source guest keeps running.
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, poll_migration,  # noqa: E402
                     skip_unless_built, Vm)

MACHINE = ['-M', 'none,memory-backend=mem', '-m', '64M', '-object',
           'memory-backend-ram,id=mem,size=64M']


def msg(t, data):
    return struct.pack('>HH', t, len(data)) + data


def req_id(start, length, name):
    return msg(3, struct.pack('>QI', start, length) + bytes([len(name)]) +
               name)


CASES = [
    ('torn REQ_PAGES_ID', msg(3, bytes(8)),
     'RP: Req_Page_id with length 8 expecting 13'),
    ('REQ_PAGES first', msg(4, struct.pack('>QI', 0, 4096)),
     'ram_save_queue_pages no previous block'),
    ('unknown block', req_id(0, 4096, b'nope'),
     "ram_save_queue_pages no block 'nope'"),
    ('past the end', req_id(64 << 20, 4096, b'mem'),
     'ram_save_queue_pages request overrun, offset=0x4000000 len=0x1000 '
     'blocklen=0x4000000'),
    ('REQ_PAGES of 8 bytes', req_id(0, 4096, b'mem') + msg(4, bytes(8)),
     "RP: Received 'REQ_PAGES' message (0x0004) with incorrect length 8 "
     'expecting 12'),
]


def fake_destination(srv, answer):
    """Answer once the RAM section has started (4 KiB of stream)."""
    conn, _ = srv.accept()
    got = 0
    try:
        while got < 4096:
            data = conn.recv(65536)
            if not data:
                break
            got += len(data)
        conn.sendall(answer)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    conn.close()


def run_case(what, answer, expect):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = free_port()
    srv.bind(('127.0.0.1', port))
    srv.listen(1)
    th = threading.Thread(target=fake_destination, args=(srv, answer),
                          daemon=True)
    th.start()
    with Vm(MACHINE, name='src', serial=False) as src:
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': True}])
        src.cmd('migrate-set-parameters', **{'max-bandwidth': 32 << 10})
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        info = poll_migration(src, ('completed', 'failed', 'cancelled'), 20)
        status = src.cmd('query-status')['status']
    srv.close()
    check(info['status'] == 'failed', f'{what}: {info}')
    check(expect in info.get('error-desc', ''), f'{what}: {info}')
    check(status == 'running', f'{what}: source guest {status}')
    print(f'{what}: {info["error-desc"]}')


def main():
    skip_unless_built()
    for case in CASES:
        run_case(*case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
