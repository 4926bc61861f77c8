/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksrv: a small core for in-kernel TCP and UDP services.
 *
 * A service describes itself with a &struct ksrv_ops: the size of its
 * connection structure, which embeds a &struct ksrv_conn, and what to do
 * with a connection, either in a thread of its own (@serve) or as a task
 * woken by the connection's socket (@arm, @ready, @disarm), and with a
 * datagram (@datagram). ksrv_service_start() does the rest: the listening
 * sockets (one per CPU) and their accept tasks, the UDP socket, the
 * registry of live connections and its limit, the idle sweeper, the
 * teardown of every connection whoever ends it, the counters in
 * /proc/net/<name> and the trace events.
 * KSRV_MODULE_PARAMS() gives a service module the parameters every service
 * takes, and module_ksrv_service() its init and exit.
 *
 * The building blocks stay available to a service that needs them: an
 * executor (a workqueue that runs tasks), a reactor (socket readiness
 * turned into task wake-ups), and for a service that answers with the data
 * it received, a way to send it back without copying it (tcp).
 */
#ifndef KSRV_H
#define KSRV_H

#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/socket.h>
#include <linux/stringify.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "ksrv_compat.h"

/* ---- config: parameters and sockets (ksrv_config.c) ---- */

/* listen()'s backlog by default: SOMAXCONN, the kernel's own cap since 5.4. */
#define KSRV_DEFAULT_BACKLOG	4096

/**
 * struct ksrv_config - where and how a listener of a service listens
 * @name: the service's name: its messages' prefix, its /proc/net file
 * @net: the network namespace the listener serves; init_net by default
 * @addr: an IPv4 or IPv6 literal to listen on; NULL or "" for every
 *	address, IPv6 and IPv4 on one socket where IPv6 is available
 * @port: TCP (and UDP) port, 1..65535
 * @backlog: listen() backlog, 1..65535; net.core.somaxconn caps it
 * @max_conns: connections served at once, 1..1048576
 * @idle_timeout: seconds a connection may move no byte, 0 (for ever)..604800
 * @udp: a UDP listener rather than a TCP one (needs @datagram)
 * @unbound: run tasks on an unbound workqueue rather than a per-CPU one
 * @percpu: TCP: a listening socket per CPU, each taking the connections
 *	whose SYN its CPU processes and accepting them there, in an
 *	SO_REUSEPORT group no other socket can join; false: one socket
 * @charge_caller: charge the listener and its connections to the calling
 *	task's cgroups (listeners added over netlink); false for the
 *	admin's own (module parameters)
 */
struct ksrv_config {
	const char *name;
	struct net *net;
	const char *addr;
	int port;
	int backlog;
	int max_conns;
	int idle_timeout;
	bool udp;
	bool unbound;
	bool percpu;
	bool charge_caller;
};

/**
 * ksrv_config_gfp() - how to allocate what a listener holds
 * @cfg: the listener's settings
 *
 * Return: GFP_KERNEL_ACCOUNT, charging the calling task, for a listener
 * added over netlink; GFP_KERNEL for the admin's own.
 */
static inline gfp_t ksrv_config_gfp(const struct ksrv_config *cfg)
{
	return cfg->charge_caller ? GFP_KERNEL_ACCOUNT : GFP_KERNEL;
}

int ksrv_check_param(const char *name, const char *param, int val, int min,
		     int max);
int ksrv_config_check(const struct ksrv_config *cfg);
int ksrv_parse_addr(const struct ksrv_config *cfg,
		    struct sockaddr_storage *ss);
int ksrv_listen_cpu(const struct ksrv_config *cfg, int cpu,
		    const struct sockaddr_storage *first, struct socket **res);
int ksrv_bind_udp(const struct ksrv_config *cfg, struct socket **res);

/* ---- executor: tasks run on a module-owned workqueue (ksrv_executor.c) ---- */

/**
 * struct ksrv_executor - runs tasks
 * @wq: the workqueue; owned, drained and destroyed by the executor
 */
struct ksrv_executor {
	struct workqueue_struct *wq;
};

/**
 * struct ksrv_task - a unit of work an executor runs, again and again
 * @dwork: the work item; its function is the task's body. Delayed, so that
 *	a task can also be woken after a while (a retry after a transient
 *	error) and one cancel covers both ways of waking it.
 * @executor: where the task runs
 */
struct ksrv_task {
	struct delayed_work dwork;
	struct ksrv_executor *executor;
};

int ksrv_executor_init(struct ksrv_executor *ex, const char *name,
		       bool unbound);
void ksrv_executor_destroy(struct ksrv_executor *ex);
void ksrv_task_init(struct ksrv_task *task, struct ksrv_executor *ex,
		    work_func_t fn);

/**
 * ksrv_task_of() - the task whose body is running
 * @work: the argument of the task's body
 *
 * Return: the task.
 */
static inline struct ksrv_task *ksrv_task_of(struct work_struct *work)
{
	return container_of(to_delayed_work(work), struct ksrv_task, dwork);
}

/**
 * ksrv_task_wake_on() - make a task run (again), on a given CPU
 * @task: the task
 * @cpu: where it should run, or -1 for wherever it is woken
 *
 * As ksrv_task_wake() below, but on @cpu's worker: for a task whose data
 * belongs to one CPU (a listening socket of the CPU's own). On an unbound
 * executor @cpu only picks the NUMA node; and a CPU that is offline gets
 * nothing queued, as it may never have been online (a workqueue then has
 * no worker there): the task runs where it is woken instead.
 */
static inline void ksrv_task_wake_on(struct ksrv_task *task, int cpu)
{
	if (cpu < 0 || !cpu_online(cpu))
		cpu = WORK_CPU_UNBOUND;
	if (!queue_delayed_work_on(cpu, task->executor->wq, &task->dwork, 0) &&
	    timer_pending(&task->dwork.timer))
		mod_delayed_work_on(cpu, task->executor->wq, &task->dwork, 0);
}

/**
 * ksrv_task_wake() - make a task run (again)
 * @task: the task
 *
 * Safe from any context, atomic included. A task that is running when it is
 * woken runs once more after it returns, so a wake-up is never lost; a task
 * woken many times before it gets to run runs only once. A task waiting
 * out a ksrv_task_wake_after() delay runs now: the readiness it was
 * polling for may be what woke it.
 */
static inline void ksrv_task_wake(struct ksrv_task *task)
{
	ksrv_task_wake_on(task, -1);
}

/**
 * ksrv_task_wake_after() - make a task run after @delay jiffies
 * @task: the task
 * @delay: jiffies to wait; a task already queued runs as queued
 */
static inline void ksrv_task_wake_after(struct ksrv_task *task,
					unsigned long delay)
{
	queue_delayed_work(task->executor->wq, &task->dwork, delay);
}

/**
 * ksrv_task_cancel() - unqueue a task without waiting for it
 * @task: the task; may be the caller's own task
 */
static inline void ksrv_task_cancel(struct ksrv_task *task)
{
	cancel_delayed_work(&task->dwork);
}

/**
 * ksrv_task_cancel_sync() - cancel a task and wait for it
 * @task: the task
 *
 * On return the task is neither queued nor running, until woken again,
 * even if it was waking itself.
 */
static inline void ksrv_task_cancel_sync(struct ksrv_task *task)
{
	cancel_delayed_work_sync(&task->dwork);
}

/* ---- reactor: socket readiness wakes a task (ksrv_reactor.c) ---- */

/**
 * struct ksrv_watch - a task's interest in one socket's readiness
 * @wqe: entry on the socket's wait queue
 * @sock: the socket watched
 * @task: the task woken
 * @interest: events that wake @task; EPOLLERR and EPOLLHUP always do
 * @cpu: the CPU @task is woken on (ksrv_task_wake_on()), or -1 for the
 *	one the event came on. It fills what was padding after @interest
 *	on 64-bit: a connection's watch is no bigger for it.
 */
struct ksrv_watch {
	struct wait_queue_entry wqe;
	struct socket *sock;
	struct ksrv_task *task;
	__poll_t interest;
	int cpu;
};

void ksrv_watch_init(struct ksrv_watch *watch, struct socket *sock,
		     struct ksrv_task *task, __poll_t interest);
void ksrv_watch_init_on(struct ksrv_watch *watch, struct socket *sock,
			struct ksrv_task *task, __poll_t interest, int cpu);
void ksrv_watch_arm(struct ksrv_watch *watch, bool wake);
void ksrv_watch_disarm(struct ksrv_watch *watch);
void ksrv_watch_set_interest(struct ksrv_watch *watch, __poll_t interest);

/* ---- service: a protocol described to ksrv (ksrv_service.c) ---- */

struct ksrv_service;

/**
 * struct ksrv_conn - the part of a connection the core manages
 * @node: on the registry's list while registered
 * @sweep: on the list of one idle sweep or shutdown, with a reference
 * @srv: the service the connection belongs to
 * @sock: the connection's socket; valid until the connection is freed
 * @ref: the registry's owner holds one; a sweep in progress one more
 * @shard: the registry shard @node is on: the CPU that registered it
 * @idle_closed: the idle sweeper shut @sock down (@shard's lock)
 * @last_active: jiffies when a byte was last received or sent
 * @started: jiffies when the connection was accepted
 * @seq: its number in @shard, in the order connections were added there:
 *	what lets a walk of the registry resume (ksrv_registry_walk())
 * @task: the connection's task, running &ksrv_ops.ready (task services)
 * @watch: wakes @task when @sock is ready (task services)
 *
 * A service embeds it at the start of its own connection structure, whose
 * size it gives in &ksrv_ops.conn_size; the core allocates it zeroed.
 */
struct ksrv_conn {
	struct list_head node;
	struct list_head sweep;
	struct ksrv_service *srv;
	struct socket *sock;
	refcount_t ref;
	/*
	 * @shard and @idle_closed fill the hole after @ref, and @seq the
	 * place @idle_closed and its padding had: a connection is no bigger
	 * for the registry's shards (echo_async's stays in kmalloc-256).
	 */
	u16 shard;
	bool idle_closed;
	unsigned long last_active;
	unsigned long started;
	u64 seq;
	struct ksrv_task task;
	struct ksrv_watch watch;
};

/**
 * enum ksrv_next - what a task service's connection wants next
 * @KSRV_WAIT: to be woken by its socket (or by its own callback)
 * @KSRV_AGAIN: to run again, behind the other tasks
 * @KSRV_RETRY: to run again after a while: TCP ran out of memory to send,
 *	and with nothing queued no event will come to wake it
 *	(%KSRV_TCP_WAIT_NOMEM)
 * @KSRV_DONE: to be closed: the peer is done and so is the service
 *
 * &ksrv_ops.ready returns one of these, or a negative errno to close the
 * connection as failed.
 */
enum ksrv_next {
	KSRV_WAIT,
	KSRV_AGAIN,
	KSRV_RETRY,
	KSRV_DONE,
};

/**
 * enum ksrv_end - why a connection ended; each ending is counted once
 * @KSRV_END_PEER: the peer closed it
 * @KSRV_END_ERROR: it failed (counted in "errors")
 * @KSRV_END_IDLE: the idle sweeper closed it (counted in "idle_closed")
 * @KSRV_END_STOP: its listener stopped (removed, its network namespace
 *	went away, or the module was unloaded)
 */
enum ksrv_end {
	KSRV_END_PEER,
	KSRV_END_ERROR,
	KSRV_END_IDLE,
	KSRV_END_STOP,
};

/**
 * struct ksrv_dgram - a datagram received, for &ksrv_ops.datagram
 * @from: its source address
 * @fromlen: the length of @from
 * @data: its payload, valid until &ksrv_ops.datagram returns
 * @len: the payload's length
 */
struct ksrv_dgram {
	struct sockaddr_storage from;
	int fromlen;
	void *data;
	size_t len;
};

/**
 * enum ksrv_show - which listeners of a service show one of its counters
 * @KSRV_SHOW_ALL: TCP and UDP listeners
 * @KSRV_SHOW_TCP: TCP listeners only
 * @KSRV_SHOW_UDP: UDP listeners only
 *
 * A counter a listener's protocol never moves is left out of its block in
 * /proc/net/<name> and of its netlink dump, rather than shown as 0.
 */
enum ksrv_show {
	KSRV_SHOW_ALL,
	KSRV_SHOW_TCP,
	KSRV_SHOW_UDP,
};

/**
 * struct ksrv_ops - a service, as it describes itself to ksrv
 * @name: the service's name, up to 15 characters: what a listener is
 *	added for over netlink, its /proc/net file, its messages' prefix
 * @conn_size: size of the service's connection structure, which starts
 *	with a &struct ksrv_conn
 * @serve: thread services: serve @conn in a thread of its own until the
 *	peer is done (return 0) or something fails (a negative errno). The
 *	socket may be shut down under it at any time (idle, unload).
 * @arm: task services, optional: called with the socket locked just
 *	before the watch is armed (e.g. to install socket callbacks)
 * @ready: task services: the connection's task, run when its socket is
 *	ready; returns an &enum ksrv_next or a negative errno
 * @disarm: task services, optional: undo @arm; called before the core
 *	disarms the watch and cancels the task, once, by whoever tears @conn
 *	down: when that is ksrv_service_stop(), @ready may be running
 *	meanwhile, so @disarm must be safe against it (take the socket lock)
 * @release: optional: free what the service still holds for @conn, once
 *	nothing of the service runs for it, just before its socket is
 *	released; may sleep, called with the socket unlocked (its receive
 *	softirq may still run: take the socket lock)
 * @datagram: UDP, optional: one datagram received
 * @stat_names: names of the service's own counters, shown after the core's
 *	in /proc/net/<name>; counted with ksrv_count()
 * @stat_show: optional, for each of @stat_names: which listeners show it
 *	(&enum ksrv_show); NULL: every listener shows every one
 * @nr_stats: how many names @stat_names has
 *
 * Exactly one of @serve and @ready is set.
 */
struct ksrv_ops {
	const char *name;
	size_t conn_size;
	int (*serve)(struct ksrv_conn *conn);
	void (*arm)(struct ksrv_conn *conn);
	int (*ready)(struct ksrv_conn *conn);
	void (*disarm)(struct ksrv_conn *conn);
	void (*release)(struct ksrv_conn *conn);
	void (*datagram)(struct ksrv_service *srv, struct ksrv_dgram *dg);
	const char * const *stat_names;
	const enum ksrv_show *stat_show;
	unsigned int nr_stats;
};

int ksrv_register(const struct ksrv_ops *ops,
		  const struct ksrv_config *defaults);
void ksrv_unregister(const struct ksrv_ops *ops);
int ksrv_listener_add(const struct ksrv_ops *ops, struct ksrv_config *cfg);
int ksrv_module_init(const struct ksrv_ops *ops, struct ksrv_config *cfg,
		     bool udp, bool autostart);
void ksrv_count(struct ksrv_service *srv, unsigned int stat, u64 n);

/**
 * ksrv_conn_touch() - note that @conn moved data, for the idle sweeper
 * @conn: the connection
 */
static inline void ksrv_conn_touch(struct ksrv_conn *conn)
{
	WRITE_ONCE(conn->last_active, jiffies);
}

/**
 * ksrv_conn_wake() - run a task service's connection (again) soon
 * @conn: the connection; any context
 */
static inline void ksrv_conn_wake(struct ksrv_conn *conn)
{
	ksrv_task_wake(&conn->task);
}

/**
 * ksrv_conn_set_interest() - what socket readiness wakes @conn
 * @conn: a task service's connection
 * @interest: EPOLLIN, EPOLLOUT or both; errors and hang-ups always wake it
 */
static inline void ksrv_conn_set_interest(struct ksrv_conn *conn,
					  __poll_t interest)
{
	ksrv_watch_set_interest(&conn->watch, interest);
}

/**
 * ksrv_conn_interest() - what socket readiness wakes @conn now
 * @conn: a task service's connection
 *
 * Return: what ksrv_conn_set_interest() last set; from any context.
 */
static inline __poll_t ksrv_conn_interest(const struct ksrv_conn *conn)
{
	return READ_ONCE(conn->watch.interest);
}

/*
 * The parameters every service module takes, with their checks in
 * ksrv_config_check(); a module declares only its own beside them.
 */
/**
 * KSRV_MODULE_PARAMS() - declare autostart, addr, port, backlog, max_conns,
 *	idle_timeout, percpu_listen
 * @def_port: the default port
 * @def_max_conns: the default limit on connections served at once
 *
 * Defines ksrv_module_config(), which fills a &struct ksrv_config from
 * them: the listener started at load, and the defaults of every listener
 * added later over netlink.
 */
#define KSRV_MODULE_PARAMS(def_port, def_max_conns)			\
	static bool ksrv_param_autostart = true;			\
	module_param_named(autostart, ksrv_param_autostart, bool, 0444);	\
	MODULE_PARM_DESC(autostart,					\
		"Listen in the initial network namespace at load (default Y); " \
		"N: only listeners added with kechoctl");		\
	static char *ksrv_param_addr;					\
	module_param_named(addr, ksrv_param_addr, charp, 0444);		\
	MODULE_PARM_DESC(addr,						\
		"IPv4 or IPv6 address to listen on (default: all, IPv6 and IPv4)"); \
	static int ksrv_param_port = def_port;				\
	module_param_named(port, ksrv_param_port, int, 0444);		\
	MODULE_PARM_DESC(port,						\
		"Port to serve, 1..65535 (default " __stringify(def_port) ")"); \
	static int ksrv_param_backlog = KSRV_DEFAULT_BACKLOG;		\
	module_param_named(backlog, ksrv_param_backlog, int, 0444);	\
	MODULE_PARM_DESC(backlog,					\
		"listen() backlog, 1..65535, capped by net.core.somaxconn (default " \
		__stringify(KSRV_DEFAULT_BACKLOG) ")");			\
	static int ksrv_param_max_conns = def_max_conns;		\
	module_param_named(max_conns, ksrv_param_max_conns, int, 0444);	\
	MODULE_PARM_DESC(max_conns,					\
		"Connections served at once; more are closed at once, "	\
		"1..1048576 (default " __stringify(def_max_conns) ")");	\
	static int ksrv_param_idle_timeout;				\
	module_param_named(idle_timeout, ksrv_param_idle_timeout, int, 0444); \
	MODULE_PARM_DESC(idle_timeout,					\
		"Seconds without data before a connection is closed, "	\
		"0 (off)..604800 (default 0)");				\
	static bool ksrv_param_percpu_listen = true;			\
	module_param_named(percpu_listen, ksrv_param_percpu_listen, bool, 0444); \
	MODULE_PARM_DESC(percpu_listen,					\
		"A TCP listening socket per CPU, each accepting the connections " \
		"its CPU receives (default Y); N: one socket");		\
	static void ksrv_module_config(struct ksrv_config *cfg)		\
	{								\
		*cfg = (struct ksrv_config) {				\
			.name = KBUILD_MODNAME,				\
			.net = &init_net,				\
			.addr = ksrv_param_addr,			\
			.port = ksrv_param_port,			\
			.backlog = ksrv_param_backlog,			\
			.max_conns = ksrv_param_max_conns,		\
			.idle_timeout = ksrv_param_idle_timeout,	\
			.percpu = ksrv_param_percpu_listen,		\
		};							\
	}

/**
 * KSRV_MODULE_PARAM_UDP() - declare udp, for a service that serves UDP
 *
 * Defines ksrv_param_udp, on by default.
 */
#define KSRV_MODULE_PARAM_UDP()						\
	static bool ksrv_param_udp = true;				\
	module_param_named(udp, ksrv_param_udp, bool, 0444);		\
	MODULE_PARM_DESC(udp,						\
		"Also serve UDP on the same address and port at load (default Y)")

/**
 * module_ksrv_service() - a module that is one service and nothing more
 * @ops: the name of the service's &struct ksrv_ops
 * @serve_udp: whether to serve UDP too: false, or ksrv_param_udp
 * @unbound_wq: whether its tasks run on an unbound workqueue
 *
 * Its init registers the service, so that listeners can be added for it
 * over netlink, and starts the listeners KSRV_MODULE_PARAMS() say; its exit
 * stops every listener of the service, in every network namespace. The
 * functions are named after @ops.
 */
#define module_ksrv_service(ops, serve_udp, unbound_wq)			\
	static const struct ksrv_ops *const ops##_service = &(ops);	\
	static int __init ops##_init(void)				\
	{								\
		struct ksrv_config cfg;					\
									\
		ksrv_module_config(&cfg);				\
		cfg.unbound = (unbound_wq);				\
		return ksrv_module_init(ops##_service, &cfg, (serve_udp), \
					ksrv_param_autostart);		\
	}								\
	static void __exit ops##_exit(void)				\
	{								\
		ksrv_unregister(ops##_service);				\
	}								\
	module_init(ops##_init);					\
	module_exit(ops##_exit)

/* ---- tcp: received data sent back by reference (ksrv_tcp.c) ---- */

struct sk_buff;
struct sock;

/**
 * enum ksrv_tcp_wait - what makes room after a send came back short
 * @KSRV_TCP_WAIT_ACK: data is in flight: its ACK frees room and wakes
 *	the socket's writers (EPOLLOUT)
 * @KSRV_TCP_WAIT_PROBE: data waits unsent, none in flight: TCP's probe
 *	timer sends it once the peer's window opens, and its ACK does the rest
 * @KSRV_TCP_WAIT_NOMEM: both queues are empty, so TCP had no memory: no
 *	event will come, only time
 */
enum ksrv_tcp_wait {
	KSRV_TCP_WAIT_ACK,
	KSRV_TCP_WAIT_PROBE,
	KSRV_TCP_WAIT_NOMEM,
};

int ksrv_tcp_send_skb(struct sock *sk, struct sk_buff *skb,
		      unsigned int offset, size_t len, bool zerocopy);
enum ksrv_tcp_wait ksrv_tcp_send_blocked(struct sock *sk);
void ksrv_tcp_prepare_softirq(struct sock *sk);

/* ---- udp: datagrams (ksrv_udp.c) ---- */

/**
 * enum ksrv_udp_source - whether a datagram's source may get an answer
 * @KSRV_UDP_SOURCE_OK: it may
 * @KSRV_UDP_SOURCE_BAD_PORT: a port below 1024 (a service: echo, chargen,
 *	DNS...), NFS's 2049, 0, or the service's own port
 * @KSRV_UDP_SOURCE_BAD_ADDR: an unspecified, broadcast or multicast address
 */
enum ksrv_udp_source {
	KSRV_UDP_SOURCE_OK,
	KSRV_UDP_SOURCE_BAD_PORT,
	KSRV_UDP_SOURCE_BAD_ADDR,
};

enum ksrv_udp_source ksrv_udp_check_source(const struct sockaddr_storage *from,
					   int own_port);
int ksrv_udp_reply(struct ksrv_service *srv, const struct ksrv_dgram *dg,
		   const void *data, size_t len);
int ksrv_service_port(const struct ksrv_service *srv);

#endif /* KSRV_H */
