/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/ksrv.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_KSRV_GEN_H
#define _LINUX_KSRV_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/ksrv.h>

extern const struct nla_policy ksrv_listener_add_nl_policy[KSRV_A_LISTENER_IDLE_TIMEOUT + 1];

extern const struct nla_policy ksrv_listener_del_nl_policy[KSRV_A_LISTENER_ID + 1];

/* Ops table for ksrv */
extern const struct genl_ops ksrv_nl_ops[4];

int ksrv_nl_listener_add_doit(struct sk_buff *skb, struct genl_info *info);
int ksrv_nl_listener_del_doit(struct sk_buff *skb, struct genl_info *info);
int ksrv_nl_listener_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb);
int ksrv_nl_conn_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

#endif /* _LINUX_KSRV_GEN_H */
