// SPDX-License-Identifier: GPL-2.0
/*
 * fake-ksrv.so: a stand-in for the kernel's "ksrv" generic netlink family,
 * preloaded into a dynamically linked kechoctl, so that make check can run
 * kechoctl apply on the host, where no module may be loaded
 * (tests/host/apply.sh). It answers what apply sends: the family's id,
 * listener-add, listener-del and the listener-get dump, with the kernel's
 * errnos and messages for an unknown service, a port in use and an unknown
 * id. The listeners persist in $FAKE_KSRV_STATE between runs; a service
 * exists if $FAKE_KSRV_SYS/<service>/parameters/ does, whose files give
 * the defaults, as /sys/module/ does, and where kechoctl's reads of
 * /sys/module/ are sent.
 *
 * Not the kernel: no policy, no namespaces, no connections. The guest's
 * ctl.* tests check kechoctl against the real family.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/ksrv.h>
#include <linux/netlink.h>

#define FAMILY_ID	0x42
#define MAX_LISTENERS	256

struct listener {
	unsigned int id, port, backlog, max_conns, idle_timeout;
	unsigned int proto;
	char service[KSRV_SERVICE_NAME_LEN];
	char addr[KSRV_ADDR_LEN];
};

static struct listener ls[MAX_LISTENERS];
static int nls;
static unsigned int next_id = 1;
static int nlfd = -1;
static char out[1 << 16];
static size_t outlen;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v) {
		fprintf(stderr, "fake-ksrv: %s is not set\n", name);
		exit(3);
	}
	return v;
}

static void load(void)
{
	FILE *f = fopen(env("FAKE_KSRV_STATE"), "r");
	struct listener l;

	nls = 0;
	if (!f)
		return;
	if (fscanf(f, "%u", &next_id) != 1)
		next_id = 1;
	while (nls < MAX_LISTENERS &&
	       fscanf(f, "%u %15s %u %45s %u %u %u %u", &l.id, l.service,
		      &l.proto, l.addr, &l.port, &l.backlog, &l.max_conns,
		      &l.idle_timeout) == 8)
		ls[nls++] = l;
	fclose(f);
}

static void save(void)
{
	FILE *f = fopen(env("FAKE_KSRV_STATE"), "w");
	int i;

	if (!f)
		exit(3);
	fprintf(f, "%u\n", next_id);
	for (i = 0; i < nls; i++)
		fprintf(f, "%u %s %u %s %u %u %u %u\n", ls[i].id, ls[i].service,
			ls[i].proto, ls[i].addr, ls[i].port, ls[i].backlog,
			ls[i].max_conns, ls[i].idle_timeout);
	fclose(f);
}

/* A service's module parameter, from the fake /sys/module; -1: none. */
static long param(const char *service, const char *name)
{
	char path[512];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/parameters/%s",
		 env("FAKE_KSRV_SYS"), service, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* ---- replies, into out[] for the next recvmsg() ---- */

static struct nlmsghdr *msg_start(uint16_t type, uint16_t flags,
				  uint32_t seq, uint8_t cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(out + outlen);
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(h, 0, NLMSG_LENGTH(GENL_HDRLEN));
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	g->cmd = cmd;
	return h;
}

static void put(struct nlmsghdr *h, uint16_t type, const void *data,
		size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)h +
					     NLMSG_ALIGN(h->nlmsg_len));

	memset(a, 0, NLA_ALIGN(NLA_HDRLEN + len));
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void put_u32(struct nlmsghdr *h, uint16_t type, uint32_t v)
{
	put(h, type, &v, sizeof(v));
}

static void msg_end(struct nlmsghdr *h)
{
	outlen += NLMSG_ALIGN(h->nlmsg_len);
}

/* The ack, or an error with its extack message, request not echoed. */
static void ack(uint32_t seq, int err, const char *text)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(out + outlen);
	struct nlmsgerr *e = NLMSG_DATA(h);

	memset(h, 0, NLMSG_LENGTH(sizeof(*e)));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_seq = seq;
	h->nlmsg_flags = NLM_F_CAPPED | (text ? NLM_F_ACK_TLVS : 0);
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	e->error = -err;
	if (text)
		put(h, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
	msg_end(h);
}

static void dump(uint32_t seq)
{
	struct nlmsghdr *h;
	int i;

	for (i = 0; i < nls; i++) {
		struct listener *l = &ls[i];
		uint8_t proto = l->proto;
		uint16_t port = l->port;

		h = msg_start(FAMILY_ID, NLM_F_MULTI, seq,
			      KSRV_CMD_LISTENER_GET);
		put_u32(h, KSRV_A_LISTENER_ID, l->id);
		put(h, KSRV_A_LISTENER_SERVICE, l->service,
		    strlen(l->service) + 1);
		put(h, KSRV_A_LISTENER_PROTO, &proto, 1);
		put(h, KSRV_A_LISTENER_ADDR, l->addr, strlen(l->addr) + 1);
		put(h, KSRV_A_LISTENER_PORT, &port, 2);
		/* As the kernel: a UDP listener has no TCP settings. */
		if (proto == KSRV_PROTO_TCP) {
			put_u32(h, KSRV_A_LISTENER_BACKLOG, l->backlog);
			put_u32(h, KSRV_A_LISTENER_MAX_CONNS, l->max_conns);
			put_u32(h, KSRV_A_LISTENER_IDLE_TIMEOUT,
				l->idle_timeout);
			put_u32(h, KSRV_A_LISTENER_CONNS, 0);
		}
		msg_end(h);
	}
	h = (struct nlmsghdr *)(out + outlen);
	memset(h, 0, NLMSG_LENGTH(sizeof(int)));
	h->nlmsg_type = NLMSG_DONE;
	h->nlmsg_flags = NLM_F_MULTI;
	h->nlmsg_seq = seq;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	msg_end(h);
}

static uint32_t u32_of(const struct nlattr *a)
{
	uint32_t v = 0;

	memcpy(&v, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN < 4 ?
	       a->nla_len - NLA_HDRLEN : 4);
	return v;
}

static void add(uint32_t seq, const struct nlattr **tb)
{
	struct listener l = { 0 };
	unsigned char bin[16];
	struct nlmsghdr *h;
	int i;

	if (!tb[KSRV_A_LISTENER_SERVICE] || !tb[KSRV_A_LISTENER_PROTO] ||
	    !tb[KSRV_A_LISTENER_PORT]) {
		ack(seq, EINVAL, "missing a required attribute");
		return;
	}
	snprintf(l.service, sizeof(l.service), "%s",
		 (const char *)tb[KSRV_A_LISTENER_SERVICE] + NLA_HDRLEN);
	if (param(l.service, "max_conns") < 0) {
		ack(seq, ENOENT, "no such service: is its module loaded?");
		return;
	}
	l.proto = *((const uint8_t *)tb[KSRV_A_LISTENER_PROTO] + NLA_HDRLEN);
	l.port = u32_of(tb[KSRV_A_LISTENER_PORT]) & 0xffff;
	snprintf(l.addr, sizeof(l.addr), "%s", tb[KSRV_A_LISTENER_ADDR] ?
		 (const char *)tb[KSRV_A_LISTENER_ADDR] + NLA_HDRLEN : "::");
	/* The address bound, as the kernel's %pISc prints it. */
	if (inet_pton(AF_INET, l.addr, bin) == 1)
		inet_ntop(AF_INET, bin, l.addr, sizeof(l.addr));
	else if (inet_pton(AF_INET6, l.addr, bin) == 1)
		inet_ntop(AF_INET6, bin, l.addr, sizeof(l.addr));
	l.backlog = tb[KSRV_A_LISTENER_BACKLOG] ?
		u32_of(tb[KSRV_A_LISTENER_BACKLOG]) :
		param(l.service, "backlog");
	l.max_conns = tb[KSRV_A_LISTENER_MAX_CONNS] ?
		u32_of(tb[KSRV_A_LISTENER_MAX_CONNS]) :
		param(l.service, "max_conns");
	l.idle_timeout = tb[KSRV_A_LISTENER_IDLE_TIMEOUT] ?
		u32_of(tb[KSRV_A_LISTENER_IDLE_TIMEOUT]) :
		param(l.service, "idle_timeout");
	/* Any address on a port conflicts: simpler than bind, and enough. */
	for (i = 0; i < nls; i++)
		if (ls[i].proto == l.proto && ls[i].port == l.port) {
			ack(seq, EADDRINUSE, "port already in use");
			return;
		}
	if (nls == MAX_LISTENERS) {
		ack(seq, ENOSPC, "no room for another listener in this namespace");
		return;
	}
	l.id = next_id++;
	ls[nls++] = l;
	save();
	h = msg_start(FAMILY_ID, 0, seq, KSRV_CMD_LISTENER_ADD);
	put_u32(h, KSRV_A_LISTENER_ID, l.id);
	msg_end(h);
	ack(seq, 0, NULL);
}

static void del(uint32_t seq, const struct nlattr **tb)
{
	uint32_t id;
	int i;

	if (!tb[KSRV_A_LISTENER_ID]) {
		ack(seq, EINVAL, "missing a required attribute");
		return;
	}
	id = u32_of(tb[KSRV_A_LISTENER_ID]);
	for (i = 0; i < nls && ls[i].id != id; i++)
		;
	if (i == nls) {
		ack(seq, ENOENT, "no such listener in this namespace");
		return;
	}
	memmove(&ls[i], &ls[i + 1], (nls - i - 1) * sizeof(ls[0]));
	nls--;
	save();
	ack(seq, 0, NULL);
}

static void handle(const struct nlmsghdr *q)
{
	const struct genlmsghdr *g = NLMSG_DATA(q);
	const struct nlattr *tb[KSRV_A_LISTENER_MAX + 1] = { 0 };
	const struct nlattr *a;
	int len = q->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	struct nlmsghdr *h;

	for (a = (const void *)((const char *)g + GENL_HDRLEN);
	     len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	     a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type <= KSRV_A_LISTENER_MAX)
			tb[a->nla_type] = a;
	outlen = 0;
	if (q->nlmsg_type == GENL_ID_CTRL) {
		uint16_t id = FAMILY_ID;

		h = msg_start(GENL_ID_CTRL, 0, q->nlmsg_seq,
			      CTRL_CMD_NEWFAMILY);
		put(h, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
		msg_end(h);
		ack(q->nlmsg_seq, 0, NULL);
	} else if (getenv("FAKE_KSRV_EPERM") &&
		   g->cmd != KSRV_CMD_LISTENER_GET) {
		ack(q->nlmsg_seq, EPERM, NULL);
	} else if (g->cmd == KSRV_CMD_LISTENER_GET) {
		dump(q->nlmsg_seq);
	} else if (g->cmd == KSRV_CMD_LISTENER_ADD) {
		add(q->nlmsg_seq, tb);
	} else if (g->cmd == KSRV_CMD_LISTENER_DEL) {
		del(q->nlmsg_seq, tb);
	} else {
		ack(q->nlmsg_seq, EOPNOTSUPP, NULL);
	}
}

/* ---- the calls kechoctl makes ---- */

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (domain != AF_NETLINK) {
		if (!real)
			real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
		return real(domain, type, protocol);
	}
	load();
	nlfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return nlfd;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (fd == nlfd)
		return 0;
	if (!real)
		real = (int (*)(int, int, int, const void *, socklen_t))
			dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *sa, socklen_t salen)
{
	static ssize_t (*real)(int, const void *, size_t, int,
			       const struct sockaddr *, socklen_t);

	if (fd == nlfd) {
		handle(buf);
		return len;
	}
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, int,
				    const struct sockaddr *, socklen_t))
			dlsym(RTLD_NEXT, "sendto");
	return real(fd, buf, len, flags, sa, salen);
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	ssize_t n = outlen;

	if (fd != nlfd) {
		if (!real)
			real = (ssize_t (*)(int, struct msghdr *, int))
				dlsym(RTLD_NEXT, "recvmsg");
		return real(fd, m, flags);
	}
	if (!n || (size_t)n > m->msg_iov[0].iov_len) {
		errno = EIO;
		return -1;
	}
	memcpy(m->msg_iov[0].iov_base, out, n);
	m->msg_flags = 0;
	outlen = 0;
	return n;
}

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	char buf[512];

	if (!real)
		real = (FILE *(*)(const char *, const char *))
			dlsym(RTLD_NEXT, "fopen");
	if (!strncmp(path, "/sys/module/", 12)) {
		snprintf(buf, sizeof(buf), "%s/%s", env("FAKE_KSRV_SYS"),
			 path + 12);
		return real(buf, mode);
	}
	return real(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return fopen(path, mode);
}
