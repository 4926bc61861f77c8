// SPDX-License-Identifier: GPL-2.0
/*
 * A service's life, the same for every service: a listener, with a
 * listening socket and an accept task per CPU (or one of each), and for
 * each connection the four steps every in-kernel server must get right in
 * this order.
 *
 * 1. Register, then arm. A connection goes on the registry before anything
 *    can run for it (its thread is started, or its watch armed), so that
 *    ksrv_service_stop() finds every connection that could still run.
 * 2. Fire. Socket readiness wakes a task service's connection task through
 *    its watch (or the service's own socket callback wakes it); a thread
 *    service's thread blocks in the socket calls themselves.
 * 3. Run: &ksrv_ops.serve or &ksrv_ops.ready, the service's protocol.
 * 4. Tear down. Whoever takes the connection off the registry owns its
 *    teardown: the connection itself when it ends, or ksrv_service_stop().
 *    A task connection is disarmed (&ksrv_ops.disarm, the watch), its task
 *    cancelled, and only then freed; stop waits for a task that is closing
 *    itself meanwhile by cancelling it synchronously. A thread connection
 *    always tears itself down; stop shuts its socket down and waits for the
 *    thread.
 *
 * Each ending is counted once, under the first reason that applies: the
 * idle sweeper shut it down, the service is stopping, it failed, or the
 * peer closed it. (A connection that ends just as the sweeper picks it
 * counts as idle.) The stop's own message counts only what it closes: not
 * a connection the sweeper shut down that has yet to go.
 */
#include <linux/cpu.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>

#include "ksrv_core.h"
#include "ksrv_trace.h"

/* Connections one run of the accept task takes before requeueing. */
#define KSRV_ACCEPT_BUDGET	64
/* How long to wait before accepting again after a transient error. */
#define KSRV_ACCEPT_RETRY	(HZ / 10)
/*
 * How long to wait before running again after TCP ran out of memory with
 * nothing queued: what sk_stream_wait_memory() waits in that case, random
 * so that the connections that failed together do not retry together.
 */
static unsigned long ksrv_nomem_retry(void)
{
	return 2 + get_random_u32_below(HZ / 5);
}

/**
 * ksrv_count() - add to one of a service's own counters
 * @srv: the service
 * @stat: the counter's index in &ksrv_ops.stat_names
 * @n: how much; from any context, without a lock
 */
void ksrv_count(struct ksrv_service *srv, unsigned int stat, u64 n)
{
	ksrv_stats_add(&srv->stats, KSRV_STAT_NR + stat, n);
}
EXPORT_SYMBOL_GPL(ksrv_count);

/**
 * ksrv_service_port() - the port a service serves
 * @srv: the service
 *
 * Return: the port, 1..65535.
 */
int ksrv_service_port(const struct ksrv_service *srv)
{
	return srv->cfg.port;
}
EXPORT_SYMBOL_GPL(ksrv_service_port);

/* Off the registry already, by its owner: why did it end? Count it once. */
static void ksrv_conn_ended(struct ksrv_conn *conn, int err)
{
	struct ksrv_service *srv = conn->srv;
	enum ksrv_end why;

	if (conn->idle_closed) {
		why = KSRV_END_IDLE;
		ksrv_stats_add(&srv->stats, KSRV_STAT_IDLE_CLOSED, 1);
	} else if (READ_ONCE(srv->stopping)) {
		why = KSRV_END_STOP;
	} else if (err < 0) {
		why = KSRV_END_ERROR;
		ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
	} else {
		why = KSRV_END_PEER;
	}
	trace_ksrv_close(srv->cfg.name, conn->sock->sk, why, err);
}

/* ---- task services ---- */

static void ksrv_conn_disarm(struct ksrv_conn *conn)
{
	if (conn->srv->ops->disarm)
		conn->srv->ops->disarm(conn);
	ksrv_watch_disarm(&conn->watch);
}

/* The connection's own end, from its task. */
static void ksrv_conn_close(struct ksrv_conn *conn, int err)
{
	/* Stop owns it: it disarms, and waits for this run to return. */
	if (!ksrv_registry_remove(&conn->srv->conns, conn))
		return;
	ksrv_conn_disarm(conn);
	/* A wake-up that came before the disarm may have queued us again. */
	ksrv_task_cancel(&conn->task);
	ksrv_conn_ended(conn, err);
	ksrv_conn_put(conn);
}

/* ksrv_service_stop()'s teardown of a connection it took off the registry. */
static void ksrv_conn_destroy(struct ksrv_conn *conn)
{
	ksrv_conn_disarm(conn);
	ksrv_task_cancel_sync(&conn->task);
	ksrv_conn_ended(conn, 0);
	ksrv_conn_put(conn);
}

static void ksrv_conn_run(struct work_struct *work)
{
	struct ksrv_conn *conn =
		container_of(ksrv_task_of(work), struct ksrv_conn, task);
	int ret = conn->srv->ops->ready(conn);

	switch (ret) {
	case KSRV_WAIT:
		break;	/* the watch, or the service's callback, wakes us */
	case KSRV_AGAIN:
		ksrv_task_wake(&conn->task);
		break;
	case KSRV_RETRY:
		ksrv_task_wake_after(&conn->task, ksrv_nomem_retry());
		break;
	case KSRV_DONE:
		ksrv_conn_close(conn, 0);
		break;
	default:
		ksrv_conn_close(conn, ret < 0 ? ret : -EINVAL);
		break;
	}
}

/* Registered: arm, under the socket lock (see &ksrv_ops.arm). */
static void ksrv_conn_arm(struct ksrv_conn *conn)
{
	struct sock *sk = conn->sock->sk;
	__poll_t ready;

	ksrv_task_init(&conn->task, &conn->srv->executor, ksrv_conn_run);
	ksrv_watch_init(&conn->watch, conn->sock, &conn->task, EPOLLIN);
	lock_sock(sk);
	if (conn->srv->ops->arm)
		conn->srv->ops->arm(conn);
	/*
	 * Runs the task once if something arrived before; otherwise not
	 * until something does: a work item per connection saved.
	 */
	ready = conn->sock->ops->poll(NULL, conn->sock, NULL);
	ksrv_watch_arm(&conn->watch,
		       ready & (conn->watch.interest | EPOLLERR | EPOLLHUP));
	release_sock(sk);
}

/* ---- thread services ---- */

static int ksrv_conn_thread(void *data)
{
	struct ksrv_conn *conn = data;
	struct ksrv_service *srv = conn->srv;
	int ret;

	/* What it allocates (accounted) is the owner's; the stack cannot be. */
	set_active_memcg(srv->memcg);
	ret = srv->ops->serve(conn);
	set_active_memcg(NULL);
	/* Stop shuts registered sockets down: unregister before release. */
	ksrv_registry_remove(&srv->conns, conn);
	ksrv_conn_ended(conn, ret);
	ksrv_conn_put(conn);
	ksrv_threads_exit(&srv->threads);
}

/* ---- accepting ---- */

/* Against the owner's budget: a connection, and a thread for its own. */
static bool ksrv_conn_charge(struct ksrv_service *srv)
{
	if (!ksrv_user_charge(srv->user, KSRV_USER_CONNS))
		return false;
	if (srv->ops->serve &&
	    !ksrv_user_charge(srv->user, KSRV_USER_THREADS)) {
		ksrv_user_uncharge(srv->user, KSRV_USER_CONNS);
		return false;
	}
	return true;
}

/**
 * ksrv_conn_uncharge() - a connection of @srv leaves its owner's budget
 * @srv: the listener whose connection is being freed
 */
void ksrv_conn_uncharge(struct ksrv_service *srv)
{
	ksrv_user_uncharge(srv->user, KSRV_USER_CONNS);
	if (srv->ops->serve)
		ksrv_user_uncharge(srv->user, KSRV_USER_THREADS);
}

/* Registered: start the connection's thread. Return: 0 or an errno. */
static int ksrv_conn_spawn(struct ksrv_conn *conn)
{
	struct ksrv_service *srv = conn->srv;
	struct task_struct *task;

	task = ksrv_threads_spawn(&srv->threads, ksrv_conn_thread, conn,
				  "%s/%u", srv->cfg.name,
				  atomic_fetch_inc(&srv->next_id));
	if (IS_ERR(task)) {
		pr_warn_ratelimited("%s: cannot start connection thread: %ld\n",
				    srv->cfg.name, PTR_ERR(task));
		return PTR_ERR(task);
	}
	wake_up_process(task);
	return 0;
}

/**
 * ksrv_conn_start() - take an accepted connection into service
 * @srv: the listener
 * @sock: the connection's socket, now the connection's (released on any
 *	error)
 *
 * From the accept task or the acceptor: over the limit or the owner's
 * budget, it is closed at once and counted.
 */
void ksrv_conn_start(struct ksrv_service *srv, struct socket *sock)
{
	struct ksrv_conn *conn;
	int ret;

	if (!ksrv_conn_charge(srv)) {
		ksrv_stats_add(&srv->stats, KSRV_STAT_OVER_BUDGET, 1);
		trace_ksrv_refuse(srv->cfg.name, sock->sk, true);
		sock_release(sock);
		return;
	}
	/* Charged to the owner's memcg, where the listener has one. */
	conn = kzalloc(srv->ops->conn_size, GFP_KERNEL_ACCOUNT);
	if (!conn) {
		ksrv_conn_uncharge(srv);
		ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
		trace_ksrv_accept_error(srv->cfg.name, -ENOMEM);
		sock_release(sock);
		return;
	}
	INIT_LIST_HEAD(&conn->node);
	INIT_LIST_HEAD(&conn->sweep);
	conn->srv = srv;
	conn->sock = sock;
	refcount_set(&conn->ref, 1);
	conn->last_active = jiffies;
	conn->started = conn->last_active;
	/* Services answer requests: each answer leaves at once, no Nagle. */
	tcp_sock_set_nodelay(sock->sk);
	ksrv_user_watch_peer(srv->user, sock->sk);

	ret = ksrv_registry_add(&srv->conns, conn);
	if (ret) {
		/* Over max_conns, closed at once; or stop has begun. */
		if (ret == -EBUSY) {
			ksrv_stats_add(&srv->stats, KSRV_STAT_REFUSED, 1);
			trace_ksrv_refuse(srv->cfg.name, sock->sk, false);
		}
		ksrv_conn_put(conn);
		return;
	}
	ksrv_stats_add(&srv->stats, KSRV_STAT_ACCEPTED, 1);
	trace_ksrv_accept(srv->cfg.name, sock->sk);

	if (!srv->ops->serve) {
		ksrv_conn_arm(conn);
		return;
	}
	ret = ksrv_conn_spawn(conn);
	if (ret) {
		/* Stop cancels this task before it pops: still ours. */
		ksrv_registry_remove(&srv->conns, conn);
		ksrv_conn_ended(conn, ret);
		ksrv_conn_put(conn);
	}
}

/*
 * An accept task: one listening socket's, on its CPU (ksrv_lsocks_arm()).
 * The connections it starts go on that CPU's registry shard, and their
 * tasks run where their sockets' softirq runs, that CPU too as a rule.
 */
static void ksrv_accept_run(struct work_struct *work)
{
	struct ksrv_lsock *ls =
		container_of(ksrv_task_of(work), struct ksrv_lsock,
			     accept_task);
	struct ksrv_service *srv = ls->srv;
	struct request_sock_queue *queue =
		&inet_csk(ls->sock->sk)->icsk_accept_queue;
	int budget = KSRV_ACCEPT_BUDGET;
	struct mem_cgroup *old = set_active_memcg(srv->memcg);

	while (budget--) {
		struct socket *sock;
		int ret;

		/*
		 * kernel_accept() allocates a socket (an inode) before it
		 * finds the queue empty, and frees it again: look first. A
		 * child queued after this look wakes the watch.
		 */
		if (reqsk_queue_empty(queue))
			goto out;
		ret = kernel_accept(ls->sock, &sock, O_NONBLOCK);
		if (ret == -ECONNABORTED)
			continue;
		if (ret == -EAGAIN)
			goto out;	/* drained; the watch wakes us for more */
		if (ret) {
			/*
			 * Out of memory or file limits: the backlog would sit
			 * until the next handshake wakes us, so retry soon.
			 */
			pr_warn_ratelimited("%s: accept failed: %d\n",
					    srv->cfg.name, ret);
			ksrv_stats_add(&srv->stats, KSRV_STAT_ERRORS, 1);
			trace_ksrv_accept_error(srv->cfg.name, ret);
			ksrv_task_wake_after(&ls->accept_task,
					     KSRV_ACCEPT_RETRY);
			goto out;
		}
		ksrv_conn_start(srv, sock);
	}
	ksrv_task_wake_on(&ls->accept_task, ls->cpu);
out:
	set_active_memcg(old);
}

/* ---- listening sockets ---- */

/*
 * A socket per online CPU, unless the listener asks for one or there is
 * only one CPU: then one plain socket (ksrv_listen_cpu() with no CPU).
 * Online, not possible: a VM may have a hundred possible CPUs and two
 * online, and a user's listener has a thread per socket
 * (ksrv_acceptor.c), in the user's pids budget. A CPU that comes online
 * later has no socket of its own; the group then picks a member for its
 * SYNs by the flow's hash.
 */
static int ksrv_lsocks_alloc(struct ksrv_service *srv)
{
	unsigned int nr = 1, i = 0;
	int ret = 0, cpu;

	cpus_read_lock();
	if (srv->cfg.percpu && num_online_cpus() > 1)
		nr = num_online_cpus();
	srv->ls = kcalloc(nr, sizeof(*srv->ls), ksrv_config_gfp(&srv->cfg));
	if (!srv->ls) {
		ret = -ENOMEM;
		goto out;
	}
	srv->nr_ls = nr;
	if (nr == 1)
		srv->ls[0].cpu = -1;
	else
		for_each_online_cpu(cpu)
			srv->ls[i++].cpu = cpu;
	for (i = 0; i < nr; i++)
		srv->ls[i].srv = srv;
out:
	cpus_read_unlock();
	return ret;
}

/* Release the sockets there are, and free them. */
static void ksrv_lsocks_release(struct ksrv_service *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nr_ls; i++)
		if (srv->ls[i].sock)
			sock_release(srv->ls[i].sock);
	kfree(srv->ls);
	srv->ls = NULL;
	srv->nr_ls = 0;
}

/*
 * Every socket listening, the first where the configuration says, the
 * others beside it, at the address it got; @srv->addr is that address.
 * One line in the log either way.
 */
static int ksrv_lsocks_listen(struct ksrv_service *srv)
{
	unsigned int i;
	int ret;

	ret = ksrv_lsocks_alloc(srv);
	if (ret)
		return ret;
	for (i = 0; i < srv->nr_ls; i++) {
		struct ksrv_lsock *ls = &srv->ls[i];

		ret = ksrv_listen_cpu(&srv->cfg, ls->cpu, i ? &srv->addr : NULL,
				      &ls->sock);
		if (ret) {
			ksrv_lsocks_release(srv);
			return ret;
		}
		if (!i)
			kernel_getsockname(ls->sock,
					   (struct sockaddr *)&srv->addr);
	}
	if (srv->nr_ls > 1)
		pr_info("%s: listening on TCP %pISpc, a socket on each of %u CPUs\n",
			srv->cfg.name, &srv->addr, srv->nr_ls);
	else
		pr_info("%s: listening on TCP %pISpc\n", srv->cfg.name,
			&srv->addr);
	return 0;
}

/*
 * Accept from the executor: each socket's task runs on its CPU. Its watch
 * fires on the CPU that completed a handshake, which for a member of the
 * group is its CPU as a rule (the SYN's, see ksrv_listen_cpu()) but not
 * always (the last ACK processed elsewhere): ksrv_watch_init_on() queues
 * the task on the socket's CPU wherever the watch fires.
 */
static void ksrv_lsocks_arm(struct ksrv_service *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nr_ls; i++) {
		struct ksrv_lsock *ls = &srv->ls[i];

		ksrv_task_init(&ls->accept_task, &srv->executor,
			       ksrv_accept_run);
		ksrv_watch_init_on(&ls->watch, ls->sock, &ls->accept_task,
				   EPOLLIN, ls->cpu);
		/* For a connection queued before the watch was there. */
		ksrv_watch_arm(&ls->watch, true);
	}
}

/*
 * Stop accepting on every socket before closing any. Meanwhile a socket's
 * accept task (or acceptor) may still start connections while another's
 * is stopped: they register, and stop closes them with the rest. Once the
 * first socket is released, none accepts any more, not even children the
 * kernel moves to a member still open (net.ipv4.tcp_migrate_req): the
 * children queued on a member when it closes are reset, as a single
 * socket's are, connections nobody had accepted yet.
 */
static void ksrv_lsocks_stop(struct ksrv_service *srv)
{
	unsigned int i;

	if (srv->ls[0].acceptor) {
		ksrv_acceptor_stop(srv);
	} else {
		for (i = 0; i < srv->nr_ls; i++) {
			ksrv_watch_disarm(&srv->ls[i].watch);
			ksrv_task_cancel_sync(&srv->ls[i].accept_task);
		}
	}
	ksrv_lsocks_release(srv);
}

/* ---- start and stop ---- */

/**
 * ksrv_service_start() - start a listener of @ops, where @cfg says
 * @ops: the service; must outlive the listener
 * @cfg: where and how; @cfg->name must outlive the listener
 *
 * Checks @cfg, creates the counters, and listens and accepts from then on
 * (TCP: with @cfg->percpu, on a socket per CPU, each accepted from on its
 * CPU), or binds and receives (@cfg->udp).
 *
 * The listener and its connections count against the budget of the user
 * who owns @cfg->net (ksrv_user.c).
 *
 * Return: the running listener, or an ERR_PTR() after one error line
 * naming the cause (-EINVAL for a bad parameter, -EADDRINUSE for a port
 * in use, -EPROTONOSUPPORT for UDP where the service has none, -EDQUOT
 * for a user with all the listeners its budget allows, ...).
 */
struct ksrv_service *ksrv_service_start(const struct ksrv_ops *ops,
					const struct ksrv_config *cfg)
{
	struct ksrv_service *srv;
	int ret;

	ret = ksrv_config_check(cfg);
	if (ret)
		return ERR_PTR(ret);
	if (cfg->udp && !ops->datagram) {
		pr_err("%s: serves no UDP\n", cfg->name);
		return ERR_PTR(-EPROTONOSUPPORT);
	}
	/* Whoever asks for a listener over netlink pays for it. */
	srv = kzalloc(sizeof(*srv), ksrv_config_gfp(cfg));
	if (!srv)
		return ERR_PTR(-ENOMEM);
	srv->user = ksrv_user_get(cfg->net);
	if (IS_ERR(srv->user)) {
		ret = PTR_ERR(srv->user);
		srv->user = NULL;
		goto err_free;
	}
	if (!ksrv_user_charge(srv->user, KSRV_USER_LISTENERS)) {
		ret = -EDQUOT;
		goto err_user;
	}
	srv->ops = ops;
	srv->cfg = *cfg;
	/* A netlink request's address is gone once the listener starts. */
	strscpy(srv->addr_str, cfg->addr ?: "", sizeof(srv->addr_str));
	srv->cfg.addr = srv->addr_str;

	ret = ksrv_registry_init(&srv->conns, cfg->max_conns,
				 ksrv_config_gfp(cfg));
	if (ret)
		goto err_charged;
	ksrv_threads_init(&srv->threads);
	ret = ksrv_stats_init(&srv->stats, ops, cfg);
	if (ret)
		goto err_registry;
	ret = ksrv_executor_init(&srv->executor, cfg->name, cfg->unbound);
	if (ret) {
		pr_err("%s: cannot create workqueue: %d\n", cfg->name, ret);
		goto err_stats;
	}
	if (cfg->udp) {
		ret = ksrv_udp_start(srv);
		if (ret)
			goto err_executor;
		kernel_getsockname(srv->udp.sock, (struct sockaddr *)&srv->addr);
		return srv;
	}
	ret = ksrv_lsocks_listen(srv);
	if (ret)
		goto err_executor;

	ksrv_charge_start(srv);
	if (ksrv_acceptor_wanted(srv)) {
		ret = ksrv_acceptor_start(srv);
		if (ret)
			goto err_listen;
	} else {
		ksrv_lsocks_arm(srv);
	}
	ksrv_idle_start(&srv->idle, &srv->conns, cfg->idle_timeout);
	return srv;

err_listen:
	ksrv_charge_stop(srv);
	ksrv_lsocks_release(srv);
err_executor:
	ksrv_executor_destroy(&srv->executor);
err_stats:
	ksrv_stats_destroy(&srv->stats);
err_registry:
	ksrv_registry_destroy(&srv->conns);
err_charged:
	ksrv_user_uncharge(srv->user, KSRV_USER_LISTENERS);
err_user:
	ksrv_user_put(srv->user);
err_free:
	kfree(srv);
	return ERR_PTR(ret);
}

/* Its shard locked: all but those the idle sweeper has shut down already. */
static bool ksrv_pick_live(struct ksrv_conn *conn, void *arg)
{
	return !conn->idle_closed;
}

/**
 * ksrv_service_stop() - stop a listener and end every connection
 * @srv: the listener, from ksrv_service_start()
 *
 * Stops accepting, then tears down every connection; on return no code
 * of the service runs for @srv any more and everything it used is freed.
 * In a namespace that is going away, connections are reset, not closed
 * (ksrv_conn_put()).
 */
void ksrv_service_stop(struct ksrv_service *srv)
{
	unsigned int closed = 0;
	struct ksrv_conn *conn;

	WRITE_ONCE(srv->stopping, true);
	if (srv->cfg.udp) {
		ksrv_udp_stop(srv);
		goto out;
	}
	/* Stop accepting first: nothing registers a connection after this. */
	ksrv_lsocks_stop(srv);
	ksrv_idle_stop(&srv->idle);

	ksrv_registry_close(&srv->conns);
	if (srv->ops->serve) {
		closed = ksrv_registry_shutdown_if(&srv->conns, ksrv_pick_live,
						   NULL);
		ksrv_threads_wait(&srv->threads);
	}
	while ((conn = ksrv_registry_pop(&srv->conns))) {
		/* Off the registry, idle_closed no longer changes. */
		if (!conn->idle_closed)
			closed++;
		ksrv_conn_destroy(conn);
		/*
		 * Each release queues a FIN on loopback's backlog, which
		 * softirq (often ksoftirqd) drains: without a reschedule
		 * point a non-preemptible kernel overflows it and drops them.
		 */
		cond_resched();
	}
	pr_info("%s: stopped TCP %pISpc, %u connections %s\n", srv->cfg.name,
		&srv->addr, closed,
		check_net(srv->cfg.net) ? "closed" : "reset");
out:
	/* Waits for connections that were closing themselves meanwhile. */
	ksrv_executor_destroy(&srv->executor);
	ksrv_stats_destroy(&srv->stats);
	ksrv_registry_destroy(&srv->conns);
	ksrv_user_uncharge(srv->user, KSRV_USER_LISTENERS);
	ksrv_user_put(srv->user);
	ksrv_charge_stop(srv);
	if (srv->cfg.udp)
		pr_info("%s: stopped UDP %pISpc\n", srv->cfg.name, &srv->addr);
	kfree(srv);
}
