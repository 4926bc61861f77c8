// SPDX-License-Identifier: GPL-2.0
/*
 * The reactor: a socket's readiness wakes a task.
 *
 * A watch is an entry on the socket's wait queue, the same queue poll() and
 * epoll sleep on, rather than replacement sk_data_ready / sk_write_space /
 * sk_state_change callbacks. An entry composes with whoever else watches
 * the socket, needs no saving and restoring of callbacks under
 * sk_callback_lock, and gets every event the socket reports, with its
 * EPOLL* mask as the key.
 *
 * The callback runs in softirq or with the queue's spinlock held: it only
 * filters and wakes the task. A watch stays armed from ksrv_watch_arm() to
 * ksrv_watch_disarm(); since a task woken while running is run again, data
 * that arrives just after the task saw -EAGAIN is never missed.
 */
#include <linux/module.h>
#include <net/sock.h>

#include "ksrv.h"

static int ksrv_watch_wake(struct wait_queue_entry *wqe, unsigned int mode,
			   int sync, void *key)
{
	struct ksrv_watch *watch = container_of(wqe, struct ksrv_watch, wqe);
	__poll_t events = key_to_poll(key);

	/* A zero key (sock_def_wakeup, on a state change) means anything. */
	if (events &&
	    !(events & (READ_ONCE(watch->interest) | EPOLLERR | EPOLLHUP)))
		return 0;
	ksrv_task_wake_on(watch->task, watch->cpu);
	return 1;
}

/**
 * ksrv_watch_init() - prepare a watch, not yet armed
 * @watch: the watch
 * @sock: the socket to watch; it must outlive the armed watch
 * @task: the task to wake
 * @interest: EPOLLIN, EPOLLOUT or both
 */
void ksrv_watch_init(struct ksrv_watch *watch, struct socket *sock,
		     struct ksrv_task *task, __poll_t interest)
{
	init_waitqueue_func_entry(&watch->wqe, ksrv_watch_wake);
	INIT_LIST_HEAD(&watch->wqe.entry);
	watch->sock = sock;
	watch->task = task;
	watch->interest = interest;
	watch->cpu = -1;
}
EXPORT_SYMBOL_GPL(ksrv_watch_init);

/**
 * ksrv_watch_init_on() - prepare a watch that wakes its task on one CPU
 * @watch: the watch
 * @sock: the socket to watch; it must outlive the armed watch
 * @task: the task to wake, on @cpu (ksrv_task_wake_on())
 * @interest: EPOLLIN, EPOLLOUT or both
 * @cpu: the CPU, or -1 for the one the event comes on (ksrv_watch_init())
 *
 * For a socket whose events belong to one CPU's task, wherever they come:
 * a listening socket of that CPU's own.
 */
void ksrv_watch_init_on(struct ksrv_watch *watch, struct socket *sock,
			struct ksrv_task *task, __poll_t interest, int cpu)
{
	ksrv_watch_init(watch, sock, task, interest);
	watch->cpu = cpu;
}
EXPORT_SYMBOL_GPL(ksrv_watch_init_on);

/**
 * ksrv_watch_arm() - start waking the task on readiness
 * @watch: an initialised, disarmed watch
 * @wake: run the task once now, for readiness that came before
 *
 * Everything the task touches must be initialised and registered before
 * this call: the task may run, and even free the watch, before it returns.
 * The task is woken here under the queue's lock: a task that closes itself
 * must take that lock to disarm, so it cannot free the watch while this
 * still uses it. Without @wake, the caller knows nothing came before: it
 * owns the socket (lock_sock()) and polled it, and what arrives meanwhile
 * waits in the backlog for release_sock(), which wakes the armed watch.
 */
void ksrv_watch_arm(struct ksrv_watch *watch, bool wake)
{
	wait_queue_head_t *head = sk_sleep(watch->sock->sk);
	unsigned long flags;

	spin_lock_irqsave(&head->lock, flags);
	__add_wait_queue(head, &watch->wqe);
	if (wake)
		ksrv_task_wake_on(watch->task, watch->cpu);
	spin_unlock_irqrestore(&head->lock, flags);
}
EXPORT_SYMBOL_GPL(ksrv_watch_arm);

/**
 * ksrv_watch_disarm() - stop waking the task
 * @watch: the watch; disarming twice, or before arming, is harmless
 *
 * On return the callback is not running and will not run for @watch, as
 * wake-ups walk the queue under the lock taken here. The task may still be
 * queued: cancel it next.
 */
void ksrv_watch_disarm(struct ksrv_watch *watch)
{
	wait_queue_head_t *head = sk_sleep(watch->sock->sk);
	unsigned long flags;

	spin_lock_irqsave(&head->lock, flags);
	list_del_init(&watch->wqe.entry);
	spin_unlock_irqrestore(&head->lock, flags);
}
EXPORT_SYMBOL_GPL(ksrv_watch_disarm);

/**
 * ksrv_watch_set_interest() - change which events wake the task
 * @watch: the watch
 * @interest: EPOLLIN, EPOLLOUT or both
 *
 * Call it before the operation whose -EAGAIN the task will wait out, never
 * after: the barrier orders the new interest before that operation looks
 * at the socket, so an event racing with it is either seen by the
 * operation or passes the filter.
 */
void ksrv_watch_set_interest(struct ksrv_watch *watch, __poll_t interest)
{
	WRITE_ONCE(watch->interest, interest);
	/* Pairs with the barrier in skwq_has_sleeper() on the waking side. */
	smp_mb();
}
EXPORT_SYMBOL_GPL(ksrv_watch_set_interest);
