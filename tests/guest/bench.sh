#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The benchmark, run inside the guest by /init (kecho_mode=bench), in one
# of two modes (bench_mode on the kernel command line, set by vm.sh):
#
# wall (default): 2 vCPUs, wall-clock time under TCG. Every cell of the
# matrix runs every server, the order rotated from cell to cell and from
# repetition to repetition. The client is pinned to vCPU 1 and every
# server's work to vCPU 0: user-space servers with taskset, echo_async with
# unbound=1 and the unbound workqueue cpumask, echo_sync's threads with
# taskset once connected. Then memory per idle connection and a profile.
#
# icount: 1 vCPU under QEMU -icount shift=0,sleep=off, where the guest's
# clock is the count of instructions executed (1 ns each), so req/s is the
# inverse of the instructions the whole system (client, TCP stack, server)
# spends per request, free of host noise. Client and server share the one
# CPU: nothing is pinned. Request/response and streaming cells, each server
# REPS times (2 by default: they must agree within 1%).
#
# Rows go to the console prefixed "csv," (echo-bench, wall), "icount,"
# (echo-bench preceded by the repetition, icount), "env," (what the guest
# is: kernel, CPUs, its meltdown status), "mem," (memory per idle
# connection), "prof," and "perf," (the profiled cell).
# pressure (wall, QUICK=pressure): TCP memory pressure, after issue 24's
# report. 128 connections stream byte-checked 16 KiB messages, 64 of them
# slow readers (one second in four), with tcp_rmem and tcp_wmem at
# "4096 16384 65536"; during the measured window (20 s) tcp_mem is "32 64 128"
# pages, below what the sockets want, so TCP is under pressure throughout.
# Then 10 s more without pressure, every connection reading (one that
# echoes nothing then is an error), and a drain: no more sent, how long
# until every connection has all its echoes (a server that believes its
# peer's window closed waits for TCP's backed-off probe). Each server
# REPS times (3), the order rotated. Rows "pressure,...".
# squeeze (wall, QUICK=squeeze): the same cells, tcp_mem left alone, with
# a RAM squeeze instead, from before the connections to the end of the
# measured window: mem-squeeze holds the guest's free memory between the
# page allocator's min and low watermarks (a hog the OOM killer takes,
# restarted, when the kernel needs memory faster than the hog gives it
# back). Rows "squeeze,...".
# calm (wall, QUICK=calm): the same cells under neither, the control the
# other two are read against. Rows "calm,...".
# Usage: bench.sh QUICK   (1: a small matrix, for a smoke run; mem: only
# the memory per idle connection and the profiled cell; matrix: only the
# matrix; pressure, squeeze, calm: only the pressure, squeeze or control
# cells)
# Environment, from the kernel command line: bench_mode (wall, icount),
# bench_reps and bench_dur (repetitions and seconds per run, if not the
# mode's default), echo_sync_params and echo_async_params (more module
# parameters for the in-kernel servers, e.g. "zerocopy=1"), bench_servers,
# bench_sizes, bench_conns, bench_churn (clients of the churn cells, or
# none), bench_cells (part of the matrix), bench_topo, bench_rfs,
# bench_vcpus (S:C, server and client vCPUs), bench_nic_defer (N:NS, NAPI's
# interrupt moderation on the NICs), bench_profile_conns,
# bench_profile_size, bench_squeeze_cpu (the vCPU
# mem-squeeze runs on; by default the client's).
. /tests/lib.sh

PORT=9000
MODE=${bench_mode:-wall}
# The pressure, squeeze and control cells share their streams: which one.
case $1 in pressure | squeeze | calm) STREAM_KIND=$1 ;; *) STREAM_KIND= ;; esac
if [ "$MODE" = icount ]; then
	# mode:size:connections[:depth]. Stream: several messages in flight
	# on one connection, reported in MB/s.
	# churn: connect, echo one message, close, over and over.
	if [ "$1" = 1 ]; then
		CELLS="rr:64:16 stream:65536:1:4 churn:64:16" REPS=2 WARM=0.5
		DUR=1
	else
		CELLS="rr:64:16 rr:64:256 rr:4096:16 rr:4096:256"
		CELLS="$CELLS stream:65536:1:4 stream:1048576:1:4"
		CELLS="$CELLS churn:64:1 churn:64:64 churn:64:256"
		REPS=2 WARM=0.5 DUR=2
	fi
elif [ "$1" = 1 ]; then
	SIZES="64 4096" CONNS="1 256" CHURN=64 REPS=1 WARM=1 DUR=2 IDLE=1000
elif [ "$1" = mem ]; then
	SIZES= CONNS= CHURN= REPS=0 WARM=1 DUR=2 IDLE=10000
elif [ -n "$STREAM_KIND" ]; then
	REPS=3 WARM=2 DUR=20
else
	SIZES="64 512 4096" CONNS="1 16 256 1000" CHURN="1 64 256" REPS=3
	WARM=1 DUR=2 IDLE=10000
fi
[ -z "$bench_reps" ] || REPS=$bench_reps
[ -z "$bench_dur" ] || DUR=$bench_dur
[ -z "$bench_sizes" ] || SIZES=$bench_sizes
[ -z "$bench_conns" ] || CONNS=$bench_conns
[ -z "$bench_churn" ] || CHURN=$bench_churn
[ "$CHURN" != none ] || CHURN=
[ -z "$bench_cells" ] || CELLS=$bench_cells
PROFILE_CONNS=${bench_profile_conns:-256}
PROFILE_SIZE=${bench_profile_size:-64}
[ -z "$bench_squeeze_cpu" ] || export MEM_SQUEEZE_CPU=$bench_squeeze_cpu
SERVERS="echo_sync echo_async peer-threads peer-epoll peer-epoll-mt peer-uring"
SERVERS="$SERVERS peer-uring-mt"
# icount also measures echo_async's design steps, each against the last:
# copying from its task (zerocopy=0 softirq=0), zero-copy from its task
# (softirq=0), and the default, zero-copy and run to completion in softirq.
# wall measures softirq=0 too: on loopback softirq runs on the sender's
# CPU, so the default echoes on the client's vCPU, softirq=0 on vCPU 0.
if [ -n "$STREAM_KIND" ]; then
	# peer-epoll@65536 holds up to 64 KiB per connection outside TCP's
	# accounting, where the others hold 4 KiB (peer-uring up to 8 x 4).
	SERVERS="echo_async echo_async-task echo_async-nozc peer-epoll"
	SERVERS="$SERVERS peer-epoll@65536 peer-uring"
elif [ "$MODE" = wall ]; then
	SERVERS="$SERVERS echo_async-task"
else
	SERVERS="$SERVERS echo_async-copy echo_async-task"
fi
# Peers still being written: measured once they are built into /bin.
for p in peer-splice peer-sockmap; do
	[ -x "/bin/$p" ] && SERVERS="$SERVERS $p"
done
[ -z "$bench_servers" ] || SERVERS=$bench_servers
NSERVERS=$(echo $SERVERS | wc -w)
TOPO=${bench_topo:-loopback}
ADDR=127.0.0.1

# nic_of MAC: the interface with that address.
nic_of() {
	local d
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address")" != "$1" ] || echo "${d##*/}"
	done
}

# nic_irqs IFACE: its interrupt lines (with MSI-X virtioN-input.0,
# -output.0 and -config; without, virtioN).
nic_irqs() {
	local dev
	dev=$(basename "$(readlink "/sys/class/net/$1/device")")
	awk -v v="$dev" '$NF ~ "^" v "(-|$)" { sub(":", "", $1); print $1 }' \
		/proc/interrupts
}

# nic_setup: TOPO=nic's two NICs, joined back to back by QEMU (vm.sh
# nic_pair): the server's (10.22.0.1) here, its interrupts on vCPU 0; the
# client's (10.22.0.2) in the network namespace "cli", its interrupts on
# the client's first vCPU (wall). No RPS or RFS: each side's receive
# processing runs where its NIC's interrupt does, as a deployed server's
# does; RPS over a side's vCPUs only if bench_vcpus gives it several.
nic_setup() {
	local q i
	SRV_NIC=$(nic_of 52:54:00:22:00:01) CLI_NIC=$(nic_of 52:54:00:22:00:02)
	if [ -z "$SRV_NIC" ] || [ -z "$CLI_NIC" ]; then
		echo "bench: nic: no NICs (server '$SRV_NIC', client '$CLI_NIC')"
		return 1
	fi
	SRV_IRQS=$(nic_irqs "$SRV_NIC") CLI_IRQS=$(nic_irqs "$CLI_NIC")
	if [ "$MODE" = wall ]; then
		for i in $SRV_IRQS; do echo 1 >"/proc/irq/$i/smp_affinity"; done
		for i in $CLI_IRQS; do
			printf '%x\n' $((1 << SRV_NCPU)) >"/proc/irq/$i/smp_affinity"
		done
	fi
	for q in /sys/class/net/"$SRV_NIC"/queues/rx-* \
		 /sys/class/net/"$CLI_NIC"/queues/rx-*; do
		echo 0 >"$q/rps_cpus"
		echo 0 >"$q/rps_flow_cnt"
	done
	# Interrupt moderation in software (Documentation/networking/
	# napi.rst): after a poll NAPI keeps the interrupt off for N more
	# polls, each gro_flush_timeout ns later, as a NIC's coalescing would
	# (virtio-net under QEMU 7.2 has none of its own).
	if [ -n "$bench_nic_defer" ]; then
		for i in "$SRV_NIC" "$CLI_NIC"; do
			echo "${bench_nic_defer%:*}" \
				>/sys/class/net/"$i"/napi_defer_hard_irqs
			echo "${bench_nic_defer#*:}" \
				>/sys/class/net/"$i"/gro_flush_timeout
		done
	fi
	[ "$SRV_NCPU" = 1 ] ||
		echo "$SRV_MASK" >/sys/class/net/"$SRV_NIC"/queues/rx-0/rps_cpus
	[ "$CLI_NCPU" = 1 ] ||
		echo "$CLI_MASK" >/sys/class/net/"$CLI_NIC"/queues/rx-0/rps_cpus
	echo 0 >/proc/sys/net/core/rps_sock_flow_entries
	ip addr add 10.22.0.1/24 dev "$SRV_NIC"
	ip link set "$SRV_NIC" up
	ns_start cli
	ip link set "$CLI_NIC" netns "$(cat /tmp/out.ns.cli)"
	ns_run cli ip addr add 10.22.0.2/24 dev "$CLI_NIC"
	ns_run cli ip link set "$CLI_NIC" up
	# The client closes first: its TIME_WAIT ports must be reusable
	# through a NIC too (the default, 2, reuses them on loopback only).
	ns_run cli sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
	ns_run cli sysctl -qw net.ipv4.tcp_tw_reuse=1
	ns_run cli sysctl -qw net.ipv4.tcp_no_metrics_save=1
	ns_run cli ping -c 1 -W 10 10.22.0.1 >/dev/null ||
		{ echo "bench: nic: no link from $CLI_NIC to $SRV_NIC"; return 1; }
	ADDR=10.22.0.1
	echo "env,nic,server $SRV_NIC irqs $(echo $SRV_IRQS), client $CLI_NIC irqs $(echo $CLI_IRQS)"
}

# nic_tx IFACE [NS]: its transmit queue's packets and doorbells (the
# driver's kicks, each a write QEMU emulates) so far, "packets kicks"
# (6.1 names them tx_queue_0_*; tx0_* is looked for too, and a counter
# found under neither is "-", its difference left blank); then the ACKs
# its side's TCP sent alone when a delayed ACK's timer ran out, and its
# tail loss probes.
nic_tx() {
	${2:+ns_run $2} ethtool -S "$1" 2>/dev/null | awk '
		$1 ~ /^tx(_queue_)?0_packets:$/ { p = $2 }
		$1 ~ /^tx(_queue_)?0_kicks:$/ { k = $2 }
		END { printf "%s %s ", p == "" ? "-" : p, k == "" ? "-" : k }'
	${2:+ns_run $2} cat /proc/net/netstat >/tmp/netstat.out
	TCPEXT_FILE=/tmp/netstat.out tcpext DelayedACKs TCPLossProbes
}

# irq_cpus IRQS: interrupts of those lines taken so far on each CPU,
# "cpu0 cpu1 ...".
irq_cpus() {
	awk -v want=" $* " -v n="$(nproc)" '
		{ l = $1; sub(":", "", l) }
		index(want, " " l " ") { for (i = 1; i <= n; i++)
			sum[i] += $(i + 1) }
		END { for (i = 1; i <= n; i++)
			printf "%d%s", sum[i], i < n ? " " : "\n" }' /proc/interrupts
}

# wall: the client on vCPU 1, servers on vCPU 0. icount: one CPU for all.
# TOPO=nic: the client in its network namespace, behind its NIC.
# bench_vcpus S:C (TOPO=nic, wall): the server on vCPUs 0 to S-1 and the
# client on the C after them (default 1:1; vCPUs beyond S+C stay idle).
# A side with several spreads its receive processing over them by RPS
# from its NIC's one queue (QEMU's hub has no multiqueue), the client runs
# a thread per vCPU and the -mt peers a thread per server vCPU.
SRV_NCPU=${bench_vcpus%:*} CLI_NCPU=${bench_vcpus#*:}
[ -n "$bench_vcpus" ] || SRV_NCPU=1 CLI_NCPU=1
SRV_MASK=$(printf %x $(((1 << SRV_NCPU) - 1)))
CLI_MASK=$(printf %x $((((1 << CLI_NCPU) - 1) << SRV_NCPU)))
if [ "$MODE" = wall ]; then
	CLIENT_CPU="taskset $CLI_MASK" SERVER_CPU="taskset $SRV_MASK"
	ASYNC_PIN=unbound=1 RFS=${bench_rfs:-0}
else
	CLIENT_CPU= SERVER_CPU= ASYNC_PIN= RFS=0
fi
if [ "$TOPO" = nic ]; then
	nic_setup || { echo "bench: done"; exit 1; }
	# echo_async's bound workqueue runs where the server NIC's softirq
	# does (vCPU 0, or the server's vCPUs with RPS): the deployed design,
	# no cpumask needed.
	CLIENT_CPU="ns_run cli $CLIENT_CPU" ASYNC_PIN= RFS=0
fi

# Receive flow steering on loopback (Documentation/networking/scaling.rst):
# a packet's receive processing runs on the CPU where its socket was last
# read or accepted, instead of the sending CPU's softirq. A NIC's receive
# queues put it on the server's side; loopback by itself would put every
# server's receive work on the client's vCPU.
rfs_setup() {
	local q=/sys/class/net/lo/queues/rx-0

	echo 32768 >/proc/sys/net/core/rps_sock_flow_entries
	echo 32768 >$q/rps_flow_cnt
	printf '%x\n' $(((1 << $(nproc)) - 1)) >$q/rps_cpus
}
[ "$RFS" = 0 ] || rfs_setup

# peer_buf SERVER: its buffer size, 4096 unless named PEER@BYTES.
peer_buf() {
	case $1 in
	*@*) echo "${1#*@}" ;;
	*) echo 4096 ;;
	esac
}

server_pid=
start_server() {
	case $1 in
	# Their connection limits (1024 for echo_sync) lifted for the
	# 10,000 idle connections. Extra parameters come last, so that
	# they can override ours.
	echo_sync)
		modload "$MODDIR/echo_sync.ko" port=$PORT backlog=4096 \
			max_conns=20000 $echo_sync_params >/tmp/server.out ||
			echo "bench: loading echo_sync failed: $(cat /tmp/server.out)" ;;
	echo_async*)
		case $1 in
		echo_async-copy) variant="zerocopy=0 softirq=0" ;;
		echo_async-task) variant="softirq=0" ;;
		echo_async-nozc) variant="zerocopy=0" ;;
		*) variant= ;;
		esac
		[ -z "$ASYNC_PIN" ] ||
			echo "$SRV_MASK" >/sys/devices/virtual/workqueue/cpumask
		modload "$MODDIR/echo_async.ko" port=$PORT backlog=4096 \
			max_conns=20000 $ASYNC_PIN $variant $echo_async_params \
			>/tmp/server.out ||
			echo "bench: loading echo_async failed: $(cat /tmp/server.out)" ;;
	*)
		# The last server's "listening" must not pass for this one's.
		# PEER@BYTES: a peer with a buffer of BYTES, not 4 KiB.
		rm -f /tmp/server.out
		jobs=
		case $1 in *-mt)
			[ -z "$bench_vcpus" ] || jobs="-j $SRV_NCPU" ;;
		esac
		$SERVER_CPU "${1%@*}" -p $PORT -b "$(peer_buf "$1")" $jobs \
			>/tmp/server.out 2>&1 &
		server_pid=$!
		wait_for_line /tmp/server.out listening 30 ;;
	esac
}

stop_server() {
	case $1 in
	echo_sync | echo_async*)
		modload -r "${1%%-*}" >/dev/null ;;
	*)
		kill "$server_pid"
		wait "$server_pid" || true
		server_pid= ;;
	esac
}

# echo_sync makes its threads as clients connect: pin them once connected.
pin_sync_threads() {
	sleep "$1"
	for p in /proc/[0-9]*; do
		case $(cat "$p/comm" 2>/dev/null) in
		echo_sync*) taskset -p "$SRV_MASK" "${p#/proc/}" \
				>/dev/null 2>&1 ;;
		esac
	done
}

# nth N LIST: the Nth word of LIST, counting from 0, wrapping around.
nth() {
	local n=$1
	shift
	shift $((n % $#))
	echo "$1"
}

# each_server N COMMAND ARGS...: COMMAND SERVER ARGS... for every server,
# starting from the Nth (nth): rotating the order from cell to cell and
# from repetition to repetition.
each_server() {
	local n=$1 cmd=$2 i=0
	shift 2
	while [ $i -lt $NSERVERS ]; do
		"$cmd" "$(nth $((i + n)) $SERVERS)" "$@"
		i=$((i + 1))
	done
}

# run_cell SERVER SIZE CONNS [MODE DEPTH PREFIX]: one echo-bench run; its
# CSV row goes out with "csv," replaced by PREFIX (default "csv,").
run_cell() {
	local srv=$1 size=$2 conns=$3 m=${4:-rr} depth=${5:-1} extra= pin= irq0
	local prefix=${6:-csv,} idle0 tx0
	start_server "$srv"
	[ -n "$server_pid" ] && extra="--server-pid $server_pid"
	case $m in pipe | stream) extra="$extra -d $depth" ;; esac
	if [ "$srv" = echo_sync ] && [ "$MODE" = wall ]; then
		pin_sync_threads $((WARM / 2 + 1)) &
		pin=$!
	fi
	if [ "$TOPO" = nic ]; then
		irq0="$(irq_cpus $SRV_IRQS) $(irq_cpus $CLI_IRQS)"
		tx0="$(nic_tx "$SRV_NIC") $(nic_tx "$CLI_NIC" cli)"
		idle0=$(cpu_idle)
	fi
	$CLIENT_CPU echo-bench -a $ADDR -p $PORT -c "$conns" -m "$m" \
		-s "$size" -w "$WARM" -t "$DUR" -T "$CLI_NCPU" --csv \
		--label "$srv" $extra \
		>/tmp/bench.out 2>&1 ||
		echo "bench: $srv failed: $(grep -v '^csv,' /tmp/bench.out)"
	[ -z "$pin" ] || wait "$pin"
	grep '^csv,' /tmp/bench.out | sed "s/^csv,/$prefix/"
	# Where each NIC's interrupts went during the run, per CPU (the
	# proof that the server's and the client's sides stayed apart), the
	# packets each NIC sent and the doorbells it rang, and each vCPU's
	# idle share, warm-up included: which side was the bottleneck.
	if [ "$TOPO" = nic ]; then
		echo "$irq0 $(irq_cpus $SRV_IRQS) $(irq_cpus $CLI_IRQS)" |
			delta_row "nicirq,$srv,$m,$size,$conns"
		echo "$tx0 $(nic_tx "$SRV_NIC") $(nic_tx "$CLI_NIC" cli)" |
			delta_row "nictx,$srv,$m,$size,$conns"
		echo "vcpuidle,$srv,$m,$size,$conns,$(idle_pct "$idle0" \
			"$(cpu_idle)" | tr ' ' ,)"
	fi
	echo "bench: $(grep -oE '(req/s|MB/s)=[0-9.]*' /tmp/bench.out |
		tr '\n' ' ')$srv $m size=$size conns=$conns"
	stop_server "$srv"
}

# Guest memory per idle connection, client and server sockets included
# (the client's share is the same for every server).
measure_idle() {
	local srv=$1 before after client
	start_server "$srv"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	before=$(mem_available_kb)
	kecho-client -p $PORT -t 600 hold -c "$IDLE" -w /tmp/idle.ready \
		>/tmp/idle.out 2>&1 &
	client=$!
	# Until all are connected, or the client gave up.
	while [ ! -e /tmp/idle.ready ] && kill -0 "$client" 2>/dev/null; do
		usleep 100000
	done
	sleep 2
	after=$(mem_available_kb)
	if [ -e /tmp/idle.ready ]; then
		echo "mem,$srv,$IDLE,$(((before - after) * 1024 / IDLE))"
	else
		echo "bench: $srv: $IDLE idle connections failed: $(cat /tmp/idle.out)"
	fi
	kill "$client" 2>/dev/null
	wait "$client" || true
	rm -f /tmp/idle.ready
	stop_server "$srv"
	sleep 1
}

# cpu_counters: busy-state jiffies of all CPUs and context switches, as
# "user system softirq idle total ctxt".
cpu_counters() {
	awk '$1 == "cpu" { u = $2 + $3; s = $4 + $7; q = $8; i = $5 + $6
			   t = u + s + q + i + $9 }
	     $1 == "ctxt" { c = $2 }
	     END { print u, s, q, i, t, c }' /proc/stat
}

# cpu_idle: each CPU's idle and total jiffies, "idle0 total0 idle1 ...".
cpu_idle() {
	awk '$1 ~ /^cpu[0-9]+$/ { t = 0; for (i = 2; i <= NF; i++) t += $i
				 printf "%d %d ", $5 + $6, t }' /proc/stat
}

# idle_pct BEFORE AFTER: each CPU's idle share between two cpu_idle
# readings, in percent, "cpu0 cpu1 ...".
idle_pct() {
	echo "$1 $2" | awk '{ n = NF / 2
		for (i = 1; i < n; i += 2)
			printf "%.0f%s", 100 * ($(n + i) - $i) /
				($(n + i + 1) - $(i + 1)), i + 2 < n ? " " : "\n" }'
}

# delta_row PREFIX: from "BEFORE... AFTER..." on stdin, two halves of as
# many counters, the row "PREFIX,after - before,..."; a counter that is
# "-" in either half (not found) gives an empty field.
delta_row() {
	awk -v pre="$1" '{ n = NF / 2; line = pre
		for (i = 1; i <= n; i++)
			line = line "," ($i == "-" || $(n + i) == "-" ?
				"" : $(n + i) - $i)
		print line }'
}

# perf_ctl CMD: tell the perf record started by profile_cell to enable
# or disable its events, and wait until it has.
perf_ctl() {
	timeout 60 sh -c "echo $1 >/tmp/perf.ctl && read -r a </tmp/perf.ack &&
		[ \"\$a\" = ack ]"
}

# One cell profiled (64 bytes, 256 connections unless bench_profile_conns
# says otherwise): where the CPU goes (user, system, softirq, idle;
# context switches per request) over 2 s, then a perf profile (cpu-clock
# sampling, all CPUs, kernel and user) over 3 s, all inside the measured
# 12 s. perf is started before the client with its events off and turned
# on through a FIFO: started during the run, it read the kernel's symbols
# under TCG for longer than the run lasted (4 KiB x 1000 through the NIC).
# Under icount the guest's clock counts instructions, so cpu-clock samples
# where the instructions go.
# Rows: "prof,server,req_per_s,ctxt_per_req,user%,sys%,softirq%,idle%,
# idle% of each CPU" (space-separated: on the NIC topology vCPU 0 is the
# server's, 1 the client's) and
# "perf,server,<a line of perf report>", "callgraph,server,<a line>".
profile_cell() {
	local srv=$1 bench pin= perf c0 c1 i0 i1
	start_server "$srv"
	if [ "$srv" = echo_sync ] && [ "$MODE" = wall ]; then
		pin_sync_threads 1 &
		pin=$!
	fi
	rm -f /tmp/perf.ctl /tmp/perf.ack /tmp/perf.data
	mkfifo /tmp/perf.ctl /tmp/perf.ack
	perf record -a -g -F 499 -e cpu-clock -D -1 -o /tmp/perf.data \
		--control fifo:/tmp/perf.ctl,/tmp/perf.ack -- sleep 600 \
		>/dev/null 2>&1 &
	perf=$!
	perf_ctl disable || echo "bench: perf did not start for $srv"
	$CLIENT_CPU echo-bench -a $ADDR -p $PORT -c "$PROFILE_CONNS" \
		-m rr -s "$PROFILE_SIZE" -w 2 -t 12 -T "$CLI_NCPU" \
		>/tmp/bench.out 2>&1 &
	bench=$!
	sleep 3
	c0=$(cpu_counters) i0=$(cpu_idle)
	sleep 2
	c1=$(cpu_counters) i1=$(cpu_idle)
	perf_ctl enable && sleep 3 && perf_ctl disable ||
		echo "bench: perf failed for $srv"
	kill -0 $bench 2>/dev/null ||
		echo "bench: $srv's run ended before its perf profile did"
	kill -INT $perf
	wait $perf || true
	wait $bench || echo "bench: $srv failed: $(cat /tmp/bench.out)"
	[ -z "$pin" ] || wait "$pin"
	echo "$c0 $c1 $(sed -n 's/.* req\/s=\([0-9.]*\) .*/\1/p' /tmp/bench.out)" |
		awk -v srv="$srv" -v per="$(idle_pct "$i0" "$i1")" '
		{ t = $11 - $5; r = $13 * 2
		  printf "prof,%s,%d,%.2f,%.0f,%.0f,%.0f,%.0f,%s\n", srv, $13,
			r ? ($12 - $6) / r : 0, 100 * ($7 - $1) / t,
			100 * ($8 - $2) / t, 100 * ($9 - $3) / t,
			100 * ($10 - $4) / t, per }'
	perf report -i /tmp/perf.data --stdio --no-children --sort dso,sym \
		-g none --percent-limit 1.5 2>/dev/null |
		grep -v '^#' | grep . | head -n 30 | sed "s/^/perf,$srv,/"
	# Where the time goes by call chain: functions with what they call
	# (children included); who calls the heaviest leaf, memset (6.1's is
	# memset_erms, 6.12's memset_orig); and who runs with interrupts off,
	# whose samples land where they are turned back on.
	perf report -i /tmp/perf.data --stdio --children --sort sym \
		-g none --percent-limit 3 2>/dev/null |
		grep -v '^#' | grep . | head -n 60 | sed "s/^/callgraph,$srv,/"
	perf report -i /tmp/perf.data --stdio --no-children --sort sym \
		-S memset_erms,memset_orig,_raw_spin_unlock_irqrestore \
		-g caller,0.5,callee,function,percent \
		2>/dev/null | grep -v '^#' | grep . | head -n 300 |
		sed "s/^/callgraph,$srv,/"
	# Each vCPU alone: on the NIC topology vCPU 0 is the server's side
	# and 1 the client's, and a server can cost its client more.
	[ "$(nproc)" = 1 ] || for c in $(seq 0 $(($(nproc) - 1))); do
		echo "callgraph,$srv,vCPU $c alone (self time):"
		perf report -i /tmp/perf.data --stdio --no-children --sort sym \
			--cpu "$c" -g none --percent-limit 1 2>/dev/null |
			grep -v '^#' | grep . | head -n 25 |
			sed "s/^/callgraph,$srv,/"
	done
	rm -f /tmp/perf.data
	stop_server "$srv"
}

# profile_cells WHAT SERVER...: the profiled cell for each server.
profile_cells() {
	local what=$1 srv
	shift
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	echo "bench: profiling $PROFILE_SIZE bytes x $PROFILE_CONNS" \
		"connections${what:+ $what}"
	for srv in "$@"; do
		profile_cell "$srv"
	done
}

# What the guest is, for the results: its CPU's meltdown status says
# whether the kernel isolates its page tables (KPTI), which would change
# the cost of every system call; TCG's -cpu max reports an AMD CPU, not
# affected.
env_rows() {
	echo "env,mode,$MODE"
	echo "env,kernel,$(uname -r)"
	echo "env,cpus,$(nproc)"
	echo "env,cpu_vendor,$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "env,cpu_model,$(sed -n 's/^model name[[:space:]]*: //p' \
		/proc/cpuinfo | head -n 1)"
	echo "env,meltdown,$(cat /sys/devices/system/cpu/vulnerabilities/meltdown)"
	echo "env,clocksource,$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "env,servers,$SERVERS"
	echo "env,reps,$REPS"
	echo "env,warmup_s,$WARM"
	echo "env,duration_s,$DUR"
	echo "env,rfs,$RFS"
	echo "env,topo,$TOPO"
	echo "env,nic_defer,${bench_nic_defer:-none}"
	echo "env,vcpus,server $SRV_NCPU (mask $SRV_MASK); client $CLI_NCPU (mask $CLI_MASK)${bench_vcpus:+; -mt peers -j $SRV_NCPU}"
	echo "env,profile_conns,$PROFILE_CONNS"
	echo "env,profile_size,$PROFILE_SIZE"
	echo "env,echo_sync_params,$echo_sync_params"
	echo "env,echo_async_params,$echo_async_params"
}

# cell_args M:S:C[:D]: "M S C D", D 1 if not given.
cell_args() {
	local IFS=:
	set -- $1
	echo "$1 $2 $3 ${4:-1}"
}

# The icount cells: each server REPS times, the order rotated as in wall.
run_icount() {
	local n=0 rep=0 cell
	for cell in $CELLS; do n=$((n + 1)); done
	echo "bench: icount, $REPS x $n cells x $NSERVERS servers," \
		"${WARM}s + ${DUR}s each (guest time)"
	# A connection's TCP metrics (ssthresh, RTT) would otherwise be
	# remembered for 127.0.0.1 and start the next run where the last
	# one left off.
	sysctl -qw net.ipv4.tcp_no_metrics_save=1
	echo-bench --csv-header | sed 's/^csv,/icount,rep,/'
	while [ $rep -lt $REPS ]; do
		n=0
		for cell in $CELLS; do
			set -- $(cell_args "$cell")
			each_server $((n + rep)) run_cell "$2" "$3" "$1" "$4" \
				"icount,$((rep + 1)),"
			n=$((n + 1))
		done
		rep=$((rep + 1))
	done
}

# tcpext NAME...: those TcpExt counters of /proc/net/netstat (or of
# TCPEXT_FILE, a copy of another namespace's), one line.
tcpext() {
	awk -v want="$*" '
		$1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++)
			col[$i] = i; names = 1; next }
		$1 == "TcpExt:" { n = split(want, w, " ")
			for (i = 1; i <= n; i++)
				printf "%s%s", $(col[w[i]]), i < n ? " " : "\n" }
	' "${TCPEXT_FILE:-/proc/net/netstat}"
}

# vmstat NAME...: those counters of /proc/vmstat, one line; a NAME that
# is no counter is the sum of the counters NAME_* (allocstall: one a zone).
vmstat() {
	awk -v want="$*" '
		{ v[$1] = $2 }
		END { n = split(want, w, " ")
			for (i = 1; i <= n; i++) { s = 0
				if (w[i] in v)
					s = v[w[i]]
				else
					for (k in v)
						if (index(k, w[i] "_") == 1)
							s += v[k]
				printf "%d%s", s, i < n ? " " : "\n" } }
	' /proc/vmstat
}

PRESSURE_EXT="TCPTimeouts TCPLossProbes TCPRcvQDrop PruneCalled TCPMemoryPressures TCPWinProbe TCPToZeroWindowAdv TCPZeroWindowDrop TCPBacklogDrop"
SQUEEZE_VM="oom_kill allocstall compact_stall pageoutrun"
# pressure_cell SERVER REP KIND: one run under KIND (pressure: tcp_mem
# lowered; squeeze: mem-squeeze; calm: neither); its row: "KIND,rep,server,
# MiB echoed under pressure, errors, fewest echoes after, stalled,
# drain max s, drains over 5 s, not drained, the TcpExt deltas
# ($PRESSURE_EXT), echo_async's send_wait_{ack,probe,nomem},
# softirq_to_task and held, the vmstat deltas ($SQUEEZE_VM), the kernel's
# "page allocation failure" reports (rate-limited by the kernel), and
# mem-squeeze's hogs killed and least MemFree (KiB)".
pressure_cell() {
	local srv=$1 rep=$2 kind=$3 ext0 ext1 mb err after stalled dmax over5
	local undr own vm0 vm1 fail sq
	# What the window runs under, as echo-bench's last arguments.
	case $kind in
	squeeze) set -- --squeeze ;;
	pressure) set -- --pressure "32 64 128" ;;
	*) set -- ;;
	esac
	start_server "$srv"
	ext0=$(tcpext $PRESSURE_EXT)
	vm0=$(vmstat $SQUEEZE_VM)
	# Cleared, so that a full ring buffer cannot hide a report.
	dmesg -c >/dev/null
	$CLIENT_CPU echo-bench -a 127.0.0.1 -p $PORT -c 128 -m stream \
		-s 16384 -w "$WARM" -t "$DUR" --slow 64 \
		--after 10 --drain 60 --label "$srv" "$@" \
		>/tmp/bench.out 2>&1 ||
		echo "bench: $srv failed: $(grep -v '^echo-bench: [a-z]*:' \
			/tmp/bench.out | head -n 5)"
	ext1=$(tcpext $PRESSURE_EXT)
	vm1=$(vmstat $SQUEEZE_VM)
	dmesg >/tmp/dmesg.out
	fail=$(grep -c 'page allocation failure' /tmp/dmesg.out || true)
	# Who met the OOM killer, for the console: the allocation's context.
	grep -m 3 'invoked oom-killer' /tmp/dmesg.out |
		sed "s/^[^]]*] /bench: $kind $srv: /"
	sq=$(sed -n 's/^mem-squeeze: .*hogs killed \([0-9]*\), MemFree KiB min \([0-9]*\).*/\1 \2/p' \
		/tmp/bench.out)
	own="- - - - -"
	case $srv in echo_async*)
		own=$(for k in send_wait_ack send_wait_probe send_wait_nomem \
			softirq_to_task held; do stat_of echo_async $k; done |
			xargs)
	esac
	mb=$(sed -n 's/.* MB\/s=\([0-9.]*\) .*/\1/p' /tmp/bench.out)
	err=$(sed -n 's/.* errors=\([0-9]*\) .*/\1/p' /tmp/bench.out)
	set -- $(sed -n 's/^echo-bench: after: .*fewest echoes \([0-9]*\), stalled \([0-9]*\)$/\1 \2/p' \
		/tmp/bench.out) - -
	after=$1 stalled=$2
	set -- $(sed -n 's/^echo-bench: drain: all back in \([0-9.]*\)s at most; over 5s \([0-9]*\); not back in [0-9]*s \([0-9]*\)$/\1 \2 \3/p' \
		/tmp/bench.out) - - -
	dmax=$1 over5=$2 undr=$3
	[ -n "$sq" ] || sq="- -"
	echo "$ext0 $ext1" | awk -v pre="$kind,$rep,$srv" -v mb="${mb:-0}" \
		-v dur="$DUR" -v rest="${err:--},$after,$stalled,$dmax,$over5,$undr" \
		-v own="$own" -v vm="$vm0 $vm1" -v fail="$fail" \
		-v sq="$sq" '{ n = NF / 2; line = sprintf("%s,%.0f,%s", pre,
			mb * 1e6 * dur / 1048576, rest)
		for (i = 1; i <= n; i++) line = line "," ($(n + i) - $i)
		gsub(" ", ",", own); line = line "," own
		n = split(vm, v, " ") / 2
		for (i = 1; i <= n; i++) line = line "," (v[n + i] - v[i])
		gsub(" ", ",", sq); print line "," fail "," sq }'
	echo "bench: $kind $srv: $(grep -E '^(echo-bench: (label|after|drain)|mem-squeeze:)' \
		/tmp/bench.out | sed 's/^echo-bench: //; s/ p50=.*errors=/ errors=/' |
		tr '\n' ' ')"
	stop_server "$srv"
}

# The pressure, squeeze or control cells (KIND): the buffers small,
# tcp_mem lowered or mem-squeeze run by echo-bench for its measured window
# only (or neither); every server REPS times, rotated.
run_pressure() {
	local rep=0 kind=$1
	echo "bench: $kind, $REPS x $NSERVERS servers, ${DUR}s each"
	echo "$kind,rep,server,mib,errors,fewest_after,stalled,drain_max_s,drain_over_5s,undrained,$(echo $PRESSURE_EXT | tr ' ' ,),send_wait_ack,send_wait_probe,send_wait_nomem,softirq_to_task,held,$(echo $SQUEEZE_VM | tr ' ' ,),alloc_failures,hogs_killed,memfree_min_kib"
	sysctl -qw net.ipv4.tcp_no_metrics_save=1
	sysctl -qw net.ipv4.tcp_rmem="4096 16384 65536"
	sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
	while [ $rep -lt $REPS ]; do
		each_server $rep pressure_cell $((rep + 1)) "$kind"
		rep=$((rep + 1))
	done
}

env_rows
if [ "$TOPO" = nic ]; then
	echo "nicirq,server,mode,size,conns$(for w in srv cli; do
		for c in $(seq 0 $(($(nproc) - 1))); do
			printf ',%s_irqs_cpu%s' $w $c; done; done)"
	echo "nictx,server,mode,size,conns,srv_tx_packets,srv_tx_kicks,srv_delayed_acks,srv_loss_probes,cli_tx_packets,cli_tx_kicks,cli_delayed_acks,cli_loss_probes"
	echo "vcpuidle,server,mode,size,conns$(
		for c in $(seq 0 $(($(nproc) - 1))); do
			printf ',idle_pct_cpu%s' $c; done)"
fi
echo "bench: guest uptime $(cut -d' ' -f1 /proc/uptime)s at start"
if [ -n "$STREAM_KIND" ]; then
	run_pressure "$STREAM_KIND"
	echo "bench: done"
	exit 0
fi
if [ "$MODE" = icount ]; then
	run_icount
	if [ "$1" != matrix ]; then
		profile_cells "(instructions)" echo_async peer-epoll peer-uring
	fi
	echo "bench: guest uptime $(cut -d' ' -f1 /proc/uptime)s at the end"
	echo "bench: done"
	exit 0
fi
ncells=0
for s in $SIZES; do for c in $CONNS; do ncells=$((ncells + 1)); done; done
for c in $CHURN; do ncells=$((ncells + 1)); done
echo "bench: $REPS x $ncells cells x $NSERVERS servers, ${DUR}s each"
echo-bench --csv-header
rep=0
while [ $rep -lt $REPS ]; do
	cell=0
	for size in $SIZES; do
		for conns in $CONNS; do
			each_server $((cell + rep)) run_cell "$size" "$conns"
			cell=$((cell + 1))
		done
	done
	# Churn, 64-byte messages: connections per second.
	for conns in $CHURN; do
		each_server $((cell + rep)) run_cell 64 "$conns" churn
		cell=$((cell + 1))
	done
	rep=$((rep + 1))
done
if [ "$1" != matrix ]; then
	# echo_async's variants hold what echo_async holds when idle. An
	# idle connection costs the same whatever the topology: measured on
	# loopback only.
	for srv in $SERVERS; do
		case $srv in echo_async-*) continue ;; esac
		[ "$TOPO" = nic ] || measure_idle "$srv"
	done
	profile_cells "" echo_async echo_sync peer-epoll-mt peer-uring
fi
echo "bench: done"
