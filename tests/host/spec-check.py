#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""spec-check: the "ksrv" family's hand-written kernel tables against the
kernel's generator.

  tests/host/spec-check.py --generated FILE [--spec FILE] [--header FILE]
                           [--netlink FILE]

include/uapi/linux/ksrv.h and ksrv/ksrv_nl_gen.h are the generator's
output, and make check diffs them (tests/host/ynl-regen.sh). What it
cannot render for 6.1 is the per-op op table of a family with dump-only
commands, so ksrv/ksrv_netlink.c writes the policies and the table
itself. This checks:

  kernel   the policies and op table of ksrv/ksrv_netlink.c (struct
           genl_ops, one entry per command) against those the generator
           renders for the spec with split ops (FILE, from ynl-regen.sh -s:
           one entry per command and mode): the same commands, handlers
           (by name: ksrv_nl_gen.h declares them), flags, policy names,
           maxattr, and in each policy the same attributes, each with the
           same type and the same accepted values or length. Both sides are
           C, read with the same regular expressions: best effort, and an
           entry it cannot read is reported rather than passed over.
  spec     what neither the schema nor the generator checks: attribute
           names unique in a set, a pad attribute in a set with u64s (for
           nla_put_u64_64bit()), min and max within the attribute's type.

Prints one line per mismatch and exits 1, or prints "spec-check: ok".
Needs python3-yaml.
"""
import argparse
import ast
import operator
import os
import re
import sys

try:
    import yaml
except ImportError:
    print('spec-check: python3-yaml is missing (apt-get install python3-yaml)')
    sys.exit(1)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

problems = []


def bad(msg):
    problems.append(msg)


def read(path):
    with open(path) as f:
        return f.read()


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


# Integer limits a C expression may name (the kernel's and the libc's).
LIMITS = {
    'U8_MAX': 0xff, 'U16_MAX': 0xffff, 'U32_MAX': 0xffffffff,
    'U64_MAX': 0xffffffffffffffff, 'S8_MAX': 0x7f, 'S16_MAX': 0x7fff,
    'S32_MAX': 0x7fffffff, 'S64_MAX': 0x7fffffffffffffff,
    'INT_MAX': 0x7fffffff, 'UINT_MAX': 0xffffffff,
    'USHRT_MAX': 0xffff, 'UCHAR_MAX': 0xff,
}

OPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.floordiv,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}


def c_eval(expr, names):
    """The value of a C integer constant expression, or ValueError."""
    text = re.sub(r'\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\b', r'\1',
                  expr.strip())
    text = re.sub(r'\b0([0-7]+)\b', r'0o\1', text)

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            raise ValueError(f'unknown name {node.id}')
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            return OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -ev(node.operand)
            if isinstance(node.op, ast.UAdd):
                return ev(node.operand)
            if isinstance(node.op, ast.Invert):
                return ~ev(node.operand)
        raise ValueError(f'cannot evaluate "{expr.strip()}"')
    try:
        return ev(ast.parse(text, mode='eval').body)
    except SyntaxError:
        raise ValueError(f'cannot evaluate "{expr.strip()}"') from None


def split_top(text, sep=','):
    """Splits at the separators outside of brackets."""
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def braced(text, start):
    """The text inside the braces opening at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise ValueError('unbalanced braces')


def fields_of(init):
    """{field: text} of a designated initializer's '.field = value's."""
    fields = {}
    for item in split_top(init):
        m = re.fullmatch(r'\.(\w+)\s*=\s*(.+)', item, re.S)
        if not m:
            raise ValueError(f'cannot read "{" ".join(item.split())}"')
        fields[m.group(1)] = ' '.join(m.group(2).split())
    return fields


# ---- the uAPI header's names, for the C expressions ----

def header_names(path):
    text = strip_comments(read(path))
    names = dict(LIMITS)
    for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.+)$',
                         text, re.M):
        try:
            names[m.group(1)] = c_eval(m.group(2), names)
        except ValueError:
            pass
    for m in re.finditer(r'\benum\s*\w*\s*\{(.*?)\}\s*;', text, re.S):
        value = -1
        for item in split_top(m.group(1)):
            name, _, expr = item.partition('=')
            value = c_eval(expr, names) if expr else value + 1
            names[name.strip()] = value
    return names


# ---- the spec ----

INT_TYPES = {'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64'}


def type_range(t):
    bits = int(t[1:])
    if t[0] == 's':
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return (0, (1 << bits) - 1)


def check_spec(path):
    y = yaml.safe_load(read(path))
    consts = {d['name']: d['value'] for d in y.get('definitions', [])
              if d['type'] == 'const'}

    def limit(value):
        if isinstance(value, int):
            return value
        m = re.fullmatch(r'([su])(8|16|32|64)-(min|max)', value)
        if m:
            return type_range(m.group(1) + m.group(2))[m.group(3) == 'max']
        return consts.get(value)

    for s in y['attribute-sets']:
        names = [a['name'] for a in s['attributes']]
        if len(set(names)) != len(names):
            bad(f"spec: set {s['name']}: an attribute name repeats")
        types = [a.get('type') for a in s['attributes']]
        if 'u64' in types and 'pad' not in types:
            bad(f"spec: set {s['name']}: u64 attributes but no pad "
                "attribute for nla_put_u64_64bit()")
        for a in s['attributes']:
            checks = a.get('checks', {})
            if a.get('type') not in INT_TYPES:
                continue
            lo, hi = type_range(a['type'])
            for k in ('min', 'max'):
                v = limit(checks[k]) if k in checks else None
                if v is not None and not lo <= v <= hi:
                    bad(f"spec: {s['name']}.{a['name']}: {k} {v} does not "
                        f"fit {a['type']}")


# ---- the kernel's policies and ops, in C ----

NLA_INT = {f'NLA_{t.upper()}': t for t in INT_TYPES}


def parse_policy(value, names, ranges):
    """{type, min, max} or {type, len} of one nla_policy initializer,
    with what C leaves out filled in: what the kernel then accepts."""
    v = ' '.join(value.split())
    m = re.fullmatch(r'NLA_POLICY_(\w+)\s*\((.*)\)', v)
    if m:
        kind, args = m.group(1), split_top(m.group(2))
        if kind in ('MIN', 'MAX', 'RANGE') and len(args) == \
           (3 if kind == 'RANGE' else 2):
            p = {'type': args[0]}
            if kind == 'RANGE':
                p['min'], p['max'] = (c_eval(a, names) for a in args[1:])
            else:
                p[kind.lower()] = c_eval(args[1], names)
        elif kind in ('FULL_RANGE', 'FULL_RANGE_SIGNED') and len(args) == 2:
            name = args[1].lstrip('&').strip()
            if name not in ranges:
                raise ValueError(f'no range validation {name}')
            p = dict(ranges[name], type=args[0])
        elif kind in ('NESTED', 'NESTED_ARRAY'):
            p = {'type': 'NLA_' + kind, 'nested': args[-1]}
        elif kind in ('EXACT_LEN', 'MAX_LEN', 'MIN_LEN'):
            p = {'type': 'NLA_BINARY', kind.lower(): c_eval(args[-1], names)}
        else:
            raise ValueError(f'cannot read "{v}"')
    elif v.startswith('{') and v.endswith('}'):
        fields = fields_of(v[1:-1])
        p = {'type': fields.pop('type', 'NLA_UNSPEC')}
        for k, text in fields.items():
            p[k] = c_eval(text, names) if k in ('len', 'min', 'max') \
                else text
    else:
        raise ValueError(f'cannot read "{v}"')
    if p['type'] in NLA_INT:
        lo, hi = type_range(NLA_INT[p['type']])
        p.setdefault('min', lo)
        p.setdefault('max', hi)
    elif 'min' not in p and 'max' not in p:
        p.setdefault('len', 0)
    return p


class KernelC:
    """The range validations, nla_policy arrays and genl ops of a file."""

    def __init__(self, path, names):
        self.file = os.path.basename(path)
        text = strip_comments(read(path))
        self.ranges, self.policies, self.ops = {}, {}, []
        for m in re.finditer(r'struct\s+netlink_range_validation'
                             r'(?:_signed)?\s+(\w+)\s*=\s*(?=\{)', text):
            r = {'min': 0, 'max': 0}        # what C leaves out is 0
            try:
                for k, v in fields_of(braced(text, m.end())).items():
                    r[k] = c_eval(v, names)
            except ValueError as e:
                bad(f'{self.file}: {m.group(1)}: {e}')
            self.ranges[m.group(1)] = r

        for m in re.finditer(r'struct\s+nla_policy\s+(\w+)\s*\[([^\]]*)\]'
                             r'\s*=\s*(?=\{)', text):
            pol, body = m.group(1), braced(text, m.end())
            entries = {}
            keys = list(re.finditer(r'\[\s*(\w+)\s*\]\s*=', body))
            for i, k in enumerate(keys):
                end = keys[i + 1].start() if i + 1 < len(keys) else len(body)
                value = body[k.end():end].strip().rstrip(',').strip()
                try:
                    entries[k.group(1)] = parse_policy(value, names,
                                                       self.ranges)
                except ValueError as e:
                    bad(f'{self.file}: {pol}[{k.group(1)}]: {e}')
            try:
                size = c_eval(m.group(2), names) if m.group(2).strip() \
                    else None
            except ValueError as e:
                bad(f'{self.file}: {pol}: {e}')
                size = None
            self.policies[pol] = {'entries': entries, 'size': size}

        for m in re.finditer(r'struct\s+genl_(small_|split_)?ops\s+(\w+)\s*'
                             r'\[[^\]]*\]\s*=\s*(?=\{)', text):
            for item in split_top(braced(text, m.end())):
                try:
                    if not item.startswith('{'):
                        raise ValueError(f'cannot read "{item}"')
                    fields = fields_of(item.strip()[1:-1])
                except ValueError as e:
                    bad(f'{self.file}: {m.group(2)}: {e}')
                    continue
                flags = {f.strip() for f in fields.get('flags', '').split('|')
                         if f.strip()}
                self.ops.append({
                    'cmd': fields.get('cmd'),
                    'doit': fields.get('doit'),
                    'dumpit': fields.get('dumpit'),
                    'policy': fields.get('policy'),
                    'maxattr': fields.get('maxattr'),
                    'validate': fields.get('validate'),
                    # which modes an entry serves is doit/dumpit's to say
                    'flags': {f for f in flags
                              if not f.startswith('GENL_CMD_CAP_')},
                    # .start, .done and the like
                    'other': {k: v for k, v in fields.items() if k not in (
                        'cmd', 'doit', 'dumpit', 'policy', 'maxattr',
                        'validate', 'flags')},
                })
        if not self.ops:
            bad(f'{self.file}: no genl ops table read')


def by_cmd_and_mode(kc):
    """{cmd: {'do'/'dump': op entry}}; a genl_ops entry serves both."""
    out = {}
    for op in kc.ops:
        for mode, handler in (('do', 'doit'), ('dump', 'dumpit')):
            if op[handler]:
                modes = out.setdefault(op['cmd'], {})
                if mode in modes:
                    bad(f"{kc.file}: two {mode} entries for {op['cmd']}")
                modes[mode] = op
    return out


def describe(p):
    """One policy entry, as a reader would say it."""
    text = p['type']
    if 'min' in p or 'max' in p:
        text += f" {p.get('min', '')}..{p.get('max', '')}"
    for k, v in p.items():
        if k not in ('type', 'min', 'max'):
            text += f' {k} {v}'
    return text


def compare_policy(where, gen, gen_pol, hand, hand_pol, names):
    g = gen.policies.get(gen_pol)
    h = hand.policies.get(hand_pol)
    if g is None or h is None:
        bad(f"{where}: policy {gen_pol if g is None else hand_pol} not "
            f"found in {gen.file if g is None else hand.file}")
        return
    if g['size'] != h['size']:
        bad(f"{where}: {hand_pol} has {h['size']} entries, the "
            f"generator's {g['size']}")
    for attr in sorted(set(g['entries']) | set(h['entries']),
                       key=lambda a: names.get(a, 0)):
        ge, he = g['entries'].get(attr), h['entries'].get(attr)
        if ge == he:
            continue
        if he is None:
            bad(f'{where}: {hand_pol} has no {attr}; the generator: '
                f'{describe(ge)}')
        elif ge is None:
            bad(f"{where}: {hand_pol}[{attr}] is not in the generator's "
                'policy')
        else:
            bad(f'{where}: {hand_pol}[{attr}] is {describe(he)}; the '
                f'generator: {describe(ge)}')


def check_kernel(gen, hand, names):
    gops, hops = by_cmd_and_mode(gen), by_cmd_and_mode(hand)
    for cmd in sorted(set(gops) | set(hops), key=lambda c: names.get(c, 0)):
        where = f'{hand.file}: {cmd}'
        if cmd not in hops:
            bad(f'{where}: no op; the generator has '
                f"{' and '.join(sorted(gops[cmd]))}")
            continue
        if cmd not in gops:
            bad(f'{where}: an op the spec does not have')
            continue
        for mode, handler in (('do', 'doit'), ('dump', 'dumpit')):
            g, h = gops[cmd].get(mode), hops[cmd].get(mode)
            if not g and not h:
                continue
            if not g or not h:
                bad(f"{where}: .{handler} {'set' if h else 'missing'}; "
                    f"the spec {'has no' if h else 'has a'} {mode}")
                continue
            if g[handler] != h[handler]:
                bad(f'{where}: .{handler} is {h[handler]}; the generator '
                    f'names it {g[handler]} (ksrv_nl_gen.h)')
            for k in ('flags', 'validate', 'other'):
                if g[k] != h[k]:
                    bad(f'{where}: {mode}: {k} {h[k] or "unset"}; the '
                        f'generator: {g[k] or "unset"}')
            # A genl_ops entry's policy is its do's and its dump's.
            if (g['policy'] is None) != (h['policy'] is None):
                bad(f"{where}: {mode}: {h['policy'] or 'no policy'}; the "
                    f"generator: {g['policy'] or 'none'} (with none, the "
                    'kernel rejects every attribute)')
                continue
            if g['policy'] is None:
                continue
            if g['policy'] != h['policy']:
                bad(f"{where}: {mode}: policy {h['policy']}; the generator "
                    f"names it {g['policy']} (ksrv_nl_gen.h)")
            try:
                gmax, hmax = (c_eval(x['maxattr'] or '0', names)
                              for x in (g, h))
            except ValueError as e:
                bad(f'{where}: maxattr: {e}')
            else:
                if gmax != hmax:
                    bad(f'{where}: {mode}: .maxattr {hmax}; the generator: '
                        f'{gmax}')
            compare_policy(f'{where} {mode}', gen, g['policy'], hand,
                           h['policy'], names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--generated', required=True,
                    help='the kernel source ynl-gen-c.py renders with '
                    'split ops (tests/host/ynl-regen.sh -s FILE)')
    ap.add_argument('--spec', default=os.path.join(
        TOP, 'Documentation/netlink/specs/ksrv.yaml'))
    ap.add_argument('--header', default=os.path.join(
        TOP, 'include/uapi/linux/ksrv.h'))
    ap.add_argument('--netlink', default=os.path.join(
        TOP, 'ksrv/ksrv_netlink.c'))
    args = ap.parse_args()

    check_spec(args.spec)
    names = header_names(args.header)
    check_kernel(KernelC(args.generated, names),
                 KernelC(args.netlink, names), names)
    for p in problems:
        print(f'spec-check: {p}')
    if problems:
        sys.exit(1)
    print('spec-check: ok')


if __name__ == '__main__':
    main()
