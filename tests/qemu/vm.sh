#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules and tools, boot a Debian kernel under QEMU (TCG), and
# either run the test suite in the guest (vm.sh test), run it on the debug
# kernel built by debug-kernel.sh (vm.sh test-debug) or on its KCSAN
# sibling (vm.sh test-kcsan), or give the user a
# guest with both servers loaded and ports forwarded (vm.sh run), or run
# the benchmark and write bench/results/ (vm.sh bench; QUICK=1: small;
# QUICK=mem: only memory per idle connection and the profile; QUICK=matrix:
# only the matrix; QUICK=pressure, QUICK=squeeze: only the cells under TCP
# memory pressure or under a RAM squeeze; QUICK=calm: the same cells under
# neither).
#
# The benchmark has two modes (MODE=):
#   wall     (default) 2 vCPUs, wall-clock req/s under TCG: the matrix,
#            memory per idle connection and a profile. Noisy: REPS=
#            repetitions per cell (default 3), summary.md shows min-max.
#   icount   1 vCPU under -icount shift=0,sleep=off: the guest's clock
#            counts instructions (1 ns each), so req/s and MB/s are the
#            inverse of the instructions the whole guest spends per request,
#            the same from run to run whatever the host's load. The
#            headline of summary.md; rows in bench/results/icount.csv.
#            About 50 minutes here (QUICK=1: about 3).
# (-icount with -smp 2 hangs at secondary-CPU bring-up on bookworm's QEMU
# 7.2, hence one vCPU, shared by client and server.)
#
# Nothing is ever loaded into the host's kernel. What is downloaded or
# unpacked is cached under $KECHO_CACHE (default ~/.cache/kecho), keyed by
# kernel version, so a new Debian kernel is picked up by itself.
#
# Environment: KVER (kernel versions to test, e.g. "6.1.0-56-amd64"; default:
# the one linux-headers-amd64 points at and the newest 6.12 of bookworm's
# security archive; bench and run use the first), KECHO_CACHE, VM_TIMEOUT (seconds,
# default 2400; 3600 for test-debug and test-kcsan; 5400 for MODE=icount), VM_SMP (default 2; MODE=icount: 1),
# VM_MEM (default 2G), SUITE_FILTER (run only tests whose name matches this extended regex), TEST_TIMEOUT
# (seconds one test may take in the guest before it counts as hung), FUZZ_MSGS
# (messages ctl.nlfuzz sends, default 100000; 20000 on the debug kernel,
# 50000 on the KCSAN one);
# for the benchmark also MODE, QUICK, REPS (repetitions per cell), DUR
# (measured seconds per run), ECHO_SYNC_PARAMS and ECHO_ASYNC_PARAMS (more
# module parameters for the in-kernel servers, e.g. "zerocopy=1": they
# reach the guest on the kernel command line), BENCH_SERVERS, BENCH_SIZES,
# BENCH_CONNS, BENCH_CHURN (wall: the churn cells' clients, or none) and
# BENCH_CELLS (icount) to measure part of the matrix, TOPO (loopback, the
# default, or nic: the client in a network namespace behind a virtio NIC of
# its own, joined to the server's by NIC_LINK, hub or dgram; results in
# bench/results/nic; NIC_TXTIMER, under MODE=icount the NICs' transmit
# timer in ns, default 1000), BENCH_RFS (wall: 0 leaves loopback's receive
# processing on the sending CPU), BENCH_PROFILE_CONNS (connections of the
# profiled cell, default 256), BENCH_PROFILE_SIZE (its message size,
# default 64), BENCH_SQUEEZE_CPU (the vCPU of QUICK=squeeze's memory hog;
# by default the client's), BENCH_VCPUS (TOPO=nic, wall: S:C, the server
# on S vCPUs and the client on C, default 1:1; VM_SMP defaults to S+C),
# BENCH_NIC_DEFER (TOPO=nic: N:NS, NAPI's software interrupt moderation on
# both NICs, napi_defer_hard_irqs N and gro_flush_timeout NS ns), BENCH_OUT (where results go, default
# bench/results); VM_APPEND, more kernel parameters for the guest (any
# mode), e.g. "clocksource=tsc tsc=reliable"; VM_CPU, QEMU's -cpu (default
# max), e.g. "max,-cx16": without CMPXCHG16B the kernel's per-CPU
# 128-bit cmpxchg (SLUB's fast path) is emulated with interrupts off, which
# 6.12 through the NIC needs under bookworm's TCG (README).
set -euo pipefail

mode=${1:-test}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build
timeout_s=${VM_TIMEOUT:-2400}
bench_mode=${MODE:-wall}
topo=${TOPO:-loopback}
case $topo in
loopback) ;;
# tcp_mem, which the pressure cells lower, exists only in the initial
# network namespace, and the NIC topology's client has one of its own.
nic)	case ${QUICK:-0} in pressure | squeeze | calm)
		echo "vm.sh: QUICK=$QUICK is for TOPO=loopback" >&2; exit 2 ;;
	esac ;;
*) echo "vm.sh: TOPO=$topo: not loopback or nic" >&2; exit 2 ;;
esac
case ${NIC_LINK:-hub} in
dgram | hub) ;;
*) echo "vm.sh: NIC_LINK=$NIC_LINK: not dgram or hub" >&2; exit 2 ;;
esac
if [ -n "${BENCH_NIC_DEFER:-}" ]; then
	[[ $BENCH_NIC_DEFER =~ ^[0-9]+:[0-9]+$ ]] || {
		echo "vm.sh: BENCH_NIC_DEFER=$BENCH_NIC_DEFER: not N:NS" >&2
		exit 2; }
	[ "$topo" = nic ] || {
		echo "vm.sh: BENCH_NIC_DEFER is for TOPO=nic" >&2; exit 2; }
fi
case ${BENCH_VCPUS:-1:1} in
[1-4]:[1-4]) [ -z "${BENCH_VCPUS:-}" ] ||
	{ [ "$topo" = nic ] && [ "$bench_mode" = wall ]; } || {
		echo "vm.sh: BENCH_VCPUS is for TOPO=nic MODE=wall" >&2; exit 2; }
	[ -z "${BENCH_VCPUS:-}" ] || [ -z "${VM_SMP:-}" ] ||
		[ "$VM_SMP" -ge $((${BENCH_VCPUS%:*} + ${BENCH_VCPUS#*:})) ] || {
		echo "vm.sh: VM_SMP=$VM_SMP: fewer vCPUs than BENCH_VCPUS=$BENCH_VCPUS needs" >&2
		exit 2; } ;;
*) echo "vm.sh: BENCH_VCPUS=$BENCH_VCPUS: not S:C, 1 to 4 each" >&2; exit 2 ;;
esac
case $bench_mode in
wall) ;;
# Its full run takes longer than the default timeout on a loaded host.
icount)
	timeout_s=${VM_TIMEOUT:-5400}
	case ${QUICK:-0} in mem | pressure | squeeze | calm)
		echo "vm.sh: QUICK=$QUICK is for MODE=wall" >&2; exit 2 ;;
	esac ;;
*) echo "vm.sh: MODE=$bench_mode: not wall or icount" >&2; exit 2 ;;
esac

# need_pkgs and default_kver, shared with the host-side checks.
. "$top/tests/lib.sh"

# The newest bookworm build of a kernel series, e.g. 6.12.117+deb12-amd64.
newest_kver() {
	local pat="^linux-image-${1//./\\.}\\.[0-9]+\\+deb12-amd64-unsigned\$" v
	v=$(apt-cache search --names-only "$pat" | cut -d' ' -f1 | sort -V |
		tail -n 1)
	if [ -z "$v" ]; then
		apt-get update -qq
		v=$(apt-cache search --names-only "$pat" | cut -d' ' -f1 |
			sort -V | tail -n 1)
	fi
	v=${v#linux-image-}
	echo "${v%-unsigned}"
}

# Headers for $kver: the installed package if there is one, else the
# packages unpacked into the cache (not installed: installing a newer
# kernel's headers would drag in half a system upgrade). The unpacked
# Makefile names its -common directory by absolute path; point it here.
fetch_headers() {
	local dir=$cache/$kver/headers base=${kver%-amd64} mk p
	if [ -d "/usr/src/linux-headers-$kver" ]; then
		kdir=/usr/src/linux-headers-$kver
		return
	fi
	kdir=$dir/usr/src/linux-headers-$kver
	if [ ! -f "$dir/.done" ]; then
		log "fetching linux-headers-$kver"
		rm -rf "$dir" && mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get download -qq \
			"linux-headers-$kver" "linux-headers-$base-common" \
			"linux-kbuild-$base" 2>/dev/null)
		for p in "$dir"/deb/*.deb; do dpkg -x "$p" "$dir"; done
		rm -rf "$dir/deb"
		mk=$kdir/Makefile
		sed -i "s|include /usr/src/|include $dir/usr/src/|" "$mk"
		touch "$dir/.done"
	fi
}

fetch_kernel() {
	local dir=$cache/$kver
	if [ ! -f "$dir/vmlinuz" ]; then
		log "fetching linux-image-$kver"
		rm -rf "$dir/deb" "$dir/root" && mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get download -qq \
			"linux-image-$kver-unsigned" 2>/dev/null)
		dpkg -x "$dir"/deb/*.deb "$dir/root"
		cp "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinuz.tmp"
		mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
		rm -rf "$dir/deb"
	fi
	vmlinuz=$dir/vmlinuz
	kmods=$dir/root/lib/modules/$kver/kernel
}

build_all() {
	log "building modules against $kver"
	# Without the kernel's vmlinux, kbuild notes it skips BTF: expected.
	# Objects of another kernel must not be reused.
	local d
	for d in ksrv services samples; do
		make -s -C "$kdir" M="$top/$d" clean >/dev/null 2>&1 || true
	done
	make -s -C "$top" samples KDIR="$kdir" 2>&1 |
		{ grep -v "^Skipping BTF" || true; } >&2
	log "building tools"
	make -s -C "$top/tools" O="$build/tools" >&2
	make -s -C "$top/bench" O="$build/bench" >&2
}

# copy_with_libs ROOT BINARY: the binary and the libraries it links, at
# the same paths under ROOT.
copy_with_libs() {
	local f
	for f in "$2" $(ldd "$2" | awk '{ for (i = 1; i <= NF; i++)
					    if ($i ~ /^\//) print $i }'); do
		mkdir -p "$1$(dirname "$f")"
		cp -L "$f" "$1$f"
	done
}

# add_python ROOT: for ctl.ynl (tests/guest/ynl_test.py), Debian's python3
# (the host's) with the standard modules the test loads and no others,
# compiled without their sources, python3-yaml's pure-Python loader, the
# kernel's YNL library (tools/net/ynl/lib of linux-source-6.12, unpacked
# as make check unpacks it), its nlctrl spec and ours, in /lib/ynl. The
# modules are those the test loads when it runs --offline on the host;
# the packed tree then runs the same by itself (PYTHONHOME), so that a
# module left out fails here rather than in the guest.
add_python() {
	local root=$1 ksrc py so
	local ynl=$root/lib/ynl list=$build/python-modules
	ksrc=$("$top/tests/qemu/linux-source.sh" 6.12 tools/net/ynl \
		Documentation/netlink)
	py=$(readlink -f /usr/bin/python3)
	mkdir -p "$ynl/lib"
	cp "$ksrc"/tools/net/ynl/lib/{__init__,nlspec,ynl}.py "$ynl/lib/"
	cp "$ksrc/Documentation/netlink/specs/nlctrl.yaml" \
		"$top/Documentation/netlink/specs/ksrv.yaml" "$ynl/"
	cp "$top/tests/guest/ynl_test.py" "$root/tests/"
	copy_with_libs "$root" "$py"
	ln -sf "${py##*/}" "$root/usr/bin/python3"
	/usr/bin/python3 -S -B "$root/tests/ynl_test.py" --ynl "$ynl" \
		--offline --list-modules "$list" >/dev/null
	/usr/bin/python3 "$top/tests/qemu/pack-python.py" "$root" "$list" \
		>"$list.packed"
	for so in $(grep '\.so$' "$list.packed"); do
		copy_with_libs "$root" "${so#"$root"}"
	done
	env -i PYTHONHOME="$root/usr" "$root/usr/bin/python3" -S -B \
		"$root/tests/ynl_test.py" --ynl "$ynl" --offline >/dev/null || {
		log "the initramfs's python3 cannot run ynl_test.py --offline"
		return 1
	}
}

# pack_mod ROOT PATH: the kernel module PATH (under kernel/, no suffix)
# into ROOT/lib/net/, uncompressed, its name appended to the list /init
# loads in order; nothing for one built into the kernel (6.12 builds in
# virtio's core, 6.1 has it as modules).
pack_mod() {
	local root=$1 m=$2 name=${2##*/}
	local builtin=$kmods/../modules.builtin
	[ ! -e "$builtin" ] || ! grep -qx "kernel/$m.ko" "$builtin" || return 0
	if [ -e "$kmods/$m.ko" ]; then
		cp "$kmods/$m.ko" "$root/lib/net/$name.ko"
	else
		xz -dc "$kmods/$m.ko.xz" >"$root/lib/net/$name.ko"
	fi
	echo "$name" >>"$root/lib/net/order"
}

# A busybox initramfs: our modules, tools, the suite, and for run mode and
# the NIC benchmark the virtio NIC's modules, in the order they depend on
# each other.
make_initramfs() {
	local root=$build/initramfs m
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/kecho,lib/net,tests}
	cp /bin/busybox "$root/bin/busybox"
	cp "$top"/ksrv/*.ko "$top"/services/*.ko "$top"/samples/*.ko \
		"$root/lib/kecho/"
	cp "$build"/tools/kecho-client "$build"/tools/kecho-udp "$build"/tools/kecho-urgent \
		"$build"/tools/kecho-discard "$build"/tools/kechoctl \
		"$build"/tools/kecho-as "$build"/tools/kecho-vanish "$build"/tools/kecho-nlfuzz \
		"$build"/tools/modload "$root/bin/"
	cp "$top"/tests/guest/init "$root/init"
	cp "$top"/tests/guest/*.sh "$root/tests/"
	cp "$build"/bench/* "$root/bin/"
	if [ "$mode" = run ] || [ "$topo" = nic ]; then
		for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
			 drivers/virtio/virtio_pci_modern_dev \
			 drivers/virtio/virtio_pci_legacy_dev \
			 drivers/virtio/virtio_pci net/core/failover \
			 drivers/net/net_failover drivers/net/virtio_net; do
			pack_mod "$root" "$m"
		done
	fi
	# veth, for the namespace tests (built in on the debug kernel).
	for m in "${kmods:-/nonexistent}"/drivers/net/veth.ko*; do
		case $m in
		*.xz) xz -dc "$m" >"$root/lib/net/veth.ko" ;;
		*.ko) cp "$m" "$root/lib/net/veth.ko" ;;
		esac
	done
	# jq checks kechoctl's JSON; the benchmark profiles one cell with the
	# host's perf. Both are dynamically linked: their libraries come
	# along, at the same paths.
	copy_with_libs "$root" "$(command -v jq)"
	if [ "$mode" = bench ] && command -v perf >/dev/null; then
		copy_with_libs "$root" "$(command -v perf)"
	fi
	# ethtool, linked the same way: the NICs' transmit doorbells
	# (virtio_net's kicks, ethtool -S).
	if [ "$mode" = bench ] && [ "$topo" = nic ]; then
		copy_with_libs "$root" \
			"$(PATH=$PATH:/usr/sbin:/sbin command -v ethtool)"
	fi
	# python3 for ctl.ynl, in the suite's guests only: the benchmark's
	# and run's boot without unpacking it.
	case $mode in test*) add_python "$root" ;; esac
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) \
		>"$build/initramfs.gz"
}

boot() {
	local append="console=ttyS0 panic=-1 kecho_mode=$mode ${VM_APPEND:-}"
	local vcpus=${BENCH_VCPUS:-1:1}
	local smp=${VM_SMP:-$((${vcpus%:*} + ${vcpus#*:}))} icount=()
	# The icount benchmark: one vCPU (see the top), the clock driven by
	# instructions, and idle time skipped rather than slept (sleep=off).
	if [ "$mode" = bench ] && [ "$bench_mode" = icount ]; then
		smp=1
		icount=(-icount shift=0,sleep=off)
	fi
	local qemu=(qemu-system-x86_64 -accel tcg -cpu "${VM_CPU:-max}"
		    -smp "$smp" "${icount[@]}" -m "${VM_MEM:-2G}"
		    -kernel "$vmlinuz" -initrd "$build/initramfs.gz"
		    -no-reboot)
	if [ "$mode" = run ]; then
		qemu+=(-nographic -append "$append"
		       -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:8080,hostfwd=tcp:127.0.0.1:8081-:8081,hostfwd=udp:127.0.0.1:8081-:8081"
		       -device virtio-net-pci,netdev=n0)
		log "booting; when the guest says it is ready:"
		log "  nc 127.0.0.1 8080   (echo_sync)   nc 127.0.0.1 8081   (echo_async)"
		log "  nc -u 127.0.0.1 8081   (echo_async over UDP)"
		log "  from another terminal, or use the guest's shell here."
		log "leave with 'exit' in the guest shell, or Ctrl-A then X."
		exec "${qemu[@]}"
	fi
	if [ "$mode" = bench ]; then
		[ "$topo" != nic ] || qemu+=($(nic_pair))
		bench "$append" "${qemu[@]}"
		return
	fi
	append="$append quiet loglevel=3 suite_filter=${SUITE_FILTER:-.}"
	append="$append test_timeout=${TEST_TIMEOUT:-600}"
	# The debug kernel fuzzes at a fifth of the speed (about 200 messages
	# a second against 1,000): 20,000 there take 2 minutes of CI's budget.
	local fuzz=100000
	case $mode in test-debug) fuzz=20000 ;; test-kcsan) fuzz=50000 ;; esac
	append="$append fuzz_msgs=${FUZZ_MSGS:-$fuzz}"
	# Every KASAN report, not only the first of the boot, and a log that
	# keeps it: reports go only to the log (quiet), and a million fuzz
	# messages' refusals would wrap the default 256 KiB of it.
	[ "$mode" = test-debug ] &&
		append="$append kasan_multi_shot log_buf_len=16M"
	local serial=$build/serial-$kver.log
	log "booting $kver under TCG (timeout ${timeout_s}s), serial log: $serial"
	set +e
	timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" \
		-display none -serial stdio -monitor none -net none \
		-append "$append" </dev/null | tee "$serial"
	local rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "vm: guest timed out after ${timeout_s}s; serial log kept in $serial"
		echo "0 passed, 1 failed"
		return 1
	fi
	# The guest's last word is its summary; no summary means it died.
	if ! grep -qE '^[0-9]+ passed, [0-9]+ failed' "$serial"; then
		echo "vm: guest ended without a summary (rc $rc); see $serial"
		echo "0 passed, 1 failed"
		return 1
	fi
	# The guest's reboot message follows its summary: repeat the summary
	# so that it is the last line, as test-result readers expect.
	local summary
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$serial" | tail -n 1)
	echo "$summary"
	case $summary in *" 0 failed"*) return 0 ;; *) return 1 ;; esac
}

# nic_pair: QEMU options for TOPO=nic, two virtio-net NICs joined back
# to back, the server's (MAC ...:01) and the client's (...:02), by
# NIC_LINK: hub (the default), two ports of a hub inside QEMU, or dgram, a
# netdev pair over two host UDP ports picked just before boot. The dgram
# pair loses a frame whenever the host's UDP receive buffer is full (1,826
# in 2 minutes of 256 connections, 2.5-3.0 TCP segments per request
# against 2.0-2.9 through the hub, which queues instead). Never stream: it
# once stalled a virtio NIC's transmit queue for good on bookworm's QEMU
# 7.2. Neither end has a vnet header, so the guest checksums and segments
# in software, for every server alike. Under MODE=icount each NIC sends
# from a timer on the guest's clock (tx=timer, NIC_TXTIMER ns, default
# 1000) rather than from QEMU's main loop: a vCPU that idles waiting for
# the main loop has its clock warped to its next timer, so a frame's delay
# became whatever that timer was (64 B x 16, echo_async: 12,757 and 21,208
# req/s in two repetitions).
nic_pair() {
	local tx=
	[ "$bench_mode" != icount ] || tx=",tx=timer,x-txtimer=${NIC_TXTIMER:-1000}"
	case ${NIC_LINK:-hub} in
	dgram)
		local p1 p2
		read -r p1 p2 < <(python3 -c 'import socket as s
a = [s.socket(s.AF_INET, s.SOCK_DGRAM) for _ in "ab"]
for x in a: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in a])')
		local l=local.type=inet,local.host=127.0.0.1,local.port
		local r=remote.type=inet,remote.host=127.0.0.1,remote.port
		echo "-netdev dgram,id=srv,$l=$p1,$r=$p2"
		echo "-netdev dgram,id=cli,$l=$p2,$r=$p1"
		;;
	*)
		echo "-netdev hubport,id=srv,hubid=22"
		echo "-netdev hubport,id=cli,hubid=22"
		;;
	esac
	echo "-device virtio-net-pci,netdev=srv,mac=52:54:00:22:00:01$tx"
	echo "-device virtio-net-pci,netdev=cli,mac=52:54:00:22:00:02$tx"
}

# The benchmark: wall runs on 2 vCPUs, the client on one, the server on
# the other (TOPO=nic: BENCH_VCPUS may give each side more); icount on
# one. Rows the guest prints are sorted into
# bench/results/ by their prefix, then summarized.
# bench APPEND QEMU...: boot()'s kernel command line and QEMU command.
bench() {
	local append=$1 serial=$build/bench.log p start secs qemu_cores
	local out=${BENCH_OUT:-$top/bench/results}
	[ "$topo" = loopback ] || out=${BENCH_OUT:-$top/bench/results/$topo}
	shift
	local qemu=("$@")
	append="$append quiet loglevel=3 bench_quick=${QUICK:-0}"
	append="$append bench_mode=$bench_mode bench_topo=$topo"
	[ -z "${REPS:-}" ] || append="$append bench_reps=$REPS"
	[ -z "${DUR:-}" ] || append="$append bench_dur=$DUR"
	# The kernel hands unknown parameters to /init as environment
	# variables, a quoted value whole (spaces and '=' included).
	for p in ECHO_SYNC_PARAMS ECHO_ASYNC_PARAMS BENCH_SERVERS BENCH_SIZES \
		BENCH_CONNS BENCH_CHURN BENCH_CELLS BENCH_RFS \
		BENCH_PROFILE_CONNS BENCH_PROFILE_SIZE BENCH_SQUEEZE_CPU \
		BENCH_VCPUS BENCH_NIC_DEFER; do
		case ${!p:-} in
		"") ;;
		*\"*) echo "vm.sh: $p must not hold a double quote" >&2
			return 1 ;;
		*) append="$append ${p,,}=\"${!p}\"" ;;
		esac
	done
	log "benchmark ($bench_mode) on $kver under TCG, log: $serial"
	# With NIC_LINK=dgram TOPO=nic's frames cross the host as UDP
	# datagrams: one dropped for a full receive buffer is a lost frame, a
	# TCP retransmission inside (through the hub the count stays 0).
	local udp0 cpu0
	udp0=$(host_udp_rcvbuf_errors)
	children_cpu_s
	cpu0=$REPLY
	start=$SECONDS
	timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" \
		-display none -serial stdio -monitor none -net none \
		-append "$append" </dev/null | tee "$serial" |
		{ grep --line-buffered '^bench:' || true; }
	secs=$((SECONDS - start))
	# Host cores QEMU kept busy: once its busy threads (vCPUs and the I/O
	# thread) outnumber the host's cores, the vCPUs take turns and one
	# more cannot add speed.
	children_cpu_s
	qemu_cores=$(awk -v a="$cpu0" -v b="$REPLY" -v s="$secs" \
		'BEGIN { printf "%.2f", s ? (b - a) / s : 0 }')
	log "the guest ran for ${secs}s, on $qemu_cores of the host's $(nproc) cores"
	grep -q '^bench: done' "$serial" ||
		{ echo "vm: benchmark did not finish; see $serial"; return 1; }
	mkdir -p "$out"
	# The pressure or squeeze cells, one file per kernel; the rest is kept.
	case ${QUICK:-0} in pressure | squeeze | calm)
		bench_rows "$serial" "$QUICK" >"$out/$QUICK-$kver.csv"
		python3 "$top/bench/summarize.py" "$out"
		return ;;
	esac
	if [ "$bench_mode" = icount ]; then
		bench_rows "$serial" icount >"$out/icount.csv"
		[ "$topo" = loopback ] ||
			bench_rows "$serial" nicirq >"$out/icount-nicirq.csv"
		{
			bench_rows "$serial" env
			host_rows 8
		} >"$out/icount-env.csv"
		[ "${QUICK:-0}" = matrix ] ||
			bench_profile_files "$serial" "$out/icount-"
		python3 "$top/bench/summarize.py" "$out"
		return
	fi
	{
		bench_rows "$serial" env
		host_rows 6
	} >"$out/env.csv"
	# QUICK=mem measures memory and the profile again, keeping the matrix;
	# QUICK=matrix the matrix, keeping the rest.
	[ "${QUICK:-0}" = mem ] || bench_rows "$serial" csv >"$out/raw.csv"
	if [ "$topo" != loopback ] && [ "${QUICK:-0}" != mem ]; then
		bench_rows "$serial" nicirq >"$out/nicirq.csv"
		bench_rows "$serial" vcpuidle >"$out/vcpuidle.csv"
		bench_rows "$serial" nictx >"$out/nictx.csv"
	fi
	if [ "${QUICK:-0}" != matrix ]; then
		[ "$topo" != loopback ] ||
			bench_rows "$serial" mem >"$out/memory.csv"
		bench_profile_files "$serial" "$out/"
	fi
	python3 "$top/bench/summarize.py" "$out"
}

# children_cpu_s: into REPLY, the CPU seconds (user and system) of this
# shell's children that have ended, QEMU's among them once it has. Not
# called in a command substitution: a subshell's children are not this
# shell's.
children_cpu_s() {
	LC_ALL=C times >"$build/times.out"
	REPLY=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m")
				t += a[1] * 60 + a[2] } printf "%.2f\n", t }' \
		"$build/times.out")
}

# host_udp_rcvbuf_errors: the host's UDP datagrams dropped so far for a
# full receive buffer.
host_udp_rcvbuf_errors() {
	awk '$1 == "Udp:" && !n { for (i = 2; i <= NF; i++) c[$i] = i; n = 1
				  next }
	     $1 == "Udp:" { print $c["RcvbufErrors"]; exit }' /proc/net/snmp
}

# host_rows N: the env rows the host knows, QEMU's first N arguments
# among them; bench()'s qemu, secs, topo and udp0 (the guest reports
# the topology itself).
host_rows() {
	echo "qemu,$(qemu-system-x86_64 --version | head -n 1)"
	echo "qemu_args,${qemu[*]:1:$1}"
	echo "host_seconds,$secs"
	echo "host_cores,$(nproc)"
	echo "host_cores_used_by_qemu,$qemu_cores"
	echo "host_udp_rcvbuf_errors,$(($(host_udp_rcvbuf_errors) - udp0))"
	[ "$topo" = loopback ] || echo "qemu_net,$(printf '%s\n' "${qemu[@]}" |
		sed -n 's/^\(dgram\|hubport\),id=\([a-z]*\),.*/\1:\2/p' |
		xargs)"
}

# bench_rows SERIAL PREFIX: the guest's rows "PREFIX,..." without it.
bench_rows() {
	grep "^$2," "$1" | sed "s/^$2,//"
}

# bench_profile_files SERIAL PATH: the profiled cell's rows, into
# PATHprofile.csv, PATHperf.txt and PATHcallgraph.txt.
bench_profile_files() {
	{
		echo "server,req_per_s,ctxt_per_req,user_pct,sys_pct,softirq_pct,idle_pct,idle_pct_by_cpu"
		bench_rows "$1" prof
	} >"${2}profile.csv"
	bench_rows "$1" perf >"${2}perf.txt"
	bench_rows "$1" callgraph >"${2}callgraph.txt"
}

need_pkgs qemu-system-x86 busybox-static cpio gzip make gcc libc6-dev \
	linux-headers-amd64 liburing-dev dwarves clang-14 bpftool libbpf-dev \
	libelf-dev zlib1g-dev jq xz-utils python3 python3-yaml
[ "$mode" != bench ] || need_pkgs gnuplot-nox python3 linux-perf ethtool
mkdir -p "$cache" "$build"
if [ "$mode" = test-debug ] || [ "$mode" = test-kcsan ]; then
	# The whole suite takes about 45 minutes on the debug kernel.
	timeout_s=${VM_TIMEOUT:-3600}
	kdir=$("$top/tests/qemu/debug-kernel.sh" "${mode#test-}")
	kver=$(cat "$kdir/include/config/kernel.release")
	vmlinuz=$kdir/arch/x86/boot/bzImage
	build_all
	make_initramfs
	boot
	exit
fi

kvers=${KVER:-"$(default_kver) $(newest_kver 6.12)"}
for kver in $kvers; do
	[ -n "$kver" ] || { log "cannot tell the kernel version"; exit 1; }
	fetch_headers
	fetch_kernel
	build_all
	make_initramfs
	[ "$mode" = test ] || { boot; exit; }
	# Host side first (DKMS and make install against this kernel; the
	# Debian packages built, installed and purged), then one boot; the
	# last line sums every run up. The packages once, with the first
	# kernel: installing and purging them is the same for every kernel,
	# and their DKMS sources are those dkms.sh builds for each.
	for run in host deb guest; do
		if [ $run = deb ]; then
			[ -z "${deb_done:-}" ] || continue
			deb_done=1
		fi
		if [ $run = host ]; then
			KDIR=$kdir "$top/tests/host/dkms.sh"
		elif [ $run = deb ]; then
			KDIR=$kdir "$top/tests/host/deb.sh"
		else
			boot
		fi | tee "$build/summary" || true
		set -- $(tail -n 1 "$build/summary")
		case "$*" in
		[0-9]*" passed, "[0-9]*" failed"*) ;;
		*) set -- 0 passed, 1 failed ;;
		esac
		passed=$((${passed:-0} + $1))
		failed=$((${failed:-0} + $3))
		results="${results:-}$kver $run: $1 passed, $3 failed; "
	done
done
log "${results% }"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
