# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP client: one implementation for the tests and scripts/tern-migrate."""
import array
import json
import socket
import time


class QMPError(RuntimeError):
    """An error reply; cls and desc are the reply's class and desc."""

    def __init__(self, reply):
        self.reply = reply
        err = reply.get('error', {})
        self.cls = err.get('class')
        self.desc = err.get('desc')
        super().__init__(f"{self.cls}: {self.desc}")


def _connect(addr, timeout):
    """A connected socket for unix:PATH, tcp:HOST:PORT or a bare path."""
    if addr.startswith('tcp:'):
        host, port = addr[4:].rsplit(':', 1)
        return socket.create_connection((host.strip('[]'), int(port)),
                                        timeout=timeout)
    path = addr[5:] if addr.startswith('unix:') else addr
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


class QMP:
    """A QMP client past capabilities negotiation.

    addr: unix:PATH, tcp:HOST:PORT or a bare socket path.  With
    wait=True the connection is retried until timeout (the server may
    not be listening yet); otherwise the first failure raises OSError.
    Events that arrive while waiting for a reply are kept in
    self.events (see wait_event).
    """

    def __init__(self, addr, timeout=30.0, wait=True):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = _connect(addr, timeout)
                break
            except OSError:
                if not wait or time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.timeout = timeout
        self.buf = b''
        self.events = []
        self.greeting = self._recv()
        self.cmd('qmp_capabilities')

    def _recv(self):
        while b'\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError('QMP connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def recv_reply(self):
        """Next non-event message; events are kept in self.events."""
        while True:
            msg = self._recv()
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd_raw(self, name, args=None, id=None):
        """Send a command; return the whole reply (error or not)."""
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        if id is not None:
            req['id'] = id
        self.send_raw(json.dumps(req) + '\n')
        return self.recv_reply()

    def cmd(self, name, **args):
        """Run a command; return its 'return' value or raise QMPError.
        Argument names may use _ for - (max_bandwidth=...)."""
        reply = self.cmd_raw(name, {k.replace('_', '-'): v
                                    for k, v in args.items()} or None)
        if 'error' in reply:
            raise QMPError(reply)
        return reply['return']

    def hmp(self, line):
        return self.cmd('human-monitor-command', command_line=line)

    def getfd(self, fd, name):
        """getfd NAME with fd passed by SCM_RIGHTS (a unix socket QMP);
        the server keeps its own copy.  Raises QMPError on an error."""
        req = json.dumps({'execute': 'getfd', 'arguments': {'fdname': name}})
        self.sock.sendmsg([req.encode() + b'\n'],
                          [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                            array.array('i', [fd]))])
        reply = self.recv_reply()
        if 'error' in reply:
            raise QMPError(reply)
        return reply['return']

    def wait_event(self, name, timeout=60.0, pred=None):
        """Take the first event called name (and matching pred) from
        self.events or the socket; TimeoutError after timeout seconds."""
        deadline = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev['event'] == name and (pred is None or pred(ev)):
                    return self.events.pop(i)
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f'event {name} not seen')
            self.sock.settimeout(left)
            try:
                msg = self._recv()
            finally:
                self.sock.settimeout(self.timeout)
            if 'event' in msg:
                self.events.append(msg)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
