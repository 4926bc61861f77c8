/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksrv's trace events, in tracefs under events/ksrv/: a connection
 * accepted, refused over the limit, closed (and why), and accept errors.
 * Each names its service, and the peer where there is one.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksrv

#if !defined(KSRV_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KSRV_TRACE_H

#include <linux/tracepoint.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "ksrv.h"

TRACE_DEFINE_ENUM(KSRV_END_PEER);
TRACE_DEFINE_ENUM(KSRV_END_ERROR);
TRACE_DEFINE_ENUM(KSRV_END_IDLE);
TRACE_DEFINE_ENUM(KSRV_END_STOP);

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

DEFINE_EVENT(ksrv_conn_class, ksrv_refuse,
	TP_PROTO(const char *service, const struct sock *sk),
	TP_ARGS(service, sk));

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

#endif /* KSRV_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksrv_trace
#include <trace/define_trace.h>
