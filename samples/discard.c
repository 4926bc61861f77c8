// SPDX-License-Identifier: GPL-2.0
/*
 * discard: the discard protocol (RFC 863) over TCP and UDP, written only
 * against ksrv.h: read everything, answer nothing, count the bytes.
 *
 * A sample of the smallest ksrv service. ksrv listens, accepts, limits,
 * closes idle connections, counts, traces and unloads; this file is the
 * protocol.
 */
#include <linux/module.h>
#include <linux/socket.h>
#include <linux/uio.h>

#include "ksrv.h"

/* Bytes one run of a connection's task drops before others run. */
#define DISCARD_RUN_BUDGET	(64 * 1024)

/*
 * With MSG_TRUNC, TCP frees what it reads and copies nothing (tcp(7)); a
 * socket whose recvmsg a BPF sockmap replaced copies anyway, so there is
 * somewhere to copy to. Nothing reads it.
 */
static char discard_sink[DISCARD_RUN_BUDGET];

KSRV_MODULE_PARAMS(8009, 65536);

KSRV_MODULE_PARAM_UDP();

enum { DISCARD_BYTES_IN, DISCARD_NR_STATS };

static const char * const discard_stat_names[] = {
	[DISCARD_BYTES_IN] = "bytes_in",
};

/* A connection's task: drop what has arrived, copying none of it. */
static int discard_ready(struct ksrv_conn *conn)
{
	struct kvec iov = { .iov_base = discard_sink,
			    .iov_len = DISCARD_RUN_BUDGET };
	struct msghdr msg = {};
	int ret;

	ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, DISCARD_RUN_BUDGET,
			     MSG_DONTWAIT | MSG_TRUNC);
	if (ret == -EAGAIN)
		return KSRV_WAIT;
	if (ret <= 0)
		return ret ?: KSRV_DONE;
	ksrv_conn_touch(conn);
	ksrv_count(conn->srv, DISCARD_BYTES_IN, ret);
	return KSRV_AGAIN;
}

static void discard_datagram(struct ksrv_service *srv, struct ksrv_dgram *dg)
{
	ksrv_count(srv, DISCARD_BYTES_IN, dg->len);
}

static const struct ksrv_ops discard_ops = {
	.name = KBUILD_MODNAME,
	.conn_size = sizeof(struct ksrv_conn),
	.ready = discard_ready,
	.datagram = discard_datagram,
	.stat_names = discard_stat_names,
	.nr_stats = DISCARD_NR_STATS,
};

module_ksrv_service(discard_ops, ksrv_param_udp, false);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("Discard (RFC 863) over TCP and UDP, a ksrv sample");
