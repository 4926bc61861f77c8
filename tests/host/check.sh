#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: static checks, nothing loaded, the tree left as it is.
#   checkpatch  scripts/checkpatch.pl --strict over the C sources and headers
#               of ksrv/, services/, samples/ and include/uapi/, from
#               Debian's linux-source-6.1 (tests/qemu/linux-source.sh)
#   W=1         a build with the kernel's extra warnings (and kernel-doc)
#   sparse      a build with C=2: sparse on every file
#   spec        Documentation/netlink/specs/ksrv.yaml: valid by the kernel's
#               schema for its protocol, include/uapi/linux/ksrv.h and
#               ksrv/ksrv_nl_gen.h what the kernel's generator makes of it
#               (ynl-regen.sh, with tools/net/ynl from linux-source-6.12),
#               and the policies and op table of ksrv/ksrv_netlink.c those
#               it renders (spec-check.py)
#   man         Documentation/man/*: mandoc -T lint and man --warnings
#               (groff, as lintian runs it) say nothing; ksrv.7 has every
#               parameter modinfo gives of the W=1 build's modules, and
#               kechoctl.8 every command kechoctl -h gives
#   unit        kecho.service, as make install-tools writes it (into a
#               temporary prefix), passes systemd-analyze verify
#   completion  dist/kechoctl.bash: shellcheck
#   apply       kechoctl apply against a stand-in for the kernel's family
#               (tests/host/apply.sh, fake-ksrv.c)
#   ynl         tests/guest/ynl_test.py --offline: the kernel's YNL library
#               (tools/net/ynl/lib of 6.12) loads the spec and encodes and
#               decodes what ctl.ynl sends and reads
# The builds run on copies of the sources (make dkms-src) in a temporary
# directory, against the stock headers: the kernel linux-headers-amd64
# depends on, or KDIR. Prints PASS/FAIL per check and "N passed, N failed";
# fails if checkpatch reports any error, warning or check, or if a build
# fails or prints a warning.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

need_pkgs sparse perl make gcc python3-yaml mandoc man-db kmod systemd \
	shellcheck || exit 1
kdir=$(stock_kdir) || exit 1
[ -f "$kdir/Makefile" ] || { log "no kernel tree at $kdir"; exit 1; }
ksrc=$("$top/tests/qemu/linux-source.sh") || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kecho-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

cd "$top" || exit 1
version=$(make -s --no-print-directory version)
files=()
for f in ksrv/*.c ksrv/*.h services/*.c services/*.h \
	include/uapi/linux/*.h samples/*.c; do
	case $f in *.mod.c | ksrv/ksrv_compat.h | ksrv/ksrv_trace.h) continue ;; esac
	files+=("$f")
done

# checkpatch: one line per finding (--terse), all three kinds count. The
# compat header is where version checks belong, so it alone may compare
# LINUX_VERSION_CODE (which checkpatch wants on the left).
checkpatch() {
	perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types "$@"
}
rc=0
checkpatch -f "${files[@]}" >"$tmp/checkpatch.out" 2>&1 || rc=$?
checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
	-f ksrv/ksrv_compat.h >>"$tmp/checkpatch.out" 2>&1 || rc=$?
# A trace header is macros the tracing code expands several times over:
# its own idioms (TP_* arguments opening a line, a field list as a macro
# value, an argument read more than once) are what checkpatch would flag.
checkpatch --ignore OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT,COMPLEX_MACRO,MACRO_ARG_REUSE \
	-f ksrv/ksrv_trace.h >>"$tmp/checkpatch.out" 2>&1 || rc=$?
files+=(ksrv/ksrv_compat.h ksrv/ksrv_trace.h)
e=$(grep -c ': ERROR:' "$tmp/checkpatch.out")
w=$(grep -c ': WARNING:' "$tmp/checkpatch.out")
c=$(grep -c ': CHECK:' "$tmp/checkpatch.out")
summary="${#files[@]} files: $e errors, $w warnings, $c checks"
if [ "$rc" = 0 ] && [ $((e + w + c)) = 0 ]; then
	pass "checkpatch ($summary)"
else
	grep -v '^total: ' "$tmp/checkpatch.out" | sed 's/^/  /'
	fail "checkpatch: $summary"
fi

# A build of a fresh copy with extra make arguments; any warning fails it.
# The copy's make modules builds ksrv/ and then services/, as DKMS does;
# make passes the arguments on to both kbuild runs.
# Without the kernel's vmlinux, kbuild says it skips BTF: not a warning.
check_build() {
	local name=$1 rc n
	# No '=' in the path: make would take M=.../W=1/... for an assignment.
	local dir=$tmp/${name//[^A-Za-z0-9]/_}
	shift
	make -s -C "$top" --no-print-directory dkms-src \
		KECHO_VERSION="$version" DKMS_SOURCE_TREE="$dir" \
		>"$dir.out" 2>&1 &&
		make -s -C "$dir/kecho-$version" --no-print-directory \
		-j"$(nproc)" KDIR="$kdir" "$@" modules >"$dir.out" 2>&1
	rc=$?
	grep -v '^Skipping BTF generation' "$dir.out" >"$dir.diag"
	n=$(grep -cE 'warning:|WARNING:' "$dir.diag")
	if [ "$rc" = 0 ] && [ "$n" = 0 ]; then
		pass "$name build ($* against $kdir: no warnings)"
	else
		sed "s|$dir/kecho-[^/]*/||g; s/^/  /" "$dir.diag"
		fail "$name build: $n warnings, make exit status $rc"
	fi
}
check_build W=1 W=1
check_build sparse C=2

# The samples, W=1 and sparse, against the W=1 build's ksrv symbols.
sdir=$tmp/samples
cp -r "$top/samples" "$sdir"
rm -f "$sdir"/*.o "$sdir"/*.ko "$sdir"/*.mod* "$sdir"/.*.cmd
mkdir -p "$tmp/ksrv" && cp "$top"/ksrv/*.h "$tmp/ksrv/"
if make -s -C "$kdir" M="$sdir" W=1 C=2 \
	KBUILD_EXTRA_SYMBOLS="$tmp/W_1/kecho-$version/ksrv/Module.symvers" \
	modules >"$sdir.out" 2>&1 &&
	! grep -v '^Skipping BTF generation' "$sdir.out" | grep -qE 'warning:|WARNING:'; then
	pass "samples build (W=1 C=2: no warnings)"
else
	sed 's/^/  /' "$sdir.out"
	fail "samples build"
fi

# The netlink spec: valid, and what the kernel's generator makes of it is
# what is committed, byte for byte, as the kernel's ynl-regen.sh keeps it;
# what it cannot render for 6.1 (the op table) agrees with what it renders
# for 6.2+ (split ops).
spec=Documentation/netlink/specs/ksrv.yaml
if "$top/tests/host/ynl-regen.sh" -o "$tmp/ynl" -s "$tmp/ynl-split.c" \
	>"$tmp/ynl.out" 2>&1; then
	stale=()
	while IFS= read -r f; do
		diff -u "$f" "$tmp/ynl/$f" >>"$tmp/ynl.diff" || stale+=("$f")
	done < <(cd "$tmp/ynl" && find . -type f -printf '%P\n' | sort)
	if [ ${#stale[@]} = 0 ]; then
		pass "netlink spec: valid, generated files up to date"
	else
		sed 's/^/  /' "$tmp/ynl.diff"
		fail "netlink spec: ${stale[*]} differ from what $spec gives (make regen)"
	fi
	if /usr/bin/python3 "$top/tests/host/spec-check.py" \
		--generated "$tmp/ynl-split.c" >"$tmp/spec.out" 2>&1; then
		pass "netlink spec: ksrv/ksrv_netlink.c's policies and ops as generated"
	else
		sed 's/^/  /' "$tmp/spec.out"
		fail "netlink spec: ksrv/ksrv_netlink.c's policies and ops"
	fi
else
	grep -v '^\[linux-source.sh\]' "$tmp/ynl.out" | sed 's/^/  /'
	fail "netlink spec: $spec is invalid or the generator failed"
fi

# The man pages: no finding of either linter. Style notes are mandoc's
# taste (and "referenced manual not found" depends on what is installed).
for page in Documentation/man/*.[0-9]; do
	mandoc -T lint -W warning "$page" >"$tmp/man.out" 2>&1
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \
		"$page" 2>>"$tmp/man.out" >/dev/null
	if [ -s "$tmp/man.out" ]; then
		sed 's/^/  /' "$tmp/man.out"
		fail "man page ${page##*/}"
	else
		pass "man page ${page##*/} (mandoc -T lint, man --warnings)"
	fi
done

# Every module parameter in ksrv.7, as ".It Cm name Ns = ...".
missing=()
n=0
for m in ksrv/ksrv services/echo_sync services/echo_async; do
	for p in $(modinfo -F parm "$tmp/W_1/kecho-$version/$m.ko" \
		   2>/dev/null | cut -d: -f1); do
		n=$((n + 1))
		grep -q "^\.It Cm $p Ns " Documentation/man/ksrv.7 ||
			missing+=("${m#*/}.$p")
	done
done
if [ "$n" -gt 0 ] && [ ${#missing[@]} = 0 ]; then
	pass "ksrv.7 documents all $n module parameters"
else
	fail "ksrv.7 lacks parameters: ${missing[*]:-(no modules to read)}"
fi

# Every command of kechoctl -h in kechoctl.8's synopsis.
make -s --no-print-directory tools >"$tmp/tools.out" 2>&1 || cat "$tmp/tools.out"
missing=()
for c in $(build/tools/kechoctl -h | sed -n 's/^  kechoctl \[-j\] \([a-z]*\).*/\1/p'); do
	grep -q "^\.Cm $c\( \|$\)" Documentation/man/kechoctl.8 ||
		missing+=("$c")
done
if [ ${#missing[@]} = 0 ] && [ -x build/tools/kechoctl ]; then
	pass "kechoctl.8 documents every command"
else
	fail "kechoctl.8 lacks commands: ${missing[*]:-(no kechoctl built)}"
fi

# The unit as installed; verify runs "man" for its Documentation=, and
# checks that what it runs exists.
root=$tmp/root
if make -s --no-print-directory install-tools PREFIX="$root" \
	SYSCONFDIR="$root/etc" >"$tmp/unit.out" 2>&1 &&
	MANPATH=$root/share/man systemd-analyze verify \
		"$root/lib/systemd/system/kecho.service" >>"$tmp/unit.out" 2>&1 &&
	! grep -q . "$tmp/unit.out"; then
	pass "kecho.service (systemd-analyze verify)"
else
	sed 's/^/  /' "$tmp/unit.out"
	fail "kecho.service"
fi

if shellcheck -s bash dist/kechoctl.bash >"$tmp/sc.out" 2>&1; then
	pass "bash completion (shellcheck)"
else
	sed 's/^/  /' "$tmp/sc.out"
	fail "bash completion"
fi

if "$top/tests/host/apply.sh" >"$tmp/apply.out" 2>&1; then
	pass "kechoctl apply against fake-ksrv ($(tail -n 1 "$tmp/apply.out"))"
else
	grep -v '^PASS' "$tmp/apply.out" | sed 's/^/  /'
	fail "kechoctl apply against fake-ksrv"
fi

# What ctl.ynl runs in the guest, less the kernel: the spec through the
# kernel's YNL library, as vm.sh packs them.
ynl=$tmp/ynl-lib
if ysrc=$("$top/tests/qemu/linux-source.sh" 6.12 tools/net/ynl \
	Documentation/netlink 2>"$tmp/ynl-src.out") &&
	mkdir -p "$ynl/lib" &&
	cp "$ysrc"/tools/net/ynl/lib/{__init__,nlspec,ynl}.py "$ynl/lib/" &&
	cp "$ysrc/Documentation/netlink/specs/nlctrl.yaml" "$spec" "$ynl/" &&
	/usr/bin/python3 -S -B "$top/tests/guest/ynl_test.py" --ynl "$ynl" \
		--offline >"$tmp/ynl-test.out" 2>&1; then
	pass "ynl_test.py --offline: the kernel's YNL library and the spec"
else
	cat "$tmp/ynl-src.out" "$tmp/ynl-test.out" 2>/dev/null | sed 's/^/  /'
	fail "ynl_test.py --offline"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
