/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/ksrv.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_KSRV_H
#define _UAPI_LINUX_KSRV_H

#define KSRV_FAMILY_NAME	"ksrv"
#define KSRV_FAMILY_VERSION	1

#define KSRV_SERVICE_NAME_LEN	16
#define KSRV_ADDR_LEN		46

/**
 * enum ksrv_proto - The transport protocol of a listener.
 * @KSRV_PROTO_TCP: TCP; connections are accepted and counted.
 * @KSRV_PROTO_UDP: UDP; datagrams are answered one by one.
 */
enum ksrv_proto {
	KSRV_PROTO_TCP = 1,
	KSRV_PROTO_UDP,
};

enum {
	KSRV_A_LISTENER_ID = 1,
	KSRV_A_LISTENER_SERVICE,
	KSRV_A_LISTENER_PROTO,
	KSRV_A_LISTENER_ADDR,
	KSRV_A_LISTENER_PORT,
	KSRV_A_LISTENER_BACKLOG,
	KSRV_A_LISTENER_MAX_CONNS,
	KSRV_A_LISTENER_IDLE_TIMEOUT,
	KSRV_A_LISTENER_CONNS,
	KSRV_A_LISTENER_STAT,

	__KSRV_A_LISTENER_MAX,
	KSRV_A_LISTENER_MAX = (__KSRV_A_LISTENER_MAX - 1)
};

enum {
	KSRV_A_STAT_NAME = 1,
	KSRV_A_STAT_VALUE,
	KSRV_A_STAT_PAD,

	__KSRV_A_STAT_MAX,
	KSRV_A_STAT_MAX = (__KSRV_A_STAT_MAX - 1)
};

enum {
	KSRV_A_CONN_LISTENER_ID = 1,
	KSRV_A_CONN_PEER,
	KSRV_A_CONN_BYTES_IN,
	KSRV_A_CONN_BYTES_OUT,
	KSRV_A_CONN_AGE_MS,
	KSRV_A_CONN_PAD,

	__KSRV_A_CONN_MAX,
	KSRV_A_CONN_MAX = (__KSRV_A_CONN_MAX - 1)
};

enum {
	KSRV_CMD_LISTENER_ADD = 1,
	KSRV_CMD_LISTENER_DEL,
	KSRV_CMD_LISTENER_GET,
	KSRV_CMD_CONN_GET,

	__KSRV_CMD_MAX,
	KSRV_CMD_MAX = (__KSRV_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_KSRV_H */
