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
 * Where the echo runs (echo_async_conn_step(), the same code either way):
 * - with softirq=1, in the socket's sk_data_ready callback, in softirq as
 *   the data arrives (run to completion: no task is woken for a request),
 *   unless a process owns the socket, the send side is full, or the
 *   softirq budget is spent;
 * - otherwise, and for everything else, in the connection's ksrv task on
 *   the module's executor, woken by a ksrv watch on the socket (room to
 *   send, errors, the peer's FIN) or by the callback.
 * The socket lock orders the two: the task holds lock_sock(), softirq the
 * socket's spinlock with no owner.
 *
 * Lifetime: a connection is registered, then its callback installed and
 * its watch armed (echo_async_conn_start()). Whoever takes it off the
 * registry tears it down: the connection itself when the peer goes away
 * (echo_async_conn_close()), or echo_async_tcp_stop() at module exit
 * (echo_async_conn_destroy()); both first restore the callback and disarm
 * the watch, so nothing can run for a connection being freed.
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
/* Connections one run of the accept task takes before requeueing. */
#define ECHO_ASYNC_ACCEPT_BUDGET 64
/* How long to wait before accepting again after a transient error. */
#define ECHO_ASYNC_ACCEPT_RETRY	(HZ / 10)
/* How long to wait before sending again after running out of memory. */
#define ECHO_ASYNC_NOMEM_RETRY	(HZ / 10)
/* Bytes read at once with recvmsg to get past urgent data. */
#define ECHO_ASYNC_URGENT_CHUNK	256

/**
 * struct echo_async_conn - one client connection
 * @base: the socket, in echo_async.conns until its teardown is claimed
 * @task: runs echo_async_conn_run()
 * @watch: wakes @task when @sock is ready
 * @data_ready: the socket's own sk_data_ready, while ours is installed
 * @blocked: the send side was full: nothing more is read until the watch
 *	reports room (socket lock)
 */
struct echo_async_conn {
	struct ksrv_conn base;
	struct ksrv_task task;
	struct ksrv_watch watch;
	void (*data_ready)(struct sock *sk);
	bool blocked;
};

/* What a connection does after echoing what it could. */
enum echo_async_next {
	ECHO_ASYNC_WAIT,	/* for data, or for room to send */
	ECHO_ASYNC_AGAIN,	/* more is queued: run again, behind others */
	ECHO_ASYNC_RETRY,	/* no memory to send: try again after a while */
	ECHO_ASYNC_URGENT,	/* stopped at urgent data: recvmsg must step over */
	ECHO_ASYNC_EOF,		/* everything echoed and the peer is done */
	ECHO_ASYNC_ERROR,	/* the connection failed */
};

static struct {
	struct socket *listen;
	struct ksrv_task accept_task;
	struct ksrv_watch listen_watch;
	struct ksrv_idle idle;
} srv;

/* read_sock actor: send the range straight back; socket locked. */
static int echo_async_echo_skb(read_descriptor_t *desc, struct sk_buff *skb,
			       unsigned int offset, size_t len)
{
	struct sock *sk = desc->arg.data;
	int ret;

	if (!desc->count)
		return 0;	/* budget spent, or a send came back short */
	len = min(len, desc->count);
	ret = ksrv_tcp_send_skb(sk, skb, offset, len, echo_async.zerocopy);
	if (ret < 0) {
		desc->error = ret;
		return 0;	/* stops read_sock; the data stays queued */
	}
	if (ret < len) {
		desc->error = -EAGAIN;
		desc->count = 0;
	} else {
		desc->count -= ret;
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

/* Wait for room to send: the watch wakes the task on EPOLLOUT. */
static void echo_async_conn_block(struct echo_async_conn *conn)
{
	conn->blocked = true;
	ksrv_watch_set_interest(&conn->watch, EPOLLOUT);
}

/*
 * Echo what has been received, up to @budget bytes, and say what next.
 * The socket is locked, by lock_sock() or, in softirq, by its spinlock.
 */
static enum echo_async_next echo_async_conn_step(struct echo_async_conn *conn,
						 size_t budget)
{
	struct sock *sk = conn->base.sock->sk;
	read_descriptor_t desc = { .arg.data = sk, .count = budget };
	int ret;

	ret = tcp_read_sock(sk, &desc, echo_async_echo_skb);
	if (ret > 0) {
		ksrv_conn_touch(&conn->base);
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_IN, ret);
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_OUT, ret);
	}
	if (desc.error == -EAGAIN) {
		/*
		 * Under the socket lock, an ACK that makes room is processed
		 * after this, so its wake-up passes the new interest.
		 */
		echo_async_conn_block(conn);
		/*
		 * Nothing in flight means no ACK will come to make room: the
		 * send failed for want of memory, so poll for it.
		 */
		if (!READ_ONCE(tcp_sk(sk)->packets_out))
			return ECHO_ASYNC_RETRY;
		return ECHO_ASYNC_WAIT;
	}
	if (conn->blocked) {
		conn->blocked = false;
		ksrv_watch_set_interest(&conn->watch, EPOLLIN);
	}
	if (desc.error || ret < 0 || READ_ONCE(sk->sk_err))
		return ECHO_ASYNC_ERROR;
	if (echo_async_at_urgent(sk)) {
		/* The recvmsg path needs its echo to fit in at once. */
		if (sk_stream_memory_free(sk))
			return ECHO_ASYNC_URGENT;
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		echo_async_conn_block(conn);
		return ECHO_ASYNC_WAIT;
	}
	if (!desc.count)
		return ECHO_ASYNC_AGAIN;
	/* End of stream: all that was received is echoed. */
	if ((READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) &&
	    skb_queue_empty(&sk->sk_receive_queue))
		return ECHO_ASYNC_EOF;
	return ECHO_ASYNC_WAIT;
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
	/* Owned: the owner's release_sock() called us; it runs again. */
	if (sock_owned_by_user_nocheck(sk)) {
		ksrv_task_wake(&conn->task);
		goto out;
	}
	/* Blocked: the watch wakes the task when there is room. */
	if (conn->blocked)
		goto out;
	switch (echo_async_conn_step(conn, ECHO_ASYNC_SOFTIRQ_BUDGET)) {
	case ECHO_ASYNC_WAIT:
		break;
	case ECHO_ASYNC_RETRY:
		ksrv_task_wake_after(&conn->task, ECHO_ASYNC_NOMEM_RETRY);
		break;
	default:
		/* More to echo, urgent data, or a teardown: not here. */
		ksrv_task_wake(&conn->task);
		break;
	}
out:
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * Start echoing: install our sk_data_ready with softirq=1, then arm the
 * watch, which runs the task once for what came before. Both under the
 * socket lock: the task needs it to echo and, once the callback is in, to
 * tear down, so it cannot free the connection before this is done.
 */
static void echo_async_conn_arm(struct echo_async_conn *conn)
{
	struct sock *sk = conn->base.sock->sk;

	lock_sock(sk);
	if (echo_async.softirq) {
		ksrv_tcp_prepare_softirq(sk);
		write_lock_bh(&sk->sk_callback_lock);
		conn->data_ready = sk->sk_data_ready;
		sk->sk_user_data = conn;
		sk->sk_data_ready = echo_async_data_ready;
		write_unlock_bh(&sk->sk_callback_lock);
	}
	ksrv_watch_arm(&conn->watch);
	release_sock(sk);
}

/*
 * On return our sk_data_ready is not running and will not run: softirq
 * calls it under the socket's spinlock, which lock_sock() waits for. Both
 * a closing connection and module exit may get here at once: whoever
 * comes second finds the callback restored already.
 */
static void echo_async_conn_unhook(struct echo_async_conn *conn)
{
	struct sock *sk = conn->base.sock->sk;

	if (!echo_async.softirq)
		return;
	lock_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == conn) {
		sk->sk_data_ready = conn->data_ready;
		sk->sk_user_data = NULL;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	release_sock(sk);
}

static void echo_async_conn_free(struct echo_async_conn *conn)
{
	sock_release(conn->base.sock);
	kfree(conn);
}

/* The peer went away or failed: tear down, unless exit already claimed it. */
static void echo_async_conn_close(struct echo_async_conn *conn)
{
	echo_async_conn_unhook(conn);
	ksrv_watch_disarm(&conn->watch);
	/* A wake-up that came before the disarm may have queued us again. */
	ksrv_task_cancel(&conn->task);
	if (!ksrv_registry_remove(&echo_async.conns, &conn->base))
		return;	/* exit owns it, and waits for this run to return */
	echo_async_conn_free(conn);
}

/* Module exit's teardown of a connection it took off the registry. */
static void echo_async_conn_destroy(struct echo_async_conn *conn)
{
	echo_async_conn_unhook(conn);
	ksrv_watch_disarm(&conn->watch);
	ksrv_task_cancel_sync(&conn->task);
	echo_async_conn_free(conn);
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
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_IN, len);
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_OUT, len);
	return 0;
}

static void echo_async_conn_run(struct work_struct *work)
{
	struct echo_async_conn *conn =
		container_of(ksrv_task_of(work), struct echo_async_conn, task);
	struct sock *sk = conn->base.sock->sk;
	enum echo_async_next next;

	lock_sock(sk);
	next = echo_async_conn_step(conn, ECHO_ASYNC_RUN_BUDGET);
	release_sock(sk);

	switch (next) {
	case ECHO_ASYNC_WAIT:
		break;	/* the watch, or the callback, wakes us */
	case ECHO_ASYNC_AGAIN:
		ksrv_task_wake(&conn->task);
		break;
	case ECHO_ASYNC_RETRY:
		ksrv_task_wake_after(&conn->task, ECHO_ASYNC_NOMEM_RETRY);
		break;
	case ECHO_ASYNC_URGENT:
		if (!echo_async_conn_urgent(conn)) {
			ksrv_task_wake(&conn->task);
			break;
		}
		fallthrough;
	case ECHO_ASYNC_ERROR:
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_ERRORS, 1);
		fallthrough;
	case ECHO_ASYNC_EOF:
		echo_async_conn_close(conn);
		break;
	}
}

static void echo_async_conn_start(struct socket *sock)
{
	struct echo_async_conn *conn;
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn) {
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_ERRORS, 1);
		sock_release(sock);
		return;
	}
	ksrv_conn_init(&conn->base, sock);
	ksrv_task_init(&conn->task, &echo_async.executor, echo_async_conn_run);
	ksrv_watch_init(&conn->watch, sock, &conn->task, EPOLLIN);
	tcp_sock_set_nodelay(sock->sk);

	/* Registered before armed: once armed, it may close itself. */
	ret = ksrv_registry_add(&echo_async.conns, &conn->base);
	if (ret) {
		/* Over max_conns, closed at once; or exit has begun. */
		if (ret == -EBUSY)
			ksrv_stats_add(&echo_async.stats, KSRV_STAT_REFUSED, 1);
		echo_async_conn_free(conn);
		return;
	}
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_ACCEPTED, 1);
	echo_async_conn_arm(conn);
}

static void echo_async_accept_run(struct work_struct *work)
{
	int budget = ECHO_ASYNC_ACCEPT_BUDGET;

	while (budget--) {
		struct socket *sock;
		int ret;

		ret = kernel_accept(srv.listen, &sock, O_NONBLOCK);
		if (ret == -ECONNABORTED)
			continue;
		if (ret == -EAGAIN)
			return;	/* drained; the watch wakes us for more */
		if (ret) {
			/*
			 * Out of memory or file limits: the backlog would sit
			 * until the next handshake wakes us, so retry soon.
			 */
			pr_warn_ratelimited("accept failed: %d\n", ret);
			ksrv_stats_add(&echo_async.stats, KSRV_STAT_ERRORS, 1);
			ksrv_task_wake_after(&srv.accept_task,
					     ECHO_ASYNC_ACCEPT_RETRY);
			return;
		}
		echo_async_conn_start(sock);
	}
	ksrv_task_wake(&srv.accept_task);
}

/**
 * echo_async_tcp_start() - listen and serve TCP echo
 * @cfg: where to listen, and how long a connection may stay idle
 *
 * Return: 0, or a negative errno after one error line.
 */
int echo_async_tcp_start(const struct ksrv_config *cfg)
{
	int ret;

	ret = ksrv_listen(cfg, &srv.listen);
	if (ret)
		return ret;
	ksrv_task_init(&srv.accept_task, &echo_async.executor,
		       echo_async_accept_run);
	ksrv_watch_init(&srv.listen_watch, srv.listen, &srv.accept_task,
			EPOLLIN);
	ksrv_watch_arm(&srv.listen_watch);
	ksrv_idle_start(&srv.idle, &echo_async.conns, &echo_async.stats,
			cfg->idle_timeout);
	return 0;
}

/**
 * echo_async_tcp_stop() - stop accepting and tear every connection down
 *
 * Connections closing themselves meanwhile may still be running when this
 * returns; destroying the executor waits for them.
 */
void echo_async_tcp_stop(void)
{
	struct ksrv_conn *base;

	/* Stop accepting first: nothing registers a connection after this. */
	ksrv_watch_disarm(&srv.listen_watch);
	ksrv_task_cancel_sync(&srv.accept_task);
	sock_release(srv.listen);
	ksrv_idle_stop(&srv.idle);

	ksrv_registry_close(&echo_async.conns);
	while ((base = ksrv_registry_pop(&echo_async.conns))) {
		echo_async_conn_destroy(container_of(base,
						     struct echo_async_conn,
						     base));
		/*
		 * Each release queues a FIN on loopback's backlog, which
		 * softirq (often ksoftirqd) drains: without a reschedule
		 * point a non-preemptible kernel overflows it and drops them.
		 */
		cond_resched();
	}
}
