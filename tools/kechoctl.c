// SPDX-License-Identifier: GPL-2.0
/*
 * kechoctl: add, remove and list the listeners of the ksrv services, and
 * list their open TCP connections, over the "ksrv" generic netlink family
 * (include/uapi/linux/ksrv.h, Documentation/netlink/specs/ksrv.yaml);
 * and make a network namespace's listeners those a file lists (apply),
 * which is how kecho.service configures them at boot. The manual is
 * kechoctl(8).
 *
 * Raw netlink, without libnl or libmnl, so that it links statically and
 * runs in the guest's busybox initramfs. Numbers are checked only as far
 * as the attribute's type holds them: the real limits are the kernel's,
 * and the tests want to see its errors.
 *
 * Exit status: 0 ok, 1 the kernel (or the system) said no, 2 bad usage
 * (or, for apply, a bad line in the file).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <linux/ksrv.h>
#include <linux/netlink.h>

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
static bool retry_intr;		/* the caller dumps again if interrupted */
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
	      "  kechoctl [-j] apply [-n] FILE\n"
	      "Listeners of the ksrv services, and their open TCP connections,\n"
	      "in this network namespace. add, del and apply need CAP_NET_ADMIN.\n"
	      "  -j            print JSON\n"
	      "  service NAME  the service to listen for (default echo_async)\n"
	      "  addr ADDR     an IPv4 or IPv6 literal (default: all addresses)\n"
	      "  conns ID      only listener ID's connections\n"
	      "  apply FILE    make the listeners those FILE lists, one a line in\n"
	      "                add's words (- reads standard input); -n: only say\n"
	      "                what would change. See kechoctl(8).\n", f);
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

/*
 * A decimal number up to @max into @v; else a message in @err. strtoul()
 * takes " 7", "+7" and "-7" too: none is a number here.
 */
static bool parse_number(const char *what, const char *s, uint32_t max,
			 uint32_t *v, char *err, size_t errlen)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9') {
		snprintf(err, errlen, "%s: not a number: %s", what, s);
		return false;
	}
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end) {
		snprintf(err, errlen, "%s: not a number: %s", what, s);
		return false;
	}
	if (errno == ERANGE || n > max) {
		snprintf(err, errlen, "%s: out of range: %s", what, s);
		return false;
	}
	*v = n;
	return true;
}

static uint32_t number(const char *what, const char *s, uint32_t max)
{
	char err[128];
	uint32_t v;

	if (!parse_number(what, s, max, &v, err, sizeof(err)))
		bad_usage("%s", err);
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
				if (!retry_intr)
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

/*
 * The kernel's no, said by kechoctl or, for a line of apply's file, after
 * @where ("FILE:LINE: "), as a compiler would. Return: 1, the exit status.
 */
static int report(const struct nlerr *e, const char *where)
{
	int at = NLMSG_LENGTH(GENL_HDRLEN), len = req.nlh.nlmsg_len - at;
	const struct nlattr *a;
	const char *name = NULL;

	/* The offset is from the request's start, to the attribute's own. */
	for_each_attr(a, req.buf + at, len)
		if ((const char *)a - req.buf == e->offs &&
		    NLA_TYPE(a) <= KSRV_A_LISTENER_MAX)
			name = attr_names[NLA_TYPE(a)];
	fprintf(stderr, "%s%s", *where ? where : "kechoctl: ",
		strerror(e->err));
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
		exit(report(&e, ""));
	family = want.id;
	if (!family) {
		fputs("kechoctl: no family id in the reply\n", stderr);
		exit(1);
	}
}

/*
 * A listener as add's words give it. The ranges are the spec's checks,
 * applied by apply alone: add leaves them to the kernel, so that its
 * answers can be seen, but apply must find a bad line before it changes
 * anything.
 */
static const struct {
	const char *key;
	uint16_t type;
	uint32_t min, max;
} opts[] = {
	{ "backlog",		KSRV_A_LISTENER_BACKLOG,	1, 65535 },
	{ "max_conns",		KSRV_A_LISTENER_MAX_CONNS,	1, 1048576 },
	{ "idle_timeout",	KSRV_A_LISTENER_IDLE_TIMEOUT,	0, 604800 },
};
#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

struct spec {
	const char *service;
	const char *addr;	/* NULL: every address */
	long long val[NOPTS];	/* -1: not given, the service's default */
	long port;		/* -1: not given */
	uint8_t proto;		/* 0: not given */
};

/*
 * What the kernel requires (a protocol, a port) is left for the caller
 * to check: add sends "add" and "add tcp" as they are, so that the
 * kernel's answer to a request without them can be seen.
 */
static bool parse_spec(int argc, char **argv, struct spec *sp, char *err,
		       size_t errlen)
{
	bool given[NOPTS + 3] = { false };	/* the options, service, addr, proto */
	unsigned int j;
	uint32_t v;
	int i;

	*sp = (struct spec){ .service = "echo_async", .port = -1,
			     .val = { -1, -1, -1 } };
	for (i = 0; i < argc; i += 2) {
		const char *key = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool proto = !strcmp(key, "tcp") || !strcmp(key, "udp");

		for (j = 0; j < NOPTS && strcmp(key, opts[j].key); j++)
			;
		if (j == NOPTS && strcmp(key, "service") &&
		    strcmp(key, "addr") && !proto) {
			snprintf(err, errlen, "unknown argument: %s", key);
			return false;
		}
		if (!val && !proto) {
			snprintf(err, errlen, "%s needs a value", key);
			return false;
		}
		if (j == NOPTS)
			j = !strcmp(key, "service") ? NOPTS :
			    !strcmp(key, "addr") ? NOPTS + 1 : NOPTS + 2;
		if (given[j]) {
			snprintf(err, errlen, "%s given twice",
				 j == NOPTS + 2 ? "a protocol" : key);
			return false;
		}
		given[j] = true;
		if (j < NOPTS) {
			if (!parse_number(key, val, UINT32_MAX, &v, err, errlen))
				return false;
			sp->val[j] = v;
		} else if (j == NOPTS) {
			sp->service = val;
		} else if (j == NOPTS + 1) {
			sp->addr = val;
		} else {
			sp->proto = key[0] == 't' ? KSRV_PROTO_TCP :
						    KSRV_PROTO_UDP;
			if (val && !parse_number("port", val, UINT16_MAX, &v,
						 err, errlen))
				return false;
			if (val)
				sp->port = v;
		}
	}
	return true;
}

/* Sends an add of @sp; 0 and the new listener's id, or the kernel's errno. */
static int add_listener(const struct spec *sp, uint32_t *id, struct nlerr *e)
{
	struct want want = { KSRV_A_LISTENER_ID, 0 };
	unsigned int j;
	int ret;

	req_init(family, NLM_F_ACK, KSRV_CMD_LISTENER_ADD);
	put_str(KSRV_A_LISTENER_SERVICE, sp->service);
	if (sp->proto)
		put(KSRV_A_LISTENER_PROTO, &sp->proto, sizeof(sp->proto));
	if (sp->port >= 0) {
		uint16_t p = sp->port;

		put(KSRV_A_LISTENER_PORT, &p, sizeof(p));
	}
	if (sp->addr)
		put_str(KSRV_A_LISTENER_ADDR, sp->addr);
	for (j = 0; j < NOPTS; j++)
		if (sp->val[j] >= 0)
			put_u32(opts[j].type, sp->val[j]);
	ret = transact(get_id, &want, e);
	if (!ret && !want.id) {
		snprintf(e->msg, sizeof(e->msg), "no listener id in the reply");
		e->err = ret = EPROTO;
	}
	*id = want.id;
	return ret;
}

static int del_listener(uint32_t id, struct nlerr *e)
{
	req_init(family, NLM_F_ACK, KSRV_CMD_LISTENER_DEL);
	put_u32(KSRV_A_LISTENER_ID, id);
	return transact(NULL, NULL, e);
}

static int cmd_add(int argc, char **argv)
{
	struct spec sp;
	struct nlerr e;
	char err[256];
	uint32_t id;

	if (!parse_spec(argc, argv, &sp, err, sizeof(err)))
		bad_usage("add: %s", err);
	open_family();
	if (add_listener(&sp, &id, &e))
		return report(&e, "");
	printf(json ? "{\"id\":%u}\n" : "added listener %u\n", id);
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
		return report(&e, "");
	printf(json ? "{\"id\":%u}\n" : "deleted listener %u\n", id);
	return 0;
}

static int cmd_dump(uint8_t cmd, msg_cb cb, void *arg)
{
	struct nlerr e;

	open_family();
	req_init(family, NLM_F_DUMP, cmd);
	if (transact(cb, arg, &e))
		return report(&e, "");
	if (json)
		fputs(nobj ? "\n]\n" : "[]\n", stdout);
	return 0;
}

/* ---- apply: the listeners a file lists ---- */

/* The most words a line may have: add's, each once, is 12. */
#define MAX_WORDS	16

/* An address in binary: "::" and "0::0" are one address. */
struct addr {
	int family;
	unsigned char b[16];
};

/* A listener the file lists. */
struct line {
	struct spec sp;
	struct addr addr;
	int lineno;
	char *text;		/* sp's strings point into it */
	bool found;		/* the namespace has it already */
};

/* A listener the namespace has. */
struct have {
	uint32_t id;
	char service[KSRV_SERVICE_NAME_LEN];
	char addr_str[KSRV_ADDR_LEN];
	struct addr addr;
	uint8_t proto;
	uint16_t port;
	long long val[NOPTS];	/* -1: not in the dump (UDP) */
	struct line *want;	/* the line that lists it, or NULL */
};

struct lines {
	struct line *v;
	int n, cap;
};

struct haves {
	struct have *v;
	int n, cap;
};

static void *grow(void *v, int *cap, int n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	v = realloc(v, *cap * size);
	if (!v) {
		errno = ENOMEM;
		die_errno("apply");
	}
	return v;
}

static bool parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->b) == 1)
		a->family = AF_INET6;
	return a->family;
}

static bool same_addr(const struct addr *a, const struct addr *b)
{
	return a->family && a->family == b->family &&
	       !memcmp(a->b, b->b, sizeof(a->b));
}

/*
 * Where a listener without addr listens: the IPv6 wildcard, or the IPv4
 * one where IPv6 is not available, the kernel's choice made the same way.
 */
static void wildcard(struct addr *a)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->family = fd < 0 && errno == EAFNOSUPPORT ? AF_INET : AF_INET6;
	if (fd >= 0)
		close(fd);
}

/* "echo_async tcp [::]:7", as list says it. */
static void describe(char *buf, size_t len, const char *service,
		     uint8_t proto, const char *addr, unsigned int port)
{
	snprintf(buf, len, strchr(addr, ':') ? "%s %s [%s]:%u" : "%s %s %s:%u",
		 service, proto == KSRV_PROTO_UDP ? "udp" : "tcp", addr, port);
}

static void describe_line(char *buf, size_t len, const struct line *l)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(l->addr.family, l->addr.b, addr, sizeof(addr));
	describe(buf, len, l->sp.service, l->sp.proto, addr, l->sp.port);
}

/* What add would send, checked as the kernel would check it; else why not. */
static bool check_line(struct line *l, const struct lines *ls,
		       const struct addr *any, char *err, size_t errlen)
{
	const struct spec *sp = &l->sp;
	unsigned int j;
	int i;

	if (!sp->proto) {
		snprintf(err, errlen, "no protocol: tcp PORT or udp PORT");
		return false;
	}
	if (sp->port < 1) {
		snprintf(err, errlen, sp->port ? "%s needs a port" :
			 "port: out of range: 0", sp->proto == KSRV_PROTO_UDP ?
			 "udp" : "tcp");
		return false;
	}
	if (!*sp->service || strlen(sp->service) >= KSRV_SERVICE_NAME_LEN ||
	    strchr(sp->service, '/')) {
		snprintf(err, errlen, "service: not a service name: %s",
			 sp->service);
		return false;
	}
	l->addr = *any;
	if (sp->addr && !parse_addr(sp->addr, &l->addr)) {
		snprintf(err, errlen, "addr: not an IPv4 or IPv6 address: %s",
			 sp->addr);
		return false;
	}
	for (j = 0; j < NOPTS; j++) {
		if (sp->val[j] < 0)
			continue;
		if (sp->proto == KSRV_PROTO_UDP) {
			snprintf(err, errlen, "%s: for TCP listeners only",
				 opts[j].key);
			return false;
		}
		if (sp->val[j] < opts[j].min || sp->val[j] > opts[j].max) {
			snprintf(err, errlen, "%s: out of range: %lld, must be %u..%u",
				 opts[j].key, sp->val[j], opts[j].min,
				 opts[j].max);
			return false;
		}
	}
	for (i = 0; i < ls->n; i++) {
		const struct line *o = &ls->v[i];

		if (o->sp.proto == sp->proto && o->sp.port == sp->port &&
		    same_addr(&o->addr, &l->addr)) {
			snprintf(err, errlen, "the same protocol, address and port as line %d",
				 o->lineno);
			return false;
		}
	}
	return true;
}

/*
 * The file's listeners into @ls, each line checked; every bad line is
 * reported as FILE:LINE: and left out. Return: how many were bad.
 */
static int read_lines(const char *path, struct lines *ls,
		      const struct addr *any)
{
	bool std = !strcmp(path, "-");
	const char *name = std ? "stdin" : path;
	FILE *f = std ? stdin : fopen(path, "re");
	char *buf = NULL, *words[MAX_WORDS + 1], *p, err[256];
	int lineno = 0, bad = 0, n;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		die_errno(path);
	while ((len = getline(&buf, &cap, f)) >= 0) {
		struct line *l;

		lineno++;
		n = 0;
		if ((size_t)len != strlen(buf)) {
			fprintf(stderr, "%s:%d: a NUL byte\n", name, lineno);
			bad++;
			continue;
		}
		p = strchr(buf, '#');
		if (p)
			*p = '\0';
		for (p = strtok(buf, " \t\r\n"); p && n <= MAX_WORDS;
		     p = strtok(NULL, " \t\r\n"))
			words[n++] = p;
		if (!n)
			continue;
		if (n > MAX_WORDS) {
			fprintf(stderr, "%s:%d: more than %d words\n", name,
				lineno, MAX_WORDS);
			bad++;
			continue;
		}
		words[n] = NULL;
		ls->v = grow(ls->v, &ls->cap, ls->n, sizeof(*ls->v));
		l = &ls->v[ls->n];
		memset(l, 0, sizeof(*l));
		l->lineno = lineno;
		if (!parse_spec(n, words, &l->sp, err, sizeof(err)) ||
		    !check_line(l, ls, any, err, sizeof(err))) {
			fprintf(stderr, "%s:%d: %s\n", name, lineno, err);
			bad++;
			continue;
		}
		/* The line keeps its buffer: the spec points into it. */
		l->text = buf;
		buf = NULL;
		cap = 0;
		ls->n++;
	}
	if (ferror(f))
		die_errno(path);
	free(buf);
	if (!std)
		fclose(f);
	return bad;
}

static void collect(const void *attrs, int len, void *arg)
{
	const struct nlattr *tb[KSRV_A_LISTENER_MAX + 1];
	struct haves *hs = arg;
	struct have *h;
	const char *s;
	unsigned int j;
	uint64_t v;

	parse(tb, KSRV_A_LISTENER_MAX, attrs, len);
	if (!get_uint(tb[KSRV_A_LISTENER_ID], &v))
		return;
	hs->v = grow(hs->v, &hs->cap, hs->n, sizeof(*hs->v));
	h = &hs->v[hs->n++];
	memset(h, 0, sizeof(*h));
	h->id = v;
	/* What cannot be read matches no line: such a listener goes. */
	s = get_str(tb[KSRV_A_LISTENER_SERVICE]);
	snprintf(h->service, sizeof(h->service), "%s", s ? s : "");
	s = get_str(tb[KSRV_A_LISTENER_ADDR]);
	snprintf(h->addr_str, sizeof(h->addr_str), "%s", s ? s : "?");
	parse_addr(h->addr_str, &h->addr);
	if (get_uint(tb[KSRV_A_LISTENER_PROTO], &v))
		h->proto = v;
	if (get_uint(tb[KSRV_A_LISTENER_PORT], &v))
		h->port = v;
	for (j = 0; j < NOPTS; j++)
		h->val[j] = get_uint(tb[opts[j].type], &v) ? (long long)v : -1;
}

/* A service module's parameter, as a listener's default; -1 if unknown. */
static long long module_param(const char *service, const char *param)
{
	unsigned long long v;
	long long ret = -1;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", service,
		 param);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &v) == 1 && v <= UINT32_MAX)
		ret = v;
	fclose(f);
	return ret;
}

/*
 * Whether @h is set as @l asks: what the line gives, and what it leaves
 * out at the service's default (its module's parameter, which the kernel
 * takes). What the kernel does not report (a UDP listener's) or whose
 * default cannot be read is not compared. Else says what differs in @what.
 */
static bool same_options(const struct have *h, const struct line *l,
			 char *what, size_t len)
{
	long long want;
	unsigned int j;

	for (j = 0; j < NOPTS; j++) {
		want = l->sp.val[j];
		if (want < 0)
			want = module_param(l->sp.service, opts[j].key);
		if (want < 0 || h->val[j] < 0 || want == h->val[j])
			continue;
		snprintf(what, len, "%s %lld, was %lld", opts[j].key, want,
			 h->val[j]);
		return false;
	}
	return true;
}

static void json_action(const char *action, long long id, long long new_id,
			int lineno)
{
	json_open();
	printf("\"action\":\"%s\"", action);
	if (id >= 0)
		printf(",\"id\":%lld", id);
	if (new_id >= 0)
		printf(",\"new_id\":%lld", new_id);
	if (lineno)
		printf(",\"line\":%d", lineno);
	putchar('}');
}

static int cmd_apply(int argc, char **argv)
{
	char desc[128], what[96], loc[512], where[520];
	struct lines ls = { 0 };
	struct haves hs = { 0 };
	bool dry = false;
	int i, k, bad, failed = 0;
	const char *name;
	struct nlerr e;
	struct addr any;
	uint32_t id;

	if (argc && !strcmp(argv[0], "-n")) {
		dry = true;
		argc--;
		argv++;
	}
	if (argc != 1)
		bad_usage("apply: one FILE, please");
	name = strcmp(argv[0], "-") ? argv[0] : "stdin";
	wildcard(&any);
	bad = read_lines(argv[0], &ls, &any);
	if (bad) {
		fprintf(stderr, "kechoctl: %s: %d bad line%s, nothing changed\n",
			name, bad, bad > 1 ? "s" : "");
		return 2;
	}

	/* A change between the dump's parts would make it miss one: again. */
	open_family();
	retry_intr = true;
	for (k = 0;; k++) {
		hs.n = 0;
		req_init(family, NLM_F_DUMP, KSRV_CMD_LISTENER_GET);
		if (transact(collect, &hs, &e))
			return report(&e, "");
		if (!e.intr)
			break;
		if (k == 3) {
			fputs("kechoctl: the listeners keep changing during the dump\n",
			      stderr);
			return 1;
		}
	}
	for (k = 0; k < hs.n; k++) {
		struct have *h = &hs.v[k];

		for (i = 0; i < ls.n && !h->want; i++) {
			struct line *l = &ls.v[i];

			if (!l->found && h->proto == l->sp.proto &&
			    h->port == l->sp.port &&
			    !strcmp(h->service, l->sp.service) &&
			    same_addr(&h->addr, &l->addr)) {
				h->want = l;
				l->found = true;
			}
		}
	}

	/* First what no line lists: it may hold a port a line wants. */
	for (k = 0; k < hs.n; k++) {
		struct have *h = &hs.v[k];

		if (h->want)
			continue;
		describe(desc, sizeof(desc), h->service, h->proto, h->addr_str,
			 h->port);
		if (!dry && del_listener(h->id, &e) && e.err != ENOENT) {
			snprintf(where, sizeof(where),
				 "kechoctl: deleting listener %u (%s): ", h->id,
				 desc);
			failed |= report(&e, where);
			continue;
		}
		if (json)
			json_action("delete", h->id, -1, 0);
		else
			printf("%s listener %u: %s\n",
			       dry ? "would delete" : "deleted", h->id, desc);
	}
	/* Then the file's lines, in order: kept, replaced or added. */
	for (i = 0; i < ls.n; i++) {
		struct line *l = &ls.v[i];
		struct have *h = NULL;
		long long old;

		for (k = 0; l->found && k < hs.n && !h; k++)
			if (hs.v[k].want == l)
				h = &hs.v[k];
		old = h ? (long long)h->id : -1;
		describe_line(desc, sizeof(desc), l);
		snprintf(loc, sizeof(loc), "%s:%d", name, l->lineno);
		snprintf(where, sizeof(where), "%s: ", loc);
		if (h && same_options(h, l, what, sizeof(what))) {
			if (json)
				json_action("keep", old, -1, l->lineno);
			continue;
		}
		if (dry) {
			if (json)
				json_action(h ? "replace" : "add", old, -1,
					    l->lineno);
			else if (h)
				printf("would replace listener %u: %s (%s; %s)\n",
				       h->id, desc, what, loc);
			else
				printf("would add a listener: %s (%s)\n", desc,
				       loc);
			continue;
		}
		if (h && del_listener(h->id, &e) && e.err != ENOENT) {
			failed |= report(&e, where);
			continue;
		}
		if (add_listener(&l->sp, &id, &e)) {
			failed |= report(&e, where);
			continue;
		}
		if (json && h)
			json_action("replace", old, id, l->lineno);
		else if (json)
			json_action("add", id, -1, l->lineno);
		else if (h)
			printf("replaced listener %u by %u: %s (%s; %s)\n",
			       h->id, id, desc, what, loc);
		else
			printf("added listener %u: %s (%s)\n", id, desc, loc);
	}
	if (json)
		fputs(nobj ? "\n]\n" : "[]\n", stdout);
	return failed;
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
	} else if (!strcmp(cmd, "apply")) {
		ret = cmd_apply(argc, argv);
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
