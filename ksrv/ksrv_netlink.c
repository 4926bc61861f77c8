// SPDX-License-Identifier: GPL-2.0
/*
 * The "ksrv" generic netlink family: add, remove and list the listeners
 * of ksrv's services, and list their connections, in the caller's network
 * namespace. One family for every service rather than one per service: a
 * listener's settings are the core's, not the service's, and a tool then
 * needs to know one family, not every module that may be loaded.
 *
 * Documentation/netlink/specs/ksrv.yaml describes it. The kernel's
 * generator declares, in ksrv_nl_gen.h, the policies, the op table and
 * the handlers below; it cannot render a per-op table (6.1 has no split
 * ops) for a family with dump-only commands, so they are written here,
 * and make check compares them with what it renders for the spec
 * (tests/host/spec-check.py).
 * Changing listeners needs CAP_NET_ADMIN in the user namespace that owns
 * the caller's network namespace; listing does not.
 */
#include <linux/module.h>
#include <linux/tcp.h>
#include <net/genetlink.h>
#include <net/inet_sock.h>
#include <net/sock.h>

#include "ksrv_core.h"
#include "ksrv_nl_gen.h"

/* Not const, as the generator has them: 6.1's nla_policy.range is not. */
static struct netlink_range_validation ksrv_a_listener_backlog_range = {
	.min = 1,
	.max = 65535,
};

static struct netlink_range_validation ksrv_a_listener_max_conns_range = {
	.min = 1,
	.max = 1048576,
};

static struct netlink_range_validation ksrv_a_listener_idle_timeout_range = {
	.max = 604800,
};

const struct nla_policy
ksrv_listener_add_nl_policy[KSRV_A_LISTENER_IDLE_TIMEOUT + 1] = {
	[KSRV_A_LISTENER_SERVICE] = { .type = NLA_NUL_STRING,
				      .len = KSRV_SERVICE_NAME_LEN - 1 },
	[KSRV_A_LISTENER_PROTO] = NLA_POLICY_RANGE(NLA_U8, KSRV_PROTO_TCP,
						   KSRV_PROTO_UDP),
	[KSRV_A_LISTENER_ADDR] = { .type = NLA_NUL_STRING,
				   .len = KSRV_ADDR_LEN - 1 },
	[KSRV_A_LISTENER_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KSRV_A_LISTENER_BACKLOG] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &ksrv_a_listener_backlog_range),
	[KSRV_A_LISTENER_MAX_CONNS] =
		NLA_POLICY_FULL_RANGE(NLA_U32,
				      &ksrv_a_listener_max_conns_range),
	[KSRV_A_LISTENER_IDLE_TIMEOUT] =
		NLA_POLICY_FULL_RANGE(NLA_U32,
				      &ksrv_a_listener_idle_timeout_range),
};

const struct nla_policy ksrv_listener_del_nl_policy[KSRV_A_LISTENER_ID + 1] = {
	[KSRV_A_LISTENER_ID] = { .type = NLA_U32 },
};

static struct genl_family ksrv_nl_family;

/* Why a listener did not start, for the one who asked. */
static void ksrv_nl_start_error(struct genl_info *info, int err)
{
	struct nlattr **tb = info->attrs;

	switch (err) {
	case -EADDRINUSE:
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KSRV_A_LISTENER_PORT],
				    "port already in use");
		break;
	case -EADDRNOTAVAIL:
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KSRV_A_LISTENER_ADDR],
				    "address not available in this namespace");
		break;
	case -EPROTONOSUPPORT:
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KSRV_A_LISTENER_PROTO],
				    "the service serves no UDP");
		break;
	case -ENOSPC:
		NL_SET_ERR_MSG(info->extack,
			       "no room for another listener in this namespace");
		break;
	case -EDQUOT:
		NL_SET_ERR_MSG(info->extack,
			       "the namespace's owner has all the listeners its budget allows (ksrv max_user_listeners)");
		break;
	default:
		NL_SET_ERR_MSG(info->extack,
			       "cannot start the listener, see the kernel log");
		break;
	}
}

/*
 * The timeout asked for, into @cfg, unless it keeps connections longer
 * than the module's does (0 is never): only the host's admin may.
 * Return: whether it was taken.
 */
static bool ksrv_nl_idle_timeout(struct sk_buff *skb, struct genl_info *info,
				 struct ksrv_config *cfg)
{
	struct nlattr *attr = info->attrs[KSRV_A_LISTENER_IDLE_TIMEOUT];
	u32 secs = nla_get_u32(attr);

	if (cfg->idle_timeout && (!secs || secs > cfg->idle_timeout) &&
	    !netlink_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "longer than the module's idle_timeout: needs CAP_NET_ADMIN in the initial user namespace");
		return false;
	}
	cfg->idle_timeout = secs;
	return true;
}

int ksrv_nl_listener_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct sockaddr_storage ss;
	const struct ksrv_ops *ops;
	struct ksrv_service *srv;
	struct ksrv_config cfg;
	struct sk_buff *msg;
	int max_conns;
	void *hdr;
	int ret;

	/* The ack names the missing attribute. */
	if (GENL_REQ_ATTR_CHECK(info, KSRV_A_LISTENER_SERVICE) ||
	    GENL_REQ_ATTR_CHECK(info, KSRV_A_LISTENER_PROTO) ||
	    GENL_REQ_ATTR_CHECK(info, KSRV_A_LISTENER_PORT)) {
		NL_SET_ERR_MSG(info->extack, "missing a required attribute");
		return -EINVAL;
	}
	/* Allocated first: once the listener runs, nothing may fail. */
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&ksrv_mutex);
	ops = ksrv_find_service(nla_data(tb[KSRV_A_LISTENER_SERVICE]), &cfg);
	if (!ops) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KSRV_A_LISTENER_SERVICE],
				    "no such service: is its module loaded?");
		ret = -ENOENT;
		goto err_unlock;
	}
	/*
	 * The module's backlog, limit and timeout are the defaults; its
	 * address is not: it may not exist in the caller's namespace.
	 */
	cfg.net = genl_info_net(info);
	cfg.charge_caller = true;
	cfg.udp = nla_get_u8(tb[KSRV_A_LISTENER_PROTO]) == KSRV_PROTO_UDP;
	cfg.port = nla_get_u16(tb[KSRV_A_LISTENER_PORT]);
	cfg.addr = NULL;
	if (tb[KSRV_A_LISTENER_ADDR])
		cfg.addr = nla_data(tb[KSRV_A_LISTENER_ADDR]);
	if (tb[KSRV_A_LISTENER_BACKLOG])
		cfg.backlog = nla_get_u32(tb[KSRV_A_LISTENER_BACKLOG]);
	max_conns = cfg.max_conns;
	if (tb[KSRV_A_LISTENER_MAX_CONNS])
		cfg.max_conns = nla_get_u32(tb[KSRV_A_LISTENER_MAX_CONNS]);
	/*
	 * Root of a user namespace may add listeners in its own network
	 * namespace, but what each may cost the host (a thread per
	 * connection, for a thread service) stays the module's choice.
	 */
	if (cfg.max_conns > max_conns && !netlink_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[KSRV_A_LISTENER_MAX_CONNS],
				    "above the module's max_conns: needs CAP_NET_ADMIN in the initial user namespace");
		ret = -EPERM;
		goto err_unlock;
	}
	if (tb[KSRV_A_LISTENER_IDLE_TIMEOUT] &&
	    !ksrv_nl_idle_timeout(skb, info, &cfg)) {
		ret = -EPERM;
		goto err_unlock;
	}
	if (ksrv_parse_addr(&cfg, &ss)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KSRV_A_LISTENER_ADDR],
				    "not an IPv4 or IPv6 address");
		ret = -EINVAL;
		goto err_unlock;
	}

	srv = ksrv_listener_start(ops, &cfg);
	if (IS_ERR(srv)) {
		ret = PTR_ERR(srv);
		ksrv_nl_start_error(info, ret);
		goto err_unlock;
	}
	hdr = genlmsg_put_reply(msg, info, &ksrv_nl_family, 0,
				KSRV_CMD_LISTENER_ADD);
	/* A few bytes in a page: cannot run out of room. */
	if (WARN_ON(!hdr || nla_put_u32(msg, KSRV_A_LISTENER_ID, srv->id))) {
		ksrv_listener_stop(cfg.net, srv->id);
		ret = -EMSGSIZE;
		goto err_unlock;
	}
	mutex_unlock(&ksrv_mutex);
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
	if (ret) {
		/* Its id is lost with the reply: a refusal changes nothing. */
		mutex_lock(&ksrv_mutex);
		ksrv_listener_stop(cfg.net, srv->id);
		mutex_unlock(&ksrv_mutex);
	}
	return ret;

err_unlock:
	mutex_unlock(&ksrv_mutex);
	nlmsg_free(msg);
	return ret;
}

int ksrv_nl_listener_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KSRV_A_LISTENER_ID)) {
		NL_SET_ERR_MSG(info->extack, "missing a required attribute");
		return -EINVAL;
	}
	mutex_lock(&ksrv_mutex);
	ret = ksrv_listener_stop(genl_info_net(info),
				 nla_get_u32(info->attrs[KSRV_A_LISTENER_ID]));
	mutex_unlock(&ksrv_mutex);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[KSRV_A_LISTENER_ID],
				    "no such listener in this namespace");
	return ret;
}

static int ksrv_nl_put_stats(struct sk_buff *skb, struct ksrv_stats *stats)
{
	unsigned int stat;

	for (stat = 0; stat < stats->nr; stat++) {
		const char *name = ksrv_stats_name(stats, stat);
		struct nlattr *nest;

		if (!name)
			continue;
		nest = nla_nest_start(skb, KSRV_A_LISTENER_STAT);
		if (!nest ||
		    nla_put_string(skb, KSRV_A_STAT_NAME, name) ||
		    nla_put_u64_64bit(skb, KSRV_A_STAT_VALUE,
				      ksrv_stats_sum(stats, stat),
				      KSRV_A_STAT_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	return 0;
}

static int ksrv_nl_put_listener(struct sk_buff *skb, struct ksrv_service *srv)
{
	const struct ksrv_config *cfg = &srv->cfg;
	char addr[KSRV_ADDR_LEN];

	snprintf(addr, sizeof(addr), "%pISc", &srv->addr);
	if (nla_put_u32(skb, KSRV_A_LISTENER_ID, srv->id) ||
	    nla_put_string(skb, KSRV_A_LISTENER_SERVICE, srv->ops->name) ||
	    nla_put_u8(skb, KSRV_A_LISTENER_PROTO,
		       cfg->udp ? KSRV_PROTO_UDP : KSRV_PROTO_TCP) ||
	    nla_put_string(skb, KSRV_A_LISTENER_ADDR, addr) ||
	    nla_put_u16(skb, KSRV_A_LISTENER_PORT, cfg->port))
		return -EMSGSIZE;
	if (!cfg->udp &&
	    (nla_put_u32(skb, KSRV_A_LISTENER_BACKLOG, cfg->backlog) ||
	     nla_put_u32(skb, KSRV_A_LISTENER_MAX_CONNS, cfg->max_conns) ||
	     nla_put_u32(skb, KSRV_A_LISTENER_IDLE_TIMEOUT,
			 cfg->idle_timeout) ||
	     nla_put_u32(skb, KSRV_A_LISTENER_CONNS,
			 ksrv_registry_count(&srv->conns))))
		return -EMSGSIZE;
	return ksrv_nl_put_stats(skb, &srv->stats);
}

/* A dump's next message, flagged if the listeners changed since its start. */
static void *ksrv_nl_dump_put(struct sk_buff *skb, struct netlink_callback *cb,
			      u8 cmd)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &ksrv_nl_family, NLM_F_MULTI, cmd);
	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

/* What a dump keeps in cb->ctx from one read to the next. */
struct ksrv_nl_dump_ctx {
	unsigned long listener;		/* how many listeners are done */
	struct ksrv_registry_pos conn;	/* where that one's conns resume */
};

static_assert(sizeof(struct ksrv_nl_dump_ctx) <=
	      sizeof_field(struct netlink_callback, ctx));

/*
 * A dump: @fill on each listener of the caller's namespace from
 * ctx->listener on, until one does not fit; the next call resumes there.
 * Return: skb->len for more to come, 0 at the end, or an errno.
 */
static int ksrv_nl_dump(struct sk_buff *skb, struct netlink_callback *cb,
			int (*fill)(struct sk_buff *skb,
				    struct netlink_callback *cb,
				    struct ksrv_service *srv))
{
	struct ksrv_nl_dump_ctx *ctx = (struct ksrv_nl_dump_ctx *)cb->ctx;
	struct ksrv_net *kn = ksrv_net(sock_net(skb->sk));
	struct ksrv_service *srv;
	unsigned long i = 0;
	int ret = 0;

	mutex_lock(&ksrv_mutex);
	cb->seq = kn->seq;
	list_for_each_entry(srv, &kn->listeners, node) {
		if (i++ < ctx->listener)
			continue;
		ret = fill(skb, cb, srv);
		if (ret)
			break;
		ctx->listener = i;
	}
	mutex_unlock(&ksrv_mutex);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret;
}

static int ksrv_nl_fill_listener(struct sk_buff *skb,
				 struct netlink_callback *cb,
				 struct ksrv_service *srv)
{
	void *hdr;

	hdr = ksrv_nl_dump_put(skb, cb, KSRV_CMD_LISTENER_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (ksrv_nl_put_listener(skb, srv)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int ksrv_nl_listener_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	return ksrv_nl_dump(skb, cb, ksrv_nl_fill_listener);
}

/* The peer's address, read without the socket lock: fixed once accepted. */
static void ksrv_nl_peer(struct sock *sk, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = sk->sk_v6_daddr;
		sin6->sin6_port = inet_sk(sk)->inet_dport;
		return;
	}
#endif
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_sk(sk)->inet_daddr;
	sin->sin_port = inet_sk(sk)->inet_dport;
}

struct ksrv_nl_conn_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u32 id;
};

static int ksrv_nl_put_conn(struct ksrv_conn *conn, void *arg)
{
	struct ksrv_nl_conn_dump *d = arg;
	struct sock *sk = conn->sock->sk;
	const struct tcp_sock *tp = tcp_sk(sk);
	struct sockaddr_storage ss;
	char peer[KSRV_ADDR_LEN + 8];
	void *hdr;

	ksrv_nl_peer(sk, &ss);
	snprintf(peer, sizeof(peer), "%pISpc", &ss);
	hdr = ksrv_nl_dump_put(d->skb, d->cb, KSRV_CMD_CONN_GET);
	if (!hdr)
		return -EMSGSIZE;
	/* Counters of a live socket: a moment's reading, as tcp_info's. */
	if (nla_put_u32(d->skb, KSRV_A_CONN_LISTENER_ID, d->id) ||
	    nla_put_string(d->skb, KSRV_A_CONN_PEER, peer) ||
	    nla_put_u64_64bit(d->skb, KSRV_A_CONN_BYTES_IN,
			      READ_ONCE(tp->bytes_received), KSRV_A_CONN_PAD) ||
	    nla_put_u64_64bit(d->skb, KSRV_A_CONN_BYTES_OUT,
			      READ_ONCE(tp->bytes_acked), KSRV_A_CONN_PAD) ||
	    nla_put_u64_64bit(d->skb, KSRV_A_CONN_AGE_MS,
			      jiffies_to_msecs(jiffies - conn->started),
			      KSRV_A_CONN_PAD)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

/*
 * From ctx->conn on: a connection that stays open is dumped once, however
 * many others come and go between two reads (ksrv_registry_walk()).
 */
static int ksrv_nl_fill_conns(struct sk_buff *skb, struct netlink_callback *cb,
			      struct ksrv_service *srv)
{
	struct ksrv_nl_dump_ctx *ctx = (struct ksrv_nl_dump_ctx *)cb->ctx;
	struct ksrv_nl_conn_dump d = { .skb = skb, .cb = cb, .id = srv->id };
	int ret;

	ret = ksrv_registry_walk(&srv->conns, &ctx->conn, ksrv_nl_put_conn, &d);
	if (!ret)	/* all of them: the next listener's from its start */
		ctx->conn = (struct ksrv_registry_pos){};
	return ret;
}

int ksrv_nl_conn_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return ksrv_nl_dump(skb, cb, ksrv_nl_fill_conns);
}

/* The spec's kernel-policy, per-op: one policy per command. */
const struct genl_ops ksrv_nl_ops[4] = {
	{
		.cmd = KSRV_CMD_LISTENER_ADD,
		.doit = ksrv_nl_listener_add_doit,
		.policy = ksrv_listener_add_nl_policy,
		.maxattr = KSRV_A_LISTENER_IDLE_TIMEOUT,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSRV_CMD_LISTENER_DEL,
		.doit = ksrv_nl_listener_del_doit,
		.policy = ksrv_listener_del_nl_policy,
		.maxattr = KSRV_A_LISTENER_ID,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSRV_CMD_LISTENER_GET,
		.dumpit = ksrv_nl_listener_get_dumpit,
	},
	{
		.cmd = KSRV_CMD_CONN_GET,
		.dumpit = ksrv_nl_conn_get_dumpit,
	},
};

static struct genl_family ksrv_nl_family __ro_after_init = {
	.name = KSRV_FAMILY_NAME,
	.version = KSRV_FAMILY_VERSION,
	.netnsok = true,
	/* ksrv_mutex serialises what needs it; no other family waits. */
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = ksrv_nl_ops,
	.n_ops = ARRAY_SIZE(ksrv_nl_ops),
};

/**
 * ksrv_netlink_init() - register the "ksrv" generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int ksrv_netlink_init(void)
{
	return genl_register_family(&ksrv_nl_family);
}

/**
 * ksrv_netlink_exit() - unregister it; no request runs on return
 */
void ksrv_netlink_exit(void)
{
	genl_unregister_family(&ksrv_nl_family);
}
