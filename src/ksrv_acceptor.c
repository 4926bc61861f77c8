// SPDX-License-Identifier: GPL-2.0
/*
 * Charging a listener's connections to whoever added it.
 *
 * Two things decide who pays for what a connection holds, and a kworker
 * or a kernel thread escapes both:
 * - Kernel memory allocated with __GFP_ACCOUNT is charged to the current
 *   task's memory cgroup, except in a kernel thread (kworkers included),
 *   which is charged nothing unless an active memcg is set. So a listener
 *   added over netlink keeps a reference to its adder's memcg, and the
 *   accept path and connection threads run under set_active_memcg() of
 *   it, as bpf does for its maps.
 * - An accepted socket's buffers are charged to the memory cgroup of the
 *   task that accepts it (inet_csk_accept() calls mem_cgroup_sk_alloc(),
 *   which looks at the task's cgroup and not at the active memcg). So a
 *   user's listener accepts from a kernel thread of its own, attached
 *   once, when the listener starts, to the adder's cgroups, as vhost's
 *   worker was to its owner's.
 * The admin's listeners (module parameters, namespaces the initial user
 * namespace owns) accept from the executor, and their thread is never
 * left in some session's cgroup.
 */
#include <linux/cgroup.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

#include "ksrv_core.h"
#include "ksrv_trace.h"

/* How long to wait before accepting again after a transient error. */
#define KSRV_ACCEPTOR_RETRY	(HZ / 10)

/**
 * ksrv_charge_start() - note whom a new listener's connections charge
 * @srv: the listener being started, in the task that asked for it
 *
 * For a listener added over netlink (&ksrv_config.charge_caller), takes a
 * reference to the calling task's memory cgroup, unless that is the root.
 */
void ksrv_charge_start(struct ksrv_service *srv)
{
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg;

	if (!srv->cfg.charge_caller || !current->mm)
		return;
	memcg = get_mem_cgroup_from_mm(current->mm);
	/* The root is charged nothing: no need to make it active. */
	if (memcg && !memcg->css.parent) {
		mem_cgroup_put(memcg);
		memcg = NULL;
	}
	srv->memcg = memcg;
#endif
}

/**
 * ksrv_charge_stop() - drop what ksrv_charge_start() took
 * @srv: the listener, stopped
 */
void ksrv_charge_stop(struct ksrv_service *srv)
{
	mem_cgroup_put(srv->memcg);
	srv->memcg = NULL;
}

/**
 * ksrv_acceptor_wanted() - does a new listener accept from an acceptor?
 * @srv: the listener, with its budget and memcg
 *
 * Return: true for a user's listener charged to a memory cgroup.
 */
bool ksrv_acceptor_wanted(const struct ksrv_service *srv)
{
	return srv->user && srv->memcg;
}

/* The thread: blocks in accept until kthread_stop() interrupts it. */
static int ksrv_acceptor(void *data)
{
	struct ksrv_service *srv = data;
	struct mem_cgroup *old = set_active_memcg(srv->memcg);

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
	set_active_memcg(old);
	return 0;
}

/**
 * ksrv_acceptor_start() - accept @srv's connections from a thread in the
 *	calling task's cgroups
 * @srv: the listener, listening
 *
 * The calling task's cgroup stays pinned by the thread (it cannot be
 * removed) until the listener stops.
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
