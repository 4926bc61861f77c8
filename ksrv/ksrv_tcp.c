// SPDX-License-Identifier: GPL-2.0
/*
 * Sending received TCP data back out without copying it.
 *
 * A service that reads with read_sock gets the skbs themselves, still in
 * the socket's receive queue. ksrv_tcp_send_skb() sends a range of one on a
 * TCP socket: page fragments by reference (the new skb takes a reference on
 * each page, so the received skb can be freed at once), linear data and
 * pages that cannot be referenced (slab memory) by copying, frag_list
 * included. Every piece but the last carries MSG_MORE, so that a range
 * spread over several fragments leaves as full segments even with
 * TCP_NODELAY, unless the rest may not fit: a piece held back by MSG_MORE
 * is pushed only by the next send that queues something, and with nothing
 * in flight no ACK would push it either.
 *
 * ksrv_tcp_prepare_softirq() lets a socket be sent on from softirq, so that
 * a service can answer from its sk_data_ready callback; such a send
 * allocates atomically, and a send from a task as the socket's owner says.
 * When a send comes back short, ksrv_tcp_send_blocked() says what will make
 * room, so that the service waits for that event rather than polling.
 */
#include <linux/module.h>
#include <linux/netdev_features.h>
#include <linux/skbuff.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "ksrv.h"
#include "ksrv_compat.h"
#include "ksrv_trace.h"

struct ksrv_tcp_cursor {
	struct sock *sk;
	unsigned int skip;	/* bytes before the range */
	size_t left;		/* bytes of the range not yet sent */
	size_t sent;
	bool zerocopy;
};

/*
 * Whether @left more bytes are likely to be queued at once: room for
 * them in the send buffer, twice over for the skbs' overhead, and TCP not
 * short of memory, when its accounting refuses sends whatever the room.
 */
static bool ksrv_tcp_rest_fits(struct sock *sk, size_t left)
{
	int room = sk_stream_wspace(sk);

	return !tcp_under_memory_pressure(sk) && room > 0 &&
	       (size_t)room >= 2 * left;
}

/*
 * Sends what falls inside the range of one piece of an skb: @len bytes at
 * @offset of @page, or at @data for linear data.
 * Return: 0 to go on, -EAGAIN after a short send, or a negative errno.
 */
static int ksrv_tcp_send_piece(struct ksrv_tcp_cursor *c, struct page *page,
			       void *data, unsigned int offset,
			       unsigned int len)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct bio_vec bvec;
	struct kvec kvec;
	int ret;

	if (c->skip >= len) {
		c->skip -= len;
		return 0;
	}
	offset += c->skip;
	len = min_t(size_t, len - c->skip, c->left);
	c->skip = 0;
	if (len < c->left && ksrv_tcp_rest_fits(c->sk, c->left))
		msg.msg_flags |= MSG_MORE;

	if (!page) {
		kvec.iov_base = data + offset;
		kvec.iov_len = len;
		iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kvec, 1, len);
		ret = tcp_sendmsg_locked(c->sk, &msg, len);
	} else if (c->zerocopy && sendpage_ok(page) &&
		   (c->sk->sk_route_caps & NETIF_F_SG)) {
		/*
		 * Without scatter-gather, 6.1's sendpage falls back to a
		 * kmap() and a copy, which may sleep: copy here instead.
		 */
		ret = ksrv_compat_tcp_send_page(c->sk, page, offset, len,
						msg.msg_flags);
	} else {
		ksrv_compat_bvec_set_page(&bvec, page, len, offset);
		iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
		ret = tcp_sendmsg_locked(c->sk, &msg, len);
	}
	if (ret < 0)
		return ret;
	c->sent += ret;
	c->left -= ret;
	return ret < len ? -EAGAIN : 0;
}

/* An skb's own data: its linear part, then its page fragments. */
static int ksrv_tcp_send_own(struct ksrv_tcp_cursor *c, struct sk_buff *skb)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	int ret, i;

	ret = ksrv_tcp_send_piece(c, NULL, skb->data, 0, skb_headlen(skb));
	for (i = 0; !ret && c->left && i < shinfo->nr_frags; i++) {
		skb_frag_t *frag = &shinfo->frags[i];

		/* No page: device memory (6.12's devmem TCP), unreadable. */
		if (!skb_frag_page(frag))
			return -EFAULT;
		ret = ksrv_tcp_send_piece(c, skb_frag_page(frag), NULL,
					  skb_frag_off(frag),
					  skb_frag_size(frag));
	}
	return ret;
}

/**
 * ksrv_tcp_send_skb() - send a range of an skb's data on a TCP socket
 * @sk: the TCP socket to send on, locked: lock_sock(), or its spinlock in
 *	softirq after ksrv_tcp_prepare_softirq()
 * @skb: the skb holding the data, e.g. one a read_sock actor was given
 * @offset: where the range starts in @skb's data
 * @len: the range's length; at most @skb->len - @offset
 * @zerocopy: send page fragments by reference rather than copying them
 *
 * Never blocks. The pages sent by reference are shared with @skb and with
 * whoever filled them: the caller must not change them. With the socket
 * owned, the send may process the socket's backlog, whose data can make
 * TCP prune the receive queue and free @skb: a clone of it is sent then.
 * Unowned (softirq), the send allocates with GFP_ATOMIC, whatever
 * @sk->sk_allocation says for the owner's sends.
 *
 * A task sleeping in a send on @sk for room (sk_stream_wait_memory() has
 * released the socket for the while, marking it sk_write_pending) is in
 * the middle of a message: bytes sent now would land inside it. That is a
 * caller's bug, refused with a warning.
 *
 * Return: bytes sent, fewer than @len if the socket's send buffer filled or
 * memory ran short; or, if none were sent, a negative errno (-EAGAIN for no
 * room or no memory, -EPIPE after a shutdown, the socket's error, -EBUSY
 * while a writer waits on @sk).
 */
int ksrv_tcp_send_skb(struct sock *sk, struct sk_buff *skb,
		      unsigned int offset, size_t len, bool zerocopy)
{
	struct ksrv_tcp_cursor c = {
		.sk = sk,
		.skip = offset,
		.left = len,
		.zerocopy = zerocopy,
	};
	bool owned = sock_owned_by_user_nocheck(sk);
	struct sk_buff *iter, *clone = NULL;
	gfp_t owner_gfp = sk->sk_allocation;
	int ret;

	if (WARN_ON_ONCE(READ_ONCE(sk->sk_write_pending)))
		return -EBUSY;
	/*
	 * tcp_sendmsg_locked() flushes the backlog every 16 new skbs; the
	 * clone's reference keeps the data whatever happens to @skb. From
	 * softirq the socket is not owned and its backlog is empty.
	 */
	if (owned) {
		clone = skb_clone(skb, owner_gfp);
		if (!clone)
			return -EAGAIN;
		skb = clone;
	} else {
		/* Only the socket's spinlock keeps others out. */
		lockdep_assert_held(&sk->sk_lock.slock);
		sk->sk_allocation = GFP_ATOMIC;
	}
	ret = ksrv_tcp_send_own(&c, skb);
	skb_walk_frags(skb, iter) {
		if (ret || !c.left)
			break;
		ret = ksrv_tcp_send_own(&c, iter);
	}
	if (!owned)
		sk->sk_allocation = owner_gfp;
	consume_skb(clone);
	return c.sent ? c.sent : ret;
}
EXPORT_SYMBOL_GPL(ksrv_tcp_send_skb);

/**
 * ksrv_tcp_send_blocked() - what will make room after a short send
 * @sk: the TCP socket a send came back short on, still locked
 *
 * Traces the socket's state (ksrv:ksrv_tcp_send_blocked). A caller waits
 * for EPOLLOUT unless this says %KSRV_TCP_WAIT_NOMEM: TCP raises it when
 * an ACK frees room (%KSRV_TCP_WAIT_ACK) and when data that waited for
 * the peer's window goes out and is acked (%KSRV_TCP_WAIT_PROBE: TCP's own
 * probe timer is armed, as a zero window needs). With both queues empty
 * the send failed for want of memory that nothing of this socket will
 * free, and only polling finds it again.
 *
 * Return: an &enum ksrv_tcp_wait.
 */
enum ksrv_tcp_wait ksrv_tcp_send_blocked(struct sock *sk)
{
	enum ksrv_tcp_wait wait;

	if (tcp_rtx_and_write_queues_empty(sk))
		wait = KSRV_TCP_WAIT_NOMEM;
	else if (READ_ONCE(tcp_sk(sk)->packets_out))
		wait = KSRV_TCP_WAIT_ACK;
	else
		wait = KSRV_TCP_WAIT_PROBE;
	trace_ksrv_tcp_send_blocked(sk, wait,
				    !sock_owned_by_user_nocheck(sk));
	return wait;
}
EXPORT_SYMBOL_GPL(ksrv_tcp_send_blocked);

/**
 * ksrv_tcp_prepare_softirq() - let a socket be sent on from softirq
 * @sk: the socket, locked with lock_sock(), before any callback that sends
 *	from softirq is installed
 *
 * A send from softirq may not copy into the current task's page fragment,
 * which belongs to whichever task was interrupted: the socket keeps its
 * own. Its allocations are made atomic by ksrv_tcp_send_skb() for the
 * call alone, so that the owner's sends from a task may still reclaim
 * under memory pressure.
 */
void ksrv_tcp_prepare_softirq(struct sock *sk)
{
	ksrv_compat_sk_no_task_frag(sk);
}
EXPORT_SYMBOL_GPL(ksrv_tcp_prepare_softirq);
