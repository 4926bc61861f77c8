#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
ynl_test.py: the "ksrv" generic netlink family, driven through the
kernel's own YNL library (tools/net/ynl/lib from Debian's
linux-source-6.12) and Documentation/netlink/specs/ksrv.yaml, as the
kernel's netlink selftests drive their families: requests are what the
spec encodes, replies what it decodes, and errors the extack the kernel
gives (message, offending attribute, policy).

Run in the guest by suite.sh's ctl.ynl, with ksrv, echo_async
(autostart=0), echo_sync (autostart=0 idle_timeout=30) and discard
(autostart=0) loaded, as root of the initial namespaces:

  python3 -S /tests/ynl_test.py [-k NAME]

Prints one TAP line per test ("ok 3 ynl.conns"), "info:" lines with what
was measured (suite.sh shows them) and exits 1 if any test failed.
Every test removes what it added, in every namespace it used.

  --offline   on the host, without the module: load the specs, encode
              each kind of request, decode made-up replies and errors as
              the guest's tests read them (vm.sh runs it on the python
              it packs into the initramfs, which must hold every module
              this imports)
  --list-modules FILE   after --offline, the files of every module loaded
"""
import argparse
import ctypes
import errno
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
import traceback

# Where the guest keeps the kernel's YNL library (lib/) and the specs.
YNL_DIR = '/lib/ynl'

# Filled in by load_ynl(), from the library.
YnlFamily = NlError = Netlink = SpecFamily = None
SPEC = NLCTRL_SPEC = None

# A listener's counters, in the order the kernel gives them: the core's
# for its protocol, then the service's own for that protocol.
CORE_STATS = {
    'tcp': ['accepted', 'refused', 'over_budget', 'idle_closed', 'errors'],
    'udp': ['dgrams_in', 'errors'],
}
OWN_STATS = {
    ('echo_sync', 'tcp'): ['bytes_in', 'bytes_out'],
    ('echo_async', 'tcp'): ['bytes_in', 'bytes_out', 'send_wait_ack',
                            'send_wait_probe', 'send_wait_nomem',
                            'softirq_to_task', 'held'],
    ('echo_async', 'udp'): ['bytes_in', 'bytes_out', 'dgrams_out',
                            'dgrams_dropped', 'dgrams_bad_port',
                            'dgrams_bad_addr'],
    ('discard', 'tcp'): ['bytes_in'],
    ('discard', 'udp'): ['bytes_in'],
}

# The modules' parameters, as suite.sh loads them.
MODULE_DEFAULTS = {
    'echo_async': {'backlog': 4096, 'max-conns': 65536, 'idle-timeout': 0},
    'echo_sync': {'backlog': 4096, 'max-conns': 1024, 'idle-timeout': 30},
    'discard': {'backlog': 4096, 'max-conns': 65536, 'idle-timeout': 0},
}

# The most listeners a namespace may hold (KSRV_NET_MAX_LISTENERS).
NET_MAX_LISTENERS = 256

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

# 0: print nothing more; 1: every request and reply (-v).
VERBOSE = 0


def load_ynl(ynl_dir):
    """Import the kernel's library as its cli.py does (from lib import)."""
    global YnlFamily, NlError, Netlink, SpecFamily, SPEC, NLCTRL_SPEC
    # -S: no site, so python3-yaml's directory is added by hand.
    sys.path[:0] = [ynl_dir, os.path.join(sys.prefix, 'lib', 'python3',
                                          'dist-packages')]
    import lib
    YnlFamily, NlError, Netlink = lib.YnlFamily, lib.NlError, lib.Netlink
    SpecFamily = lib.SpecFamily
    SPEC = os.path.join(ynl_dir, 'ksrv.yaml')
    NLCTRL_SPEC = os.path.join(ynl_dir, 'nlctrl.yaml')


# ---- checks ----

class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        raise Fail(f'{what}: got {got!r}, want {want!r}')


def info(msg):
    print(f'info: {msg}', flush=True)


def wait_until(secs, what, fn):
    """fn() every 0.1 s until it returns something true; that, or Fail."""
    end = time.monotonic() + secs
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > end:
            raise Fail(f'{what}, after {secs} s')
        time.sleep(0.1)


# ---- the family through ynl ----

def family(spec=None, recv_size=0):
    """A YnlFamily on a new socket in the caller's network namespace."""
    fam = YnlFamily(spec or SPEC, schema='', recv_size=recv_size)
    # A kernel that never answers fails the test instead of hanging it.
    fam.sock.settimeout(60)
    return fam


class CountedSocket:
    """A socket that counts the reads ynl.py makes on it."""

    def __init__(self, sock):
        self.sock = sock
        self.reads = 0

    def recv(self, *args):
        self.reads += 1
        return self.sock.recv(*args)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def dump(fam, op, vals=None):
    """A dump, and how many reads (recvmsg) ynl.py took for it."""
    counted = CountedSocket(fam.sock)
    fam.sock = counted
    try:
        msgs = fam.dump(op, dict(vals or {}))
    finally:
        fam.sock = counted.sock
    if VERBOSE:
        print(f'# dump {op}: {counted.reads} reads: {msgs}')
    return msgs, counted.reads


def add(fam, **attrs):
    """listener-add; attributes by the spec's names, '_' for '-'."""
    vals = {k.replace('_', '-'): v for k, v in attrs.items()}
    rsp = fam.do('listener-add', vals)
    if VERBOSE:
        print(f'# listener-add {vals}: {rsp}')
    check(isinstance(rsp, dict) and isinstance(rsp.get('id'), int),
          f'listener-add {vals}: reply {rsp!r}')
    return rsp['id']


def delete(fam, lid):
    eq(fam.do('listener-del', {'id': lid}), None, f'listener-del {lid}')


def listeners(fam):
    return dump(fam, 'listener-get')[0]


def conns(fam):
    return dump(fam, 'conn-get')[0]


def delete_all(fam):
    for lst in listeners(fam):
        delete(fam, lst['id'])
    eq(listeners(fam), [], 'listeners left')


def stats(lst):
    """A dumped listener's counters, in order, as (name, value) pairs."""
    return [(s['name'], s['value']) for s in lst.get('stat', [])]


def by_id(lsts):
    return {lst['id']: lst for lst in lsts}


ANY = object()


def expect_error(what, call, err, msg, bad_attr=None, miss=None,
                 policy=None):
    """call() must fail with errno err and exactly this extack: the
    message (None: none), the attribute it names (ynl's '.name'), the
    missing attribute (miss-type, by name) and the policy (a dict of
    ynl's keys), None for each that must be absent, ANY for any."""
    try:
        rsp = call()
    except NlError as e:
        ext = dict(e.nl_msg.extack or {})
        if VERBOSE:
            print(f'# {what}: {os.strerror(e.error)} {ext}')
        eq(e.error, err, f'{what}: errno ({os.strerror(e.error)}, '
           f'extack {ext})')
        for key, want in (('msg', msg), ('bad-attr', bad_attr),
                          ('miss-type', miss), ('policy', policy)):
            if want is not ANY:
                eq(ext.get(key), want, f'{what}: extack {key} (all: {ext})')
        check('bad-attr-offs' not in ext,
              f'{what}: an offset ynl.py cannot place: {ext}')
        return ext
    raise Fail(f'{what}: succeeded: {rsp!r}')


def u_policy(kind, lo, hi):
    return {'type': kind, 'min-value': lo, 'max-value': hi}


# ---- sockets and namespaces ----

LIBC = None


def libc():
    global LIBC
    if LIBC is None:
        LIBC = ctypes.CDLL(None, use_errno=True)
    return LIBC


def _ok(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f'{what}: {os.strerror(e)}')


def unshare(flags):
    _ok(libc().unshare(flags), 'unshare')


def setns(fd, nstype):
    _ok(libc().setns(fd, nstype), 'setns')


def lo_up():
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)


class NetNs:
    """A network namespace of its own, with lo up, kept by an open file;
    'with ns:' runs the block in it (sockets made there are its)."""

    def __init__(self):
        home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        try:
            unshare(CLONE_NEWNET)
            self.fd = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
            lo_up()
        finally:
            setns(home, CLONE_NEWNET)
            os.close(home)
        self.home = []

    def __enter__(self):
        self.home.append(os.open('/proc/thread-self/ns/net', os.O_RDONLY))
        setns(self.fd, CLONE_NEWNET)
        return self

    def __exit__(self, *exc):
        home = self.home.pop()
        setns(home, CLONE_NEWNET)
        os.close(home)

    def close(self):
        os.close(self.fd)


def in_child(fn):
    """fn() in a forked child, which may change its namespaces and
    credentials; a Fail or error there fails the caller."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = {'ok': fn()}
        except Fail as e:
            res = {'fail': str(e)}
        except BaseException:
            res = {'fail': traceback.format_exc()}
        try:
            os.write(w, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b''
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    check(data, f'the child died ({status:#x}) without a word')
    res = json.loads(data)
    if 'fail' in res:
        raise Fail(f'in the child: {res["fail"]}')
    return res['ok']


def connect(addr, port):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect((addr, port))
    return s


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        check(chunk, f'EOF after {len(buf)} of {n} bytes')
        buf += chunk
    return buf


def tcp_echo(s, n):
    data = random.randbytes(n)
    s.sendall(data)
    eq(recv_exact(s, n) == data, True, f'{n} bytes echoed byte-exact')


def expect_closed(s, what):
    """The server ended the connection: EOF, or a reset."""
    try:
        eq(s.recv(1), b'', what)
    except ConnectionResetError:
        pass
    s.close()


def tcp_close(s, echo=True):
    """Close cleanly: after the peer's close for a discard listener."""
    if not echo:
        s.shutdown(socket.SHUT_WR)
        eq(s.recv(1), b'', 'EOF from discard')
    s.close()


def udp_send(addr, port, sizes, echo=True):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((addr, port))
        for n in sizes:
            data = random.randbytes(n)
            s.send(data)
            if echo:
                eq(s.recv(65536) == data, True, f'{n}-byte datagram echoed')


def peer_of(s, listener_addr):
    """The peer string the kernel gives for our socket s: an IPv4 client
    of a dual-stack listener is an IPv4-mapped IPv6 address."""
    host, port = s.getsockname()[:2]
    if ':' in host:
        return f'[{host}]:{port}'
    if ':' in listener_addr:
        return f'[::ffff:{host}]:{port}'
    return f'{host}:{port}'


# ---- the tests ----

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def family_ops(fam):
    """The family the kernel registered, read through the kernel's own
    nlctrl spec: its commands and flags, and the policy each request is
    checked against, are what ksrv.yaml says."""
    ctrl = family(NLCTRL_SPEC)
    fi = ctrl.do('getfamily', {'family-name': 'ksrv'})
    eq(fi['family-name'], 'ksrv', 'family name')
    eq(fi['version'], 1, 'family version')
    ops = {}
    for entry in fi['ops']:
        for op in entry.values():
            ops[op['id']] = op['flags']
    want = {}
    for op in fam.ops.values():
        flags = {'cmd-cap-haspol'}
        flags |= {'cmd-cap-do'} if 'do' in op.modes else set()
        flags |= {'cmd-cap-dump'} if 'dump' in op.modes else set()
        flags |= set(op.yaml.get('flags', []))
        want[op.req_value] = flags
    eq(ops, want, 'commands and their flags')
    for name in ('listener-add', 'listener-del'):
        op = fam.ops[name]
        msgs, _ = dump(ctrl, 'getpolicy', {'family-name': 'ksrv',
                                          'op': op.req_value})
        eq(kernel_policy(msgs), spec_policy(fam, name),
           f'{name}: the policy the kernel checks against')
    info(f'family ksrv id {fi["family-id"]}: {len(ops)} commands and the '
         f'policies of listener-add and listener-del as the spec says')


def kernel_policy(msgs):
    """nlctrl getpolicy's replies for one op: {attribute id: policy}."""
    got = {}
    for m in msgs:
        pol = m.get('policy')
        if pol is None:
            continue
        pol = dict(pol)
        check(pol.pop('policy-id') == 0, f'one policy for one op: {msgs}')
        got[pol.pop('attr-id')] = pol
    return got


def spec_policy(fam, name):
    """What the spec says a request's attributes are checked against, in
    nlctrl's words: the generator's NLA_NUL_STRING for a string, an
    integer's range from its checks, or its enum, or its type."""
    want = {}
    for attr_name in fam.ops[name].yaml['do']['request']['attributes']:
        attr = fam.ops[name].attr_set[attr_name]
        checks = attr.yaml.get('checks', {})
        if attr.type == 'string':
            pol = {'type': 'nul-string'}
            if 'max-len' in checks:
                pol['max-length'] = checks['max-len']
        else:
            lo, hi = 0, (1 << int(attr.type[1:])) - 1
            if 'enum' in attr.yaml:
                vals = [e.value for e in
                        fam.consts[attr.yaml['enum']].entries.values()]
                lo, hi = min(vals), max(vals)
            pol = {'type': attr.type,
                   'min-value-u': checks.get('min', lo),
                   'max-value-u': checks.get('max', hi)}
        want[attr.value] = pol
    return want


@test
def listener_add_each(fam):
    """listener-add for every service and protocol, with and without each
    option; the dump gives back what was asked (or the module's
    defaults), each listener serves, and counts what it served with the
    counters of its protocol only; listener-del removes each."""
    spec = [  # (service, proto, port, options)
        ('echo_async', 'tcp', 7101, {}),
        ('echo_async', 'tcp', 7102, {'addr': '127.0.0.1', 'backlog': 16,
                                     'max-conns': 100,
                                     'idle-timeout': 600}),
        ('echo_async', 'tcp', 7103, {'addr': '::1'}),
        ('echo_async', 'udp', 7101, {}),
        ('echo_async', 'udp', 7104, {'addr': '127.0.0.1', 'backlog': 8,
                                     'max-conns': 3, 'idle-timeout': 5}),
        ('echo_sync', 'tcp', 7105, {}),
        ('echo_sync', 'tcp', 7106, {'addr': '::1', 'max-conns': 2048,
                                    'idle-timeout': 0}),
        ('discard', 'tcp', 7107, {}),
        ('discard', 'udp', 7107, {}),
    ]
    ids = []
    for service, proto, port, opts in spec:
        ids.append(add(fam, service=service, proto=proto, port=port,
                       **{k.replace('-', '_'): v for k, v in opts.items()}))
    eq(ids, sorted(set(ids)), 'ids rising and unique')
    eq(ids, list(range(ids[0], ids[0] + len(ids))), 'ids consecutive')
    got = by_id(listeners(fam))
    eq(sorted(got), ids, 'the dump has every listener')
    for lid, (service, proto, port, opts) in zip(ids, spec):
        want = {'id': lid, 'service': service, 'proto': proto,
                'addr': opts.get('addr', '::'), 'port': port}
        if proto == 'tcp':
            for k, v in MODULE_DEFAULTS[service].items():
                want[k] = opts.get(k, v)
            want['conns'] = 0
        want['stat'] = [{'name': n, 'value': 0} for n in
                        CORE_STATS[proto] + OWN_STATS[(service, proto)]]
        eq(got[lid], want, f'listener {lid} as dumped')

    # Each serves: TCP over IPv4 and IPv6 as its address allows, UDP.
    a = connect('127.0.0.1', 7101)
    b = connect('::1', 7101)
    tcp_echo(a, 1000)
    tcp_echo(b, 1000)
    c = connect('127.0.0.1', 7102)
    tcp_echo(c, 300)
    try:
        connect('::1', 7102).close()
        raise Fail('the listener on 127.0.0.1 took a client of ::1')
    except ConnectionRefusedError:
        pass
    d = connect('::1', 7103)
    tcp_echo(d, 10)
    udp_send('127.0.0.1', 7101, [0, 7, 1000, 1472])
    udp_send('::1', 7101, [2000])
    udp_send('127.0.0.1', 7104, [100])
    e = connect('127.0.0.1', 7105)
    tcp_echo(e, 5000)
    f = connect('::1', 7106)
    tcp_echo(f, 64)
    g = connect('127.0.0.1', 7107)
    g.sendall(random.randbytes(10000))
    udp_send('127.0.0.1', 7107, [10, 20], echo=False)
    for s in (a, b, c, d, e, f):
        tcp_close(s)
    tcp_close(g, echo=False)

    def tcp(n, accepted):
        return [('accepted', accepted), ('refused', 0), ('over_budget', 0),
                ('idle_closed', 0), ('errors', 0), ('bytes_in', n),
                ('bytes_out', n)]

    def udp(dgrams, n):
        return [('dgrams_in', dgrams), ('errors', 0), ('bytes_in', n),
                ('bytes_out', n), ('dgrams_out', dgrams),
                ('dgrams_dropped', 0), ('dgrams_bad_port', 0),
                ('dgrams_bad_addr', 0)]
    # UDP bytes are the datagrams' payloads: 0 + 7 + 1000 + 1472 + 2000.
    want = [tcp(2000, 2), tcp(300, 1), tcp(10, 1), udp(5, 4479), udp(1, 100),
            tcp(5000, 1), tcp(64, 1),
            tcp(10000, 1)[:6], [('dgrams_in', 2), ('errors', 0),
                                ('bytes_in', 30)]]

    # echo_async's send_wait_*, softirq_to_task and held depend on timing: the
    # names are checked above, the values of the rest here.
    def counted(lst, w):
        names = [n for n, _ in w]
        return [(n, v) for n, v in stats(lst) if n in names]

    def settled():
        now = by_id(listeners(fam))
        return all(counted(now[lid], w) == w and
                   now[lid].get('conns', 0) == 0
                   for lid, w in zip(ids, want)) and now
    try:
        wait_until(30, 'counters', settled)
    except Fail:
        now = by_id(listeners(fam))
        for lid, w in zip(ids, want):
            eq((counted(now[lid], w), now[lid].get('conns', 0)), (w, 0),
               f'listener {lid}: counters and conns')
        raise
    for lid in ids:
        delete(fam, lid)
    eq(listeners(fam), [], 'listeners after listener-del')
    # Ids are not given again.
    lid = add(fam, service='echo_async', proto='tcp', port=7101)
    check(lid > ids[-1], f'id {lid} after {ids[-1]}')
    delete(fam, lid)


@test
def batch(fam):
    """Several requests in one message (ynl's do_multi), each answered."""
    rsps = fam.do_multi([('listener-add', {'service': 'echo_async',
                                           'proto': 'tcp', 'port': p}, [])
                         for p in (7111, 7112, 7113)])
    ids = [r['id'] for r in rsps]
    eq(ids, list(range(ids[0], ids[0] + 3)), 'ids of one batch')
    eq([lst['port'] for lst in listeners(fam)], [7111, 7112, 7113],
       'the batch\'s listeners')
    eq(fam.do_multi([('listener-del', {'id': i}, []) for i in ids]),
       [None] * 3, 'acks of a batch of deletions')
    eq(listeners(fam), [], 'listeners after the batch')


@test
def conn_get(fam):
    """conn-get with live connections: each one, its listener, its peer
    as the kernel prints it, its bytes and age; gone once closed, or
    once its listener is removed."""
    lids = {
        'dual': add(fam, service='echo_async', proto='tcp', port=7201),
        'v4': add(fam, service='echo_async', proto='tcp', port=7202,
                  addr='127.0.0.1'),
        'v6': add(fam, service='echo_async', proto='tcp', port=7203,
                  addr='::1'),
        'sync': add(fam, service='echo_sync', proto='tcp', port=7204,
                    idle_timeout=0),
        'discard': add(fam, service='discard', proto='tcp', port=7205),
    }
    where = {'dual': ('::', 7201), 'v4': ('127.0.0.1', 7202),
             'v6': ('::1', 7203), 'sync': ('::', 7204),
             'discard': ('::', 7205)}
    plan = [('dual', '127.0.0.1'), ('dual', '127.0.0.1'), ('dual', '::1'),
            ('v4', '127.0.0.1'), ('v4', '127.0.0.1'), ('v6', '::1'),
            ('sync', '127.0.0.1'), ('sync', '::1'),
            ('discard', '127.0.0.1')]
    start = time.monotonic()
    clients = []
    want = {}
    for i, (name, addr) in enumerate(plan):
        s = connect(addr, where[name][1])
        n = 100 * (i + 1)
        if name == 'discard':
            s.sendall(random.randbytes(n))
        else:
            tcp_echo(s, n)
        clients.append((name, s, (lids[name], peer_of(s, where[name][0]))))
        # What the listener dumps: bytes received, and sent and acked.
        want[clients[-1][2]] = (n, 0 if name == 'discard' else n)

    def seen():
        got = conns(fam)
        if len(got) == len(want) and want == {
                (c['listener-id'], c['peer']): (c['bytes-in'], c['bytes-out'])
                for c in got}:
            return (got,)
        return None
    try:
        got, = wait_until(30, 'conn-get', seen)
    except Fail:
        eq(sorted((c['listener-id'], c['peer'], c['bytes-in'],
                   c['bytes-out']) for c in conns(fam)),
           sorted(k + v for k, v in want.items()), 'connections dumped')
        raise
    age = (time.monotonic() - start) * 1000 + 1000
    for c in got:
        check(0 <= c['age-ms'] <= age, f'age of {c}: not within 0..{age}')
        eq(sorted(c), ['age-ms', 'bytes-in', 'bytes-out', 'listener-id',
                       'peer'], 'a connection\'s attributes')
    lsts = by_id(listeners(fam))
    for name, lid in lids.items():
        eq(lsts[lid]['conns'], sum(1 for c in clients if c[0] == name),
           f'conns of listener {name}')
    info('conn-get: peers ' + ', '.join(sorted({c['peer'].rsplit(':', 1)[0]
                                                for c in got})))
    # A connection closed leaves the dump; a listener removed takes its own.
    name, s, key = clients.pop(0)
    tcp_close(s)
    del want[key]
    wait_until(30, 'the closed connection out of conn-get', seen)
    delete(fam, lids['dual'])
    for name, s, key in [c for c in clients if c[0] == 'dual']:
        del want[key]
        expect_closed(s, 'EOF on a connection of a removed listener')
    clients = [c for c in clients if c[0] != 'dual']
    wait_until(30, 'a removed listener\'s connections out of conn-get', seen)
    for name, s, key in clients:
        tcp_close(s, echo=name != 'discard')
    want.clear()
    wait_until(30, 'conn-get empty', seen)
    delete_all(fam)


@test
def errors(fam):
    """Each refused request: its errno, and the extack the kernel gives
    through ynl.py (message, the attribute by name, the policy it broke,
    the missing attribute); nothing changed."""
    ok = {'service': 'echo_async', 'proto': 'tcp', 'port': 7301}

    def add_(**over):
        vals = dict(ok)
        for k, v in over.items():
            if v is None:
                vals.pop(k.replace('_', '-'))
            else:
                vals[k.replace('_', '-')] = v
        return lambda: fam.do('listener-add', vals)

    missing = 'missing a required attribute'
    expect_error('no attributes', lambda: fam.do('listener-add', {}),
                 errno.EINVAL, missing, miss='service')
    expect_error('no service', add_(service=None), errno.EINVAL, missing,
                 miss='service')
    expect_error('no proto', add_(proto=None), errno.EINVAL, missing,
                 miss='proto')
    expect_error('no port', add_(port=None), errno.EINVAL, missing,
                 miss='port')
    expect_error('listener-del without id',
                 lambda: fam.do('listener-del', {}), errno.EINVAL, missing,
                 miss='id')
    rng = 'integer out of range'
    for attr, bad, pol in (
            ('port', 0, u_policy('u16', 1, 65535)),
            ('proto', 0, u_policy('u8', 1, 2)),
            ('proto', 3, u_policy('u8', 1, 2)),
            ('backlog', 0, u_policy('u32', 1, 65535)),
            ('backlog', 65536, u_policy('u32', 1, 65535)),
            ('max-conns', 0, u_policy('u32', 1, 1048576)),
            ('max-conns', 1048577, u_policy('u32', 1, 1048576)),
            ('idle-timeout', 604801, u_policy('u32', 0, 604800))):
        expect_error(f'{attr} {bad}', add_(**{attr: bad}), errno.ERANGE,
                     rng, bad_attr='.' + attr, policy=pol)
    policy_msg = 'Attribute failed policy validation'
    expect_error('service of 16 characters', add_(service='x' * 16),
                 errno.EINVAL, policy_msg, bad_attr='.service',
                 policy={'type': 'nul-string', 'max-length': 15})
    expect_error('service of 15 characters', add_(service='x' * 15),
                 errno.ENOENT, 'no such service: is its module loaded?',
                 bad_attr='.service')
    expect_error('unknown service', add_(service='nosuch'), errno.ENOENT,
                 'no such service: is its module loaded?',
                 bad_attr='.service')
    expect_error('address of 46 characters', add_(addr='1' * 46),
                 errno.EINVAL, policy_msg, bad_attr='.addr',
                 policy={'type': 'nul-string', 'max-length': 45})
    expect_error('address of 45 characters', add_(addr='1' * 45),
                 errno.EINVAL, 'not an IPv4 or IPv6 address',
                 bad_attr='.addr')
    expect_error('malformed address', add_(addr='1.2.3'), errno.EINVAL,
                 'not an IPv4 or IPv6 address', bad_attr='.addr')
    expect_error('address of no interface', add_(addr='10.9.9.9'),
                 errno.EADDRNOTAVAIL,
                 'address not available in this namespace',
                 bad_attr='.addr')
    expect_error('UDP for echo_sync', add_(service='echo_sync', proto='udp'),
                 errno.EPROTONOSUPPORT, 'the service serves no UDP',
                 bad_attr='.proto')
    # Attributes listener-add does not take: one its policy leaves out,
    # one past its last.
    expect_error('listener-add with an id', add_(id=1), errno.EINVAL,
                 'Unsupported attribute', bad_attr='.id')
    expect_error('listener-add with conns', add_(conns=1), errno.EINVAL,
                 'Unknown attribute type', bad_attr='.conns')
    expect_error('listener-del with a port',
                 lambda: fam.do('listener-del', {'id': 1, 'port': 1}),
                 errno.EINVAL, 'Unknown attribute type', bad_attr='.port')
    expect_error('listener-del of no listener',
                 lambda: fam.do('listener-del', {'id': 4242}), errno.ENOENT,
                 'no such listener in this namespace', bad_attr='.id')
    # A port in use, by a listener or by another socket.
    lid = add(fam, **ok)
    expect_error('TCP port in use', add_(service='echo_sync'),
                 errno.EADDRINUSE, 'port already in use', bad_attr='.port')
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as held:
        held.bind(('::', 7302))
        expect_error('UDP port in use', add_(proto='udp', port=7302),
                     errno.EADDRINUSE, 'port already in use',
                     bad_attr='.port')
    # The wrong mode, and dumps, which take no attribute.
    expect_error('do of a dump', lambda: fam.do('listener-get', {}),
                 errno.EOPNOTSUPP, None)
    expect_error('dump of a do', lambda: fam.dump('listener-add', {}),
                 errno.EOPNOTSUPP, None)
    expect_error('listener-get dump with an id',
                 lambda: fam.dump('listener-get', {'id': lid}),
                 errno.EINVAL, policy_msg, bad_attr='.id')
    expect_error('listener-get dump with a port',
                 lambda: fam.dump('listener-get', {'port': 7301}),
                 errno.EINVAL, 'Unknown attribute type', bad_attr='.port')
    expect_error('conn-get dump with a listener id',
                 lambda: fam.dump('conn-get', {'listener-id': lid}),
                 errno.EINVAL, policy_msg, bad_attr='.listener-id')
    # Nothing but the one good request changed anything.
    eq([(x['id'], x['port']) for x in listeners(fam)], [(lid, 7301)],
       'listeners after the refusals')
    delete_all(fam)


@test
def not_admin(fam):
    """From a user namespace of its own, which does not own the network
    namespace: changing listeners is refused with EPERM, dumping is not
    and shows the same."""
    lid = add(fam, service='echo_async', proto='tcp', port=7401)
    held = connect('127.0.0.1', 7401)
    tcp_echo(held, 10)
    # A connection's age moves on: the rest must be the same.
    def seen(f):
        return [listeners(f), [{k: v for k, v in c.items() if k != 'age-ms'}
                               for c in conns(f)]]
    want_l, want_c = seen(fam)

    def child():
        unshare(CLONE_NEWUSER)
        f = family()
        expect_error('listener-add', lambda: f.do('listener-add', {
            'service': 'echo_async', 'proto': 'tcp', 'port': 7402}),
            errno.EPERM, None)
        expect_error('listener-del', lambda: f.do('listener-del',
                                                  {'id': lid}),
                     errno.EPERM, None)
        return seen(f)
    got_l, got_c = in_child(child)
    eq(got_l, want_l, 'listener-get from the user namespace')
    eq(got_c, want_c, 'conn-get from the user namespace')
    eq([x['id'] for x in listeners(fam)], [lid], 'listeners after EPERM')
    tcp_close(held)
    delete_all(fam)


@test
def userns_root(fam):
    """Root of a user namespace that owns its network namespace: may add
    listeners there, within the module's limits (EPERM past them, naming
    the attribute) and its owner's budget (EDQUOT)."""
    budget = '/sys/module/ksrv/parameters/max_user_listeners'
    with open(budget) as fh:
        saved = fh.read().strip()

    def child():
        unshare(CLONE_NEWUSER | CLONE_NEWNET)
        for name, text in (('setgroups', 'deny'), ('uid_map', '0 0 1'),
                           ('gid_map', '0 0 1')):
            with open(f'/proc/self/{name}', 'w') as fh:
                fh.write(text)
        lo_up()
        f = family()
        ids = [add(f, service='echo_async', proto='tcp', port=7501)]
        s = connect('127.0.0.1', 7501)
        tcp_echo(s, 100)
        expect_error('max-conns above the module\'s', lambda: f.do(
            'listener-add', {'service': 'echo_async', 'proto': 'tcp',
                             'port': 7502, 'max-conns': 65537}),
            errno.EPERM, 'above the module\'s max_conns: needs '
            'CAP_NET_ADMIN in the initial user namespace',
            bad_attr='.max-conns')
        ids.append(add(f, service='echo_async', proto='tcp', port=7502,
                       max_conns=65536))
        longer = ('longer than the module\'s idle_timeout: needs '
                  'CAP_NET_ADMIN in the initial user namespace')
        for secs in (0, 31):
            expect_error(f'idle-timeout {secs} past the module\'s 30',
                         lambda: f.do('listener-add', {
                             'service': 'echo_sync', 'proto': 'tcp',
                             'port': 7503, 'idle-timeout': secs}),
                         errno.EPERM, longer, bad_attr='.idle-timeout')
        ids.append(add(f, service='echo_sync', proto='tcp', port=7503))
        ids.append(add(f, service='echo_sync', proto='tcp', port=7504,
                       idle_timeout=10))
        ids.append(add(f, service='discard', proto='udp', port=7505))
        expect_error('a listener past the budget', lambda: f.do(
            'listener-add', {'service': 'discard', 'proto': 'udp',
                             'port': 7506}),
            errno.EDQUOT, 'the namespace\'s owner has all the listeners '
            'its budget allows (ksrv max_user_listeners)')
        got = listeners(f)
        eq([x['id'] for x in got], [1, 2, 3, 4, 5], 'ids in the namespace')
        eq([x.get('idle-timeout') for x in got], [0, 0, 30, 10, None],
           'idle timeouts')
        tcp_close(s)
        return ids

    with open(budget, 'w') as fh:
        fh.write('5')
    try:
        eq(in_child(child), [1, 2, 3, 4, 5], 'ids')
    finally:
        with open(budget, 'w') as fh:
            fh.write(saved)
    eq(listeners(fam), [], 'the namespace\'s listeners seen from outside')


@test
def dump_listeners_split(fam):
    """A namespace's 256 listeners (its most: the 257th is refused)
    dumped in several reads, with ynl.py's default buffer and with
    4000 bytes (its --dbg-small-recv): each once, in order."""
    ns = NetNs()
    try:
        with ns:
            f = family()
            small = family(recv_size=4000)
        n = NET_MAX_LISTENERS
        ports = [5001 + i for i in range(n)]
        # In batches, as ynl's --multi sends them, 32 requests a message:
        # their 64 answers stay well within the socket's receive buffer.
        ids = []
        for i in range(0, n, 32):
            ids += [r['id'] for r in f.do_multi([
                ('listener-add', {'service': 'echo_async', 'proto': 'tcp',
                                  'port': p}, []) for p in ports[i:i + 32]])]
        eq(ids, list(range(1, n + 1)), 'ids in a new namespace')
        expect_error(f'listener {n + 1}', lambda: f.do('listener-add', {
            'service': 'echo_async', 'proto': 'tcp', 'port': 5001 + n}),
            errno.ENOSPC, 'no room for another listener in this namespace')
        reads = {}
        for name, fm in (('default', f), ('4000-byte', small)):
            got, reads[name] = dump(fm, 'listener-get')
            eq([(x['id'], x['port']) for x in got], list(zip(ids, ports)),
               f'{name} dump: every listener once, in order')
        check(reads['default'] >= 3,
              f'{n} listeners in {reads["default"]} reads')
        check(reads['4000-byte'] >= 15,
              f'{n} listeners in {reads["4000-byte"]} reads of 4000 bytes')
        info(f'listener-get, {n} listeners: {reads["default"]} reads '
             f'(ynl.py\'s 128 KiB buffer), {reads["4000-byte"]} reads '
             f'of 4000 bytes')
        for i in range(0, n, 32):
            eq(f.do_multi([('listener-del', {'id': lid}, [])
                           for lid in ids[i:i + 32]]),
               [None] * len(ids[i:i + 32]), 'a batch of deletions')
        eq(listeners(f), [], 'listeners left in the namespace')
    finally:
        ns.close()


@test
def dump_conns_split(fam):
    """700 connections on two listeners dumped in several reads, with the
    default buffer and 4000 bytes: each connection once, as the clients
    see themselves."""
    a = add(fam, service='echo_async', proto='tcp', port=7601)
    b = add(fam, service='echo_async', proto='tcp', port=7602,
            addr='127.0.0.1')
    small = family(recv_size=4000)
    clients = []
    want = set()
    try:
        for lid, addr, port, count in ((a, '::', 7601, 400),
                                       (b, '127.0.0.1', 7602, 300)):
            for _ in range(count):
                s = connect('127.0.0.1', port)
                clients.append(s)
                want.add((lid, peer_of(s, addr)))
        eq(len(want), 700, 'client ports')
        wait_until(60, 'the listeners to hold 700 connections',
                   lambda: [x['conns'] for x in listeners(fam)] == [400, 300])
        reads = {}
        for name, fm in (('default', fam), ('4000-byte', small)):
            got, reads[name] = dump(fm, 'conn-get')
            pairs = [(c['listener-id'], c['peer']) for c in got]
            eq(len(pairs), len(set(pairs)), f'{name} dump: duplicates')
            eq(set(pairs), want, f'{name} dump: the connections')
        check(reads['default'] >= 2,
              f'700 connections in {reads["default"]} reads')
        check(reads['4000-byte'] >= 10,
              f'700 connections in {reads["4000-byte"]} reads of 4000 bytes')
        info(f'conn-get, 700 connections: {reads["default"]} reads, '
             f'{reads["4000-byte"]} reads of 4000 bytes')
    finally:
        for s in clients:
            s.close()
    wait_until(60, 'the connections to close', lambda: conns(fam) == [])
    delete_all(fam)


@test
def netns(fam):
    """Listeners on one port in three network namespaces: each numbered
    from 1 in its own, each namespace's dumps show only its listeners and
    connections, and an id of one means nothing in another."""
    na, nb = NetNs(), NetNs()
    held = []
    try:
        with na:
            fa = family()
        with nb:
            fb = family()
        init_id = add(fam, service='echo_async', proto='tcp', port=7701)
        eq(add(fa, service='echo_async', proto='tcp', port=7701), 1,
           'first id in namespace a')
        eq(add(fb, service='echo_async', proto='tcp', port=7701), 1,
           'first id in namespace b')
        eq(add(fb, service='echo_async', proto='udp', port=7701), 2,
           'second id in namespace b')
        for ns, count in ((na, 3), (nb, 5), (None, 1)):
            for _ in range(count):
                if ns:
                    with ns:
                        s = connect('127.0.0.1', 7701)
                else:
                    s = connect('127.0.0.1', 7701)
                tcp_echo(s, 50)
                held.append((ns, s))
            if ns is nb:
                with nb:
                    udp_send('127.0.0.1', 7701, [10, 20])
        want = {fam: ([init_id], 1), fa: ([1], 3), fb: ([1, 2], 5)}
        for f, (ids, n) in want.items():
            eq([x['id'] for x in listeners(f)], ids, 'a namespace\'s ids')
            wait_until(10, f'{n} connections in a namespace\'s conn-get',
                       lambda: len(conns(f)) == n)
            eq({c['listener-id'] for c in conns(f)}, {ids[0]},
               'listener ids of a namespace\'s connections')
        eq(stats(listeners(fb)[1])[:4],
           [('dgrams_in', 2), ('errors', 0), ('bytes_in', 30),
            ('bytes_out', 30)], 'namespace b\'s UDP listener')
        expect_error('listener 2 of namespace b, from namespace a',
                     lambda: fa.do('listener-del', {'id': 2}), errno.ENOENT,
                     'no such listener in this namespace', bad_attr='.id')
        # Namespace a's listener goes with its connections; b and the
        # initial namespace keep theirs.
        delete(fa, 1)
        for ns, s in held:
            if ns is na:
                expect_closed(s, 'EOF in namespace a')
        eq(conns(fa), [], 'namespace a\'s connections')
        eq(len(conns(fb)), 5, 'namespace b\'s connections')
        eq(len(conns(fam)), 1, 'the initial namespace\'s connections')
        for ns, s in held:
            if ns is not na:
                tcp_echo(s, 20)
    finally:
        for _, s in held:
            s.close()
    delete_all(fb)
    delete_all(fam)
    na.close()
    nb.close()


def run(names):
    fam = family()
    chosen = [t for t in TESTS if not names or t.__name__ in names]
    print('TAP version 13')
    print(f'1..{len(chosen)}')
    failed = 0
    for i, t in enumerate(chosen, 1):
        start = time.monotonic()
        try:
            t(fam)
            print(f'ok {i} ynl.{t.__name__} '
                  f'({time.monotonic() - start:.1f}s)', flush=True)
        except Exception as e:
            failed += 1
            print(f'not ok {i} ynl.{t.__name__}: {e}', flush=True)
            for line in traceback.format_exc().splitlines():
                print(f'# {line}')
            # What it left must not fail the next ones.
            try:
                delete_all(fam)
            except Exception as e2:
                print(f'# cleaning up: {e2}')
    print(f'# {len(chosen) - failed} passed, {failed} failed')
    return 1 if failed else 0


# ---- offline: the library and the specs, without the kernel ----

def offline_family(spec):
    """A YnlFamily that encodes and decodes, on no socket."""
    from lib.ynl import GenlProtocol, NetlinkProtocol
    fam = YnlFamily.__new__(YnlFamily)
    SpecFamily.__init__(fam, spec, '')
    fam.include_raw = False
    fam.process_unknown = False
    proto = GenlProtocol.__new__(GenlProtocol)
    NetlinkProtocol.__init__(proto, fam.yaml['name'],
                             Netlink.NETLINK_GENERIC)
    proto.family_id = 0x42
    proto.genl_family = {'id': 0x42, 'name': fam.yaml['name'], 'mcast': {}}
    fam.nlproto = proto
    return fam


def nla(kind, payload):
    return (struct.pack('HH', 4 + len(payload), kind) + payload +
            b'\0' * (-len(payload) % 4))


def reply(fam, op, attrs_raw):
    """Decode one made-up reply message of op, as ynl.py's _ops does."""
    from lib.ynl import NlMsg
    body = struct.pack('BBH', op.rsp_value, 1, 0) + attrs_raw
    raw = struct.pack('IHHII', 16 + len(body), 0x42, 2, 1, 0) + body
    msg = fam.nlproto.decode(fam, NlMsg(raw, 0, op.attr_set), op)
    return fam._decode(msg.raw_attrs, op.attr_set.name)


def offline(spec, nlctrl_spec):
    fam = offline_family(spec)
    ops = fam.ops
    # Every request the tests make encodes, and decodes back the same.
    for name, vals in (
            ('listener-add', {'service': 'echo_async', 'proto': 'udp',
                              'addr': '::1', 'port': 7, 'backlog': 1,
                              'max-conns': 2, 'idle-timeout': 3}),
            ('listener-del', {'id': 9})):
        op = ops[name]
        msg = fam._encode_message(op, dict(vals), [], 7)
        eq(struct.unpack_from('IHH', msg), (len(msg), 0x42, 5),
           f'{name}: header')
        eq(reply(fam, op, msg[20:]), vals, f'{name}: decoded back')
    # An error as the kernel sends it (capped, with TLVs), read as
    # expect_error() reads it.
    from lib.ynl import NlMsg
    op = ops['listener-add']
    req = fam._encode_message(op, {'service': 'echo_async', 'proto': 'tcp',
                                   'port': 0}, [], 7)
    offs = 20 + len(nla(2, b'echo_async\0')) + len(nla(3, b'\1'))
    tlvs = (nla(1, b'integer out of range\0') +
            nla(2, struct.pack('I', offs)) +
            nla(4, nla(1, struct.pack('I', 3)) +
                nla(4, struct.pack('Q', 1)) +
                nla(5, struct.pack('Q', 65535))) +
            nla(5, struct.pack('I', 3)))
    body = struct.pack('i', -errno.ERANGE) + req[:16] + tlvs
    raw = struct.pack('IHHII', 16 + len(body), 2, 0x300, 7, 0) + body
    nl = NlMsg(raw, 0, attr_space=op.attr_set)
    fam._decode_extack(req, op, nl.extack)
    eq(NlError(nl).error, errno.ERANGE, 'errno of an error')
    eq({k: v for k, v in nl.extack.items() if k != 'miss-type-doc'},
       {'msg': 'integer out of range', 'bad-attr': '.port',
        'policy': u_policy('u16', 1, 65535), 'miss-type': 'proto'},
       'extack as read')
    # A listener as dumped, its counters a multi-attr nest.
    lst = {'id': 3, 'service': 'echo_async', 'proto': 'tcp', 'addr': '::',
           'port': 7, 'backlog': 1, 'max-conns': 2, 'idle-timeout': 0,
           'conns': 0, 'stat': [{'name': 'accepted', 'value': 5},
                                {'name': 'bytes_in', 'value': 1 << 40}]}
    raw = b''.join(fam._add_attr('listener', k, v, None)
                   for k, v in lst.items())
    eq(reply(fam, ops['listener-get'], raw), lst, 'a dumped listener')
    eq(stats(lst), [('accepted', 5), ('bytes_in', 1 << 40)], 'stats()')
    conn = {'listener-id': 3, 'peer': '[::ffff:127.0.0.1]:40000',
            'bytes-in': 1, 'bytes-out': 2, 'age-ms': 3}
    raw = b''.join(fam._add_attr('conn', k, v, None)
                   for k, v in conn.items())
    eq(reply(fam, ops['conn-get'], raw), conn, 'a dumped connection')
    # nlctrl, as family_ops() reads it: an op's flags, one policy entry.
    ctrl = offline_family(nlctrl_spec)
    op_flags = 0x1a     # do, haspol, uns-admin-perm
    raw = nla(1, struct.pack('H', 0x42)) + nla(2, b'ksrv\0') + \
        nla(3, struct.pack('I', 1)) + \
        nla(6, nla(1, nla(1, struct.pack('I', 1)) +
                   nla(2, struct.pack('I', op_flags))))
    fi = reply(ctrl, ctrl.ops['getfamily'], raw)
    eq(fi['ops'], [{1: {'id': 1, 'flags': {'cmd-cap-do', 'cmd-cap-haspol',
                                          'uns-admin-perm'}}}],
       'nlctrl ops')
    raw = nla(8, nla(0, nla(5, nla(1, struct.pack('I', 3)) +
                            nla(4, struct.pack('Q', 1)) +
                            nla(5, struct.pack('Q', 65535)))))
    pol = reply(ctrl, ctrl.ops['getpolicy'], raw)
    eq(kernel_policy([pol]), {5: {'type': 'u16', 'min-value-u': 1,
                                  'max-value-u': 65535}}, 'nlctrl policy')
    add_policy = spec_policy(fam, 'listener-add')
    eq(add_policy[5], {'type': 'u16', 'min-value-u': 1,
                       'max-value-u': 65535}, 'the spec\'s port policy')
    eq(add_policy[3], {'type': 'u8', 'min-value-u': 1, 'max-value-u': 2},
       'the spec\'s proto policy')
    eq(add_policy[2], {'type': 'nul-string', 'max-length': 15},
       'the spec\'s service policy')
    eq(spec_policy(fam, 'listener-del'),
       {1: {'type': 'u32', 'min-value-u': 0, 'max-value-u': (1 << 32) - 1}},
       'the spec\'s listener-del policy')
    # What the guest-side helpers need, without touching the kernel.
    libc()
    eq(peer_of(socket.socket(), '::').startswith('[::ffff:0.0.0.0]:'),
       True, 'peer_of')
    random.randbytes(4)
    json.dumps({})
    subprocess.run([sys.executable, '-S', '-c', ''], check=True)


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--ynl', default=YNL_DIR,
                    help='directory with lib/ (ynl.py) and the specs')
    ap.add_argument('-k', action='append', default=[],
                    help='run this test only (again for more)')
    ap.add_argument('-v', action='store_true', help='print every message')
    ap.add_argument('--offline', action='store_true',
                    help='check the library and specs, without the kernel')
    ap.add_argument('--list-modules', metavar='FILE',
                    help='with --offline: write the modules loaded to FILE')
    args = ap.parse_args()
    VERBOSE = args.v
    load_ynl(args.ynl)
    if not args.offline:
        return run(set(args.k))
    offline(SPEC, NLCTRL_SPEC)
    if args.list_modules:
        with open(args.list_modules, 'w') as fh:
            for name, m in list(sys.modules.items()):
                path = getattr(m, '__file__', None)
                if path and name != '__main__':
                    print(os.path.abspath(path), file=fh)
    print('offline: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
