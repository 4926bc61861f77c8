// SPDX-License-Identifier: GPL-2.0
/*
 * echo-bench: load generator for TCP echo servers.
 *
 * T threads, each with one epoll loop over its share of N non-blocking
 * connections. All connections are made first, then a barrier, a warm-up
 * whose results are dropped, and the measured window; completions count by
 * their CLOCK_MONOTONIC timestamp, so the window is exact whenever a thread
 * notices its end. The run always stops after warm-up + duration (plus the
 * connect grace before it).
 *
 *   rr      one message in flight per connection; latency is from the
 *           send() of its first byte to the recv() of its echo's last byte
 *   pipe    DEPTH messages in flight per connection
 *   stream  back-to-back messages, at most DEPTH * MSGSIZE bytes unechoed
 *           (default window 64 KiB); the same framing, so checked too
 *   udp     rr over UDP: a connected datagram socket per "connection", one
 *           datagram in flight; one not echoed within 200 ms is counted
 *           lost and sent again, and a late echo of it is ignored
 *
 * Correctness first: message SEQ of connection ID starts with SEQ (64 bits,
 * little-endian), ID (32 bits) and MSGSIZE (32 bits), truncated if the
 * message is shorter; the rest is a shared random pattern read from an
 * offset derived from (ID, SEQ). Every echoed byte is compared with the
 * expected one, across read boundaries; bytes never sent, a mismatch, a
 * reset or a close by the server are errors, and any error means exit 1.
 * Content is regenerated, never stored, so partial writes cost nothing.
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
 * loopback sends every segment from this machine). On one CPU shared
 * by client and server (the icount benchmark) these two are what a request
 * costs the whole system.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <sys/socket.h>
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

/* Log-linear histogram of ns: 128 linear buckets per power of two. */
#define SUB_BITS	7
#define NBUCKETS	((64 - SUB_BITS + 1) << SUB_BITS)

enum mode { RR, PIPE, STREAM, UDP };
static const char *const mode_names[] = { "rr", "pipe", "stream", "udp" };

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
	uint64_t *stamps;		/* send times, by seq % depth */
};

struct worker {
	pthread_t tid;
	int epfd;
	struct conn *conns;
	unsigned int nconns;
	uint8_t *txbuf, *rxbuf;
	uint64_t requests, bytes, errors, max_ns, lost;
	uint64_t hist[NBUCKETS];
};

static uint8_t *pattern;		/* PAT_SPAN + size random bytes */
static pthread_barrier_t barrier;
static atomic_bool failed;		/* connecting failed: no run */
static atomic_uint reports;
static uint64_t connect_deadline, t_warm, t_end;

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

static void conn_fail(struct worker *w, struct conn *c)
{
	w->errors++;
	close(c->fd);		/* also leaves the epoll set */
	c->open = false;
}

static void set_pollout(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->pollout == on)
		return;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	c->pollout = on;
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
		if (!c->tx_pos)
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

static void complete(struct worker *w, struct conn *c, uint64_t t)
{
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
	bool measured = t >= t_warm && t < t_end;
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
	if (measured)
		w->bytes += n;
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
			if (measured)
				complete(w, c, t);
			c->rx_seq++;
			c->rx_pos = 0;
		}
	}
	conn_send(w, c);	/* the window moved */
}

/* ---- threads ---- */

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
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) &&
	    errno != EINPROGRESS) {
		report("connect: %s", strerror(errno));
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
		report("connect: %s", strerror(err));
		close(c->fd);
		return -1;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	c->open = true;
	return 0;
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
			report("%u connections not made in time",
			       w->nconns - done);
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

static void run(struct worker *w)
{
	struct epoll_event evs[MAX_EVENTS];

	for (unsigned int i = 0; i < w->nconns; i++)
		if (w->conns[i].open)
			conn_send(w, &w->conns[i]);
	for (;;) {
		uint64_t now = now_ns();
		int n;

		if (now >= t_end)
			break;
		n = epoll_wait(w->epfd, evs, MAX_EVENTS,
			       opt.mode == UDP ? 10 :
			       (t_end - now) / 1000000 + 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

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

	connect_all(w);
	pthread_barrier_wait(&barrier);	/* all connected, or failed */
	pthread_barrier_wait(&barrier);	/* main has set the clock */
	if (!atomic_load(&failed))
		run(w);
	for (unsigned int i = 0; i < w->nconns; i++)
		if (w->conns[i].open)
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
static long long tcp_out_segs(void)
{
	char names[1024], values[1024], *n, *v, *sn, *sv;
	FILE *f = fopen("/proc/net/snmp", "r");
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

/* ---- results ---- */

static void print_csv_header(void)
{
	puts("csv,label,mode,conns,threads,size,depth,warmup_s,duration_s,"
	     "requests,req_per_s,mb_per_s,p50_us,p90_us,p99_us,p999_us,"
	     "max_us,fair_min,fair_max,errors,server_cpu_us_per_req,"
	     "client_cpu_us_per_req,server_pid_cpu_us_per_req,"
	     "machine_cpu_us_per_req,ctxt_per_req,idle_pct,segs_per_req");
}

static int results(struct worker *ws, const struct sample *s0,
		   const struct sample *s1)
{
	static uint64_t hist[NBUCKETS];
	uint64_t req = 0, bytes = 0, errors = 0, max = 0, lost = 0;
	uint64_t fmin = UINT64_MAX, fmax = 0;
	double secs = (t_end - t_warm) / 1e9, hz = sysconf(_SC_CLK_TCK);
	double p[5], srv = -1, self = -1, pid = -1, all = -1, ctxt = -1;
	double idle = -1, segs = -1;
	static const double pcts[4] = { 50, 90, 99, 99.9 };
	char extra[64] = "", pidcol[32] = "";

	for (unsigned int t = 0; t < opt.threads; t++) {
		struct worker *w = &ws[t];

		req += w->requests;
		bytes += w->bytes;
		errors += w->errors;
		lost += w->lost;
		max = w->max_ns > max ? w->max_ns : max;
		for (unsigned int i = 0; i < NBUCKETS; i++)
			hist[i] += w->hist[i];
		for (unsigned int i = 0; i < w->nconns; i++) {
			uint64_t d = w->conns[i].done;

			fmin = d < fmin ? d : fmin;
			fmax = d > fmax ? d : fmax;
		}
	}
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
	       "ctxt_per_req=%.2f idle_pct=%.1f segs_per_req=%.2f%s\n",
	       opt.label, mode_names[opt.mode], opt.conns, opt.threads,
	       opt.size, opt.depth, secs, req, req / secs, bytes / secs / 1e6,
	       p[0], p[1], p[2], p[3], p[4], fmin, fmax, errors, lost, srv,
	       self, all, ctxt, idle, segs, extra);
	if (opt.csv)
		printf("csv,%s,%s,%u,%u,%zu,%u,%.2f,%.2f,%" PRIu64 ",%.0f,"
		       "%.2f,%.1f,%.1f,%.1f,%.1f,%.1f,%" PRIu64 ",%" PRIu64
		       ",%" PRIu64 ",%.2f,%.2f,%s,%.2f,%.3f,%.1f,%.2f\n",
		       opt.label, mode_names[opt.mode], opt.conns, opt.threads,
		       opt.size, opt.depth, opt.warmup, secs, req, req / secs,
		       bytes / secs / 1e6, p[0], p[1], p[2], p[3], p[4], fmin,
		       fmax, errors, srv, self, pidcol, all, ctxt, idle, segs);
	fflush(stdout);
	return errors || !req ? 1 : 0;
}

/* ---- command line ---- */

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: echo-bench -a ADDR -p PORT [-c CONNS] [-T THREADS] "
	      "[-m rr|pipe|stream|udp]\n"
	      "         [-s MSGSIZE] [-d DEPTH] [-w WARMUP_S] "
	      "[-t DURATION_S] [--csv]\n"
	      "         [--label NAME] [--server-pid PID]\n"
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
		case 'm':
			for (opt.mode = RR; opt.mode <= UDP; opt.mode++)
				if (!strcmp(optarg, mode_names[opt.mode]))
					break;
			if (opt.mode > UDP)
				die("-m %s: not rr, pipe, stream or udp", optarg);
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
	if ((opt.mode == RR || opt.mode == UDP) && opt.depth > 1)
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
	struct worker *ws;
	uint64_t t;
	int err;

	parse(argc, argv);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	pattern_init();
	ws = calloc(opt.threads, sizeof(*ws));
	if (!ws)
		die("out of memory");
	workers_init(ws);
	/* Slow accept loops and SYN retransmits: allow for them, boundedly. */
	connect_deadline = now_ns() + 5 * NS + opt.conns * (NS / 500);
	err = pthread_barrier_init(&barrier, NULL, opt.threads + 1);
	for (unsigned int i = 0; !err && i < opt.threads; i++)
		err = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
	if (err)
		die("threads: %s", strerror(err));
	pthread_barrier_wait(&barrier);
	t = now_ns();
	t_warm = t + (uint64_t)(opt.warmup * NS);
	t_end = t_warm + (uint64_t)(opt.duration * NS);
	pthread_barrier_wait(&barrier);
	if (!atomic_load(&failed)) {
		sleep_until(t_warm);
		sample(&s0);
		sleep_until(t_end);
		sample(&s1);
	}
	for (unsigned int i = 0; i < opt.threads; i++)
		pthread_join(ws[i].tid, NULL);
	if (atomic_load(&failed))
		fprintf(stderr, "echo-bench: connecting failed, no run\n");
	return results(ws, &s0, &s1);
}
