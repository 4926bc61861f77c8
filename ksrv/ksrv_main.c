// SPDX-License-Identifier: GPL-2.0
/*
 * The ksrv module: the services registered with it, their listeners in
 * every network namespace, and the "ksrv" generic netlink family that
 * adds and lists them. Services depend on it through the symbols they
 * use, so it stays loaded while any of them is.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "ksrv_core.h"

static int __init ksrv_init(void)
{
	int ret;

	ret = ksrv_net_init();
	if (ret)
		return ret;
	ret = ksrv_netlink_init();
	if (ret) {
		pr_err("ksrv: cannot register the generic netlink family: %d\n",
		       ret);
		ksrv_net_exit();
	}
	return ret;
}

static void __exit ksrv_exit(void)
{
	ksrv_netlink_exit();
	ksrv_net_exit();
}

module_init(ksrv_init);
module_exit(ksrv_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("Core for in-kernel TCP and UDP services: listeners per network namespace, configured over generic netlink");
MODULE_ALIAS_GENL_FAMILY(KSRV_FAMILY_NAME);
