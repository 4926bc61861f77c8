#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# linux-source.sh [SERIES [PATH...]]
#
# Print the directory of Debian's linux-source-SERIES (default 6.1),
# unpacked once into $KECHO_CACHE/linux-source-<package version>
# (installing the package if missing). debug-kernel.sh builds the debug
# kernel from 6.1; make check runs its scripts/checkpatch.pl.
#
# With PATHs (relative to the tree's top), only those are unpacked, into
# $KECHO_CACHE/linux-source-<package version>-part-<hash of the PATHs>:
# make check takes the netlink generator (tools/net/ynl) and its schemas
# (Documentation/netlink) from 6.12 that way, in about 15 s instead of
# the minute and 1.3 GB of a whole tree.
set -euo pipefail

. "$(dirname "$0")/../lib.sh"

series=${1:-6.1}
[ $# -gt 0 ] && shift
pkg=linux-source-$series
need_pkgs "$pkg"

srcver=$(dpkg-query -W -f='${Version}' "$pkg")
if [ $# -gt 0 ]; then
	src=$cache/linux-source-$srcver-part-$(printf '%s\n' "$@" |
		sha256sum | cut -c1-12)
	done=$src/.kecho-paths
else
	src=$cache/linux-source-$srcver
	done=$src/Makefile
fi

# Unpacked into a temporary directory and renamed, so $done means a
# whole tree (or every PATH); the lock keeps two callers from unpacking
# at once.
if [ ! -f "$done" ]; then
	mkdir -p "$cache"
	exec 9>"$cache/.linux-source.lock"
	flock 9
	if [ ! -f "$done" ]; then
		log "unpacking $pkg $srcver${*:+ (${*})}"
		rm -rf "$src" "$src.tmp" && mkdir -p "$src.tmp"
		# The tarball's members are under $pkg/.
		tar -xJf "/usr/src/$pkg.tar.xz" -C "$src.tmp" \
			--strip-components=1 "${@/#/$pkg/}"
		[ $# -eq 0 ] || printf '%s\n' "$@" >"$src.tmp/.kecho-paths"
		mv "$src.tmp" "$src"
	fi
	exec 9>&-
fi
echo "$src"
