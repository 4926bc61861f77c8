// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-urgent: TCP urgent data (MSG_OOB) in the middle of an echo.
 *
 *   kecho-urgent [-a ADDR] [-p PORT] [-n ROUNDS] [-t TIMEOUT_S]
 *
 * Each round sends a chunk of the stream, then one byte with MSG_OOB, then
 * waits for the chunk's echo. A server reading with read() (no
 * SO_OOBINLINE) takes the urgent byte out of the stream, so what must come
 * back is every chunk and no urgent byte, in order: the client reads
 * without SO_OOBINLINE too, and checks each byte. The chunk sizes vary
 * (1 byte to 3000), so the urgent mark falls at the start, inside and at
 * the end of the server's reads. After the rounds, SHUT_WR, and the echo
 * must end with EOF. Exit 0 and "urgent: ok ROUNDS rounds BYTES bytes", or
 * 1 and a line saying what was wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CHUNK	3000

static int timeout_ms = 60000;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("urgent: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	exit(1);
}

/* Byte @i of the stream: never equal to the urgent byte, 0xff. */
static unsigned char stream_byte(unsigned long i)
{
	return (unsigned char)((i * 131 + (i >> 8)) % 255);
}

static void wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, timeout_ms);

	if (n == 0)
		die("timed out after %d ms", timeout_ms);
	if (n < 0)
		die("poll: %s", strerror(errno));
}

/* Reads @len bytes of echo and checks them against the stream at @pos. */
static void read_echo(int fd, unsigned long pos, size_t len)
{
	unsigned char buf[MAX_CHUNK];
	size_t got = 0, i;

	while (got < len) {
		ssize_t n;

		wait_for(fd, POLLIN);
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die("recv: %s", strerror(errno));
		if (n == 0)
			die("EOF after %lu bytes, %zu short", pos + got,
			    len - got);
		got += n;
	}
	for (i = 0; i < len; i++)
		if (buf[i] != stream_byte(pos + i))
			die("byte %lu: got 0x%02x, want 0x%02x", pos + i,
			    buf[i], stream_byte(pos + i));
}

static int connect_to(const char *addr, int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t len = sizeof(a4);
	int fd, one = 1;

	a4.sin_port = a6.sin6_port = htons(port);
	if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&a6;
		len = sizeof(a6);
	} else if (inet_pton(AF_INET, addr, &a4.sin_addr) != 1) {
		die("not an IPv4 or IPv6 address: %s", addr);
	}
	fd = socket(sa->sa_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, sa, len))
		die("connect to %s port %d: %s", addr, port, strerror(errno));
	/* Each send its own segment, so the mark lands where we put it. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	unsigned char buf[MAX_CHUNK], oob = 0xff;
	unsigned long pos = 0;
	int fd, c, rounds = 50, r, port = 8081;
	ssize_t n;

	while ((c = getopt(argc, argv, "a:p:n:t:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 't': timeout_ms = atoi(optarg) * 1000; break;
		default:
			fputs("usage: kecho-urgent [-a ADDR] [-p PORT] [-n ROUNDS] [-t TIMEOUT_S]\n",
			      stderr);
			return 2;
		}
	}
	if (rounds < 1 || timeout_ms < 1000 || port < 1 || port > 65535)
		die("bad -n, -p or -t");

	fd = connect_to(addr, port);
	for (r = 0; r < rounds; r++) {
		/* 1, 2, 3 bytes, then larger, up to MAX_CHUNK. */
		size_t len = r < 3 ? r + 1 : 1 + (r * 997) % MAX_CHUNK;
		size_t i;

		for (i = 0; i < len; i++)
			buf[i] = stream_byte(pos + i);
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n != (ssize_t)len)
			die("send: %zd of %zu: %s", n, len, strerror(errno));
		if (send(fd, &oob, 1, MSG_OOB | MSG_NOSIGNAL) != 1)
			die("send MSG_OOB: %s", strerror(errno));
		read_echo(fd, pos, len);
		pos += len;
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	wait_for(fd, POLLIN);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != 0)
		die("want EOF after %lu bytes, got %zd more (%s)", pos, n,
		    n < 0 ? strerror(errno) : "data");
	close(fd);
	printf("urgent: ok %d rounds %lu bytes\n", rounds, pos);
	return 0;
}
