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
# Usage: bench.sh QUICK   (1: a small matrix, for a smoke run; mem: only
# the memory per idle connection and the profiled cell; matrix: only the
# matrix)
# Environment, from the kernel command line: bench_mode (wall, icount),
# bench_reps and bench_dur (repetitions and seconds per run, if not the
# mode's default), echo_sync_params and echo_async_params (more module
# parameters for the in-kernel servers, e.g. "zerocopy=1"), bench_servers,
# bench_sizes, bench_conns, bench_cells (part of the matrix), bench_rfs,
# bench_profile_conns.
. /tests/lib.sh

PORT=9000
MODE=${bench_mode:-wall}
if [ "$MODE" = icount ]; then
	# mode:size:connections[:depth]. Stream: several messages in flight
	# on one connection, reported in MB/s.
	if [ "$1" = 1 ]; then
		CELLS="rr:64:16 stream:65536:1:4" REPS=2 WARM=0.5 DUR=1
	else
		CELLS="rr:64:16 rr:64:256 rr:4096:16 rr:4096:256"
		CELLS="$CELLS stream:65536:1:4 stream:1048576:1:4"
		REPS=2 WARM=0.5 DUR=2
	fi
elif [ "$1" = 1 ]; then
	SIZES="64 4096" CONNS="1 256" REPS=1 WARM=1 DUR=2 IDLE=1000
elif [ "$1" = mem ]; then
	SIZES= CONNS= REPS=0 WARM=1 DUR=2 IDLE=10000
else
	SIZES="64 512 4096" CONNS="1 16 256 1000" REPS=3 WARM=1 DUR=2 IDLE=10000
fi
[ -z "$bench_reps" ] || REPS=$bench_reps
[ -z "$bench_dur" ] || DUR=$bench_dur
[ -z "$bench_sizes" ] || SIZES=$bench_sizes
[ -z "$bench_conns" ] || CONNS=$bench_conns
[ -z "$bench_cells" ] || CELLS=$bench_cells
PROFILE_CONNS=${bench_profile_conns:-256}
SERVERS="echo_sync echo_async peer-threads peer-epoll peer-epoll-mt peer-uring"
# icount also measures echo_async's design steps, each against the last:
# copying from its task (zerocopy=0 softirq=0), zero-copy from its task
# (softirq=0), and the default, zero-copy and run to completion in softirq.
# wall measures softirq=0 too: on loopback softirq runs on the sender's
# CPU, so the default echoes on the client's vCPU, softirq=0 on vCPU 0.
if [ "$MODE" = wall ]; then
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
# wall: the client on vCPU 1, servers on vCPU 0. icount: one CPU for all.
if [ "$MODE" = wall ]; then
	CLIENT_CPU="taskset 2" SERVER_CPU="taskset 1" ASYNC_PIN=unbound=1
	RFS=${bench_rfs:-0}
else
	CLIENT_CPU= SERVER_CPU= ASYNC_PIN= RFS=0
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
		*) variant= ;;
		esac
		[ -z "$ASYNC_PIN" ] ||
			echo 1 >/sys/devices/virtual/workqueue/cpumask
		modload "$MODDIR/echo_async.ko" port=$PORT backlog=4096 \
			max_conns=20000 $ASYNC_PIN $variant $echo_async_params \
			>/tmp/server.out ||
			echo "bench: loading echo_async failed: $(cat /tmp/server.out)" ;;
	*)
		# The last server's "listening" must not pass for this one's.
		rm -f /tmp/server.out
		$SERVER_CPU "$1" -p $PORT -b 4096 >/tmp/server.out 2>&1 &
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
		echo_sync*) taskset -p 1 "${p#/proc/}" >/dev/null 2>&1 ;;
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

# run_cell SERVER SIZE CONNS [MODE DEPTH PREFIX]: one echo-bench run; its
# CSV row goes out with "csv," replaced by PREFIX (default "csv,").
run_cell() {
	local srv=$1 size=$2 conns=$3 m=${4:-rr} depth=${5:-1} extra= pin=
	local prefix=${6:-csv,}
	start_server "$srv"
	[ -n "$server_pid" ] && extra="--server-pid $server_pid"
	[ "$m" = rr ] || extra="$extra -d $depth"
	if [ "$srv" = echo_sync ] && [ "$MODE" = wall ]; then
		pin_sync_threads $((WARM / 2 + 1)) &
		pin=$!
	fi
	$CLIENT_CPU echo-bench -a 127.0.0.1 -p $PORT -c "$conns" -m "$m" \
		-s "$size" -w "$WARM" -t "$DUR" --csv --label "$srv" $extra \
		>/tmp/bench.out 2>&1 ||
		echo "bench: $srv failed: $(grep -v '^csv,' /tmp/bench.out)"
	[ -z "$pin" ] || wait "$pin"
	grep '^csv,' /tmp/bench.out | sed "s/^csv,/$prefix/"
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

# One cell profiled (64 bytes, 256 connections unless bench_profile_conns
# says otherwise): where the CPU goes (user, system, softirq, idle;
# context switches per request) over 2 s, then a perf profile (cpu-clock
# sampling, all CPUs, kernel and user) over 3 s, all inside the measured
# 12 s (perf takes a few seconds to start here).
# Under icount the guest's clock counts instructions, so cpu-clock samples
# where the instructions go.
# Rows: "prof,server,req_per_s,ctxt_per_req,user%,sys%,softirq%,idle%" and
# "perf,server,<a line of perf report>", "callgraph,server,<a line>".
profile_cell() {
	local srv=$1 bench pin= c0 c1
	start_server "$srv"
	if [ "$srv" = echo_sync ] && [ "$MODE" = wall ]; then
		pin_sync_threads 1 &
		pin=$!
	fi
	$CLIENT_CPU echo-bench -a 127.0.0.1 -p $PORT -c "$PROFILE_CONNS" \
		-m rr -s 64 -w 2 -t 12 >/tmp/bench.out 2>&1 &
	bench=$!
	sleep 3
	c0=$(cpu_counters)
	sleep 2
	c1=$(cpu_counters)
	perf record -a -g -F 499 -e cpu-clock -o /tmp/perf.data -- sleep 3 \
		>/dev/null 2>&1 || echo "bench: perf record failed for $srv"
	wait $bench || echo "bench: $srv failed: $(cat /tmp/bench.out)"
	[ -z "$pin" ] || wait "$pin"
	echo "$c0 $c1 $(sed -n 's/.* req\/s=\([0-9.]*\) .*/\1/p' /tmp/bench.out)" |
		awk -v srv="$srv" '{ t = $11 - $5; r = $13 * 2
			printf "prof,%s,%d,%.2f,%.0f,%.0f,%.0f,%.0f\n", srv, $13,
			r ? ($12 - $6) / r : 0, 100 * ($7 - $1) / t,
			100 * ($8 - $2) / t, 100 * ($9 - $3) / t,
			100 * ($10 - $4) / t }'
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
	rm -f /tmp/perf.data
	stop_server "$srv"
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
	echo "env,profile_conns,$PROFILE_CONNS"
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
	local n=0 rep=0 cell i
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
			i=0
			while [ $i -lt $NSERVERS ]; do
				run_cell "$(nth $((i + n + rep)) $SERVERS)" \
					"$2" "$3" "$1" "$4" "icount,$((rep + 1)),"
				i=$((i + 1))
			done
			n=$((n + 1))
		done
		rep=$((rep + 1))
	done
}

env_rows
echo "bench: guest uptime $(cut -d' ' -f1 /proc/uptime)s at start"
if [ "$MODE" = icount ]; then
	run_icount
	if [ "$1" != matrix ]; then
		echo 0 >/proc/sys/kernel/kptr_restrict
		echo -1 >/proc/sys/kernel/perf_event_paranoid
		echo "bench: profiling 64 bytes x $PROFILE_CONNS connections" \
			"(instructions)"
		for srv in echo_async peer-epoll peer-uring; do
			profile_cell "$srv"
		done
	fi
	echo "bench: guest uptime $(cut -d' ' -f1 /proc/uptime)s at the end"
	echo "bench: done"
	exit 0
fi
ncells=0
for s in $SIZES; do for c in $CONNS; do ncells=$((ncells + 1)); done; done
echo "bench: $REPS x $ncells cells x $NSERVERS servers, ${DUR}s each"
echo-bench --csv-header
rep=0
while [ $rep -lt $REPS ]; do
	cell=0
	for size in $SIZES; do
		for conns in $CONNS; do
			i=0
			while [ $i -lt $NSERVERS ]; do
				run_cell "$(nth $((i + cell + rep)) $SERVERS)" \
					"$size" "$conns"
				i=$((i + 1))
			done
			cell=$((cell + 1))
		done
	done
	rep=$((rep + 1))
done
if [ "$1" != matrix ]; then
	# echo_async's variants hold what echo_async holds when idle.
	for srv in $SERVERS; do
		case $srv in echo_async-*) continue ;; esac
		measure_idle "$srv"
	done
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	echo "bench: profiling 64 bytes x $PROFILE_CONNS connections"
	for srv in echo_async echo_sync peer-epoll-mt peer-uring; do
		profile_cell "$srv"
	done
fi
echo "bench: done"
