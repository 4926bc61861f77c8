// SPDX-License-Identifier: GPL-2.0
/*
 * echo_sync: TCP echo with one kernel thread per connection.
 *
 * The tutorial's synchronous server (steps 1 to 6) with its one missing
 * piece done: every connection is tracked, so the module unloads at any
 * time. Exit stops the listener, shuts every connection's socket down
 * (which wakes its thread out of recvmsg or sendmsg), and waits for every
 * thread to have left module code.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "ksrv.h"

#define ECHO_SYNC_BUFSIZE 4096

static char *addr;
module_param(addr, charp, 0444);
MODULE_PARM_DESC(addr,
		 "IPv4 or IPv6 address to listen on (default: all, IPv6 and IPv4)");

static int port = 8080;
module_param(port, int, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on, 1..65535 (default 8080)");

static int backlog = 128;
module_param(backlog, int, 0444);
MODULE_PARM_DESC(backlog, "listen() backlog, 1..65535 (default 128)");

/* A thread each: a few MB per thousand connections. */
static int max_conns = 1024;
module_param(max_conns, int, 0444);
MODULE_PARM_DESC(max_conns,
		 "Connections served at once; more are closed at once, 1..1048576 (default 1024)");

static int idle_timeout;
module_param(idle_timeout, int, 0444);
MODULE_PARM_DESC(idle_timeout,
		 "Seconds without data before a connection is closed, 0 (off)..604800 (default 0)");

/**
 * struct echo_sync_conn - one client connection and its thread
 * @base: the socket, in srv.conns while the socket is alive
 * @buf: what was read and is being written back, ECHO_SYNC_BUFSIZE bytes
 */
struct echo_sync_conn {
	struct ksrv_conn base;
	u8 *buf;
};

static struct {
	struct socket *listen;
	struct task_struct *listener;
	struct ksrv_registry conns;
	struct ksrv_threads threads;
	struct ksrv_stats stats;
	struct ksrv_idle idle;
} srv;

/* Write all of @len bytes; a short write is resumed, not lost. */
static int echo_sync_send_all(struct echo_sync_conn *conn, size_t len)
{
	u8 *buf = conn->buf;

	while (len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		int ret;

		ret = kernel_sendmsg(conn->base.sock, &msg, &iov, 1, len);
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		ksrv_conn_touch(&conn->base);
		ksrv_stats_add(&srv.stats, KSRV_STAT_BYTES_OUT, ret);
		buf += ret;
		len -= ret;
	}
	return 0;
}

static int echo_sync_conn_thread(void *data)
{
	struct echo_sync_conn *conn = data;
	int ret;

	for (;;) {
		struct msghdr msg = {};
		struct kvec iov = {
			.iov_base = conn->buf,
			.iov_len = ECHO_SYNC_BUFSIZE,
		};

		ret = kernel_recvmsg(conn->base.sock, &msg, &iov, 1,
				     ECHO_SYNC_BUFSIZE, 0);
		if (ret <= 0)
			break;
		ksrv_conn_touch(&conn->base);
		ksrv_stats_add(&srv.stats, KSRV_STAT_BYTES_IN, ret);
		ret = echo_sync_send_all(conn, ret);
		if (ret)
			break;
	}
	if (ret < 0)
		ksrv_stats_add(&srv.stats, KSRV_STAT_ERRORS, 1);

	/* Exit shuts registered sockets down; unregister before release. */
	ksrv_registry_remove(&srv.conns, &conn->base);
	sock_release(conn->base.sock);
	kfree(conn->buf);
	kfree(conn);
	ksrv_threads_exit(&srv.threads);
}

static void echo_sync_conn_start(struct socket *sock)
{
	static unsigned int next_id;
	struct echo_sync_conn *conn;
	struct task_struct *task;
	int ret;

	conn = kmalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn) {
		ksrv_stats_add(&srv.stats, KSRV_STAT_ERRORS, 1);
		goto err_release;
	}
	ksrv_conn_init(&conn->base, sock);
	conn->buf = kmalloc(ECHO_SYNC_BUFSIZE, GFP_KERNEL);
	if (!conn->buf) {
		ksrv_stats_add(&srv.stats, KSRV_STAT_ERRORS, 1);
		goto err_free;
	}

	/* Registered before its thread runs, so exit finds the socket. */
	ret = ksrv_registry_add(&srv.conns, &conn->base);
	if (ret) {
		/* Over max_conns, closed at once; or exit has begun. */
		if (ret == -EBUSY)
			ksrv_stats_add(&srv.stats, KSRV_STAT_REFUSED, 1);
		goto err_free;
	}

	task = ksrv_threads_spawn(&srv.threads, echo_sync_conn_thread,
				  conn, "echo_sync/%u", next_id++);
	if (IS_ERR(task)) {
		pr_warn_ratelimited("cannot start connection thread: %ld\n",
				    PTR_ERR(task));
		ksrv_stats_add(&srv.stats, KSRV_STAT_ERRORS, 1);
		goto err_unregister;
	}
	ksrv_stats_add(&srv.stats, KSRV_STAT_ACCEPTED, 1);
	wake_up_process(task);
	return;

err_unregister:
	ksrv_registry_remove(&srv.conns, &conn->base);
err_free:
	kfree(conn->buf);
	kfree(conn);
err_release:
	sock_release(sock);
}

static int echo_sync_listener_thread(void *data)
{
	while (!kthread_should_stop()) {
		struct socket *sock;
		int ret;

		ret = kernel_accept(srv.listen, &sock, 0);
		if (ret) {
			if (kthread_should_stop())
				break;
			/* -EINVAL: exit shut the listening socket down. */
			if (ret != -EAGAIN && ret != -ECONNABORTED &&
			    ret != -EINTR && ret != -ERESTARTSYS &&
			    ret != -EINVAL) {
				pr_warn_ratelimited("accept failed: %d\n", ret);
				ksrv_stats_add(&srv.stats, KSRV_STAT_ERRORS, 1);
			}
			/* Do not spin on an error that persists. */
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		echo_sync_conn_start(sock);
	}
	return 0;
}

static int __init echo_sync_init(void)
{
	struct ksrv_config cfg = {
		.name = KBUILD_MODNAME,
		.addr = addr,
		.port = port,
		.backlog = backlog,
		.max_conns = max_conns,
		.idle_timeout = idle_timeout,
	};
	int ret;

	ret = ksrv_config_check(&cfg);
	if (ret)
		return ret;

	ksrv_registry_init(&srv.conns, max_conns);
	ksrv_threads_init(&srv.threads);
	ret = ksrv_stats_init(&srv.stats, KBUILD_MODNAME, &srv.conns);
	if (ret)
		goto err_registry;

	ret = ksrv_listen(&cfg, &srv.listen);
	if (ret)
		goto err_stats;

	srv.listener = kthread_run(echo_sync_listener_thread, NULL,
				   "echo_sync");
	if (IS_ERR(srv.listener)) {
		ret = PTR_ERR(srv.listener);
		pr_err("cannot start listener thread: %d\n", ret);
		goto err_sock;
	}
	ksrv_idle_start(&srv.idle, &srv.conns, &srv.stats, idle_timeout);
	return 0;

err_sock:
	sock_release(srv.listen);
err_stats:
	ksrv_stats_destroy(&srv.stats);
err_registry:
	ksrv_registry_destroy(&srv.conns);
	return ret;
}

static void __exit echo_sync_exit(void)
{
	/* Wakes a listener blocked in accept on any kernel version. */
	kernel_sock_shutdown(srv.listen, SHUT_RDWR);
	kthread_stop(srv.listener);
	ksrv_idle_stop(&srv.idle);

	ksrv_registry_close(&srv.conns);
	ksrv_registry_shutdown_all(&srv.conns);
	ksrv_threads_wait(&srv.threads);

	sock_release(srv.listen);
	ksrv_stats_destroy(&srv.stats);
	ksrv_registry_destroy(&srv.conns);
	pr_info("unloaded\n");
}

module_init(echo_sync_init);
module_exit(echo_sync_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("In-kernel TCP echo server, one thread per connection");
