#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the directory of Debian's linux-source-6.1, unpacked once into
# $KECHO_CACHE/linux-source-<package version> (installing the package if
# missing). debug-kernel.sh builds the debug kernel from it; make check
# runs its scripts/checkpatch.pl.
set -euo pipefail

. "$(dirname "$0")/../lib.sh"

pkg=linux-source-6.1
need_pkgs "$pkg"

srcver=$(dpkg-query -W -f='${Version}' "$pkg")
src=$cache/linux-source-$srcver

# Unpacked into a temporary directory and renamed, so a Makefile means a
# whole tree; the lock keeps two callers from unpacking at once.
if [ ! -f "$src/Makefile" ]; then
	mkdir -p "$cache"
	exec 9>"$cache/.linux-source.lock"
	flock 9
	if [ ! -f "$src/Makefile" ]; then
		log "unpacking $pkg $srcver"
		rm -rf "$src" "$src.tmp" && mkdir -p "$src.tmp"
		tar -xJf "/usr/src/$pkg.tar.xz" -C "$src.tmp" \
			--strip-components=1
		mv "$src.tmp" "$src"
	fi
	exec 9>&-
fi
echo "$src"
