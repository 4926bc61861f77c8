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

static int port = 8080;
module_param(port, int, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on, 1..65535 (default 8080)");

static int backlog = 128;
module_param(backlog, int, 0444);
MODULE_PARM_DESC(backlog, "listen() backlog, 1..65535 (default 128)");

/**
 * struct echo_sync_conn - one client connection and its thread
 * @node: in srv.conns while the socket is alive
 * @sock: the accepted socket
 * @buf: what was read and is being written back, ECHO_SYNC_BUFSIZE bytes
 */
struct echo_sync_conn {
	struct list_head node;
	struct socket *sock;
	u8 *buf;
};

static struct {
	struct socket *listen;
	struct task_struct *listener;
	struct ksrv_registry conns;
	struct ksrv_threads threads;
} srv;

/* Write all of @len bytes; a short write is resumed, not lost. */
static int echo_sync_send_all(struct socket *sock, u8 *buf, size_t len)
{
	while (len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		int ret;

		ret = kernel_sendmsg(sock, &msg, &iov, 1, len);
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		buf += ret;
		len -= ret;
	}
	return 0;
}

static int echo_sync_conn_thread(void *data)
{
	struct echo_sync_conn *conn = data;

	for (;;) {
		struct msghdr msg = {};
		struct kvec iov = {
			.iov_base = conn->buf,
			.iov_len = ECHO_SYNC_BUFSIZE,
		};
		int ret;

		ret = kernel_recvmsg(conn->sock, &msg, &iov, 1,
				     ECHO_SYNC_BUFSIZE, 0);
		if (ret <= 0)
			break;
		if (echo_sync_send_all(conn->sock, conn->buf, ret))
			break;
	}

	/* Exit shuts registered sockets down; unregister before release. */
	ksrv_registry_remove(&srv.conns, &conn->node);
	sock_release(conn->sock);
	kfree(conn->buf);
	kfree(conn);
	ksrv_threads_exit(&srv.threads);
}

static void echo_sync_conn_start(struct socket *sock)
{
	static unsigned int next_id;
	struct echo_sync_conn *conn;
	struct task_struct *task;

	conn = kmalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		goto err_release;
	conn->sock = sock;
	conn->buf = kmalloc(ECHO_SYNC_BUFSIZE, GFP_KERNEL);
	if (!conn->buf)
		goto err_free;

	/* Registered before its thread runs, so exit finds the socket. */
	if (ksrv_registry_add(&srv.conns, &conn->node))
		goto err_free;

	task = ksrv_threads_spawn(&srv.threads, echo_sync_conn_thread,
				  conn, "echo_sync/%u", next_id++);
	if (IS_ERR(task)) {
		pr_warn_ratelimited("cannot start connection thread: %ld\n",
				    PTR_ERR(task));
		goto err_unregister;
	}
	wake_up_process(task);
	return;

err_unregister:
	ksrv_registry_remove(&srv.conns, &conn->node);
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
			    ret != -EINVAL)
				pr_warn_ratelimited("accept failed: %d\n", ret);
			/* Do not spin on an error that persists. */
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		echo_sync_conn_start(sock);
	}
	return 0;
}

static void echo_sync_conn_shutdown(struct list_head *node, void *arg)
{
	struct echo_sync_conn *conn =
		list_entry(node, struct echo_sync_conn, node);

	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
}

static int __init echo_sync_init(void)
{
	struct ksrv_config cfg = {
		.name = KBUILD_MODNAME,
		.port = port,
		.backlog = backlog,
	};
	int ret;

	ret = ksrv_config_check(&cfg);
	if (ret)
		return ret;

	ksrv_registry_init(&srv.conns);
	ksrv_threads_init(&srv.threads);

	ret = ksrv_listen(&cfg, &srv.listen);
	if (ret)
		goto err_registry;

	srv.listener = kthread_run(echo_sync_listener_thread, NULL,
				   "echo_sync");
	if (IS_ERR(srv.listener)) {
		ret = PTR_ERR(srv.listener);
		pr_err("cannot start listener thread: %d\n", ret);
		goto err_sock;
	}

	pr_info("listening on port %d\n", port);
	return 0;

err_sock:
	sock_release(srv.listen);
err_registry:
	ksrv_registry_destroy(&srv.conns);
	return ret;
}

static void __exit echo_sync_exit(void)
{
	/* Wakes a listener blocked in accept on any kernel version. */
	kernel_sock_shutdown(srv.listen, SHUT_RDWR);
	kthread_stop(srv.listener);

	ksrv_registry_close(&srv.conns);
	ksrv_registry_for_each(&srv.conns, echo_sync_conn_shutdown,
			       NULL);
	ksrv_threads_wait(&srv.threads);

	sock_release(srv.listen);
	ksrv_registry_destroy(&srv.conns);
	pr_info("unloaded\n");
}

module_init(echo_sync_init);
module_exit(echo_sync_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("In-kernel TCP echo server, one thread per connection");
