// SPDX-License-Identifier: GPL-2.0
/*
 * echo_async's TCP echo, without a thread per connection.
 *
 * Each connection is a two-state machine, reading then writing back what it
 * read, that runs as a ksrv task on the module's executor and is woken by a
 * ksrv watch on its socket. Accepting is a task too, woken by the listening
 * socket: the module has no thread of its own.
 *
 * Lifetime: a connection is registered, then its watch armed, in that order
 * (echo_async_conn_start()). Whoever takes it off the registry tears it
 * down: the connection itself when the peer goes away
 * (echo_async_conn_close()), or echo_async_tcp_stop() at module exit
 * (echo_async_conn_destroy()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "echo_async.h"

/* Bytes one run of a connection echoes before it lets others run. */
#define ECHO_ASYNC_RUN_BUDGET	(64 * 1024)
/* Connections one run of the accept task takes before requeueing. */
#define ECHO_ASYNC_ACCEPT_BUDGET 64
/* How long to wait before accepting again after a transient error. */
#define ECHO_ASYNC_ACCEPT_RETRY	(HZ / 10)
/* How long to wait before writing again after running out of memory. */
#define ECHO_ASYNC_NOMEM_RETRY	(HZ / 10)

enum echo_async_state {
	ECHO_ASYNC_READING,
	ECHO_ASYNC_WRITING,
};

/**
 * struct echo_async_conn - one client connection
 * @base: the socket, in echo_async.conns until its teardown is claimed
 * @task: runs echo_async_conn_run()
 * @watch: wakes @task when @sock is ready
 * @state: reading from, or writing back to, the peer
 * @buf: bufsize bytes, allocated only while data is in flight
 * @len: bytes in @buf
 * @off: bytes of @buf already written back
 */
struct echo_async_conn {
	struct ksrv_conn base;
	struct ksrv_task task;
	struct ksrv_watch watch;
	enum echo_async_state state;
	u8 *buf;
	size_t len;
	size_t off;
};

static struct {
	struct socket *listen;
	struct ksrv_task accept_task;
	struct ksrv_watch listen_watch;
	struct ksrv_idle idle;
} srv;

/* Return: bytes read, 0 at end of stream, or a negative errno. */
static int echo_async_conn_read(struct echo_async_conn *conn)
{
	struct msghdr msg = {};
	struct kvec iov;
	int ret;

	if (!conn->buf) {
		conn->buf = kmalloc(echo_async.bufsize, GFP_KERNEL);
		if (!conn->buf)
			return -ENOMEM;
	}
	iov.iov_base = conn->buf;
	iov.iov_len = echo_async.bufsize;
	ret = kernel_recvmsg(conn->base.sock, &msg, &iov, 1,
			     echo_async.bufsize, MSG_DONTWAIT);
	if (ret == -EAGAIN) {
		/* Idle: an idle connection holds no buffer. */
		kfree(conn->buf);
		conn->buf = NULL;
	} else if (ret > 0) {
		ksrv_conn_touch(&conn->base);
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_IN, ret);
		conn->len = ret;
		conn->off = 0;
		conn->state = ECHO_ASYNC_WRITING;
		/* Not reading until this is echoed is the backpressure. */
		ksrv_watch_set_interest(&conn->watch, EPOLLOUT);
	}
	return ret;
}

/* Return: bytes written, or a negative errno. */
static int echo_async_conn_write(struct echo_async_conn *conn)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov = {
		.iov_base = conn->buf + conn->off,
		.iov_len = conn->len - conn->off,
	};
	int ret;

	ret = kernel_sendmsg(conn->base.sock, &msg, &iov, 1, iov.iov_len);
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	ksrv_conn_touch(&conn->base);
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_BYTES_OUT, ret);
	conn->off += ret;
	if (conn->off == conn->len) {
		conn->state = ECHO_ASYNC_READING;
		ksrv_watch_set_interest(&conn->watch, EPOLLIN);
	}
	return ret;
}

static void echo_async_conn_free(struct echo_async_conn *conn)
{
	sock_release(conn->base.sock);
	kfree(conn->buf);
	kfree(conn);
}

/* The peer went away or failed: tear down, unless exit already claimed it. */
static void echo_async_conn_close(struct echo_async_conn *conn)
{
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
	ksrv_watch_disarm(&conn->watch);
	ksrv_task_cancel_sync(&conn->task);
	echo_async_conn_free(conn);
}

static void echo_async_conn_run(struct work_struct *work)
{
	struct echo_async_conn *conn =
		container_of(ksrv_task_of(work), struct echo_async_conn, task);
	int budget = ECHO_ASYNC_RUN_BUDGET;
	int ret;

	while (budget > 0) {
		if (conn->state == ECHO_ASYNC_READING) {
			ret = echo_async_conn_read(conn);
			/* End of stream: all that was read is echoed. */
			if (ret == 0)
				goto close;
		} else {
			ret = echo_async_conn_write(conn);
			budget -= ret;
		}
		if (ret == -EAGAIN) {
			/*
			 * A write with nothing of ours queued failed for want
			 * of memory, not of room: no ACK will come to free
			 * some and wake us, so poll for it.
			 */
			if (conn->state == ECHO_ASYNC_WRITING &&
			    !READ_ONCE(conn->base.sock->sk->sk_wmem_queued))
				ksrv_task_wake_after(&conn->task,
						     ECHO_ASYNC_NOMEM_RETRY);
			return;	/* the watch wakes us when ready */
		}
		if (ret < 0)
			goto error;
	}
	/* Budget spent: requeue behind the other connections. */
	ksrv_task_wake(&conn->task);
	return;

error:
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_ERRORS, 1);
close:
	echo_async_conn_close(conn);
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
	conn->state = ECHO_ASYNC_READING;
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
	ksrv_watch_arm(&conn->watch);
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
