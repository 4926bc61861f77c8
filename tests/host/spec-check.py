#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""spec-check: the "ksrv" netlink spec against the code written by hand.

  tests/host/spec-check.py [--spec FILE] [--header FILE] [--netlink FILE]

Documentation/netlink/specs/ksrv.yaml describes the family; nothing
generates src/uapi/ksrv.h or the kernel's policies from it (the kernels we
build for have no ynl-gen), so this checks that they still agree:

  header   every definition, attribute set and the operations map, in
           order and value, to the header's constants and enums, with the
           C names the spec's prefixes give (as ynl-gen would name them)
  kernel   if src/ksrv_netlink.c exists: each nla_policy array's entries
           have the spec's type, range and length, and each genl op its
           flags, handlers and the request attributes in its policy. This
           reads C with regular expressions: best effort, and a line it
           cannot read is reported rather than passed over.

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


def c_upper(name):
    return name.upper().replace('-', '_')


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


# ---- the header ----

class Header:
    def __init__(self, path):
        text = strip_comments(read(path))
        self.names = dict(LIMITS)
        self.strings = {}
        self.enums = []         # [(enum name or None, [(member, value)])]
        for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.+)$',
                             text, re.M):
            name, val = m.group(1), m.group(2).strip()
            if val.startswith('"'):
                self.strings[name] = val.strip('"')
                continue
            try:
                self.names[name] = c_eval(val, self.names)
            except ValueError:
                pass
        for m in re.finditer(r'\benum\s*(\w*)\s*\{(.*?)\}\s*;', text, re.S):
            members, value = [], -1
            for item in split_top(m.group(2)):
                name, _, expr = item.partition('=')
                name = name.strip()
                value = c_eval(expr, self.names) if expr else value + 1
                self.names[name] = value
                members.append((name, value))
            self.enums.append((m.group(1) or None, members))

    def enum(self, name=None, prefix=None):
        """An enum by its name, or the one whose first member has prefix."""
        for ename, members in self.enums:
            if name and ename == name:
                return members
            if not name and members and members[0][0].startswith(prefix):
                return members
        return None


# ---- the spec ----

class Spec:
    def __init__(self, path):
        self.y = yaml.safe_load(read(path))
        self.family = self.y['name']
        self.consts, self.enums, self.sets, self.attrs = {}, {}, {}, {}
        for d in self.y.get('definitions', []):
            if d['type'] == 'const':
                self.consts[d['name']] = d
            else:
                self.enums[d['name']] = d
        for s in self.y['attribute-sets']:
            self.sets[s['name']] = s
        for s in self.y['attribute-sets']:
            if 'subset-of' in s:
                continue
            s['_prefix'] = c_upper(s.get('name-prefix',
                                         f"{self.family}-a-{s['name']}-"
                                         if s['name'] != self.family else
                                         f"{self.family}-a-"))
            value = 0
            for a in s['attributes']:
                value = a.get('value', value + 1)
                a['_value'] = value
                a['_c'] = s['_prefix'] + c_upper(a['name'])
                a['_set'] = s['name']
                self.attrs[a['_c']] = a
        ops = self.y['operations']
        self.op_prefix = c_upper(ops.get('name-prefix',
                                         f'{self.family}-cmd-'))
        self.ops, value = {}, 0
        for op in ops['list']:
            value = op.get('value', value + 1)
            op['_value'] = value
            op['_c'] = self.op_prefix + c_upper(op['name'])
            self.ops[op['_c']] = op

    def enum_values(self, d):
        start = d.get('value-start', 0)
        out = []
        for i, e in enumerate(d['entries']):
            name = e if isinstance(e, str) else e['name']
            if d['type'] == 'flags':
                value = 1 << (start + i)
            else:
                value = start + i
            if isinstance(e, dict) and 'value' in e:
                value = e['value']
            out.append((name, value))
        return out

    def limit(self, value, names):
        """A check's limit: a number, u16-max and the like, or a const."""
        if isinstance(value, int):
            return value
        m = re.fullmatch(r'([su])(8|16|32|64)-(min|max)', value)
        if m:
            return type_range(m.group(1) + m.group(2))[m.group(3) == 'max']
        if value in self.consts:
            return self.consts[value]['value']
        return c_eval(c_upper(value), names)


def type_range(t):
    bits = int(t[1:])
    if t[0] == 's':
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return (0, (1 << bits) - 1)


INT_TYPES = {'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64'}


def spec_self_check(spec):
    """What the spec says about itself must hold before it is compared."""
    for s in spec.sets.values():
        names = [a['name'] for a in s['attributes']]
        if len(set(names)) != len(names):
            bad(f"spec: set {s['name']}: an attribute name repeats")
        if any(a.get('type') == 'u64' for a in s['attributes']) and \
           'pad' not in [a.get('type') for a in s['attributes']]:
            bad(f"spec: set {s['name']}: u64 attributes but no pad "
                "attribute for nla_put_u64_64bit()")
        for a in s['attributes']:
            where = f"spec: {s['name']}.{a['name']}"
            if a.get('nested-attributes', s['name']) not in spec.sets:
                bad(f"{where}: no attribute set "
                    f"{a['nested-attributes']}")
            if a.get('enum') and a['enum'] not in spec.enums:
                bad(f"{where}: no enum {a['enum']}")
            checks = a.get('checks', {})
            if a.get('type') in INT_TYPES:
                lo, hi = type_range(a['type'])
                for k in ('min', 'max'):
                    v = spec.limit(checks[k], {}) if k in checks else None
                    if v is not None and not lo <= v <= hi:
                        bad(f"{where}: {k} {v} does not fit {a['type']}")
            elif set(checks) & {'min', 'max'}:
                bad(f"{where}: min/max on a {a.get('type')}")
    for op in spec.ops.values():
        aset = spec.sets.get(op.get('attribute-set'))
        for mode in ('do', 'dump'):
            for part in ('request', 'reply'):
                attrs = op.get(mode, {}).get(part, {}).get('attributes', [])
                for name in attrs:
                    if not aset or name not in [a['name'] for a in
                                                aset['attributes']]:
                        bad(f"spec: {op['name']} {mode} {part}: no "
                            f"attribute {name} in set "
                            f"{op.get('attribute-set')}")


def compare_enum(what, want, have):
    """want and have: [(C name, value)], in order."""
    for i in range(max(len(want), len(have))):
        w = want[i] if i < len(want) else None
        h = have[i] if i < len(have) else None
        if w == h:
            continue
        if not h:
            bad(f'{what}: {w[0]} = {w[1]} is missing from the header')
        elif not w:
            bad(f'{what}: the header has {h[0]} = {h[1]}, the spec not')
        else:
            bad(f'{what}: spec {w[0]} = {w[1]}, header {h[0]} = {h[1]}')


def check_counted(what, members, prefix, cnt, mx):
    """Strips and checks the __X_MAX and X_MAX the header ends with."""
    names = dict(members)
    rest = [m for m in members if m[0] not in (cnt, mx)]
    last = rest[-1][1] if rest else 0
    if cnt not in names:
        bad(f'{what}: the header has no {cnt}')
    elif names[cnt] != last + 1:
        bad(f'{what}: {cnt} is {names[cnt]}, not {last + 1}')
    if mx not in names:
        bad(f'{what}: the header has no {mx}')
    elif names[mx] != last:
        bad(f'{what}: {mx} is {names[mx]}, not {last}')
    return rest


def check_header(spec, hdr):
    fam = c_upper(spec.family)
    key = spec.y.get('c-family-name', f'{fam}_FAMILY_NAME')
    if hdr.strings.get(key) != spec.family:
        bad(f'header: {key} is not "{spec.family}"')
    key = spec.y.get('c-version-name', f'{fam}_FAMILY_VERSION')
    if hdr.names.get(key) != spec.y.get('version', 1):
        bad(f"header: {key} is not {spec.y.get('version', 1)}")

    for d in spec.consts.values():
        if 'header' in d:
            continue
        name = c_upper(f"{spec.family}-{d['name']}")
        if hdr.names.get(name) != d['value']:
            bad(f"const {d['name']}: {name} is "
                f"{hdr.names.get(name, 'missing')}, the spec says "
                f"{d['value']}")
    for d in spec.enums.values():
        if 'header' in d:
            continue
        prefix = c_upper(d.get('name-prefix', f"{spec.family}-{d['name']}-"))
        ename = d.get('enum-name',
                      f"{spec.family}-{d['name']}").replace('-', '_')
        members = hdr.enum(name=ename)
        if members is None:
            bad(f"enum {d['name']}: the header has no enum {ename}")
            continue
        if d.get('render-max'):
            members = check_counted(f"enum {d['name']}", members, prefix,
                                    f'__{prefix}MAX', f'{prefix}MAX')
        compare_enum(f"enum {d['name']}", [(prefix + c_upper(n), v)
                                           for n, v in spec.enum_values(d)],
                     members)

    for s in spec.sets.values():
        if 'subset-of' in s:
            continue
        what, prefix = f"attribute set {s['name']}", s['_prefix']
        members = hdr.enum(name=s.get('enum-name'), prefix=prefix)
        if members is None:
            bad(f'{what}: the header has no enum of {prefix}*')
            continue
        members = check_counted(what, members, prefix,
                                c_upper(s.get('attr-cnt-name',
                                              f'__{prefix}MAX')),
                                c_upper(s.get('attr-max-name',
                                              f'{prefix}MAX')))
        compare_enum(what, [(a['_c'], a['_value']) for a in s['attributes']],
                     members)

    ops = spec.y['operations']
    prefix = spec.op_prefix
    members = hdr.enum(name=ops.get('enum-name'), prefix=prefix)
    if members is None:
        bad(f'operations: the header has no enum of {prefix}*')
        return
    members = check_counted('operations', members, prefix,
                            c_upper(ops.get('cmd-cnt-name',
                                            f'__{prefix}MAX')),
                            c_upper(ops.get('cmd-max-name', f'{prefix}MAX')))
    compare_enum('operations', [(op['_c'], op['_value'])
                                for op in spec.ops.values()], members)


# ---- the kernel's policies and ops ----

NLA_TYPES = {
    'u8': {'NLA_U8'}, 'u16': {'NLA_U16'}, 'u32': {'NLA_U32'},
    'u64': {'NLA_U64'}, 's8': {'NLA_S8'}, 's16': {'NLA_S16'},
    's32': {'NLA_S32'}, 's64': {'NLA_S64'}, 'uint': {'NLA_UINT'},
    'sint': {'NLA_SINT'}, 'flag': {'NLA_FLAG'}, 'binary': {'NLA_BINARY'},
    'string': {'NLA_NUL_STRING', 'NLA_STRING'},
    'nest': {'NLA_NESTED', 'NLA_NESTED_ARRAY'},
}


def parse_policy(value, names, ranges):
    """{type, min, max, len} of one nla_policy initializer."""
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
            return p
        if kind in ('FULL_RANGE', 'FULL_RANGE_SIGNED') and len(args) == 2:
            name = args[1].lstrip('&').strip()
            if name not in ranges:
                raise ValueError(f'no range validation {name}')
            return dict(ranges[name], type=args[0])
        if kind in ('NESTED', 'NESTED_ARRAY'):
            return {'type': 'NLA_' + kind}
        if kind in ('EXACT_LEN', 'MAX_LEN', 'MIN_LEN'):
            return {'type': 'NLA_BINARY', 'len': c_eval(args[-1], names)}
        raise ValueError(f'cannot read "{v}"')
    if v.startswith('{'):
        fields = {}
        for item in split_top(v[1:-1]):
            fm = re.fullmatch(r'\.(\w+)\s*=\s*(.+)', item)
            if not fm:
                raise ValueError(f'cannot read "{v}"')
            fields[fm.group(1)] = fm.group(2).strip()
        p = {'type': fields.get('type', 'NLA_UNSPEC')}
        for k in ('len', 'min', 'max'):
            if k in fields:
                p[k] = c_eval(fields[k], names)
        return p
    raise ValueError(f'cannot read "{v}"')


def check_policy_entry(spec, where, a, p, names):
    t = a.get('type')
    if p['type'] not in NLA_TYPES.get(t, set()):
        bad(f"{where}: {p['type']}, the spec's type is {t}")
        return
    checks = a.get('checks', {})
    if t in INT_TYPES:
        lo, hi = type_range(t)
        want = [lo, hi]
        if a.get('enum') in spec.enums:
            vals = [v for _, v in spec.enum_values(spec.enums[a['enum']])]
            want = [min(vals), max(vals)]
        for i, k in enumerate(('min', 'max')):
            if k in checks:
                want[i] = spec.limit(checks[k], names)
        have = [p.get('min', lo), p.get('max', hi)]
        if have != want:
            bad(f'{where}: accepts {have[0]}..{have[1]}, the spec '
                f'{want[0]}..{want[1]}')
    elif t in ('string', 'binary'):
        want = checks.get('max-len', checks.get('exact-len'))
        want = spec.limit(want, names) if want is not None else 0
        if p.get('len', 0) != want:
            bad(f"{where}: length {p.get('len', 0) or 'unlimited'}, the "
                f"spec's max-len {want or 'unlimited'}")


def check_kernel(spec, hdr, path):
    text = strip_comments(read(path))
    names = dict(hdr.names)
    ranges = {}
    for m in re.finditer(r'struct\s+netlink_range_validation(?:_signed)?\s+'
                         r'(\w+)\s*=\s*\{(.*?)\}\s*;', text, re.S):
        r = {'min': 0, 'max': 0}        # what C leaves out is 0
        for item in split_top(m.group(2)):
            fm = re.fullmatch(r'\.(min|max)\s*=\s*(.+)', item, re.S)
            if fm:
                r[fm.group(1)] = c_eval(fm.group(2), names)
        ranges[m.group(1)] = r

    policies = {}
    for m in re.finditer(r'struct\s+nla_policy\s+(\w+)\s*\[[^\]]*\]\s*=\s*'
                         r'(?=\{)', text):
        pol, body = m.group(1), braced(text, m.end())
        policies[pol] = set()
        keys = list(re.finditer(r'\[\s*(\w+)\s*\]\s*=', body))
        for i, k in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(body)
            value = body[k.end():end].strip().rstrip(',').strip()
            where = f'{os.path.basename(path)}: {pol}[{k.group(1)}]'
            a = spec.attrs.get(k.group(1))
            if not a:
                bad(f'{where}: not an attribute of the spec')
                continue
            policies[pol].add(a['_c'])
            try:
                p = parse_policy(value, names, ranges)
            except ValueError as e:
                bad(f'{where}: {e}')
                continue
            check_policy_entry(spec, where, a, p, names)
    if not policies:
        print(f'spec-check: note: no nla_policy arrays in {path}')

    seen = set()
    for m in re.finditer(r'struct\s+genl_(small_|split_)?ops\s+\w+\s*'
                         r'\[[^\]]*\]\s*=\s*(?=\{)', text):
        split = m.group(1) == 'split_'
        for item in split_top(braced(text, m.end())):
            if not item.startswith('{'):
                continue
            fields = {}
            for f in split_top(item[1:-1]):
                fm = re.fullmatch(r'\.(\w+)\s*=\s*(.+)', f, re.S)
                if fm:
                    fields[fm.group(1)] = ' '.join(fm.group(2).split())
            cmd = fields.get('cmd')
            op = spec.ops.get(cmd)
            where = f'{os.path.basename(path)}: op {cmd}'
            if not op:
                bad(f'{where}: not an operation of the spec')
                continue
            seen.add(cmd)
            want = op.get('flags', [])
            for flag, c in (('admin-perm', 'GENL_ADMIN_PERM'),
                            ('uns-admin-perm', 'GENL_UNS_ADMIN_PERM')):
                has = bool(re.search(rf'\b{c}\b', fields.get('flags', '')))
                if (flag in want) != has:
                    bad(f"{where}: {c} {'set' if has else 'missing'}, the "
                        f"spec's flags are {want}")
            mode = None
            for mode_, handler in (('do', 'doit'), ('dump', 'dumpit')):
                has = handler in fields
                # a split op is the do or the dump, not both
                if (mode_ in op) != has and (has or not split):
                    bad(f"{where}: .{handler} {'set' if has else 'missing'}"
                        f", the spec {'has' if mode_ in op else 'has no'} "
                        f"{mode_}")
                if has:
                    mode = mode_
            pol = fields.get('policy')
            if pol and mode and pol in policies:
                req = op.get(mode, {}).get('request', {}).get(
                    'attributes', [])
                aset = spec.sets[op['attribute-set']]
                for name in req:
                    c = aset['_prefix'] + c_upper(name)
                    if c not in policies[pol]:
                        bad(f'{where}: {pol} has no {c}, which the '
                            f'spec\'s {mode} request carries')
    if not seen:
        print(f'spec-check: note: no genl ops read in {path}')
    else:
        for cmd in spec.ops:
            if cmd not in seen:
                bad(f'{os.path.basename(path)}: no op for {cmd}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--spec', default=os.path.join(
        TOP, 'Documentation/netlink/specs/ksrv.yaml'))
    ap.add_argument('--header', default=os.path.join(TOP, 'src/uapi/ksrv.h'))
    ap.add_argument('--netlink', default=os.path.join(
        TOP, 'src/ksrv_netlink.c'))
    args = ap.parse_args()

    spec = Spec(args.spec)
    hdr = Header(args.header)
    spec_self_check(spec)
    check_header(spec, hdr)
    if os.path.exists(args.netlink):
        check_kernel(spec, hdr, args.netlink)
    else:
        print(f'spec-check: note: no {os.path.relpath(args.netlink, TOP)} '
              'yet; checked the header only')
    for p in problems:
        print(f'spec-check: {p}')
    if problems:
        sys.exit(1)
    print('spec-check: ok')


if __name__ == '__main__':
    main()
