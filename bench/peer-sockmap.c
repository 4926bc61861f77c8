// SPDX-License-Identifier: GPL-2.0
/*
 * peer-sockmap: echo server whose data path is an eBPF program, never this
 * process.
 *
 * An SK_SKB stream verdict program (peer-sockmap.bpf.c, embedded here as a
 * bpftool skeleton) is attached to a SOCKHASH keyed by socket cookie; each
 * skb a socket in the map receives is redirected to that socket's own
 * egress. This loader only accepts: it puts each connection into the map
 * under its cookie and watches it with epoll for the end. After the
 * client's FIN it waits until everything received has been written back,
 * then deletes the entry and closes; after an error or a reset it closes
 * at once. Backpressure is the kernel's: a client that does not read fills
 * its socket's send buffer, and the psock holds what is redirected until
 * there is room.
 *
 *   peer-sockmap -p PORT [-b BUFSIZE]
 *
 * BUFSIZE only sizes the reads of the rare connection echoed in user space
 * (see conn_echo_left()); the kernel decides how much each skb carries.
 * Needs CAP_BPF and CAP_NET_ADMIN (root) and a kernel that runs a verdict
 * program without a stream parser, 6.1 or later here.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "peer-common.h"
#include "peer-sockmap.skel.h"

/* libbpf 1.0 and later return errors and set errno; 0.x encoded them. */
#if LIBBPF_MAJOR_VERSION < 1
#error "peer-sockmap needs libbpf 1.0 or later (bookworm: 1.1.2)"
#endif

#define MAX_EVENTS	256
#define ACCEPT_BURST	64		/* accepts per wake-up: fairness */
#define DRAIN_TICK_MS	1		/* rechecks of connections after FIN */
#define STALL_NS	2000000000ULL	/* see conn_drained() */

/*
 * glibc 2.36's struct tcp_info ends at tcpi_total_retrans, and
 * <linux/tcp.h> cannot be included with <netinet/tcp.h>. The kernel's
 * struct only ever grows at its end, so the fields we need follow glibc's
 * at fixed offsets.
 */
struct tcp_info_ext {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate;
	uint64_t bytes_acked;		/* Linux 4.1 and later */
	uint64_t bytes_received;	/* Linux 4.1 and later */
};
_Static_assert(offsetof(struct tcp_info_ext, bytes_received) == 128,
	       "struct tcp_info_ext does not match the kernel's tcp_info");

struct conn {
	int fd;
	uint64_t cookie;	/* its key in the SOCKHASH */
	bool draining;		/* FIN seen: on the drain list */
	int64_t left;		/* unechoed bytes at the last check */
	unsigned long long since;	/* when left last changed */
	struct conn *prev, *next;	/* drain list */
};

struct loop {
	struct peer_listener pl;
	int map_fd;
	char *buf;		/* conn_echo_left()'s, allocated on first use */
	struct conn *draining;	/* connections after FIN, head */
};

/* Each message once: a flood of connections must not flood stderr. */
static void warn_once(const struct peer_opts *o, bool *said, const char *what,
		      int err)
{
	if (!*said)
		fprintf(stderr, "%s: %s: %s\n", o->name, what, strerror(err));
	*said = true;
}

static void conn_close(struct loop *l, struct conn *c)
{
	/*
	 * Before the close, so that the psock, and what it may still hold,
	 * goes now and not with the socket's last reference.
	 */
	if (bpf_map_delete_elem(l->map_fd, &c->cookie) && errno != ENOENT)
		fprintf(stderr, "%s: map delete: %s\n", l->pl.o->name,
			strerror(errno));
	close(c->fd);		/* also takes it out of the epoll set */
	if (c->draining) {
		if (c->prev)
			c->prev->next = c->next;
		else
			l->draining = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	free(c);
}

/*
 * Bytes received but not yet written back, from TCP's own counters, since
 * what the psock holds between the two cannot be asked for: received is
 * bytes_received less the FIN's sequence number, written is bytes_acked
 * plus the send queue. -1 if the socket is no longer in CLOSE_WAIT (a
 * reset): nothing more can be sent.
 */
static int conn_unechoed(struct conn *c, int64_t *left, int *outq)
{
	struct tcp_info_ext ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    len < sizeof(ti) || ti.base.tcpi_state != TCP_CLOSE_WAIT ||
	    ioctl(c->fd, SIOCOUTQ, outq))
		return -1;
	*left = (int64_t)(ti.bytes_received - 1) -
		(int64_t)(ti.bytes_acked + *outq);
	return 0;
}

/*
 * True when c, after its client's FIN, can be closed: all echoed, or no
 * longer able to send. A client that does not read keeps the send queue
 * full and c open, as in the other peers; but with the send queue empty
 * the psock's backlog has room to write, and bytes that stay unechoed
 * for STALL_NS were dropped by the kernel: give up on them.
 */
static bool conn_drained(struct loop *l, struct conn *c,
			 unsigned long long now)
{
	static bool said;
	int64_t left;
	int outq;

	if (conn_unechoed(c, &left, &outq) || left <= 0)
		return true;
	if (left != c->left || outq) {
		c->left = left;
		c->since = now;
		return false;
	}
	if (now - c->since < STALL_NS)
		return false;
	warn_once(l->pl.o, &said, "echo stalled after FIN, closing",
		  ETIMEDOUT);
	return true;
}

/* FIN received: stop watching for it, and close once all is echoed. */
static void conn_drain(struct loop *l, struct conn *c)
{
	struct epoll_event ev = { .events = 0, .data.ptr = c };
	unsigned long long now = peer_now_ns();

	if (conn_drained(l, c, now)) {
		conn_close(l, c);
		return;
	}
	/* EPOLLRDHUP is level-triggered; errors and hangups still come. */
	if (epoll_ctl(l->pl.epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		conn_close(l, c);
		return;
	}
	c->draining = true;
	c->prev = NULL;
	c->next = l->draining;
	if (c->next)
		c->next->prev = c;
	l->draining = c;
}

static void drain_tick(struct loop *l)
{
	unsigned long long now = peer_now_ns();
	struct conn *c, *next;

	for (c = l->draining; c; c = next) {
		next = c->next;
		if (conn_drained(l, c, now))
			conn_close(l, c);
	}
}

/*
 * A connection the map will not take because its client's FIN came before
 * the insert (the map only takes established sockets): everything it will
 * ever send is queued already, so echo it here and close. Blocking, with a
 * timeout, so that a client that does not read holds up the accept loop
 * for a second at most; it is rare, and not worth a second data path.
 */
static void conn_echo_left(struct loop *l, int fd)
{
	struct timeval tv = { .tv_sec = 1 };
	int flags = fcntl(fd, F_GETFL);
	ssize_t n, w;

	if (!l->buf)
		l->buf = malloc(l->pl.o->bufsize);
	if (!l->buf || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return;
	while ((n = read(fd, l->buf, l->pl.o->bufsize)) > 0) {
		for (ssize_t off = 0; off < n; off += w) {
			w = write(fd, l->buf + off, n - off);
			if (w <= 0)
				return;
		}
	}
}

static void conn_add(struct loop *l, int fd)
{
	static bool said_full, said_other;
	struct epoll_event ev = { .events = EPOLLRDHUP };
	struct conn *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(c->cookie);
	uint32_t value = fd;
	int one = 1;

	if (!c) {
		fprintf(stderr, "%s: out of memory, refusing a connection\n",
			l->pl.o->name);
		close(fd);
		return;
	}
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c->cookie, &len)) {
		warn_once(l->pl.o, &said_other, "SO_COOKIE", errno);
		goto drop;
	}
	if (bpf_map_update_elem(l->map_fd, &c->cookie, &value, BPF_NOEXIST)) {
		switch (errno) {
		case EOPNOTSUPP:	/* not established any more */
			conn_echo_left(l, fd);
			break;
		case E2BIG:
		case ENOMEM:
			warn_once(l->pl.o, &said_full,
				  "map full, refusing connections", errno);
			break;
		default:
			warn_once(l->pl.o, &said_other, "map update", errno);
		}
		goto drop;
	}
	/*
	 * The verdict program sees only what arrives after the insert; what
	 * came before waits in the receive queue, and a client waiting for
	 * its echo sends nothing more. Setting SO_RCVLOWAT runs the socket's
	 * data_ready, now the psock's, which takes the queue to the program.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one))) {
		warn_once(l->pl.o, &said_other, "SO_RCVLOWAT", errno);
		goto drop;
	}
	ev.data.ptr = c;
	/* Adding reports a FIN already received: none is missed. */
	if (!epoll_ctl(l->pl.epfd, EPOLL_CTL_ADD, fd, &ev))
		return;
	warn_once(l->pl.o, &said_other, "epoll_ctl", errno);
drop:
	conn_close(l, c);
}

/* The listener is level-triggered: what a burst leaves comes back. */
static void accept_burst(struct loop *l)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = accept4(l->pl.lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			peer_nodelay(l->pl.o, fd);
			conn_add(l, fd);
			continue;
		}
		switch (peer_accept_error(l->pl.o, errno)) {
		case PEER_ACCEPT_RETRY:
			continue;
		case PEER_ACCEPT_DRAINED:
			return;
		case PEER_ACCEPT_BACKOFF:
			/* Level-triggered, it would wake us in a loop. */
			peer_listener_backoff(&l->pl);
			return;
		}
	}
}

/* Serves the non-blocking listener lfd until the process ends. */
static void sockmap_loop(const struct peer_opts *o, int lfd, int map_fd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct loop l = { .map_fd = map_fd };

	peer_listener_init(&l.pl, o, lfd);
	for (;;) {
		int n = epoll_wait(l.pl.epfd, evs, MAX_EVENTS, peer_listener_timeout(&l.pl, l.draining ? DRAIN_TICK_MS : -1));

		if (n < 0 && errno != EINTR)
			peer_die(o, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c)
				accept_burst(&l);
			else if (evs[i].events & (EPOLLERR | EPOLLHUP))
				conn_close(&l, c);
			else if (!c->draining)
				conn_drain(&l, c);
		}
		drain_tick(&l);
	}
}

/* libbpf's warnings (a verifier log, say) under our name; not its chatter. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fputs("peer-sockmap: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct peer_opts o = { .name = "peer-sockmap" };
	struct peer_sockmap *skel;
	int lfd, prog_fd, map_fd;

	peer_parse(&o, argc, argv);
	peer_exit_on_signal(&o);
	peer_raise_nofile();
	libbpf_set_print(libbpf_print);
	skel = peer_sockmap__open_and_load();
	if (!skel)
		peer_die(&o, "loading the BPF program: %s", strerror(errno));
	prog_fd = bpf_program__fd(skel->progs.echo_verdict);
	map_fd = bpf_map__fd(skel->maps.socks);
	/*
	 * Attached to the map, not to a socket: every socket put into the
	 * map runs it. The program and the map live as long as this process
	 * holds their descriptors, so exiting undoes everything.
	 */
	if (bpf_prog_attach(prog_fd, map_fd, BPF_SK_SKB_STREAM_VERDICT, 0))
		peer_die(&o, "attaching the verdict program: %s",
			 strerror(errno));
	lfd = peer_listen(&o, false, true);
	peer_ready(&o);
	sockmap_loop(&o, lfd, map_fd);
	return 0;
}
