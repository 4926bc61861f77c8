/* SPDX-License-Identifier: GPL-2.0 */
/*
 * peer-common.h: what the user-space peer echo servers share, header-only.
 *
 * Command line (-p PORT, -b BUFSIZE, and -j N for the servers that take it),
 * the listening socket, accepted-socket options, the accept error policy,
 * the "listening" line, and the exit on SIGTERM/SIGINT.
 *
 * The listener is an IPv6 socket that also takes IPv4 (IPV6_V6ONLY off),
 * so one socket serves 127.0.0.1 and ::1; a kernel without IPv6 gets a
 * plain IPv4 socket instead.
 */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PEER_BACKLOG	4096
#define PEER_BUFMAX	(16 << 20)
#define PEER_MAXLISTEN	1024		/* listening sockets: -j at most */

/* Listening sockets, shut down at exit; count published after the fd. */
static int peer_lfds[PEER_MAXLISTEN];
static atomic_int peer_nlfds;
static atomic_bool peer_exiting;	/* SIGTERM or SIGINT: exit 0 soon */

struct peer_opts {
	const char *name;	/* "peer-epoll": prefixes every message */
	int port;
	size_t bufsize;
	int jobs;		/* threads; 0 if the server takes no -j */
};

static inline void __attribute__((noreturn, format(printf, 2, 3)))
peer_die(const struct peer_opts *o, const char *fmt, ...)
{
	va_list ap;

	/* Errors from the listeners' shutdown at exit: let the exit be 0. */
	while (atomic_load(&peer_exiting))
		pause();
	fprintf(stderr, "%s: ", o->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline void __attribute__((noreturn))
peer_usage(const struct peer_opts *o)
{
	fprintf(stderr, "usage: %s -p PORT [-b BUFSIZE]%s\n", o->name,
		o->jobs ? " [-j THREADS]" : "");
	exit(2);
}

static inline long peer_num(const struct peer_opts *o, const char *s,
			    long lo, long hi, char opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		peer_die(o, "-%c %s: must be %ld..%ld", opt, s, lo, hi);
	return v;
}

/* o->name set; o->jobs nonzero if -j is accepted (its default: nproc). */
static inline void peer_parse(struct peer_opts *o, int argc, char **argv)
{
	bool jobs = o->jobs;
	int c;

	o->port = 0;
	o->bufsize = 4096;
	if (jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o->jobs = n > 0 ? (int)n : 1;
	}
	while ((c = getopt(argc, argv, jobs ? "p:b:j:" : "p:b:")) != -1) {
		switch (c) {
		case 'p':
			o->port = peer_num(o, optarg, 1, 65535, 'p');
			break;
		case 'b':
			o->bufsize = peer_num(o, optarg, 1, PEER_BUFMAX, 'b');
			break;
		case 'j':
			o->jobs = peer_num(o, optarg, 1, 1024, 'j');
			break;
		default:
			peer_usage(o);
		}
	}
	if (!o->port || optind != argc)
		peer_usage(o);
}

/* Thousands of connections need thousands of descriptors. */
static inline void peer_raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static inline void peer_setopt(const struct peer_opts *o, int fd, int level,
			       int name, const char *what)
{
	int one = 1;

	if (setsockopt(fd, level, name, &one, sizeof(one)))
		peer_die(o, "setsockopt %s: %s", what, strerror(errno));
}

/* Small echoes must leave at once, not wait for Nagle. */
static inline void peer_nodelay(const struct peer_opts *o, int fd)
{
	int one = 1;

	/* Fails only if the connection is already gone: the I/O will say. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) &&
	    errno != EINVAL && errno != ECONNRESET)
		fprintf(stderr, "%s: TCP_NODELAY: %s\n", o->name,
			strerror(errno));
}

static inline int peer_listen(const struct peer_opts *o, bool reuseport,
			      bool nonblock)
{
	int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
	struct sockaddr_in6 a6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(o->port),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	struct sockaddr_in a4 = {
		.sin_family = AF_INET,
		.sin_port = htons(o->port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct sockaddr *sa = (struct sockaddr *)&a6;
	socklen_t len = sizeof(a6);
	int fd, off = 0;

	fd = socket(AF_INET6, type, 0);
	if (fd >= 0) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
			       sizeof(off)))
			peer_die(o, "IPV6_V6ONLY: %s", strerror(errno));
	} else if (errno == EAFNOSUPPORT) {
		fd = socket(AF_INET, type, 0);
		sa = (struct sockaddr *)&a4;
		len = sizeof(a4);
	}
	if (fd < 0)
		peer_die(o, "socket: %s", strerror(errno));
	peer_setopt(o, fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
	if (reuseport)
		peer_setopt(o, fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
	if (bind(fd, sa, len))
		peer_die(o, "bind port %d: %s", o->port, strerror(errno));
	if (listen(fd, PEER_BACKLOG))
		peer_die(o, "listen: %s", strerror(errno));
	if (atomic_load(&peer_nlfds) < PEER_MAXLISTEN) {
		peer_lfds[atomic_load(&peer_nlfds)] = fd;
		atomic_fetch_add(&peer_nlfds, 1);
	}
	return fd;
}

/* What to do after accept() failed with err. */
enum peer_accept {
	PEER_ACCEPT_RETRY,	/* that connection is gone: take the next */
	PEER_ACCEPT_DRAINED,	/* nothing to accept now */
	PEER_ACCEPT_BACKOFF,	/* out of descriptors or memory: wait */
};

static inline enum peer_accept peer_accept_error(const struct peer_opts *o,
						 int err)
{
	static bool warned;

	switch (err) {
	case EAGAIN:
		return PEER_ACCEPT_DRAINED;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		/* Retrying at once would spin; a connection may end soon. */
		if (!warned)
			fprintf(stderr, "%s: accept: %s, backing off\n",
				o->name, strerror(err));
		warned = true;
		return PEER_ACCEPT_BACKOFF;
	case EBADF:
	case EFAULT:
	case EINVAL:
	case ENOTSOCK:
	case EOPNOTSUPP:
		peer_die(o, "accept: %s", strerror(err));
	default:
		/* EINTR, ECONNABORTED, network errors Linux passes on */
		return PEER_ACCEPT_RETRY;
	}
}

static inline unsigned long long peer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * An epoll loop's listener, level-triggered (what an accept burst leaves
 * wakes the loop again), in the set with a NULL data.ptr. When accept()
 * runs out of descriptors or memory it is switched off for a while, since
 * it would otherwise wake the loop again at once, for ever.
 */
struct peer_listener {
	const struct peer_opts *o;
	int epfd, lfd;
	unsigned long long resume;	/* off until then, or 0 */
};

#define PEER_BACKOFF_NS	100000000ULL

static inline void peer_listener_init(struct peer_listener *pl,
				      const struct peer_opts *o, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	pl->o = o;
	pl->lfd = lfd;
	pl->resume = 0;
	pl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pl->epfd < 0)
		peer_die(o, "epoll_create1: %s", strerror(errno));
	if (epoll_ctl(pl->epfd, EPOLL_CTL_ADD, lfd, &ev))
		peer_die(o, "epoll_ctl listener: %s", strerror(errno));
}

static inline void peer_listener_set(struct peer_listener *pl,
				     unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = NULL };

	if (epoll_ctl(pl->epfd, EPOLL_CTL_MOD, pl->lfd, &ev))
		peer_die(pl->o, "epoll_ctl listener: %s", strerror(errno));
}

static inline void peer_listener_backoff(struct peer_listener *pl)
{
	peer_listener_set(pl, 0);
	pl->resume = peer_now_ns() + PEER_BACKOFF_NS;
}

/*
 * epoll_wait()'s timeout: @ms (-1: none), or less if the listener is due
 * back on before; switched back on once it is due.
 */
static inline int peer_listener_timeout(struct peer_listener *pl, int ms)
{
	unsigned long long now, left;

	if (!pl->resume)
		return ms;
	now = peer_now_ns();
	if (now >= pl->resume) {
		peer_listener_set(pl, EPOLLIN);
		pl->resume = 0;
		return ms;
	}
	left = (pl->resume - now) / 1000000 + 1;
	return ms >= 0 && (unsigned long long)ms < left ? ms : (int)left;
}

static inline void peer_ready(const struct peer_opts *o)
{
	printf("%s: listening on %d\n", o->name, o->port);
	fflush(stdout);
}

static inline void *peer_signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (sigwait(set, &sig))
		;
	/*
	 * The kernel closes every socket, but io_uring may release a listener
	 * after we are gone, still in LISTEN: the next server's bind() would
	 * fail. Shut them down now. Nothing else needs undoing, and the other
	 * threads may be anywhere, so skip atexit and stdio (stdout was
	 * flushed after the listening line).
	 */
	atomic_store(&peer_exiting, true);
	for (int i = 0; i < atomic_load(&peer_nlfds); i++)
		shutdown(peer_lfds[i], SHUT_RDWR);
	_exit(0);
}

/*
 * SIGTERM and SIGINT end the server with status 0; SIGPIPE is ignored.
 * Call before creating any other thread: they inherit the blocked mask, so
 * only the sigwait() thread ever sees the signals, and no event loop needs
 * an EINTR path or a stop flag.
 */
static inline void peer_exit_on_signal(const struct peer_opts *o)
{
	static sigset_t set;
	pthread_t tid;
	int err;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!err)
		err = pthread_create(&tid, NULL, peer_signal_thread, &set);
	if (err)
		peer_die(o, "signal thread: %s", strerror(err));
}

#endif /* PEER_COMMON_H */
