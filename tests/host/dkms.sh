#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test of the packaging: nothing is loaded, and nothing is written
# outside a temporary directory (not /usr/src, /var/lib/dkms or /lib/modules).
#   - the sources as make dkms-install copies them (make dkms-src) are added
#     to and built by DKMS, with --sourcetree/--dkmstree in the temporary
#     directory, for the kernel of KDIR (default: the stock headers, the
#     kernel linux-headers-amd64 depends on), not the running one;
#   - each module must carry the version make version prints (git
#     describe), license GPL, an author, a description, the kernel's
#     vermagic, and for echo_sync/echo_async a description for every parm;
#   - make install INSTALL_MOD_PATH=<tmp> (run in another such copy, so that
#     the tree is left alone) must put the three modules, from ksrv/ and
#     services/, side by side in <tmp>/lib/modules/<kver>/extra/ and
#     depmod them;
#   - make install-tools DESTDIR=<tmp> installs a kechoctl that runs, the
#     man pages, kecho.service running it, listeners.conf, the completion.
# DKMS signs the modules it builds; its MOK key and certificate are pointed
# at the temporary directory, where they would otherwise be created in
# /var/lib/dkms. Prints PASS/FAIL per check and "N passed, N failed".
# KEEP=1 keeps the temporary directory.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

need_pkgs dkms kmod make gcc || exit 1
kdir=$(stock_kdir) || exit 1
kver=$(uts_release "$kdir" 2>/dev/null)
[ -n "$kver" ] || { log "no kernel tree at $kdir"; exit 1; }
# Once: the tree may change while this runs; every copy gets this version.
version=$(make -s -C "$top" --no-print-directory version)
modules=(ksrv echo_sync echo_async)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kecho-dkms.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	log "keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi
log "kecho $version against $kver ($kdir), in $tmp"

passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1: $2"; failed=$((failed + 1)); }
# The tail of a log, indented, after a failure.
show() { tail -n "${2:-20}" "$1" | sed 's/^/  /'; }

# DKMS confined to $tmp. It takes sign_file, mok_* and modprobe_on_install
# from /etc/dkms/framework.conf or, failing that, from the environment.
dkms_t() {
	env -u modprobe_on_install TMPDIR="$tmp" \
		mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
		dkms --sourcetree "$tmp/source" --dkmstree "$tmp/dkms" \
		--installtree "$tmp/modules" "$@"
}

mkdir -p "$tmp/source" "$tmp/dkms"
src=$tmp/source/kecho-$version
if make -s -C "$top" --no-print-directory dkms-src \
	KECHO_VERSION="$version" DKMS_SOURCE_TREE="$tmp/source" \
	>"$tmp/dkms-src.log" 2>&1 &&
	grep -qx "PACKAGE_VERSION=\"$version\"" "$src/dkms.conf" &&
	[ "$(cat "$src/VERSION")" = "$version" ]; then
	pass dkms-src
else
	fail dkms-src "no $src with dkms.conf and VERSION of $version"
	show "$tmp/dkms-src.log"
fi

if dkms_t add -m kecho -v "$version" >"$tmp/add.log" 2>&1; then
	pass dkms.add
else
	fail dkms.add "dkms add failed"
	show "$tmp/add.log"
fi

start=$(date +%s)
if dkms_t build -m kecho -v "$version" -k "$kver" \
	--kernelsourcedir "$kdir" >"$tmp/build.log" 2>&1; then
	pass "dkms.build ($(($(date +%s) - start)) s)"
else
	fail dkms.build "dkms build failed"
	show "$tmp/build.log"
	for f in "$tmp"/dkms/kecho/"$version"/build/make.log \
		"$tmp"/dkms/kecho/"$version"/"$kver"/*/log/make.log; do
		[ -f "$f" ] && show "$f" 30
	done
fi

# One modinfo field of a module, all its values.
field() { modinfo -F "$2" "$1" 2>/dev/null; }

for m in "${modules[@]}"; do
	ko=$(find "$tmp/dkms/kecho/$version/$kver" -path "*/module/$m.ko*" \
		2>/dev/null | head -n 1)
	if [ -z "$ko" ]; then
		fail "built.$m" "no $m.ko in the DKMS tree"
		continue
	fi
	pass "built.$m"

	v=$(field "$ko" version)
	[ "$v" = "$version" ] && pass "version.$m" ||
		fail "version.$m" "version '$v', expected '$version'"
	v=$(field "$ko" license)
	[ "$v" = GPL ] && pass "license.$m" ||
		fail "license.$m" "license '$v', expected 'GPL'"
	v=$(field "$ko" author)
	[ -n "$v" ] && pass "author.$m" || fail "author.$m" "no author"
	v=$(field "$ko" description)
	[ -n "$v" ] && pass "description.$m" ||
		fail "description.$m" "no description"
	v=$(field "$ko" vermagic)
	[ "${v%% *}" = "$kver" ] && pass "vermagic.$m" ||
		fail "vermagic.$m" "vermagic '$v', expected $kver"

	[ "$m" = ksrv ] && continue
	# "name:description (type)"; without a description, "name:(type)".
	n=0 bad=()
	while IFS= read -r p; do
		[ -n "$p" ] || continue
		n=$((n + 1))
		d=${p#*:}
		d=$(sed 's/ *([^()]*)$//; s/^ *//' <<<"$d")
		[ -n "$d" ] || bad+=("${p%%:*}")
	done < <(field "$ko" parm)
	if [ "$n" = 0 ]; then
		fail "parm.$m" "no parameters"
	elif [ ${#bad[@]} -gt 0 ]; then
		fail "parm.$m" "no description for ${bad[*]}"
	else
		pass "parm.$m ($n parameters)"
	fi
done

if dkms_t remove -m kecho -v "$version" --all >"$tmp/remove.log" 2>&1 &&
	[ ! -e "$tmp/dkms/kecho/$version" ]; then
	pass dkms.remove
else
	fail dkms.remove "dkms remove failed or left $tmp/dkms/kecho/$version"
	show "$tmp/remove.log"
fi

# make install, in a copy of its own.
stage=$tmp/stage
if make -s -C "$top" --no-print-directory dkms-src \
	KECHO_VERSION="$version" DKMS_SOURCE_TREE="$tmp/copy" \
	>"$tmp/install.log" 2>&1 &&
	make -C "$tmp/copy/kecho-$version" install KDIR="$kdir" \
	INSTALL_MOD_PATH="$stage" >>"$tmp/install.log" 2>&1; then
	pass make.install
else
	fail make.install "make install failed"
	show "$tmp/install.log"
fi
dir=$stage/lib/modules/$kver
for m in "${modules[@]}"; do
	ko=$(ls "$dir/extra/$m.ko"* 2>/dev/null | head -n 1)
	[ -n "$ko" ] && pass "install.$m" ||
		fail "install.$m" "no $dir/extra/$m.ko"
done
n=$(grep -cE '^extra/(ksrv|echo_sync|echo_async)\.ko' "$dir/modules.dep" \
	2>/dev/null)
[ "$n" = 3 ] && pass install.depmod ||
	fail install.depmod "$dir/modules.dep lists ${n:-none} of the 3 modules"

# kechoctl, from the tree (the DKMS copy has no tools/).
if make -s -C "$top" --no-print-directory install-tools \
	DESTDIR="$tmp/tools-stage" >"$tmp/tools.log" 2>&1 &&
	"$tmp/tools-stage/usr/local/sbin/kechoctl" -h | grep -q "kechoctl \[-j\] list"; then
	pass install.kechoctl
else
	fail install.kechoctl "no working $tmp/tools-stage/usr/local/sbin/kechoctl"
	show "$tmp/tools.log"
fi
missing=()
for f in usr/local/share/man/man8/kechoctl.8 usr/local/share/man/man7/ksrv.7 \
	usr/local/lib/systemd/system/kecho.service etc/kecho/listeners.conf \
	usr/local/share/bash-completion/completions/kechoctl; do
	[ -s "$tmp/tools-stage/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} = 0 ] &&
	grep -qx 'ExecStart=/usr/local/sbin/kechoctl apply /etc/kecho/listeners.conf' \
		"$tmp/tools-stage/usr/local/lib/systemd/system/kecho.service"; then
	pass install.tools-files
else
	fail install.tools-files "missing ${missing[*]:-nothing}, or the unit runs another kechoctl"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
