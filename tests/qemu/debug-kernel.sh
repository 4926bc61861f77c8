#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) a debug guest kernel from Debian's linux-source-6.1:
# tinyconfig + kernel/guest.config + kernel/FLAVOUR.config, FLAVOUR being
# "debug" (KASAN, lockdep, kmemleak, UBSAN; the default) or "kcsan" (the
# data-race detector, which excludes KASAN). Prints the build directory,
# which holds arch/x86/boot/bzImage and serves as KDIR for external modules.
#
# Cached in $KECHO_CACHE/FLAVOUR-<source version>-<config hash>, so a new
# source package or a config change builds anew and nothing else does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

need_pkgs linux-source-6.1 bc bison flex libelf-dev libssl-dev make gcc

flavour=${1:-debug}
fragment=$here/kernel/$flavour.config
[ -f "$fragment" ] || { log "no kernel flavour $flavour ($fragment)"; exit 2; }

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
hash=$(cat "$here/kernel/guest.config" "$fragment" | sha256sum | cut -c1-12)
out=$cache/$flavour-$srcver-$hash

if [ -f "$out/.kecho-done" ]; then
	echo "$out"
	exit 0
fi

src=$("$here/linux-source.sh")

rm -rf "$out" && mkdir -p "$out"
log "configuring $out"
make -s -C "$src" O="$out" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"$here/kernel/guest.config" "$fragment" >/dev/null
make -s -C "$src" O="$out" olddefconfig >/dev/null

# Every option asked for must have survived olddefconfig's dependencies.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=n | CONFIG_DEBUG_INFO_NONE=y) continue ;; CONFIG_*) ;; *) continue ;; esac
	grep -qx "$line" "$out/.config" || { log "not set: $line"; bad=1; }
done < <(cat "$here/kernel/guest.config" "$fragment")
[ $bad = 0 ] || exit 1

log "building (about 10 minutes on 2 cores; progress every 200 objects)"
start=$(date +%s)
make -C "$src" O="$out" -j"$(nproc)" bzImage modules 2>&1 |
	awk -v f="$flavour" '/ CC /{n++; if (n % 200 == 0) { printf "[%s-kernel] %d objects\n", f, n > "/dev/stderr" } }
	     /error:|Error [0-9]/{print > "/dev/stderr"}'
make -s -C "$src" O="$out" -j"$(nproc)" modules_prepare
[ -f "$out/arch/x86/boot/bzImage" ] || { log "build failed"; exit 1; }
log "built in $(($(date +%s) - start)) s"
touch "$out/.kecho-done"
echo "$out"
