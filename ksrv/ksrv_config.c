// SPDX-License-Identifier: GPL-2.0
/*
 * Parameter checks and the listening socket, shared by every ksrv service
 * so that each reports bad input the same way.
 */
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/net.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <uapi/linux/ksrv.h>

#include "ksrv.h"

/**
 * ksrv_check_param() - check that a parameter is within its range
 * @name: the service's name, the prefix of the message
 * @param: the parameter's name
 * @val: its value
 * @min: the smallest value allowed
 * @max: the largest value allowed
 *
 * Every service's parameters are reported the same way: one error line
 * naming the parameter, its value and the range.
 *
 * Return: 0, or -EINVAL.
 */
int ksrv_check_param(const char *name, const char *param, int val, int min,
		     int max)
{
	if (val >= min && val <= max)
		return 0;
	pr_err("%s: invalid %s=%d, must be %d..%d\n", name, param, val, min,
	       max);
	return -EINVAL;
}
EXPORT_SYMBOL_GPL(ksrv_check_param);

/**
 * ksrv_config_check() - check a service's parameters
 * @cfg: the parameters
 *
 * Prints one error line naming the first bad parameter and its value.
 *
 * Return: 0, or -EINVAL.
 */
int ksrv_config_check(const struct ksrv_config *cfg)
{
	int ret;

	/* Longer than any address literal: it would be cut when copied. */
	if (cfg->addr && strlen(cfg->addr) >= KSRV_ADDR_LEN) {
		pr_err("%s: invalid addr=%.*s..., must be an IPv4 or IPv6 address\n",
		       cfg->name, KSRV_ADDR_LEN, cfg->addr);
		return -EINVAL;
	}
	ret = ksrv_check_param(cfg->name, "port", cfg->port, 1, 65535);
	if (ret)
		return ret;
	ret = ksrv_check_param(cfg->name, "backlog", cfg->backlog, 1, 65535);
	if (ret)
		return ret;
	ret = ksrv_check_param(cfg->name, "max_conns", cfg->max_conns, 1,
			       1048576);
	if (ret)
		return ret;
	return ksrv_check_param(cfg->name, "idle_timeout", cfg->idle_timeout,
				0, 604800);
}
EXPORT_SYMBOL_GPL(ksrv_config_check);

/**
 * ksrv_parse_addr() - the socket address @cfg asks for
 * @cfg: the parameters; addr and port are used
 * @ss: filled with the address and port
 *
 * No address means every address: the IPv6 wildcard, which also takes
 * IPv4 clients as mapped addresses. An address must be a whole IPv4 or
 * IPv6 literal: no name, no scope, no port, no trailing characters.
 *
 * Return: 0, or -EINVAL after one error line.
 */
int ksrv_parse_addr(const struct ksrv_config *cfg, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *addr = cfg->addr ? cfg->addr : "";
	const char *end;

	memset(ss, 0, sizeof(*ss));
	if (!*addr) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		return 0;
	}
	/* Both parsers stop at a ':' or '%'; the whole string must parse. */
	if (in4_pton(addr, -1, (u8 *)&sin->sin_addr.s_addr, -1, &end) &&
	    !*end) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->port);
		return 0;
	}
	if (in6_pton(addr, -1, sin6->sin6_addr.s6_addr, -1, &end) && !*end) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		return 0;
	}
	pr_err("%s: invalid addr=%s, must be an IPv4 or IPv6 address\n",
	       cfg->name, addr);
	return -EINVAL;
}
EXPORT_SYMBOL_GPL(ksrv_parse_addr);

/* The IPv4 wildcard, for the default address when IPv6 is not there. */
static void ksrv_any_ipv4(const struct ksrv_config *cfg,
			  struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(cfg->port);
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
}

/*
 * A kernel socket of @type for @ss's family, in @cfg->net; the name (TCP or
 * UDP) is for the messages. If the default address is asked for and IPv6
 * is not available (not built, or disabled at boot), an IPv4 socket, and
 * @ss the IPv4 wildcard. IPv6 sockets take IPv4 peers too, whatever
 * net.ipv6.bindv6only says.
 */
static int ksrv_socket_create(const struct ksrv_config *cfg, int type,
			      const char *proto, struct sockaddr_storage *ss,
			      struct socket **res)
{
	int ret;

	ret = sock_create_kern(cfg->net, ss->ss_family, type, 0, res);
	if (ret == -EAFNOSUPPORT && (!cfg->addr || !*cfg->addr)) {
		ksrv_any_ipv4(cfg, ss);
		ret = sock_create_kern(cfg->net, AF_INET, type, 0, res);
	}
	if (ret) {
		pr_err("%s: cannot create %s socket: %d\n", cfg->name, proto,
		       ret);
		return ret;
	}
	if (ss->ss_family == AF_INET6)
		(*res)->sk->sk_ipv6only = false;
	return 0;
}

/* Bind @sock to @ss; the name (TCP or UDP) is for the messages. */
static int ksrv_socket_bind(const struct ksrv_config *cfg, const char *proto,
			    struct socket *sock, struct sockaddr_storage *ss)
{
	int ret;

	ret = kernel_bind(sock, (struct sockaddr *)ss,
			  ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			  sizeof(struct sockaddr_in6));
	if (ret == -EADDRINUSE)
		pr_err("%s: %s port %d is already in use\n", cfg->name, proto,
		       cfg->port);
	else if (ret)
		pr_err("%s: cannot bind %s %pISpc: %d\n", cfg->name, proto, ss,
		       ret);
	return ret;
}

/*
 * A listener with a socket per CPU makes them one SO_REUSEPORT group, and
 * sets SO_INCOMING_CPU on each: a SYN then goes to the member whose
 * sk_incoming_cpu is the CPU processing it (reuseport_select_sock_by_hash(),
 * net/core/sock_reuseport.c; a listener's sk_incoming_cpu is never changed
 * by what it receives, tcp_v4_rcv() and tcp_v6_rcv() return before
 * sk_incoming_cpu_update() for TCP_LISTEN).
 *
 * The group must stay the listener's alone. A socket may bind beside a
 * group's members, and join the group at listen() (inet_reuseport_add_sock(),
 * net/ipv4/inet_hashtables.c), if both have SO_REUSEPORT and the same
 * sock_i_uid(): their inodes' i_uid (inet_bind_conflict() and
 * sk_reuseport_match(), net/ipv4/inet_connection_sock.c; the same in 6.1
 * and 6.12). sock_alloc() sets i_uid to the creator's fsuid, so any process
 * of the uid that added the listener (root, for the module's own) could
 * bind the port with SO_REUSEPORT, join and take connections. So every
 * member gets INVALID_UID, which no task can have: the members match each
 * other (uid_eq() of two INVALID_UIDs is true), a user's socket matches
 * none and gets EADDRINUSE, as beside one plain socket; the bind bucket's
 * fast path (tb->fastuid) then holds INVALID_UID too, which only another
 * member matches. sk_uid, what routing goes by, was copied from the inode
 * at sock_init_data() and does not change; /proc/net/tcp shows the
 * overflow uid for these sockets.
 *
 * Every ksrv listener's members have INVALID_UID, so the first member of
 * a listener binds and listens without SO_REUSEPORT: a plain socket
 * conflicts with any listener of the port, ksrv's or not, at bind() and
 * again at listen(), exactly as the single socket does. It takes
 * SO_REUSEPORT only once listening; the others bind with it and join it
 * (reuseport_add_sock() makes the first one's group when the second one
 * joins). Two ksrv listeners on one port therefore never share a group:
 * of two plain first members only one can listen, and one that listens
 * keeps every later plain socket from binding or listening.
 */
static int ksrv_reuseport_member(const struct ksrv_config *cfg,
				 struct socket *sock, int cpu)
{
	int ret;

	/* A new socket: nothing reads i_uid until it is bound. */
	SOCK_INODE(sock)->i_uid = INVALID_UID;
	ret = sock_setsockopt(sock, SOL_SOCKET, SO_INCOMING_CPU,
			      KERNEL_SOCKPTR(&cpu), sizeof(cpu));
	if (ret)
		pr_err("%s: cannot set SO_INCOMING_CPU to %d: %d\n", cfg->name,
		       cpu, ret);
	return ret;
}

/**
 * ksrv_listen_cpu() - create one listening socket of a listener
 * @cfg: checked parameters (see ksrv_config_check())
 * @cpu: -1 for a listener's only socket; else the CPU whose connections
 *	the socket takes, as a member of the listener's SO_REUSEPORT group
 * @first: NULL for the listener's first (or only) socket, bound where
 *	@cfg says (port 0: one the kernel picks); else the address the
 *	first was bound to, as kernel_getsockname() gives it, which this one
 *	shares
 * @res: the listening socket, on success
 *
 * The socket belongs to the kernel and to @cfg->net, not to the process
 * that loaded the module. SO_REUSEADDR is set so that connections a
 * previous instance closed, still in TIME_WAIT, do not block a reload.
 * With no address in @cfg it listens on every address, IPv6 and IPv4 on
 * one socket, or IPv4 only where IPv6 is not available. A group's first
 * socket conflicts with any other listener of its address and port, and
 * no socket but the group's own can join the group (see
 * ksrv_reuseport_member() above).
 *
 * Return: 0, or a negative errno after one error line naming the cause.
 */
int ksrv_listen_cpu(const struct ksrv_config *cfg, int cpu,
		    const struct sockaddr_storage *first, struct socket **res)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int ret;

	if (first) {
		ss = *first;
	} else {
		ret = ksrv_parse_addr(cfg, &ss);
		if (ret)
			return ret;
	}
	ret = ksrv_socket_create(cfg, SOCK_STREAM, "TCP", &ss, &sock);
	if (ret)
		return ret;
	/* TIME_WAIT of a previous instance must not block a reload. */
	sock_set_reuseaddr(sock->sk);
	if (cpu >= 0) {
		ret = ksrv_reuseport_member(cfg, sock, cpu);
		if (ret)
			goto err_release;
		if (first)
			sock_set_reuseport(sock->sk);
	}
	ret = ksrv_socket_bind(cfg, "TCP", sock, &ss);
	if (ret)
		goto err_release;
	ret = kernel_listen(sock, cfg->backlog);
	if (ret) {
		pr_err("%s: cannot listen on %pISpc: %d\n", cfg->name, &ss,
		       ret);
		goto err_release;
	}
	/* Listening alone: the others may join now (see above). */
	if (cpu >= 0 && !first)
		sock_set_reuseport(sock->sk);
	*res = sock;
	return 0;

err_release:
	sock_release(sock);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_listen_cpu);

/**
 * ksrv_bind_udp() - create a kernel UDP socket bound as @cfg says
 * @cfg: checked parameters (see ksrv_config_check()); backlog is unused
 * @res: the bound socket, on success
 *
 * The same addresses as ksrv_listen_cpu(). No SO_REUSEADDR: UDP has no
 * TIME_WAIT to outlive, and with it another socket could bind the same
 * port and take the service's datagrams.
 *
 * Return: 0, or a negative errno after one error line naming the cause.
 */
int ksrv_bind_udp(const struct ksrv_config *cfg, struct socket **res)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int ret;

	ret = ksrv_parse_addr(cfg, &ss);
	if (ret)
		return ret;
	ret = ksrv_socket_create(cfg, SOCK_DGRAM, "UDP", &ss, &sock);
	if (ret)
		return ret;
	ret = ksrv_socket_bind(cfg, "UDP", sock, &ss);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	pr_info("%s: listening on UDP %pISpc\n", cfg->name, &ss);
	*res = sock;
	return 0;
}
EXPORT_SYMBOL_GPL(ksrv_bind_udp);
