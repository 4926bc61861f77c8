// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-vanish: clients that vanish without FIN or RST.
 *
 *   kecho-vanish [-a ADDR] [-p PORT] [-c CONNS]
 *
 * Opens CONNS connections, checks that each echoes one byte, then puts
 * each socket in TCP_REPAIR mode and closes it: the kernel sends nothing,
 * so the server side stays established with nothing in flight, as if the
 * client's host had died. TCP_REPAIR needs CAP_NET_ADMIN in the network
 * namespace's user namespace, which root of a container has. Prints
 * "vanished=N ok" and exits 0 when every connection echoed and vanished.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif

static void die(const char *what)
{
	fprintf(stderr, "kecho-vanish: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int connect_one(const struct sockaddr_in6 *sa)
{
	struct timeval tv = { .tv_sec = 30 };
	char c = 'v';
	int fd;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
		die("connect");
	if (write(fd, &c, 1) != 1)
		die("write");
	c = 0;
	if (read(fd, &c, 1) != 1 || c != 'v') {
		fprintf(stderr, "kecho-vanish: no echo\n");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons(8081) };
	const char *addr = "::1";
	long conns = 1, i;
	int *fds, opt, on = 1;
	struct in_addr v4;

	while ((opt = getopt(argc, argv, "a:p:c:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': sa.sin6_port = htons(atoi(optarg)); break;
		case 'c': conns = atol(optarg); break;
		default:
			fprintf(stderr, "usage: kecho-vanish [-a ADDR] [-p PORT] [-c CONNS]\n");
			return 2;
		}
	}
	if (conns < 1 || conns > 100000)
		return fprintf(stderr, "kecho-vanish: bad -c\n"), 2;
	if (inet_pton(AF_INET, addr, &v4) == 1) {
		sa.sin6_addr.s6_addr[10] = 0xff;
		sa.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa.sin6_addr.s6_addr[12], &v4, 4);
	} else if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
		return fprintf(stderr, "kecho-vanish: bad address %s\n", addr), 2;
	}
	fds = calloc(conns, sizeof(*fds));
	if (!fds)
		die("calloc");
	for (i = 0; i < conns; i++)
		fds[i] = connect_one(&sa);
	for (i = 0; i < conns; i++) {
		if (setsockopt(fds[i], IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
			die("TCP_REPAIR");
		close(fds[i]);
	}
	printf("vanished=%ld ok\n", conns);
	return 0;
}
