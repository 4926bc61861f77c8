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
 *   user's listener accepts from kernel threads of its own, one per
 *   listening socket (per CPU, see ksrv_listen_cpu()), attached once,
 *   when the listener starts, to the adder's cgroups, as vhost's worker
 *   was to its owner's.
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

/* A thread: blocks in accept until kthread_stop() interrupts it. */
static int ksrv_acceptor(void *data)
{
	struct ksrv_lsock *ls = data;
	struct ksrv_service *srv = ls->srv;
	struct mem_cgroup *old = set_active_memcg(srv->memcg);

	while (!kthread_should_stop()) {
		struct socket *sock;
		int ret;

		ret = kernel_accept(ls->sock, &sock, 0);
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

/*
 * A listening socket's thread, in the calling task's cgroups, not yet
 * woken. On the socket's CPU if it has one and the caller's cpuset allows
 * it: the accepted sockets and connections are that CPU's. Not with
 * kthread_bind(): it sets PF_NO_SETAFFINITY, and the cpuset controller
 * refuses to attach such a thread (task_can_attach(), from
 * cpuset_can_attach()). So the affinity is set once the thread is in the
 * cpuset, within it; the cpuset may change it later, as any task's.
 */
static struct task_struct *ksrv_acceptor_create(struct ksrv_lsock *ls)
{
	struct ksrv_service *srv = ls->srv;
	struct task_struct *task;
	int ret;

	if (ls->cpu < 0)
		task = kthread_create(ksrv_acceptor, ls, "%s/accept",
				      srv->cfg.name);
	else
		task = kthread_create(ksrv_acceptor, ls, "%s/accept%d",
				      srv->cfg.name, ls->cpu);
	if (IS_ERR(task)) {
		pr_err("%s: cannot start the accepting thread: %ld\n",
		       srv->cfg.name, PTR_ERR(task));
		return task;
	}
	ret = cgroup_attach_task_all(current, task);
	if (ret) {
		pr_err("%s: cannot put the accepting thread in the caller's cgroups: %d\n",
		       srv->cfg.name, ret);
		kthread_stop(task);
		return ERR_PTR(ret);
	}
	/* Best effort: an offline CPU, say, leaves it where it may run. */
	if (ls->cpu >= 0 && cpumask_test_cpu(ls->cpu, task->cpus_ptr))
		set_cpus_allowed_ptr(task, cpumask_of(ls->cpu));
	return task;
}

/**
 * ksrv_acceptor_start() - accept @srv's connections from threads in the
 *	calling task's cgroups
 * @srv: the listener, listening
 *
 * A thread per listening socket, so per CPU (<service>/accept<cpu>), or
 * one (<service>/accept). They count against no budget: %KSRV_USER_THREADS
 * counts connection threads, and a user's listeners, each with an
 * acceptor per CPU, are bounded by %KSRV_USER_LISTENERS. The calling
 * task's cgroup stays pinned by them (it cannot be removed) until the
 * listener stops. All or none: the threads are woken only once every one
 * is in the cgroups.
 *
 * Return: 0, or a negative errno after one error line.
 */
int ksrv_acceptor_start(struct ksrv_service *srv)
{
	struct task_struct *task;
	unsigned int i;

	for (i = 0; i < srv->nr_ls; i++) {
		task = ksrv_acceptor_create(&srv->ls[i]);
		if (IS_ERR(task)) {
			/* Never woken: stopped, they run nothing of ours. */
			while (i--) {
				kthread_stop(srv->ls[i].acceptor);
				srv->ls[i].acceptor = NULL;
			}
			return PTR_ERR(task);
		}
		srv->ls[i].acceptor = task;
	}
	for (i = 0; i < srv->nr_ls; i++)
		wake_up_process(srv->ls[i].acceptor);
	return 0;
}

/**
 * ksrv_acceptor_stop() - stop accepting; no connection starts after it
 * @srv: the listener, with acceptors
 */
void ksrv_acceptor_stop(struct ksrv_service *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nr_ls; i++) {
		kthread_stop(srv->ls[i].acceptor);
		srv->ls[i].acceptor = NULL;
	}
}
