#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ynl-regen.sh [-o DIR] [-s FILE]
#
# Regenerate what Documentation/netlink/specs/ksrv.yaml drives, with the
# kernel's own generator (tools/net/ynl/ynl-gen-c.py) and schemas
# (Documentation/netlink/*.yaml) from Debian's linux-source-6.12, as the
# kernel's tools/net/ynl/ynl-regen.sh does for its families:
#
#   include/uapi/linux/ksrv.h  ynl-gen-c.py --mode uapi --header (where
#                              the spec's uapi-header, linux/ksrv.h, says)
#   ksrv/ksrv_nl_gen.h         ynl-gen-c.py --mode kernel --header
#                              (kernel-policy per-op: the policies, op
#                              table and handlers that ksrv/ksrv_netlink.c
#                              defines)
#
# The spec is first validated against the schema its 'protocol:' names.
# A file is rewritten only if its content changed (make rebuilds nothing
# otherwise); nothing is written if the generator fails.
#
#   -o DIR   write the files under DIR (DIR/include/..., DIR/ksrv/...) and
#            leave the tree alone: make check diffs them against the
#            committed ones
#   -s FILE  also write the kernel source the generator renders for the
#            spec with its default kernel-policy, split (genl_split_ops,
#            6.2+), which tests/host/spec-check.py compares the
#            hand-written policies and op table of ksrv/ksrv_netlink.c with
#
# Prints the generator's directory on stderr; exits non-zero if the spec
# is invalid or the generator fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

out=$top split=
while getopts o:s: opt; do
	case $opt in
	o) out=$(mkdir -p "$OPTARG" && cd "$OPTARG" && pwd) ;;
	s) split=$OPTARG ;;
	*) exit 2 ;;
	esac
done

spec=Documentation/netlink/specs/ksrv.yaml
# FILE MODE KIND: what ynl-gen-c.py makes of the spec, and where it goes.
generated=(
	"include/uapi/linux/ksrv.h uapi header"
	"ksrv/ksrv_nl_gen.h kernel header"
)

# Debian's python3 with Debian's modules, not whatever python3 is first
# in PATH (a pyenv's, say).
py=/usr/bin/python3
need_pkgs python3 python3-yaml python3-jsonschema
ksrc=$("$top/tests/qemu/linux-source.sh" 6.12 tools/net/ynl \
	Documentation/netlink)
log "generator: $ksrc/tools/net/ynl/ynl-gen-c.py"

work=$(mktemp -d "${TMPDIR:-/tmp}/kecho-ynl.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A kernel tree in miniature: the generator names the spec by its path
# below the directory with MAINTAINERS (the "auto-generated from" line)
# and finds the schemas in the spec's ../ (Documentation/netlink/).
tree=$work/tree
mkdir -p "$tree/Documentation/netlink/specs" "$work/out"
: >"$tree/MAINTAINERS"
cp "$ksrc"/Documentation/netlink/*.yaml "$tree/Documentation/netlink/"
cp "$top/$spec" "$tree/$spec"

# The schema first: its message says what is wrong and where.
"$py" - "$tree/$spec" <<'EOF'
import os
import sys

import jsonschema
import yaml

path = sys.argv[1]
with open(path) as f:
    spec = yaml.safe_load(f)
proto = spec.get('protocol', 'genetlink')
schema_path = os.path.join(os.path.dirname(os.path.dirname(path)),
                           proto + '.yaml')
if not os.path.exists(schema_path):
    sys.exit(f'ynl-regen: no schema for protocol {proto}')
with open(schema_path) as f:
    schema = yaml.safe_load(f)
try:
    jsonschema.validate(spec, schema)
except jsonschema.ValidationError as e:
    where = '.'.join(str(p) for p in e.absolute_path) or '(top)'
    sys.exit(f'ynl-regen: {os.path.basename(path)}: {where}: {e.message} '
             f'(schema {proto}.yaml)')
EOF

gen() {
	(cd "$tree" && "$py" "$ksrc/tools/net/ynl/ynl-gen-c.py" \
		--spec "$tree/$spec" "$@")
}

for g in "${generated[@]}"; do
	read -r file mode kind <<<"$g"
	mkdir -p "$work/out/$(dirname "$file")"
	gen --mode "$mode" "--$kind" -o "$work/out/$file"
done

if [ -n "$split" ]; then
	# kernel-policy removed: the generator's default, split.
	sed -i '/^kernel-policy:/d' "$tree/$spec"
	gen --mode kernel --source -o "$work/out/ksrv_nl_gen.c"
	cp "$work/out/ksrv_nl_gen.c" "$split"
fi

for g in "${generated[@]}"; do
	read -r file _ <<<"$g"
	if ! cmp -s "$work/out/$file" "$out/$file"; then
		mkdir -p "$out/$(dirname "$file")"
		cp "$work/out/$file" "$out/$file"
		[ "$out" != "$top" ] || log "regenerated $file"
	fi
done
