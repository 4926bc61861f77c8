// SPDX-License-Identifier: GPL-2.0
/*
 * peer-uring: user-space echo server on io_uring, one thread.
 *
 * One multishot accept; per connection, one multishot recv taking buffers
 * from a provided buffer ring, so no buffer is tied to an idle connection.
 * A buffer is echoed from where it lies with send, one send in flight per
 * connection (a second could overtake the first), later buffers queued; it
 * returns to the ring once all its bytes are sent. A connection holding
 * QUEUE_MAX buffers has its recv cancelled until its queue halves:
 * backpressure. Needs Linux 6.0; without a feature it says which, exits 1.
 * liburing 2.3 has no io_uring_setup_buf_ring(): the ring is set up by hand.
 * A ring and everything it serves belong to one thread (thread-local), so
 * peer-uring-mt runs this loop in several threads that share nothing.
 *
 *   peer-uring -p PORT [-b BUFSIZE]
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <sys/mman.h>

#include "peer-common.h"

#define SQ_ENTRIES	1024
#define CQ_ENTRIES	8192
#define BGID		0		/* our only buffer group */
#define POOL_BYTES	(16 << 20)	/* buffer pool, when BUFSIZE allows */
#define QUEUE_MAX	8		/* buffers a connection may hold */
#define BACKOFF_NS	100000000	/* accept, out of fds or memory */

/* user_data: a struct conn pointer, which malloc aligns, ORed with this. */
enum op { OP_ACCEPT = 1, OP_TIMEOUT, OP_RECV, OP_SEND, OP_CANCEL,
	  OP_MASK = 7 };

struct conn {
	int fd;
	bool recv_armed, cancelling, sending;	/* operations in flight */
	bool eof, dead, starved;
	int qhead, qtail;	/* send queue of buffer ids, or -1 */
	unsigned int qlen;
	unsigned int sent;	/* bytes of the head buffer already sent */
	struct conn *sprev, *snext;	/* on the starved list */
};

#ifdef PEER_URING_MT
static struct peer_opts opts = { .name = "peer-uring-mt", .jobs = 1 };
#else
static struct peer_opts opts = { .name = "peer-uring" };
#endif

/* The thread's ring, listener and buffers. */
static _Thread_local struct io_uring ring;
static _Thread_local int lfd;

static _Thread_local struct io_uring_buf_ring *br;
static _Thread_local char *pool;
static _Thread_local unsigned int nbufs;
static _Thread_local int *bnext;	/* per buffer: next in its send queue */
static _Thread_local unsigned int *blen;  /* per buffer: bytes received */
static _Thread_local unsigned int recycled;	/* added, not yet published */
static _Thread_local unsigned int held;	/* out of the ring, in our hands */

/*
 * Connections whose recv ran out of buffers, woken as buffers return.
 * Made empty by serve_setup(): a thread-local's address is no constant.
 */
static _Thread_local struct conn starved;

static struct __kernel_timespec backoff = { .tv_nsec = BACKOFF_NS };

static void conn_pump(struct conn *c);

static struct io_uring_sqe *get_sqe(void *p, enum op op)
{
	struct io_uring_sqe *sqe;
	int r;

	while (!(sqe = io_uring_get_sqe(&ring))) {
		r = io_uring_submit(&ring);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
			peer_die(&opts, "io_uring_submit: %s", strerror(-r));
	}
	io_uring_sqe_set_data64(sqe, (uintptr_t)p | op);
	return sqe;
}

static char *buf_addr(unsigned int bid)
{
	return pool + (size_t)bid * opts.bufsize;
}

static void buf_recycle(unsigned int bid)
{
	held--;
	io_uring_buf_ring_add(br, buf_addr(bid), opts.bufsize, bid,
			      io_uring_buf_ring_mask(nbufs), recycled++);
}

static void starve(struct conn *c)
{
	c->snext = &starved;
	c->sprev = starved.sprev;
	starved.sprev->snext = c;
	starved.sprev = c;
	c->starved = true;
}

static void unstarve(struct conn *c)
{
	c->sprev->snext = c->snext;
	c->snext->sprev = c->sprev;
	c->starved = false;
}

/*
 * Hands recycled buffers to the kernel. While any is free, every starved
 * recv goes on: one with nothing to read takes no buffer, and one waking
 * per returned buffer would leave the rest waiting for data never read.
 */
static void bufs_publish(void)
{
	if (recycled)
		io_uring_buf_ring_advance(br, recycled);
	recycled = 0;
	while (held < nbufs && starved.snext != &starved) {
		struct conn *c = starved.snext;

		unstarve(c);
		conn_pump(c);
	}
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe(NULL, OP_ACCEPT);

	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c, OP_RECV);

	/* Length 0: each completion fills at most one whole buffer. */
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	c->recv_armed = true;
}

static void cancel_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c, OP_CANCEL);

	io_uring_prep_cancel64(sqe, (uintptr_t)c | OP_RECV, 0);
	c->cancelling = true;
}

static void send_head(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c, OP_SEND);

	io_uring_prep_send(sqe, c->fd, buf_addr(c->qhead) + c->sent,
			   blen[c->qhead] - c->sent, MSG_NOSIGNAL);
	c->sending = true;
}

static void queue_push(struct conn *c, unsigned int bid, unsigned int len)
{
	blen[bid] = len;
	bnext[bid] = -1;
	if (c->qlen++)
		bnext[c->qtail] = bid;
	else
		c->qhead = bid;
	c->qtail = bid;
}

static void queue_pop(struct conn *c)
{
	int bid = c->qhead;

	c->qhead = bnext[bid];
	c->qlen--;
	c->sent = 0;
	buf_recycle(bid);
}

static void conn_close(struct conn *c)
{
	if (c->starved)
		unstarve(c);
	close(c->fd);
	free(c);
}

/* Starts what the connection's state calls for; frees it when done. */
static void conn_pump(struct conn *c)
{
	/* A dead connection's buffers go back once none is being sent. */
	while (c->dead && !c->sending && c->qlen)
		queue_pop(c);
	if (!c->dead && !c->sending && c->qlen)
		send_head(c);
	if (c->recv_armed) {
		if (!c->cancelling && (c->dead || c->qlen >= QUEUE_MAX))
			cancel_recv(c);
	} else if (!c->dead && !c->eof && !c->starved &&
		   c->qlen <= QUEUE_MAX / 2) {
		arm_recv(c);
	}
	if (!c->recv_armed && !c->cancelling && !c->sending &&
	    (c->dead || (c->eof && !c->qlen)))
		conn_close(c);
}

static void conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		fprintf(stderr, "%s: out of memory, refusing a connection\n",
			opts.name);
		close(fd);
		return;
	}
	c->fd = fd;
	c->qhead = c->qtail = -1;
	peer_nodelay(&opts, fd);
	conn_pump(c);
}

static void on_accept(struct io_uring_cqe *cqe)
{
	bool wait = false;

	if (cqe->res >= 0)
		conn_new(cqe->res);
	else if (cqe->res == -EINVAL)
		peer_die(&opts, "multishot accept: %s (needs Linux 5.19)",
			 strerror(-cqe->res));
	else
		wait = peer_accept_error(&opts, -cqe->res) ==
		       PEER_ACCEPT_BACKOFF;
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	if (wait)
		io_uring_prep_timeout(get_sqe(NULL, OP_TIMEOUT), &backoff,
				      0, 0);
	else
		arm_accept();
}

static void on_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		held++;
		if (res > 0 && !c->dead)
			queue_push(c, bid, res);
		else
			buf_recycle(bid);
	}
	if (res == 0)
		c->eof = true;
	else if (res == -ENOBUFS && !c->recv_armed && !c->dead)
		starve(c);
	else if (res == -EINVAL)
		peer_die(&opts, "multishot recv from a buffer ring: %s "
			 "(needs Linux 6.0)", strerror(-res));
	else if (res < 0 && res != -ECANCELED && res != -ENOBUFS)
		c->dead = true;		/* reset by the client, typically */
	conn_pump(c);
}

static void on_send(struct conn *c, int res)
{
	c->sending = false;
	if (res <= 0)
		c->dead = true;
	else if ((c->sent += res) == blen[c->qhead])
		queue_pop(c);
	conn_pump(c);		/* the remainder of a short send, or the next */
}

static void handle(struct io_uring_cqe *cqe)
{
	void *p = (void *)(uintptr_t)(cqe->user_data & ~(__u64)OP_MASK);

	switch (cqe->user_data & OP_MASK) {
	case OP_ACCEPT:
		on_accept(cqe);
		break;
	case OP_TIMEOUT:
		arm_accept();
		break;
	case OP_RECV:
		on_recv(p, cqe);
		break;
	case OP_SEND:
		on_send(p, cqe->res);
		break;
	case OP_CANCEL:
		/* If it came too late or too early, pump tries again. */
		((struct conn *)p)->cancelling = false;
		conn_pump(p);
		break;
	}
}

static void ring_setup(void)
{
	/* Fewer interrupts and wake-ups, from Linux 5.18 to 6.1; or none. */
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0,
	};
	int r = -EINVAL;

	for (int i = 0; i < 2 && r == -EINVAL; i++) {
		struct io_uring_params p = {
			.flags = IORING_SETUP_CQSIZE | tries[i],
			.cq_entries = CQ_ENTRIES,
		};

		r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
	}
	if (r == -ENOSYS)
		peer_die(&opts, "this kernel has no io_uring");
	if (r == -EPERM)
		peer_die(&opts, "io_uring disabled (kernel.io_uring_disabled)");
	if (r)
		peer_die(&opts, "io_uring_queue_init: %s", strerror(-r));
}

static void bufs_setup(void)
{
	struct io_uring_buf_reg reg = { .bgid = BGID };
	size_t size;
	int r;

	/* A power of two, as the ring needs, and buffer ids fit 16 bits. */
	for (nbufs = 32768; nbufs > 16; nbufs /= 2)
		if ((size_t)nbufs * opts.bufsize <= POOL_BYTES)
			break;
	size = nbufs * sizeof(struct io_uring_buf);
	br = mmap(NULL, size, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pool = malloc(nbufs * opts.bufsize);
	bnext = calloc(nbufs, sizeof(*bnext));
	blen = calloc(nbufs, sizeof(*blen));
	if (br == MAP_FAILED || !pool || !bnext || !blen)
		peer_die(&opts, "out of memory for %u buffers", nbufs);
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = nbufs;
	r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r)
		peer_die(&opts, "provided buffer ring: %s (needs Linux 5.19)",
			 strerror(-r));
	io_uring_buf_ring_init(br);
	held = nbufs;		/* until handed to the ring just below */
	for (unsigned int bid = 0; bid < nbufs; bid++)
		buf_recycle(bid);
	bufs_publish();
}

/* This thread's ring, buffers and accept on listener @fd. */
static void serve_setup(int fd)
{
	lfd = fd;
	starved.sprev = &starved;
	starved.snext = &starved;
	ring_setup();
	bufs_setup();
	arm_accept();
}

static void __attribute__((noreturn)) run(void)
{
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int r;

		bufs_publish();
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
			peer_die(&opts, "io_uring_submit_and_wait: %s",
				 strerror(-r));
		io_uring_for_each_cqe(&ring, head, cqe) {
			handle(cqe);
			n++;
		}
		io_uring_cq_advance(&ring, n);
	}
}

#ifndef PEER_URING_MT
int main(int argc, char **argv)
{
	peer_parse(&opts, argc, argv);
	peer_exit_on_signal(&opts);
	peer_raise_nofile();
	serve_setup(peer_listen(&opts, false, false));
	peer_ready(&opts);
	run();
}
#endif
