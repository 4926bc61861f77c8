// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-udp: the test client of echo_async's UDP echo (RFC 862).
 *
 *   sizes   one datagram of each size from 0 bytes to the largest UDP
 *           carries (65507 over IPv4, 65527 over IPv6), each checked byte
 *           for byte; a lost one is sent again. Prints the payload bytes
 *           sent (tries included) and received, which the server's
 *           bytes_in and bytes_out should match
 *   flood   many datagrams from many sockets at once: loss is reported
 *           (UDP may drop under overload), a corrupt, foreign or
 *           duplicated reply fails
 *   raw     one datagram from a chosen source port, sent through a raw
 *           socket so that the source can be port 0 or the server's own
 *           port; what the server does with it shows in its counters
 *   bind    hold the UDP port (all addresses) for a while, so that the
 *           server finds it in use
 *
 * Every payload is a pseudo-random stream keyed by (seed, sender, sequence)
 * with the sequence in its first bytes, so a reply is checked without
 * keeping what was sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM	65527	/* the largest UDP payload over IPv6 */
#define MAX_DGRAM_V4	65507	/* ... and over IPv4 */
#define HDR		8	/* sender and sequence, leading each payload */
#define WINDOW		8	/* flood: datagrams in flight per socket */
#define LOSS_WAIT	0.3	/* flood: a reply later than this is lost */

typedef unsigned long long ull;

static struct {
	const char *mode;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	double deadline;
	unsigned int senders;
	unsigned int count;
	unsigned int max_size;
	unsigned int src_port;
	unsigned int hold_secs;
	uint64_t seed;
} opt = { .senders = 50, .count = 100000, .max_size = 1400,
	  .hold_secs = 60, .seed = 1 };

static uint8_t txbuf[MAX_DGRAM + 1], rxbuf[MAX_DGRAM + 1], expbuf[MAX_DGRAM];

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
	fputs("kecho-udp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t dgram_key(uint32_t sender, uint32_t seq)
{
	return mix64(mix64(mix64(opt.seed) ^ sender) ^ seq);
}

/*
 * The payload of datagram (@sender, @seq), @len bytes: the two numbers
 * first (as far as they fit), then the stream, NUL and 0xff included.
 */
static void dgram_fill(uint8_t *buf, size_t len, uint32_t sender, uint32_t seq)
{
	uint64_t key = dgram_key(sender, seq), word = 0;
	uint8_t hdr[HDR];
	size_t i;

	memcpy(hdr, &sender, 4);
	memcpy(hdr + 4, &seq, 4);
	for (i = 0; i < len; i++) {
		if (i < HDR) {
			buf[i] = hdr[i];
			continue;
		}
		if (!(i & 7))
			word = mix64(key ^ (i >> 3));
		buf[i] = word >> (8 * (i & 7));
	}
}

/* Size of flood datagram (@sender, @seq): HDR..max_size bytes. */
static size_t dgram_size(uint32_t sender, uint32_t seq)
{
	return HDR + mix64(dgram_key(sender, seq) ^ 0x5eed) %
		     (opt.max_size - HDR + 1);
}

static int udp_socket(void)
{
	int fd = socket(opt.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen))
		die("connect: %s", strerror(errno));
	return fd;
}

/* sizes: every size up to the largest, each echoed byte-exact. */
static int run_sizes(void)
{
	static const unsigned int sizes[] = {
		0, 1, 2, 3, 7, 8, 9, 100, 512, 1000, 1472, 1473, 1500, 4096,
		8192, 16384, 32768, 65000, MAX_DGRAM_V4, MAX_DGRAM,
	};
	unsigned int max = opt.addr.ss_family == AF_INET6 ?
			   MAX_DGRAM : MAX_DGRAM_V4;
	struct timeval tv = { .tv_sec = 1 };
	int fd = udp_socket(), tries, bad = 0;
	ull sent = 0, echoed = 0;
	size_t i;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO: %s", strerror(errno));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		ssize_t n = -1;

		if (len > max)
			continue;
		dgram_fill(txbuf, len, 0, i);
		for (tries = 0; tries < 5 && n < 0; tries++) {
			if (send(fd, txbuf, len, 0) != (ssize_t)len)
				die("send %zu bytes: %s", len, strerror(errno));
			sent += len;
			n = recv(fd, rxbuf, sizeof(rxbuf), MSG_TRUNC);
			if (n < 0 && errno != EAGAIN)
				die("recv: %s", strerror(errno));
		}
		if (n > 0)
			echoed += n;
		if (n < 0) {
			printf("sizes: %zu bytes: no reply after %d tries\n",
			       len, tries);
			bad++;
		} else if ((size_t)n != len || memcmp(rxbuf, txbuf, len)) {
			printf("sizes: %zu bytes: got %zd bytes back, not the same\n",
			       len, n);
			bad++;
		}
		if (now() >= opt.deadline)
			die("timeout");
	}
	close(fd);
	printf("sizes: up to %u bytes, %d bad, sent=%llu echoed=%llu%s\n",
	       max, bad, sent, echoed, bad ? "" : " ok");
	return bad ? 1 : 0;
}

struct sender {
	int fd;
	uint32_t next_seq;	/* next to send */
	uint32_t inflight;	/* sent, not yet echoed nor given up */
	double last;		/* of the last send or reply */
	uint8_t *seen;		/* one bit per sequence */
};

static ull nsent, nrecv, ncorrupt, nforeign, ndup;

/* A reply on @s: one of ours, once, unchanged. */
static void flood_reply(struct sender *s, uint32_t idx, size_t n)
{
	uint32_t sender, seq;

	if (n < HDR) {
		nforeign++;
		return;
	}
	memcpy(&sender, rxbuf, 4);
	memcpy(&seq, rxbuf + 4, 4);
	if (sender != idx || seq >= s->next_seq) {
		nforeign++;
		return;
	}
	if (s->seen[seq / 8] & (1 << (seq % 8))) {
		ndup++;
		return;
	}
	s->seen[seq / 8] |= 1 << (seq % 8);
	dgram_fill(expbuf, dgram_size(sender, seq), sender, seq);
	if (n != dgram_size(sender, seq) || memcmp(rxbuf, expbuf, n)) {
		ncorrupt++;
		return;
	}
	nrecv++;
	if (s->inflight)
		s->inflight--;
}

/* flood: opt.count datagrams from opt.senders sockets, WINDOW each. */
static int run_flood(void)
{
	unsigned int per = (opt.count + opt.senders - 1) / opt.senders, i;
	struct sender *snd = calloc(opt.senders, sizeof(*snd));
	struct pollfd *pfd = calloc(opt.senders, sizeof(*pfd));
	double t0 = now(), drain = 0;
	ull target = opt.count;

	if (!snd || !pfd)
		die("out of memory");
	for (i = 0; i < opt.senders; i++) {
		snd[i].fd = udp_socket();
		snd[i].seen = calloc(per / 8 + 1, 1);
		if (!snd[i].seen)
			die("out of memory");
		pfd[i].fd = snd[i].fd;
	}
	for (;;) {
		double t = now();
		bool busy = false;

		for (i = 0; i < opt.senders; i++) {
			struct sender *s = &snd[i];

			/* No reply for a while: what is in flight was lost. */
			if (s->inflight && t - s->last > LOSS_WAIT)
				s->inflight = 0;
			while (s->inflight < WINDOW && s->next_seq < per &&
			       nsent < target) {
				size_t len = dgram_size(i, s->next_seq);

				dgram_fill(txbuf, len, i, s->next_seq);
				if (send(s->fd, txbuf, len, MSG_DONTWAIT) < 0) {
					if (errno == EAGAIN || errno == ENOBUFS ||
					    errno == ECONNREFUSED)
						break;
					die("send: %s", strerror(errno));
				}
				s->next_seq++;
				s->inflight++;
				s->last = t;
				nsent++;
			}
			busy |= s->inflight || (s->next_seq < per &&
						nsent < target);
			pfd[i].events = POLLIN;
		}
		if (!busy) {
			/* Late replies still count; then stop. */
			if (!drain)
				drain = t + LOSS_WAIT;
			if (t >= drain)
				break;
		}
		if (t >= opt.deadline) {
			printf("flood: timeout\n");
			break;
		}
		if (poll(pfd, opt.senders, 10) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < opt.senders; i++) {
			ssize_t n;

			if (!(pfd[i].revents & (POLLIN | POLLERR)))
				continue;
			while ((n = recv(snd[i].fd, rxbuf, sizeof(rxbuf),
					 MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
				snd[i].last = now();
				flood_reply(&snd[i], i, n);
			}
		}
	}
	printf("flood: senders=%u sent=%llu echoed=%llu lost=%llu corrupt=%llu foreign=%llu dup=%llu secs=%.1f%s\n",
	       opt.senders, nsent, nrecv, nsent - nrecv - ncorrupt, ncorrupt,
	       nforeign, ndup, now() - t0,
	       !ncorrupt && !nforeign && !ndup && nrecv ? " ok" : "");
	return !ncorrupt && !nforeign && !ndup && nrecv ? 0 : 1;
}

/* raw: one datagram from opt.src_port, through a raw socket (IPv4). */
static int run_raw(void)
{
	struct sockaddr_in *dst = (struct sockaddr_in *)&opt.addr;
	uint8_t pkt[8 + 16];
	uint16_t v;
	int fd;

	if (opt.addr.ss_family != AF_INET)
		die("raw: IPv4 only");
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		die("raw socket: %s", strerror(errno));
	/* The UDP header by hand; checksum 0 means none, valid in IPv4. */
	v = htons(opt.src_port);
	memcpy(pkt, &v, 2);
	memcpy(pkt + 2, &dst->sin_port, 2);
	v = htons(sizeof(pkt));
	memcpy(pkt + 4, &v, 2);
	memset(pkt + 6, 0, 2);
	dgram_fill(pkt + 8, sizeof(pkt) - 8, 0, 0);
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)dst,
		   sizeof(*dst)) != sizeof(pkt))
		die("sendto: %s", strerror(errno));
	close(fd);
	printf("raw: sent %zu bytes from port %u\n", sizeof(pkt) - 8,
	       opt.src_port);
	return 0;
}

/* bind: hold the port on every address, IPv6 and IPv4, then let go. */
static int run_bind(void)
{
	struct sockaddr_in6 any = {
		.sin6_family = AF_INET6,
		.sin6_port = ((struct sockaddr_in *)&opt.addr)->sin_port,
	};
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), off = 0;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)))
		die("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)))
		die("bind: %s", strerror(errno));
	printf("bind: holding port %u\n", ntohs(any.sin6_port));
	sleep(opt.hold_secs);
	close(fd);
	return 0;
}

static void __attribute__((noreturn)) usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "kecho-udp: %s\n", msg);
	fputs("usage: kecho-udp [-a ADDR] [-p PORT] [-t TIMEOUT_S] MODE [OPTIONS]\n"
	      "  sizes    [-x SEED]\n"
	      "  flood    [-c SENDERS] [-n DATAGRAMS] [-s MAXSIZE] [-x SEED]\n"
	      "  raw      -P SRCPORT   (IPv4)\n"
	      "  bind     [-T SECONDS]\n", stderr);
	exit(2);
}

static unsigned long long num(const char *s, unsigned long long lo,
			      unsigned long long hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		usage("bad number");
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
		usage("not an IPv4 or IPv6 address");
	}
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	unsigned int port = 8081, secs = 120;
	bool have_src = false;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;
	while ((c = getopt(argc, argv, "+a:p:t:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = num(optarg, 1, 65535); break;
		case 't': secs = num(optarg, 1, 1000000); break;
		default: usage("bad option");
		}
	}
	if (optind >= argc)
		usage("no mode given");
	opt.mode = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt(argc, argv, "+c:n:s:x:P:T:")) != -1) {
		switch (c) {
		case 'c': opt.senders = num(optarg, 1, 10000); break;
		case 'n': opt.count = num(optarg, 1, 100000000); break;
		case 's': opt.max_size = num(optarg, HDR, MAX_DGRAM_V4); break;
		case 'x': opt.seed = num(optarg, 0, UINT64_MAX); break;
		case 'T': opt.hold_secs = num(optarg, 1, 100000); break;
		case 'P':
			opt.src_port = num(optarg, 0, 65535);
			have_src = true;
			break;
		default: usage("bad mode option");
		}
	}
	parse_addr(addr, port);
	opt.deadline = now() + secs;
	if (!strcmp(opt.mode, "sizes"))
		return run_sizes();
	if (!strcmp(opt.mode, "flood"))
		return run_flood();
	if (!strcmp(opt.mode, "bind"))
		return run_bind();
	if (!strcmp(opt.mode, "raw")) {
		if (!have_src)
			usage("raw needs -P SRCPORT");
		return run_raw();
	}
	usage("unknown mode");
}
