// SPDX-License-Identifier: GPL-2.0
/*
 * peer-splice: user-space echo server, one thread, one epoll loop, and the
 * echo moved by splice() through a pipe per connection.
 *
 * peer-epoll with the copies taken out of user space: the bytes go from
 * the socket's receive queue into the connection's pipe (page references,
 * not copies, where the skb allows) and from the pipe back out to the same
 * socket. Connections are non-blocking and registered once, edge-triggered,
 * for input and output. A connection is spliced in at most BUFSIZE bytes at
 * a time and each lot is spliced back out at once; what the socket does not
 * take stays in the pipe, and the connection is not read again until
 * EPOLLOUT has let it all out: backpressure, and at most BUFSIZE bytes held
 * per connection, only while its client is slow to read. After EOF the
 * connection is closed once the pipe is empty.
 *
 *   peer-splice -p PORT [-b BUFSIZE]
 *
 * Three descriptors per connection: the socket and the pipe's two ends.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/epoll.h>
#include <time.h>

#include "peer-common.h"

#define MAX_EVENTS	256
#define ACCEPT_BURST	64		/* accepts per wake-up: fairness */
#define PIPE_DEFAULT	65536		/* a new pipe's capacity on Linux */

struct conn {
	int fd;
	int pipe[2];		/* [0] read end, [1] write end */
	size_t held;		/* bytes in the pipe, not yet echoed */
};

struct loop {
	struct peer_listener pl;
	int spare[2];		/* the next connection's pipe, or -1 */
	bool warned;		/* "pipe: ..., backing off" said once */
};

static void conn_close(struct conn *c)
{
	close(c->fd);		/* also takes it out of the epoll set */
	close(c->pipe[0]);	/* and whatever the pipe still holds */
	close(c->pipe[1]);
	free(c);
}

/* Splices the pipe out: 1 when empty, 0 if the socket is full, -1 error. */
static int conn_flush(struct conn *c)
{
	while (c->held) {
		/*
		 * No SPLICE_F_MORE: with it the last piece would wait for
		 * more, as with MSG_MORE, and a lone echo would sit in the
		 * socket.
		 */
		ssize_t n = splice(c->pipe[0], NULL, c->fd, NULL, c->held,
				   SPLICE_F_NONBLOCK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0)	/* cannot happen with bytes held: give up */
			return -1;
		c->held -= n;
	}
	return 1;
}

/*
 * Echoes until a splice would block: edge-triggered events come again only
 * after that. The socket is read only into an empty pipe, so a splice in
 * that would block means no data, never a full pipe. 0 to keep the
 * connection, -1 to close it.
 */
static int conn_echo(struct loop *l, struct conn *c)
{
	for (;;) {
		int r = conn_flush(c);
		ssize_t n;

		if (r <= 0)
			return r;
		n = splice(c->fd, NULL, c->pipe[1], NULL, l->pl.o->bufsize,
			   SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)	/* EOF, and everything was echoed */
			return -1;
		c->held = n;
	}
}

/*
 * The pipe is made before the accept, so that running out of descriptors
 * leaves the connection in the backlog instead of accepting and dropping
 * it; an accept that then fails keeps the pipe for the next one.
 */
static bool spare_pipe(struct loop *l)
{
	if (l->spare[0] >= 0)
		return true;
	if (pipe2(l->spare, O_NONBLOCK | O_CLOEXEC)) {
		if (!l->warned)
			fprintf(stderr, "%s: pipe: %s, backing off\n",
				l->pl.o->name, strerror(errno));
		l->warned = true;
		l->spare[0] = l->spare[1] = -1;
		return false;
	}
	/*
	 * One splice moves at most a pipe's capacity: a larger BUFSIZE needs
	 * a larger pipe. Best effort: past /proc/sys/fs/pipe-max-size without
	 * CAP_SYS_RESOURCE it fails, and splices are simply shorter.
	 */
	if (l->pl.o->bufsize > PIPE_DEFAULT)
		fcntl(l->spare[1], F_SETPIPE_SZ, (int)l->pl.o->bufsize);
	return true;
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
	c->pipe[0] = l->spare[0];
	c->pipe[1] = l->spare[1];
	l->spare[0] = l->spare[1] = -1;
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
		int fd;

		if (!spare_pipe(l))
			goto backoff;
		fd = accept4(l->pl.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
			goto backoff;
		}
	}
	return;
backoff:
	/* Level-triggered, it would wake us in a loop. */
	peer_listener_backoff(&l->pl);
}

/* Serves the non-blocking listener lfd until the process ends. */
static void splice_loop(const struct peer_opts *o, int lfd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct loop l = { .spare = { -1, -1 } };

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
}

int main(int argc, char **argv)
{
	struct peer_opts o = { .name = "peer-splice" };
	int lfd;

	peer_parse(&o, argc, argv);
	peer_exit_on_signal(&o);
	peer_raise_nofile();
	lfd = peer_listen(&o, false, true);
	peer_ready(&o);
	splice_loop(&o, lfd);
	return 0;
}
