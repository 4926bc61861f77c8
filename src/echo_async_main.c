// SPDX-License-Identifier: GPL-2.0
/*
 * echo_async: TCP and UDP echo (RFC 862) without a thread of its own.
 *
 * This file is the module: its parameters, and init and exit, which set up
 * and take down in reverse order the executor every task runs on, the
 * registry of TCP connections, the statistics, TCP echo
 * (echo_async_tcp.c) and UDP echo (echo_async_udp.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "echo_async.h"

static char *addr;
module_param(addr, charp, 0444);
MODULE_PARM_DESC(addr,
		 "IPv4 or IPv6 address to listen on (default: all, IPv6 and IPv4)");

static int port = 8081;
module_param(port, int, 0444);
MODULE_PARM_DESC(port, "TCP and UDP port to serve, 1..65535 (default 8081)");

static int backlog = 128;
module_param(backlog, int, 0444);
MODULE_PARM_DESC(backlog, "listen() backlog, 1..65535 (default 128)");

static bool zerocopy = true;
module_param(zerocopy, bool, 0444);
MODULE_PARM_DESC(zerocopy,
		 "Echo TCP data by reference to the received pages, not by copying it (default Y)");

static bool softirq = true;
module_param(softirq, bool, 0444);
MODULE_PARM_DESC(softirq,
		 "Echo TCP data from softirq as it arrives, when the socket is free (default Y)");

/* An idle connection costs its socket and this module about 5 KB. */
static int max_conns = 65536;
module_param(max_conns, int, 0444);
MODULE_PARM_DESC(max_conns,
		 "Connections served at once; more are closed at once, 1..1048576 (default 65536)");

static int idle_timeout;
module_param(idle_timeout, int, 0444);
MODULE_PARM_DESC(idle_timeout,
		 "Seconds without data before a connection is closed, 0 (off)..604800 (default 0)");

static bool unbound;
module_param(unbound, bool, 0444);
MODULE_PARM_DESC(unbound,
		 "Run connections on an unbound workqueue instead of per-CPU (default N)");

static bool udp = true;
module_param(udp, bool, 0444);
MODULE_PARM_DESC(udp,
		 "Also serve UDP echo on the same address and port (default Y)");

struct echo_async echo_async;

static int __init echo_async_init(void)
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

	echo_async.zerocopy = zerocopy;
	echo_async.softirq = softirq;
	ksrv_registry_init(&echo_async.conns, max_conns);
	ret = ksrv_stats_init(&echo_async.stats, KBUILD_MODNAME,
			      &echo_async.conns);
	if (ret)
		goto err_registry;
	ret = ksrv_executor_init(&echo_async.executor, KBUILD_MODNAME,
				 unbound);
	if (ret) {
		pr_err("cannot create workqueue: %d\n", ret);
		goto err_stats;
	}

	ret = echo_async_tcp_start(&cfg);
	if (ret)
		goto err_executor;
	if (udp) {
		ret = echo_async_udp_start(&cfg);
		if (ret)
			goto err_tcp;
	}
	return 0;

err_tcp:
	echo_async_tcp_stop();
err_executor:
	ksrv_executor_destroy(&echo_async.executor);
err_stats:
	ksrv_stats_destroy(&echo_async.stats);
err_registry:
	ksrv_registry_destroy(&echo_async.conns);
	return ret;
}

static void __exit echo_async_exit(void)
{
	if (udp)
		echo_async_udp_stop();
	echo_async_tcp_stop();
	/* Waits for connections that were closing themselves meanwhile. */
	ksrv_executor_destroy(&echo_async.executor);
	ksrv_stats_destroy(&echo_async.stats);
	ksrv_registry_destroy(&echo_async.conns);
	pr_info("unloaded\n");
}

module_init(echo_async_init);
module_exit(echo_async_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("In-kernel TCP and UDP echo server on a workqueue executor and socket reactor");
