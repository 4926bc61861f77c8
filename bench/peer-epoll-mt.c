// SPDX-License-Identifier: GPL-2.0
/*
 * peer-epoll-mt: user-space echo server, one epoll loop per thread.
 *
 * Each of the -j threads (default: one per online CPU) runs peer-epoll's
 * loop on its own listening socket; SO_REUSEPORT has the kernel spread new
 * connections over the listeners by their addresses, so the threads share
 * nothing, not even an accept queue. Threads are not pinned: the load
 * generator runs on the same CPUs and the scheduler places both.
 *
 *   peer-epoll-mt -p PORT [-b BUFSIZE] [-j THREADS]
 */
#define PEER_EPOLL_MT
#include "peer-epoll.c"

struct worker {
	const struct peer_opts *o;
	int lfd;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	return epoll_loop(w->o, w->lfd);
}

int main(int argc, char **argv)
{
	static struct peer_opts o = { .name = "peer-epoll-mt", .jobs = 1 };
	struct worker *w;
	pthread_t tid;

	peer_parse(&o, argc, argv);
	peer_exit_on_signal(&o);
	peer_raise_nofile();
	w = calloc(o.jobs, sizeof(*w));
	if (!w)
		peer_die(&o, "out of memory");
	/* All listeners bound before the line that says we listen. */
	for (int i = 0; i < o.jobs; i++) {
		w[i].o = &o;
		w[i].lfd = peer_listen(&o, true, true);
	}
	peer_ready(&o);
	for (int i = 1; i < o.jobs; i++) {
		int err = pthread_create(&tid, NULL, worker_main, &w[i]);

		if (err)
			peer_die(&o, "pthread_create: %s", strerror(err));
	}
	worker_main(&w[0]);
	return 0;
}
