// SPDX-License-Identifier: GPL-2.0
/*
 * echo_async: TCP and UDP echo (RFC 862) without a thread of its own.
 *
 * This file is the module: its switches, its counters, and UDP echo. TCP
 * echo is echo_async_tcp.c; ksrv runs both, on one workqueue.
 *
 * UDP: each datagram is sent back to its sender, unchanged, unless its
 * source is one an answer must not go to (ksrv_udp_check_source(): a
 * privileged port, NFS, this server's own port, a broadcast, multicast or
 * unspecified address), so that two echo servers cannot bounce a spoofed
 * datagram between them and the server is no reflector aimed at another
 * service. A reply is never larger than its request. A reply the socket
 * has no room for is dropped and counted, never queued.
 */
#include <linux/module.h>

#include "echo_async.h"

/* An idle connection costs its socket and this module about 5 KB. */
KSRV_MODULE_PARAMS(8081, 65536);

bool echo_async_zerocopy = true;
module_param_named(zerocopy, echo_async_zerocopy, bool, 0444);
MODULE_PARM_DESC(zerocopy,
		 "Echo TCP data by reference to the received pages, not by copying it (default Y)");

bool echo_async_softirq = true;
module_param_named(softirq, echo_async_softirq, bool, 0444);
MODULE_PARM_DESC(softirq,
		 "Echo TCP data from softirq as it arrives, when the socket is free (default Y)");

static bool unbound;
module_param(unbound, bool, 0444);
MODULE_PARM_DESC(unbound,
		 "Run connections on an unbound workqueue instead of per-CPU (default N)");

KSRV_MODULE_PARAM_UDP();

static const char * const echo_async_stat_names[] = {
	[ECHO_ASYNC_BYTES_IN] = "bytes_in",
	[ECHO_ASYNC_BYTES_OUT] = "bytes_out",
	[ECHO_ASYNC_SEND_WAIT_ACK] = "send_wait_ack",
	[ECHO_ASYNC_SEND_WAIT_PROBE] = "send_wait_probe",
	[ECHO_ASYNC_SEND_WAIT_NOMEM] = "send_wait_nomem",
	[ECHO_ASYNC_SOFTIRQ_TO_TASK] = "softirq_to_task",
	[ECHO_ASYNC_HELD] = "held",
	[ECHO_ASYNC_DGRAMS_OUT] = "dgrams_out",
	[ECHO_ASYNC_DGRAMS_DROPPED] = "dgrams_dropped",
	[ECHO_ASYNC_DGRAMS_BAD_PORT] = "dgrams_bad_port",
	[ECHO_ASYNC_DGRAMS_BAD_ADDR] = "dgrams_bad_addr",
};

/* Bytes count TCP's stream or UDP's payloads; the rest is one's alone. */
static const enum ksrv_show echo_async_stat_show[] = {
	[ECHO_ASYNC_BYTES_IN] = KSRV_SHOW_ALL,
	[ECHO_ASYNC_BYTES_OUT] = KSRV_SHOW_ALL,
	[ECHO_ASYNC_SEND_WAIT_ACK] = KSRV_SHOW_TCP,
	[ECHO_ASYNC_SEND_WAIT_PROBE] = KSRV_SHOW_TCP,
	[ECHO_ASYNC_SEND_WAIT_NOMEM] = KSRV_SHOW_TCP,
	[ECHO_ASYNC_SOFTIRQ_TO_TASK] = KSRV_SHOW_TCP,
	[ECHO_ASYNC_HELD] = KSRV_SHOW_TCP,
	[ECHO_ASYNC_DGRAMS_OUT] = KSRV_SHOW_UDP,
	[ECHO_ASYNC_DGRAMS_DROPPED] = KSRV_SHOW_UDP,
	[ECHO_ASYNC_DGRAMS_BAD_PORT] = KSRV_SHOW_UDP,
	[ECHO_ASYNC_DGRAMS_BAD_ADDR] = KSRV_SHOW_UDP,
};

static void echo_async_datagram(struct ksrv_service *srv,
				struct ksrv_dgram *dg)
{
	ksrv_count(srv, ECHO_ASYNC_BYTES_IN, dg->len);
	switch (ksrv_udp_check_source(&dg->from, ksrv_service_port(srv))) {
	case KSRV_UDP_SOURCE_OK:
		break;
	case KSRV_UDP_SOURCE_BAD_PORT:
		ksrv_count(srv, ECHO_ASYNC_DGRAMS_BAD_PORT, 1);
		return;
	case KSRV_UDP_SOURCE_BAD_ADDR:
		ksrv_count(srv, ECHO_ASYNC_DGRAMS_BAD_ADDR, 1);
		return;
	}
	if (ksrv_udp_reply(srv, dg, dg->data, dg->len)) {
		ksrv_count(srv, ECHO_ASYNC_DGRAMS_DROPPED, 1);
		return;
	}
	ksrv_count(srv, ECHO_ASYNC_DGRAMS_OUT, 1);
	ksrv_count(srv, ECHO_ASYNC_BYTES_OUT, dg->len);
}

static const struct ksrv_ops echo_async_ops = {
	.name = KBUILD_MODNAME,
	.conn_size = sizeof(struct echo_async_conn),
	.arm = echo_async_arm,
	.ready = echo_async_ready,
	.disarm = echo_async_disarm,
	.release = echo_async_release,
	.datagram = echo_async_datagram,
	.stat_names = echo_async_stat_names,
	.stat_show = echo_async_stat_show,
	.nr_stats = ECHO_ASYNC_NR_STATS,
};

module_ksrv_service(echo_async_ops, ksrv_param_udp, unbound);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("In-kernel TCP and UDP echo server on a workqueue executor and socket reactor");
