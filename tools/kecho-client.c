// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-client: the test client of the kecho echo servers.
 *
 * One thread, one poll() loop, non-blocking sockets: thousands of
 * connections at once without a thread each. Every byte sent comes from a
 * pseudo-random stream keyed by (seed, connection, round), NUL and 0xff
 * included, so the echo is checked byte for byte by regenerating the
 * stream, without keeping what was sent. The command line is in usage().
 *
 *   echo      rounds of messages, checked; -H ends with shutdown(SHUT_WR)
 *   hold      connections held open (-b: streaming) until the server
 *             closes them, as unloading it must; SIGUSR1 probes them
 *   reset     connections aborted with a RST in mid-stream
 *   slowread  a client that stops reading: the server must stop too (it
 *             sends for -T seconds, then until the server's window
 *             closes)
 *   refused   connections the server must close at once, unanswered (over
 *             its connection limit)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <linux/tcp.h>		/* tcp_info as the kernel has it */

#define MAX_CONNECTING	256		/* connects in flight at once */
#define IOSIZE		65536
#define PROBE_SECS	10.0
#define STALL_SECS	2.0		/* slowread: no send progress this long */
#define ENDLESS		UINT64_MAX	/* size of a round that never ends */
#define BURST		4		/* reads or writes per wake-up: fairness */

typedef unsigned long long ull;

enum mode { M_ECHO, M_HOLD, M_RESET, M_SLOWREAD, M_REFUSED };

enum cstate { C_NEW, C_CONNECTING, C_OPEN, C_DONE };

struct conn {
	int fd;
	enum cstate state;
	unsigned int round;
	uint64_t key;		/* of this round's byte stream */
	uint64_t size;		/* bytes in this round */
	uint64_t sent;
	uint64_t rcvd;		/* echoed and verified */
	bool shut_wr;
	bool probing;		/* hold: a SIGUSR1 probe is counting on it */
};

static const struct {
	const char *name;
	const char *opts;
} modes[] = {
	[M_ECHO] = { "echo", "+c:s:S:r:Hx:" },
	[M_HOLD] = { "hold", "+c:bs:w:x:" },
	[M_RESET] = { "reset", "+c:s:x:" },
	[M_SLOWREAD] = { "slowread", "+T:s:R:x:" },
	[M_REFUSED] = { "refused", "+c:" },
};

static struct {
	enum mode mode;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	double deadline;
	int conns;
	uint64_t min, max;	/* echo: message sizes */
	uint64_t size;		/* hold, slowread: chunk; reset: size */
	unsigned int rounds;
	unsigned int secs;
	bool half_close;
	bool busy;
	uint64_t seed;
	const char *ready_file;
	const char *go_file;
} opt = { .conns = 1, .min = 1, .max = 1048576, .rounds = 1, .secs = 5,
	  .seed = 1 };

static struct conn *conn;
static int nslots;		/* opt.conns, plus hold's probe connection */
static int next_conn;		/* next one to connect */
static int inflight;		/* connects in flight */
static int nopen;
static int ndone;		/* of the first opt.conns */
static bool ready;		/* echo: all connected; hold: all probed */
static bool failed;		/* the exit status */
static int nprobed;
static int closed_by_peer;
static ull bytes_ok, mismatches;
static uint8_t *txbuf, *rxbuf, *expbuf;
static size_t iosize, wchunk;
static uint64_t reset_at;	/* reset: the RST goes out past SIZE/2 */
static int sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t got_usr1, got_stop;

static struct {
	bool requested, running;
	int pending, ok, fail;
	double deadline;
} probe;

static struct {
	enum { S_SEND, S_WAIT, S_READ } phase;
	double start;
	unsigned int next_report;
	uint64_t last_sent;	/* at last_progress */
	double last_progress;
} slow = { .next_report = 1 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kecho-client: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* A line of output: the mode name first, stdout, flushed by line. */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", modes[opt.mode].name);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t stream_key(int idx, unsigned int round)
{
	return mix64(mix64(mix64(opt.seed) ^ (uint64_t)idx) ^ round);
}

/*
 * Bytes [off, off + len) of stream @key. A counter-based generator
 * (splitmix64 of the 8-byte block number) rather than a sequential one:
 * a partial write resumes at any offset, and the reader checks any offset,
 * with no generator state to save. Bytes 0 and 1 are NUL and 0xff in a
 * random order, so even a two-byte message carries the bytes that string
 * handling gets wrong.
 */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t len)
{
	uint8_t first = (key >> 63) ? 0xff : 0x00;
	uint64_t word = 0, o = off;
	size_t i;

	for (i = 0; i < len; i++, o++) {
		if (i == 0 || !(o & 7))
			word = mix64(key ^ (o >> 3));
		buf[i] = word >> (8 * (o & 7));
	}
	if (off == 0 && len > 0)
		buf[0] = first;
	if (off <= 1 && off + len > 1)
		buf[1 - off] = ~first;
}

static void round_start(int idx, uint64_t size)
{
	struct conn *c = &conn[idx];

	c->round++;
	c->key = stream_key(idx, c->round);
	c->size = size;
	c->sent = 0;
	c->rcvd = 0;
}

/* Size of @idx's message in @round, in opt.min..opt.max. */
static uint64_t msg_size(int idx, unsigned int round)
{
	return opt.min + mix64(stream_key(idx, round) ^ 0x5eed) %
			 (opt.max - opt.min + 1);
}

static uint64_t probe_size(int idx)
{
	return 16 + mix64(stream_key(idx, conn[idx].round + 1) ^ 0x5eed) % 1009;
}

static void conn_close(int idx)
{
	struct conn *c = &conn[idx];

	if (c->state == C_CONNECTING)
		inflight--;
	else if (c->state == C_OPEN)
		nopen--;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->state != C_DONE && idx < opt.conns)
		ndone++;
	c->state = C_DONE;
}

/* Hold: a probe on @idx ended. */
static void probe_result(int idx, bool ok)
{
	if (!conn[idx].probing)
		return;
	conn[idx].probing = false;
	probe.pending--;
	if (ok)
		probe.ok++;
	else
		probe.fail++;
}

/* The bytes on @idx went wrong: fatal, except to hold, which counts. */
static void conn_broken(int idx)
{
	if (opt.mode == M_HOLD) {
		mismatches++;
		probe_result(idx, false);
	}
	failed = true;
	conn_close(idx);
}

static void connect_failed(int idx, int err)
{
	say("conn %d: connect: %s", idx, strerror(err));
	if (opt.mode == M_HOLD && idx >= opt.conns)
		probe_result(idx, false);	/* a probe's new connection */
	else
		failed = true;
	conn_close(idx);
}

/* EOF, reset or EPIPE: hold's expected end, -H's awaited EOF, or a failure. */
static void peer_closed(int idx, int err)
{
	struct conn *c = &conn[idx];
	uint64_t size = c->size == ENDLESS ? c->sent : c->size;

	if (opt.mode == M_REFUSED) {
		closed_by_peer++;
		conn_close(idx);
		return;
	}
	if (opt.mode == M_HOLD && ready) {
		probe_result(idx, false);
		if (idx < opt.conns)
			closed_by_peer++;
		conn_close(idx);
		return;
	}
	if (opt.mode == M_ECHO && !err && c->shut_wr && c->rcvd == c->size) {
		conn_close(idx);
		return;
	}
	say("conn %d: unexpected EOF after %llu of %llu bytes (round %u%s%s)",
	    idx, (ull)c->rcvd, (ull)size, c->round, err ? ", " : "",
	    err ? strerror(err) : "");
	failed = true;
	conn_close(idx);
}

/* All of the round came back. */
static void round_done(int idx)
{
	struct conn *c = &conn[idx];

	if (opt.mode == M_HOLD) {
		nprobed += !ready;
		probe_result(idx, true);
		if (idx >= opt.conns)
			conn_close(idx);
	} else if (opt.mode == M_SLOWREAD) {
		conn_close(idx);
	} else if (opt.mode == M_ECHO && c->round < opt.rounds) {
		round_start(idx, msg_size(idx, c->round + 1));
	} else if (opt.mode == M_ECHO && !opt.half_close) {
		conn_close(idx);
	}
	/* -H: the EOF that answers our shutdown() ends it. */
}

/* Check @n received bytes against the stream; false if @idx is gone. */
static bool verify(int idx, size_t n)
{
	struct conn *c = &conn[idx];
	uint64_t owed = c->sent - c->rcvd;
	size_t good = n < owed ? n : owed, i;

	stream_fill(c->key, c->rcvd, expbuf, good);
	if (memcmp(rxbuf, expbuf, good)) {
		for (i = 0; rxbuf[i] == expbuf[i]; i++)
			;
		say("conn %d: mismatch at offset %llu (got 0x%02x want 0x%02x)",
		    idx, (ull)(c->rcvd + i), rxbuf[i], expbuf[i]);
		conn_broken(idx);
		return false;
	}
	if (n > good) {
		/* An echo server cannot return what was never sent. */
		say("conn %d: %zu bytes more than were sent, at offset %llu (got 0x%02x)",
		    idx, n - good, (ull)(c->rcvd + good), rxbuf[good]);
		conn_broken(idx);
		return false;
	}
	return true;
}

static void conn_read(int idx)
{
	struct conn *c = &conn[idx];
	int i;

	for (i = 0; i < BURST && c->state == C_OPEN; i++) {
		ssize_t n = recv(c->fd, rxbuf, iosize, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			peer_closed(idx, n ? errno : 0);
			return;
		}
		if (!verify(idx, n))
			return;
		c->rcvd += n;
		bytes_ok += n;
		if (c->rcvd == c->size)
			round_done(idx);
	}
}

/* How many bytes @c may send now. */
static uint64_t send_room(const struct conn *c)
{
	uint64_t room = c->size - c->sent, unechoed, cap;

	if (c->state != C_OPEN)
		return 0;
	if (opt.mode == M_HOLD && c->size == ENDLESS) {
		unechoed = c->sent - c->rcvd;
		cap = 4 * opt.size;
		room = unechoed < cap ? cap - unechoed : 0;
	} else if (opt.mode == M_RESET && c->sent < reset_at &&
		   room > reset_at - c->sent) {
		room = reset_at - c->sent;
	}
	return room;
}

static void sent_more(int idx)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct conn *c = &conn[idx];

	if (opt.mode == M_ECHO && opt.half_close && !c->shut_wr &&
	    c->round == opt.rounds && c->sent == c->size) {
		if (shutdown(c->fd, SHUT_WR))
			die("shutdown: %s", strerror(errno));
		c->shut_wr = true;
	}
	if (opt.mode != M_RESET || c->sent < reset_at)
		return;
	/* Check what came back so far, then abort: linger 0 sends a RST. */
	conn_read(idx);
	if (c->state != C_OPEN)
		return;
	if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("SO_LINGER: %s", strerror(errno));
	conn_close(idx);
}

static void conn_write(int idx)
{
	struct conn *c = &conn[idx];
	/* Reset: one chunk a wake-up, so echoes come back (and are checked)
	 * between writes, before the RST. */
	int i, burst = opt.mode == M_RESET ? 1 : BURST;

	for (i = 0; i < burst && c->state == C_OPEN; i++) {
		uint64_t room = send_room(c);
		size_t len = room < wchunk ? room : wchunk;
		ssize_t n;

		if (!len)
			return;
		stream_fill(c->key, c->sent, txbuf, len);
		n = send(c->fd, txbuf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				peer_closed(idx, errno);
			return;
		}
		c->sent += n;
		sent_more(idx);
	}
}

static void conn_connect(int idx)
{
	struct conn *c = &conn[idx];
	int one = 1;

	c->fd = socket(opt.addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	/* Small echoes must not sit out a delayed ACK behind Nagle. */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY: %s", strerror(errno));
	c->state = C_CONNECTING;
	inflight++;
	/* Done or not, POLLOUT then SO_ERROR tell how it went. */
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) &&
	    errno != EINPROGRESS)
		connect_failed(idx, errno);
}

static void conn_connected(int idx)
{
	struct conn *c = &conn[idx];
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		connect_failed(idx, err);
		return;
	}
	inflight--;
	nopen++;
	c->state = C_OPEN;
	/* Echo's rounds wait until all are connected. */
	if (opt.mode == M_HOLD)
		round_start(idx, idx < opt.conns ? 16 : probe_size(idx));
	else if (opt.mode == M_RESET)
		round_start(idx, opt.size);
	else if (opt.mode == M_SLOWREAD) {
		round_start(idx, ENDLESS);
		slow.start = now();
	}
}

/* Start connects, at most MAX_CONNECTING in flight (reset: open, too). */
static void launch(void)
{
	while (next_conn < opt.conns) {
		int busy = inflight + (opt.mode == M_RESET ? nopen : 0);

		if (busy >= MAX_CONNECTING)
			break;
		conn_connect(next_conn++);
	}
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || close(fd)) {
		fprintf(stderr, "kecho-client: %s: %s\n", path, strerror(errno));
		failed = true;
	}
}

/* Hold, on SIGUSR1: echo on every 10th idle connection and a new one. */
static void probe_start(void)
{
	struct conn *c;
	int i;

	probe.requested = false;
	probe.running = true;
	probe.ok = probe.fail = probe.pending = 0;
	probe.deadline = now() + PROBE_SECS;
	/* Busy connections check every byte anyway: only the new one. */
	for (i = 0; !opt.busy && i < opt.conns; i += 10) {
		c = &conn[i];
		if (c->state != C_OPEN || c->rcvd != c->size)
			continue;	/* gone, or a late probe still out */
		round_start(i, probe_size(i));
		conn[i].probing = true;
		probe.pending++;
	}
	c = &conn[opt.conns];
	c->state = C_NEW;
	c->probing = true;
	probe.pending++;
	conn_connect(opt.conns);
}

static void probe_check(void)
{
	int i;

	if (now() >= probe.deadline) {
		for (i = 0; i < nslots; i++) {
			if (!conn[i].probing)
				continue;
			say("conn %d: probe timeout after %llu of %llu bytes", i,
			    (ull)conn[i].rcvd, (ull)conn[i].size);
			probe_result(i, false);
			/* An old connection stays: a late echo is still checked. */
			if (i >= opt.conns)
				conn_close(i);
		}
	}
	if (probe.pending)
		return;
	say("probe ok=%d fail=%d", probe.ok, probe.fail);
	if (probe.fail)
		failed = true;
	probe.running = false;
}

static void hold_tick(void)
{
	int i;

	if (!ready && nprobed == opt.conns) {
		ready = true;
		say("%d connected", opt.conns);
		if (opt.ready_file)
			touch(opt.ready_file);
		for (i = 0; opt.busy && i < opt.conns; i++)
			if (conn[i].state == C_OPEN)
				round_start(i, ENDLESS);
	}
	if (ready && probe.requested && !probe.running)
		probe_start();
	if (probe.running)
		probe_check();
}

/* What TCP says of our sending side, for slowread. */
struct send_state {
	unsigned int unacked;	/* segments in flight */
	unsigned int snd_wnd;	/* the window the server last advertised */
	int outq;		/* bytes not yet acknowledged, sent or not */
};

/*
 * The server has stopped reading: its receive window is closed. Either
 * our data waits unsent with nothing in flight, which only a zero window
 * does, or the server advertised a zero window with a segment of ours in
 * flight: a receiver whose queue is full drops the segment and says so
 * (6.12 does, with ICSK_ACK_NOMEM; 6.1 does not), and TCP retransmits it
 * with back-off for as long as the queue stays full. A send that merely made
 * no progress for a while may be a loss that TCP retransmits after a
 * backed-off timeout (a debug kernel under TCG drops on loopback and
 * waits seconds), not a server that stopped.
 */
static bool peer_window_closed(int fd, struct send_state *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(st, 0, sizeof(*st));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    ioctl(fd, SIOCOUTQ, &st->outq) < 0)
		return false;
	st->unacked = ti.tcpi_unacked;
	/* A kernel older than the field: the first test alone. */
	st->snd_wnd = UINT32_MAX;
	if (len >= offsetof(struct tcp_info, tcpi_snd_wnd) +
		   sizeof(ti.tcpi_snd_wnd))
		st->snd_wnd = ti.tcpi_snd_wnd;
	return st->outq > 0 && (st->unacked == 0 || st->snd_wnd == 0);
}

static void slowread_tick(void)
{
	struct conn *c = &conn[0];
	double t = now() - slow.start;
	struct send_state st;
	bool idle, closed;

	if (c->state != C_OPEN)
		return;
	if (slow.phase == S_SEND) {
		if (c->sent != slow.last_sent) {
			slow.last_sent = c->sent;
			slow.last_progress = t;
		}
		/*
		 * At least -T seconds, then until the sends stop with the
		 * server's window closed: it has stopped reading, not merely
		 * filled our receive buffer slowly (a debug kernel under TCG
		 * sends a few MiB in -T).
		 */
		idle = t >= opt.secs && t - slow.last_progress >= STALL_SECS;
		if (!idle && t < slow.next_report)
			return;
		closed = peer_window_closed(c->fd, &st);
		/* Each second, past -T too: what keeps it from stalling. */
		while (t >= slow.next_report)
			say("t=%u sent=%llu unacked=%u snd_wnd=%u outq=%d",
			    slow.next_report++, (ull)c->sent, st.unacked,
			    st.snd_wnd, st.outq);
		if (!idle || !closed)
			return;
		say("stalled sent=%llu unacked=%u snd_wnd=%u", (ull)c->sent,
		    st.unacked, st.snd_wnd);
		c->size = c->sent;	/* no more sends: read it all back */
		slow.phase = opt.go_file ? S_WAIT : S_READ;
	}
	if (slow.phase == S_WAIT && !access(opt.go_file, F_OK))
		slow.phase = S_READ;
	if (slow.phase == S_READ && c->rcvd == c->size)
		round_done(0);
}

static void tick(void)
{
	int i;

	launch();
	if (opt.mode == M_HOLD)
		hold_tick();
	else if (opt.mode == M_SLOWREAD)
		slowread_tick();
	if (opt.mode != M_ECHO || ready || failed || nopen < opt.conns)
		return;
	/* Echo: every connection is up, now the rounds. */
	ready = true;
	for (i = 0; i < opt.conns; i++)
		round_start(i, msg_size(i, 1));
}

static bool finished(void)
{
	if (opt.mode != M_HOLD)
		return failed || ndone == opt.conns;
	if (got_stop)
		return true;
	if (!ready)
		return failed;
	return ndone == opt.conns && !probe.running;
}

static void timeout(void)
{
	struct conn *c = conn;
	int left = opt.conns - ndone;

	if (opt.mode == M_HOLD && ready) {
		say("timeout, %d connections still open", left);
		return;		/* holding until the timeout is no failure */
	}
	failed = true;
	while (c < conn + opt.conns - 1 && c->state == C_DONE)
		c++;		/* the first one still at work */
	fputs("kecho-client: timeout: waiting for ", stderr);
	if (opt.mode == M_SLOWREAD && slow.phase == S_WAIT)
		fprintf(stderr, "%s to exist\n", opt.go_file);
	else if (opt.mode == M_HOLD)
		fprintf(stderr, "%d of %d connections to connect and echo a probe\n",
			opt.conns - nprobed, opt.conns);
	else if (opt.mode == M_ECHO && !ready)
		fprintf(stderr, "%d of %d connections to connect\n",
			opt.conns - nopen, opt.conns);
	else
		fprintf(stderr, "%d of %d connections (conn %d round %u: sent %llu, echoed %llu of %llu bytes%s)\n",
			left, opt.conns, (int)(c - conn), c->round,
			(ull)c->sent, (ull)c->rcvd,
			(ull)(c->size == ENDLESS ? c->sent : c->size),
			c->shut_wr ? ", then EOF" : "");
}

/* The flags say what came; the pipe only wakes poll(), so a full one is fine. */
static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
	if (write(sigpipe[1], "", 1) < 0)
		sig = 0;
	errno = saved;
}

static void read_signals(void)
{
	char buf[64];

	while (read(sigpipe[0], buf, sizeof(buf)) > 0)
		;
	if (got_usr1) {
		got_usr1 = 0;
		probe.requested = true;
	}
}

static short conn_events(const struct conn *c)
{
	short ev = 0;

	if (c->state == C_CONNECTING)
		return POLLOUT;
	if (c->state != C_OPEN)
		return 0;
	/* Slowread's whole point is not to read until it is told to. */
	if (opt.mode != M_SLOWREAD || slow.phase == S_READ)
		ev |= POLLIN;
	if (send_room(c))
		ev |= POLLOUT;
	return ev;
}

static void dispatch(int idx, const struct pollfd *p)
{
	struct conn *c = &conn[idx];
	socklen_t len = sizeof(int);
	int err = 0;

	if (c->state == C_CONNECTING) {
		conn_connected(idx);
		return;
	}
	if (c->state != C_OPEN)
		return;
	if (p->events & POLLIN) {
		if (p->revents & (POLLIN | POLLERR | POLLHUP))
			conn_read(idx);
	} else if (p->revents & (POLLERR | POLLHUP)) {
		/* Not reading, so ask the socket what went wrong. */
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		peer_closed(idx, err ? err : EPIPE);
		return;
	}
	if (c->state == C_OPEN && (p->revents & POLLOUT))
		conn_write(idx);
}

static void run(void)
{
	struct pollfd *pfd = calloc(nslots + 1, sizeof(*pfd));
	int i;

	if (!pfd)
		die("out of memory");
	for (;;) {
		if (now() >= opt.deadline) {
			timeout();
			break;
		}
		tick();
		if (finished())
			break;
		pfd[0].fd = sigpipe[0];
		pfd[0].events = POLLIN;
		for (i = 0; i < nslots; i++) {
			pfd[i + 1].events = conn_events(&conn[i]);
			pfd[i + 1].fd = conn[i].state == C_CONNECTING ||
					conn[i].state == C_OPEN ?
					conn[i].fd : -1;
			pfd[i + 1].revents = 0;
		}
		if (poll(pfd, nslots + 1, 100) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[0].revents)
			read_signals();
		/* Past a failure, only hold goes on: one report is enough. */
		for (i = 0; i < nslots && (!failed || opt.mode == M_HOLD); i++)
			if (pfd[i + 1].fd >= 0 && pfd[i + 1].revents)
				dispatch(i, &pfd[i + 1]);
	}
	free(pfd);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		fputs("kecho-client: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fputs("usage: kecho-client [-a ADDR] [-p PORT] [-t TIMEOUT_S] MODE [OPTIONS]\n"
	      "  echo     [-c CONNS] [-s MIN] [-S MAX] [-r ROUNDS] [-H] [-x SEED]\n"
	      "  hold     [-c CONNS] [-b] [-s CHUNK] [-w READYFILE] [-x SEED]\n"
	      "  reset    [-c CONNS] [-s SIZE] [-x SEED]\n"
	      "  slowread [-T SECONDS] [-s CHUNK] [-R GOFILE] [-x SEED]\n"
	      "  refused  [-c CONNS]\n",
	      stderr);
	exit(2);
}

static uint64_t num(const char *s, uint64_t lo, uint64_t hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		usage("bad number: %s", s);
	return v;
}

static void parse_addr(const char *s, unsigned int port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&opt.addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&opt.addr;

	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		opt.addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		opt.addrlen = sizeof(*in6);
	} else {
		usage("not an IPv4 or IPv6 address: %s", s);
	}
}

static void parse_mode_opts(int argc, char **argv)
{
	bool size_set = false;
	int c;

	optind = 0;		/* glibc: start over on the new argv */
	while ((c = getopt(argc, argv, modes[opt.mode].opts)) != -1) {
		switch (c) {
		case 'c': opt.conns = num(optarg, 1, 1000000); break;
		case 's': opt.min = opt.size = num(optarg, 1, 1ULL << 40);
			  size_set = true; break;
		case 'S': opt.max = num(optarg, 1, 1ULL << 40); break;
		case 'r': opt.rounds = num(optarg, 1, 1000000000); break;
		case 'H': opt.half_close = true; break;
		case 'b': opt.busy = true; break;
		case 'w': opt.ready_file = optarg; break;
		case 'x': opt.seed = num(optarg, 0, UINT64_MAX); break;
		case 'T': opt.secs = num(optarg, 1, 1000000); break;
		case 'R': opt.go_file = optarg; break;
		default: usage("%s: bad option -%c", argv[0], optopt);
		}
	}
	if (optind != argc)
		usage("unexpected argument: %s", argv[optind]);
	if (!size_set)
		opt.size = opt.mode == M_HOLD ? 4096 : 65536;
	if (opt.mode == M_ECHO && opt.min > opt.max)
		usage("-s MIN is more than -S MAX");
	if ((opt.mode == M_HOLD || opt.mode == M_SLOWREAD) &&
	    opt.size > (16 << 20))
		usage("-s CHUNK is more than 16 MiB");
}

static void parse_args(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	unsigned int port = 8080, secs = 60;
	size_t m;
	int c;

	opterr = 0;		/* our messages say "kecho-client:" */
	while ((c = getopt(argc, argv, "+a:p:t:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = num(optarg, 1, 65535); break;
		case 't': secs = num(optarg, 1, 100000000); break;
		default: usage("bad option -%c", optopt);
		}
	}
	if (optind >= argc)
		usage("no mode given");
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(argv[optind], modes[m].name))
			break;
	if (m == sizeof(modes) / sizeof(modes[0]))
		usage("unknown mode: %s", argv[optind]);
	opt.mode = m;
	parse_mode_opts(argc - optind, argv + optind);
	parse_addr(addr, port);
	opt.deadline = now() + secs;
}

/* Thousands of sockets: take every file descriptor allowed, and more. */
static void raise_nofile(void)
{
	struct rlimit rl, want = { 70000, 70000 };

	if (getrlimit(RLIMIT_NOFILE, &rl) ||
	    (rl.rlim_max < 70000 && !setrlimit(RLIMIT_NOFILE, &want)))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int i;

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	if (opt.mode == M_HOLD) {
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	nslots = opt.conns + (opt.mode == M_HOLD);
	iosize = IOSIZE;
	wchunk = IOSIZE;
	if (opt.mode == M_HOLD || opt.mode == M_SLOWREAD) {
		wchunk = opt.size;
		iosize = opt.size > IOSIZE ? opt.size : IOSIZE;
	} else if (opt.mode == M_RESET) {
		reset_at = opt.size / 2 ? opt.size / 2 : 1;
		if (opt.size / 8 < IOSIZE)
			wchunk = opt.size / 8 ? opt.size / 8 : 1;
	}
	conn = calloc(nslots, sizeof(*conn));
	txbuf = malloc(iosize);
	rxbuf = malloc(iosize);
	expbuf = malloc(iosize);
	if (!conn || !txbuf || !rxbuf || !expbuf)
		die("out of memory");
	for (i = 0; i < nslots; i++)
		conn[i].fd = -1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	setup();
	run();

	if (opt.mode == M_HOLD)
		say("conns=%d closed_by_peer=%d bytes_verified=%llu mismatches=%llu",
		    opt.conns, closed_by_peer, bytes_ok, mismatches);
	else if (failed)
		return 1;
	else if (opt.mode == M_ECHO)
		say("conns=%d rounds=%u bytes=%llu ok", opt.conns, opt.rounds,
		    bytes_ok);
	else if (opt.mode == M_RESET)
		say("conns=%d ok", opt.conns);
	else if (opt.mode == M_REFUSED)
		say("conns=%d closed_by_peer=%d ok", opt.conns, closed_by_peer);
	else
		say("sent=%llu echoed=%llu ok", (ull)conn[0].sent,
		    (ull)conn[0].rcvd);
	return failed ? 1 : 0;
}
