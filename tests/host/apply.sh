#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kechoctl apply on the host, against fake-ksrv.so (a stand-in for the
# kernel's family, preloaded into a kechoctl built dynamically): what it
# adds, keeps, replaces and deletes, its output, and that a bad file
# changes nothing. Nothing is loaded and no netlink socket is opened. The
# guest's ctl.apply runs the same against the real family, with clients.
# Run by make check; prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kecho-apply.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1: $2"; failed=$((failed + 1)); }

flags=(-std=c11 -Wall -Wextra -Werror -O2 -I"$top/include/uapi")
if ! gcc "${flags[@]}" -fPIC -shared -o "$tmp/fake-ksrv.so" \
	"$top/tests/host/fake-ksrv.c" -ldl >"$tmp/cc.log" 2>&1 ||
	! gcc "${flags[@]}" -o "$tmp/kechoctl" "$top/tools/kechoctl.c" \
	>>"$tmp/cc.log" 2>&1; then
	sed 's/^/  /' "$tmp/cc.log"
	fail build "fake-ksrv.so or kechoctl"
	echo "$passed passed, $failed failed"
	exit 1
fi

# Two services with their modules' defaults, and one listener that a
# module started at load (autostart), which no file will list.
export FAKE_KSRV_STATE=$tmp/state FAKE_KSRV_SYS=$tmp/sys
for s in echo_sync:1024 echo_async:65536; do
	d=$tmp/sys/${s%%:*}/parameters
	mkdir -p "$d"
	echo 4096 >"$d/backlog"
	echo "${s#*:}" >"$d/max_conns"
	echo 0 >"$d/idle_timeout"
done
printf '2\n1 echo_sync 1 :: 8080 4096 1024 0\n' >"$tmp/state"

ctl() { LD_PRELOAD=$tmp/fake-ksrv.so "$tmp/kechoctl" "$@"; }
# listeners: "id service proto addr port max_conns" a line, as the fake
# holds them.
listeners() { awk 'NR > 1 { print $1, $2, $3, $4, $5, $7 }' "$tmp/state"; }
# expect NAME WANT_STATUS COMMAND...: the status, and the output (both
# streams) in $tmp/out.
expect() {
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name" "exit status $rc, want $want: $(cat "$tmp/out")"
		return 1
	fi
}
# same NAME WANT GOT: pass if equal.
same() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got:
$3
want:
$2"
	fi
}

f=$tmp/listeners.conf
printf '%s\n' '# comment' '' \
	'service echo_async tcp 7601   # every address' \
	'	service echo_sync tcp 7602 addr 127.0.0.1 max_conns 8' \
	'udp 7601' 'tcp 7603 addr 0::0 idle_timeout 600' >"$f"

expect dry-run 0 ctl apply -n "$f" &&
	same dry-run "would delete listener 1: echo_sync tcp [::]:8080
would add a listener: echo_async tcp [::]:7601 ($f:3)
would add a listener: echo_sync tcp 127.0.0.1:7602 ($f:4)
would add a listener: echo_async udp [::]:7601 ($f:5)
would add a listener: echo_async tcp [::]:7603 ($f:6)" "$(cat "$tmp/out")"
same dry-run.unchanged "1 echo_sync 1 :: 8080 1024" "$(listeners)"

expect first 0 ctl apply "$f" &&
	same first "deleted listener 1: echo_sync tcp [::]:8080
added listener 2: echo_async tcp [::]:7601 ($f:3)
added listener 3: echo_sync tcp 127.0.0.1:7602 ($f:4)
added listener 4: echo_async udp [::]:7601 ($f:5)
added listener 5: echo_async tcp [::]:7603 ($f:6)" "$(cat "$tmp/out")"
before=$(listeners)

expect again 0 ctl apply "$f" && same again "" "$(cat "$tmp/out")"
expect again.json 0 ctl -j apply "$f" &&
	same again.json '[
{"action":"keep","id":2,"line":3},
{"action":"keep","id":3,"line":4},
{"action":"keep","id":4,"line":5},
{"action":"keep","id":5,"line":6}
]' "$(cat "$tmp/out")"
expect again.stdin 0 ctl apply - <"$f" && same again.stdin "" "$(cat "$tmp/out")"
same again.unchanged "$before" "$(listeners)"

sed -i '/7603/d' "$f"
expect line-removed 0 ctl apply "$f" &&
	same line-removed "deleted listener 5: echo_async tcp [::]:7603" \
		"$(cat "$tmp/out")"

sed -i 's/max_conns 8/max_conns 9/' "$f"
expect option-changed 0 ctl apply "$f" &&
	same option-changed "replaced listener 3 by 6: echo_sync tcp 127.0.0.1:7602 (max_conns 9, was 8; $f:4)" \
		"$(cat "$tmp/out")"
# Left out, an option is the module's: 1024 for echo_sync.
sed -i 's/ max_conns 9//' "$f"
expect option-default 0 ctl apply "$f" &&
	same option-default "replaced listener 6 by 7: echo_sync tcp 127.0.0.1:7602 (max_conns 1024, was 9; $f:4)" \
		"$(cat "$tmp/out")"
expect option-default.again 0 ctl apply "$f" &&
	same option-default.again "" "$(cat "$tmp/out")"

before=$(listeners)
cp "$f" "$f.bad"
printf '%s\n' 'tcp 7604' 'tcp 7605 max_conns many' 'tcp 7606 backlog 0' \
	'udp 7607 idle_timeout 5' 'tcp 7601 addr ::' 'tcp 7608 addr 1.2.3' \
	'service echo_async' 'tcp 7609 bogus 1' >>"$f.bad"
n=$(wc -l <"$f")
expect bad-lines 2 ctl apply "$f.bad" &&
	same bad-lines "$f.bad:$((n + 2)): max_conns: not a number: many
$f.bad:$((n + 3)): backlog: out of range: 0, must be 1..65535
$f.bad:$((n + 4)): idle_timeout: for TCP listeners only
$f.bad:$((n + 5)): the same protocol, address and port as line 3
$f.bad:$((n + 6)): addr: not an IPv4 or IPv6 address: 1.2.3
$f.bad:$((n + 7)): no protocol: tcp PORT or udp PORT
$f.bad:$((n + 8)): unknown argument: bogus
kechoctl: $f.bad: 7 bad lines, nothing changed" "$(cat "$tmp/out")"
same bad-lines.unchanged "$before" "$(listeners)"

# A line the fake kernel refuses is named; the others are applied.
cp "$f" "$f.bad"
printf '%s\n' 'service nosuch tcp 7606' 'tcp 7605' >>"$f.bad"
expect refused 1 ctl apply "$f.bad" &&
	same refused "$f.bad:$((n + 1)): No such file or directory: no such service: is its module loaded?
added listener 8: echo_async tcp [::]:7605 ($f.bad:$((n + 2)))" \
		"$(sort "$tmp/out")"
expect refused.undone 0 ctl apply "$f" &&
	same refused.undone "deleted listener 8: echo_async tcp [::]:7605" \
		"$(cat "$tmp/out")"

# Refused everything (no CAP_NET_ADMIN): each said, nothing changed.
before=$(listeners)
expect eperm 1 env FAKE_KSRV_EPERM=1 LD_PRELOAD="$tmp/fake-ksrv.so" \
	"$tmp/kechoctl" apply /dev/null &&
	same eperm 3 "$(grep -c '^kechoctl: deleting listener [0-9]* (.*): Operation not permitted$' "$tmp/out")"
same eperm.unchanged "$before" "$(listeners)"

expect empty 0 ctl -j apply /dev/null &&
	same empty '[
{"action":"delete","id":2},
{"action":"delete","id":4},
{"action":"delete","id":7}
]' "$(cat "$tmp/out")"
same empty.none "" "$(listeners)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
