// SPDX-License-Identifier: GPL-2.0
/*
 * A service's UDP socket: one socket, one task, one watch. Readiness of the
 * socket queues the task on the service's executor, and the task drains
 * the socket without blocking, a budget of datagrams per run, handing each
 * to &ksrv_ops.datagram. UDP has no backpressure: a reply the socket has no
 * room for is dropped, never queued.
 *
 * A service that answers checks the source first (ksrv_udp_check_source()),
 * as OpenBSD's inetd does for its UDP services (dg_badinput()): no answer
 * to a privileged or NFS port, nor to an unspecified, broadcast or
 * multicast address, nor to its own port. That is what keeps two such
 * servers from bouncing one spoofed datagram between them for ever, and
 * an open server from being a reflector aimed at some other service.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/ipv6.h>

#include "ksrv_core.h"

/* Datagrams one run takes before it lets others run. */
#define KSRV_UDP_RUN_BUDGET	64
/* The largest UDP payload (over IPv6; over IPv4 it is 20 bytes less). */
#define KSRV_UDP_MAX		65527
/* NFS's port, which dg_badinput() also refuses to answer. */
#define KSRV_UDP_NFS_PORT	2049

static bool ksrv_udp_bad_v4(__be32 addr)
{
	return ipv4_is_zeronet(addr) || ipv4_is_lbcast(addr) ||
	       ipv4_is_multicast(addr);
}

/**
 * ksrv_udp_check_source() - may a datagram from @from get an answer?
 * @from: the source of a datagram, AF_INET or AF_INET6
 * @own_port: the port the service serves
 *
 * A subnet's directed broadcast address is not recognised: that would
 * take a route lookup, and a router does not forward such datagrams to a
 * host by default.
 *
 * Return: KSRV_UDP_SOURCE_OK, or why not.
 */
enum ksrv_udp_source ksrv_udp_check_source(const struct sockaddr_storage *from,
					   int own_port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)from;
	bool bad_addr;
	int port;

	if (from->ss_family == AF_INET) {
		port = ntohs(sin->sin_port);
		bad_addr = ksrv_udp_bad_v4(sin->sin_addr.s_addr);
	} else if (from->ss_family == AF_INET6) {
		port = ntohs(sin6->sin6_port);
		if (ipv6_addr_v4mapped(&sin6->sin6_addr))
			bad_addr = ksrv_udp_bad_v4(sin6->sin6_addr.s6_addr32[3]);
		else
			bad_addr = ipv6_addr_any(&sin6->sin6_addr) ||
				   ipv6_addr_is_multicast(&sin6->sin6_addr);
	} else {
		return KSRV_UDP_SOURCE_BAD_ADDR;
	}
	if (port < 1024 || port == KSRV_UDP_NFS_PORT || port == own_port)
		return KSRV_UDP_SOURCE_BAD_PORT;
	return bad_addr ? KSRV_UDP_SOURCE_BAD_ADDR : KSRV_UDP_SOURCE_OK;
}
EXPORT_SYMBOL_GPL(ksrv_udp_check_source);

/**
 * ksrv_udp_reply() - send a datagram back to where @dg came from
 * @srv: the service, from within its &ksrv_ops.datagram
 * @dg: the datagram answered
 * @data: the answer
 * @len: its length
 *
 * Never blocks.
 *
 * Return: 0 if the whole answer left, else a negative errno (-EAGAIN: no
 * room in the socket's send buffer); the answer is then dropped.
 */
int ksrv_udp_reply(struct ksrv_service *srv, const struct ksrv_dgram *dg,
		   const void *data, size_t len)
{
	struct msghdr msg = {
		.msg_name = (void *)&dg->from,
		.msg_namelen = dg->fromlen,
		.msg_flags = MSG_DONTWAIT,
	};
	struct kvec iov = { .iov_base = (void *)data, .iov_len = len };
	int ret;

	ret = kernel_sendmsg(srv->udp.sock, &msg, &iov, 1, len);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EMSGSIZE;
}
EXPORT_SYMBOL_GPL(ksrv_udp_reply);

/* Return: the datagram's length, or a negative errno. */
static int ksrv_udp_take_one(struct ksrv_service *srv)
{
	struct ksrv_dgram dg = { .data = srv->udp.buf };
	struct msghdr msg = { .msg_name = &dg.from,
			      .msg_namelen = sizeof(dg.from) };
	struct kvec iov = { .iov_base = dg.data, .iov_len = KSRV_UDP_MAX };
	int len;

	/* MSG_TRUNC: the real length, so that a truncation is seen. */
	len = kernel_recvmsg(srv->udp.sock, &msg, &iov, 1, KSRV_UDP_MAX,
			     MSG_DONTWAIT | MSG_TRUNC);
	if (len < 0)
		return len;
	ksrv_stats_add(&srv->stats, KSRV_STAT_DGRAMS_IN, 1);
	/* Larger than any UDP payload: an IPv6 jumbogram. */
	if ((msg.msg_flags & MSG_TRUNC) || len > KSRV_UDP_MAX) {
		ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
		return len;
	}
	dg.fromlen = msg.msg_namelen;
	dg.len = len;
	srv->ops->datagram(srv, &dg);
	return len;
}

static void ksrv_udp_run(struct work_struct *work)
{
	struct ksrv_service *srv =
		container_of(ksrv_task_of(work), struct ksrv_service, udp.task);
	int budget = KSRV_UDP_RUN_BUDGET;

	while (budget--) {
		int ret = ksrv_udp_take_one(srv);

		if (ret == -EAGAIN)
			return;	/* drained; the watch wakes us for more */
		if (ret < 0)
			ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
	}
	/* Budget spent: requeue behind the TCP connections. */
	ksrv_task_wake(&srv->udp.task);
}

/**
 * ksrv_udp_start() - bind the service's UDP socket and start draining it
 * @srv: the service, whose executor exists
 *
 * Return: 0, or a negative errno after one error line.
 */
int ksrv_udp_start(struct ksrv_service *srv)
{
	int ret;

	/* 64 KiB a listener: charged to whoever added it over netlink. */
	srv->udp.buf = kvmalloc(KSRV_UDP_MAX, ksrv_config_gfp(&srv->cfg));
	if (!srv->udp.buf)
		return -ENOMEM;
	ret = ksrv_bind_udp(&srv->cfg, &srv->udp.sock);
	if (ret) {
		kvfree(srv->udp.buf);
		return ret;
	}
	ksrv_task_init(&srv->udp.task, &srv->executor, ksrv_udp_run);
	ksrv_watch_init(&srv->udp.watch, srv->udp.sock, &srv->udp.task,
			EPOLLIN);
	ksrv_watch_arm(&srv->udp.watch, true);
	return 0;
}

/**
 * ksrv_udp_stop() - stop serving UDP and free what it used
 * @srv: the service
 *
 * Once this returns, the task is not running and never runs again.
 */
void ksrv_udp_stop(struct ksrv_service *srv)
{
	ksrv_watch_disarm(&srv->udp.watch);
	ksrv_task_cancel_sync(&srv->udp.task);
	sock_release(srv->udp.sock);
	kvfree(srv->udp.buf);
}
