// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-discard: the test client of the discard sample (RFC 863).
 *
 *   kecho-discard [-a ADDR] [-p PORT] [-t TIMEOUT_S] MODE [OPTIONS]
 *     tcp     -c CONNS -n BYTES   each connection sends BYTES, then
 *                                 SHUT_WR; the server must send nothing
 *                                 and close after it
 *     udp     -c DGRAMS -n BYTES  DGRAMS datagrams of BYTES each
 *     stream  -c CONNS            send until the server closes every
 *                                 connection (as unloading it must)
 *
 * Prints one line, "MODE: ... ok" and exits 0, or says what was wrong and
 * exits 1. A byte received from a discard server is wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS	1000

static struct sockaddr_storage addr;
static socklen_t addrlen;
static const char *mode = "?";
static char buf[65536];

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", mode);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max)
		die("bad number: %s", s);
	return v;
}

static int open_sock(int type)
{
	int fd = socket(addr.ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, addrlen))
		die("connect: %s", strerror(errno));
	return fd;
}

/* Send @n bytes, SHUT_WR, then the server's close, with nothing before. */
static void run_tcp(unsigned long conns, unsigned long n)
{
	unsigned long i, left;
	ssize_t r;

	for (i = 0; i < conns; i++) {
		int fd = open_sock(SOCK_STREAM);

		for (left = n; left; left -= r) {
			r = send(fd, buf, left < sizeof(buf) ? left : sizeof(buf),
				 MSG_NOSIGNAL);
			if (r < 0)
				die("send: %s", strerror(errno));
		}
		if (shutdown(fd, SHUT_WR))
			die("shutdown: %s", strerror(errno));
		r = recv(fd, buf, sizeof(buf), 0);
		if (r != 0)
			die("connection %lu: %s", i, r < 0 ? strerror(errno) :
			    "the server sent data");
		close(fd);
	}
	printf("tcp: conns=%lu bytes=%lu ok\n", conns, conns * n);
}

static void run_udp(unsigned long dgrams, unsigned long n)
{
	unsigned long i;
	int fd = open_sock(SOCK_DGRAM);

	if (n > sizeof(buf))
		die("at most %zu bytes a datagram", sizeof(buf));
	for (i = 0; i < dgrams; i++) {
		if (send(fd, buf, n, 0) != (ssize_t)n)
			die("send: %s", strerror(errno));
		/* Paced a little: loopback drops a burst past its backlog. */
		if (i % 64 == 63)
			usleep(1000);
	}
	usleep(200000);
	/* Nothing may come back: no answer, and no ICMP port unreachable. */
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		die("the server answered a datagram");
	if (errno != EAGAIN)
		die("recv: %s", strerror(errno));
	close(fd);
	printf("udp: dgrams=%lu bytes=%lu ok\n", dgrams, dgrams * n);
}

/* Stream on every connection until the server has closed them all. */
static void run_stream(unsigned long conns)
{
	struct pollfd pfd[MAX_CONNS];
	unsigned long i, open = conns;

	if (conns > MAX_CONNS)
		die("at most %d connections", MAX_CONNS);
	for (i = 0; i < conns; i++) {
		pfd[i].fd = open_sock(SOCK_STREAM);
		if (fcntl(pfd[i].fd, F_SETFL, O_NONBLOCK))
			die("fcntl: %s", strerror(errno));
		pfd[i].events = POLLOUT | POLLIN;
	}
	printf("stream: %lu connections streaming\n", conns);
	fflush(stdout);
	while (open) {
		if (poll(pfd, conns, -1) < 0)
			die("poll: %s", strerror(errno));
		for (i = 0; i < conns; i++) {
			ssize_t r = 1;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (pfd[i].revents & POLLIN)
				r = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (r > 0 && (pfd[i].revents & POLLOUT))
				r = send(pfd[i].fd, buf, sizeof(buf),
					 MSG_NOSIGNAL);
			if (r > 0 && (pfd[i].revents & POLLIN))
				die("the server sent data");
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open--;
		}
	}
	printf("stream: conns=%lu closed by the server ok\n", conns);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port = "8009";
	unsigned long c = 1, n = 1000;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+a:p:t:")) != -1) {
		switch (opt) {
		case 'a': host = optarg; break;
		case 'p': port = optarg; break;
		case 't': alarm(num(optarg, 100000)); break;
		default: die("usage: see the head of kecho-discard.c");
		}
	}
	if (optind >= argc)
		die("no mode given");
	mode = argv[optind];
	optind++;
	while ((opt = getopt(argc, argv, "c:n:")) != -1) {
		switch (opt) {
		case 'c': c = num(optarg, 100000000); break;
		case 'n': n = num(optarg, 1UL << 40); break;
		default: die("bad option");
		}
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(num(port, 65535));
		addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(num(port, 65535));
		addrlen = sizeof(*sin6);
	} else {
		die("not an IPv4 or IPv6 address: %s", host);
	}
	memset(buf, 'd', sizeof(buf));
	if (!strcmp(mode, "tcp"))
		run_tcp(c, n);
	else if (!strcmp(mode, "udp"))
		run_udp(c, n);
	else if (!strcmp(mode, "stream"))
		run_stream(c);
	else
		die("unknown mode");
	return 0;
}
