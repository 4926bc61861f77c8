// SPDX-License-Identifier: GPL-2.0
/*
 * Thread-per-connection bookkeeping that lets module exit wait for every
 * connection thread, including those that end on their own.
 *
 * A thread that frees its connection and then returns still executes module
 * code on its way out; if module exit did not wait for it, the module text
 * could be freed under it. Taking a module reference instead (the tutorial's
 * step 6) makes the module impossible to unload while any client is
 * connected. So each thread ends in kthread_complete_and_exit(), which
 * signals the completion from core kernel code and never returns, and exit
 * waits for one completion per thread ever started.
 */
#include <linux/kthread.h>
#include <linux/module.h>

#include "ksrv_core.h"

/**
 * ksrv_threads_init() - initialise an empty thread group
 * @threads: the group
 */
void ksrv_threads_init(struct ksrv_threads *threads)
{
	init_completion(&threads->exited);
	atomic_set(&threads->running, 0);
}
EXPORT_SYMBOL_GPL(ksrv_threads_init);

/*
 * Account for threads that have exited; keeps the completion count small.
 * Spawners may reap at once: each takes one completion for each decrement,
 * and there are never more completions than threads counted running.
 */
static void ksrv_threads_reap(struct ksrv_threads *threads)
{
	while (atomic_read(&threads->running) &&
	       try_wait_for_completion(&threads->exited))
		atomic_dec(&threads->running);
}

/**
 * ksrv_threads_spawn() - create a thread that the group will wait for
 * @threads: the group; several threads may spawn into it at once
 * @fn: the thread's body; it must end with ksrv_threads_exit()
 * @data: passed to @fn
 * @namefmt: printf format of the thread's name, taking @name and @id
 * @name: a string for @namefmt
 * @id: an unsigned int for @namefmt
 *
 * The thread is created stopped: the caller publishes whatever @fn needs,
 * then starts it with wake_up_process(). It cannot exit before that, so the
 * returned pointer is valid until then without a reference.
 *
 * Return: the new thread, or an ERR_PTR().
 */
struct task_struct *ksrv_threads_spawn(struct ksrv_threads *threads,
				       int (*fn)(void *data), void *data,
				       const char *namefmt, const char *name,
				       unsigned int id)
{
	struct task_struct *task;

	ksrv_threads_reap(threads);
	task = kthread_create(fn, data, namefmt, name, id);
	/* Counted before it is woken: it cannot complete before. */
	if (!IS_ERR(task))
		atomic_inc(&threads->running);
	return task;
}
EXPORT_SYMBOL_GPL(ksrv_threads_spawn);

/**
 * ksrv_threads_wait() - wait until every thread of the group has exited
 * @threads: the group; nothing may spawn into it any more
 *
 * The caller must first make every thread end (shut its socket down).
 */
void ksrv_threads_wait(struct ksrv_threads *threads)
{
	for (; atomic_read(&threads->running); atomic_dec(&threads->running))
		wait_for_completion(&threads->exited);
}
EXPORT_SYMBOL_GPL(ksrv_threads_wait);
