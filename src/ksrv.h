/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksrv: a small core for in-kernel TCP services.
 *
 * It gives a service what every in-kernel server needs and gets wrong most
 * often: checked parameters and a listening socket (config), a registry of
 * live connections so that module exit can find and close every one of them
 * and a limit on how many there are (registry), counters an operator can
 * read (stats), one sweeper that closes idle connections (idle),
 * thread-per-connection bookkeeping that lets exit wait for every thread
 * (threads), and, for event-driven services, an executor (a module-owned
 * workqueue that runs tasks) and a reactor (socket readiness turned into
 * task wake-ups) (executor, reactor), and for services that answer with
 * the data they received, a way to send it back without copying it (tcp).
 */
#ifndef KSRV_H
#define KSRV_H

#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "ksrv_compat.h"

/* ---- config: parameters and the listening socket (ksrv_config.c) ---- */

/**
 * struct ksrv_config - where and how a service listens
 * @name: the service's name, used as the prefix of its messages
 * @addr: an IPv4 or IPv6 literal to listen on; NULL or "" for every
 *	address, IPv6 and IPv4 on one socket where IPv6 is available
 * @port: TCP port, 1..65535
 * @backlog: listen() backlog, 1..65535
 * @max_conns: connections served at once, 1..1048576
 * @idle_timeout: seconds a connection may move no byte, 0 (for ever)..604800
 */
struct ksrv_config {
	const char *name;
	const char *addr;
	int port;
	int backlog;
	int max_conns;
	int idle_timeout;
};

int ksrv_check_param(const char *name, const char *param, int val, int min,
		     int max);
int ksrv_config_check(const struct ksrv_config *cfg);
int ksrv_listen(const struct ksrv_config *cfg, struct socket **res);
int ksrv_bind_udp(const struct ksrv_config *cfg, struct socket **res);

/* ---- conn: what the core knows of every connection ---- */

/**
 * struct ksrv_conn - the part of a connection the core manages
 * @node: on the registry's list while registered
 * @sock: the connection's socket; alive at least while registered
 * @last_active: jiffies when a byte was last received or sent
 * @idle_closed: the idle sweeper has shut @sock down (registry lock)
 *
 * Services embed it in their own connection structure.
 */
struct ksrv_conn {
	struct list_head node;
	struct socket *sock;
	unsigned long last_active;
	bool idle_closed;
};

/**
 * ksrv_conn_init() - initialise a connection before it is registered
 * @conn: the connection
 * @sock: its accepted socket
 */
static inline void ksrv_conn_init(struct ksrv_conn *conn, struct socket *sock)
{
	INIT_LIST_HEAD(&conn->node);
	conn->sock = sock;
	conn->last_active = jiffies;
	conn->idle_closed = false;
}

/**
 * ksrv_conn_touch() - note that @conn moved data, for the idle sweeper
 * @conn: the connection
 */
static inline void ksrv_conn_touch(struct ksrv_conn *conn)
{
	WRITE_ONCE(conn->last_active, jiffies);
}

/* ---- registry: the set of live connections (ksrv_registry.c) ---- */

/**
 * struct ksrv_registry - the live connections of one service
 * @lock: protects every other field and every &ksrv_conn.idle_closed
 * @list: the connections, through &ksrv_conn.node
 * @count: number of connections on @list
 * @max: the most connections @list may hold
 * @closed: set by ksrv_registry_close(); nothing is added after it
 *
 * Whoever takes a node off the registry owns the connection's teardown;
 * this is what lets a connection close itself while module exit is closing
 * all of them, without either side freeing it twice.
 */
struct ksrv_registry {
	struct mutex lock; /* protects list, count, closed */
	struct list_head list;
	unsigned int count;
	unsigned int max;
	bool closed;
};

void ksrv_registry_init(struct ksrv_registry *reg, unsigned int max);
int ksrv_registry_add(struct ksrv_registry *reg, struct ksrv_conn *conn);
bool ksrv_registry_remove(struct ksrv_registry *reg, struct ksrv_conn *conn);
struct ksrv_conn *ksrv_registry_pop(struct ksrv_registry *reg);
void ksrv_registry_close(struct ksrv_registry *reg);
void ksrv_registry_for_each(struct ksrv_registry *reg,
			    void (*fn)(struct ksrv_conn *conn, void *arg),
			    void *arg);
void ksrv_registry_shutdown_all(struct ksrv_registry *reg);
unsigned int ksrv_registry_count(struct ksrv_registry *reg);
void ksrv_registry_destroy(struct ksrv_registry *reg);

/* ---- stats: counters an operator reads in /proc/net (ksrv_stats.c) ---- */

/**
 * enum ksrv_stat - the counters of a service
 * @KSRV_STAT_ACCEPTED: connections taken into service
 * @KSRV_STAT_REFUSED: connections closed at once, over the limit
 * @KSRV_STAT_IDLE_CLOSED: connections closed by the idle sweeper
 * @KSRV_STAT_BYTES_IN: bytes received
 * @KSRV_STAT_BYTES_OUT: bytes sent
 * @KSRV_STAT_ERRORS: connections ended by an error, failed accepts and
 *	failed allocations
 * @KSRV_STAT_DGRAMS_IN: datagrams received
 * @KSRV_STAT_DGRAMS_OUT: datagrams sent
 * @KSRV_STAT_DGRAMS_DROPPED: datagrams received and not answered
 * @KSRV_STAT_NR: the number of counters
 */
enum ksrv_stat {
	KSRV_STAT_ACCEPTED,
	KSRV_STAT_REFUSED,
	KSRV_STAT_IDLE_CLOSED,
	KSRV_STAT_BYTES_IN,
	KSRV_STAT_BYTES_OUT,
	KSRV_STAT_ERRORS,
	KSRV_STAT_DGRAMS_IN,
	KSRV_STAT_DGRAMS_OUT,
	KSRV_STAT_DGRAMS_DROPPED,
	KSRV_STAT_NR,
};

/**
 * struct ksrv_stats_cpu - one CPU's share of the counters
 * @val: indexed by &enum ksrv_stat
 */
struct ksrv_stats_cpu {
	u64 val[KSRV_STAT_NR];
};

/**
 * struct ksrv_stats - a service's counters and their /proc/net file
 * @cpu: per-CPU counters, summed only when the file is read
 * @reg: the registry whose size is reported as the current connections
 * @name: the file's name in /proc/net
 */
struct ksrv_stats {
	struct ksrv_stats_cpu __percpu *cpu;
	struct ksrv_registry *reg;
	const char *name;
};

int ksrv_stats_init(struct ksrv_stats *stats, const char *name,
		    struct ksrv_registry *reg);
void ksrv_stats_destroy(struct ksrv_stats *stats);

/**
 * ksrv_stats_add() - add to a counter, from any context, without a lock
 * @stats: the service's counters
 * @stat: which counter
 * @n: how much
 */
static inline void ksrv_stats_add(struct ksrv_stats *stats,
				  enum ksrv_stat stat, u64 n)
{
	this_cpu_add(stats->cpu->val[stat], n);
}

/* ---- idle: one sweeper closes connections left idle (ksrv_idle.c) ---- */

/**
 * struct ksrv_idle - the idle sweeper of a service
 * @dwork: runs the sweep, every @period
 * @reg: the connections it sweeps
 * @stats: where it counts what it closes
 * @timeout: how long a connection may stay idle, in jiffies; 0: no sweeper
 * @period: jiffies between two sweeps
 */
struct ksrv_idle {
	struct delayed_work dwork;
	struct ksrv_registry *reg;
	struct ksrv_stats *stats;
	unsigned long timeout;
	unsigned long period;
};

void ksrv_idle_start(struct ksrv_idle *idle, struct ksrv_registry *reg,
		     struct ksrv_stats *stats, unsigned int seconds);
void ksrv_idle_stop(struct ksrv_idle *idle);

/* ---- threads: one kernel thread per connection (ksrv_threads.c) ---- */

/**
 * struct ksrv_threads - the threads one spawner started
 * @exited: completed once by every thread, from core kernel code
 * @running: threads started and not yet seen exiting; spawner only
 */
struct ksrv_threads {
	struct completion exited;
	unsigned int running;
};

void ksrv_threads_init(struct ksrv_threads *threads);
struct task_struct *ksrv_threads_spawn(struct ksrv_threads *threads,
				       int (*fn)(void *data), void *data,
				       const char *namefmt, unsigned int id);
void ksrv_threads_wait(struct ksrv_threads *threads);

/**
 * ksrv_threads_exit() - end the calling group thread
 * @threads: the group the thread was spawned into
 *
 * Does not return, and runs no module code after signalling the group.
 * Inline so that objtool sees the call to the core kernel's noreturn
 * function.
 */
static inline void __noreturn ksrv_threads_exit(struct ksrv_threads *threads)
{
	kthread_complete_and_exit(&threads->exited, 0);
}

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
	if (!queue_delayed_work(task->executor->wq, &task->dwork, 0) &&
	    timer_pending(&task->dwork.timer))
		mod_delayed_work(task->executor->wq, &task->dwork, 0);
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
 */
struct ksrv_watch {
	struct wait_queue_entry wqe;
	struct socket *sock;
	struct ksrv_task *task;
	__poll_t interest;
};

void ksrv_watch_init(struct ksrv_watch *watch, struct socket *sock,
		     struct ksrv_task *task, __poll_t interest);
void ksrv_watch_arm(struct ksrv_watch *watch);
void ksrv_watch_disarm(struct ksrv_watch *watch);
void ksrv_watch_set_interest(struct ksrv_watch *watch, __poll_t interest);

/* ---- tcp: received data sent back by reference (ksrv_tcp.c) ---- */

struct sk_buff;
struct sock;

int ksrv_tcp_send_skb(struct sock *sk, struct sk_buff *skb,
		      unsigned int offset, size_t len, bool zerocopy);
void ksrv_tcp_prepare_softirq(struct sock *sk);

#endif /* KSRV_H */
