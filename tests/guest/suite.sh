#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The test suite, run inside the guest by /init. Each test runs with
# "set -e" in a subshell: the first failing command fails the test.
# Usage: suite.sh [REGEX]   (run only tests whose name matches)
filter=${1:-.}
. /tests/lib.sh

SEED=$(date +%s)

# ---- tests for both servers; $1 is the module, $2 its port ----

t_echo_small() {
	load "$1"
	kecho-client -p "$2" echo -c 1 -s 1 -S 1
	kecho-client -p "$2" echo -c 4 -s 1 -S 100 -r 50 -x "$SEED"
	unload "$1"
}

t_echo_random() {
	load "$1"
	kecho-client -p "$2" -t 300 echo -c 24 -s 1 -S 1048576 -r 2 -x "$SEED"
	unload "$1"
}

t_half_close() {
	load "$1"
	kecho-client -p "$2" -t 120 echo -c 16 -s 1 -S 262144 -H -x "$SEED"
	unload "$1"
}

# Urgent data (MSG_OOB) between chunks: the urgent bytes leave the stream,
# as read() takes them out, and everything else comes back in order.
t_urgent() {
	load "$1"
	kecho-urgent -p "$2" -n 60 -t 60
	kecho-urgent -a ::1 -p "$2" -n 10 -t 60
	unload "$1"
}

t_concurrent_500() {
	load "$1" backlog=1024
	kecho-client -p "$2" -t 300 echo -c 500 -s 1 -S 8192 -r 2 -x "$SEED"
	unload "$1"
}

# hold_start NAME PORT ARGS...: a background client holding connections.
hold_start() {
	local out=/tmp/out.$1 port=$2
	shift 2
	kecho-client -p "$port" -t 600 hold -w "$out.ready" "$@" -x "$SEED" \
		>"$out" 2>&1 &
	echo $! >"$out.pid"
}

# hold_wait NAME CONNS: the client must end, every connection closed by
# the server, no byte corrupted.
hold_wait() {
	local out=/tmp/out.$1
	wait "$(cat "$out.pid")" || fail "holding client failed: $(cat "$out")"
	grep -q "closed_by_peer=$2 " "$out" ||
		fail "not all $2 connections closed by the server: $(cat "$out")"
}

t_unload_busy() {
	load "$1" backlog=1024
	hold_start busy "$2" -c 200 -b
	wait_for_file /tmp/out.busy.ready 300
	sleep 1
	unload "$1"
	hold_wait busy 200
	[ "$(threads_named "$1")" = 0 ] || fail "threads of $1 left: $(ps)"
	# Its connections linger in TIME_WAIT; they must not block a reload.
	load "$1"
	kecho-client -p "$2" echo -c 4 -s 1 -S 65536 -x "$SEED"
	unload "$1"
}

# load_cycles MODULE PORT N: N cycles of load, stream on 10 connections,
# unload (every connection closed by the server), then a clean reload.
load_cycles() {
	local cycle=0
	while [ $cycle -lt "$3" ]; do
		load "$1"
		hold_start cycle "$2" -c 10 -b
		wait_for_file /tmp/out.cycle.ready 120
		unload "$1"
		hold_wait cycle 10
		rm -f /tmp/out.cycle*
		cycle=$((cycle + 1))
	done
	load "$1"
	kecho-client -p "$2" echo -c 4 -s 1 -S 4096 -x "$SEED"
	unload "$1"
}

t_reload_cycles() {
	load_cycles "$1" "$2" 20
}

t_port_in_use() {
	other=echo_async
	[ "$1" = echo_async ] && other=echo_sync
	load "$other" port="$2"
	expect_load_error 98 "$1" port="$2"
	dmesg_has "^.*$1: TCP port $2 is already in use"
	[ "$(threads_named "$1")" = 0 ] || fail "threads of $1 left: $(ps)"
	unload "$other"
	load "$1" port="$2"
	kecho-client -p "$2" echo -c 2 -s 1 -S 1000 -x "$SEED"
	unload "$1"
}

t_bad_params() {
	params="port=0 port=65536 port=-1 backlog=0 backlog=70000"
	params="$params max_conns=0 max_conns=1048577 idle_timeout=-1"
	params="$params idle_timeout=604801"
	for p in $params; do
		dmesg -c >/dev/null
		expect_load_error 22 "$1" "$p"
		dmesg_has "$1: invalid ${p%%=*}=${p#*=}, must be "
		[ "$(dmesg | grep -c "$1:")" = 1 ] ||
			fail "want one error line for $p: $(dmesg)"
	done
	expect_load_error 22 "$1" port=abc
	if [ "$1" = echo_async ]; then
		expect_load_error 22 "$1" zerocopy=maybe
		expect_load_error 22 "$1" softirq=2
	fi
	[ "$(threads_named "$1")" = 0 ] || fail "threads of $1 left: $(ps)"
}

# Where it listens: every address by default (IPv4 clients mapped onto the
# IPv6 socket), or the one address it is given.
t_addr() {
	local a
	load "$1"
	dmesg_has "$1: listening on TCP \[::\]:$2"
	kecho-client -a 127.0.0.1 -p "$2" echo -c 4 -s 1 -S 10000 -x "$SEED"
	kecho-client -a ::1 -p "$2" echo -c 4 -s 1 -S 10000 -x "$SEED"
	unload "$1"

	load "$1" addr=127.0.0.1
	dmesg_has "$1: listening on TCP 127.0.0.1:$2"
	kecho-client -a 127.0.0.1 -p "$2" echo -c 4 -s 1 -S 10000 -x "$SEED"
	for a in 127.0.0.2 ::1; do
		! kecho-client -a $a -p "$2" -t 10 echo >/tmp/out.addr 2>&1 ||
			fail "served on $a while bound to 127.0.0.1"
		grep -q "refused" /tmp/out.addr || fail "$(cat /tmp/out.addr)"
	done
	unload "$1"

	load "$1" addr=::1
	dmesg_has "$1: listening on TCP \[::1\]:$2"
	kecho-client -a ::1 -p "$2" echo -c 4 -s 1 -S 10000 -x "$SEED"
	! kecho-client -a 127.0.0.1 -p "$2" -t 10 echo >/tmp/out.addr 2>&1 ||
		fail "served on 127.0.0.1 while bound to ::1"
	unload "$1"

	for a in 1.2.3 1.2.3.4.5 256.1.1.1 1.2.3.4:80 ::g fe80::1%lo x; do
		dmesg -c >/dev/null
		expect_load_error 22 "$1" addr=$a
		dmesg_has "$1: invalid addr=$a, must be an IPv4 or IPv6 address"
		[ "$(dmesg | grep -c "$1:")" = 1 ] ||
			fail "want one error line for addr=$a: $(dmesg)"
	done
	# An address of no interface here: bind fails, and says so.
	dmesg -c >/dev/null
	expect_load_error 99 "$1" addr=192.0.2.1
	dmesg_has "$1: cannot bind TCP 192.0.2.1:$2: -99"
}

# A flood past max_conns: refused at once and counted; the connections
# within the limit keep working.
t_max_conns() {
	local before i
	load "$1" max_conns=20 backlog=256
	hold_start within "$2" -c 20 -b
	wait_for_file /tmp/out.within.ready 120
	kecho-client -p "$2" -t 120 refused -c 200 >/tmp/out.refused ||
		fail "$(cat /tmp/out.refused)"
	grep -q "closed_by_peer=200 ok" /tmp/out.refused
	expect_stat "$1" refused 200
	expect_stat "$1" conns 20
	expect_stat "$1" accepted 20
	# The 20 still stream (the client checks every byte): the server's
	# byte count keeps growing.
	before=$(stat_of "$1" bytes_in)
	i=0
	while [ "$(stat_of "$1" bytes_in)" = "$before" ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "the 20 connections stopped after the flood"
		usleep 100000
	done
	unload "$1"
	hold_wait within 20
}

# idle_timeout closes idle connections, and only those.
t_idle_timeout() {
	load "$1" idle_timeout=2
	hold_start idle "$2" -c 10
	hold_start busy "$2" -c 4 -b
	wait_for_file /tmp/out.idle.ready 120
	wait_for_file /tmp/out.busy.ready 120
	# The idle ones are closed by the server, and the client then ends.
	hold_wait idle 10
	expect_stat "$1" idle_closed 10
	# Twice the timeout later, the busy ones still stream.
	sleep 4
	kill -USR1 "$(cat /tmp/out.busy.pid)"
	wait_for_line /tmp/out.busy "probe ok=" 60
	grep -q "probe ok=1 fail=0" /tmp/out.busy ||
		fail "probe failed: $(cat /tmp/out.busy)"
	expect_stat "$1" conns 4 30
	expect_stat "$1" idle_closed 10
	unload "$1"
	hold_wait busy 4
}

# A connection the idle sweeper closes while its echo is stuck behind a
# client that does not read ends once, as idle: not also as an error.
t_idle_pending() {
	load "$1" idle_timeout=2
	kecho-client -p "$2" -t 120 slowread -T 3 -R /tmp/go >/tmp/out.slow 2>&1 &
	expect_stat "$1" idle_closed 1 30
	expect_stat "$1" conns 0 30
	expect_stat "$1" errors 0
	kill %% 2>/dev/null || true
	wait || true
	unload "$1"
}

# The counters match what the clients did.
t_stats() {
	local bytes
	load "$1"
	# A block per listener: the core's counters for its protocol, then
	# the service's own for it (UDP's dgrams_* on UDP listeners only).
	want="listener conns accepted refused over_budget idle_closed errors bytes_in bytes_out "
	[ "$1" = echo_async ] && want="${want}send_wait_ack send_wait_probe send_wait_nomem softirq_to_task held listener dgrams_in errors bytes_in bytes_out dgrams_out dgrams_dropped dgrams_bad_port dgrams_bad_addr "
	[ "$(cut -d' ' -f1 "/proc/net/$1" | tr '\n' ' ')" = "$want" ] ||
		fail "format of /proc/net/$1: $(cat "/proc/net/$1")"
	grep -qE "^listener [0-9]+ tcp \[::\]:$2$" "/proc/net/$1" ||
		fail "no TCP listener line: $(cat "/proc/net/$1")"
	kecho-client -p "$2" -t 120 echo -c 10 -s 1 -S 20000 -r 3 -x "$SEED" \
		>/tmp/out.stats
	bytes=$(sed -n 's/.* bytes=\([0-9]*\) ok/\1/p' /tmp/out.stats)
	kecho-client -a ::1 -p "$2" echo -c 5 -s 1 -S 1000 -H -x "$SEED" \
		>/tmp/out.stats
	bytes=$((bytes + $(sed -n 's/.* bytes=\([0-9]*\) ok/\1/p' /tmp/out.stats)))
	expect_stat "$1" conns 0 60
	expect_stat "$1" accepted 15
	expect_stat "$1" bytes_in $bytes
	expect_stat "$1" bytes_out $bytes
	expect_stat "$1" refused 0
	expect_stat "$1" idle_closed 0
	expect_stat "$1" errors 0
	kecho-client -p "$2" -t 120 reset -c 10 -x "$SEED"
	expect_stat "$1" conns 0 60
	expect_stat "$1" accepted 25
	[ "$(stat_of "$1" errors)" -ge 1 ] ||
		fail "no error counted for 10 resets: $(cat "/proc/net/$1")"
	unload "$1"
	[ ! -e "/proc/net/$1" ] || fail "/proc/net/$1 left after unload"
}

# STRESS_CYCLES cycles, each loading, streaming on 10 connections,
# unloading.
t_stress_cycles() {
	load_cycles "$1" "$2" "$STRESS_CYCLES"
}

# ksrv's lock classes, as /proc/lock_stat names them.
KSRV_LOCKS="ksrv_reg_shard ksrv_mutex ksrv_users_lock"

# churn SERVER PORT BATCHES: BATCHES of 500 connections through the
# server, 500 at a time. On the debug kernel, with its lock statistics:
# none of ksrv's locks is among the ten most contended (issue 22:
# accepting and closing on both CPUs share no lock of ours; the registry's
# shards are per CPU).
churn() {
	local batch=0 top l
	load "$1" backlog=1024
	lockstat_start
	while [ $batch -lt "$3" ]; do
		kecho-client -p "$2" -t 300 echo -c 500 -s 1 -S 256 \
			-x "$((SEED + batch))" >/dev/null
		batch=$((batch + 1))
	done
	if [ -e /proc/lock_stat ]; then
		top=$(lockstat_top 10)
		echo "info: most contended: $(echo "$top" | head -n 5 |
			awk '{ printf "%s%s %s/%s", (NR > 1 ? ", " : ""), $3, $1, $2 }')"
		for l in $KSRV_LOCKS; do
			echo "info: $l: $(lockstat_of "$l" |
				awk '{ print $1 " contended of " $2 }')"
		done
		for l in $KSRV_LOCKS; do
			! echo "$top" | awk '{ print $3 }' | grep -qx "$l" ||
				fail "$l among the ten most contended: $top"
		done
	fi
	# Threads see the clients' EOF and exit on their own, shortly.
	wait_until_no_threads "$1/" 60
	unload "$1"
}

t_churn_20000() {
	churn "$1" "$2" 40
}

t_churn_5000() {
	churn "$1" "$2" 10
}

# kmemleak_check WHAT: two scans (kmemleak wants them a few seconds apart,
# and objects younger than 5 s are not reported); fail on a leak with a
# frame in our modules, or in an unloaded module (an unnamed address).
kmemleak_check() {
	local k=/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >$k
	sleep 6
	echo scan >$k
	cat $k >/tmp/leaks
	echo "info: kmemleak $1: $(grep -c unreferenced /tmp/leaks) suspected, any origin"
	if grep -qE '\[(ksrv|echo_sync|echo_async|discard)\]|\[<[0-9a-f]+>\] 0xffffffffc' /tmp/leaks; then
		cat /tmp/leaks
		fail "kmemleak: leak in our modules ($1)"
	fi
}

# Leaks while the module is loaded (frames named), then after unload.
t_kmemleak() {
	echo clear >/sys/kernel/debug/kmemleak
	load "$1" backlog=1024
	kecho-client -p "$2" -t 300 echo -c 200 -s 1 -S 65536 -H -x "$SEED"
	kecho-client -p "$2" -t 300 reset -c 200 -x "$SEED"
	if [ "$1" = echo_async ]; then
		kecho-udp -p "$2" -t 300 flood -c 20 -n 20000 -x "$SEED" >/dev/null
		kecho-udp -a ::1 -p "$2" sizes -x "$SEED"
	fi
	hold_start leak "$2" -c 50 -b
	wait_for_file /tmp/out.leak.ready 120
	kmemleak_check "$1 loaded"
	unload "$1"
	hold_wait leak 50
	kmemleak_check "$1 unloaded"
}

# set_fault_injection PROBABILITY: failslab and fail_page_alloc for kernel
# threads and workers only (task-filter), GFP_KERNEL allocations included.
set_fault_injection() {
	local d p ppid
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		echo 0 >$d/verbose
		echo Y >$d/task-filter
		echo N >$d/ignore-gfp-wait
		echo 1 >$d/interval
		echo 1000000 >$d/times
		echo "$1" >$d/probability
	done
	echo 0 >/sys/kernel/debug/fail_page_alloc/min-order
	# Kernel threads are kthreadd (pid 2) and its children; new ones
	# inherit the flag from kthreadd.
	for p in /proc/[0-9]*; do
		# A process may exit meanwhile: that is no failure.
		ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$p/status" \
			2>/dev/null) || continue
		[ "${p#/proc/}" = 2 ] || [ "$ppid" = 2 ] || continue
		echo $(($1 > 0)) >"$p/make-it-fail" 2>/dev/null || true
	done
}

faults_injected() {
	echo $((2000000 - $(cat /sys/kernel/debug/failslab/times) -
		$(cat /sys/kernel/debug/fail_page_alloc/times)))
}

# Connection churn while allocations fail: the server survives, serves a
# fresh client afterwards, unloads, and leaks nothing.
t_fault_injection() {
	local round=0 n
	echo clear >/sys/kernel/debug/kmemleak
	load "$1" backlog=1024
	set_fault_injection 5
	while [ $round -lt 10 ]; do
		kecho-client -p "$2" -t 60 echo -c 100 -s 1 -S 16384 -r 2 \
			-x "$((SEED + round))" >/dev/null 2>&1 || true
		round=$((round + 1))
	done
	n=$(faults_injected)
	set_fault_injection 0
	echo "info: $n allocations failed on purpose"
	# Allocation failure warnings are expected; real bug reports are not.
	if dmesg | grep -E "$KERNEL_BUG_REPORTS"; then
		fail "kernel bug report under fault injection"
	fi
	dmesg -c >/tmp/faults.dmesg
	[ "$n" -ge 200 ] || fail "only $n faults injected"
	kecho-client -p "$2" -t 120 echo -c 8 -s 1 -S 65536 -x "$SEED"
	unload "$1"
	kmemleak_check "$1 after faults"
}

# ---- echo_async only ----

# Messages of the softirq budget (16 KiB) and of one and a half times it
# (24 KiB, one skb on loopback), one in flight: each arrives in one skb
# and is echoed whole from softirq, and must not hand the connection to
# its task: nothing is left queued after an exact budget (401 of 400 were
# handed over before that was fixed), and a budget counts whole skbs (an
# skb crossing it was split, its rest handed over: 401 of 400 at 24 KiB).
t_async_softirq_budget() {
	local n=400 size handed waited
	for size in 16384 24576; do
		load echo_async
		echo-bench -a 127.0.0.1 -p 8081 -c 1 -m rr -s $size -w 0 \
			-t 120 --count $n >/tmp/out.budget 2>&1 ||
			fail "echo-bench: $(cat /tmp/out.budget)"
		grep -q ' errors=0 ' /tmp/out.budget ||
			fail "$(cat /tmp/out.budget)"
		handed=$(stat_of echo_async softirq_to_task)
		# A send that waits for room is the task's to finish too.
		waited=$(($(stat_of echo_async send_wait_ack) +
			  $(stat_of echo_async send_wait_probe) +
			  $(stat_of echo_async send_wait_nomem)))
		echo "info: $n messages of $size bytes, $handed handed to" \
			"the task, $waited sends waited for room"
		[ $((handed + waited)) -lt $((n / 4)) ] ||
			fail "$handed of $n $size-byte echoes handed to the task, $waited waited"
		unload echo_async
	done
}

t_async_no_threads() {
	load echo_async
	[ "$(threads_named echo_async)" = 0 ] || fail "echo_async has threads"
	kecho-client -p 8081 echo -c 8 -s 1 -S 4096 -x "$SEED"
	unload echo_async
	load echo_async unbound=1
	kecho-client -p 8081 echo -c 8 -s 1 -S 65536 -x "$SEED"
	unload echo_async
}

t_async_5000_conns() {
	load echo_async backlog=4096
	hold_start many 8081 -c 5000
	wait_for_file /tmp/out.many.ready 500
	kill -USR1 "$(cat /tmp/out.many.pid)"
	wait_for_line /tmp/out.many "probe ok=" 120
	grep -q "probe ok=[0-9]* fail=0" /tmp/out.many ||
		fail "probe failed: $(cat /tmp/out.many)"
	echo "info: before unload: $(net_drops), max orphans $(sysctl -n net.ipv4.tcp_max_orphans)"
	unload echo_async
	echo "info: after unload: $(net_drops), $(grep ^TCP: /proc/net/sockstat)"
	hold_wait many 5000
}

t_async_slow_reader() {
	load echo_async
	before=$(mem_available_kb)
	kecho-client -p 8081 -t 300 slowread -T 5 -R /tmp/go >/tmp/out.slow &
	slow=$!
	# Other clients are served while the slow reader is stuck.
	kecho-client -p 8081 -t 60 echo -c 8 -s 1 -S 65536 -r 4 -x "$SEED"
	wait_for_line /tmp/out.slow stalled 120
	after=$(mem_available_kb)
	used=$(((before - after) / 1024))
	echo "info: slow reader $(grep stalled /tmp/out.slow), guest memory +${used} MiB"
	[ "$used" -lt 64 ] || fail "memory grew by ${used} MiB"
	sent=$(sed -n 's/.*stalled sent=\([0-9]*\).*/\1/p' /tmp/out.slow)
	[ "$sent" -lt $((64 << 20)) ] ||
		fail "server took $sent bytes from a client that never reads"
	# Held back by the reader's closed window, the echo waits for TCP's
	# window probe, not for a timer of ours: only a socket with nothing
	# queued, when TCP had no memory, is polled. The server may still be
	# echoing what it read when its own window closed (a debug kernel's
	# is slow): its sends meet the reader's closed window after that.
	for _ in $(seq 600); do
		[ "$(stat_of echo_async send_wait_probe)" = 0 ] || break
		usleep 100000
	done
	probe=$(stat_of echo_async send_wait_probe)
	nomem=$(stat_of echo_async send_wait_nomem)
	echo "info: short sends waiting for: an ACK" \
		"$(stat_of echo_async send_wait_ack), the window probe $probe," \
		"memory $nomem"
	[ "$probe" -gt 0 ] || fail "no send waited for the window probe:" \
		"$(tr '\n' ' ' </tmp/out.slow)"
	[ "$nomem" = 0 ] || fail "$nomem sends polled for memory, none short"
	touch /tmp/go
	wait $slow || fail "slow reader failed: $(cat /tmp/out.slow)"
	grep -q "echoed=$sent ok" /tmp/out.slow || fail "$(cat /tmp/out.slow)"
	unload echo_async
}

# tcp_limits_restore: put back the TCP limits saved in TCP_LIMITS, on the
# test's way out, failed or not.
tcp_limits_restore() {
	local k
	for k in tcp_mem tcp_rmem tcp_wmem; do
		sysctl -qw "net.ipv4.$k=$(echo "$TCP_LIMITS" |
			sed -n "s/^$k //p")"
	done
}

# TCP memory pressure, after issue 24's report at a smaller scale: 64
# connections stream byte-checked 16 KiB messages, 32 of them reading one
# second in four, with small socket buffers and tcp_mem far below what
# they want for 10 s. Every byte comes back right, short sends' rests
# waited outside the receive queue (held), and once the pressure is over
# every connection echoes again within 30 s (echo-bench --after: a stall
# is an error; on 6.12 a connection of any server may wait 10-15 s for
# TCP's backed-off window probe, as the benchmark's cells show). How long
# the last echoes take to come back once the clients only read (a server
# that believes the window closed waits for TCP's backed-off probe) is a
# figure, reported with the counters. Then an unload under pressure, with
# streams going and data held.
t_async_pressure() {
	local rc=0 drops held
	load echo_async
	drops=$(net_drops)
	TCP_LIMITS=$(for k in tcp_mem tcp_rmem tcp_wmem; do
		echo "$k $(cat /proc/sys/net/ipv4/$k)"; done)
	trap tcp_limits_restore EXIT
	sysctl -qw net.ipv4.tcp_rmem="4096 16384 65536"
	sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
	echo-bench -a 127.0.0.1 -p 8081 -c 64 -m stream -s 16384 -w 1 -t 10 \
		--slow 32 --pressure "32 64 128" --after 30 --drain 60 \
		>/tmp/out.pressure 2>&1 || rc=$?
	[ $rc = 0 ] && grep -q ' errors=0 ' /tmp/out.pressure ||
		fail "under pressure (before: $drops; after: $(net_drops)): $(cat /tmp/out.pressure)"
	sed -n 's/^echo-bench: \(after\|drain\): /info: \1: /p' \
		/tmp/out.pressure
	held=$(stat_of echo_async held)
	echo "info: $(grep -o 'MB/s=[0-9.]*' /tmp/out.pressure) under" \
		"pressure; short sends waiting for an ACK" \
		"$(stat_of echo_async send_wait_ack), the window probe" \
		"$(stat_of echo_async send_wait_probe), memory" \
		"$(stat_of echo_async send_wait_nomem); softirq to task" \
		"$(stat_of echo_async softirq_to_task); held out of the" \
		"receive queue $held"
	# Past TCP's hard limit a segment gets in only to an empty receive
	# queue: what a short send left over waits outside it.
	[ "$held" -gt 0 ] ||
		fail "under pressure no unsent data waited outside a receive queue"
	expect_stat echo_async errors 0
	# Unloaded under pressure, streams going: data held out of a receive
	# queue is freed with its connection (left charged to its socket, it
	# would warn when the socket is destroyed). TCP's memory count moves
	# in steps of each CPU's reserve (net.core.mem_pcpu_rsv, 1 MiB at
	# least), so up to 1 MiB a CPU is never seen by tcp_mem: each of 64
	# connections keeps up to four 16 KiB chunks unechoed, 4 MiB in all,
	# enough to reach the limit whatever the suite's two vCPUs hold back
	# (32 of 4 KiB, 512 KiB, did not always: a run in CI saw no hold in
	# 60 s).
	hold_start busy 8081 -c 64 -s 16384 -b
	wait_for_file /tmp/out.busy.ready 300
	sysctl -qw net.ipv4.tcp_mem="32 64 128"
	# Holds come and go in bursts: unload in the tenth of a second
	# after one, while its data may still be out of the queue.
	poll_until 60 "no data held in 60 s of pressure before the unload" \
		stat_moved echo_async held "$held"
	echo "info: held out of the receive queue before the unload:" \
		"$(($(stat_of echo_async held) - held)) times"
	unload echo_async
	tcp_limits_restore
	hold_wait busy 64
}

t_async_resets() {
	load echo_async backlog=1024
	kecho-client -p 8081 -t 300 reset -c 1000 -x "$SEED"
	kecho-client -p 8081 echo -c 8 -s 1 -S 65536 -x "$SEED"
	unload echo_async
}

t_async_unload_mixed() {
	load echo_async backlog=4096
	hold_start idle 8081 -c 2000
	hold_start stream 8081 -c 200 -b
	wait_for_file /tmp/out.idle.ready 300
	wait_for_file /tmp/out.stream.ready 300
	sleep 1
	unload echo_async
	hold_wait idle 2000
	hold_wait stream 200
	load echo_async
	kecho-client -p 8081 echo -c 4 -s 1 -S 65536 -x "$SEED"
	unload echo_async
}

# ---- echo_async's UDP echo ----

# sizes_bytes FILE KEY: the payload bytes kecho-udp sizes reported, as
# sent=N or echoed=N.
sizes_bytes() {
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1"
}

# block_keys MODULE PROTO: the counters' names of MODULE's PROTO listeners
# in /proc/net/MODULE, one line per listener.
block_keys() {
	awk -v p="$2" '$1 == "listener" { if (on) print keys; on = ($3 == p)
					  keys = ""; next }
		       on { keys = keys (keys == "" ? "" : " ") $1 }
		       END { if (on) print keys }' "/proc/net/$1"
}

# Every size from 0 bytes to the largest datagram, byte-exact, over IPv4
# and IPv6, each payload byte counted in and out; udp=0 serves none.
t_async_udp_sizes() {
	local sent echoed
	load echo_async
	dmesg_has "echo_async: listening on UDP \[::\]:8081"
	kecho-udp -a 127.0.0.1 -p 8081 sizes -x "$SEED" >/tmp/out.sizes4 ||
		fail "$(cat /tmp/out.sizes4)"
	kecho-udp -a ::1 -p 8081 sizes -x "$SEED" >/tmp/out.sizes6 ||
		fail "$(cat /tmp/out.sizes6)"
	expect_stat echo_async dgrams_dropped 0
	[ "$(stat_of echo_async dgrams_in)" = "$(stat_of echo_async dgrams_out)" ] ||
		fail "not every datagram answered: $(cat /proc/net/echo_async)"
	# bytes_in and bytes_out count the datagrams' payloads, every try
	# the client sent and every answer it got; the TCP listener moved
	# none.
	sent=$(($(sizes_bytes /tmp/out.sizes4 sent) +
		$(sizes_bytes /tmp/out.sizes6 sent)))
	echoed=$(($(sizes_bytes /tmp/out.sizes4 echoed) +
		  $(sizes_bytes /tmp/out.sizes6 echoed)))
	[ "$sent" -gt 130000 ] || fail "sizes sent $sent bytes"
	echo "info: $sent payload bytes sent, $echoed echoed"
	expect_stat echo_async bytes_in "$sent"
	expect_stat echo_async bytes_out "$echoed"
	kechoctl -j list >/tmp/out.list
	jq_ok "map(select(.proto == \"udp\"))[0].stats |
		.bytes_in == $sent and .bytes_out == $echoed" /tmp/out.list
	jq_ok 'map(select(.proto == "tcp"))[0].stats |
		.bytes_in == 0 and .bytes_out == 0' /tmp/out.list
	# Each listener shows the counters of its protocol only, in
	# /proc/net and in the dump.
	[ "$(block_keys echo_async tcp)" = \
	  "conns accepted refused over_budget idle_closed errors bytes_in bytes_out send_wait_ack send_wait_probe send_wait_nomem softirq_to_task held" ] ||
		fail "TCP listener's counters: $(cat /proc/net/echo_async)"
	[ "$(block_keys echo_async udp)" = \
	  "dgrams_in errors bytes_in bytes_out dgrams_out dgrams_dropped dgrams_bad_port dgrams_bad_addr" ] ||
		fail "UDP listener's counters: $(cat /proc/net/echo_async)"
	jq_ok 'all(.[] | select(.proto == "tcp"); .stats | keys |
		all(startswith("dgrams_") | not))' /tmp/out.list
	jq_ok 'all(.[] | select(.proto == "udp");
		(has("conns") or has("backlog") or has("max_conns")
		 or has("idle_timeout") | not) and (.stats | keys - ["accepted",
		 "refused", "over_budget", "idle_closed"] == keys))' \
		/tmp/out.list
	jq_ok '[.[] | .stats | keys_unsorted | join(" ")] ==
		["accepted refused over_budget idle_closed errors bytes_in bytes_out send_wait_ack send_wait_probe send_wait_nomem softirq_to_task held",
		 "dgrams_in errors bytes_in bytes_out dgrams_out dgrams_dropped dgrams_bad_port dgrams_bad_addr"]' \
		/tmp/out.list
	unload echo_async
	load echo_async addr=::1
	kecho-udp -a ::1 -p 8081 sizes -x "$SEED"
	unload echo_async
	load echo_async udp=0
	! kecho-udp -p 8081 -t 10 sizes >/tmp/out.udp 2>&1 ||
		fail "UDP served with udp=0"
	grep -q "refused" /tmp/out.udp || fail "$(cat /tmp/out.udp)"
	unload echo_async
}

# UDP_FLOOD datagrams from 50 senders at once: loss is allowed under
# overload, corruption never; the server's counters add up.
t_async_udp_flood() {
	local in out dropped sent echoed
	load echo_async
	kecho-udp -p 8081 -t 300 flood -c 50 -n "$UDP_FLOOD" -x "$SEED" \
		>/tmp/out.flood || fail "$(cat /tmp/out.flood)"
	echo "info: $(cat /tmp/out.flood)"
	sent=$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' /tmp/out.flood)
	echoed=$(sed -n 's/.* echoed=\([0-9]*\) .*/\1/p' /tmp/out.flood)
	[ "$sent" = "$UDP_FLOOD" ] || fail "sent $sent datagrams, not $UDP_FLOOD"
	in=$(stat_of echo_async dgrams_in)
	out=$(stat_of echo_async dgrams_out)
	dropped=$(stat_of echo_async dgrams_dropped)
	[ "$in" = $((out + dropped)) ] && [ "$in" -le "$sent" ] &&
		[ "$out" -ge "$echoed" ] ||
		fail "counters do not add up: $(cat /proc/net/echo_async)"
	unload echo_async
}

# No answer to a datagram from a privileged port (echo's 7, 1023), NFS's
# 2049, port 0 or the server's own port (OpenBSD inetd's dg_badinput()):
# two servers must not bounce one between them for ever, nor the server
# reflect one at another service. Each is counted as dropped for its
# port. (Broadcast, multicast and unspecified sources never get past the
# IPv4 stack's martian checks over loopback; the unit tests cover them.)
t_async_udp_loop() {
	local p
	load echo_async
	for p in 7 1023 2049 0 8081; do
		kecho-udp -p 8081 raw -P $p
	done
	expect_stat echo_async dgrams_in 5 10
	expect_stat echo_async dgrams_bad_port 5
	expect_stat echo_async dgrams_out 0
	# An answer to itself would come back in: the count would climb.
	sleep 1
	expect_stat echo_async dgrams_in 5
	kecho-udp -p 8081 raw -P 1024
	expect_stat echo_async dgrams_out 1 10
	# 16 payload bytes each: all 6 received, the one answer sent.
	expect_stat echo_async bytes_in 96
	expect_stat echo_async bytes_out 16
	kecho-udp -p 8081 sizes -x "$SEED"
	expect_stat echo_async dgrams_bad_port 5
	expect_stat echo_async dgrams_bad_addr 0
	unload echo_async
}

# The UDP port taken: loading fails, says so, and leaves nothing behind.
t_async_udp_port_in_use() {
	kecho-udp -p 8081 bind -T 60 >/tmp/out.bind &
	echo $! >/tmp/out.bind.pid
	wait_for_line /tmp/out.bind holding 10
	expect_load_error 98 echo_async
	dmesg_has "echo_async: UDP port 8081 is already in use"
	[ ! -e /proc/net/echo_async ] || fail "/proc/net/echo_async left"
	load echo_async udp=0
	kecho-client -p 8081 echo -c 2 -s 1 -S 1000 -x "$SEED"
	unload echo_async
	kill "$(cat /tmp/out.bind.pid)"
	wait || true
}

# Unloading in the middle of a flood: clean, and a reload serves.
t_async_udp_unload_flood() {
	local pid i=0
	load echo_async
	kecho-udp -p 8081 -t 20 flood -c 50 -n 100000000 -x "$SEED" \
		>/tmp/out.uflood 2>&1 &
	pid=$!
	while [ "$(stat_of echo_async dgrams_in)" -lt 2000 ]; do
		i=$((i + 1))
		[ $i -le 600 ] || fail "no flood: $(cat /proc/net/echo_async)"
		usleep 100000
	done
	unload echo_async
	load echo_async
	# The reloaded server takes the rest of the flood, which ends at its
	# timeout; what came back was never corrupt. Then every size is
	# answered: during the flood a full receive queue may drop any
	# datagram (the preemptible debug kernel dropped one of sizes' five
	# tries of 3 bytes), which is UDP, not a fault.
	wait "$pid" || true
	grep -q "corrupt=0 foreign=0 dup=0" /tmp/out.uflood ||
		fail "$(cat /tmp/out.uflood)"
	kecho-udp -p 8081 sizes -x "$SEED"
	unload echo_async
}

# ---- run-time control: kechoctl, the ksrv netlink family, namespaces ----

# ctl_error REGEX COMMAND...: the command fails, saying something that
# matches REGEX.
ctl_error() {
	local re=$1
	shift
	! "$@" >/tmp/out.ctl 2>&1 || fail "'$*' succeeded: $(cat /tmp/out.ctl)"
	grep -qE "$re" /tmp/out.ctl ||
		fail "'$*' said '$(cat /tmp/out.ctl)', want /$re/"
}

# ctl_add ARGS...: kechoctl add ARGS; prints the new listener's id.
ctl_add() {
	local out
	out=$(kechoctl -j add "$@" 2>&1) ||
		fail "kechoctl add $*: $out" >&2 || return 1
	echo "$out" | jq .id
}

# jq_ok FILTER FILE: the JSON in FILE satisfies FILTER.
jq_ok() {
	jq -e "$1" "$2" >/dev/null || fail "not $1: $(cat "$2")"
}

# listener_stat MODULE ID KEY [PID]: one listener's counter in
# /proc/net/MODULE (of PID's network namespace).
listener_stat() {
	awk -v id="$2" -v k="$3" '$1 == "listener" { on = ($2 == id) }
				   on && $1 == k { print $2 }' \
		"/proc/${4:-self}/net/$1"
}

# ns_link NAME N: a veth link from here (10.77.N.1) to the namespace
# (10.77.N.2), whose end goes with the namespace.
ns_link() {
	local peer
	ip link add "kv$2" type veth
	# Without a peer name the driver picks the next vethN.
	peer=$(ls /sys/class/net | grep '^veth' | head -n 1)
	ip link set "$peer" netns "$(cat "/tmp/out.ns.$1")"
	ip addr add "10.77.$2.1/24" dev "kv$2"
	ip link set "kv$2" up
	ns_run "$1" ip addr add "10.77.$2.2/24" dev "$peer"
	ns_run "$1" ip link set "$peer" up
}

# ns_conns NAME N: the namespace's TCP listeners hold N connections
# (within a minute).
ns_conns() {
	local i=0 n
	while n=$(ns_run "$1" kechoctl -j list |
		  jq '[.[] | select(.proto == "tcp") | .conns] | add') &&
	      [ "$n" != "$2" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || fail "namespace $1: $n connections, want $2" ||
			return 1
		usleep 100000
	done
}

# Listeners added, used, listed and removed at run time, both protocols.
t_ctl_runtime() {
	load echo_async autostart=0
	[ ! -e /proc/net/echo_async ] || fail "a listener with autostart=0"
	[ "$(kechoctl -j list)" = "[]" ] ||
		fail "listeners with autostart=0: $(kechoctl list)"
	! kecho-client -p 8081 -t 10 echo -c 1 -s 1 -S 1 >/dev/null 2>&1 ||
		fail "port 8081 served with autostart=0"
	local a b c i k keys
	a=$(ctl_add tcp 7001)
	b=$(ctl_add tcp 7002 addr 127.0.0.1 max_conns 2 idle_timeout 600)
	c=$(ctl_add udp 7001)
	# Numbered in order in the namespace (from 1 at its first listener).
	[ "$b" = $((a + 1)) ] && [ "$c" = $((a + 2)) ] ||
		fail "listener ids $a, $b, $c"
	[ "$(kechoctl add tcp 7003)" = "added listener $((a + 3))" ] ||
		fail "text output of add"
	kechoctl -j del $((a + 3)) | grep -qx "{\"id\":$((a + 3))}" ||
		fail "JSON output of del"
	kecho-client -p 7001 -t 120 echo -c 4 -s 1 -S 65536 -x "$SEED"
	kecho-client -a 127.0.0.1 -p 7002 -t 120 echo -c 2 -s 1 -S 1000 -x "$SEED"
	! kecho-client -a ::1 -p 7002 -t 10 echo -c 1 -s 1 -S 1 >/dev/null 2>&1 ||
		fail "listener 2 (127.0.0.1) answered on ::1"
	kecho-udp -p 7001 sizes -x "$SEED"
	expect_stat echo_async conns 0 30
	kechoctl -j list >/tmp/out.list
	jq_ok 'length == 3' /tmp/out.list
	jq_ok ".[0].id == $a and .[1].id == $b and .[2].id == $c" /tmp/out.list
	jq_ok '.[0] | .service == "echo_async" and .proto == "tcp"
		and .addr == "::" and .port == 7001 and .backlog == 4096
		and .idle_timeout == 0 and .conns == 0
		and .stats.accepted == 4 and .stats.errors == 0' /tmp/out.list
	jq_ok '.[1] | .addr == "127.0.0.1" and .max_conns == 2
		and .idle_timeout == 600 and .stats.accepted == 2' /tmp/out.list
	jq_ok '.[2] | .proto == "udp" and .port == 7001 and (has("conns") | not)
		and .stats.dgrams_in > 0
		and .stats.dgrams_out == .stats.dgrams_in' /tmp/out.list
	# The JSON and each listener's block in /proc/net say the same, and
	# have the same counters: the TCP ones, or the UDP ones.
	for i in 0 1 2; do
		keys="accepted refused over_budget idle_closed errors bytes_in bytes_out send_wait_ack send_wait_probe send_wait_nomem softirq_to_task held"
		[ $i = 2 ] && keys="dgrams_in errors bytes_in bytes_out dgrams_out dgrams_dropped dgrams_bad_port dgrams_bad_addr"
		[ "$(jq -r ".[$i].stats | keys_unsorted | join(\" \")" \
		     /tmp/out.list)" = "$keys" ] ||
			fail "listener $((a + i))'s counters: $(cat /tmp/out.list)"
		for k in $keys; do
			[ "$(jq ".[$i].stats.$k" /tmp/out.list)" = \
			  "$(listener_stat echo_async $((a + i)) $k)" ] ||
				fail "listener $((a + i)) $k: $(cat /tmp/out.list)" \
					"$(cat /proc/net/echo_async)"
		done
	done
	# Open connections, with their peers and byte counts.
	kecho-client -p 7001 -t 120 hold -c 3 -b -w /tmp/out.ctl.ready \
		-x "$SEED" >/tmp/out.hold 2>&1 &
	echo $! >/tmp/out.hold.pid
	wait_for_file /tmp/out.ctl.ready 60
	sleep 1
	kechoctl -j conns "$a" >/tmp/out.conns
	jq_ok "length == 3 and all(.[]; .listener == $a
		and (.peer | test(\"^\\\\[::ffff:127\\\\.0\\\\.0\\\\.1\\\\]:[0-9]+$\"))
		and .bytes_in > 0 and .age_ms >= 0)" /tmp/out.conns
	[ "$(kechoctl -j conns "$b")" = "[]" ] || fail "conns of listener $b"
	[ "$(kechoctl conns | wc -l)" = 3 ] || fail "$(kechoctl conns)"
	# A dump of many parts: each connection once.
	hold_start many 7001 -c 700
	wait_for_file /tmp/out.many.ready 120
	expect_stat echo_async conns 703 60
	kechoctl -j conns "$a" >/tmp/out.conns
	jq_ok 'length == 703 and ([.[].peer] | unique | length) == 703' \
		/tmp/out.conns
	kill "$(cat /tmp/out.many.pid)"
	wait "$(cat /tmp/out.many.pid)" || true
	expect_stat echo_async conns 3 60
	# Removing a listener closes its connections and frees its port.
	kechoctl del "$b" >/dev/null
	! kecho-client -a 127.0.0.1 -p 7002 -t 10 echo -c 1 -s 1 -S 1 \
		>/dev/null 2>&1 || fail "listener $b served after del"
	ctl_error "no such listener" kechoctl del "$b"
	kechoctl del "$a" >/dev/null
	hold_wait hold 3
	dmesg_has "echo_async: stopped TCP \[::\]:7001, 3 connections closed"
	kechoctl -j list >/tmp/out.list
	jq_ok "length == 1 and .[0].id == $c" /tmp/out.list
	kechoctl del "$c" >/dev/null
	[ ! -e /proc/net/echo_async ] || fail "/proc/net/echo_async left"
	[ "$(ctl_add tcp 7001)" -gt "$c" ] || fail "an id used again"
	kecho-client -p 7001 -t 60 echo -c 2 -s 1 -S 1000 -x "$SEED"
	unload echo_async
	[ ! -e /proc/net/echo_async ] || fail "/proc/net/echo_async left"
	[ "$(kechoctl -j list)" = "[]" ] || fail "listeners after unload"
}

# apply_id PORT PROTO: the id of this namespace's listener on PORT.
apply_id() {
	kechoctl -j list |
		jq ".[] | select(.port == $1 and .proto == \"$2\") | .id"
}

# apply_conns ID N: listener ID holds N connections (within 30 s).
apply_conns() {
	poll_until 30 "listener $1 does not hold $2 connections" \
		apply_conns_is "$1" "$2"
}

apply_conns_is() {
	[ "$(kechoctl -j list | jq ".[] | select(.id == $1) | .conns")" = "$2" ]
}

# kechoctl apply: the namespace's listeners made those a file lists, again
# and again without touching what is already so.
t_ctl_apply() {
	local f=/tmp/out.apply.conf ids out a s u t n last
	load echo_sync autostart=0
	load echo_async autostart=0
	printf '%s\n' '# listeners of ctl.apply' '' \
		'service echo_async tcp 7601   # every address' \
		'  service echo_sync tcp 7602 addr 127.0.0.1 max_conns 8' \
		'udp 7601' '# tcp 7609' 'tcp 7603 idle_timeout 600' >"$f"
	kechoctl apply "$f" >/tmp/out.apply
	[ "$(grep -c '^added listener [0-9]*: ' /tmp/out.apply)" = 4 ] ||
		fail "first apply: $(cat /tmp/out.apply)"
	grep -qx "added listener [0-9]*: echo_sync tcp 127.0.0.1:7602 ($f:4)" \
		/tmp/out.apply || fail "first apply: $(cat /tmp/out.apply)"
	a=$(apply_id 7601 tcp)
	s=$(apply_id 7602 tcp)
	u=$(apply_id 7601 udp)
	t=$(apply_id 7603 tcp)
	kechoctl -j list >/tmp/out.list
	jq_ok "length == 4 and ([.[].id] | sort) == ([$a, $s, $u, $t] | sort)" \
		/tmp/out.list
	jq_ok ".[] | select(.id == $a) | .service == \"echo_async\"
		and .addr == \"::\" and .max_conns == 65536
		and .idle_timeout == 0" /tmp/out.list
	jq_ok ".[] | select(.id == $s) | .service == \"echo_sync\"
		and .addr == \"127.0.0.1\" and .max_conns == 8" /tmp/out.list
	jq_ok ".[] | select(.id == $t) | .idle_timeout == 600" /tmp/out.list
	kecho-client -p 7601 -t 60 echo -c 2 -s 1 -S 4096 -x "$SEED"
	kecho-client -a 127.0.0.1 -p 7602 -t 60 echo -c 2 -s 1 -S 4096 -x "$SEED"
	kecho-client -p 7603 -t 60 echo -c 2 -s 1 -S 4096 -x "$SEED"
	kecho-udp -p 7601 sizes -x "$SEED"
	! kecho-client -p 7609 -t 10 echo -c 1 -s 1 -S 1 >/dev/null 2>&1 ||
		fail "a commented-out line was applied"

	# The same file again changes nothing: the same listeners, and a
	# connection held across it still echoes.
	hold_start held 7601 -c 2
	wait_for_file /tmp/out.held.ready 60
	ids=$(kechoctl -j list | jq -c '[.[].id]')
	kechoctl -j apply "$f" >/tmp/out.apply
	jq_ok 'length == 4 and all(.[]; .action == "keep")' /tmp/out.apply
	out=$(kechoctl apply "$f")
	[ -z "$out" ] || fail "a third apply changed something: $out"
	out=$(kechoctl apply -n - <"$f")
	[ -z "$out" ] || fail "a dry run found changes: $out"
	[ "$(kechoctl -j list | jq -c '[.[].id]')" = "$ids" ] ||
		fail "listeners $ids became $(kechoctl -j list)"
	apply_conns "$a" 2
	kill -USR1 "$(cat /tmp/out.held.pid)"
	wait_for_line /tmp/out.held "probe ok=" 60
	grep -q "probe ok=2 fail=0" /tmp/out.held ||
		fail "probe after the second apply: $(cat /tmp/out.held)"

	# A dry run says what would change, and changes nothing.
	sed -i '/7603/d' "$f"
	kechoctl apply -n "$f" >/tmp/out.apply
	grep -qx "would delete listener $t: echo_async tcp \[::\]:7603" \
		/tmp/out.apply || fail "dry run: $(cat /tmp/out.apply)"
	[ "$(kechoctl -j list | jq -c '[.[].id]')" = "$ids" ] ||
		fail "a dry run changed $ids into $(kechoctl -j list)"
	# A line removed: its listener goes, and only it.
	kechoctl apply "$f" >/tmp/out.apply
	[ "$(cat /tmp/out.apply)" = \
	  "deleted listener $t: echo_async tcp [::]:7603" ] ||
		fail "removing a line: $(cat /tmp/out.apply)"
	kechoctl -j list >/tmp/out.list
	jq_ok "([.[].id] | sort) == ([$a, $s, $u] | sort)" /tmp/out.list
	# The probe's own connection closes by itself.
	apply_conns "$a" 2
	! kecho-client -p 7603 -t 10 echo -c 1 -s 1 -S 1 >/dev/null 2>&1 ||
		fail "port 7603 served after its line went"

	# An option changed: that listener is replaced, the others stay.
	sed -i 's/max_conns 8/max_conns 9/' "$f"
	kechoctl apply "$f" >/tmp/out.apply
	n=$(apply_id 7602 tcp)
	[ "$(cat /tmp/out.apply)" = "replaced listener $s by $n: echo_sync tcp 127.0.0.1:7602 (max_conns 9, was 8; $f:4)" ] ||
		fail "changing an option: $(cat /tmp/out.apply)"
	kechoctl -j list >/tmp/out.list
	jq_ok "([.[].id] | sort) == ([$a, $n, $u] | sort)
		and (.[] | select(.id == $n) | .max_conns == 9)" /tmp/out.list
	apply_conns "$a" 2
	kecho-client -a 127.0.0.1 -p 7602 -t 60 echo -c 1 -s 1 -S 1000 -x "$SEED"

	# A bad line: FILE:LINE, and nothing changed, not even the good lines.
	ids=$(kechoctl -j list | jq -c '[.[].id]')
	cp "$f" "$f.bad"
	printf '%s\n' 'tcp 7604' 'tcp 7605 max_conns many' >>"$f.bad"
	last=$(wc -l <"$f.bad")
	ctl_error "^$f.bad:$last: max_conns: not a number: many$" \
		kechoctl apply "$f.bad"
	grep -q "1 bad line, nothing changed" /tmp/out.ctl ||
		fail "$(cat /tmp/out.ctl)"
	[ "$(kechoctl -j list | jq -c '[.[].id]')" = "$ids" ] ||
		fail "a bad file changed $ids into $(kechoctl -j list)"
	! kecho-client -p 7604 -t 10 echo -c 1 -s 1 -S 1 >/dev/null 2>&1 ||
		fail "a line of a bad file was applied"
	# A line the kernel refuses is named, and the others are applied.
	cp "$f" "$f.bad"
	printf '%s\n' 'service nosuch tcp 7606' 'tcp 7605' >>"$f.bad"
	ctl_error "^$f.bad:$((last - 1)): No such file.*no such service" \
		kechoctl apply "$f.bad"
	grep -q "^added listener [0-9]*: echo_async tcp \[::\]:7605 " \
		/tmp/out.ctl || fail "$(cat /tmp/out.ctl)"
	kecho-client -p 7605 -t 60 echo -c 1 -s 1 -S 1000 -x "$SEED"
	kechoctl apply "$f" >/tmp/out.apply
	grep -q "^deleted listener [0-9]*: echo_async tcp \[::\]:7605$" \
		/tmp/out.apply || fail "$(cat /tmp/out.apply)"
	kechoctl -j list >/tmp/out.list
	jq_ok "([.[].id] | sort) == ([$a, $n, $u] | sort)" /tmp/out.list

	# An empty file: no listener left, the held connections closed.
	kechoctl apply /dev/null >/dev/null
	[ "$(kechoctl -j list)" = "[]" ] || fail "left: $(kechoctl list)"
	hold_wait held 2
	[ ! -e /proc/net/echo_async ] || fail "/proc/net/echo_async left"
	unload echo_async
	unload echo_sync
}

# Refused requests: an errno, a message naming what was wrong, no change.
t_ctl_errors() {
	load echo_async autostart=0
	# Changing listeners needs CAP_NET_ADMIN over the namespace (a user
	# namespace of our own does not give it); listing does not.
	ctl_error "Operation not permitted" unshare -U kechoctl add tcp 7010
	ctl_error "Operation not permitted" unshare -U kechoctl del 1
	[ "$(unshare -U kechoctl -j list 2>&1)" = "[]" ] ||
		fail "listing from a user namespace: $(unshare -U kechoctl -j list 2>&1)"
	ctl_error "missing.*attribute proto" kechoctl add
	ctl_error "missing.*attribute port" kechoctl add udp
	ctl_error "missing.*attribute listener-id" kechoctl del
	ctl_error "out of range.*attribute port" kechoctl add tcp 0
	ctl_error "out of range.*attribute backlog" kechoctl add tcp 7010 backlog 0
	ctl_error "out of range.*attribute backlog" \
		kechoctl add tcp 7010 backlog 65536
	ctl_error "out of range.*attribute max-conns" \
		kechoctl add tcp 7010 max_conns 1048577
	ctl_error "out of range.*attribute idle-timeout" \
		kechoctl add tcp 7010 idle_timeout 604801
	ctl_error "No such file.*no such service.*attribute service" \
		kechoctl add service nosuch tcp 7010
	ctl_error "policy validation.*attribute service" \
		kechoctl add service echo_async_too_long tcp 7010
	ctl_error "not an IPv4 or IPv6 address.*attribute addr" \
		kechoctl add tcp 7010 addr 1.2.3
	ctl_error "policy validation.*attribute addr" kechoctl add tcp 7010 \
		addr 0000:0000:0000:0000:0000:0000:0000:0000:0000:0000
	ctl_error "not available in this namespace" \
		kechoctl add tcp 7010 addr 10.9.9.9
	ctl_error "no such listener.*attribute listener-id" kechoctl del 42
	ctl_add tcp 7010 >/dev/null
	# At most 256 listeners in a namespace. Ports below the guest's
	# ephemeral range (10000-65000): no client socket holds one.
	for p in $(seq 5001 5255); do
		kechoctl add tcp "$p" >/dev/null
	done
	ctl_error "No space left.*no room for another listener" \
		kechoctl add tcp 5256
	for id in $(kechoctl -j list |
		    jq '.[] | select(.port > 5000 and .port < 6000) | .id'); do
		kechoctl del "$id" >/dev/null
	done
	ctl_error "Address (already )?in use.*port already in use" \
		kechoctl add tcp 7010
	load echo_sync autostart=0
	ctl_error "the service serves no UDP.*attribute proto" \
		kechoctl add service echo_sync udp 7011
	# Nothing but the one good request changed anything.
	kechoctl -j list >/tmp/out.list
	jq_ok 'length == 1 and .[0].port == 7010' /tmp/out.list
	[ ! -e /proc/net/echo_sync ] || fail "/proc/net/echo_sync exists"
	unload echo_sync
	unload echo_async
	# Bad parameters fail a load even with nothing to start.
	expect_load_error 22 echo_async autostart=0 port=0
}

# The family driven through the kernel's own YNL library (tools/net/ynl/lib
# of 6.12) and the spec, as the kernel's netlink selftests drive theirs:
# tests/guest/ynl_test.py, in the python3 vm.sh packs. Every operation
# (listener-add for each service and protocol, with and without options;
# listener-del; both dumps, with live connections), each refusal's errno
# and extack (message, attribute, policy), as a user namespace's root and
# as a user without the capability, dumps of many parts, and three
# network namespaces. The test prints its own TAP; its results and
# figures show as info lines.
t_ctl_ynl() {
	[ -x /usr/bin/python3 ] || fail "no python3 in the initramfs"
	load echo_async autostart=0
	load echo_sync autostart=0 idle_timeout=30
	load discard autostart=0
	python3 -S -B /tests/ynl_test.py >/tmp/out.ynl 2>&1 ||
		fail "$(cat /tmp/out.ynl)"
	sed -n '/^info: /p; s/^ok [0-9]* /info: /p' /tmp/out.ynl
	# The user namespace's listeners went with its network namespace.
	wait_for_dmesg "echo_sync: stopped TCP \[::\]:7504" 1 60
	wait_for_dmesg "discard: stopped UDP \[::\]:7505" 1 60
	[ "$(kechoctl -j list)" = "[]" ] ||
		fail "listeners left: $(kechoctl list)"
	unload discard
	unload echo_sync
	unload echo_async
}

# Listeners in two namespaces on the same port see only their own
# clients; a namespace that goes with live connections takes them along.
t_ctl_netns() {
	local p id
	load echo_async autostart=0
	id=$(ctl_add tcp 7020)
	ns_start a
	ns_start b
	# A new namespace numbers its listeners from 1.
	[ "$(ns_run a kechoctl add tcp 7020)" = "added listener 1" ] ||
		fail "first id in namespace a"
	[ "$(ns_run b kechoctl add tcp 7020)" = "added listener 1" ] ||
		fail "first id in namespace b"
	[ "$(ns_run b kechoctl add udp 7020)" = "added listener 2" ] ||
		fail "second id in namespace b"
	ns_run a kecho-client -p 7020 -t 60 echo -c 3 -s 1 -S 1000 -x "$SEED"
	ns_run b kecho-client -p 7020 -t 60 echo -c 5 -s 1 -S 1000 -x "$SEED"
	ns_run b kecho-udp -p 7020 sizes -x "$SEED"
	kecho-client -p 7020 -t 60 echo -c 1 -s 1 -S 1000 -x "$SEED"
	ns_run a kechoctl -j list >/tmp/out.a
	ns_run b kechoctl -j list >/tmp/out.b
	kechoctl -j list >/tmp/out.init
	jq_ok 'length == 1 and .[0].stats.accepted == 3' /tmp/out.a
	jq_ok 'length == 2 and .[0].stats.accepted == 5
		and .[1].stats.dgrams_in > 0' /tmp/out.b
	jq_ok 'length == 1 and .[0].stats.accepted == 1' /tmp/out.init
	# Each namespace's /proc/net/echo_async shows its own listeners.
	p=$(cat /tmp/out.ns.a)
	[ "$(listener_stat echo_async 1 accepted "$p")" = 3 ] ||
		fail "namespace a: $(cat /proc/$p/net/echo_async)"
	[ "$(listener_stat echo_async "$id" accepted)" = 1 ] ||
		fail "init: $(cat /proc/net/echo_async)"
	# Namespace a goes with 20 live connections from here, over veth.
	ns_link a 1
	kecho-client -a 10.77.1.2 -p 7020 -t 300 hold -c 20 \
		-w /tmp/out.ahold.ready -x "$SEED" >/tmp/out.ahold 2>&1 &
	echo $! >/tmp/out.ahold.pid
	wait_for_file /tmp/out.ahold.ready 60
	ns_conns a 20
	ns_kill a
	wait_for_dmesg "stopped TCP \[::\]:7020, 20 connections reset" 1 60 ||
		fail "namespace a's listener: $(dmesg | grep stopped)"
	# The resets went out before the namespace's devices did.
	hold_wait ahold 20
	# The others are untouched.
	ns_run b kecho-client -p 7020 -t 60 echo -c 2 -s 1 -S 1000 -x "$SEED"
	kecho-client -p 7020 -t 60 echo -c 2 -s 1 -S 1000 -x "$SEED"
	ns_kill b
	wait_for_dmesg "echo_async: stopped UDP \[::\]:7020" 1 60
	kechoctl -j list >/tmp/out.init
	jq_ok 'length == 1 and .[0].stats.accepted == 3' /tmp/out.init
	unload echo_async
}

# Root of a new user namespace owns its new network namespace: it may add
# listeners there, and they go with it.
t_ctl_userns() {
	load echo_async autostart=0
	unshare -r -n sh -c 'ip link set lo up &&
		kechoctl add tcp 7050 >/dev/null &&
		kecho-client -p 7050 -t 60 echo -c 2 -s 1 -S 100 &&
		kechoctl -j list >/tmp/out.json &&
		! kechoctl add tcp 7051 max_conns 100000 2>/tmp/out.eperm' \
		>/tmp/out.userns 2>&1 ||
		fail "in a user namespace: $(cat /tmp/out.userns)"
	jq_ok 'length == 1 and .[0].stats.accepted == 2' /tmp/out.json
	# But not raise a listener's cost above the module's choice.
	grep -q "Operation not permitted: above the module's max_conns" \
		/tmp/out.eperm || fail "max_conns raised: $(cat /tmp/out.eperm)"
	wait_for_dmesg "echo_async: stopped TCP \[::\]:7050" 1 60
	[ "$(kechoctl -j list)" = "[]" ] || fail "a listener leaked here"
	unload echo_async
}

# Namespaces created and destroyed in a loop, each with live connections
# to a listener of each server: nothing outlives its namespace.
t_ctl_netns_loop() {
	local i n=$NETNS_LOOPS total srv
	load echo_sync autostart=0
	load echo_async autostart=0
	[ $DEBUG_KERNEL = 0 ] || echo clear >/sys/kernel/debug/kmemleak
	for i in $(seq $n); do
		ns_start "l$i"
		ns_link "l$i" "$i"
		for srv in "echo_sync 7031" "echo_async 7032"; do
			set -- $srv
			ns_run "l$i" kechoctl add service "$1" tcp "$2" >/dev/null
			kecho-client -a "10.77.$i.2" -p "$2" -t 300 hold -c 10 -b \
				-w "/tmp/out.l$i.$1.ready" -x "$SEED" \
				>"/tmp/out.l$i.$1" 2>&1 &
			echo $! >"/tmp/out.l$i.$1.pid"
		done
		ns_run "l$i" kechoctl add udp 7032 >/dev/null
		wait_for_file "/tmp/out.l$i.echo_sync.ready" 120
		wait_for_file "/tmp/out.l$i.echo_async.ready" 120
		ns_conns "l$i" 20
		ns_kill "l$i"
		wait_for_dmesg "echo_async: stopped UDP" "$i" 120
		hold_wait "l$i.echo_sync" 10
		hold_wait "l$i.echo_async" 10
	done
	# Every live connection was reset by its namespace's exit.
	total=$(dmesg | sed -n 's/.*stopped TCP .*, \([0-9]*\) connections reset/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	echo "info: $n namespaces, $total connections reset at their exit"
	[ "$total" = $((n * 20)) ] ||
		fail "$total connections reset, want $((n * 20)): $(dmesg | grep stopped)"
	[ $DEBUG_KERNEL = 0 ] || kmemleak_check "after $n namespaces"
	unload echo_async
	unload echo_sync
}

# Unloading with listeners in several namespaces and live connections.
t_ctl_unload_netns() {
	load echo_sync autostart=0
	load echo_async
	ns_start u1
	ns_start u2
	ns_run u1 kechoctl add tcp 7040 >/dev/null
	ns_run u1 kechoctl add service echo_sync tcp 7041 >/dev/null
	ns_run u2 kechoctl add tcp 7040 >/dev/null
	ns_run u2 kechoctl add udp 7040 >/dev/null
	for c in "u1 7040" "u1 7041" "u2 7040"; do
		set -- $c
		ns_run "$1" kecho-client -p "$2" -t 300 hold -c 10 -b \
			-w "/tmp/out.$1.$2.ready" -x "$SEED" >"/tmp/out.$1.$2" 2>&1 &
		echo $! >"/tmp/out.$1.$2.pid"
	done
	hold_start init 8081 -c 10 -b
	for f in u1.7040 u1.7041 u2.7040 init; do
		wait_for_file "/tmp/out.$f.ready" 120
	done
	unload echo_async
	for f in u1.7040 u2.7040; do
		wait "$(cat "/tmp/out.$f.pid")" || fail "$(cat "/tmp/out.$f")"
		grep -q "closed_by_peer=10 " "/tmp/out.$f" ||
			fail "not closed by the server: $(cat "/tmp/out.$f")"
	done
	hold_wait init 10
	[ "$(ns_run u1 kechoctl -j list | jq -c '[.[].service]')" = \
	  '["echo_sync"]' ] || fail "$(ns_run u1 kechoctl list)"
	unload echo_sync
	wait "$(cat /tmp/out.u1.7041.pid)" || fail "$(cat /tmp/out.u1.7041)"
	grep -q "closed_by_peer=10 " /tmp/out.u1.7041 ||
		fail "not closed by the server: $(cat /tmp/out.u1.7041)"
	[ "$(ns_run u2 kechoctl -j list)" = "[]" ] ||
		fail "listeners left in u2: $(ns_run u2 kechoctl list)"
	ns_kill u1
	ns_kill u2
}

# ---- what one user may make ksrv hold (ksrv/ksrv_user.c) ----

# ns_start_user NAME: as ns_start, but the network namespace is owned by a
# user namespace that uid 1000 made.
ns_start_user() {
	local pid
	kecho-as 1000 /sys/fs/cgroup unshare -r -n sleep 100000 &
	pid=$!
	echo "$pid" >"/tmp/out.ns.$1"
	poll_until 10 "no namespace for $1" ns_other "$pid"
	nsenter -t "$pid" -n ip link set lo up
}

# stat_is MODULE ID KEY VALUE PID: listener ID's counter has VALUE now.
stat_is() {
	[ "$(listener_stat "$1" "$2" "$3" "$5")" = "$4" ]
}

# comm_count REGEX N: N tasks' names match REGEX now.
comm_count() {
	[ "$(ps -o comm | grep -cE "$1")" = "$2" ]
}

# Budgets per user, across namespaces; the admin's listeners have none.
t_ctl_user_budget() {
	load echo_async autostart=0
	load echo_sync autostart=0
	user_limits 3 5 2 120
	ns_start_user b1
	ns_run b1 kechoctl add udp 7101 >/dev/null
	ns_run b1 kechoctl add udp 7102 >/dev/null
	# Another user namespace of the same user: one more fits, not two.
	kecho-as 1000 /sys/fs/cgroup unshare -r -n sh -c \
		'kechoctl add udp 7103 >/dev/null &&
		 ! kechoctl add udp 7104 2>/tmp/out.quota' >/tmp/out.b2 2>&1 ||
		fail "a second namespace: $(cat /tmp/out.b2)"
	grep -q "Disk quota exceeded: the namespace's owner has all the listeners its budget allows" \
		/tmp/out.quota || fail "over the budget: $(cat /tmp/out.quota)"
	dmesg_has "ksrv: uid 1000 is at its max_user_listeners \(3\)"
	# Namespaces root made (a container runtime's) are a budget each.
	for i in 1 2; do
		unshare -r -n sh -c 'kechoctl add udp 7105 && kechoctl add udp 7106 &&
			kechoctl add udp 7107' >/tmp/out.root 2>&1 ||
			fail "root's namespace $i: $(cat /tmp/out.root)"
	done
	# That namespace is gone, and its listener with it: room for one.
	ns_run b1 kechoctl del 1
	ns_run b1 kechoctl del 2
	local a s
	a=$(ns_run b1 kechoctl -j add tcp 7110 | jq .id)
	s=$(ns_run b1 kechoctl -j add service echo_sync tcp 7111 | jq .id)
	# Connections: 5 for the user, whichever listener; then refused.
	echo >$TRACE/trace
	echo 1 >$TRACE/events/ksrv/ksrv_refuse/enable
	ns_run b1 kecho-client -p 7111 -t 300 hold -c 2 -w /tmp/out.s.ready \
		-x "$SEED" >/tmp/out.s 2>&1 &
	echo $! >/tmp/out.s.pid
	wait_for_file /tmp/out.s.ready 120
	[ "$(ps -o comm | grep -c '^echo_sync/[0-9]')" = 2 ] ||
		fail "echo_sync threads: $(ps -o comm | grep echo_sync)"
	ns_run b1 kecho-client -p 7111 -t 120 refused -c 3 >/tmp/out.r1 ||
		fail "over max_user_threads: $(cat /tmp/out.r1)"
	ns_run b1 kecho-client -p 7110 -t 300 hold -c 3 -w /tmp/out.a.ready \
		-x "$SEED" >/tmp/out.a 2>&1 &
	echo $! >/tmp/out.a.pid
	wait_for_file /tmp/out.a.ready 120
	ns_run b1 kecho-client -p 7110 -t 120 refused -c 4 >/tmp/out.r2 ||
		fail "over max_user_conns: $(cat /tmp/out.r2)"
	local pid
	pid=$(cat /tmp/out.ns.b1)
	[ "$(listener_stat echo_sync "$s" over_budget "$pid")" = 3 ] ||
		fail "echo_sync: $(cat "/proc/$pid/net/echo_sync")"
	[ "$(listener_stat echo_async "$a" over_budget "$pid")" = 4 ] ||
		fail "echo_async: $(cat "/proc/$pid/net/echo_async")"
	[ "$(listener_stat echo_async "$a" conns "$pid")" = 3 ] ||
		fail "echo_async: $(cat "/proc/$pid/net/echo_async")"
	echo 0 >$TRACE/events/ksrv/ksrv_refuse/enable
	# Each refusal traced with the limit it hit.
	[ "$(grep -c 'ksrv_refuse: .* limit=budget$' $TRACE/trace)" = 7 ] ||
		fail "ksrv_refuse events: $(grep ksrv_refuse $TRACE/trace)"
	dmesg_has "ksrv: uid 1000 is at its max_user_threads \(2\)"
	dmesg_has "ksrv: uid 1000 is at its max_user_conns \(5\)"
	# The admin's listener is not counted against anybody.
	kechoctl add tcp 7120 >/dev/null
	kecho-client -p 7120 -t 300 echo -c 20 -s 1 -S 1000 -x "$SEED" ||
		fail "the admin's listener"
	expect_stat echo_async over_budget 0
	unload echo_async
	hold_wait a 3
	unload echo_sync
	hold_wait s 2
	ns_kill b1
	# A namespace's root may not keep connections longer than the module.
	load echo_async autostart=0 idle_timeout=30
	ctl_error "Operation not permitted: longer than the module's idle_timeout" \
		unshare -r -n kechoctl add tcp 7130 idle_timeout 0
	ctl_error "Operation not permitted: longer than the module's idle_timeout" \
		unshare -r -n kechoctl add tcp 7130 idle_timeout 31
	unshare -r -n kechoctl add tcp 7130 idle_timeout 30 >/tmp/out.idle 2>&1 ||
		fail "idle_timeout 30: $(cat /tmp/out.idle)"
	kechoctl add tcp 7131 idle_timeout 0 >/dev/null
	unload echo_async
}

# A peer that vanishes without FIN or RST: a user's connections are
# reset once the peer has answered nothing for peer_timeout; the admin's
# are left as they are.
t_ctl_user_peer_timeout() {
	load echo_async autostart=0
	load echo_sync autostart=0
	user_limits 64 4096 64 4
	ns_start_user v
	local pid a s
	pid=$(cat /tmp/out.ns.v)
	a=$(ns_run v kechoctl -j add tcp 7140 | jq .id)
	s=$(ns_run v kechoctl -j add service echo_sync tcp 7141 | jq .id)
	kechoctl add tcp 7142 >/dev/null
	ns_run v kecho-vanish -p 7140 -c 20 >/tmp/out.v1 || fail "$(cat /tmp/out.v1)"
	ns_run v kecho-vanish -p 7141 -c 20 >/tmp/out.v2 || fail "$(cat /tmp/out.v2)"
	kecho-vanish -p 7142 -c 20 >/tmp/out.v3 || fail "$(cat /tmp/out.v3)"
	poll_until 30 "echo_async kept vanished peers" \
		stat_is echo_async "$a" conns 0 "$pid" ||
		fail "$(cat "/proc/$pid/net/echo_async")"
	poll_until 30 "echo_sync kept vanished peers" \
		stat_is echo_sync "$s" conns 0 "$pid" ||
		fail "$(cat "/proc/$pid/net/echo_sync")"
	[ "$(listener_stat echo_async "$a" errors "$pid")" = 20 ] ||
		fail "echo_async: $(cat "/proc/$pid/net/echo_async")"
	[ "$(listener_stat echo_sync "$s" errors "$pid")" = 20 ] ||
		fail "echo_sync: $(cat "/proc/$pid/net/echo_sync")"
	poll_until 10 "echo_sync threads left" comm_count '^echo_sync/[0-9]' 0
	# The admin's own listener keeps what it was given.
	expect_stat echo_async conns 20
	ns_kill v
	unload echo_async
	unload echo_sync
}

# attack_cg N: a new cgroup, /sys/fs/cgroup/attacker$N, limited as the
# issue's attacker was (memory.max 64M, pids.max 200), where attack runs.
attack_cg() {
	ATTACK_CG=/sys/fs/cgroup/attacker$1
	mkdir "$ATTACK_CG"
	echo 64M >"$ATTACK_CG/memory.max"
	echo 200 >"$ATTACK_CG/pids.max"
}

# attack NAME SCRIPT: SCRIPT run as uid 1000 in $ATTACK_CG, in user and
# network namespaces of its own, which last until attack_end;
# /tmp/out.atk.NAME.ready appears when SCRIPT is done.
attack() {
	kecho-as 1000 "$ATTACK_CG" unshare -r -n sh -c \
		"ip link set lo up && $2 && echo ok >/tmp/out.atk.$1.ready &&
		 exec sleep 100000" >"/tmp/out.atk.$1" 2>&1 &
	echo $! >"/tmp/out.atk.$1.pid"
	wait_for_file "/tmp/out.atk.$1.ready" 300 ||
		fail "attack $1: $(cat "/tmp/out.atk.$1"; attack_diag "$1")"
}

# attack_flood NAME SERVICE PORT HELD REFUSED: an attack that adds a
# listener of SERVICE, holds HELD connections to it (its budget) and then
# opens REFUSED more, each of which must be closed at once and counted in
# over_budget.
attack_flood() {
	attack "$1" "kechoctl add service $2 tcp $3 >/dev/null &&
		kecho-client -p $3 -t 300 hold -c $4 -w /tmp/out.atk.$1.held \
			>/tmp/out.atk.$1.log 2>&1 &
		while [ ! -e /tmp/out.atk.$1.held ]; do usleep 100000; done &&
		kecho-client -p $3 -t 120 refused -c $5"
	local pid
	pid=$(cat "/tmp/out.atk.$1.pid")
	grep -q "closed_by_peer=$5 ok" "/tmp/out.atk.$1" ||
		fail "over the budget: $(cat "/tmp/out.atk.$1"; attack_diag "$1")"
	[ "$(listener_stat "$2" 1 conns "$pid")" = "$4" ] ||
		fail "$(cat "/proc/$pid/net/$2")"
	[ "$(listener_stat "$2" 1 over_budget "$pid")" = "$5" ] ||
		fail "$(cat "/proc/$pid/net/$2")"
}

# attack_diag NAME: for an attack that went wrong, what its clients said,
# what its cgroup went through, where the services' threads and the
# clients are, and the counters of the listeners in its namespace.
attack_diag() {
	local t
	tail -n 5 /tmp/out.atk.$1.* 2>/dev/null
	echo "--- $ATTACK_CG: memory.current $(cat "$ATTACK_CG/memory.current"), pids.current $(cat "$ATTACK_CG/pids.current")"
	cat "$ATTACK_CG/memory.events" "$ATTACK_CG/pids.events"
	head -n 12 "$ATTACK_CG/memory.stat"
	for t in $(ps -o pid,comm | awk '$2 ~ /^(echo_|kecho-)/ { print $1 }'); do
		echo "--- $(cat "/proc/$t/comm") ($t): $(cat "/proc/$t/wchan" 2>/dev/null)"
		head -n 12 "/proc/$t/stack" 2>/dev/null
	done | head -n 150
	dmesg | tail -n 40
	cat /proc/"$(cat "/tmp/out.atk.$1.pid")"/net/echo_*sync 2>/dev/null
}

# attack_end PID: kill the attack's holder and its clients, whose
# sockets keep its network namespace alive; its listeners go with it.
attack_end() {
	kill -KILL "$1"
	killall -q -KILL kecho-client 2>/dev/null || true
}

# cg_kb: what the attack's cgroup is charged now, in kB.
cg_kb() {
	echo $(($(cat "$ATTACK_CG/memory.current") / 1024))
}

# cg_settled CGROUP: what the cgroup is charged stopped changing (freeing
# a network namespace is deferred work, and RCU frees later still).
cg_settled() {
	local a b
	a=$(cat "$1/memory.current")
	sleep 1
	b=$(cat "$1/memory.current")
	[ "$a" = "$b" ] && [ "$b" -lt 1048576 ]
}

# report WHAT HOST_KB [xN|THREADS]: what the attack made the whole
# guest spend against what its cgroup, which started empty, is charged.
# The host's growth must be within 1.5x of that (xN: N tenths); with
# THREADS connection threads, whose stacks and task structures the kernel
# does not let a module charge (kthreadd allocates them), what was not
# charged must instead stay within 96 kB a thread (about 43 are
# measured): the budget, max_user_threads, is what bounds them.
report() {
	local cg=$(($(cat "$ATTACK_CG/memory.current") / 1024))
	echo "info: $1: host +$2 kB, charged to the attacker's cgroup $cg kB"
	# The debug kernel's own bookkeeping (kmemleak's object per
	# allocation, KASAN's quarantine of freed ones) is nobody's charge.
	[ $DEBUG_KERNEL = 0 ] || return 0
	local r=${3:-x15}
	case $r in
	x*)	[ "$2" -le $((cg * ${r#x} / 10)) ] ||
			fail "$1: the host spent $2 kB, the attacker was charged $cg kB" ;;
	*)	[ $(($2 - cg)) -le $((r * 96)) ] ||
			fail "$1: the host spent $2 kB, $(($2 - cg)) kB not charged" ;;
	esac
}

# The attacks of issue 20, as an unprivileged user in a cgroup with
# memory.max 64M and pids.max 200, in namespaces of its own, with
# kechoctl and sockets only; each in a cgroup of its own, measured from
# an idle guest.
t_ctl_user_attack() {
	[ -e /sys/fs/cgroup/cgroup.subtree_control ] ||
		{ echo "info: no cgroup v2 here"; return 0; }
	load echo_async autostart=0
	load echo_sync autostart=0
	local host i added=0 refused=0 pid
	# 1. UDP listeners from 10 user namespaces, 500 in all (a budget
	# raised so that what they cost stands out of the guest's noise).
	# peer_timeout 60 until step 4: clients of a guest slowed down by
	# the debug kernel can take seconds to answer a keepalive probe.
	user_limits 500 300 64 60
	attack_cg 1
	host=$(host_used_kb)
	for i in 0 1 2 3 4 5 6 7 8 9; do
		attack "udp$i" 'a=0 r=0; for p in $(seq 7200 7259); do
			if kechoctl add udp $p >/dev/null 2>/tmp/out.atk.err; then
				a=$((a + 1)); else r=$((r + 1)); fi; done;
			echo "added=$a refused=$r"'
		set -- $(sed -n 's/^added=\([0-9]*\) refused=\([0-9]*\)$/\1 \2/p' \
			"/tmp/out.atk.udp$i")
		added=$((added + $1))
		refused=$((refused + $2))
	done
	[ "$added $refused" = "500 100" ] ||
		fail "UDP listeners: added $added, refused $refused"
	grep -q "Disk quota exceeded" /tmp/out.atk.err ||
		fail "refusal: $(cat /tmp/out.atk.err)"
	dmesg_has "ksrv: uid 1000 is at its max_user_listeners \(500\)"
	report "500 UDP listeners in 10 namespaces" $(($(host_used_kb) - host))
	for i in 0 1 2 3 4 5 6 7 8 9; do
		kill -KILL "$(cat "/tmp/out.atk.udp$i.pid")"
	done
	poll_until 60 "UDP listeners left" comm_count '^sleep' 0
	poll_until 60 "attack 1 still charged" cg_settled "$ATTACK_CG"
	user_limits 64 1000 64 60
	# 2. A thread per connection: no more threads than the budget.
	attack_cg 2
	host=$(host_used_kb)
	attack_flood sync echo_sync 7300 64 136
	pid=$(cat /tmp/out.atk.sync.pid)
	comm_count '^echo_sync/[0-9]' 64 ||
		fail "echo_sync threads: $(ps -o comm | grep -c '^echo_sync/')"
	echo "info: 200 connections to echo_sync: 64 threads (max_user_threads)"
	report "64 echo_sync connections" $(($(host_used_kb) - host)) 64
	attack_end "$pid"
	poll_until 60 "echo_sync threads left" comm_count '^echo_sync/' 0
	poll_until 60 "attack 2 still charged" cg_settled "$ATTACK_CG"
	# 3. Connections to echo_async: no more than the budget (1,000 for
	# this step).
	attack_cg 3
	host=$(host_used_kb)
	attack_flood async echo_async 7301 1000 100
	pid=$(cat /tmp/out.atk.async.pid)
	# Measured 1.30x and 1.34x on 6.1 (1.37x on the KCSAN kernel), 1.0x
	# and 0.97x on 6.12, the client's side included.
	report "1000 echo_async connections" $(($(host_used_kb) - host))
	attack_end "$pid"
	poll_until 60 "echo_async's acceptor left" comm_count '^echo_async/' 0
	# 3b. The same from outside the namespace, over veth: the server's
	# side is charged to the attacker though its clients are not.
	attack_cg 5
	attack veth 'kechoctl add tcp 7304 >/dev/null'
	pid=$(cat /tmp/out.atk.veth.pid)
	echo "$pid" >/tmp/out.ns.atk
	ns_link atk 9
	local before
	before=$(cg_kb)
	kecho-client -a 10.77.9.2 -p 7304 -t 300 hold -c 500 \
		-w /tmp/out.vh.ready -x "$SEED" >/tmp/out.vh 2>&1 &
	echo $! >/tmp/out.vh.pid
	wait_for_file /tmp/out.vh.ready 300 || fail "$(cat /tmp/out.vh)"
	echo "info: 500 connections from outside over veth: the attacker's cgroup charged +$(($(cg_kb) - before)) kB"
	[ $(($(cg_kb) - before)) -ge 500 ] ||
		fail "500 connections charged $(($(cg_kb) - before)) kB"
	attack_end "$pid"
	poll_until 60 "echo_async's acceptor left" comm_count '^echo_async/' 0
	# 4. Clients that vanish (TCP_REPAIR): freed within peer_timeout.
	user_limits 64 1000 64 4
	attack_cg 4
	attack vanish 'kechoctl add tcp 7302 >/dev/null &&
		kechoctl add service echo_sync tcp 7303 >/dev/null &&
		kecho-vanish -p 7302 -c 50 && kecho-vanish -p 7303 -c 50'
	pid=$(cat /tmp/out.atk.vanish.pid)
	poll_until 30 "vanished peers kept" stat_is echo_async 1 conns 0 "$pid" ||
		fail "$(cat "/proc/$pid/net/echo_async")"
	poll_until 30 "vanished peers kept" stat_is echo_sync 2 conns 0 "$pid" ||
		fail "$(cat "/proc/$pid/net/echo_sync")"
	[ "$(listener_stat echo_async 1 errors "$pid")" = 50 ] ||
		fail "$(cat "/proc/$pid/net/echo_async")"
	attack_end "$pid"
	poll_until 60 "the attacker's listeners left" comm_count '^echo_a?sync/' 0
	unload echo_async
	unload echo_sync
}

# ---- hostile netlink input (tools/kecho-nlfuzz.c) ----

# chaos STOPFILE: until STOPFILE exists, listeners are added and removed,
# namespaces with listeners come and go, and echo_async is unloaded and
# loaded again, so that the fuzzers meet every change.
chaos() {
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		kechoctl add tcp 7500 >/dev/null 2>&1 && kechoctl del "$(kechoctl -j list |
			jq '[.[] | select(.port == 7500)][0].id')" >/dev/null 2>&1
		unshare -n sh -c 'kechoctl add tcp 7501 && kechoctl add udp 7501 &&
			kechoctl add service echo_sync tcp 7502' >/dev/null 2>&1
		if [ $((i % 5)) = 0 ]; then
			modload -r echo_async >/dev/null
			modload "$MODDIR/echo_async.ko" autostart=0 >/dev/null
		fi
	done
	echo "info: $i rounds of listener, namespace and module changes"
}

# Random and mutated messages for every operation, from 4 threads in the
# initial namespace, 2 in a network namespace of their own and 2 as root
# of a user namespace, while chaos runs; a malformed reply fails it, and
# so does any kernel report (KASAN, lockdep, UBSAN on the debug kernel).
# FUZZ_MSGS (vm.sh's, 100,000 by default) messages in all.
t_ctl_nlfuzz() {
	# 4/7 of the messages from the 4 threads of the initial namespace,
	# 3/14 from each pair of the others: their measured rates (debug
	# kernel 197, 71 and 76 a second; KCSAN 590, 254 and 308), so that
	# the three finish together.
	local n=${FUZZ_MSGS:-100000} n1 n2
	n1=$((n * 4 / 7))
	n2=$(((n - n1) / 2))
	load echo_async autostart=0
	load echo_sync autostart=0
	chaos /tmp/out.chaos.stop >/tmp/out.chaos 2>&1 &
	echo $! >/tmp/out.chaos.pid
	unshare -n kecho-nlfuzz -n "$n2" -j 2 -p 41000 >/tmp/out.fz2 2>&1 &
	echo $! >/tmp/out.fz2.pid
	unshare -r -n kecho-nlfuzz -n "$n2" -j 2 -p 42000 >/tmp/out.fz3 2>&1 &
	echo $! >/tmp/out.fz3.pid
	kecho-nlfuzz -n "$n1" -j 4 >/tmp/out.fz1 2>&1 ||
		fail "the fuzzer, initial namespace: $(cat /tmp/out.fz1)"
	wait "$(cat /tmp/out.fz2.pid)" ||
		fail "the fuzzer, network namespace: $(cat /tmp/out.fz2)"
	wait "$(cat /tmp/out.fz3.pid)" ||
		fail "the fuzzer, user namespace: $(cat /tmp/out.fz3)"
	touch /tmp/out.chaos.stop
	wait "$(cat /tmp/out.chaos.pid)"
	cat /tmp/out.chaos
	local f
	for f in /tmp/out.fz1 /tmp/out.fz2 /tmp/out.fz3; do
		grep '^nlfuzz:' "$f" | sed 's/^/info: /'
	done
	# The family still works, and nothing is left.
	loaded echo_async || load echo_async autostart=0
	kechoctl add tcp 7503 >/dev/null
	kecho-client -p 7503 -t 60 echo -c 4 -s 1 -S 1000 -x "$SEED" >/dev/null ||
		fail "serving after the fuzz"
	[ "$(kechoctl -j list | jq length)" = 1 ] ||
		fail "listeners left: $(kechoctl list)"
	unload echo_async
	unload echo_sync
	[ $DEBUG_KERNEL = 0 ] || kmemleak_check "after the fuzz"
}

# ---- the discard sample: a service written only against ksrv.h ----

t_discard() {
	load discard
	dmesg_has "discard: listening on TCP \[::\]:8009"
	dmesg_has "discard: listening on UDP \[::\]:8009"
	[ "$(cut -d' ' -f1 /proc/net/discard | tr '\n' ' ')" = \
	  "listener conns accepted refused over_budget idle_closed errors bytes_in listener dgrams_in errors bytes_in " ] ||
		fail "format of /proc/net/discard: $(cat /proc/net/discard)"
	kecho-discard -t 120 tcp -c 20 -n 1000000
	kecho-discard -a ::1 -t 120 tcp -c 5 -n 1
	expect_stat discard conns 0 30
	expect_stat discard accepted 25
	expect_stat discard bytes_in 20000005
	kecho-discard -t 120 udp -c 100 -n 1000
	expect_stat discard dgrams_in 100 10
	expect_stat discard bytes_in 20100005
	expect_stat discard errors 0
	unload discard
	load discard udp=0 port=9009
	! kecho-discard -p 9009 -t 10 udp -c 1 -n 1 >/tmp/out.udp 2>&1 ||
		fail "UDP served with udp=0"
	grep -q "refused" /tmp/out.udp || fail "$(cat /tmp/out.udp)"
	unload discard
	[ ! -e /proc/net/discard ] || fail "/proc/net/discard left"
}

t_discard_unload_busy() {
	local i
	load discard
	kecho-discard -t 120 stream -c 50 >/tmp/out.stream 2>&1 &
	echo $! >/tmp/out.stream.pid
	wait_for_line /tmp/out.stream streaming 60 ||
		fail "$(cat /tmp/out.stream)"
	expect_stat discard conns 50 30
	i=$(stat_of discard bytes_in)
	sleep 1
	[ "$(stat_of discard bytes_in)" -gt "$i" ] || fail "nothing discarded"
	unload discard
	wait "$(cat /tmp/out.stream.pid)" ||
		fail "stream client: $(cat /tmp/out.stream)"
	grep -q "conns=50 closed by the server ok" /tmp/out.stream ||
		fail "$(cat /tmp/out.stream)"
	[ $DEBUG_KERNEL = 0 ] || kmemleak_check "discard unloaded"
}

# ---- observability ----

TRACE=/sys/kernel/tracing

# The trace events of a known sequence of clients: two accepted and
# closed by the peer... exactly the events and reasons expected.
t_trace() {
	[ -e $TRACE/events/ksrv ] ||
		mount -t tracefs tracefs $TRACE 2>/dev/null || true
	[ -e $TRACE/events/ksrv/enable ] || fail "no events/ksrv in tracefs"
	load "$1" max_conns=2 idle_timeout=3
	echo >$TRACE/trace
	echo 1 >$TRACE/events/ksrv/enable
	kecho-client -p "$2" echo -c 1 -s 1 -S 100 -H -x "$SEED"
	expect_stat "$1" conns 0 30
	hold_start idle "$2" -c 2
	wait_for_file /tmp/out.idle.ready 60
	kecho-client -p "$2" -t 60 refused -c 1 >/tmp/out.refused ||
		fail "$(cat /tmp/out.refused)"
	hold_wait idle 2
	hold_start last "$2" -c 1
	wait_for_file /tmp/out.last.ready 60
	unload "$1"
	hold_wait last 1
	echo 0 >$TRACE/events/ksrv/enable
	grep "service=$1 " $TRACE/trace >/tmp/trace.out || true
	sed 's/^/info: /' /tmp/trace.out
	for want in "ksrv_accept: 4" "ksrv_refuse: 1" "limit=max_conns 1" \
		    "reason=peer err=0 1" \
		    "reason=idle 2" "reason=stop 1" "ksrv_close: 4"; do
		n=$(grep -c "${want% *}" /tmp/trace.out || true)
		[ "$n" = "${want##* }" ] ||
			fail "want ${want##* } events '${want% *}', got $n"
	done
	grep -q "ksrv_accept: service=$1 peer=\[::ffff:127.0.0.1\]:[0-9]" \
		/tmp/trace.out || fail "no peer address in the events"
}

# listening_sockets PORT: how many TCP sockets listen on PORT (IPv6, which
# takes IPv4 too).
listening_sockets() {
	awk -v p=":$(printf '%04X' "$1")" \
		'$4 == "0A" && substr($2, length($2) - 4) == p' /proc/net/tcp6 |
		wc -l
}

# A listening socket per CPU (percpu_listen, the default): one LISTEN
# socket per CPU on the port; loopback processes a SYN on the sending CPU,
# so each CPU's clients are accepted by its socket's task on that CPU
# (the ksrv_accept events' CPU column); connections held on both CPUs all
# end at unload; with percpu_listen=0, one socket.
t_percpu() {
	local n cpu want=20
	[ "$(nproc)" -ge 2 ] || { echo "info: one CPU: nothing to spread"; return 0; }
	[ -e $TRACE/events/ksrv ] ||
		mount -t tracefs tracefs $TRACE 2>/dev/null || true
	load "$1"
	n=$(listening_sockets "$2")
	[ "$n" = "$(nproc)" ] || fail "$n listening sockets, want $(nproc)"
	echo >$TRACE/trace
	echo 1 >$TRACE/events/ksrv/ksrv_accept/enable
	for cpu in 0 1; do
		taskset $((1 << cpu)) kecho-client -p "$2" echo -c $want -s 1 \
			-S 1000 -x "$SEED" >/dev/null ||
			fail "clients on CPU $cpu"
	done
	echo 0 >$TRACE/events/ksrv/ksrv_accept/enable
	for cpu in 0 1; do
		n=$(grep -c "\[00$cpu\].*ksrv_accept: service=$1 " $TRACE/trace ||
			true)
		[ "$n" = $want ] ||
			fail "$n of CPU $cpu's $want clients accepted there:" \
			"$(grep ksrv_accept $TRACE/trace | head -n 5)"
	done
	expect_stat "$1" conns 0 30
	# Held on both CPUs' sockets, all closed by an unload.
	for cpu in 0 1; do
		taskset $((1 << cpu)) kecho-client -p "$2" -t 600 hold \
			-w /tmp/out.cpu$cpu.ready -c 100 -b -x "$SEED" \
			>/tmp/out.cpu$cpu 2>&1 &
		echo $! >/tmp/out.cpu$cpu.pid
	done
	wait_for_file /tmp/out.cpu0.ready 120
	wait_for_file /tmp/out.cpu1.ready 120
	unload "$1"
	hold_wait cpu0 100
	hold_wait cpu1 100
	load "$1" percpu_listen=0
	n=$(listening_sockets "$2")
	[ "$n" = 1 ] || fail "percpu_listen=0: $n listening sockets"
	kecho-client -p "$2" echo -c 4 -s 1 -S 1000 -x "$SEED" >/dev/null ||
		fail "percpu_listen=0: echo"
	unload "$1"
}

# The unit tests, where the kernel has KUnit: loading the module runs them;
# their KTAP is in the kernel log (and in debugfs, kept until unload).
t_kunit() {
	modload "$MODDIR/ksrv_kunit.ko" || fail "loading ksrv_kunit"
	dmesg | sed 's/^\[[ 0-9.]*\] //' >/tmp/ktap
	sed -n '/KTAP version/,/^ok [0-9]* ksrv$/p; /^not ok [0-9]* ksrv$/p' \
		/tmp/ktap | sed 's/^/info: /'
	grep -qE "^ok [0-9]+ ksrv$" /tmp/ktap || fail "suite ksrv did not pass"
	! grep -q "not ok" /tmp/ktap || fail "a unit test failed"
	[ "$(grep -cE "^    ok [0-9]+ ksrv_test_" /tmp/ktap)" = 12 ] ||
		fail "want 12 test cases passed"
	# ksrv_test_tcp_write_pending's refused send warns, once for ksrv's
	# life (loaded at boot, and nothing else sends while a writer
	# waits): that warning, and no other report, is taken out of the
	# log the suite checks.
	echo 512 >$TAINT_EXPECTED	# W, the warning's taint
	grep -E "$KERNEL_BUG_REPORTS" /tmp/ktap >/tmp/out.warn || true
	[ "$(wc -l </tmp/out.warn)" = 1 ] &&
		grep -q 'WARNING:.* ksrv_tcp_send_skb' /tmp/out.warn ||
		fail "want one warning, from ksrv_tcp_send_skb: $(cat /tmp/out.warn)"
	dmesg -c >/dev/null
	modload -r ksrv_kunit || fail "unloading ksrv_kunit"
}

# 2,000 clients connecting at once to the thread-per-connection server:
# the accept queue holds the burst while threads are created, and every
# connection echoes, then and again later.
t_sync_burst() {
	local i
	load echo_sync max_conns=4096
	for i in 1 2 3 4 5 6 7 8; do
		hold_start burst$i 8080 -c 250
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait_for_file /tmp/out.burst$i.ready 600
	done
	expect_stat echo_sync conns 2000 60
	expect_stat echo_sync accepted 2000
	for i in 1 2 3 4 5 6 7 8; do
		kill -USR1 "$(cat /tmp/out.burst$i.pid)"
		wait_for_line /tmp/out.burst$i "probe ok=" 120
		grep -q "probe ok=[0-9]* fail=0" /tmp/out.burst$i ||
			fail "probe failed: $(cat /tmp/out.burst$i)"
	done
	unload echo_sync
	for i in 1 2 3 4 5 6 7 8; do
		hold_wait burst$i 250
	done
}

t_both_loaded() {
	load echo_sync
	load echo_async
	kecho-client -p 8080 -t 120 echo -c 16 -s 1 -S 65536 -x "$SEED" &
	a=$!
	kecho-client -p 8081 -t 120 echo -c 16 -s 1 -S 65536 -x "$SEED"
	wait $a
	unload echo_sync
	unload echo_async
}

# echo-bench against every server, every mode: correctness only, no speed.
t_bench_smoke() {
	local srv mode pid
	local servers="echo_sync echo_async peer-threads peer-epoll"
	servers="$servers peer-epoll-mt peer-uring peer-uring-mt peer-splice"
	# The debug kernel is built without BPF.
	[ -e /sys/fs/bpf ] && servers="$servers peer-sockmap"
	for srv in $servers; do
		pid=
		case $srv in
		echo_*) load "$srv" port=9000 ;;
		*)
			# Gone before the start: the last peer's line
			# must not pass for this one's.
			rm -f /tmp/out.peer
			"$srv" -p 9000 >/tmp/out.peer 2>&1 &
			pid=$!
			wait_for_line /tmp/out.peer listening 30 ;;
		esac
		modes="rr pipe stream"
		[ "$srv" = echo_async ] && modes="$modes udp"
		for mode in $modes; do
			echo-bench -a 127.0.0.1 -p 9000 -c 8 -m "$mode" -s 1000 \
				-w 0 -t 1 >/tmp/out.bench 2>&1 ||
				fail "$srv $mode: $(cat /tmp/out.bench)"
			grep -q " errors=0 " /tmp/out.bench ||
				fail "$srv $mode: $(cat /tmp/out.bench)"
		done
		echo "info: $srv $(grep -o 'req/s=[0-9.]*' /tmp/out.bench) ($mode)"
		# A connection per request: accept, echo and close, in a loop.
		echo-bench -a 127.0.0.1 -p 9000 -c 8 -m churn -s 64 -w 0 -t 1 \
			>/tmp/out.bench 2>&1 ||
			fail "$srv churn: $(cat /tmp/out.bench)"
		grep -q " errors=0 " /tmp/out.bench ||
			fail "$srv churn: $(cat /tmp/out.bench)"
		echo "info: $srv $(grep -o 'req/s=[0-9.]*' /tmp/out.bench) (churn)"
		if [ -n "$pid" ]; then
			kill "$pid"
			wait "$pid"
		else
			unload "$srv"
		fi
	done
}

# The debug kernel runs the suite at about a fifth of the speed: its
# loops are shorter, to keep make test-debug inside CI's budget (README,
# CI). What they check is the same. echo_sync's 20,000 threads take eight
# minutes there; the lock statistics at 20,000 connections are
# echo_async's.
if [ $DEBUG_KERNEL = 1 ]; then
	STRESS_CYCLES=30 NETNS_LOOPS=5 UDP_FLOOD=30000 SYNC_CHURN=churn_5000
else
	STRESS_CYCLES=100 NETNS_LOOPS=10 UDP_FLOOD=100000 SYNC_CHURN=churn_20000
fi

echo "kecho suite on $(uname -r), $(nproc) CPUs, seed $SEED, debug kernel: $DEBUG_KERNEL, KCSAN: $KCSAN_KERNEL"
# What the kernel reported while booting, before ksrv served anything:
# shown, not failed on (each test fails on what is reported while it
# runs). /proc/sys/kernel/tainted has 4096 (O) from loading ksrv.
echo "boot: kernel tainted $(cat /proc/sys/kernel/tainted)," \
	"$(kernel_log | grep -cE "$KERNEL_BUG_REPORTS") bug reports in its log"
kernel_log | grep -E "$KERNEL_BUG_REPORTS" | head -n 5 | sed 's/^/    | /'
for srv in "echo_sync 8080" "echo_async 8081"; do
	set -- $srv
	churn=churn_20000
	[ "$1" = echo_async ] || churn=$SYNC_CHURN
	tests="echo_small echo_random half_close urgent concurrent_500"
	tests="$tests unload_busy"
	tests="$tests reload_cycles port_in_use bad_params addr max_conns"
	tests="$tests idle_timeout idle_pending stats stress_cycles trace"
	tests="$tests $churn percpu"
	[ $DEBUG_KERNEL = 1 ] && tests="$tests kmemleak fault_injection"
	for t in $tests; do
		run_test "$1.$t" "t_$t" "$1" "$2"
	done
done
for t in no_threads softirq_budget 5000_conns slow_reader pressure resets \
	 unload_mixed udp_sizes udp_flood udp_loop udp_port_in_use \
	 udp_unload_flood; do
	run_test "echo_async.$t" "t_async_$t"
done
# echo_async's TCP data path, the default being zero-copy and run to
# completion in softirq: the same echo again from its task only
# (softirq=0), and copying (zerocopy=0), each byte-exact at every size,
# with sends coming back short, and through an unload mid-stream.
for variant in task:softirq=0 copy:"zerocopy=0 softirq=0" \
	       copy_softirq:zerocopy=0; do
	ECHO_ASYNC_PARAMS=${variant#*:}
	for t in echo_random half_close urgent unload_busy; do
		run_test "echo_async.${variant%%:*}.$t" "t_$t" echo_async 8081
	done
	run_test "echo_async.${variant%%:*}.slow_reader" t_async_slow_reader
	# Under pressure, softirq=0 beside the default (CI's time: the
	# copying paths are measured by the benchmark's pressure cells).
	[ "${variant%%:*}" != task ] ||
		run_test "echo_async.task.pressure" t_async_pressure
done
ECHO_ASYNC_PARAMS=
for t in runtime apply errors ynl netns userns netns_loop unload_netns \
	 user_budget user_peer_timeout user_attack nlfuzz; do
	run_test "ctl.$t" "t_ctl_$t"
done
run_test discard t_discard
run_test discard.unload_busy t_discard_unload_busy
run_test echo_sync.burst_2000 t_sync_burst
[ -e $MODDIR/ksrv_kunit.ko ] && run_test kunit t_kunit
run_test both_loaded t_both_loaded
run_test bench_smoke t_bench_smoke

kcsan_summary
echo "$npass passed, $nfail failed"
