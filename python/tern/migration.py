# SPDX-License-Identifier: GPL-2.0-or-later
"""Migration steps over QMP, for Tern and QEMU alike.

Every function takes anything with a QMP-style cmd(name, **args) (a
tern.vm.Vm or a tern.qmp.QMP).  MigrationPair starts a source and a
destination process for the common "migrate A to B" case:

    with MigrationPair(args) as pair:
        src, dst = pair
        info = pair.migrate(params={'max-bandwidth': 1 << 30})
"""
import time

from .vm import Vm, free_port

FINAL = ('completed', 'failed', 'cancelled')


def set_migration(vm, caps=None, params=None):
    """Set capabilities (a {name: bool} dict or names to enable) and
    parameters (a {qmp-name: value} dict) on vm; QMPError if refused."""
    if caps:
        if not isinstance(caps, dict):
            caps = {name: True for name in caps}
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': k, 'state': v} for k, v in caps.items()])
    if params:
        vm.cmd('migrate-set-parameters', **params)


def start_migration(src, uri, dst=None, listen=None, caps=None, params=None,
                    dst_caps=None, dst_params=None):
    """Configure dst (when given) and let it listen on listen (when given:
    a destination started with -incoming defer), then configure src and
    send it `migrate` to uri.  Returns at once; see wait_migration."""
    if dst is not None:
        set_migration(dst, dst_caps, dst_params)
        if listen is not None:
            dst.cmd('migrate-incoming', uri=listen)
    set_migration(src, caps, params)
    src.cmd('migrate', uri=uri)


def poll_migration(vm, until=FINAL, timeout=60.0, interval=0.05,
                   on_info=None):
    """Poll query-migrate on vm every interval s until its status is in
    until; return that info.  on_info(info) sees every answer (it may
    raise to stop).  TimeoutError after timeout s (None: no limit)."""
    deadline = None if timeout is None else time.time() + timeout
    while True:
        info = vm.cmd('query-migrate')
        if on_info is not None:
            on_info(info)
        if info.get('status') in until:
            return info
        if deadline is not None and time.time() >= deadline:
            raise TimeoutError(f'migration not {until} after {timeout}s: '
                               f'{info}')
        time.sleep(interval)


def wait_migration(vm, timeout=50.0, want=('completed',)):
    """Poll query-migrate until its status is in want; AssertionError on
    failed/cancelled (unless wanted) or timeout.  Returns the info."""
    name = getattr(vm, 'name', 'vm')
    try:
        info = poll_migration(vm, tuple(want) + FINAL, timeout)
    except TimeoutError as e:
        raise AssertionError(f'{name}: {e}') from None
    if info.get('status') not in want:
        raise AssertionError(f"{name}: migration {info.get('status')}: "
                             f'{info}')
    return info


def wait_incoming(vm, timeout=30.0):
    """Poll a destination's query-migrate until completed; AssertionError
    (with its stderr) if the process exits first or on timeout."""
    def alive(info):
        if vm.proc.poll() is not None:
            raise AssertionError(f'{vm.name} exited:\n{vm.stderr()}')

    try:
        return poll_migration(vm, ('completed',), timeout, on_info=alive)
    except TimeoutError:
        raise AssertionError(f'{vm.name}: not completed\n{vm.stderr()}') \
            from None


def incoming_vm(args, uri=None, **vm_args):
    """A destination started with -incoming uri (default: a free tcp
    port on 127.0.0.1); its uri attribute is where a source connects."""
    uri = uri or f'tcp:127.0.0.1:{free_port()}'
    vm = Vm(list(args) + ['-incoming', uri], **vm_args)
    vm.uri = uri
    return vm


class MigrationPair:
    """A source and a destination process, started in that order.

    dst_args defaults to src_args.  The destination listens on listen
    (default uri, default a free tcp port on 127.0.0.1) either from its
    command line (-incoming URI) or, with defer=True, from
    migrate-incoming sent by start().  Other keyword arguments go to
    both Vms; src_binary/dst_binary pick QEMU for one side.  Leaving the
    with block kills both.  Iterating yields (src, dst).
    """

    def __init__(self, src_args, dst_args=None, uri=None, listen=None,
                 defer=False, names=('src', 'dst'), src_binary=None,
                 dst_binary=None, **vm_args):
        self.uri = uri or f'tcp:127.0.0.1:{free_port()}'
        self.listen = listen or self.uri
        self.defer = defer
        dst_args = list(src_args if dst_args is None else dst_args)
        self.src = Vm(src_args, binary=src_binary, name=names[0], **vm_args)
        try:
            self.dst = Vm(dst_args + ['-incoming',
                                      'defer' if defer else self.listen],
                          binary=dst_binary, name=names[1], **vm_args)
        except BaseException:
            self.src.kill()
            raise

    def __iter__(self):
        return iter((self.src, self.dst))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        self.src.kill()
        self.dst.kill()

    def start(self, caps=None, params=None, dst_caps=None, dst_params=None):
        """start_migration from src to dst; returns at once."""
        start_migration(self.src, self.uri, self.dst,
                        self.listen if self.defer else None, caps, params,
                        dst_caps, dst_params)

    def migrate(self, timeout=50.0, want=('completed',), **settings):
        """start() with settings, then wait_migration on the source."""
        self.start(**settings)
        return wait_migration(self.src, timeout, want)
