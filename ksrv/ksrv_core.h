/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksrv's inside: what ksrv_service.c builds a service from. Services do
 * not include this; the unit tests (ksrv_kunit.c) do.
 */
#ifndef KSRV_CORE_H
#define KSRV_CORE_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/uidgid.h>
#include <uapi/linux/ksrv.h>

#include "ksrv.h"

/* ---- registry: the set of live connections (ksrv_registry.c) ---- */

/**
 * struct ksrv_reg_shard - the connections one CPU registered
 * @lock: protects @list, @seq, @closed, and &ksrv_conn.idle_closed of
 *	the connections on @list
 * @list: the connections, through &ksrv_conn.node, in the order of
 *	their &ksrv_conn.seq
 * @seq: the &ksrv_conn.seq of the last connection added
 * @closed: set by ksrv_registry_close(); nothing is added after it
 *
 * A cache line of its own: CPUs that accept at once do not share one.
 */
struct ksrv_reg_shard {
	struct mutex lock; /* protects list, seq, closed */
	struct list_head list;
	u64 seq;
	bool closed;
} ____cacheline_aligned_in_smp;

/**
 * struct ksrv_registry - the live connections of one service
 * @shard: one shard per possible CPU, @nr of them, indexed by CPU: a
 *	connection goes on the shard of the CPU that adds it
 * @nr: how many shards there are (nr_cpu_ids)
 * @count: number of connections on every shard together, at most @max;
 *	changed and read without a lock
 * @max: the most connections the registry may hold
 * @pop_from: the shard ksrv_registry_pop() looks at first
 *
 * Whoever takes a node off the registry owns the connection's teardown;
 * this is what lets a connection close itself while module exit is closing
 * all of them, without either side freeing it twice.
 */
struct ksrv_registry {
	struct ksrv_reg_shard *shard;
	unsigned int nr;
	atomic_t count;
	unsigned int max;
	unsigned int pop_from;
};

/**
 * struct ksrv_registry_pos - where a ksrv_registry_walk() resumes
 * @shard: the shard
 * @seq: the first &ksrv_conn.seq in it not yet seen
 *
 * All zeroes is the start.
 */
struct ksrv_registry_pos {
	unsigned int shard;
	u64 seq;
};

int ksrv_registry_init(struct ksrv_registry *reg, unsigned int max, gfp_t gfp);
int ksrv_registry_add(struct ksrv_registry *reg, struct ksrv_conn *conn);
bool ksrv_registry_remove(struct ksrv_registry *reg, struct ksrv_conn *conn);
struct ksrv_conn *ksrv_registry_pop(struct ksrv_registry *reg);
void ksrv_registry_close(struct ksrv_registry *reg);
unsigned int ksrv_registry_shutdown_if(struct ksrv_registry *reg,
				       bool (*pick)(struct ksrv_conn *conn,
						    void *arg),
				       void *arg);
int ksrv_registry_walk(struct ksrv_registry *reg, struct ksrv_registry_pos *pos,
		       int (*fn)(struct ksrv_conn *conn, void *arg), void *arg);
unsigned int ksrv_registry_count(struct ksrv_registry *reg);
void ksrv_registry_destroy(struct ksrv_registry *reg);
void ksrv_conn_put(struct ksrv_conn *conn);

/* ---- stats: counters an operator reads in /proc/net (ksrv_stats.c) ---- */

/**
 * enum ksrv_stat - the core's counters; a service's own follow them
 * @KSRV_STAT_ACCEPTED: connections taken into service
 * @KSRV_STAT_REFUSED: connections closed at once, over the limit
 * @KSRV_STAT_OVER_BUDGET: connections closed at once, over the budget of
 *	the user who owns the listener's namespace (ksrv_user.c)
 * @KSRV_STAT_IDLE_CLOSED: connections closed by the idle sweeper
 * @KSRV_STAT_DGRAMS_IN: datagrams received (UDP listeners)
 * @KSRV_STAT_ERRORS: connections ended by an error, failed accepts and
 *	failed allocations, failed UDP receives and truncated datagrams
 * @KSRV_STAT_NR: the number of the core's counters
 */
enum ksrv_stat {
	KSRV_STAT_ACCEPTED,
	KSRV_STAT_REFUSED,
	KSRV_STAT_OVER_BUDGET,
	KSRV_STAT_IDLE_CLOSED,
	KSRV_STAT_DGRAMS_IN,
	KSRV_STAT_ERRORS,
	KSRV_STAT_NR,
};

/**
 * struct ksrv_stats - a listener's counters
 * @cpu: per-CPU counters, @nr of them, summed only when they are read
 * @nr: the core's counters and then the service's
 * @names: the service's counters' names
 * @show: which listeners show each of the service's counters, or NULL
 *	(&ksrv_ops.stat_show)
 * @udp: a UDP listener's: show the UDP counters, not the TCP ones
 */
struct ksrv_stats {
	u64 __percpu *cpu;
	unsigned int nr;
	const char * const *names;
	const enum ksrv_show *show;
	bool udp;
};

int ksrv_stats_init(struct ksrv_stats *stats, const struct ksrv_ops *ops,
		    const struct ksrv_config *cfg);
void ksrv_stats_destroy(struct ksrv_stats *stats);
const char *ksrv_stats_name(const struct ksrv_stats *stats, unsigned int stat);
u64 ksrv_stats_sum(const struct ksrv_stats *stats, unsigned int stat);
void ksrv_stats_show(struct seq_file *m, const struct ksrv_stats *stats);

/**
 * ksrv_stats_add() - add to a counter, from any context, without a lock
 * @stats: the service's counters
 * @stat: which counter: an &enum ksrv_stat, or KSRV_STAT_NR + the
 *	service's own
 * @n: how much
 */
static inline void ksrv_stats_add(struct ksrv_stats *stats,
				  unsigned int stat, u64 n)
{
	this_cpu_add(stats->cpu[stat], n);
}

/* ---- idle: one sweeper closes connections left idle (ksrv_idle.c) ---- */

/**
 * struct ksrv_idle - the idle sweeper of a service
 * @dwork: runs the sweep, every @period
 * @reg: the connections it sweeps
 * @timeout: how long a connection may stay idle, in jiffies; 0: no sweeper
 * @period: jiffies between two sweeps
 */
struct ksrv_idle {
	struct delayed_work dwork;
	struct ksrv_registry *reg;
	unsigned long timeout;
	unsigned long period;
};

void ksrv_idle_start(struct ksrv_idle *idle, struct ksrv_registry *reg,
		     unsigned int seconds);
void ksrv_idle_stop(struct ksrv_idle *idle);

/* ---- threads: one kernel thread per connection (ksrv_threads.c) ---- */

/**
 * struct ksrv_threads - the threads one spawner started
 * @exited: completed once by every thread, from core kernel code
 * @running: threads started and not yet seen exiting
 */
struct ksrv_threads {
	struct completion exited;
	atomic_t running;
};

void ksrv_threads_init(struct ksrv_threads *threads);
struct task_struct *ksrv_threads_spawn(struct ksrv_threads *threads,
				       int (*fn)(void *data), void *data,
				       const char *namefmt, const char *name,
				       unsigned int id);
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

/* ---- user: budgets per user, across namespaces (ksrv_user.c) ---- */

/**
 * enum ksrv_user_res - what a user's budget counts
 * @KSRV_USER_LISTENERS: listeners
 * @KSRV_USER_CONNS: connections served at once
 * @KSRV_USER_THREADS: connection threads (thread services)
 * @KSRV_USER_NR: how many there are
 */
enum ksrv_user_res {
	KSRV_USER_LISTENERS,
	KSRV_USER_CONNS,
	KSRV_USER_THREADS,
	KSRV_USER_NR,
};

/**
 * struct ksrv_user - what one user's listeners hold, in every namespace
 * @node: in the table of users, by @uid
 * @uid: the user, in the initial user namespace
 * @top: for uid 0, the top-level user namespace it made, each a budget
 *	of its own; NULL for every other user (one budget across all)
 * @ref: listeners and starts in progress holding it (ksrv_user.c's lock)
 * @count: how many of each &enum ksrv_user_res, below its limit
 */
struct ksrv_user {
	struct hlist_node node;
	kuid_t uid;
	const struct user_namespace *top;
	unsigned int ref;
	atomic_t count[KSRV_USER_NR];
};

struct ksrv_user *ksrv_user_get(const struct net *net);
void ksrv_user_put(struct ksrv_user *user);
bool ksrv_user_charge(struct ksrv_user *user, enum ksrv_user_res res);
void ksrv_user_uncharge(struct ksrv_user *user, enum ksrv_user_res res);
struct sock;
void ksrv_user_watch_peer(struct ksrv_user *user, struct sock *sk);

/* ---- service: what ksrv_service_start() sets up (ksrv_service.c) ---- */

/**
 * struct ksrv_udp - a service's UDP socket (ksrv_udp.c)
 * @sock: the bound socket; NULL if the service serves no UDP
 * @task: drains @sock
 * @watch: wakes @task when @sock has datagrams
 * @buf: where a datagram is received, the largest UDP payload long
 */
struct ksrv_udp {
	struct socket *sock;
	struct ksrv_task task;
	struct ksrv_watch watch;
	void *buf;
};

/**
 * struct ksrv_lsock - one listening socket of a TCP listener
 * @srv: the listener
 * @sock: the socket; with a socket per CPU, the member of the listener's
 *	SO_REUSEPORT group that takes the connections whose SYN @cpu
 *	processes (ksrv_listen_cpu())
 * @accept_task: accepts from @sock, woken by @watch, on @cpu
 * @watch: wakes @accept_task on a connection to accept
 * @acceptor: accepts from @sock instead of @accept_task, in the cgroups of
 *	whoever added the listener (ksrv_acceptor.c)
 * @cpu: the CPU whose connections @sock takes; -1 for a listener's only
 *	socket, which takes all and is accepted from anywhere
 *
 * A cache line of its own: each CPU accepts from its own.
 */
struct ksrv_lsock {
	struct ksrv_service *srv;
	struct socket *sock;
	struct ksrv_task accept_task;
	struct ksrv_watch watch;
	struct task_struct *acceptor;
	int cpu;
} ____cacheline_aligned_in_smp;

/**
 * struct ksrv_service - a listener: the sockets of a service at one
 *	address and port, and its connections
 * @ops: what the service does
 * @cfg: where it listens; @cfg.name is the caller's, @cfg.addr is
 *	@addr_str
 * @node: on its namespace's list of listeners (RCU, ksrv_mutex)
 * @all: on the list of every listener (ksrv_mutex)
 * @id: its number in its namespace, from 1
 * @addr: the address it is bound to (its first socket's)
 * @addr_str: @cfg.addr, as it was given
 * @executor: runs the accept task, and every task of a task service
 * @conns: the live TCP connections
 * @stats: the counters, in /proc/net/@cfg.name
 * @idle: the idle sweeper
 * @threads: the connections' threads, for a thread service
 * @ls: the listening sockets, @nr_ls of them: one per online CPU with
 *	&ksrv_config.percpu (and more than one CPU), else one; NULL for UDP
 * @nr_ls: how many there are
 * @memcg: the memory cgroup the connections' kernel memory is charged to
 *	(set_active_memcg()); NULL: nobody's
 * @udp: the UDP socket, with @cfg.udp
 * @next_id: the number in the next connection thread's name; atomic, as
 *	connections may be accepted on several CPUs at once
 * @stopping: ksrv_service_stop() has begun: connections ending now end
 *	because of it
 * @user: the budget of the user who owns @cfg.net, which the listener
 *	and its connections count against; NULL for the admin's
 */
struct ksrv_service {
	const struct ksrv_ops *ops;
	struct ksrv_config cfg;
	struct list_head node;
	struct list_head all;
	u32 id;
	struct sockaddr_storage addr;
	char addr_str[KSRV_ADDR_LEN];
	struct ksrv_executor executor;
	struct ksrv_registry conns;
	struct ksrv_stats stats;
	struct ksrv_idle idle;
	struct ksrv_threads threads;
	struct ksrv_lsock *ls;
	unsigned int nr_ls;
	struct mem_cgroup *memcg;
	struct ksrv_udp udp;
	atomic_t next_id;
	bool stopping;
	struct ksrv_user *user;
};

struct ksrv_service *ksrv_service_start(const struct ksrv_ops *ops,
					const struct ksrv_config *cfg);
void ksrv_service_stop(struct ksrv_service *srv);
void ksrv_conn_uncharge(struct ksrv_service *srv);
void ksrv_conn_start(struct ksrv_service *srv, struct socket *sock);

/* ---- acceptor: charging the owner's cgroups (ksrv_acceptor.c) ---- */

void ksrv_charge_start(struct ksrv_service *srv);
void ksrv_charge_stop(struct ksrv_service *srv);
bool ksrv_acceptor_wanted(const struct ksrv_service *srv);
int ksrv_acceptor_start(struct ksrv_service *srv);
void ksrv_acceptor_stop(struct ksrv_service *srv);
int ksrv_udp_start(struct ksrv_service *srv);
void ksrv_udp_stop(struct ksrv_service *srv);

/* ---- net: listeners, per network namespace (ksrv_net.c) ---- */

/* Serialises adding and removing listeners and services. */
extern struct mutex ksrv_mutex;

/*
 * Listeners one namespace may have: root of any user namespace may add
 * them, and each costs a socket, a workqueue and counters.
 */
#define KSRV_NET_MAX_LISTENERS	256

/**
 * struct ksrv_net - ksrv's state in one network namespace
 * @listeners: its listeners, through &ksrv_service.node; changed under
 *	ksrv_mutex, read under it or RCU
 * @count: how many listeners there are, at most KSRV_NET_MAX_LISTENERS
 * @next_id: the next listener's number
 * @seq: changed with @listeners, so that a dump can tell it was changed
 */
struct ksrv_net {
	struct list_head listeners;
	unsigned int count;
	u32 next_id;
	unsigned int seq;
};

struct ksrv_net *ksrv_net(const struct net *net);
const struct ksrv_ops *ksrv_find_service(const char *name,
					 struct ksrv_config *cfg);
struct ksrv_service *ksrv_listener_start(const struct ksrv_ops *ops,
					 struct ksrv_config *cfg);
int ksrv_listener_stop(struct net *net, u32 id);
int ksrv_net_init(void);
void ksrv_net_exit(void);

/* ---- netlink: the "ksrv" generic netlink family (ksrv_netlink.c) ---- */

int ksrv_netlink_init(void);
void ksrv_netlink_exit(void);

#endif /* KSRV_CORE_H */
