// SPDX-License-Identifier: GPL-2.0
/*
 * peer-uring-mt: user-space echo server on io_uring, a ring per thread.
 *
 * Each of the -j threads (default: one per online CPU) runs peer-uring's
 * loop with a ring, a buffer pool and a listening socket of its own;
 * SO_REUSEPORT has the kernel spread new connections over the listeners,
 * so the threads share nothing, as peer-epoll-mt's do. Threads are not
 * pinned.
 *
 *   peer-uring-mt -p PORT [-b BUFSIZE] [-j THREADS]
 */
#define PEER_URING_MT
#include "peer-uring.c"

struct worker {
	int lfd;
	pthread_barrier_t *ready;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	serve_setup(w->lfd);
	pthread_barrier_wait(w->ready);
	run();
}

int main(int argc, char **argv)
{
	pthread_barrier_t ready;
	struct worker *w;
	pthread_t tid;
	int err;

	peer_parse(&opts, argc, argv);
	peer_exit_on_signal(&opts);
	peer_raise_nofile();
	w = calloc(opts.jobs, sizeof(*w));
	if (!w)
		peer_die(&opts, "out of memory");
	/* All listeners bound and every ring set up before we say so. */
	err = pthread_barrier_init(&ready, NULL, opts.jobs + 1);
	if (err)
		peer_die(&opts, "pthread_barrier_init: %s", strerror(err));
	for (int i = 0; i < opts.jobs; i++) {
		w[i].lfd = peer_listen(&opts, true, false);
		w[i].ready = &ready;
	}
	for (int i = 0; i < opts.jobs; i++) {
		err = pthread_create(&tid, NULL, worker_main, &w[i]);
		if (err)
			peer_die(&opts, "pthread_create: %s", strerror(err));
	}
	pthread_barrier_wait(&ready);
	peer_ready(&opts);
	for (;;)
		pause();
}
