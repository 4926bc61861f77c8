/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of echo_async: the module (echo_async_main.c: its switches,
 * counters and UDP echo) and TCP echo (echo_async_tcp.c), which ksrv runs
 * as a task service.
 */
#ifndef ECHO_ASYNC_H
#define ECHO_ASYNC_H

#include "ksrv.h"

/*
 * echo_async's own counters, after ksrv's in /proc/net/echo_async: bytes
 * on every listener (TCP's stream, UDP's payloads), then TCP's (short
 * sends by what they wait for, softirq's hand-overs to the task, data held
 * out of a receive queue under memory pressure), then UDP's.
 */
enum echo_async_stat {
	ECHO_ASYNC_BYTES_IN,
	ECHO_ASYNC_BYTES_OUT,
	ECHO_ASYNC_SEND_WAIT_ACK,
	ECHO_ASYNC_SEND_WAIT_PROBE,
	ECHO_ASYNC_SEND_WAIT_NOMEM,
	ECHO_ASYNC_SOFTIRQ_TO_TASK,
	ECHO_ASYNC_HELD,
	ECHO_ASYNC_DGRAMS_OUT,
	ECHO_ASYNC_DGRAMS_DROPPED,
	ECHO_ASYNC_DGRAMS_BAD_PORT,
	ECHO_ASYNC_DGRAMS_BAD_ADDR,
	ECHO_ASYNC_NR_STATS,
};

/**
 * struct echo_async_conn - one client connection
 * @base: what ksrv knows of it: its socket, task and watch
 * @data_ready: the socket's own sk_data_ready, while ours is installed
 * @held: under TCP memory pressure, the skb a send came back short on,
 *	taken out of the receive queue and still charged to the socket;
 *	the rest of it is echoed before anything queued (socket lock)
 *
 * Whether the send side is full (nothing more is read until the watch
 * reports room) is the watch's interest: EPOLLOUT rather than EPOLLIN.
 * At 256 bytes, a connection fills its slab object.
 */
struct echo_async_conn {
	struct ksrv_conn base;
	void (*data_ready)(struct sock *sk);
	struct sk_buff *held;
};

extern bool echo_async_zerocopy;
extern bool echo_async_softirq;

void echo_async_arm(struct ksrv_conn *base);
int echo_async_ready(struct ksrv_conn *base);
void echo_async_disarm(struct ksrv_conn *base);
void echo_async_release(struct ksrv_conn *base);

#endif /* ECHO_ASYNC_H */
