# SPDX-License-Identifier: GPL-2.0
# The host-side scripts' helpers (tests/host/*, tests/qemu/*); sourced, not
# run. The guest's are tests/guest/lib.sh.

# Where downloads and builds are kept between runs.
cache=${KECHO_CACHE:-$HOME/.cache/kecho}

# log MESSAGE: to stderr, named after the script, which may print a
# result on stdout.
log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }

# Install the Debian packages given that are missing.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# The kernel whose headers linux-headers-amd64 depends on.
default_kver() {
	dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p'
}

# KDIR if set, else the stock headers (installing linux-headers-amd64).
stock_kdir() {
	if [ -n "${KDIR:-}" ]; then
		echo "$KDIR"
		return
	fi
	need_pkgs linux-headers-amd64
	echo "/usr/src/linux-headers-$(default_kver)"
}

# The release a kernel tree was built as: its utsrelease.h. Debian's
# headers' include/config/kernel.release says 6.1.192, not 6.1.0-56-amd64.
uts_release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$1/include/generated/utsrelease.h"
}
