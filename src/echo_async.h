/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of echo_async: the module itself (echo_async_main.c:
 * parameters, init, exit), TCP echo (echo_async_tcp.c) and UDP echo
 * (echo_async_udp.c). Both protocols run as tasks on one executor and
 * count into one set of statistics.
 */
#ifndef ECHO_ASYNC_H
#define ECHO_ASYNC_H

#include "ksrv.h"

/**
 * struct echo_async - what the parts of echo_async share
 * @executor: runs every task of the module
 * @conns: the live TCP connections
 * @stats: the module's counters, in /proc/net/echo_async
 * @zerocopy: TCP echoes pages by reference, not by copying them
 * @softirq: TCP echoes from softirq when it can (run to completion)
 */
struct echo_async {
	struct ksrv_executor executor;
	struct ksrv_registry conns;
	struct ksrv_stats stats;
	bool zerocopy;
	bool softirq;
};

extern struct echo_async echo_async;

int echo_async_tcp_start(const struct ksrv_config *cfg);
void echo_async_tcp_stop(void);
int echo_async_udp_start(const struct ksrv_config *cfg);
void echo_async_udp_stop(void);

#endif /* ECHO_ASYNC_H */
