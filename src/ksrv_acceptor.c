// SPDX-License-Identifier: GPL-2.0
/*
 * Accepting in the cgroups of whoever added the listener.
 *
 * The kernel charges what a task allocates with __GFP_ACCOUNT to the
 * task's memory cgroup, and an accepted socket's buffers to the memory
 * cgroup of the task that accepts it (inet_csk_accept() calls
 * mem_cgroup_sk_alloc(); 6.9 and later charge the socket itself too). A
 * kworker belongs to the root cgroup: what it accepts is charged to
 * nobody, and the threads it starts are outside every pids cgroup. So a
 * listener added over netlink by a task outside the root cgroup accepts
 * from a kernel thread of its own, attached to that task's cgroups, as
 * vhost's worker was to its owner's; connection threads it starts are
 * attached to the same cgroups. The admin's listeners (module parameters,
 * or a task in the root cgroup) accept from the executor as before.
 */
#include <linux/cgroup.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/signal.h>

#include "ksrv_core.h"
#include "ksrv_trace.h"

/* How long to wait before accepting again after a transient error. */
#define KSRV_ACCEPTOR_RETRY	(HZ / 10)

/**
 * ksrv_acceptor_wanted() - does a new listener accept from an acceptor?
 * @cfg: the listener's settings
 *
 * Return: true for a listener added over netlink by a task that is not in
 * the root cgroup.
 */
bool ksrv_acceptor_wanted(const struct ksrv_config *cfg)
{
	bool root = true;

	if (!cfg->charge_caller)
		return false;
#ifdef CONFIG_CGROUPS
	rcu_read_lock();
	root = !cgroup_parent(task_dfl_cgroup(current));
	rcu_read_unlock();
#endif
	return !root;
}

/* The thread: blocks in accept until kthread_stop() interrupts it. */
static int ksrv_acceptor(void *data)
{
	struct ksrv_service *srv = data;

	while (!kthread_should_stop()) {
		struct socket *sock;
		int ret;

		ret = kernel_accept(srv->listen, &sock, 0);
		if (!ret) {
			ksrv_conn_start(srv, sock);
			cond_resched();
			continue;
		}
		/* Interrupted by kthread_stop(), or a connection gone. */
		if (ret == -ERESTARTSYS || ret == -EINTR ||
		    ret == -ECONNABORTED)
			continue;
		pr_warn_ratelimited("%s: accept failed: %d\n", srv->cfg.name,
				    ret);
		ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
		trace_ksrv_accept_error(srv->cfg.name, ret);
		schedule_timeout_interruptible(KSRV_ACCEPTOR_RETRY);
	}
	return 0;
}

/**
 * ksrv_acceptor_start() - accept @srv's connections from a thread in the
 *	calling task's cgroups
 * @srv: the listener, listening
 *
 * Return: 0, or a negative errno after one error line.
 */
int ksrv_acceptor_start(struct ksrv_service *srv)
{
	struct task_struct *task;
	int ret;

	task = kthread_create(ksrv_acceptor, srv, "%s/accept", srv->cfg.name);
	if (IS_ERR(task)) {
		pr_err("%s: cannot start the accepting thread: %ld\n",
		       srv->cfg.name, PTR_ERR(task));
		return PTR_ERR(task);
	}
	ret = cgroup_attach_task_all(current, task);
	if (ret) {
		pr_err("%s: cannot put the accepting thread in the caller's cgroups: %d\n",
		       srv->cfg.name, ret);
		kthread_stop(task);
		return ret;
	}
	srv->acceptor = task;
	wake_up_process(task);
	return 0;
}

/**
 * ksrv_acceptor_stop() - stop accepting; no connection starts after it
 * @srv: the listener, with an acceptor
 */
void ksrv_acceptor_stop(struct ksrv_service *srv)
{
	kthread_stop(srv->acceptor);
	srv->acceptor = NULL;
}

/**
 * ksrv_acceptor_adopt() - put a new connection thread in the acceptor's
 *	cgroups
 * @task: the thread, created and not yet woken, from the acceptor
 *
 * Its pids cgroup then counts it and its memory cgroup is charged for
 * what it allocates with __GFP_ACCOUNT. (Its stack was allocated by
 * kthreadd and stays charged to nobody.)
 *
 * Return: 0 or a negative errno.
 */
int ksrv_acceptor_adopt(struct task_struct *task)
{
	return cgroup_attach_task_all(current, task);
}
