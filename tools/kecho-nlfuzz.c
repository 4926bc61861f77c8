// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-nlfuzz: a bounded fuzzer of the "ksrv" generic netlink family.
 *
 *   kecho-nlfuzz [-n MESSAGES] [-j THREADS] [-s SEED] [-p PORTBASE]
 *
 * THREADS threads send MESSAGES messages in all: adds, deletes and dumps
 * that mean it, and the same spoilt in one way each, down to random
 * bytes. Listeners, namespaces and the modules come and go meanwhile, so
 * the family may vanish or change its id: a lookup that finds none is
 * tried again later, and a request to a stale id just gets an error.
 * What is checked is the kernel's half: every reply read must be well
 * formed. The listeners it adds listen on PORTBASE and up, and are
 * deleted before it exits. A thread's choices follow from the seed; the
 * kernel's answers and the other threads' timing do not.
 *
 * Prints one line of counts. Exit status: 0 done, 1 a malformed reply
 * or a local failure, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/ksrv.h>
#include <linux/netlink.h>

#define REQ_SIZE	2048
#define RX_SIZE		65536	/* above the 32 KiB a dump's part has at most */
#define SMALL_RX	8192	/* above NLMSG_GOODSIZE, of 64 KiB pages too */
#define REPLY_SECS	2
#define OWN_MAX		16	/* a namespace holds 256 listeners, for all */
#define MAX_IDS		256
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * A message: an add, delete or dump that means it; or one spoilt by an
 * attribute of a type its policy lacks (0, past maxattr, NLA_F_NESTED),
 * an attribute twice, an integer of another size, a string without its
 * NUL, a nest where a value belongs, nla_len past the message or under
 * NLA_HDRLEN; or, dumps too, by a genlmsghdr cut short, nlmsg_len at
 * odds with the datagram, random flags, a command or version unknown;
 * or random bytes.
 */
enum {
	K_ADD, K_DEL, K_DUMP,
	K_UNKNOWN, K_DUP, K_BADLEN, K_NONUL, K_NEST, K_NLA_OVER, K_NLA_SHORT,
	K_GENL_SHORT, K_NLMSG_LEN, K_FLAGS, K_CMD, K_VERSION, K_RANDOM,
	NR_KINDS
};

enum {
	C_MSGS, C_ACKS, C_ERRS, C_EINVAL, C_ERANGE, C_ENOENT, C_EPERM,
	C_OTHER, C_DUMPS, C_ABANDONED, C_CLOSED, C_TIMEOUTS, C_NOFAMILY,
	C_NOBUFS, NR_COUNTS
};

/* What collect() returns other than an errno (0: an ack, a dump's end). */
enum { R_NONE = -1, R_TIMEOUT = -2, R_NOBUFS = -3, R_PART = -4 };

struct fuzzer {
	uint64_t rng;
	int fd;
	int rxlen;		/* read size: the kernel sizes dump parts by it */
	uint16_t family;	/* ksrv's id, 0 while unknown */
	uint16_t found;		/* the id in a lookup's reply */
	uint32_t seq;		/* of the request in flight */
	int64_t next_lookup;	/* ms */
	bool sweep;		/* take a dump's listeners on our ports */
	int term;		/* NLMSG_ERROR or NLMSG_DONE that ended it */
	int err;		/* and its errno */
	size_t len;		/* bytes of req to send */
	size_t last;		/* offset of req's last attribute, 0 for none */
	int nids;
	uint32_t ids[MAX_IDS];	/* listeners added, not known to be gone */
	long c[NR_COUNTS];
	union { struct nlmsghdr nlh; char buf[REQ_SIZE]; } req;
	union { struct nlmsghdr nlh; char buf[RX_SIZE]; } rx;
};

static long nr_msgs = 100000;
static unsigned int portbase = 40000;
static atomic_long issued;

static const char *const services[] = {
	"echo_async", "echo_sync", "discard",	/* known, first */
	"", "echo", "echo_async ", "ECHO_SYNC", "ksrv", "\xff\xfe",
	"echo_sync_echo_sync",			/* past the 15 allowed */
};

static const char *const addrs[] = {
	"", "0.0.0.0", "127.0.0.1", "::", "::1", "::ffff:127.0.0.1", /* good */
	"10.99.99.99", "fe80::1", "1.2.3", "256.1.1.1", "[::1]", "localhost",
	"127.0.0.1:80", " ::1",
	"0000:0000:0000:0000:0000:ffff:255.255.255.255",	/* 45: the most */
	"0000:0000:0000:0000:0000:ffff:255.255.255.2555",
};

static const struct { uint32_t lo, hi; } ranges[] = {
	[KSRV_A_LISTENER_BACKLOG]	= { 1, 65535 },
	[KSRV_A_LISTENER_MAX_CONNS]	= { 1, 1048576 },
	[KSRV_A_LISTENER_IDLE_TIMEOUT]	= { 0, 604800 },
};

static void __attribute__((noreturn)) die_errno(const char *what)
{
	fprintf(stderr, "kecho-nlfuzz: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void __attribute__((format(printf, 1, 2), noreturn))
malformed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kecho-nlfuzz: malformed reply from the kernel: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* splitmix64: each thread's own stream, from the seed. */
static uint64_t rnd(struct fuzzer *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct fuzzer *f, uint32_t n)
{
	return rnd(f) % n;
}

static void fill(struct fuzzer *f, void *p, size_t len)
{
	while (len--)
		((unsigned char *)p)[len] = rnd(f);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- requests ---- */

static void req_init(struct fuzzer *f, uint16_t type, uint16_t flags,
		     uint8_t cmd)
{
	struct genlmsghdr *g = NLMSG_DATA(&f->req.nlh);

	memset(&f->req, 0, sizeof(f->req));
	f->req.nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	f->req.nlh.nlmsg_type = type;
	f->req.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	f->req.nlh.nlmsg_seq = ++f->seq;
	g->cmd = cmd;
	g->version = KSRV_FAMILY_VERSION;
	f->len = f->req.nlh.nlmsg_len;
	f->last = 0;
}

/* An attribute more, unless the request is full: then it stays as it is. */
static void put(struct fuzzer *f, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(f->req.nlh.nlmsg_len);
	struct nlattr *a = (struct nlattr *)(f->req.buf + at);

	if (at + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(f->req.buf))
		return;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memmove(a + 1, data, len);
	f->last = at;
	f->len = f->req.nlh.nlmsg_len = at + NLA_ALIGN(NLA_HDRLEN + len);
}

static void put_str(struct fuzzer *f, uint16_t type, const char *s)
{
	put(f, type, s, strlen(s) + 1);
}

static void put_u32(struct fuzzer *f, uint16_t type, uint32_t v)
{
	put(f, type, &v, sizeof(v));
}

/* ---- replies ---- */

/* Notes listener @id as ours (@keep), or as gone. */
static void own(struct fuzzer *f, uint32_t id, bool keep)
{
	int i;

	for (i = 0; i < f->nids && f->ids[i] != id; i++)
		;
	if (i < f->nids && !keep)
		f->ids[i] = f->ids[--f->nids];
	else if (i == f->nids && keep && id && f->nids < MAX_IDS)
		f->ids[f->nids++] = id;
}

/* Attributes as nla_put() lays them out: each whole, nests too. */
static void check_attrs(const char *p, size_t len, const char *what)
{
	const struct nlattr *a;
	size_t step;

	for (; len; p += step, len -= step) {
		a = (const struct nlattr *)p;
		if (len < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
		    a->nla_len > len)
			malformed("%s: nla_len %u with %zu bytes left", what,
				  len < NLA_HDRLEN ? 0 : a->nla_len, len);
		if (a->nla_type & NLA_F_NESTED)
			check_attrs(p + NLA_HDRLEN, a->nla_len - NLA_HDRLEN,
				    what);
		step = NLA_ALIGN((size_t)a->nla_len);
		if (step > len)
			step = len;
	}
}

/* A checked message's u16 or u32 @type; 0, no id or port of ours, else. */
static uint32_t attr_uint(const struct nlmsghdr *nlh, int type)
{
	size_t at = NLMSG_LENGTH(GENL_HDRLEN);
	const struct nlattr *a;
	union { uint16_t u16; uint32_t u32; } v;

	for (; at + NLA_HDRLEN <= nlh->nlmsg_len; at += NLA_ALIGN(a->nla_len)) {
		a = (const struct nlattr *)((const char *)nlh + at);
		if ((a->nla_type & NLA_TYPE_MASK) != type ||
		    (a->nla_len != NLA_HDRLEN + 2 && a->nla_len != NLA_HDRLEN + 4))
			continue;
		memcpy(&v, a + 1, a->nla_len - NLA_HDRLEN);
		return a->nla_len == NLA_HDRLEN + 2 ? v.u16 : v.u32;
	}
	return 0;
}

/*
 * A family's message: checked, then mined for a lookup's id; for the
 * listener an add made, from its reply even when its request was given
 * up on; in a sweep, for a dump's listeners on our ports.
 */
static void take(struct fuzzer *f, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN;

	if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
		malformed("message type %u", nlh->nlmsg_type);
	if (len < GENL_HDRLEN)
		malformed("a family's message of %zu bytes", len);
	check_attrs((const char *)g + GENL_HDRLEN, len - GENL_HDRLEN,
		    "attributes");
	if (nlh->nlmsg_type == GENL_ID_CTRL && nlh->nlmsg_seq == f->seq)
		f->found = attr_uint(nlh, CTRL_ATTR_FAMILY_ID);
	if (!f->family || nlh->nlmsg_type != f->family)
		return;
	if (g->cmd == KSRV_CMD_LISTENER_ADD ||
	    (f->sweep && g->cmd == KSRV_CMD_LISTENER_GET &&
	     attr_uint(nlh, KSRV_A_LISTENER_PORT) >= portbase))
		own(f, attr_uint(nlh, KSRV_A_LISTENER_ID), true);
}

/*
 * NLMSG_ERROR: a struct nlmsgerr, the request echoed unless NLM_F_CAPPED,
 * then the extack's if NLM_F_ACK_TLVS. NLMSG_DONE: an int, then those.
 * Return: the errno.
 */
static int check_end(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN, at = sizeof(*e);
	bool done = nlh->nlmsg_type == NLMSG_DONE;

	if (done)
		at = sizeof(e->error);
	if (len < at || e->error > 0 || e->error < -4095)
		malformed("%s of %zu bytes, error %d", done ? "NLMSG_DONE" :
			  "NLMSG_ERROR", len, len < at ? 0 : e->error);
	if (!done && !(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN ||
		    NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN) > len - at)
			malformed("NLMSG_ERROR of %zu bytes echoes %u", len,
				  e->msg.nlmsg_len);
		at += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		check_attrs((const char *)e + at, len - at, "extack");
	return -e->error;
}

/*
 * A datagram's messages, each within it.
 * Return: bit 1 set if it ends the request of f->seq, bit 0 if it has
 * more of its answer; 0 if none.
 */
static int check_datagram(struct fuzzer *f, size_t len)
{
	const struct nlmsghdr *nlh = &f->rx.nlh;
	int ret = 0;
	size_t step;

	for (; len; len -= step) {
		if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    nlh->nlmsg_len > len)
			malformed("nlmsg_len %u with %zu bytes left",
				  len < NLMSG_HDRLEN ? 0 : nlh->nlmsg_len, len);
		if (nlh->nlmsg_type != NLMSG_ERROR &&
		    nlh->nlmsg_type != NLMSG_DONE) {
			take(f, nlh);
			ret |= nlh->nlmsg_seq == f->seq;
		} else if (nlh->nlmsg_seq == f->seq) {
			f->term = nlh->nlmsg_type;
			f->err = check_end(nlh);
			ret = 2;
		} else {
			check_end(nlh);	/* a request's given up on */
		}
		step = NLMSG_ALIGN((size_t)nlh->nlmsg_len);
		if (step > len)
			step = len;
		nlh = (const void *)((const char *)nlh + step);
	}
	return ret;
}

/*
 * Reads for the request of f->seq, to its NLMSG_ERROR or NLMSG_DONE;
 * without @wait only what is queued: the kernel answers within sendmsg(),
 * all but a dump's later parts. @parts > 0 gives up after so many
 * datagrams of its answer. Return: the errno it ended with, or R_*.
 */
static int collect(struct fuzzer *f, bool wait, int parts)
{
	struct sockaddr_nl sa;
	int ret;

	for (;;) {
		struct iovec iov = { f->rx.buf, f->rxlen };
		struct msghdr mh = {
			.msg_name = &sa, .msg_namelen = sizeof(sa),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(f->fd, &mh, wait ? 0 : MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			f->c[C_TIMEOUTS] += wait;
			return wait ? R_TIMEOUT : R_NONE;
		}
		/*
		 * The queue overflowed, maybe with this answer. Until it is
		 * read empty, the kernel drops answers without a word: it
		 * is, under a sequence number no answer has.
		 */
		if (n < 0 && errno == ENOBUFS) {
			f->c[C_NOBUFS]++;
			f->seq++;
			collect(f, false, 0);
			return R_NOBUFS;
		}
		if (n < 0)
			die_errno("receive");
		if (mh.msg_flags & MSG_TRUNC)
			malformed("a datagram above the %d read", f->rxlen);
		if (sa.nl_pid)
			malformed("a datagram from port %u", sa.nl_pid);
		ret = check_datagram(f, n);
		if (ret & 2)
			return f->err;
		if (ret && parts && !--parts)
			return R_PART;
	}
}

static void count(struct fuzzer *f, int ret)
{
	if (ret < 0)
		return;		/* none, or counted as it came */
	if (!ret) {
		f->c[C_ACKS] += f->term == NLMSG_ERROR;
		return;
	}
	f->c[C_ERRS]++;
	f->c[ret == EINVAL ? C_EINVAL : ret == ERANGE ? C_ERANGE :
	     ret == ENOENT ? C_ENOENT : ret == EPERM ? C_EPERM : C_OTHER]++;
}

/*
 * Return: whether the kernel took it; if not, no answer comes. Some
 * kernels refuse an empty datagram (ENODATA): an answer of sorts.
 */
static bool send_req(struct fuzzer *f)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(f->fd, f->req.buf, f->len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) >= 0)
		return true;
	if (errno == ENODATA || errno == EINVAL || errno == EMSGSIZE)
		count(f, errno);
	else if (errno == ENOBUFS || errno == ENOMEM || errno == EAGAIN)
		f->c[C_NOBUFS]++;
	else
		die_errno("send");
	return false;
}

/*
 * ksrv's id, from nlctrl; 0 while its module is out. Looked up again
 * soon then, and now and then anyway: a reload may give another id.
 */
static void lookup(struct fuzzer *f)
{
	int ret = R_NONE;

	req_init(f, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	put_str(f, CTRL_ATTR_FAMILY_NAME, KSRV_FAMILY_NAME);
	f->found = 0;
	if (send_req(f))
		ret = collect(f, true, 0);
	/* No answer (an overflow): the old id, if any, until the next try. */
	if (ret >= 0)
		f->family = ret ? 0 : f->found;
	f->c[C_NOFAMILY] += !f->family;
	f->next_lookup = now_ms() + (f->family && !ret ? 1000 : 100);
}

/* A socket, of random options unless @plain, and the family's id. */
static void sock_open(struct fuzzer *f, bool plain)
{
	struct timeval tv = { .tv_sec = REPLY_SECS };
	int one = 1, size = 1024 << below(f, 4);

	f->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (f->fd < 0)
		die_errno("netlink socket");
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die_errno("SO_RCVTIMEO");
	f->rxlen = RX_SIZE;
	/* Errors with and without the kernel's words and the request. */
	if (!plain && below(f, 8))
		setsockopt(f->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one,
			   sizeof(one));
	if (!plain && below(f, 2))
		setsockopt(f->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
			   sizeof(one));
	/*
	 * A dump's parts are as large as the reads, or NLMSG_GOODSIZE:
	 * smaller reads, more parts. A small queue holds the next part
	 * back until the last is read, and drops acks (ENOBUFS).
	 */
	if (!plain && below(f, 2))
		f->rxlen = SMALL_RX;
	if (!plain && !below(f, 4))
		setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	lookup(f);
}

/*
 * Whether an answer is certain: the kernel reads a message only whole,
 * acks it if asked, and ends a dump in NLMSG_DONE or an error. A do that
 * succeeds without NLM_F_ACK says nothing.
 */
static bool answered(const struct fuzzer *f)
{
	const struct nlmsghdr *nlh = &f->req.nlh;
	uint16_t fl = nlh->nlmsg_flags;

	if (f->len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
	    nlh->nlmsg_len > f->len)
		return false;
	return (fl & NLM_F_ACK) ||
	       ((fl & NLM_F_REQUEST) && (fl & NLM_F_DUMP) == NLM_F_DUMP &&
		nlh->nlmsg_type >= NLMSG_MIN_TYPE);
}

/* ---- messages ---- */

/* ksrv; while it is absent, nlctrl or an id above any family's. */
static uint16_t dest(struct fuzzer *f)
{
	if (f->family)
		return f->family;
	return below(f, 2) ? GENL_ID_CTRL :
	       GENL_MAX_ID + 1 + below(f, 0xffff - GENL_MAX_ID);
}

/* Around a range's ends, far out, or within. */
static uint32_t edge(struct fuzzer *f, uint32_t lo, uint32_t hi)
{
	const uint32_t v[] = { lo - 1, lo, hi, hi + 1, UINT32_MAX, 1u << 31 };
	unsigned int i = below(f, 8);

	return i < ARRAY_SIZE(v) ? v[i] : lo + below(f, hi - lo + 1);
}

static void put_add_attr(struct fuzzer *f, uint16_t type, bool good)
{
	unsigned int port = portbase + below(f, 128);
	uint8_t proto = good ? KSRV_PROTO_TCP + below(f, 2) : rnd(f);
	uint16_t port16;

	switch (type) {
	case KSRV_A_LISTENER_SERVICE:
		put_str(f, type, services[below(f, good ? 3 :
						ARRAY_SIZE(services))]);
		break;
	case KSRV_A_LISTENER_PROTO:
		put(f, type, &proto, sizeof(proto));
		break;
	case KSRV_A_LISTENER_ADDR:
		put_str(f, type, addrs[below(f, good ? 6 : ARRAY_SIZE(addrs))]);
		break;
	case KSRV_A_LISTENER_PORT:
		/* Ours, or the policy's ends: none another test listens on. */
		port16 = port > 65535 ? 65535 : port;
		if (!good && !below(f, 3))
			port16 = below(f, 2) ? 0 : 65535;
		put(f, type, &port16, sizeof(port16));
		break;
	default:
		put_u32(f, type, good ? ranges[type].lo +
			below(f, ranges[type].hi - ranges[type].lo + 1) :
			edge(f, ranges[type].lo, ranges[type].hi));
		break;
	}
}

/*
 * A listener-add, in an order of its own: mostly a good one, which may
 * well start a listener, else some attributes at and past their limits.
 */
static void build_add(struct fuzzer *f)
{
	const int nr = KSRV_A_LISTENER_IDLE_TIMEOUT - KSRV_A_LISTENER_SERVICE + 1;
	int i, first = below(f, nr);
	bool good = below(f, 4);
	uint16_t type;

	req_init(f, dest(f), below(f, 8) ? NLM_F_ACK : 0,
		 KSRV_CMD_LISTENER_ADD);
	for (i = 0; i < nr; i++) {
		type = KSRV_A_LISTENER_SERVICE + (first + i) % nr;
		if (good ? type <= KSRV_A_LISTENER_PROTO ||
			   type == KSRV_A_LISTENER_PORT || below(f, 2) :
			   below(f, 3) > 0)
			put_add_attr(f, type, good);
	}
}

/*
 * A listener-del of one of ours, or of an id no one's listener has: ids
 * count up from 1 in a namespace, and the others' listeners must stay.
 */
static uint32_t build_del(struct fuzzer *f)
{
	const uint32_t far[] = { 0, UINT32_MAX, 1u << 31 };
	uint32_t id = 0x1000000 + below(f, 0xff000000);

	req_init(f, dest(f), below(f, 8) ? NLM_F_ACK : 0,
		 KSRV_CMD_LISTENER_DEL);
	if (f->nids && (f->nids >= OWN_MAX || !below(f, 4)))
		id = f->ids[below(f, f->nids)];
	else if (below(f, 2))
		id = far[below(f, ARRAY_SIZE(far))];
	if (below(f, 16))
		put_u32(f, KSRV_A_LISTENER_ID, id);
	return id;
}

static void build_dump(struct fuzzer *f)
{
	req_init(f, dest(f), NLM_F_DUMP | (below(f, 4) ? 0 : NLM_F_ACK),
		 below(f, 2) ? KSRV_CMD_LISTENER_GET : KSRV_CMD_CONN_GET);
}

/*
 * Random bytes. A header's worth gets our type and sequence number, and
 * a length of the datagram's or past it: no family but ours, nlctrl or
 * none reads them, not even as a second message.
 */
static void build_random(struct fuzzer *f)
{
	struct nlmsghdr *nlh = &f->req.nlh;

	f->len = below(f, 4) ? below(f, 256) : below(f, sizeof(f->req.buf));
	fill(f, f->req.buf, f->len);
	if (f->len < NLMSG_HDRLEN)
		return;
	nlh->nlmsg_type = dest(f);
	nlh->nlmsg_seq = ++f->seq;
	nlh->nlmsg_len = below(f, 4) ? f->len : f->len + 1 + below(f, 1000);
}

/* The attributes of an add or a delete spoilt, as @kind says. */
static void spoil_attrs(struct fuzzer *f, unsigned int kind)
{
	const uint16_t odd[] = {
		0, KSRV_A_LISTENER_ID, KSRV_A_LISTENER_CONNS,
		KSRV_A_LISTENER_STAT, KSRV_A_LISTENER_MAX + 1, 0x3fff,
	};
	const uint16_t ints[][2] = {	/* type, size */
		{ KSRV_A_LISTENER_PROTO, 1 }, { KSRV_A_LISTENER_PORT, 2 },
		{ KSRV_A_LISTENER_BACKLOG, 4 }, { KSRV_A_LISTENER_ID, 4 },
	};
	struct nlattr *a, in = { NLA_HDRLEN + sizeof(uint32_t),
				 KSRV_A_LISTENER_ID };
	unsigned int i = below(f, ARRAY_SIZE(ints)), n = below(f, 17);
	char junk[24];
	const char *s;

	fill(f, junk, sizeof(junk));
	if (!f->last)
		put_u32(f, KSRV_A_LISTENER_ID, rnd(f));
	a = (struct nlattr *)(f->req.buf + f->last);
	switch (kind) {
	case K_UNKNOWN:
		put(f, (below(f, 2) ? odd[below(f, ARRAY_SIZE(odd))] :
			 below(f, 0x4000)) |
		    (below(f, 3) ? 0 : NLA_F_NESTED) |
		    (below(f, 6) ? 0 : NLA_F_NET_BYTEORDER),
		    junk, below(f, sizeof(junk) + 1));
		break;
	case K_DUP:	/* the last again, or an add's with another value */
		if ((a->nla_type & NLA_TYPE_MASK) >= KSRV_A_LISTENER_SERVICE &&
		    below(f, 2))
			put_add_attr(f, a->nla_type & NLA_TYPE_MASK, true);
		else
			put(f, a->nla_type, a + 1, a->nla_len - NLA_HDRLEN);
		break;
	case K_BADLEN:	/* too short: ERANGE; too long: EINVAL */
		put(f, ints[i][0], junk, n + (n == ints[i][1]));
		break;
	case K_NONUL:
		s = i & 1 ? services[below(f, 3)] : addrs[1 + below(f, 5)];
		put(f, i & 1 ? KSRV_A_LISTENER_SERVICE : KSRV_A_LISTENER_ADDR,
		    s, strlen(s));
		break;
	case K_NEST:	/* round a u32 attribute */
		memcpy(junk, &in, sizeof(in));
		put(f, (KSRV_A_LISTENER_ID + below(f, 6)) |
		    (below(f, 4) ? NLA_F_NESTED : 0), junk, in.nla_len);
		break;
	case K_NLA_OVER:
		n = f->req.nlh.nlmsg_len - f->last;
		a->nla_len = n + 1 + below(f, below(f, 2) ? 8 : 0xffff - n);
		break;
	default:
		a->nla_len = below(f, NLA_HDRLEN);
		break;
	}
}

/*
 * The headers of an add, a delete or a dump spoilt, as @kind says. What
 * follows the message nlmsg_len claims stays under a header's size: the
 * kernel reads no second message from it, which could be any family's.
 */
static void spoil_headers(struct fuzzer *f, unsigned int kind)
{
	struct genlmsghdr *g = NLMSG_DATA(&f->req.nlh);
	struct nlmsghdr *nlh = &f->req.nlh;
	unsigned int n = 1 + below(f, NLMSG_HDRLEN - 1);

	if (kind == K_GENL_SHORT) {
		f->len = nlh->nlmsg_len = NLMSG_HDRLEN + below(f, GENL_HDRLEN);
	} else if (kind == K_FLAGS) {
		nlh->nlmsg_flags = rnd(f) | (below(f, 2) ? NLM_F_REQUEST : 0);
	} else if (kind == K_CMD) {
		g->cmd = below(f, 4) ? KSRV_CMD_MAX + 1 +
				       below(f, 255 - KSRV_CMD_MAX) : 0;
	} else if (kind == K_VERSION) {
		g->version = below(f, 2) ? 0 : KSRV_FAMILY_VERSION + 1 +
				below(f, 255 - KSRV_FAMILY_VERSION);
	} else switch (below(f, 5)) {
	case 0:		/* past the datagram: dropped */
		nlh->nlmsg_len = f->len + 1 +
				 below(f, below(f, 2) ? 16 : UINT32_MAX - f->len);
		break;
	case 1:		/* under a header: the datagram dropped */
		nlh->nlmsg_len = below(f, NLMSG_HDRLEN);
		break;
	case 2:		/* a datagram under a header */
		f->len = below(f, NLMSG_HDRLEN);
		break;
	case 3:		/* into the payload, which has the genlmsghdr */
		nlh->nlmsg_len = f->len - 1 - below(f, GENL_HDRLEN);
		break;
	default:	/* bytes after it; a request is far under REQ_SIZE */
		fill(f, f->req.buf + f->len, n);
		f->len += n;
		break;
	}
}

/*
 * A dump read to its end, or given up on after a part of it: the next
 * request goes on the same socket (a dump gets EBUSY while the old one
 * runs; other answers come after its parts), or the socket is closed.
 */
static void dump(struct fuzzer *f)
{
	unsigned int how = below(f, 8);
	int ret;

	build_dump(f);
	if (!send_req(f))
		return;
	f->c[C_DUMPS]++;
	ret = collect(f, true, how < 5 ? 0 : 1);
	count(f, ret);
	if (ret != R_PART)
		return;
	if (how < 7) {
		f->c[C_ABANDONED]++;
		return;
	}
	f->c[C_CLOSED]++;
	close(f->fd);
	sock_open(f, false);
}

static void fuzz_one(struct fuzzer *f)
{
	unsigned int kind = below(f, NR_KINDS + 6);
	uint32_t id = 0;
	int ret;

	if (kind >= NR_KINDS)
		kind = (kind - NR_KINDS) % 3;	/* meant, more often */
	if (kind == K_ADD && f->nids >= OWN_MAX)
		kind = K_DEL;
	f->c[C_MSGS]++;
	if (kind == K_DUMP) {
		dump(f);
		return;
	}
	if (kind == K_RANDOM)
		build_random(f);
	else if (kind == K_DEL || (kind != K_ADD && below(f, 2)))
		id = build_del(f);
	else if (kind < K_GENL_SHORT || below(f, 2))
		build_add(f);
	else
		build_dump(f);
	if (kind >= K_UNKNOWN && kind < K_GENL_SHORT)
		spoil_attrs(f, kind);
	else if (kind >= K_GENL_SHORT && kind < K_RANDOM)
		spoil_headers(f, kind);
	if (!send_req(f))
		return;
	ret = collect(f, answered(f), 0);
	count(f, ret);
	if (kind == K_DEL && (ret == 0 || ret == ENOENT))
		own(f, id, false);
}

static void *worker(void *arg)
{
	struct fuzzer *f = arg;

	sock_open(f, false);
	while (atomic_fetch_add(&issued, 1) < nr_msgs) {
		if (now_ms() >= f->next_lookup)
			lookup(f);
		fuzz_one(f);
		if (!below(f, 1024)) {		/* other options */
			close(f->fd);
			sock_open(f, false);
		}
	}
	close(f->fd);
	return NULL;
}

/* ---- the end ---- */

/* Gone already, with its module, is as good. */
static void del_id(struct fuzzer *f, uint32_t id)
{
	req_init(f, f->family, NLM_F_ACK, KSRV_CMD_LISTENER_DEL);
	put_u32(f, KSRV_A_LISTENER_ID, id);
	if (send_req(f))
		collect(f, true, 0);
}

/*
 * On a socket of its own: the listeners the threads know they added,
 * then any a dump shows on our ports (an add's reply lost to ENOBUFS or
 * to a socket closed). No family, no listeners left.
 */
static void sweep(struct fuzzer *fz, int nr)
{
	struct fuzzer *s = &fz[nr];
	int i, j, round;

	sock_open(s, true);
	for (i = 0; s->family && i < nr; i++)
		for (j = 0; j < fz[i].nids; j++)
			del_id(s, fz[i].ids[j]);
	for (round = 0; s->family && round < 4; round++) {
		s->nids = 0;
		s->sweep = true;
		req_init(s, s->family, NLM_F_DUMP, KSRV_CMD_LISTENER_GET);
		if (send_req(s))
			collect(s, true, 0);
		s->sweep = false;
		for (j = 0; j < s->nids; j++)
			del_id(s, s->ids[j]);
		if (!s->nids)
			break;
	}
	close(s->fd);
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("usage: kecho-nlfuzz [-n MESSAGES] [-j THREADS] [-s SEED] [-p PORTBASE]\n"
	      "  -n MESSAGES  in all, over the threads (default 100000)\n"
	      "  -j THREADS   each with sockets of its own (default 4)\n"
	      "  -s SEED      of the threads' choices (default: the time)\n"
	      "  -p PORTBASE  where its listeners' ports start (default 40000)\n",
	      status ? stderr : stdout);
	exit(status);
}

static unsigned long long number(int opt, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(optarg, &end, 10);
	if (*optarg < '0' || *optarg > '9' || *end || errno || v > max ||
	    (!v && (opt == 'j' || opt == 'p'))) {
		fprintf(stderr, "kecho-nlfuzz: -%c: out of range: %s\n", opt,
			optarg);
		usage(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long long seed = time(NULL);
	long c[NR_COUNTS] = { 0 };
	int opt, nr = 4, i, j;
	struct fuzzer *fz;
	pthread_t *tids;
	int64_t start;
	double secs;

	while ((opt = getopt(argc, argv, "n:j:s:p:h")) != -1) {
		if (opt == 'n')
			nr_msgs = number(opt, LONG_MAX);
		else if (opt == 'j')
			nr = number(opt, 256);
		else if (opt == 's')
			seed = number(opt, ULLONG_MAX);
		else if (opt == 'p')
			portbase = number(opt, 65535);
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (optind < argc)
		usage(2);
	/* To run it again. */
	fprintf(stderr, "kecho-nlfuzz: seed %llu\n", seed);
	fz = calloc(nr + 1, sizeof(*fz));
	tids = calloc(nr, sizeof(*tids));
	if (!fz || !tids)
		die_errno("calloc");
	start = now_ms();
	for (i = 0; i <= nr; i++)
		fz[i].rng = seed + ((uint64_t)i << 40);
	for (i = 0; i < nr; i++) {
		errno = pthread_create(&tids[i], NULL, worker, &fz[i]);
		if (errno)
			die_errno("pthread_create");
	}
	for (i = 0; i < nr; i++) {
		pthread_join(tids[i], NULL);
		for (j = 0; j < NR_COUNTS; j++)
			c[j] += fz[i].c[j];
	}
	secs = (now_ms() - start) / 1000.0;
	sweep(fz, nr);
	printf("nlfuzz: messages=%ld secs=%.2f msgs_per_sec=%.0f acks=%ld errors=%ld (EINVAL=%ld ERANGE=%ld ENOENT=%ld EPERM=%ld other=%ld) dumps=%ld abandoned=%ld closed_mid_dump=%ld timeouts=%ld nofamily=%ld enobufs=%ld\n",
	       c[C_MSGS], secs, secs > 0 ? c[C_MSGS] / secs : 0.0,
	       c[C_ACKS], c[C_ERRS], c[C_EINVAL], c[C_ERANGE], c[C_ENOENT],
	       c[C_EPERM], c[C_OTHER], c[C_DUMPS], c[C_ABANDONED],
	       c[C_CLOSED], c[C_TIMEOUTS], c[C_NOFAMILY], c[C_NOBUFS]);
	return 0;
}
