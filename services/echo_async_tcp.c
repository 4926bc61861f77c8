// SPDX-License-Identifier: GPL-2.0
/*
 * echo_async's TCP echo, without a thread per connection and without a
 * buffer of its own.
 *
 * A connection echoes with read_sock: under the socket lock, each received
 * skb is handed to echo_async_echo_skb(), which sends its range straight
 * back (ksrv_tcp_send_skb(): pages by reference with zerocopy=1, one copy
 * into the send queue with zerocopy=0). What cannot be sent yet stays in
 * the socket's receive queue, so a client that does not read is held back
 * by TCP's own window, and an idle connection holds nothing but its socket.
 *
 * Under TCP memory pressure one skb may wait outside the queue instead
 * (echo_async_hold()): past its hard limit TCP drops each segment that
 * finds the receive queue non-empty, and takes one that finds it empty
 * whatever the limit, so a server that leaves its unsent data queued gets
 * a segment in only once that data is out. The skb taken out stays charged
 * to the socket as received data, so TCP's window and its memory limits
 * still count it, and is echoed before anything still queued.
 *
 * Where the echo runs (echo_async_conn_step(), the same code either way):
 * - with softirq=1, in the socket's sk_data_ready callback, in softirq as
 *   the data arrives (run to completion: no task is woken for a request),
 *   unless a process owns the socket, the send side is full, or the
 *   softirq budget is spent;
 * - otherwise, and for everything else, in the connection's ksrv task
 *   (echo_async_ready()), woken by its ksrv watch on the socket (room to
 *   send, errors, the peer's FIN) or by the callback.
 * The socket lock orders the two: the task holds lock_sock(), softirq the
 * socket's spinlock with no owner.
 *
 * Lifetime is ksrv's (ksrv_service.c): it registers the connection, calls
 * echo_async_arm() to install the callback just before arming the watch,
 * and echo_async_disarm() to restore it before disarming the watch, from
 * whoever tears the connection down, so nothing runs for a connection
 * being freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "echo_async.h"

/* Bytes one run of a connection's task echoes before it lets others run. */
#define ECHO_ASYNC_RUN_BUDGET	(64 * 1024)
/*
 * Bytes one sk_data_ready call echoes in softirq; more is left to the
 * task, so that one busy connection cannot hold a CPU's softirq.
 */
#define ECHO_ASYNC_SOFTIRQ_BUDGET (16 * 1024)
/*
 * A budget ends at an skb's end: the skb that crosses it is echoed whole
 * if it holds no more than this, rather than partly from softirq and the
 * rest from a task woken for it. From 6.6 a window is most of the
 * receive buffer, and a sender's skbs (half a window at most) often
 * exceed the softirq budget. Longer skbs (coalesced in the receive queue,
 * built by GRO) are cut at the budget.
 */
#define ECHO_ASYNC_WHOLE_SKB	(64 * 1024)
/* Bytes read at once with recvmsg to get past urgent data. */
#define ECHO_ASYNC_URGENT_CHUNK	256

/*
 * What a connection does after echoing what it could: a &enum ksrv_next,
 * this, or a negative errno.
 */
#define ECHO_ASYNC_URGENT	(KSRV_DONE + 1)	/* recvmsg must step over */

/* read_sock actor: send the range straight back; socket locked. */
static int echo_async_echo_skb(read_descriptor_t *desc, struct sk_buff *skb,
			       unsigned int offset, size_t len)
{
	struct sock *sk = desc->arg.data;
	int ret;

	if (!desc->count)
		return 0;	/* budget spent, or a send came back short */
	if (len > desc->count && len > ECHO_ASYNC_WHOLE_SKB)
		len = desc->count;
	ret = ksrv_tcp_send_skb(sk, skb, offset, len, echo_async_zerocopy);
	if (ret < 0) {
		desc->error = ret;
		return 0;	/* stops read_sock; the data stays queued */
	}
	if (ret < len) {
		desc->error = -EAGAIN;
		desc->count = 0;
	} else {
		desc->count -= min_t(size_t, ret, desc->count);
	}
	return ret;
}

/*
 * tcp_read_sock() stops at the urgent mark (a byte sent with MSG_OOB), and
 * only recvmsg() steps over it. Socket locked.
 */
static bool echo_async_at_urgent(struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return tp->urg_data && tp->urg_seq == tp->copied_seq &&
	       !skb_queue_empty(&sk->sk_receive_queue);
}

/* Counted each time a send comes back short, by what it waits for. */
static const unsigned int echo_async_wait_stat[] = {
	[KSRV_TCP_WAIT_ACK] = ECHO_ASYNC_SEND_WAIT_ACK,
	[KSRV_TCP_WAIT_PROBE] = ECHO_ASYNC_SEND_WAIT_PROBE,
	[KSRV_TCP_WAIT_NOMEM] = ECHO_ASYNC_SEND_WAIT_NOMEM,
};

/* Wait for room to send: the watch wakes the task on EPOLLOUT. */
static void echo_async_conn_block(struct echo_async_conn *conn)
{
	ksrv_conn_set_interest(&conn->base, EPOLLOUT);
}

/* Whether the connection waits for room to send. */
static bool echo_async_conn_blocked(struct echo_async_conn *conn)
{
	return ksrv_conn_interest(&conn->base) & EPOLLOUT;
}

/*
 * Where the unsent rest of a held skb starts, in its control block: the
 * skb is a clone of our own, no longer TCP's.
 */
struct echo_async_held_cb {
	unsigned int off;
};

static struct echo_async_held_cb *echo_async_held_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct echo_async_held_cb) >
		     sizeof_field(struct sk_buff, cb));
	return (struct echo_async_held_cb *)skb->cb;
}

/*
 * A send came back short: wait for what will make room, and say what
 * next. Socket locked.
 */
static int echo_async_conn_wait(struct echo_async_conn *conn)
{
	struct sock *sk = conn->base.sock->sk;
	enum ksrv_tcp_wait wait = ksrv_tcp_send_blocked(sk);

	ksrv_count(conn->base.srv, echo_async_wait_stat[wait], 1);
	/*
	 * Under the socket lock, an ACK that makes room is processed after
	 * this, so its wake-up passes the new interest.
	 */
	echo_async_conn_block(conn);
	/* Only an empty socket gets no event: poll for memory. */
	return wait == KSRV_TCP_WAIT_NOMEM ? KSRV_RETRY : KSRV_WAIT;
}

/*
 * read_sock actor for echo_async_hold(): take the rest of the skb out of
 * the receive queue, as a clone charged to the socket. Socket locked.
 */
static int echo_async_hold_skb(read_descriptor_t *desc, struct sk_buff *skb,
			       unsigned int offset, size_t len)
{
	struct echo_async_conn *conn = desc->arg.data;
	struct sock *sk = conn->base.sock->sk;
	struct sk_buff *clone;

	/* Up to an urgent mark, or longer than one send: leave it queued. */
	if (offset + len != skb->len || len > ECHO_ASYNC_WHOLE_SKB)
		return 0;
	clone = skb_clone(skb, sock_owned_by_user_nocheck(sk) ?
			  sk->sk_allocation : GFP_ATOMIC);
	if (!clone)
		return 0;
	/*
	 * Charged before @skb is freed, so that the socket's memory is
	 * never returned to TCP in between.
	 */
	skb_set_owner_r(clone, sk);
	echo_async_held_cb(clone)->off = offset;
	conn->held = clone;
	desc->count = 0;
	return len;
}

/*
 * After a short send under TCP memory pressure, take the unsent rest of
 * the skb at the head of the receive queue out of it, so that TCP may
 * take the next segment (see the top of the file). Socket locked.
 */
static void echo_async_hold(struct echo_async_conn *conn)
{
	struct sock *sk = conn->base.sock->sk;
	read_descriptor_t desc = { .arg.data = conn, .count = 1 };
	int ret;

	if (conn->held || !tcp_under_memory_pressure(sk))
		return;
	/* Its bytes count in and out as they are echoed, as the rest do. */
	ret = tcp_read_sock(sk, &desc, echo_async_hold_skb);
	if (ret > 0)
		ksrv_count(conn->base.srv, ECHO_ASYNC_HELD, 1);
}

/*
 * Echo what echo_async_hold() took out of the queue: it comes before
 * anything still queued. Socket locked.
 * Return: 0 once it is all sent, -EAGAIN while some is left, or a
 * negative errno.
 */
static int echo_async_send_held(struct echo_async_conn *conn)
{
	struct echo_async_held_cb *cb = echo_async_held_cb(conn->held);
	struct sock *sk = conn->base.sock->sk;
	unsigned int left = conn->held->len - cb->off;
	int ret;

	ret = ksrv_tcp_send_skb(sk, conn->held, cb->off, left,
				echo_async_zerocopy);
	if (ret < 0)
		return ret;
	ksrv_conn_touch(&conn->base);
	ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_IN, ret);
	ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_OUT, ret);
	cb->off += ret;
	if ((unsigned int)ret < left)
		return -EAGAIN;
	consume_skb(conn->held);
	conn->held = NULL;
	return 0;
}

/*
 * Echo what has been received, up to @budget bytes or the end of the skb
 * that crosses it (ECHO_ASYNC_WHOLE_SKB), and say what next.
 * The socket is locked, by lock_sock() or, in softirq, by its spinlock.
 */
static int echo_async_conn_step(struct echo_async_conn *conn, size_t budget)
{
	struct sock *sk = conn->base.sock->sk;
	read_descriptor_t desc = { .arg.data = sk, .count = budget };
	int ret;

	if (conn->held) {
		ret = echo_async_send_held(conn);
		if (ret == -EAGAIN)
			return echo_async_conn_wait(conn);
		if (ret < 0)
			return ret;
	}
	ret = tcp_read_sock(sk, &desc, echo_async_echo_skb);
	if (ret > 0) {
		ksrv_conn_touch(&conn->base);
		ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_IN, ret);
		ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_OUT, ret);
	}
	if (desc.error == -EAGAIN) {
		echo_async_hold(conn);
		return echo_async_conn_wait(conn);
	}
	if (echo_async_conn_blocked(conn))
		ksrv_conn_set_interest(&conn->base, EPOLLIN);
	if (desc.error)
		return desc.error;
	if (ret < 0)
		return ret;
	if (READ_ONCE(sk->sk_err))
		return -READ_ONCE(sk->sk_err);
	if (echo_async_at_urgent(sk)) {
		/* The recvmsg path needs its echo to fit in at once. */
		if (sk_stream_memory_free(sk))
			return ECHO_ASYNC_URGENT;
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		echo_async_conn_block(conn);
		return KSRV_WAIT;
	}
	/*
	 * The budget spent: again if more is queued. A message of exactly
	 * the softirq budget ends it with the queue empty, and handing that
	 * to the task would wake it for nothing.
	 */
	if (!desc.count && !skb_queue_empty(&sk->sk_receive_queue))
		return KSRV_AGAIN;
	/* End of stream: all that was received is echoed. */
	if ((READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) &&
	    skb_queue_empty(&sk->sk_receive_queue))
		return KSRV_DONE;
	return KSRV_WAIT;
}

/*
 * sk_data_ready, with softirq=1: echo at once in softirq when no process
 * owns the socket; otherwise, or when there is more than softirq should
 * do, leave it to the task.
 */
static void echo_async_data_ready(struct sock *sk)
{
	struct echo_async_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (!conn)
		goto out;
	/*
	 * Owned: the owner's release_sock() called us; it runs again. A
	 * writer waiting for room in the middle of its message: not now
	 * (ksrv_tcp_send_skb() would refuse).
	 */
	if (sock_owned_by_user_nocheck(sk) ||
	    READ_ONCE(sk->sk_write_pending)) {
		ksrv_conn_wake(&conn->base);
		goto out;
	}
	/* Blocked: the watch wakes the task when there is room. */
	if (echo_async_conn_blocked(conn))
		goto out;
	/*
	 * More to echo, no memory, urgent data, or a teardown: not here.
	 * The task sees the same and does what it says.
	 */
	if (echo_async_conn_step(conn, ECHO_ASYNC_SOFTIRQ_BUDGET) !=
	    KSRV_WAIT) {
		ksrv_count(conn->base.srv, ECHO_ASYNC_SOFTIRQ_TO_TASK, 1);
		ksrv_conn_wake(&conn->base);
	}
out:
	read_unlock_bh(&sk->sk_callback_lock);
}

/**
 * echo_async_arm() - &ksrv_ops.arm: with softirq=1, install our callback
 * @base: the connection, its socket locked
 *
 * Just before ksrv arms the watch: the task needs the socket lock to echo
 * and to tear down, so it cannot free the connection before this is done.
 */
void echo_async_arm(struct ksrv_conn *base)
{
	struct echo_async_conn *conn = (struct echo_async_conn *)base;
	struct sock *sk = base->sock->sk;

	if (!echo_async_softirq)
		return;
	ksrv_tcp_prepare_softirq(sk);
	write_lock_bh(&sk->sk_callback_lock);
	conn->data_ready = sk->sk_data_ready;
	sk->sk_user_data = conn;
	sk->sk_data_ready = echo_async_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

/**
 * echo_async_disarm() - &ksrv_ops.disarm: restore the socket's callback
 * @base: the connection
 *
 * On return our sk_data_ready is not running and will not run: softirq
 * calls it under the socket's spinlock, which lock_sock() waits for. Both
 * a closing connection and module exit may get here at once: whoever
 * comes second finds the callback restored already.
 */
void echo_async_disarm(struct ksrv_conn *base)
{
	struct sock *sk = base->sock->sk;

	if (!echo_async_softirq)
		return;
	lock_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == base) {
		sk->sk_data_ready =
			((struct echo_async_conn *)base)->data_ready;
		sk->sk_user_data = NULL;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	release_sock(sk);
}

/**
 * echo_async_release() - &ksrv_ops.release: free the data held, if any
 * @base: the connection, on which nothing runs any more
 *
 * Held data is charged to the socket, whose receive softirq may still
 * change the same accounting: under the socket lock. It was received and
 * never echoed: the close that follows resets the connection, as TCP does
 * for a socket closed with data unread (RFC 2525, 2.17), where a FIN would
 * tell the peer its stream came back whole.
 */
void echo_async_release(struct ksrv_conn *base)
{
	struct echo_async_conn *conn = (struct echo_async_conn *)base;
	struct sock *sk = base->sock->sk;

	if (!conn->held)
		return;
	lock_sock(sk);
	kfree_skb(conn->held);
	conn->held = NULL;
	release_sock(sk);
	sock_no_linger(sk);
}

/*
 * Step over urgent data as a user-space server's read() would: the urgent
 * byte is not part of the stream (no SO_OOBINLINE), and what follows it is
 * read with recvmsg and echoed, a little at a time: the caller saw room in
 * the send buffer, so the echo is taken whole unless TCP runs out of
 * memory, and then the connection is failed rather than lose data.
 * Return: 0, or a negative errno.
 */
static int echo_async_conn_urgent(struct echo_async_conn *conn)
{
	struct socket *sock = conn->base.sock;
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	char buf[ECHO_ASYNC_URGENT_CHUNK];
	struct kvec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	int len, ret;

	len = kernel_recvmsg(sock, &msg, &iov, 1, sizeof(buf), MSG_DONTWAIT);
	if (len == -EAGAIN)
		return 0;	/* the urgent byte alone, skipped */
	if (len <= 0)
		return len ?: -EPIPE;
	iov.iov_len = len;
	ret = kernel_sendmsg(sock, &msg, &iov, 1, len);
	if (ret != len)
		return ret < 0 ? ret : -ENOMEM;
	ksrv_conn_touch(&conn->base);
	ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_IN, len);
	ksrv_count(conn->base.srv, ECHO_ASYNC_BYTES_OUT, len);
	return 0;
}

/**
 * echo_async_ready() - &ksrv_ops.ready: echo what the socket has
 * @base: the connection
 *
 * Return: an &enum ksrv_next, or a negative errno.
 */
int echo_async_ready(struct ksrv_conn *base)
{
	struct echo_async_conn *conn = (struct echo_async_conn *)base;
	struct sock *sk = base->sock->sk;
	int next;

	lock_sock(sk);
	next = echo_async_conn_step(conn, ECHO_ASYNC_RUN_BUDGET);
	release_sock(sk);

	if (next == ECHO_ASYNC_URGENT)
		return echo_async_conn_urgent(conn) ?: KSRV_AGAIN;
	return next;
}
