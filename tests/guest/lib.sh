# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest test suite (sourced by suite.sh; busybox sh).

MODDIR=/lib/kecho
# What the kernel prints when it catches a bug in itself or in a module.
# KERNEL_BUG_REPORTS leaves out bare stack dumps, which fault injection
# causes on purpose (an allocation failure warning); KERNEL_BUGS has them.
KERNEL_BUG_REPORTS='BUG:|WARNING:|Oops|KASAN|UBSAN|kernel BUG|general protection|Kernel panic|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|blocked for more than|list_add corruption|list_del corruption|soft lockup|hard LOCKUP|refcount_t:|workqueue lockup|detected stalls|ODEBUG:'
KERNEL_BUGS="$KERNEL_BUG_REPORTS|Call Trace"

# The debug kernel (tests/qemu/kernel/) has kmemleak and fault injection.
DEBUG_KERNEL=0
[ -e /sys/kernel/debug/kmemleak ] && DEBUG_KERNEL=1
# The KCSAN kernel (make test-kcsan) reports data races.
KCSAN_KERNEL=0
[ -e /sys/kernel/debug/kcsan ] && KCSAN_KERNEL=1
KCSAN_ELSEWHERE=/tmp/kcsan-elsewhere.log

# kernel_log: the kernel's log, less the KCSAN reports whose stacks name
# none of our modules: those are races between parts of the kernel that
# are not ours to fix, kept in $KCSAN_ELSEWHERE under the test's name and
# summed up at the end. A report naming one of our modules stays, and
# fails the test like any other.
kernel_log() {
	if [ $KCSAN_KERNEL = 0 ]; then
		dmesg
		return
	fi
	dmesg | awk -v elsewhere="$KCSAN_ELSEWHERE" -v test="$name" '
		/BUG: KCSAN:/ { inrep = 1; ours = 0; buf = $0; next }
		inrep && /={20}/ {
			if (ours)
				print buf
			else
				print "[" test "] " buf >>elsewhere
			inrep = 0
		}
		inrep {
			buf = buf "\n" $0
			if ($0 ~ /\[(ksrv|ksrv_kunit|echo_async|echo_sync|discard)\]/)
				ours = 1
			next
		}
		{ print }'
}

# kcsan_summary: what KCSAN watched and found (its counters), and one
# line per distinct report outside our modules.
kcsan_summary() {
	[ $KCSAN_KERNEL = 1 ] || return 0
	echo "KCSAN: $(grep -E '^(enabled|setup_watchpoints|data_races|report_races|races_unknown_origin|no_capacity):' \
		/sys/kernel/debug/kcsan | tr '\n' ' ')"
	[ -s $KCSAN_ELSEWHERE ] || return 0
	echo "KCSAN: $(grep -c 'BUG: KCSAN:' $KCSAN_ELSEWHERE) reports outside our modules (not failed on):"
	sed -n 's/^\[\([^]]*\)\].*BUG: KCSAN: \(.*\)/\2 (\1)/p' $KCSAN_ELSEWHERE |
		sort | uniq -c | sort -rn | sed 's/^/    /'
}

npass=0
nfail=0

fail() {
	echo "FAIL: $*"
	return 1
}

# load MODULE [PARAM=VALUE...]: must succeed.
# load MODULE [PARAM=VALUE...]: echo_async also gets $ECHO_ASYNC_PARAMS,
# for the tests run again with its other data paths.
load() {
	local m=$1
	shift
	[ "$m" != echo_async ] || set -- "$@" ${ECHO_ASYNC_PARAMS:-}
	modload "$MODDIR/$m.ko" "$@" || fail "loading $m $*"
}

unload() {
	modload -r "$1" || fail "unloading $1"
}

loaded() {
	grep -q "^$1 " /proc/modules
}

# expect_load_error ERRNO MODULE [PARAM=VALUE...]: loading must fail so.
expect_load_error() {
	local want=$1 m=$2 rc=0
	shift 2
	modload "$MODDIR/$m.ko" "$@" || rc=$?
	[ "$rc" = "$want" ] || fail "loading $m $* gave errno $rc, want $want"
	! loaded "$m" || fail "$m is loaded after a failed load"
}

# Kernel threads whose name starts with $1 (the module leaves none behind).
threads_named() {
	ps -o comm | grep -c "^$1" || true
}

# wait_until_no_threads PREFIX SECONDS
wait_until_no_threads() {
	local i=0
	while [ "$(threads_named "$1")" != 0 ]; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 10)) ] ||
			fail "threads $1* still running: $(ps -o comm | grep "^$1")" ||
			return 1
		usleep 100000
	done
}

# poll_until SECONDS MESSAGE COMMAND...: run COMMAND every 0.1 s until it
# succeeds; after SECONDS, fail with MESSAGE.
poll_until() {
	local i=0 n=$(($1 * 10)) msg=$2
	shift 2
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le "$n" ] || fail "$msg" || return 1
		usleep 100000
	done
}

# wait_for_file FILE SECONDS
wait_for_file() {
	poll_until "$2" "timeout waiting for $1" [ -e "$1" ]
}

# wait_for_line FILE REGEX SECONDS: on a timeout, FILE's last lines say
# what the program writing it saw instead.
wait_for_line() {
	poll_until "$3" "timeout waiting for '$2' in $1" grep -qE "$2" "$1" &&
		return
	echo "info: $1 ends: $(tail -n 8 "$1" | tr '\n' ' ')"
	return 1
}

# wait_for_dmesg REGEX COUNT SECONDS: this test's kernel log has COUNT
# lines matching REGEX (or more).
wait_for_dmesg() {
	poll_until "$3" "timeout waiting for $2 lines '$1' in dmesg" \
		dmesg_count_at_least "$1" "$2"
}

dmesg_count_at_least() {
	[ "$(dmesg | grep -cE "$1")" -ge "$2" ]
}

# net_drops: packets the backlog dropped (loopback delivers through it)
# TCP connections the stack aborted for want of memory or orphan room, and
# handshakes the listeners dropped (queue full).
net_drops() {
	local d=0 line
	while read -r line; do
		set -- $line
		d=$((d + 0x$2))
	done </proc/net/softnet_stat
	echo "backlog drops $d, $(awk '/^TcpExt:/ { if (!n++) { for (i = 1; i <= NF; i++) k[i] = $i } else for (i = 1; i <= NF; i++) if (k[i] ~ /AbortOnMemory|AbortOnClose|AbortOnData|ListenOverflows|ListenDrops|TCPReqQFullDrop/) printf "%s %s ", k[i], $i }' /proc/net/netstat)"
}

# stat_of MODULE KEY: a counter from the module's /proc/net file, summed
# over its listeners (a block each); empty if no listener shows it.
stat_of() {
	awk -v k="$2" '$1 == k { s += $2; n++ } END { if (n) print s }' \
		"/proc/net/$1" 2>/dev/null
}

# The debug kernel's lock statistics (CONFIG_LOCK_STAT), which the
# guest's init leaves off: lockstat_start clears and starts them (no-op
# on a kernel without them); lockstat_top N stops them and prints the N
# lock classes most contended since; lockstat_of CLASS prints one class.
lockstat_start() {
	[ -e /proc/lock_stat ] || return 0
	echo 0 >/proc/lock_stat
	echo 1 >/proc/sys/kernel/lock_stat
}

# lockstat_classes: "contentions acquisitions name" of every lock class,
# its read and write sides summed.
lockstat_classes() {
	awk '$1 ~ /:$/ && $3 ~ /^[0-9]+$/ {
		n = $1; sub(/:$/, "", n); sub(/-[RW]$/, "", n)
		c[n] += $3; a[n] += $9
	} END { for (n in c) print c[n], a[n], n }' /proc/lock_stat
}

lockstat_top() {
	echo 0 >/proc/sys/kernel/lock_stat
	lockstat_classes | awk '$1 > 0' | sort -rn | head -n "$1"
}

# lockstat_of CLASS: "contentions acquisitions" ("0 0" if not taken).
lockstat_of() {
	lockstat_classes |
		awk -v k="$1" '$3 == k { c = $1; a = $2 } END { print c + 0, a + 0 }'
}

# expect_stat MODULE KEY VALUE [SECONDS]: the counter has (or, within
# SECONDS, reaches) VALUE.
expect_stat() {
	local i=0
	while [ "$(stat_of "$1" "$2")" != "$3" ]; do
		i=$((i + 1))
		[ "$i" -le $((${4:-0} * 10)) ] ||
			fail "/proc/net/$1: $2 is $(stat_of "$1" "$2"), want $3:" \
				"$(cat "/proc/net/$1")" || return 1
		usleep 100000
	done
}

# stat_moved MODULE KEY VALUE: the counter is no longer VALUE (for
# poll_until).
stat_moved() {
	[ "$(stat_of "$1" "$2")" != "$3" ]
}

# dmesg_has REGEX: the kernel log of this test has a matching line.
dmesg_has() {
	dmesg | grep -qE "$1" || fail "dmesg lacks '$1'"
}

# user_limits LISTENERS CONNS THREADS PEER_TIMEOUT: ksrv's budget for each
# user that owns namespaces, and how long its connections outlive a
# silent peer.
user_limits() {
	local p=/sys/module/ksrv/parameters
	echo "$1" >$p/max_user_listeners
	echo "$2" >$p/max_user_conns
	echo "$3" >$p/max_user_threads
	echo "$4" >$p/peer_timeout
}

# host_used_kb: memory in use in the whole guest, page cache dropped.
# Free pages waiting on the per-CPU lists are free, though MemFree leaves
# them out: on 6.12 those lists grow with the traffic (PCP auto-tuning)
# by megabytes, which would count as memory an attack made the host spend.
host_used_kb() {
	local pcp
	sync
	echo 3 >/proc/sys/vm/drop_caches
	pcp=$(awk '$1 == "count:" { n += $2 } END { print n * 4 }' /proc/zoneinfo)
	awk -v pcp="$pcp" '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 }
			   END { print t - f - pcp }' /proc/meminfo
}

mem_available_kb() {
	sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo
}

cleanup() {
	# A failed fault-injection test must not leave allocations failing.
	if [ -e /sys/kernel/debug/failslab/probability ]; then
		echo 0 >/sys/kernel/debug/failslab/probability
		echo 0 >/sys/kernel/debug/fail_page_alloc/probability
	fi
	killall -q -KILL kecho-client echo-bench 2>/dev/null
	# Namespace holders (ns_start); their namespaces go with them.
	killall -q -KILL sleep 2>/dev/null
	[ -e /sys/kernel/tracing/events/ksrv/enable ] &&
		echo 0 >/sys/kernel/tracing/events/ksrv/enable
	for m in echo_sync echo_async discard ksrv_kunit; do
		loaded "$m" && modload -r "$m" >/dev/null
	done
	# The per-user budgets and the peer timeout back to their defaults,
	# and the attacker's cgroup gone with its listeners.
	user_limits 64 4096 64 120
	rmdir /sys/fs/cgroup/attacker* 2>/dev/null || true
	rm -f /tmp/ready* /tmp/go* /tmp/out*
}

# A test still running after this many seconds is declared hung: the
# blocked tasks are dumped and the suite stops, since the kernel is suspect.
TEST_TIMEOUT=${TEST_TIMEOUT:-600}

# wait_test PID: wait for a test; 1 if it hung.
wait_test() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((TEST_TIMEOUT * 5)) ]; then
			echo "FAIL: hung for ${TEST_TIMEOUT}s; processes and blocked tasks:"
			ps
			echo w >/proc/sysrq-trigger
			dmesg | tail -n 150
			return 1
		fi
		usleep 200000
	done
	wait "$1"
}

# Taint flags a report sets (B: KASAN, KFENCE, a slab or page error; D:
# an oops; W: a warning; L: a soft lockup): a test that sets one fails even
# if its report left the log, which a long test's messages can wrap. A
# test that means to warn writes the flags it expects to TAINT_EXPECTED.
TAINT_REPORTS=$(((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))
TAINT_EXPECTED=/tmp/taint.expected

# run_test NAME FUNCTION [ARGS...]: run it, then fail it too if the kernel
# reported a bug while it ran.
run_test() {
	name=$1
	shift
	echo "$name" | grep -qE "$filter" || return 0
	dmesg -c >/dev/null
	rm -f $TAINT_EXPECTED
	taint0=$(cat /proc/sys/kernel/tainted)
	start=$(cut -d. -f1 /proc/uptime)
	(set -e; "$@") >/tmp/test.log 2>&1 &
	rc=0
	wait_test $! >>/tmp/test.log 2>&1 || rc=$?
	hung=0
	grep -q "^FAIL: hung" /tmp/test.log && hung=1
	[ $hung = 1 ] || cleanup >>/tmp/test.log 2>&1
	if kernel_log | grep -E "$KERNEL_BUGS" >/tmp/bugs.log; then
		echo "FAIL: the kernel reported a bug:" >>/tmp/test.log
		rc=1
	fi
	taint=$(($(cat /proc/sys/kernel/tainted) & ~taint0 & TAINT_REPORTS &
		~$(cat $TAINT_EXPECTED 2>/dev/null || echo 0)))
	if [ $taint != 0 ]; then
		echo "FAIL: the kernel was tainted ($taint) while it ran" >>/tmp/test.log
		rc=1
	fi
	secs=$(($(cut -d. -f1 /proc/uptime) - start))
	if [ "$rc" = 0 ]; then
		npass=$((npass + 1))
		echo "ok   $name (${secs}s)"
		sed -n 's/^info: /    | /p' /tmp/test.log
	else
		nfail=$((nfail + 1))
		echo "FAIL $name (${secs}s)"
		sed 's/^/    | /' /tmp/test.log
		if [ -s /tmp/bugs.log ]; then
			echo "    | --- kernel bug reports:"
			head -n 20 /tmp/bugs.log | sed 's/^/    | /'
			echo "    | --- kernel log:"
			dmesg | tail -n 80 | sed 's/^/    | /'
		fi
	fi
	if [ $hung = 1 ]; then
		echo "$npass passed, $nfail failed"
		reboot -f
	fi
}

# ns_start NAME: a new network namespace with lo up, held by a sleeping
# process whose pid is in /tmp/out.ns.NAME; killing it frees the namespace.
ns_start() {
	local pid
	unshare -n sleep 100000 &
	pid=$!
	echo "$pid" >"/tmp/out.ns.$1"
	poll_until 10 "no namespace for $1" ns_other "$pid"
	nsenter -t "$pid" -n ip link set lo up
}

# ns_other PID: PID is in another network namespace than this shell.
ns_other() {
	[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

# ns_run NAME COMMAND...: run it in that namespace.
ns_run() {
	local pid
	pid=$(cat "/tmp/out.ns.$1")
	shift
	nsenter -t "$pid" -n "$@"
}

# ns_kill NAME: end the namespace's holder; the namespace goes once
# nothing else holds it.
ns_kill() {
	kill -KILL "$(cat "/tmp/out.ns.$1")"
	wait "$(cat "/tmp/out.ns.$1")" 2>/dev/null || true
}
