#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The version the modules report, for MODULE_VERSION(), used by the top
# Makefile and ksrv/Kbuild and services/Kbuild alike: what `git describe
# --tags --always --dirty` says of the repository this directory's parent
# is, else the VERSION file at the top of a copy made for DKMS, else
# "unknown".
# git is asked only if ../.git exists, so that a copy inside some other
# repository does not take that one's version. "-dirty" comes from git
# status with GIT_OPTIONAL_LOCKS=0, as describe --dirty would take
# .git/index.lock. Characters other than [A-Za-z0-9._+~-] are dropped,
# which keeps the quoting of -DKECHO_VERSION safe.
cd "$(dirname "$0")/.." || exit 1
v=$({ { test -e .git && d=$(git describe --tags --always) &&
	if GIT_OPTIONAL_LOCKS=0 git status --porcelain -uno | grep -q .; then
		echo "$d-dirty"
	else
		echo "$d"
	fi; } || cat VERSION; } 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9._+~-')
echo "${v:-unknown}"
