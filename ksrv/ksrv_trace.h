/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksrv's trace events, in tracefs under events/ksrv/: a connection
 * accepted, refused over the limit, closed (and why), accept errors, and a
 * send that TCP took only part of (and what the socket was waiting for).
 * Each names its service, or the peer, or both.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksrv

#if !defined(KSRV_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KSRV_TRACE_H

#include <linux/tracepoint.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "ksrv.h"

TRACE_DEFINE_ENUM(KSRV_END_PEER);
TRACE_DEFINE_ENUM(KSRV_END_ERROR);
TRACE_DEFINE_ENUM(KSRV_END_IDLE);
TRACE_DEFINE_ENUM(KSRV_END_STOP);

TRACE_DEFINE_ENUM(KSRV_TCP_WAIT_ACK);
TRACE_DEFINE_ENUM(KSRV_TCP_WAIT_PROBE);
TRACE_DEFINE_ENUM(KSRV_TCP_WAIT_NOMEM);

#define show_ksrv_tcp_wait(w)					\
	__print_symbolic(w,					\
			 { KSRV_TCP_WAIT_ACK, "ack" },		\
			 { KSRV_TCP_WAIT_PROBE, "probe" },	\
			 { KSRV_TCP_WAIT_NOMEM, "nomem" })

#define show_ksrv_end(why)					\
	__print_symbolic(why,					\
			 { KSRV_END_PEER, "peer" },		\
			 { KSRV_END_ERROR, "error" },		\
			 { KSRV_END_IDLE, "idle" },		\
			 { KSRV_END_STOP, "stop" })

/*
 * The peer as an IPv6 address, IPv4 peers mapped, so that one format
 * prints both; read from the socket, as the tcp events do, not asked for.
 */
#define KSRV_TP_PEER_FIELDS					\
	__array(__u8, daddr, sizeof(struct in6_addr))		\
	__field(__u16, dport)

#define KSRV_TP_PEER_ASSIGN(sk)						\
	do {								\
		struct in6_addr *_a = (struct in6_addr *)__entry->daddr; \
									\
		if ((sk)->sk_family == AF_INET6)			\
			*_a = (sk)->sk_v6_daddr;			\
		else							\
			ipv6_addr_set_v4mapped(inet_sk(sk)->inet_daddr, _a); \
		__entry->dport = ntohs(inet_sk(sk)->inet_dport);	\
	} while (0)

DECLARE_EVENT_CLASS(ksrv_conn_class,
	TP_PROTO(const char *service, const struct sock *sk),
	TP_ARGS(service, sk),
	TP_STRUCT__entry(
		__string(service, service)
		KSRV_TP_PEER_FIELDS
	),
	TP_fast_assign(
		ksrv_compat_assign_str(service, service);
		KSRV_TP_PEER_ASSIGN(sk);
	),
	TP_printk("service=%s peer=[%pI6c]:%u", __get_str(service),
		  __entry->daddr, __entry->dport)
);

DEFINE_EVENT(ksrv_conn_class, ksrv_accept,
	TP_PROTO(const char *service, const struct sock *sk),
	TP_ARGS(service, sk));

/* Refused at once: over the listener's max_conns, or its owner's budget. */
TRACE_EVENT(ksrv_refuse,
	TP_PROTO(const char *service, const struct sock *sk, bool budget),
	TP_ARGS(service, sk, budget),
	TP_STRUCT__entry(
		__string(service, service)
		KSRV_TP_PEER_FIELDS
		__field(bool, budget)
	),
	TP_fast_assign(
		ksrv_compat_assign_str(service, service);
		KSRV_TP_PEER_ASSIGN(sk);
		__entry->budget = budget;
	),
	TP_printk("service=%s peer=[%pI6c]:%u limit=%s", __get_str(service),
		  __entry->daddr, __entry->dport,
		  __entry->budget ? "budget" : "max_conns")
);

TRACE_EVENT(ksrv_close,
	TP_PROTO(const char *service, const struct sock *sk, int why, int err),
	TP_ARGS(service, sk, why, err),
	TP_STRUCT__entry(
		__string(service, service)
		KSRV_TP_PEER_FIELDS
		__field(int, why)
		__field(int, err)
	),
	TP_fast_assign(
		ksrv_compat_assign_str(service, service);
		KSRV_TP_PEER_ASSIGN(sk);
		__entry->why = why;
		__entry->err = err;
	),
	TP_printk("service=%s peer=[%pI6c]:%u reason=%s err=%d",
		  __get_str(service), __entry->daddr, __entry->dport,
		  show_ksrv_end(__entry->why), __entry->err)
);

TRACE_EVENT(ksrv_accept_error,
	TP_PROTO(const char *service, int err),
	TP_ARGS(service, err),
	TP_STRUCT__entry(
		__string(service, service)
		__field(int, err)
	),
	TP_fast_assign(
		ksrv_compat_assign_str(service, service);
		__entry->err = err;
	),
	TP_printk("service=%s err=%d", __get_str(service), __entry->err)
);

/*
 * A send came back short. What the socket holds says what will make room:
 * an ACK of data in flight, TCP's probe of the peer's window for data that
 * waits unsent, or, with both queues empty, nothing but time. "memory"
 * says the send buffer had room, so TCP's memory accounting or the
 * allocator refused, not the buffer.
 */
TRACE_EVENT(ksrv_tcp_send_blocked,
	TP_PROTO(const struct sock *sk, int wait, bool bh),
	TP_ARGS(sk, wait, bh),
	TP_STRUCT__entry(
		KSRV_TP_PEER_FIELDS
		__field(int, wait)
		__field(bool, bh)
		__field(bool, memory)
		__field(u32, packets_out)
		__field(u32, notsent)
		__field(u32, snd_wnd)
		__field(int, wmem_queued)
		__field(int, sndbuf)
	),
	TP_fast_assign(
		const struct tcp_sock *tp = tcp_sk(sk);

		KSRV_TP_PEER_ASSIGN(sk);
		__entry->wait = wait;
		__entry->bh = bh;
		__entry->memory = sk_stream_memory_free(sk);
		__entry->packets_out = tp->packets_out;
		__entry->notsent = tp->write_seq - tp->snd_nxt;
		__entry->snd_wnd = tp->snd_wnd;
		__entry->wmem_queued = READ_ONCE(sk->sk_wmem_queued);
		__entry->sndbuf = READ_ONCE(sk->sk_sndbuf);
	),
	TP_printk("peer=[%pI6c]:%u wait=%s bh=%d memory=%d packets_out=%u notsent=%u snd_wnd=%u wmem_queued=%d sndbuf=%d",
		  __entry->daddr, __entry->dport,
		  show_ksrv_tcp_wait(__entry->wait), __entry->bh,
		  __entry->memory, __entry->packets_out, __entry->notsent,
		  __entry->snd_wnd, __entry->wmem_queued, __entry->sndbuf)
);

#endif /* KSRV_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksrv_trace
#include <trace/define_trace.h>
