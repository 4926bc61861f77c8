// SPDX-License-Identifier: GPL-2.0
/*
 * echo-bench: load generator for TCP echo servers.
 *
 * T threads, each with one epoll loop over its share of N non-blocking
 * connections. All connections are made first, then a barrier, a warm-up
 * whose results are dropped, and the measured window; completions count by
 * their CLOCK_MONOTONIC timestamp, so the window is exact whenever a thread
 * notices its end. The run always stops after warm-up + duration (plus the
 * connect grace before it); --count N ends the window earlier, at the
 * completion that makes N in it across all threads, and the rates are then
 * over the window as it was, not over -t (which becomes a bound).
 *
 *   rr      one message in flight per connection; latency is from the
 *           send() of its first byte to the recv() of its echo's last byte
 *   pipe    DEPTH messages in flight per connection
 *   stream  back-to-back messages, at most DEPTH * MSGSIZE bytes unechoed
 *           (default window 64 KiB); the same framing, so checked too
 *   udp     rr over UDP: a connected datagram socket per "connection", one
 *           datagram in flight; one not echoed within 200 ms is counted
 *           lost and sent again, and a late echo of it is ignored
 *   churn   a connection per request: each of the N slots connects, sends
 *           one message, checks its echo, closes and connects again at
 *           once; nothing is connected before the barrier. Latency is from
 *           connect() to the recv() of the echo's last byte, req/s is
 *           connections per second, and the per-request figures below are
 *           per connection, handshake and teardown included. The client
 *           closes first (no SO_LINGER: that would reset), so TIME_WAIT is
 *           on its side: loopback reuses those ports (tcp_tw_reuse=2, the
 *           default), another address may run out of them (EADDRNOTAVAIL,
 *           reported as such). A failed connection is an error, and its
 *           slot connects again after 10 ms: a transient failure does not
 *           end the run, and a refusing server gets no connect() flood.
 *
 * Under pressure (stream): --slow N makes the first N connections read only
 * during the first second of every four; --pressure "MIN PRESSURE MAX"
 * sets net.ipv4.tcp_mem (pages) for the measured window only, restoring it
 * after; --squeeze runs mem-squeeze (from PATH), which holds the machine's
 * free memory between the page allocator's min and low watermarks, from
 * before the connections are made (the run starts once its hog is full)
 * to the end of the measured window; --after S goes on for S seconds
 * more, every connection reading, and counts the connections that echoed
 * nothing in that time (stalled: an error); --drain S then stops sending
 * and reads what is still due, for at most S seconds, and reports how
 * long the connections took: TCP's window probes back off to minutes, and
 * a connection whose server thinks its window closed waits for the next
 * one.
 *
 * Correctness first: message SEQ of connection ID starts with SEQ (64 bits,
 * little-endian), ID (32 bits) and MSGSIZE (32 bits), truncated if the
 * message is shorter; the rest is a shared random pattern read from an
 * offset derived from (ID, SEQ); in churn, ID is the slot and SEQ counts
 * its connections, so that each connection's message is a new one. Every
 * echoed byte is compared with the expected one, across read boundaries;
 * bytes never sent, a mismatch, a reset or a close by the server are
 * errors, and any error means exit 1. Content is regenerated, never
 * stored, so partial writes cost nothing.
 *
 * MB/s: bytes echoed back to the client within the window, in 10^6 bytes
 * per second (echoes only, not the bytes sent).
 *
 * Server CPU per request: non-idle jiffies of /proc/stat over the window,
 * minus this process's own CPU (getrusage) over the same window, divided by
 * the requests. It therefore counts any work of the machine outside this
 * process, in-kernel servers and softirq network processing included.
 * Machine CPU per request is all non-idle jiffies over the window, this
 * process's included, per request; context switches per request are the
 * ctxt count of /proc/stat over the window, per request; TCP segments per
 * request are /proc/net/snmp's OutSegs over the window (both directions:
 * loopback sends every segment from this machine; with the client in a
 * network namespace of its own, the initial namespace's, where the
 * server is, are added). On one CPU shared
 * by client and server (the icount benchmark) these two are what a request
 * costs the whole system. Receives per request are this process's TCP
 * recv() calls that returned data, per request: above 1, echoes came
 * back in pieces, each a wake-up of the client.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HDR		16		/* seq, connection id, size */
#define PAT_SPAN	4096		/* pattern offsets: a power of two */
#define IOSIZE		65536		/* bytes per send() or recv() */
#define MAX_CONNECTING	64		/* connects in flight per thread */
#define MAX_EVENTS	256
#define MAX_REPORTS	10		/* error lines printed */
#define STREAM_WINDOW	65536		/* default bytes unechoed, stream */
#define MAX_STAMPS	(1ULL << 30)	/* bytes of send timestamps */
#define NS		1000000000ULL
#define UDP_LOSS_NS	(200 * 1000000ULL)	/* udp: echo deadline */
#define UDP_MAX		65507		/* largest IPv4 UDP payload */
#define CHURN_PAUSE_NS	(10 * 1000000ULL)	/* churn: after an error */

/* Log-linear histogram of ns: 128 linear buckets per power of two. */
#define SUB_BITS	7
#define NBUCKETS	((64 - SUB_BITS + 1) << SUB_BITS)

enum mode { RR, PIPE, STREAM, UDP, CHURN };
static const char *const mode_names[] = {
	"rr", "pipe", "stream", "udp", "churn"
};

static struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned int conns, threads, depth;
	size_t size;
	double warmup, duration;
	enum mode mode;
	bool csv;
	const char *label;
	pid_t server_pid;
	unsigned int slow;
	const char *pressure;
	bool squeeze;
	double after, drain;
	uint64_t count;			/* --count: requests in the window */
} opt = {
	.conns = 1, .threads = 1, .size = 64, .warmup = 1, .duration = 5,
	.label = "-",
};

struct conn {
	int fd;
	uint32_t id;
	bool open, pollout;
	uint64_t tx_seq, rx_seq;	/* message being sent, received */
	size_t tx_pos, rx_pos;		/* bytes of it sent, received */
	uint64_t done;			/* completed in the window */
	uint64_t after;			/* completed in --after's time */
	uint64_t drain_ns;		/* --drain: time to have it all back */
	uint64_t *stamps;		/* send times, by seq % depth */
	bool reading;			/* EPOLLIN wanted (--slow) */
	bool connecting;		/* churn: connect() in flight */
	uint64_t started;		/* churn: connections, the next SEQ */
	uint64_t pause_ns;		/* churn: connect again then, or 0 */
};

struct worker {
	pthread_t tid;
	int epfd;
	struct conn *conns;
	unsigned int nconns;
	uint8_t *txbuf, *rxbuf;
	uint64_t requests, bytes, errors, max_ns, lost;
	uint64_t recvs;			/* TCP recv() calls that got data */
	uint64_t pause_ns;		/* churn: the first slot's pause end */
	uint64_t hist[NBUCKETS];
};

static uint8_t *pattern;		/* PAT_SPAN + size random bytes */
static pthread_barrier_t barrier;
static atomic_bool failed;		/* connecting failed: no run */
static atomic_uint reports;
static uint64_t connect_deadline, t_warm, t_after, t_drain;
/* --count moves it earlier while the threads run; main waits on end_cond. */
static _Atomic uint64_t t_end;
static _Atomic uint64_t counted;	/* --count: completions in the window */
static pthread_mutex_t end_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t end_cond;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("echo-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The first MAX_REPORTS errors, whatever the thread. */
static void __attribute__((format(printf, 1, 2))) report(const char *fmt, ...)
{
	unsigned int n = atomic_fetch_add(&reports, 1);
	char line[256];
	va_list ap;

	if (n > MAX_REPORTS)
		return;
	if (n == MAX_REPORTS) {
		fputs("echo-bench: further errors not shown\n", stderr);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "echo-bench: %s\n", line);
}

/* ---- messages ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pattern_init(void)
{
	uint64_t x = 0x6563686f62656e63ULL;	/* fixed: runs compare */

	pattern = malloc(PAT_SPAN + opt.size);
	if (!pattern)
		die("out of memory");
	for (size_t i = 0; i < PAT_SPAN + opt.size; i++)
		pattern[i] = mix64(x + i / 8) >> (i % 8 * 8);
}

static const uint8_t *msg_body(uint32_t id, uint64_t seq)
{
	return pattern + (mix64(seq ^ (uint64_t)id << 40) & (PAT_SPAN - 1));
}

static void msg_header(uint8_t *h, uint32_t id, uint64_t seq)
{
	for (int i = 0; i < 8; i++)
		h[i] = seq >> (8 * i);
	for (int i = 0; i < 4; i++) {
		h[8 + i] = id >> (8 * i);
		h[12 + i] = (uint64_t)opt.size >> (8 * i);
	}
}

/* Bytes [from, from + len) of message seq of connection id. */
static void msg_fill(uint8_t *dst, uint32_t id, uint64_t seq, size_t from,
		     size_t len)
{
	if (from < HDR) {
		uint8_t h[HDR];
		size_t n = len < HDR - from ? len : HDR - from;

		msg_header(h, id, seq);
		memcpy(dst, h + from, n);
		dst += n;
		from += n;
		len -= n;
	}
	memcpy(dst, msg_body(id, seq) + from, len);
}

/* Offset of the first byte of src that differs from msg_fill's, or -1. */
static long msg_check(const uint8_t *src, uint32_t id, uint64_t seq,
		      size_t from, size_t len)
{
	const uint8_t *want = msg_body(id, seq) + from;
	uint8_t h[HDR];
	size_t i = 0;

	if (from < HDR) {
		msg_header(h, id, seq);
		for (; i < len && from + i < HDR; i++)
			if (src[i] != h[from + i])
				return i;
	}
	if (!memcmp(src + i, want + i, len - i))
		return -1;
	while (src[i] == want[i])
		i++;
	return i;
}

static void report_mismatch(struct conn *c, const uint8_t *src, size_t len,
			    size_t bad)
{
	uint8_t want;
	char what[80] = "";

	msg_fill(&want, c->id, c->rx_seq, c->rx_pos + bad, 1);
	/* A whole header received: say what message it was. */
	if (c->rx_pos == 0 && len >= 12) {
		uint64_t seq = 0;
		uint32_t id = 0;

		for (int i = 7; i >= 0; i--)
			seq = seq << 8 | src[i];
		for (int i = 11; i >= 8; i--)
			id = id << 8 | src[i];
		snprintf(what, sizeof(what), " (header says message %" PRIu64
			 " of connection %" PRIu32 ")", seq, id);
	}
	report("connection %" PRIu32 ": message %" PRIu64 " byte %zu is "
	       "0x%02x, expected 0x%02x%s", c->id, c->rx_seq, c->rx_pos + bad,
	       src[bad], want, what);
}

/* ---- histogram ---- */

static unsigned int hist_index(uint64_t v)
{
	unsigned int shift;

	if (v < (2u << SUB_BITS))
		return v;
	shift = 63 - __builtin_clzll(v) - SUB_BITS;
	return (shift << SUB_BITS) + (unsigned int)(v >> shift);
}

/* Middle of the bucket: within 1/256 of any value in it. */
static uint64_t hist_value(unsigned int i)
{
	unsigned int shift;

	if (i < (2u << SUB_BITS))
		return i;
	shift = (i >> SUB_BITS) - 1;
	return ((uint64_t)(i - (shift << SUB_BITS)) << shift) +
	       (1ULL << shift) / 2;
}

static double hist_pct(const uint64_t *hist, uint64_t total, uint64_t max,
		       double pct)
{
	double r = pct / 100 * total;
	uint64_t rank = r, seen = 0;

	if (!total)
		return 0;
	if (rank < r || !rank)	/* the ceiling, at least the first */
		rank++;
	for (unsigned int i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank) {
			uint64_t v = hist_value(i);

			return (v < max ? v : max) / 1e3;
		}
	}
	return max / 1e3;
}

/* ---- connections ---- */

static void churn_start(struct worker *w, struct conn *c);

/* churn: the slot connects again after a pause, not in a tight loop. */
static void churn_pause(struct worker *w, struct conn *c)
{
	c->pause_ns = now_ns() + CHURN_PAUSE_NS;
	if (c->pause_ns < w->pause_ns)
		w->pause_ns = c->pause_ns;
}

static void conn_fail(struct worker *w, struct conn *c)
{
	w->errors++;
	close(c->fd);		/* also leaves the epoll set */
	c->open = false;
	if (opt.mode == CHURN)
		churn_pause(w, c);
}

static void set_events(struct worker *w, struct conn *c, bool out,
		       bool in)
{
	struct epoll_event ev = {
		.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->pollout == out && c->reading == in)
		return;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	c->pollout = out;
	c->reading = in;
}

static void set_pollout(struct worker *w, struct conn *c, bool on)
{
	set_events(w, c, on, c->reading);
}

/* Generates the next bytes the window allows into txbuf. */
static size_t tx_fill(struct worker *w, struct conn *c)
{
	uint64_t seq = c->tx_seq, limit = c->rx_seq + opt.depth;
	size_t pos = c->tx_pos, len = 0;

	while (len < IOSIZE && seq < limit) {
		size_t n = opt.size - pos;

		if (n > IOSIZE - len)
			n = IOSIZE - len;
		msg_fill(w->txbuf + len, c->id, seq, pos, n);
		len += n;
		pos += n;
		if (pos == opt.size) {
			seq++;
			pos = 0;
		}
	}
	return len;
}

/* n bytes went out at time t: messages they started are stamped t. */
static void tx_advance(struct conn *c, size_t n, uint64_t t)
{
	while (n) {
		size_t k = opt.size - c->tx_pos;

		if (k > n)
			k = n;
		/* churn: stamped at connect() instead, by conn_start(). */
		if (!c->tx_pos && opt.mode != CHURN)
			c->stamps[c->tx_seq % opt.depth] = t;
		c->tx_pos += k;
		n -= k;
		if (c->tx_pos == opt.size) {
			c->tx_seq++;
			c->tx_pos = 0;
		}
	}
}

static void conn_send(struct worker *w, struct conn *c)
{
	/* --drain: nothing more is sent once the traffic has ended. */
	if (opt.drain && now_ns() >= t_after) {
		set_pollout(w, c, false);
		return;
	}
	for (;;) {
		size_t len = tx_fill(w, c);
		uint64_t t;
		ssize_t n;

		if (!len) {
			set_pollout(w, c, false);
			return;
		}
		t = now_ns();
		n = send(c->fd, w->txbuf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			report("connection %" PRIu32 ": send: %s", c->id,
			       strerror(errno));
			conn_fail(w, c);
			return;
		}
		if (n > 0)
			tx_advance(c, n, t);
		/* The socket buffer is full: go on at EPOLLOUT. */
		if (n < (ssize_t)len) {
			set_pollout(w, c, true);
			return;
		}
	}
}

/* --count: the window ends at t, before its planned end; main samples it. */
static void window_end(uint64_t t)
{
	pthread_mutex_lock(&end_lock);
	t_end = t;
	pthread_cond_signal(&end_cond);
	pthread_mutex_unlock(&end_lock);
}

static void complete(struct worker *w, struct conn *c, uint64_t t)
{
	if (t >= t_end) {
		c->after++;
		return;
	}
	/*
	 * --count: the N-th completion ends the window just after it. One
	 * that another thread timed at about the same moment but counted
	 * later is past the window, although t_end had not moved when it
	 * looked: the window holds N requests, no more.
	 */
	if (opt.count) {
		uint64_t n = atomic_fetch_add(&counted, 1) + 1;

		if (n > opt.count)
			return;
		if (n == opt.count)
			window_end(t + 1);
	}
	uint64_t ns = t - c->stamps[c->rx_seq % opt.depth];

	w->hist[hist_index(ns)]++;
	if (ns > w->max_ns)
		w->max_ns = ns;
	w->requests++;
	c->done++;
}

/* Bytes sent and not yet echoed. */
static uint64_t unechoed(const struct conn *c)
{
	return (c->tx_seq - c->rx_seq) * opt.size + c->tx_pos - c->rx_pos;
}

/* udp: one datagram, the whole message or an error; late echoes ignored. */
static void conn_recv_udp(struct worker *w, struct conn *c)
{
	ssize_t n = recv(c->fd, w->rxbuf, IOSIZE, MSG_TRUNC);
	uint64_t t = now_ns(), seq = 0;
	long bad;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* ICMP port unreachable: the server is not there (yet). */
		if (errno == ECONNREFUSED)
			return;
		report("connection %" PRIu32 ": %s", c->id, strerror(errno));
		conn_fail(w, c);
		return;
	}
	for (int i = 7; n >= 8 && i >= 0; i--)
		seq = seq << 8 | w->rxbuf[i];
	if (n >= 8 && seq < c->rx_seq)
		return;		/* the echo of a datagram sent again */
	if ((size_t)n != opt.size || c->tx_seq == c->rx_seq) {
		report("connection %" PRIu32 ": a datagram of %zd bytes, "
		       "expected %zu bytes of message %" PRIu64 "%s", c->id, n,
		       opt.size, c->rx_seq,
		       c->tx_seq == c->rx_seq ? ", not sent yet" : "");
		conn_fail(w, c);
		return;
	}
	bad = msg_check(w->rxbuf, c->id, c->rx_seq, 0, n);
	if (bad >= 0) {
		report_mismatch(c, w->rxbuf, n, bad);
		conn_fail(w, c);
		return;
	}
	if (t >= t_warm && t < t_end) {
		w->bytes += n;
		complete(w, c, t);
	}
	c->rx_seq++;
	conn_send(w, c);
}

/* udp: what is past its deadline was lost; send it again. */
static void udp_resend_lost(struct worker *w)
{
	uint64_t t = now_ns();

	for (unsigned int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (!c->open || c->tx_seq == c->rx_seq ||
		    t - c->stamps[0] < UDP_LOSS_NS)
			continue;
		w->lost++;
		c->tx_seq = c->rx_seq;
		c->tx_pos = 0;
		conn_send(w, c);
	}
}

static void conn_recv(struct worker *w, struct conn *c)
{
	ssize_t n = recv(c->fd, w->rxbuf, IOSIZE, 0);
	uint64_t t = now_ns();
	bool measured = t >= t_warm && t < t_end, echoed = false;
	const uint8_t *p = w->rxbuf;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		report("connection %" PRIu32 ": %s", c->id,
		       n ? strerror(errno) : "closed by the server");
		conn_fail(w, c);
		return;
	}
	if ((uint64_t)n > unechoed(c)) {
		report("connection %" PRIu32 ": %zd bytes received, only %"
		       PRIu64 " sent and not echoed", c->id, n, unechoed(c));
		conn_fail(w, c);
		return;
	}
	if (measured) {
		w->bytes += n;
		w->recvs++;
	}
	while (n) {
		size_t k = opt.size - c->rx_pos;
		long bad;

		if (k > (size_t)n)
			k = n;
		bad = msg_check(p, c->id, c->rx_seq, c->rx_pos, k);
		if (bad >= 0) {
			report_mismatch(c, p, k, bad);
			conn_fail(w, c);
			return;
		}
		p += k;
		n -= k;
		c->rx_pos += k;
		if (c->rx_pos == opt.size) {
			if (measured || (t >= t_end && t < t_after))
				complete(w, c, t);
			c->rx_seq++;
			c->rx_pos = 0;
			echoed = true;
		}
	}
	if (t >= t_after && !unechoed(c) && !c->drain_ns)
		c->drain_ns = t - t_after;
	/* churn: the connection's one message is back, the slot goes on. */
	if (opt.mode == CHURN) {
		if (echoed) {
			close(c->fd);
			c->open = false;
			churn_start(w, c);
		}
		return;
	}
	conn_send(w, c);	/* the window moved */
}

/* ---- threads ---- */

/* EADDRNOTAVAIL: no local port left for the address, TIME_WAIT's (churn). */
static void connect_report(int err)
{
	report("connect: %s%s", strerror(err), err == EADDRNOTAVAIL ?
	       " (no local port left: TIME_WAIT, net.ipv4.ip_local_port_range)"
	       : "");
}

static int conn_start(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(opt.addr.ss_family,
		       (opt.mode == UDP ? SOCK_DGRAM : SOCK_STREAM) |
		       SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		report("socket: %s", strerror(errno));
		return -1;
	}
	if (opt.mode != UDP &&
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY: %s", strerror(errno));
	/* churn: a request's latency starts with its connect(). */
	if (opt.mode == CHURN)
		c->stamps[0] = now_ns();
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) &&
	    errno != EINPROGRESS) {
		connect_report(errno);
		close(c->fd);
		return -1;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

/* A connect finished: 0 if it succeeded. */
static int conn_connected(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		connect_report(err);
		close(c->fd);
		return -1;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	c->open = true;
	c->reading = true;
	return 0;
}

/*
 * churn: the slot's next connection, with a message of its own: SEQ is
 * the count of the slot's connections. A connect() failing at once is an
 * error like one failing later, and the slot pauses.
 */
static void churn_start(struct worker *w, struct conn *c)
{
	c->tx_seq = c->rx_seq = c->started++;
	c->tx_pos = c->rx_pos = 0;
	c->pollout = false;
	c->pause_ns = 0;
	if (conn_start(w, c)) {
		w->errors++;
		churn_pause(w, c);
		return;
	}
	c->connecting = true;
}

/* churn: a connect() finished; if it succeeded, the message goes out. */
static void churn_connected(struct worker *w, struct conn *c)
{
	c->connecting = false;
	if (conn_connected(w, c)) {
		w->errors++;
		churn_pause(w, c);
		return;
	}
	conn_send(w, c);
}

/* churn: the slots whose pause is over connect again. */
static void churn_resume(struct worker *w, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (now < w->pause_ns)
		return;
	for (unsigned int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->pause_ns && c->pause_ns <= now)
			churn_start(w, c);
		if (c->pause_ns && c->pause_ns < next)
			next = c->pause_ns;
	}
	w->pause_ns = next;
}

static void connect_all(struct worker *w)
{
	struct epoll_event evs[MAX_EVENTS];
	unsigned int next = 0, pending = 0, done = 0;

	while (done < w->nconns && !atomic_load(&failed)) {
		uint64_t now = now_ns();
		int n;

		while (pending < MAX_CONNECTING && next < w->nconns) {
			if (conn_start(w, &w->conns[next++]))
				goto fail;
			pending++;
		}
		if (now >= connect_deadline) {
			report("%u connections not made in time (%u connecting,"
			       " %u not started)", w->nconns - done, pending,
			       w->nconns - next);
			goto fail;
		}
		n = epoll_wait(w->epfd, evs, MAX_EVENTS,
			       (connect_deadline - now) / 1000000 + 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (conn_connected(w, evs[i].data.ptr))
				goto fail;
			pending--;
			done++;
		}
	}
	return;
fail:
	w->errors++;
	atomic_store(&failed, true);
}

/*
 * --slow: the slow connections read in the first second of every four of
 * the measured window; all read before and after it. --drain: true once
 * every connection has all its echoes back, or is closed.
 */
static bool pace(struct worker *w, uint64_t now)
{
	bool paused = now >= t_warm && now < t_end &&
		      (now - t_warm) / NS % 4 != 0;
	bool drained = true;

	for (unsigned int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (!c->open)
			continue;
		if (c->id < opt.slow)
			set_events(w, c, c->pollout, !paused);
		if (unechoed(c))
			drained = false;
	}
	return drained;
}

static void run(struct worker *w)
{
	struct epoll_event evs[MAX_EVENTS];

	for (unsigned int i = 0; i < w->nconns; i++)
		if (opt.mode == CHURN)
			churn_start(w, &w->conns[i]);
		else if (w->conns[i].open)
			conn_send(w, &w->conns[i]);
	for (;;) {
		/* --count moves t_end; it is not for --after or --drain. */
		uint64_t now = now_ns(), stop = opt.drain ? t_drain :
					       opt.after ? t_after : t_end;
		int n, ms = (stop - now) / 1000000 + 1;

		if (now >= stop)
			break;
		if (opt.slow || opt.drain) {
			if (pace(w, now) && now >= t_after && opt.drain)
				break;
			ms = ms < 100 ? ms : 100;
		}
		if (opt.mode == CHURN) {
			churn_resume(w, now);
			if (w->pause_ns < stop)
				ms = (w->pause_ns - now) / 1000000 + 1;
		}
		n = epoll_wait(w->epfd, evs, MAX_EVENTS,
			       opt.mode == UDP ? 10 : ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->connecting) {
				churn_connected(w, c);
				continue;
			}
			if (c->open && opt.mode == UDP &&
			    (evs[i].events & (EPOLLIN | EPOLLERR)))
				conn_recv_udp(w, c);
			else if (c->open && (evs[i].events &
					     (EPOLLIN | EPOLLERR | EPOLLHUP)))
				conn_recv(w, c);
			if (c->open && (evs[i].events & EPOLLOUT))
				conn_send(w, c);
		}
		if (opt.mode == UDP)
			udp_resend_lost(w);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* churn connects once the clock runs: connections are its requests. */
	if (opt.mode != CHURN)
		connect_all(w);
	pthread_barrier_wait(&barrier);	/* all connected, or failed */
	pthread_barrier_wait(&barrier);	/* main has set the clock */
	if (!atomic_load(&failed))
		run(w);
	for (unsigned int i = 0; i < w->nconns; i++)
		if (w->conns[i].open || w->conns[i].connecting)
			close(w->conns[i].fd);
	return NULL;
}

static void workers_init(struct worker *ws)
{
	for (unsigned int t = 0; t < opt.threads; t++) {
		struct worker *w = &ws[t];
		uint64_t *stamps;

		/* Connection i goes to thread i % threads. */
		w->nconns = opt.conns / opt.threads +
			    (t < opt.conns % opt.threads);
		w->conns = calloc(w->nconns, sizeof(*w->conns));
		stamps = calloc((size_t)w->nconns * opt.depth,
				sizeof(*stamps));
		w->txbuf = malloc(IOSIZE);
		w->rxbuf = malloc(IOSIZE);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!w->conns || !stamps || !w->txbuf || !w->rxbuf ||
		    w->epfd < 0)
			die("thread setup: %s", strerror(errno));
		w->pause_ns = UINT64_MAX;
		for (unsigned int i = 0; i < w->nconns; i++) {
			w->conns[i].id = i * opt.threads + t;
			w->conns[i].stamps = stamps + (size_t)i * opt.depth;
		}
	}
}

/* ---- CPU accounting ---- */

struct sample {
	uint64_t ns;
	long long busy;		/* /proc/stat non-idle jiffies, or -1 */
	long long idle;		/* idle + iowait jiffies */
	long long ctxt;		/* context switches since boot, or -1 */
	long long segs;		/* TCP segments sent since boot, or -1 */
	long long self_us;	/* our user + system CPU */
	long long pid;		/* --server-pid jiffies, or -1 */
};

/* Sets s->busy, s->idle and s->ctxt; -1 in busy or ctxt if unknown. */
static void stat_read(struct sample *s)
{
	unsigned long long v[8] = { 0 }, c;
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	int n;

	s->busy = s->ctxt = -1;
	if (!f)
		return;
	/* user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n >= 7) {
		s->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		s->idle = v[3] + v[4];
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ctxt %llu", &c) == 1) {
			s->ctxt = c;
			break;
		}
	fclose(f);
}

/* /proc/net/snmp's Tcp OutSegs, or -1: a line of names, then of values. */
/* OutSegs of the network namespace whose /proc/.../net/snmp is @path. */
static long long ns_out_segs(const char *path)
{
	char names[1024], values[1024], *n, *v, *sn, *sv;
	FILE *f = fopen(path, "r");
	long long segs = -1;

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f)) {
		if (strncmp(names, "Tcp:", 4) ||
		    !fgets(values, sizeof(values), f))
			continue;
		n = strtok_r(names, " \n", &sn);
		v = strtok_r(values, " \n", &sv);
		while (n && v) {
			if (!strcmp(n, "OutSegs")) {
				segs = atoll(v);
				break;
			}
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return segs;
}

/* Whether @a and @b are the same namespace links in /proc. */
static bool same_ns(const char *a, const char *b)
{
	char la[64], lb[64];
	ssize_t na = readlink(a, la, sizeof(la));
	ssize_t nb = readlink(b, lb, sizeof(lb));

	return na < 0 || nb < 0 || (na == nb && !memcmp(la, lb, na));
}

/*
 * TCP segments sent by both ends: this namespace's, and, when the client
 * runs in a namespace of its own (the benchmark's NIC topology), the
 * initial one's too, where the server is.
 */
static long long tcp_out_segs(void)
{
	long long mine = ns_out_segs("/proc/net/snmp"), init;

	if (mine < 0 || same_ns("/proc/self/ns/net", "/proc/1/ns/net"))
		return mine;
	init = ns_out_segs("/proc/1/net/snmp");
	return init < 0 ? -1 : mine + init;
}

static long long pid_jiffies(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold anything: fields restart after ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %llu %llu", &ut, &st) != 2)
		return -1;
	return ut + st;
}

static void sample(struct sample *s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	s->ns = now_ns();
	stat_read(s);
	s->segs = tcp_out_segs();
	s->self_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
		     ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	s->pid = opt.server_pid ? pid_jiffies(opt.server_pid) : -1;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / NS, .tv_nsec = t % NS };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
}

/* Until the window's end, which --count may bring forward. */
static void window_wait(void)
{
	uint64_t t;

	pthread_mutex_lock(&end_lock);
	while ((t = t_end) > now_ns()) {
		struct timespec ts = { .tv_sec = t / NS, .tv_nsec = t % NS };

		pthread_cond_timedwait(&end_cond, &end_lock, &ts);
	}
	pthread_mutex_unlock(&end_lock);
}

/* ---- results ---- */

static void print_csv_header(void)
{
	puts("csv,label,mode,conns,threads,size,depth,warmup_s,duration_s,"
	     "requests,req_per_s,mb_per_s,p50_us,p90_us,p99_us,p999_us,"
	     "max_us,fair_min,fair_max,errors,server_cpu_us_per_req,"
	     "client_cpu_us_per_req,server_pid_cpu_us_per_req,"
	     "machine_cpu_us_per_req,ctxt_per_req,idle_pct,segs_per_req,"
	     "recvs_per_req");
}

static int results(struct worker *ws, const struct sample *s0,
		   const struct sample *s1)
{
	static uint64_t hist[NBUCKETS];
	uint64_t req = 0, bytes = 0, errors = 0, max = 0, lost = 0, recvs = 0;
	uint64_t fmin = UINT64_MAX, fmax = 0, stalled = 0, amin = UINT64_MAX;
	uint64_t dmax = 0, over5 = 0, undrained = 0;
	/* The window as it was: --count may have ended it early. */
	double secs = (t_end - t_warm) / 1e9, hz = sysconf(_SC_CLK_TCK);
	double p[5], srv = -1, self = -1, pid = -1, all = -1, ctxt = -1;
	double idle = -1, segs = -1, rpr = -1;
	static const double pcts[4] = { 50, 90, 99, 99.9 };
	char extra[64] = "", pidcol[32] = "";
	bool ran = !atomic_load(&failed);

	for (unsigned int t = 0; t < opt.threads; t++) {
		struct worker *w = &ws[t];

		req += w->requests;
		bytes += w->bytes;
		recvs += w->recvs;
		errors += w->errors;
		lost += w->lost;
		max = w->max_ns > max ? w->max_ns : max;
		for (unsigned int i = 0; i < NBUCKETS; i++)
			hist[i] += w->hist[i];
		for (unsigned int i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];
			uint64_t d = c->done;

			fmin = d < fmin ? d : fmin;
			fmax = d > fmax ? d : fmax;
			if (!c->open)
				continue;
			amin = c->after < amin ? c->after : amin;
			stalled += !c->after;
			if (unechoed(c)) {
				undrained++;
				continue;
			}
			dmax = c->drain_ns > dmax ? c->drain_ns : dmax;
			over5 += c->drain_ns > 5 * NS;
		}
	}
	/* No run, nothing to judge after it: connecting's error is the one. */
	if (opt.after && ran) {
		printf("echo-bench: after: %.0fs more, every connection "
		       "reading: fewest echoes %" PRIu64 ", stalled %" PRIu64
		       "\n", opt.after, amin == UINT64_MAX ? 0 : amin, stalled);
		if (stalled)
			report("%" PRIu64 " connections echoed nothing in the "
			       "%.0fs after the window", stalled, opt.after);
		errors += stalled;
	}
	if (opt.drain && ran)
		printf("echo-bench: drain: all back in %.1fs at most; over 5s "
		       "%" PRIu64 "; not back in %.0fs %" PRIu64 "\n",
		       dmax / 1e9, over5, opt.drain, undrained);
	/* Not an error: the run is measured, over -t, and says so. */
	if (opt.count && req < opt.count)
		printf("echo-bench: count: %" PRIu64 " of %" PRIu64 " requests "
		       "in the window, which -t ended\n", req, opt.count);
	for (int i = 0; i < 4; i++)
		p[i] = hist_pct(hist, req, max, pcts[i]);
	p[4] = max / 1e3;
	if (req) {
		self = (double)(s1->self_us - s0->self_us) / req;
		if (s0->busy >= 0 && s1->busy >= 0)
			srv = ((s1->busy - s0->busy) * 1e6 / hz -
			       (s1->self_us - s0->self_us)) / req;
		/* Jiffies are coarse: a busy client can come out ahead. */
		if (srv < 0 && s0->busy >= 0)
			srv = 0;
		if (s0->pid >= 0 && s1->pid >= 0)
			pid = (s1->pid - s0->pid) * 1e6 / hz / req;
		if (s0->busy >= 0 && s1->busy >= 0)
			all = (s1->busy - s0->busy) * 1e6 / hz / req;
		if (s0->ctxt >= 0 && s1->ctxt >= 0)
			ctxt = (double)(s1->ctxt - s0->ctxt) / req;
		if (s0->segs >= 0 && s1->segs >= 0)
			segs = (double)(s1->segs - s0->segs) / req;
		/* An echo that comes back in pieces wakes the client more. */
		if (opt.mode != UDP)
			rpr = (double)recvs / req;
	}
	if (s0->busy >= 0 && s1->busy >= 0 &&
	    s1->busy + s1->idle > s0->busy + s0->idle)
		idle = 100.0 * (s1->idle - s0->idle) /
		       (s1->busy + s1->idle - s0->busy - s0->idle);
	if (opt.server_pid) {
		snprintf(pidcol, sizeof(pidcol), "%.2f", pid);
		snprintf(extra, sizeof(extra),
			 " server_pid_cpu_us_per_req=%s", pidcol);
	}
	printf("echo-bench: label=%s mode=%s conns=%u threads=%u size=%zu "
	       "depth=%u duration=%.2f requests=%" PRIu64 " req/s=%.0f "
	       "MB/s=%.2f p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus "
	       "max=%.1fus fair_min=%" PRIu64 " fair_max=%" PRIu64
	       " errors=%" PRIu64 " lost=%" PRIu64 " server_cpu_us_per_req=%.2f "
	       "client_cpu_us_per_req=%.2f machine_cpu_us_per_req=%.2f "
	       "ctxt_per_req=%.2f idle_pct=%.1f segs_per_req=%.2f "
	       "recvs_per_req=%.2f%s\n",
	       opt.label, mode_names[opt.mode], opt.conns, opt.threads,
	       opt.size, opt.depth, secs, req, req / secs, bytes / secs / 1e6,
	       p[0], p[1], p[2], p[3], p[4], fmin, fmax, errors, lost, srv,
	       self, all, ctxt, idle, segs, rpr, extra);
	if (opt.csv)
		printf("csv,%s,%s,%u,%u,%zu,%u,%.2f,%.2f,%" PRIu64 ",%.0f,"
		       "%.2f,%.1f,%.1f,%.1f,%.1f,%.1f,%" PRIu64 ",%" PRIu64
		       ",%" PRIu64 ",%.2f,%.2f,%s,%.2f,%.3f,%.1f,%.2f,%.2f\n",
		       opt.label, mode_names[opt.mode], opt.conns, opt.threads,
		       opt.size, opt.depth, opt.warmup, secs, req, req / secs,
		       bytes / secs / 1e6, p[0], p[1], p[2], p[3], p[4], fmin,
		       fmax, errors, srv, self, pidcol, all, ctxt, idle, segs,
		       rpr);
	fflush(stdout);
	return errors || !req ? 1 : 0;
}

/* ---- command line ---- */

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: echo-bench -a ADDR -p PORT [-c CONNS] [-T THREADS]\n"
	      "         [-m rr|pipe|stream|udp|churn] [-s MSGSIZE] "
	      "[-d DEPTH]\n"
	      "         [-w WARMUP_S] [-t DURATION_S] [--count N] [--csv]\n"
	      "         [--label NAME] [--server-pid PID] [--slow N]\n"
	      "         [--pressure 'MIN PRESSURE MAX'] [--after S] "
	      "[--drain S]\n"
	      "         [--squeeze]\n"
	      "       echo-bench --csv-header\n", stderr);
	exit(2);
}

static double num(const char *s, double lo, double hi, bool integer,
		  const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi) ||
	    (integer && v != (double)(uint64_t)v))
		die("%s %s: must be %s %g..%g", what, s,
		    integer ? "an integer" : "a number", lo, hi);
	return v;
}

static void parse_addr(const char *s, int port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&opt.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&opt.addr;

	/* Literals only: getaddrinfo() does not link statically. */
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		opt.addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		opt.addrlen = sizeof(*a6);
	} else {
		die("-a %s: not an IPv4 or IPv6 address", s);
	}
}

static void parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "csv", no_argument, NULL, 'C' },
		{ "csv-header", no_argument, NULL, 'H' },
		{ "label", required_argument, NULL, 'L' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "slow", required_argument, NULL, 'S' },
		{ "pressure", required_argument, NULL, 'M' },
		{ "after", required_argument, NULL, 'A' },
		{ "drain", required_argument, NULL, 'D' },
		{ "squeeze", no_argument, NULL, 'Q' },
		{ "count", required_argument, NULL, 'N' },
		{ 0 }
	};
	const char *addr = NULL;
	int c, port = 0;

	while ((c = getopt_long(argc, argv, "a:p:c:T:m:s:d:w:t:", longs,
				NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = num(optarg, 1, 65535, true, "-p"); break;
		case 'c': opt.conns = num(optarg, 1, 1e6, true, "-c"); break;
		case 'T': opt.threads = num(optarg, 1, 1024, true, "-T"); break;
		case 's': opt.size = num(optarg, 1, 1 << 24, true, "-s"); break;
		case 'd': opt.depth = num(optarg, 1, 1 << 20, true, "-d");
			break;
		case 'w': opt.warmup = num(optarg, 0, 3600, false, "-w"); break;
		case 't': opt.duration = num(optarg, 0.01, 86400, false, "-t");
			break;
		case 'C': opt.csv = true; break;
		case 'H': print_csv_header(); exit(0);
		case 'L': opt.label = optarg; break;
		case 'P': opt.server_pid = num(optarg, 1, 1 << 22, true,
					       "--server-pid");
			break;
		case 'S': opt.slow = num(optarg, 0, 1e6, true, "--slow"); break;
		case 'M': opt.pressure = optarg; break;
		case 'Q': opt.squeeze = true; break;
		case 'A': opt.after = num(optarg, 0, 3600, false, "--after");
			break;
		case 'D': opt.drain = num(optarg, 0, 3600, false, "--drain");
			break;
		case 'N': opt.count = num(optarg, 1, 1e15, true, "--count");
			break;
		case 'm':
			for (opt.mode = RR; opt.mode <= CHURN; opt.mode++)
				if (!strcmp(optarg, mode_names[opt.mode]))
					break;
			if (opt.mode > CHURN)
				die("-m %s: not rr, pipe, stream, udp or churn",
				    optarg);
			break;
		default:
			usage();
		}
	}
	if (!addr || !port || optind != argc)
		usage();
	parse_addr(addr, port);
	/* The label goes into both outputs unquoted. */
	if (!*opt.label || strpbrk(opt.label, ",=\" \t\n"))
		die("--label %s: no commas, '=', quotes or spaces", opt.label);
	if ((opt.mode == RR || opt.mode == UDP || opt.mode == CHURN) &&
	    opt.depth > 1)
		die("-d: %s has one message in flight", mode_names[opt.mode]);
	if (opt.mode == UDP && opt.size > UDP_MAX)
		die("-s %zu: a UDP datagram carries at most %d bytes", opt.size,
		    UDP_MAX);
	if (!opt.depth)
		opt.depth = opt.mode == PIPE ? 16 : opt.mode == STREAM ?
			    (STREAM_WINDOW + opt.size - 1) / opt.size : 1;
	if ((uint64_t)opt.conns * opt.depth * 8 > MAX_STAMPS)
		die("-c %u with -d %u: too many messages in flight", opt.conns,
		    opt.depth);
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
	if ((opt.slow || opt.pressure || opt.squeeze || opt.after ||
	     opt.drain) && opt.mode != STREAM)
		die("--slow, --pressure, --squeeze, --after and --drain are for stream");
	if (opt.pressure && strspn(opt.pressure, "0123456789 ") !=
	    strlen(opt.pressure))
		die("--pressure %s: three numbers of pages", opt.pressure);
	/* They pace, and follow, a window whose end is known in advance. */
	if (opt.count && (opt.slow || opt.pressure || opt.squeeze ||
			  opt.after || opt.drain))
		die("--count: not with --slow, --pressure, --squeeze, --after or --drain");
}

/* --pressure: net.ipv4.tcp_mem, in pages; the old value kept in @old. */
#define TCP_MEM "/proc/sys/net/ipv4/tcp_mem"

static void tcp_mem_set(const char *v, char *old, size_t len)
{
	FILE *f;

	if (old) {
		f = fopen(TCP_MEM, "r");
		if (!f || !fgets(old, len, f))
			die("%s: %s", TCP_MEM, strerror(errno));
		fclose(f);
	}
	f = fopen(TCP_MEM, "w");
	if (!f || fputs(v, f) < 0 || fclose(f))
		die("%s: writing %s: %s", TCP_MEM, v, strerror(errno));
}

/*
 * --squeeze: mem-squeeze in a process of its own, so that the OOM killer
 * can take its hog without taking this one; started before the workers,
 * and waited for until its hog is full (a byte on the pipe).
 */
#define SQUEEZE_READY_MS	(120 * 1000)

static pid_t squeeze_start(void)
{
	pid_t pid, parent = getpid();
	struct pollfd pfd;
	int fds[2];
	char c;

	if (pipe2(fds, O_CLOEXEC))
		die("pipe2: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		/* Not outliving this process: a run that dies mid-window. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent ||
		    dup2(fds[1], 3) != 3)
			_exit(127);
		execlp("mem-squeeze", "mem-squeeze", "--ready-fd", "3",
		       (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	if (poll(&pfd, 1, SQUEEZE_READY_MS) != 1 || read(fds[0], &c, 1) != 1)
		die("mem-squeeze: not at its target within %d s",
		    SQUEEZE_READY_MS / 1000);
	close(fds[0]);
	return pid;
}

static void squeeze_stop(pid_t pid)
{
	int status;

	if (kill(pid, SIGTERM) || waitpid(pid, &status, 0) != pid)
		die("mem-squeeze: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("mem-squeeze failed (status %#x)", status);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur < opt.conns + 32ULL)
		die("-c %u needs more file descriptors than the limit %llu",
		    opt.conns, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	struct sample s0 = { 0 }, s1 = { 0 };
	pthread_condattr_t ca;
	struct worker *ws;
	pid_t squeezer = 0;
	uint64_t t;
	int err;

	parse(argc, argv);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (opt.squeeze)
		squeezer = squeeze_start();
	pattern_init();
	ws = calloc(opt.threads, sizeof(*ws));
	if (!ws)
		die("out of memory");
	workers_init(ws);
	/* The window's end is on CLOCK_MONOTONIC, like every time here. */
	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&end_cond, &ca))
		die("pthread_cond_init failed");
	/*
	 * Slow accept loops and SYN retransmits: allow for them, boundedly.
	 * 10 s covers a SYN lost three times (sent again 1, 3 and 7 s after
	 * the first): a debug guest under TCG once needed more than 5.
	 */
	connect_deadline = now_ns() + 10 * NS + opt.conns * (NS / 500);
	err = pthread_barrier_init(&barrier, NULL, opt.threads + 1);
	for (unsigned int i = 0; !err && i < opt.threads; i++)
		err = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
	if (err)
		die("threads: %s", strerror(err));
	pthread_barrier_wait(&barrier);
	t = now_ns();
	t_warm = t + (uint64_t)(opt.warmup * NS);
	t_end = t_warm + (uint64_t)(opt.duration * NS);
	t_after = t_end + (uint64_t)(opt.after * NS);
	t_drain = t_after + (uint64_t)(opt.drain * NS);
	pthread_barrier_wait(&barrier);
	if (!atomic_load(&failed)) {
		char old[128];

		sleep_until(t_warm);
		if (opt.pressure)
			tcp_mem_set(opt.pressure, old, sizeof(old));
		sample(&s0);
		window_wait();
		sample(&s1);
		if (opt.pressure)
			tcp_mem_set(old, NULL, 0);
	}
	/* At the window's end, or now if connecting failed. */
	if (squeezer)
		squeeze_stop(squeezer);
	for (unsigned int i = 0; i < opt.threads; i++)
		pthread_join(ws[i].tid, NULL);
	if (atomic_load(&failed))
		fprintf(stderr, "echo-bench: connecting failed, no run\n");
	return results(ws, &s0, &s1);
}
