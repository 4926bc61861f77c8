#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test of the Debian packages: built, installed, purged, nothing
# left. Unlike dkms.sh it installs into the system (dpkg's database,
# /usr/src, /var/lib/dkms, /etc), as a user of the packages would, and
# removes it all again. Nothing is loaded:
#   - while it runs, /usr/sbin/policy-rc.d refuses every start (one that
#     already does is kept; another is put back afterwards), and the
#     package neither enables nor starts kecho.service anyway;
#   - DKMS must not have modprobe_on_install set in /etc/dkms/, and the
#     environment's is unset; its MOK key goes to the temporary directory
#     (one it creates in /var/lib/dkms all the same is removed after);
#   - no module of ours may be in /proc/modules at the end.
# Steps:
#   - make deb in a temporary directory: kecho-dkms and kecho-tools, the
#     version being debian/changelog's;
#   - lintian: no tag but the overrides in debian/ (LINTIAN=0 skips it);
#   - both installed with apt-get; their files where they belong: the DKMS
#     sources with dkms.conf and VERSION of the package's version, kecho
#     added to DKMS, kechoctl (which parses the example's listeners), the
#     man pages (man -w), the unit (systemd-analyze verify, not enabled),
#     the conffile /etc/kecho/listeners.conf, the completion;
#   - the modules built by DKMS for the kernel of KDIR (default: the stock
#     headers, the kernel linux-headers-amd64 depends on), saying the
#     package's version: the package's postinst builds and installs them
#     for every kernel in /lib/modules when the running one has no
#     headers (here: the stock headers' kernel, into updates/dkms/); for a
#     kernel it did not build for (the 6.12 headers unpacked in the cache)
#     this runs dkms build, not install, which would write a
#     /lib/modules/<kver> for a kernel that is not installed;
#   - both purged: no package, no /usr/src/kecho-*, no kecho in DKMS, no
#     /etc/kecho, none of the installed files, no module of ours under
#     /lib/modules. depmod's indexes that the install created in a
#     /lib/modules/<kver> that had none (headers without their kernel)
#     are removed, and any other new file there counts as left behind.
# It refuses to run if either package is installed already: the purge
# would take an admin's installation away. Prints PASS/FAIL per check and
# "N passed, N failed". KEEP=1 keeps the temporary directory.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

need_pkgs dpkg-dev debhelper dh-dkms dkms kmod make gcc man-db systemd
[ "${LINTIAN:-1}" = 0 ] || need_pkgs lintian
kdir=$(stock_kdir)
kver=$(uts_release "$kdir" 2>/dev/null) || true
[ -n "$kver" ] || { log "no kernel tree at $kdir"; exit 1; }
pkgs=(kecho-dkms kecho-tools)
modules=(ksrv echo_sync echo_async)

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}
for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -qv 'not-installed'; then
		log "$p is installed (or not purged): refusing to purge it"
		exit 1
	fi
done
if cat /etc/dkms/framework.conf /etc/dkms/framework.conf.d/* 2>/dev/null |
	grep -Eq '^[[:space:]]*modprobe_on_install=.'; then
	log "/etc/dkms sets modprobe_on_install: DKMS would load the modules"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kecho-deb.XXXXXX")
policy=/usr/sbin/policy-rc.d
own_policy=0
mok_before=$(ls /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>/dev/null || true)
# What /lib/modules/<kver>/ holds before, to find what the test leaves.
lib_modules() {
	find /lib/modules -mindepth 2 -maxdepth 2 2>/dev/null | sort
}
modules_before=$(lib_modules)

# Whatever happened: the packages gone, policy-rc.d as it was.
cleanup() {
	local p
	for p in "${pkgs[@]}"; do
		if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -qv 'not-installed'; then
			log "purging $p"
			apt_get purge "$p" >>"$tmp/cleanup.log" 2>&1 || true
		fi
	done
	if [ "$own_policy" = 1 ]; then
		rm -f "$policy"
		[ ! -e "$tmp/policy-rc.d.saved" ] ||
			mv "$tmp/policy-rc.d.saved" "$policy"
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		log "keeping $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# dpkg waits for a lock another apt may hold; DKMS is kept from loading
# anything and from writing its key outside $tmp.
apt_get() {
	env -u modprobe_on_install DEBIAN_FRONTEND=noninteractive \
		mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
		apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"
}
dkms_q() {
	env -u modprobe_on_install TMPDIR="$tmp" \
		mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
		dkms "$@"
}

if [ -e "$policy" ] && { "$policy" kecho.service start >/dev/null 2>&1; [ $? = 101 ]; }; then
	log "$policy already refuses starts"
else
	[ ! -e "$policy" ] || cp -p "$policy" "$tmp/policy-rc.d.saved"
	own_policy=1
	printf '#!/bin/sh\n# kecho tests/host/deb.sh: no service starts\nexit 101\n' \
		>"$policy"
	chmod 0755 "$policy"
fi

passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1: $2"; failed=$((failed + 1)); }
show() { tail -n "${2:-20}" "$1" | sed 's/^/  /'; }
# check NAME WHY COMMAND...: PASS if the command succeeds.
check() {
	local name=$1 why=$2
	shift 2
	if "$@" >"$tmp/check.log" 2>&1; then
		pass "$name"
	else
		fail "$name" "$why"
		show "$tmp/check.log"
	fi
}

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
log "kecho $version, DKMS build against $kver ($kdir), in $tmp"

start=$SECONDS
if make -s -C "$top" --no-print-directory deb DEBDIR="$tmp/deb" \
	>"$tmp/build.log" 2>&1 &&
	[ -f "$tmp/deb/kecho-dkms_${version}_all.deb" ] &&
	ls "$tmp/deb/kecho-tools_${version}_"*.deb >/dev/null 2>&1; then
	pass "make deb ($((SECONDS - start)) s)"
else
	fail "make deb" "no kecho-dkms and kecho-tools $version in $tmp/deb"
	show "$tmp/build.log" 40
	echo "$passed passed, $((failed + 1)) failed"
	exit 1
fi

if [ "${LINTIAN:-1}" = 0 ]; then
	log "lintian skipped (LINTIAN=0)"
else
	# Info and pedantic tags too: the overrides must cover every tag.
	lintian -I --pedantic "$tmp/deb/"*.changes >"$tmp/lintian.log" 2>&1 || true
	if grep -E '^[EWIPX]: ' "$tmp/lintian.log" >"$tmp/tags.log"; then
		fail lintian "tags beyond debian/*.lintian-overrides"
		show "$tmp/tags.log"
	else
		pass "lintian (-I --pedantic: nothing beyond the overrides)"
	fi
fi

debs=("$tmp/deb/kecho-dkms_${version}_all.deb" "$tmp"/deb/kecho-tools_"${version}"_*.deb)
if apt_get install --no-install-recommends "${debs[@]}" >"$tmp/install.log" 2>&1 &&
	installed kecho-dkms && installed kecho-tools; then
	pass install
else
	fail install "apt-get install of the packages failed"
	show "$tmp/install.log" 40
fi

src=/usr/src/kecho-$upstream
unit=/lib/systemd/system/kecho.service
dkms_src_ok() {
	grep -qx "PACKAGE_VERSION=\"$upstream\"" "$src/dkms.conf" &&
		[ "$(cat "$src/VERSION")" = "$upstream" ] &&
		[ -f "$src/ksrv/Kbuild" ] && [ -f "$src/services/Kbuild" ] &&
		[ -f "$src/include/uapi/linux/ksrv.h" ]
}
dkms_added() {
	dkms status -m kecho -v "$upstream" | grep "^kecho/$upstream"
}
kechoctl_ok() {
	/usr/sbin/kechoctl -h | grep -q 'kechoctl \[-j\] apply'
}
man_ok() {
	man -w 8 kechoctl | grep -qx /usr/share/man/man8/kechoctl.8.gz &&
		man -w 7 ksrv | grep -qx /usr/share/man/man7/ksrv.7.gz
}
unit_ok() {
	local out
	grep -qx 'ExecStart=/usr/sbin/kechoctl apply /etc/kecho/listeners.conf' \
		"$unit" && out=$(systemd-analyze verify "$unit" 2>&1) &&
		echo "$out" && [ -z "$out" ]
}
unit_disabled() {
	local f
	for f in /etc/systemd/system/*.wants/kecho.service; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			echo "$f"
			return 1
		fi
	done
}
conffile_ok() {
	dpkg-query --showformat='${Conffiles}\n' --show kecho-tools |
		grep -q '^ /etc/kecho/listeners.conf '
}
check files.dkms-src "no $src with dkms.conf and VERSION of $upstream" \
	dkms_src_ok
check dkms.added "DKMS does not know kecho/$upstream" dkms_added
check files.kechoctl "no working /usr/sbin/kechoctl" kechoctl_ok
check files.man "man does not find kechoctl(8) and ksrv(7)" man_ok
check files.unit "$unit does not apply /etc/kecho/listeners.conf with /usr/sbin/kechoctl, or does not verify" \
	unit_ok
check unit.not-enabled "the package enabled kecho.service" unit_disabled
check files.conffile "/etc/kecho/listeners.conf is not a conffile" conffile_ok
check files.completion "no bash completion for kechoctl" \
	test -s /usr/share/bash-completion/completions/kechoctl
# The example's listeners, uncommented, are good lines: apply reads and
# checks the whole file before it needs the family (exit 2: a bad line).
sed -n 's/^#\(service \)/\1/p' /etc/kecho/listeners.conf >"$tmp/example.conf"
rc=0
/usr/sbin/kechoctl apply -n "$tmp/example.conf" >"$tmp/example.log" 2>&1 || rc=$?
if [ -s "$tmp/example.conf" ] && [ "$rc" != 2 ]; then
	pass "example listeners parse ($(wc -l <"$tmp/example.conf") lines)"
else
	fail "example listeners" "kechoctl apply -n: exit $rc"
	show "$tmp/example.log"
fi

start=$SECONDS
status=$(dkms status -m kecho -v "$upstream" -k "$kver")
if grep -q ': installed' <<<"$status"; then
	n=0
	for m in "${modules[@]}"; do
		ls "/lib/modules/$kver/updates/dkms/$m.ko"* >/dev/null 2>&1 &&
			n=$((n + 1))
	done
	if [ "$n" = ${#modules[@]} ]; then
		pass "dkms.installed ($kver, by the postinst, into updates/dkms/)"
	else
		fail dkms.installed "$n of the modules in /lib/modules/$kver/updates/dkms"
	fi
elif dkms_q build -m kecho -v "$upstream" -k "$kver" --kernelsourcedir "$kdir" \
	>"$tmp/dkms-build.log" 2>&1 &&
	dkms status -m kecho -v "$upstream" -k "$kver" | grep -q ': built'; then
	pass "dkms.build ($kver, $((SECONDS - start)) s)"
else
	fail dkms.build "dkms build of the packaged sources for $kver failed"
	show "$tmp/dkms-build.log"
	show "/var/lib/dkms/kecho/$upstream/build/make.log" 30 2>/dev/null || true
fi
for m in "${modules[@]}"; do
	ko=$(find "/var/lib/dkms/kecho/$upstream/$kver" -path "*/module/$m.ko*" \
		2>/dev/null | head -n 1)
	v=
	[ -z "$ko" ] || v=$(modinfo -F version "$ko" 2>/dev/null || true)
	if [ "$v" = "$upstream" ]; then
		pass "built.$m (version $v)"
	else
		fail "built.$m" "version '$v' of '$ko', want $upstream"
	fi
done

if apt_get purge "${pkgs[@]}" >"$tmp/purge.log" 2>&1 &&
	! installed kecho-dkms && ! installed kecho-tools &&
	! dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null |
		grep -qv 'not-installed'; then
	pass purge
else
	fail purge "apt-get purge failed, or a package is still known to dpkg"
	show "$tmp/purge.log" 40
fi
left=()
for f in /usr/src/kecho-* /var/lib/dkms/kecho /etc/kecho /usr/sbin/kechoctl \
	"$unit" /usr/share/man/man8/kechoctl.8.gz /usr/share/man/man7/ksrv.7.gz \
	/usr/share/bash-completion/completions/kechoctl \
	/usr/share/doc/kecho-dkms /usr/share/doc/kecho-tools \
	/etc/systemd/system/*.wants/kecho.service \
	/var/lib/systemd/deb-systemd-helper-enabled/kecho.service.dsh-also; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || left+=("$f")
done
for m in "${modules[@]}"; do
	for f in /lib/modules/*/updates/dkms/"$m".ko*; do
		[ ! -e "$f" ] || left+=("$f")
	done
done
# depmod's indexes, new in a /lib/modules/<kver> that had none, go.
while read -r f; do
	d=${f%/*}
	case ${f##*/} in
	modules.*)
		if ! grep -q "^$d/modules\.dep$" <<<"$modules_before"; then
			rm -f "$f"
			continue
		fi ;;
	esac
	left+=("$f")
done < <(comm -13 <(echo "$modules_before") <(lib_modules))
if [ ${#left[@]} = 0 ]; then
	pass "purge left nothing"
else
	fail "purge left nothing" "left: ${left[*]}"
fi

# A key DKMS made in /var/lib/dkms despite the environment is this test's.
for f in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
	if [ -e "$f" ] && ! grep -qx "$f" <<<"$mok_before"; then
		log "removing $f, which DKMS created during the test"
		rm -f "$f"
	fi
done

if grep -Eqs '^(ksrv|echo_sync|echo_async) ' /proc/modules; then
	fail "nothing loaded" "a module of ours is in /proc/modules"
else
	pass "nothing loaded"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
