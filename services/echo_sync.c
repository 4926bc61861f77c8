// SPDX-License-Identifier: GPL-2.0
/*
 * echo_sync: TCP echo (RFC 862) with one kernel thread per connection.
 *
 * The tutorial's synchronous server: a thread reads what the peer sent
 * and writes it back, blocking in both calls. ksrv gives it the rest: the
 * listener, the thread, the limit, and an unload that shuts every socket
 * down (which wakes each thread out of recvmsg or sendmsg) and waits for
 * every thread to have left module code.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "ksrv.h"

#define ECHO_SYNC_BUFSIZE 4096

/* A thread each: a few MB per thousand connections. */
KSRV_MODULE_PARAMS(8080, 1024);

enum { ECHO_SYNC_BYTES_IN, ECHO_SYNC_BYTES_OUT, ECHO_SYNC_NR_STATS };

static const char * const echo_sync_stat_names[] = {
	[ECHO_SYNC_BYTES_IN] = "bytes_in",
	[ECHO_SYNC_BYTES_OUT] = "bytes_out",
};

/* Write all of @len bytes; a short write is resumed, not lost. */
static int echo_sync_send_all(struct ksrv_conn *conn, u8 *buf, size_t len)
{
	while (len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		int ret;

		ret = kernel_sendmsg(conn->sock, &msg, &iov, 1, len);
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		ksrv_conn_touch(conn);
		ksrv_count(conn->srv, ECHO_SYNC_BYTES_OUT, ret);
		buf += ret;
		len -= ret;
	}
	return 0;
}

/* The connection's thread: its buffer lives as long as it does. */
static int echo_sync_serve(struct ksrv_conn *conn)
{
	/* Charged to the owner's cgroup, where the thread runs in it. */
	u8 *buf = kmalloc(ECHO_SYNC_BUFSIZE, GFP_KERNEL_ACCOUNT);
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct msghdr msg = {};
		struct kvec iov = { .iov_base = buf,
				    .iov_len = ECHO_SYNC_BUFSIZE };

		ret = kernel_recvmsg(conn->sock, &msg, &iov, 1,
				     ECHO_SYNC_BUFSIZE, 0);
		if (ret <= 0)
			break;
		ksrv_conn_touch(conn);
		ksrv_count(conn->srv, ECHO_SYNC_BYTES_IN, ret);
		ret = echo_sync_send_all(conn, buf, ret);
		if (ret)
			break;
	}
	kfree(buf);
	return ret;
}

static const struct ksrv_ops echo_sync_ops = {
	.name = KBUILD_MODNAME,
	.conn_size = sizeof(struct ksrv_conn),
	.serve = echo_sync_serve,
	.stat_names = echo_sync_stat_names,
	.nr_stats = ECHO_SYNC_NR_STATS,
};

module_ksrv_service(echo_sync_ops, false, false);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("In-kernel TCP echo server, one thread per connection");
