// SPDX-License-Identifier: GPL-2.0
/*
 * kechoctl: add, remove and list the listeners of the ksrv services, and
 * list their open TCP connections, over the "ksrv" generic netlink family
 * (src/uapi/ksrv.h, Documentation/netlink/specs/ksrv.yaml).
 *
 * Raw netlink, without libnl or libmnl, so that it links statically and
 * runs in the guest's busybox initramfs. Numbers are checked only as far
 * as the attribute's type holds them: the real limits are the kernel's,
 * and the tests want to see its errors.
 *
 * Exit status: 0 ok, 1 the kernel (or the system) said no, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "ksrv.h"

/* The kernel caps a dump's skb at 32 KiB; this holds any of them. */
#define RCVBUF_SIZE	65536

#define NLA_DATA(a)	((const void *)((const char *)(a) + NLA_HDRLEN))
#define NLA_LEN(a)	((int)(a)->nla_len - NLA_HDRLEN)
#define NLA_TYPE(a)	((a)->nla_type & NLA_TYPE_MASK)

#define for_each_attr(a, start, len)					\
	for ((a) = (const struct nlattr *)(start);			\
	     (len) >= (int)NLA_HDRLEN && (a)->nla_len >= NLA_HDRLEN &&	\
	     (a)->nla_len <= (len);					\
	     (len) -= NLA_ALIGN((a)->nla_len),				\
	     (a) = (const void *)((const char *)(a) + NLA_ALIGN((a)->nla_len)))

struct nlerr {
	int err;		/* a positive errno, 0 for an ack */
	char msg[256];		/* NLMSGERR_ATTR_MSG, or "" */
	long offs;		/* NLMSGERR_ATTR_OFFS, or -1 */
	long miss;		/* NLMSGERR_ATTR_MISS_TYPE, or -1 */
	bool intr;		/* a dump part had NLM_F_DUMP_INTR */
};

typedef void (*msg_cb)(const void *attrs, int len, void *arg);

static union {
	struct nlmsghdr nlh;
	char buf[2048];
} req;

static int nlfd;
static uint16_t family;
static bool json;
static int nobj;		/* JSON objects printed, for the commas */
static const char *sep;		/* goes before a JSON object's next field */

/*
 * The spec's names, for errors; the listener set's "id" goes by
 * "listener-id", its name everywhere else.
 */
static const char *const attr_names[KSRV_A_LISTENER_MAX + 1] = {
	[KSRV_A_LISTENER_ID]		= "listener-id",
	[KSRV_A_LISTENER_SERVICE]	= "service",
	[KSRV_A_LISTENER_PROTO]		= "proto",
	[KSRV_A_LISTENER_ADDR]		= "addr",
	[KSRV_A_LISTENER_PORT]		= "port",
	[KSRV_A_LISTENER_BACKLOG]	= "backlog",
	[KSRV_A_LISTENER_MAX_CONNS]	= "max-conns",
	[KSRV_A_LISTENER_IDLE_TIMEOUT]	= "idle-timeout",
	[KSRV_A_LISTENER_CONNS]		= "conns",
	[KSRV_A_LISTENER_STAT]		= "stat",
};

static void usage(FILE *f)
{
	fputs("usage:\n"
	      "  kechoctl [-j] add [service NAME] tcp|udp PORT [addr ADDR] [backlog N] [max_conns N] [idle_timeout SECONDS]\n"
	      "  kechoctl [-j] del ID\n"
	      "  kechoctl [-j] list\n"
	      "  kechoctl [-j] conns [ID]\n"
	      "Listeners of the ksrv services, and their open TCP connections,\n"
	      "in this network namespace. add and del need CAP_NET_ADMIN.\n"
	      "  -j            print JSON\n"
	      "  service NAME  the service to listen for (default echo_async)\n"
	      "  addr ADDR     an IPv4 or IPv6 literal (default: all addresses)\n"
	      "  conns ID      only listener ID's connections\n", f);
}

static void __attribute__((format(printf, 1, 2), noreturn))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kechoctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	usage(stderr);
	exit(2);
}

static void __attribute__((noreturn)) die_errno(const char *what)
{
	fprintf(stderr, "kechoctl: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t number(const char *what, const char *s, uint32_t max)
{
	unsigned long v;
	char *end;

	/* strtoul() takes " 7", "+7" and "-7" too: none is a number here */
	if (*s < '0' || *s > '9')
		bad_usage("%s: not a number: %s", what, s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		bad_usage("%s: not a number: %s", what, s);
	if (errno == ERANGE || v > max)
		bad_usage("%s: out of range: %s", what, s);
	return v;
}

/* ---- netlink ---- */

static void req_init(uint16_t type, uint16_t flags, uint8_t cmd)
{
	static uint32_t seq;
	struct genlmsghdr *g = NLMSG_DATA(&req.nlh);

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	req.nlh.nlmsg_seq = ++seq;
	g->cmd = cmd;
	g->version = KSRV_FAMILY_VERSION;
}

static void put(uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(req.nlh.nlmsg_len);
	struct nlattr *a = (struct nlattr *)(req.buf + at);

	if (len > sizeof(req.buf) ||
	    at + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(req.buf))
		bad_usage("request too long");
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy(a + 1, data, len);
	req.nlh.nlmsg_len = at + NLA_ALIGN(NLA_HDRLEN + len);
}

static void put_str(uint16_t type, const char *s)
{
	put(type, s, strlen(s) + 1);
}

static void put_u32(uint16_t type, uint32_t v)
{
	put(type, &v, sizeof(v));
}

static void parse(const struct nlattr **tb, int max, const void *data,
		  int len)
{
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	for_each_attr(a, data, len)
		if (NLA_TYPE(a) <= max)
			tb[NLA_TYPE(a)] = a;
}

/* Any width: a kernel that widens a counter stays readable. */
static bool get_uint(const struct nlattr *a, uint64_t *v)
{
	union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; } u;
	int len = a ? NLA_LEN(a) : 0;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return false;
	memcpy(&u, NLA_DATA(a), len);
	*v = len == 1 ? u.u8 : len == 2 ? u.u16 : len == 4 ? u.u32 : u.u64;
	return true;
}

static const char *get_str(const struct nlattr *a)
{
	const char *s = a ? NLA_DATA(a) : NULL;

	return s && NLA_LEN(a) > 0 && !s[NLA_LEN(a) - 1] ? s : NULL;
}

static void parse_extack(struct nlerr *e, const void *data, int len)
{
	const struct nlattr *a;
	uint64_t v;

	for_each_attr(a, data, len) {
		if (NLA_TYPE(a) == NLMSGERR_ATTR_MSG && get_str(a))
			snprintf(e->msg, sizeof(e->msg), "%s", get_str(a));
		else if (NLA_TYPE(a) == NLMSGERR_ATTR_OFFS && get_uint(a, &v))
			e->offs = v;
		else if (NLA_TYPE(a) == NLMSGERR_ATTR_MISS_TYPE &&
			 get_uint(a, &v))
			e->miss = v;
	}
}

/*
 * NLMSG_ERROR holds a struct nlmsgerr and, unless capped, the rest of
 * the request; a dump's NLMSG_DONE holds an int. The TLVs come after.
 */
static void parse_error(const struct nlmsghdr *nlh, struct nlerr *e)
{
	const struct nlmsgerr *err = NLMSG_DATA(nlh);
	size_t at = sizeof(int);

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
			e->err = EPROTO;
			return;
		}
		at = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    err->msg.nlmsg_len > NLMSG_HDRLEN)
			at += err->msg.nlmsg_len - NLMSG_HDRLEN;
	} else if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
		return;
	}
	e->err = err->error < 0 ? -err->error : 0;
	at = NLMSG_ALIGN(NLMSG_LENGTH(at));
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && at < nlh->nlmsg_len)
		parse_extack(e, (const char *)nlh + at, nlh->nlmsg_len - at);
}

/*
 * Sends req, hands each reply's attributes to cb, and returns at the ack
 * (a do) or at NLMSG_DONE (a dump): 0, or the errno the kernel gave.
 */
static int transact(msg_cb cb, void *arg, struct nlerr *e)
{
	static union {
		struct nlmsghdr nlh;
		char buf[RCVBUF_SIZE];
	} rx;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const struct nlmsghdr *nlh;

	memset(e, 0, sizeof(*e));
	e->offs = -1;
	e->miss = -1;
	if (sendto(nlfd, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		die_errno("send");
	for (;;) {
		struct iovec iov = { rx.buf, sizeof(rx.buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		int len = recvmsg(nlfd, &mh, 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			die_errno("receive");
		if (mh.msg_flags & MSG_TRUNC) {
			errno = EMSGSIZE;
			die_errno("receive");
		}
		for (nlh = &rx.nlh; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != req.nlh.nlmsg_seq)
				continue;
			/* Listeners came or went between two parts. */
			if ((nlh->nlmsg_flags & NLM_F_DUMP_INTR) && !e->intr) {
				e->intr = true;
				fputs("kechoctl: listeners changed during the dump, it may miss or repeat one\n",
				      stderr);
			}
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				parse_error(nlh, e);
				return e->err;
			}
			if (cb && nlh->nlmsg_len >= NLMSG_LENGTH(GENL_HDRLEN))
				cb((const char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
				   nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
				   arg);
		}
	}
}

static int report(const struct nlerr *e)
{
	int at = NLMSG_LENGTH(GENL_HDRLEN), len = req.nlh.nlmsg_len - at;
	const struct nlattr *a;
	const char *name = NULL;

	/* The offset is from the request's start, to the attribute's own. */
	for_each_attr(a, req.buf + at, len)
		if ((const char *)a - req.buf == e->offs &&
		    NLA_TYPE(a) <= KSRV_A_LISTENER_MAX)
			name = attr_names[NLA_TYPE(a)];
	fprintf(stderr, "kechoctl: %s", strerror(e->err));
	if (e->msg[0])
		fprintf(stderr, ": %s", e->msg);
	if (name)
		fprintf(stderr, " (attribute %s)", name);
	else if (e->miss > 0 && e->miss <= KSRV_A_LISTENER_MAX &&
		 attr_names[e->miss])
		fprintf(stderr, " (missing attribute %s)",
			attr_names[e->miss]);
	fputc('\n', stderr);
	return 1;
}

/* ---- output ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* An object a line, so that a shell test can grep for one. */
static void json_open(void)
{
	fputs(nobj++ ? ",\n{" : "[\n{", stdout);
	sep = "";
}

/* A number, if the message carries it: " key N" or "key":N. */
static void num_field(const struct nlattr *a, const char *key)
{
	uint64_t v;

	if (!get_uint(a, &v))
		return;
	if (json)
		printf("%s\"%s\":%llu", sep, key, (unsigned long long)v);
	else
		printf(" %s %llu", key, (unsigned long long)v);
	sep = ",";
}

static void json_field(const struct nlattr *a, const char *key)
{
	const char *s = get_str(a);

	if (!s)
		return;
	printf("%s\"%s\":", sep, key);
	json_str(s);
	sep = ",";
}

static const char *or_q(const char *s)
{
	return s ? s : "?";
}

static void print_stats(const void *attrs, int len)
{
	const struct nlattr *tb[KSRV_A_STAT_MAX + 1], *a;
	const char *name;
	uint64_t v;
	int n = 0;

	for_each_attr(a, attrs, len) {
		if (NLA_TYPE(a) != KSRV_A_LISTENER_STAT)
			continue;
		parse(tb, KSRV_A_STAT_MAX, NLA_DATA(a), NLA_LEN(a));
		name = get_str(tb[KSRV_A_STAT_NAME]);
		if (!name || !get_uint(tb[KSRV_A_STAT_VALUE], &v))
			continue;
		if (!json) {
			printf("%s %s %llu", n++ ? "" : "\n   ", name,
			       (unsigned long long)v);
			continue;
		}
		printf(n++ ? "," : "%s\"stats\":{", sep);
		json_str(name);
		printf(":%llu", (unsigned long long)v);
	}
	if (json && n)
		putchar('}');
}

static void print_listener(const void *attrs, int len, void *arg)
{
	const struct nlattr *tb[KSRV_A_LISTENER_MAX + 1];
	const char *proto = NULL, *addr;
	uint64_t v = 0;

	(void)arg;
	parse(tb, KSRV_A_LISTENER_MAX, attrs, len);
	if (get_uint(tb[KSRV_A_LISTENER_PROTO], &v))
		proto = v == KSRV_PROTO_TCP ? "tcp" :
			v == KSRV_PROTO_UDP ? "udp" : NULL;
	if (json) {
		json_open();
		num_field(tb[KSRV_A_LISTENER_ID], "id");
		json_field(tb[KSRV_A_LISTENER_SERVICE], "service");
		if (proto) {
			printf("%s\"proto\":\"%s\"", sep, proto);
			sep = ",";
		} else {
			num_field(tb[KSRV_A_LISTENER_PROTO], "proto");
		}
		json_field(tb[KSRV_A_LISTENER_ADDR], "addr");
		num_field(tb[KSRV_A_LISTENER_PORT], "port");
	} else {
		addr = get_str(tb[KSRV_A_LISTENER_ADDR]);
		if (!addr || !*addr)
			addr = "*";
		if (get_uint(tb[KSRV_A_LISTENER_ID], &v))
			printf("%llu:", (unsigned long long)v);
		else
			fputs("?:", stdout);
		printf(" %s %s", or_q(get_str(tb[KSRV_A_LISTENER_SERVICE])),
		       or_q(proto));
		/* IPv6 in brackets, so that the port stands apart */
		printf(strchr(addr, ':') ? " [%s]" : " %s", addr);
		if (get_uint(tb[KSRV_A_LISTENER_PORT], &v))
			printf(":%llu", (unsigned long long)v);
	}
	num_field(tb[KSRV_A_LISTENER_BACKLOG], "backlog");
	num_field(tb[KSRV_A_LISTENER_MAX_CONNS], "max_conns");
	num_field(tb[KSRV_A_LISTENER_IDLE_TIMEOUT], "idle_timeout");
	num_field(tb[KSRV_A_LISTENER_CONNS], "conns");
	print_stats(attrs, len);
	fputs(json ? "}" : "\n", stdout);
}

static void print_conn(const void *attrs, int len, void *arg)
{
	const struct nlattr *tb[KSRV_A_CONN_MAX + 1];
	const long long *only = arg;
	uint64_t id;

	parse(tb, KSRV_A_CONN_MAX, attrs, len);
	if (!get_uint(tb[KSRV_A_CONN_LISTENER_ID], &id) ||
	    (*only >= 0 && id != (uint64_t)*only))
		return;
	if (json) {
		json_open();
		num_field(tb[KSRV_A_CONN_LISTENER_ID], "listener");
		json_field(tb[KSRV_A_CONN_PEER], "peer");
	} else {
		printf("%llu %s", (unsigned long long)id,
		       or_q(get_str(tb[KSRV_A_CONN_PEER])));
	}
	num_field(tb[KSRV_A_CONN_BYTES_IN], "bytes_in");
	num_field(tb[KSRV_A_CONN_BYTES_OUT], "bytes_out");
	num_field(tb[KSRV_A_CONN_AGE_MS], "age_ms");
	fputs(json ? "}" : "\n", stdout);
}

struct want {
	int type;		/* KSRV_A_LISTENER_ID or CTRL_ATTR_FAMILY_ID */
	uint64_t id;
};

/* The one id that add's reply, or the controller's, is wanted for. */
static void get_id(const void *attrs, int len, void *arg)
{
	const struct nlattr *tb[KSRV_A_LISTENER_MAX + CTRL_ATTR_MAX + 1];
	struct want *w = arg;

	parse(tb, w->type, attrs, len);
	get_uint(tb[w->type], &w->id);
}

/* ---- commands ---- */

static void open_family(void)
{
	struct want want = { CTRL_ATTR_FAMILY_ID, 0 };
	struct nlerr e;
	int one = 1;

	nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nlfd < 0)
		die_errno("netlink socket");
	/* The kernel's messages need EXT_ACK; CAP_ACK only saves bytes. */
	if (setsockopt(nlfd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		die_errno("NETLINK_EXT_ACK");
	setsockopt(nlfd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	req_init(GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	put_str(CTRL_ATTR_FAMILY_NAME, KSRV_FAMILY_NAME);
	if (transact(get_id, &want, &e) == ENOENT) {
		fputs("kechoctl: the ksrv module is not loaded\n", stderr);
		exit(1);
	}
	if (e.err)
		exit(report(&e));
	family = want.id;
	if (!family) {
		fputs("kechoctl: no family id in the reply\n", stderr);
		exit(1);
	}
}

static int cmd_add(int argc, char **argv)
{
	static const struct {
		const char *key;
		uint16_t type;
	} opts[] = {
		{ "backlog",		KSRV_A_LISTENER_BACKLOG },
		{ "max_conns",		KSRV_A_LISTENER_MAX_CONNS },
		{ "idle_timeout",	KSRV_A_LISTENER_IDLE_TIMEOUT },
	};
	const char *service = "echo_async", *addr = NULL;
	long long val[3] = { -1, -1, -1 };
	struct want want = { KSRV_A_LISTENER_ID, 0 };
	uint8_t proto = 0;
	long port = -1;
	struct nlerr e;
	int i, j;

	/*
	 * What the kernel requires (a protocol, a port) is left for it to
	 * check, so that its answer to a request without them can be seen:
	 * "add" and "add tcp" are sent as they are.
	 */
	for (i = 0; i < argc; i += 2) {
		const char *key = argv[i], *v = argv[i + 1];

		for (j = 0; j < 3 && strcmp(key, opts[j].key); j++)
			;
		if (!v && strcmp(key, "tcp") && strcmp(key, "udp"))
			bad_usage("add: %s needs a value", key);
		if (j < 3) {
			val[j] = number(key, v, UINT32_MAX);
		} else if (!strcmp(key, "service")) {
			service = v;
		} else if (!strcmp(key, "addr")) {
			addr = v;
		} else if (!strcmp(key, "tcp") || !strcmp(key, "udp")) {
			proto = key[0] == 't' ? KSRV_PROTO_TCP : KSRV_PROTO_UDP;
			if (v)
				port = number("port", v, UINT16_MAX);
		} else {
			bad_usage("add: unknown argument: %s", key);
		}
	}
	open_family();
	req_init(family, NLM_F_ACK, KSRV_CMD_LISTENER_ADD);
	put_str(KSRV_A_LISTENER_SERVICE, service);
	if (proto)
		put(KSRV_A_LISTENER_PROTO, &proto, sizeof(proto));
	if (port >= 0) {
		uint16_t p = port;

		put(KSRV_A_LISTENER_PORT, &p, sizeof(p));
	}
	if (addr)
		put_str(KSRV_A_LISTENER_ADDR, addr);
	for (j = 0; j < 3; j++)
		if (val[j] >= 0)
			put_u32(opts[j].type, val[j]);
	if (transact(get_id, &want, &e))
		return report(&e);
	if (!want.id) {
		fputs("kechoctl: no listener id in the reply\n", stderr);
		return 1;
	}
	printf(json ? "{\"id\":%llu}\n" : "added listener %llu\n",
	       (unsigned long long)want.id);
	return 0;
}

static int cmd_del(int argc, char **argv)
{
	struct nlerr e;
	uint32_t id = 0;

	/* Without an ID, the kernel says what is missing. */
	if (argc > 1)
		bad_usage("del: one ID, please");
	if (argc)
		id = number("ID", argv[0], UINT32_MAX);
	open_family();
	req_init(family, NLM_F_ACK, KSRV_CMD_LISTENER_DEL);
	if (argc)
		put_u32(KSRV_A_LISTENER_ID, id);
	if (transact(NULL, NULL, &e))
		return report(&e);
	printf(json ? "{\"id\":%u}\n" : "deleted listener %u\n", id);
	return 0;
}

static int cmd_dump(uint8_t cmd, msg_cb cb, void *arg)
{
	struct nlerr e;

	open_family();
	req_init(family, NLM_F_DUMP, cmd);
	if (transact(cb, arg, &e))
		return report(&e);
	if (json)
		fputs(nobj ? "\n]\n" : "[]\n", stdout);
	return 0;
}

int main(int argc, char **argv)
{
	long long only = -1;
	const char *cmd;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			bad_usage("unknown option: %s", argv[i]);
		}
	}
	if (i >= argc)
		bad_usage("a command is missing");
	cmd = argv[i++];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "add")) {
		ret = cmd_add(argc, argv);
	} else if (!strcmp(cmd, "del")) {
		ret = cmd_del(argc, argv);
	} else if (!strcmp(cmd, "list")) {
		if (argc)
			bad_usage("list takes no arguments");
		ret = cmd_dump(KSRV_CMD_LISTENER_GET, print_listener, NULL);
	} else if (!strcmp(cmd, "conns")) {
		if (argc > 1)
			bad_usage("conns: one ID at most");
		if (argc)
			only = number("ID", argv[0], UINT32_MAX);
		ret = cmd_dump(KSRV_CMD_CONN_GET, print_conn, &only);
	} else {
		bad_usage("unknown command: %s", cmd);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "kechoctl: stdout: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}
