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

#include "ksrv.h"
#include "uapi/ksrv.h"

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
 * A kernel socket of @type bound where @cfg says, in @cfg->net; the name
 * (TCP or UDP) is for the messages. IPv6 sockets take IPv4 peers too,
 * whatever net.ipv6.bindv6only says; if the default address is asked for
 * and IPv6 is not available (not built, or disabled at boot), the socket
 * is IPv4 only.
 */
static int ksrv_socket_bind(const struct ksrv_config *cfg, int type,
			    const char *proto, struct sockaddr_storage *ss,
			    struct socket **res)
{
	struct socket *sock;
	int ret;

	ret = ksrv_parse_addr(cfg, ss);
	if (ret)
		return ret;

	ret = sock_create_kern(cfg->net, ss->ss_family, type, 0, &sock);
	if (ret == -EAFNOSUPPORT && (!cfg->addr || !*cfg->addr)) {
		ksrv_any_ipv4(cfg, ss);
		ret = sock_create_kern(cfg->net, AF_INET, type, 0, &sock);
	}
	if (ret) {
		pr_err("%s: cannot create %s socket: %d\n", cfg->name, proto,
		       ret);
		return ret;
	}
	/* TIME_WAIT of a previous instance must not block a reload. */
	if (type == SOCK_STREAM)
		sock_set_reuseaddr(sock->sk);
	if (ss->ss_family == AF_INET6)
		sock->sk->sk_ipv6only = false;

	ret = kernel_bind(sock, (struct sockaddr *)ss,
			  ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			  sizeof(struct sockaddr_in6));
	if (ret == -EADDRINUSE) {
		pr_err("%s: %s port %d is already in use\n", cfg->name, proto,
		       cfg->port);
		goto err_release;
	} else if (ret) {
		pr_err("%s: cannot bind %s %pISpc: %d\n", cfg->name, proto, ss,
		       ret);
		goto err_release;
	}
	*res = sock;
	return 0;

err_release:
	sock_release(sock);
	return ret;
}

/**
 * ksrv_listen() - create a kernel TCP socket listening as @cfg says
 * @cfg: checked parameters (see ksrv_config_check())
 * @res: the listening socket, on success
 *
 * The socket belongs to the kernel and to @cfg->net, not to the process that
 * loaded the module. SO_REUSEADDR is set so that connections a previous
 * instance closed, still in TIME_WAIT, do not block a reload. With no
 * address in @cfg it listens on every address, IPv6 and IPv4 on one
 * socket, or IPv4 only where IPv6 is not available.
 *
 * Return: 0, or a negative errno after one error line naming the cause.
 */
int ksrv_listen(const struct ksrv_config *cfg, struct socket **res)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int ret;

	ret = ksrv_socket_bind(cfg, SOCK_STREAM, "TCP", &ss, &sock);
	if (ret)
		return ret;
	ret = kernel_listen(sock, cfg->backlog);
	if (ret) {
		pr_err("%s: cannot listen on %pISpc: %d\n", cfg->name, &ss,
		       ret);
		sock_release(sock);
		return ret;
	}
	pr_info("%s: listening on TCP %pISpc\n", cfg->name, &ss);
	*res = sock;
	return 0;
}
EXPORT_SYMBOL_GPL(ksrv_listen);

/**
 * ksrv_bind_udp() - create a kernel UDP socket bound as @cfg says
 * @cfg: checked parameters (see ksrv_config_check()); backlog is unused
 * @res: the bound socket, on success
 *
 * The same addresses as ksrv_listen(). No SO_REUSEADDR: UDP has no
 * TIME_WAIT to outlive, and with it another socket could bind the same
 * port and take the service's datagrams.
 *
 * Return: 0, or a negative errno after one error line naming the cause.
 */
int ksrv_bind_udp(const struct ksrv_config *cfg, struct socket **res)
{
	struct sockaddr_storage ss;
	int ret;

	ret = ksrv_socket_bind(cfg, SOCK_DGRAM, "UDP", &ss, res);
	if (!ret)
		pr_info("%s: listening on UDP %pISpc\n", cfg->name, &ss);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_bind_udp);
