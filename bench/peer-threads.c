// SPDX-License-Identifier: GPL-2.0
/*
 * peer-threads: user-space echo server, one thread per connection.
 *
 * The user-space counterpart of echo_sync: a blocking accept loop, and per
 * connection a thread that reads up to BUFSIZE bytes and writes all of them
 * back before reading again, so each connection holds at most BUFSIZE bytes.
 *
 *   peer-threads -p PORT [-b BUFSIZE]
 */
#define _GNU_SOURCE
#include <time.h>

#include "peer-common.h"

/* Connection threads need little stack: their buffer is on the heap. */
#define STACK_SIZE	(64 << 10)
#define BACKOFF_NS	100000000L	/* after running out of fds or memory */

static struct peer_opts opts = { .name = "peer-threads" };

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= n;
	}
	return true;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(opts.bufsize);

	if (!buf)
		fprintf(stderr, "%s: out of memory for a connection\n",
			opts.name);
	while (buf) {
		ssize_t n = read(fd, buf, opts.bufsize);

		if (n < 0 && errno == EINTR)
			continue;
		/* EOF or error: with nothing pending, the echo is complete. */
		if (n <= 0 || !write_all(fd, buf, n))
			break;
	}
	free(buf);
	close(fd);
	return NULL;
}

static void backoff(void)
{
	struct timespec ts = { .tv_nsec = BACKOFF_NS };

	nanosleep(&ts, NULL);
}

static void serve(int lfd)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* If refused, the default stack only costs address space. */
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (;;) {
		pthread_t tid;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (peer_accept_error(&opts, errno) ==
			    PEER_ACCEPT_BACKOFF)
				backoff();
			continue;
		}
		peer_nodelay(&opts, fd);
		err = pthread_create(&tid, &attr, conn_main,
				     (void *)(intptr_t)fd);
		if (err) {
			/* The client sees the close; others go on. */
			fprintf(stderr, "%s: pthread_create: %s\n", opts.name,
				strerror(err));
			close(fd);
			backoff();
		}
	}
}

int main(int argc, char **argv)
{
	int lfd;

	peer_parse(&opts, argc, argv);
	peer_exit_on_signal(&opts);
	peer_raise_nofile();
	lfd = peer_listen(&opts, false, false);
	peer_ready(&opts);
	serve(lfd);
	return 0;
}
