# SPDX-License-Identifier: GPL-2.0-or-later
"""A test-only TCP relay that breaks migrations on purpose.

FaultProxy listens on 127.0.0.1, forwards every connection it accepts to
the real destination, and injects one fault into the connection `victim`
picks when the bytes it forwarded from the source reach `at`.  victim is
the connection's number in accept order (0: the first, the main channel)
or a function of the source's first bytes on a connection (at most
HEAD_BYTES), true for the one to break; multifd_channel(n) picks multifd
channel n whatever order the source's connections arrived in.  Faults:

  cut       close both sides (FIN), as a proxy or a peer that went away
  reset     close both sides with RST (SO_LINGER 0)
  stall     stop forwarding in both directions for `seconds` (None:
            until close()), then go on
  corrupt   flip every bit of the byte at offset `at`, then go on
  throttle  no fault: forward at most `rate` bytes per second (from the
            start)

`at` is a byte offset (int) or a fraction (float, 0..1) of `total`, the
expected size of the source's stream (measure one clean run first: see
`forwarded`).  The reverse direction (the return path) is forwarded as
is.  `fired` tells whether the fault happened, and `fired_at` at which
source byte.  stall_now() stalls at once (back_only=True: only the
destination's answers, e.g. a lost SHUT); release() ends a stall.
"""
import socket
import threading
import time

FAULTS = ('cut', 'reset', 'stall', 'corrupt', 'throttle', None)
HEAD_BYTES = 64     # what a victim function sees of each connection
MULTIFD_MAGIC = bytes.fromhex('11223344')


def multifd_channel(n):
    """A victim function: the connection whose multifd initial packet
    (magic 0x11223344, channel id at byte 24) names channel n."""
    return lambda head: (len(head) > 24 and head[:4] == MULTIFD_MAGIC and
                         head[24] == n)


class FaultProxy:
    def __init__(self, dst_port, fault=None, at=0, total=None, seconds=None,
                 rate=None, victim=0, dst_host='127.0.0.1'):
        if fault not in FAULTS:
            raise ValueError(f'unknown fault {fault!r}')
        if isinstance(at, float):
            if total is None:
                raise ValueError('a fraction needs total')
            at = int(at * total)
        self.dst = (dst_host, dst_port)
        self.fault, self.at, self.seconds, self.rate = fault, at, seconds, rate
        self.victim = victim
        self.fired = False
        self.fired_at = None
        self.forwarded = 0  # source -> destination bytes, every connection
        self._resume = threading.Event()
        self._back_only = False
        self._closing = False
        self._socks = []
        self._lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.uri = f'tcp:127.0.0.1:{self.port}'
        threading.Thread(target=self._accept, daemon=True).start()

    # ---- relay ----

    def _accept(self):
        n = 0
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.dst)
            except OSError:
                c.close()
                continue
            with self._lock:
                self._socks += [c, u]
            idx, n = n, n + 1
            threading.Thread(target=self._pump, args=(c, u, idx, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, idx, False),
                             daemon=True).start()

    def _stalled(self, forward):
        return self.fault == 'stall' and self.fired and \
            not self._resume.is_set() and not (forward and self._back_only)

    def _wait_stall(self, forward=True):
        while self._stalled(forward) and not self._closing:
            self._resume.wait(0.1)

    def stall_now(self, back_only=False):
        """Stall from now on until release() (or close())."""
        self._back_only = back_only
        self._resume.clear()
        self.fault, self.fired = 'stall', True

    def _throttle(self, start, sent):
        if self.rate:
            ahead = sent / self.rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)

    def _fire(self, a, b, data, seen):
        """The fault at this chunk; returns what is still to send, or
        None when the connection is gone."""
        pos = self.at - seen
        self.fired, self.fired_at = True, self.at
        if self.fault in ('cut', 'reset'):
            if pos > 0:
                b.sendall(data[:pos])
            for s in (a, b):
                if self.fault == 'reset':
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b'\x01\x00\x00\x00\x00\x00\x00\x00')
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            return None
        if self.fault == 'corrupt':
            return data[:pos] + bytes([data[pos] ^ 0xff]) + data[pos + 1:]
        # stall: what came before the offset goes through first
        b.sendall(data[:pos])
        if self.seconds is not None:
            threading.Timer(self.seconds, self._resume.set).start()
        self._wait_stall()
        return data[pos:]

    def _is_victim(self, idx, head):
        if callable(self.victim):
            return self.victim(head)
        return idx == self.victim

    def _pump(self, a, b, idx, forward):
        seen, start = 0, time.time()
        head = b''      # the source's first bytes on this connection
        try:
            while True:
                self._wait_stall(forward)
                data = a.recv(65536)
                self._wait_stall(forward)
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                if forward:
                    if len(head) < HEAD_BYTES:
                        head += data[:HEAD_BYTES - len(head)]
                    if (self._is_victim(idx, head) and not self.fired and
                            self.fault not in (None, 'throttle') and
                            seen + len(data) > self.at):
                        rest = self._fire(a, b, data, seen)
                        if rest is None:
                            return
                        if self.fault == 'stall':
                            seen = self.at
                        data = rest
                    seen += len(data)
                    with self._lock:
                        self.forwarded += len(data)
                    self._throttle(start, seen)
                b.sendall(data)
        except OSError:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def release(self):
        """End a stall now."""
        self._resume.set()

    def close(self):
        self._closing = True
        self._resume.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
