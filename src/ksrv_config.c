// SPDX-License-Identifier: GPL-2.0
/*
 * Parameter checks and the listening socket, shared by every ksrv service
 * so that each reports bad input the same way.
 */
#include <linux/in.h>
#include <linux/module.h>
#include <linux/net.h>
#include <net/net_namespace.h>
#include <net/sock.h>

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

	ret = ksrv_check_param(cfg->name, "port", cfg->port, 1, 65535);
	if (ret)
		return ret;
	return ksrv_check_param(cfg->name, "backlog", cfg->backlog, 1, 65535);
}
EXPORT_SYMBOL_GPL(ksrv_config_check);

/**
 * ksrv_listen() - create a kernel TCP socket listening as @cfg says
 * @cfg: checked parameters (see ksrv_config_check())
 * @res: the listening socket, on success
 *
 * The socket belongs to the kernel and to init_net, not to the process that
 * loaded the module. SO_REUSEADDR is set so that connections a previous
 * instance closed, still in TIME_WAIT, do not block a reload.
 *
 * Return: 0, or a negative errno after one error line naming the cause.
 */
int ksrv_listen(const struct ksrv_config *cfg, struct socket **res)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(cfg->port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct socket *sock;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (ret) {
		pr_err("%s: cannot create socket: %d\n", cfg->name, ret);
		return ret;
	}
	sock_set_reuseaddr(sock->sk);

	ret = kernel_bind(sock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret == -EADDRINUSE) {
		pr_err("%s: port %d is already in use\n", cfg->name, cfg->port);
		goto err_release;
	} else if (ret) {
		pr_err("%s: cannot bind port %d: %d\n", cfg->name, cfg->port,
		       ret);
		goto err_release;
	}

	ret = kernel_listen(sock, cfg->backlog);
	if (ret) {
		pr_err("%s: cannot listen on port %d: %d\n", cfg->name,
		       cfg->port, ret);
		goto err_release;
	}

	*res = sock;
	return 0;

err_release:
	sock_release(sock);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_listen);
