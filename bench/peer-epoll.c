// SPDX-License-Identifier: GPL-2.0
/*
 * peer-epoll: user-space echo server, one thread, one epoll loop.
 *
 * The user-space counterpart of echo_async. Connections are non-blocking
 * and registered once, edge-triggered, for input and output, so the loop
 * makes no epoll_ctl() call per request. A connection is read until EAGAIN
 * and each read is written back at once; what the socket does not take is
 * kept and the connection is not read again until EPOLLOUT has let it all
 * out: backpressure, and at most BUFSIZE bytes held per connection, only
 * while its client is slow to read.
 *
 *   peer-epoll -p PORT [-b BUFSIZE]
 *
 * peer-epoll-mt.c includes this file for epoll_loop(), defining
 * PEER_EPOLL_MT to drop main().
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <time.h>

#include "peer-common.h"

#define MAX_EVENTS	256
#define ACCEPT_BURST	64		/* accepts per wake-up: fairness */

struct conn {
	int fd;
	size_t off, len;	/* pending echo: pend[off..len) */
	char *pend;		/* only while an echo is pending */
};

struct loop {
	struct peer_listener pl;
	char *buf;		/* read buffer, shared by the connections */
};

static void conn_close(struct conn *c)
{
	close(c->fd);		/* also takes it out of the epoll set */
	free(c->pend);
	free(c);
}

/* Writes the pending echo: 1 when done, 0 if the socket is full, -1 error. */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->pend + c->off, c->len - c->off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		c->off += n;
	}
	free(c->pend);
	c->pend = NULL;
	return 1;
}

/* Keeps what write() did not take of buf[0..len): 0, or -1 to give up. */
static int conn_keep(struct loop *l, struct conn *c, const char *buf,
		     size_t len)
{
	c->pend = malloc(len);
	if (!c->pend) {
		fprintf(stderr, "%s: out of memory, closing a connection\n",
			l->pl.o->name);
		return -1;
	}
	memcpy(c->pend, buf, len);
	c->off = 0;
	c->len = len;
	return 0;
}

/*
 * Echoes until read() or write() would block: edge-triggered events come
 * again only after that. 0 to keep the connection, -1 to close it.
 */
static int conn_echo(struct loop *l, struct conn *c)
{
	for (;;) {
		ssize_t n, w;

		if (c->pend) {
			int r = conn_flush(c);

			if (r <= 0)
				return r;
		}
		n = read(c->fd, l->buf, l->pl.o->bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)	/* EOF, and everything was echoed */
			return -1;
		do
			w = write(c->fd, l->buf, n);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (w < 0)
			w = 0;
		if (w < n && conn_keep(l, c, l->buf + w, n - w))
			return -1;
	}
}

static void conn_add(struct loop *l, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	};

	if (!c) {
		fprintf(stderr, "%s: out of memory, refusing a connection\n",
			l->pl.o->name);
		close(fd);
		return;
	}
	c->fd = fd;
	ev.data.ptr = c;
	/* Adding reports what is already readable: no data is missed. */
	if (epoll_ctl(l->pl.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		fprintf(stderr, "%s: epoll_ctl: %s\n", l->pl.o->name,
			strerror(errno));
		conn_close(c);
	}
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
static void *epoll_loop(const struct peer_opts *o, int lfd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct loop l = { .buf = malloc(o->bufsize) };

	if (!l.buf)
		peer_die(o, "out of memory");
	peer_listener_init(&l.pl, o, lfd);
	for (;;) {
		int n = epoll_wait(l.pl.epfd, evs, MAX_EVENTS, peer_listener_timeout(&l.pl, -1));

		if (n < 0 && errno != EINTR)
			peer_die(o, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c)
				accept_burst(&l);
			else if (conn_echo(&l, c))
				conn_close(c);
		}
	}
	return NULL;
}

#ifndef PEER_EPOLL_MT
int main(int argc, char **argv)
{
	struct peer_opts o = { .name = "peer-epoll" };
	int lfd;

	peer_parse(&o, argc, argv);
	peer_exit_on_signal(&o);
	peer_raise_nofile();
	lfd = peer_listen(&o, false, true);
	peer_ready(&o);
	epoll_loop(&o, lfd);
	return 0;
}
#endif
