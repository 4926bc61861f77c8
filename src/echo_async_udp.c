// SPDX-License-Identifier: GPL-2.0
/*
 * echo_async's UDP echo (RFC 862): each datagram is sent back to its
 * sender, unchanged.
 *
 * One socket, one task, one watch: readiness of the socket queues the task
 * on the module's executor, and the task drains the socket without
 * blocking, a budget of datagrams per run. UDP has no backpressure, so a
 * reply the socket has no room for is dropped and counted, never queued.
 *
 * Amplification and loops: a reply is never larger than its request (it
 * is the request), and a datagram from port 0, or from this server's own
 * port on an address of this host, is not answered, so that two echo
 * servers cannot keep a datagram bouncing between them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/addrconf.h>
#include <net/ipv6.h>
#include <net/route.h>

#include "echo_async.h"

/* Datagrams one run echoes before it lets others run. */
#define ECHO_UDP_RUN_BUDGET	64
/* The largest UDP payload (over IPv6; over IPv4 it is 20 bytes less). */
#define ECHO_UDP_MAX		65527

static struct {
	struct socket *sock;
	struct ksrv_task task;
	struct ksrv_watch watch;
	u8 *buf;
	__be16 port;
} udp;

static bool echo_udp_local_v4(__be32 addr)
{
	return inet_addr_type(&init_net, addr) == RTN_LOCAL;
}

/* From port 0, or from this server itself: answering could start a loop. */
static bool echo_udp_is_loop(const struct sockaddr_storage *from)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)from;

	if (from->ss_family == AF_INET)
		return !sin->sin_port ||
		       (sin->sin_port == udp.port &&
			echo_udp_local_v4(sin->sin_addr.s_addr));
	if (!sin6->sin6_port)
		return true;
	if (sin6->sin6_port != udp.port)
		return false;
	if (ipv6_addr_v4mapped(&sin6->sin6_addr))
		return echo_udp_local_v4(sin6->sin6_addr.s6_addr32[3]);
	return IS_ENABLED(CONFIG_IPV6) &&
	       ipv6_chk_addr(&init_net, &sin6->sin6_addr, NULL, 0);
}

/* Return: the datagram's length, or a negative errno. */
static int echo_udp_echo_one(void)
{
	struct sockaddr_storage from;
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from) };
	struct kvec iov = { .iov_base = udp.buf, .iov_len = ECHO_UDP_MAX };
	int len, ret;

	/* MSG_TRUNC: the real length, so that a truncation is seen. */
	len = kernel_recvmsg(udp.sock, &msg, &iov, 1, ECHO_UDP_MAX,
			     MSG_DONTWAIT | MSG_TRUNC);
	if (len < 0)
		return len;
	ksrv_stats_add(&echo_async.stats, KSRV_STAT_DGRAMS_IN, 1);
	if ((msg.msg_flags & MSG_TRUNC) || len > ECHO_UDP_MAX ||
	    echo_udp_is_loop(&from)) {
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_DGRAMS_DROPPED, 1);
		return len;
	}

	msg.msg_flags = MSG_DONTWAIT;
	msg.msg_control = NULL;
	msg.msg_controllen = 0;
	iov.iov_len = len;
	ret = kernel_sendmsg(udp.sock, &msg, &iov, 1, len);
	if (ret == len)
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_DGRAMS_OUT, 1);
	else
		ksrv_stats_add(&echo_async.stats, KSRV_STAT_DGRAMS_DROPPED, 1);
	return len;
}

static void echo_udp_run(struct work_struct *work)
{
	int budget = ECHO_UDP_RUN_BUDGET;

	while (budget--) {
		int ret = echo_udp_echo_one();

		if (ret == -EAGAIN)
			return;	/* drained; the watch wakes us for more */
		if (ret < 0)
			ksrv_stats_add(&echo_async.stats, KSRV_STAT_ERRORS, 1);
	}
	/* Budget spent: requeue behind the TCP connections. */
	ksrv_task_wake(&udp.task);
}

/**
 * echo_async_udp_start() - serve UDP echo where @cfg says
 * @cfg: the checked configuration TCP echo uses
 *
 * Return: 0, or a negative errno after one error line.
 */
int echo_async_udp_start(const struct ksrv_config *cfg)
{
	int ret;

	udp.port = htons(cfg->port);
	udp.buf = kvmalloc(ECHO_UDP_MAX, GFP_KERNEL);
	if (!udp.buf) {
		pr_err("cannot allocate the UDP buffer\n");
		return -ENOMEM;
	}
	ret = ksrv_bind_udp(cfg, &udp.sock);
	if (ret) {
		kvfree(udp.buf);
		return ret;
	}
	ksrv_task_init(&udp.task, &echo_async.executor, echo_udp_run);
	ksrv_watch_init(&udp.watch, udp.sock, &udp.task, EPOLLIN);
	ksrv_watch_arm(&udp.watch);
	return 0;
}

/**
 * echo_async_udp_stop() - stop serving UDP and free what it used
 *
 * Once this returns, the task is not running and never runs again.
 */
void echo_async_udp_stop(void)
{
	ksrv_watch_disarm(&udp.watch);
	ksrv_task_cancel_sync(&udp.task);
	sock_release(udp.sock);
	kvfree(udp.buf);
}
