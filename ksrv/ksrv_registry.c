// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of a service's live connections. It is what module exit walks
 * to close every connection; taking a connection off it is what decides who
 * tears it down, so a connection that closes itself and module exit never
 * both free it. It also holds the service's connection limit.
 *
 * It is split in a shard per CPU, each with its own lock and list: a
 * connection goes on the shard of the CPU that registers it, and is taken
 * off it (mostly on that CPU too) under the same lock, so CPUs accepting
 * and closing connections at once share no lock. The limit is one atomic
 * counter, from which an add reserves its place with a compare-and-exchange
 * below the maximum: exact, without a lock. Closing sets each shard's
 * closed flag under its lock, and an add holds its shard's lock from its
 * look at the flag to its list_add(): nothing is added once
 * ksrv_registry_close() has returned. A connection's idle_closed is
 * protected by its shard's lock, which the idle sweeper's pick runs under.
 * Whatever visits every connection (pop, close, shutdown_if, walk) visits
 * the shards one after another.
 *
 * Mutexes, not spinlocks: the registry is only touched when connections
 * come and go, never per byte, and a sweep picks connections under a
 * shard's lock one by one with a reschedule point between them. Nothing
 * slow is done under it: shutting sockets down (which takes each socket's
 * lock) happens after the walk, on connections it took a reference on.
 */
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "ksrv_core.h"

/* One class for every shard's lock: the name /proc/lock_stat shows. */
static struct lock_class_key ksrv_reg_shard_key;

/**
 * ksrv_registry_init() - initialise an empty, open registry
 * @reg: the registry
 * @max: the most connections it may hold
 * @gfp: how to allocate its shards
 *
 * Return: 0, or -ENOMEM.
 */
int ksrv_registry_init(struct ksrv_registry *reg, unsigned int max, gfp_t gfp)
{
	unsigned int i;

	/* &ksrv_conn.shard, a u16, holds a CPU number. */
	BUILD_BUG_ON(CONFIG_NR_CPUS - 1 > U16_MAX);
	reg->shard = kcalloc(nr_cpu_ids, sizeof(*reg->shard), gfp);
	if (!reg->shard)
		return -ENOMEM;
	reg->nr = nr_cpu_ids;
	for (i = 0; i < reg->nr; i++) {
		__mutex_init(&reg->shard[i].lock, "ksrv_reg_shard",
			     &ksrv_reg_shard_key);
		INIT_LIST_HEAD(&reg->shard[i].list);
	}
	atomic_set(&reg->count, 0);
	reg->max = max;
	reg->pop_from = 0;
	return 0;
}
EXPORT_SYMBOL_GPL(ksrv_registry_init);

/* A place below the limit, or false; no lock, and never above @max. */
static bool ksrv_registry_reserve(struct ksrv_registry *reg)
{
	int n = atomic_read(&reg->count);

	do {
		if ((unsigned int)n >= reg->max)
			return false;
	} while (!atomic_try_cmpxchg(&reg->count, &n, n + 1));
	return true;
}

/**
 * ksrv_registry_add() - register a connection, on the current CPU's shard
 * @reg: the registry
 * @conn: the connection; its node initialised, on no list
 *
 * The CPU only places @conn: it may move on meanwhile, and @conn may be
 * removed from any CPU.
 *
 * Return: 0, -ESHUTDOWN if the registry is closed, or -EBUSY if it holds
 * its maximum.
 */
int ksrv_registry_add(struct ksrv_registry *reg, struct ksrv_conn *conn)
{
	unsigned int cpu = raw_smp_processor_id();
	struct ksrv_reg_shard *s = &reg->shard[cpu];
	int ret = 0;

	mutex_lock(&s->lock);
	if (s->closed) {
		ret = -ESHUTDOWN;
	} else if (!ksrv_registry_reserve(reg)) {
		ret = -EBUSY;
	} else {
		conn->shard = cpu;
		conn->seq = ++s->seq;
		list_add_tail(&conn->node, &s->list);
	}
	mutex_unlock(&s->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_registry_add);

/**
 * ksrv_registry_remove() - unregister a connection, if still registered
 * @reg: the registry
 * @conn: the connection, as passed to ksrv_registry_add()
 *
 * Return: true if this call took @conn off the registry: the caller now
 * owns the connection's teardown. False if somebody else (module exit,
 * through ksrv_registry_pop()) took it first.
 */
bool ksrv_registry_remove(struct ksrv_registry *reg, struct ksrv_conn *conn)
{
	struct ksrv_reg_shard *s = &reg->shard[conn->shard];
	bool removed = false;

	mutex_lock(&s->lock);
	if (!list_empty(&conn->node)) {
		list_del_init(&conn->node);
		atomic_dec(&reg->count);
		removed = true;
	}
	mutex_unlock(&s->lock);
	return removed;
}
EXPORT_SYMBOL_GPL(ksrv_registry_remove);

/**
 * ksrv_registry_pop() - take a connection off the registry
 * @reg: the registry
 *
 * The oldest of the first shard that has one, looking from the shard the
 * last call took one from, round all of them: emptying a registry of many
 * connections does not look at every shard for each. Meant for a closed
 * registry; on an open one a connection added meanwhile may be missed.
 *
 * Return: the connection, whose teardown the caller now owns, or NULL if
 * the registry is empty.
 */
struct ksrv_conn *ksrv_registry_pop(struct ksrv_registry *reg)
{
	unsigned int from = READ_ONCE(reg->pop_from);
	unsigned int n, i;

	for (n = 0; n < reg->nr; n++) {
		struct ksrv_reg_shard *s;
		struct ksrv_conn *conn;

		i = (from + n) % reg->nr;
		s = &reg->shard[i];
		/* Not worth the lock: nothing is added once closed. */
		if (list_empty(&s->list))
			continue;
		mutex_lock(&s->lock);
		conn = list_first_entry_or_null(&s->list, struct ksrv_conn,
						node);
		if (conn) {
			list_del_init(&conn->node);
			atomic_dec(&reg->count);
		}
		mutex_unlock(&s->lock);
		if (conn) {
			WRITE_ONCE(reg->pop_from, i);
			return conn;
		}
	}
	return NULL;
}
EXPORT_SYMBOL_GPL(ksrv_registry_pop);

/**
 * ksrv_registry_close() - refuse every later ksrv_registry_add()
 * @reg: the registry
 *
 * An add in progress on some shard is done before this returns.
 */
void ksrv_registry_close(struct ksrv_registry *reg)
{
	unsigned int i;

	for (i = 0; i < reg->nr; i++) {
		mutex_lock(&reg->shard[i].lock);
		reg->shard[i].closed = true;
		mutex_unlock(&reg->shard[i].lock);
	}
}
EXPORT_SYMBOL_GPL(ksrv_registry_close);

/**
 * ksrv_conn_put() - drop a reference to a connection
 * @conn: the connection
 *
 * The last reference lets the service free what it holds for the
 * connection (&ksrv_ops.release), releases the socket (resetting the
 * connection if its network namespace is going away) and frees the
 * connection. Its owner drops its reference once it has torn the
 * connection down; an idle sweep or a shutdown in progress may hold one
 * more for a while. Process context: both may sleep.
 */
void ksrv_conn_put(struct ksrv_conn *conn)
{
	might_sleep();
	if (!refcount_dec_and_test(&conn->ref))
		return;
	if (conn->srv->ops->release)
		conn->srv->ops->release(conn);
	/*
	 * Kernel sockets hold no reference on their namespace: when it is
	 * going, reset rather than leave an orphan in FIN_WAIT behind it.
	 */
	if (!check_net(sock_net(conn->sock->sk)))
		sock_no_linger(conn->sock->sk);
	sock_release(conn->sock);
	ksrv_conn_uncharge(conn->srv);
	kfree(conn);
}
EXPORT_SYMBOL_GPL(ksrv_conn_put);

/**
 * ksrv_registry_shutdown_if() - shut down the sockets of some connections
 * @reg: the registry
 * @pick: called with the connection's shard locked, on each registered
 *	connection; true to shut its socket down. It must not sleep.
 * @arg: passed to @pick
 *
 * Whatever is blocked on a connection's socket, or is woken by it, then
 * sees the end of the stream and tears the connection down itself. The
 * shutdowns happen after the walk, with the registry unlocked, on a
 * reference taken during it: a connection that closes itself meanwhile
 * is freed only when its shutdown is done.
 *
 * Return: how many sockets were shut down.
 */
unsigned int ksrv_registry_shutdown_if(struct ksrv_registry *reg,
				       bool (*pick)(struct ksrv_conn *conn,
						    void *arg),
				       void *arg)
{
	struct ksrv_conn *conn, *next;
	unsigned int n = 0, i;
	LIST_HEAD(picked);

	for (i = 0; i < reg->nr; i++) {
		struct ksrv_reg_shard *s = &reg->shard[i];

		mutex_lock(&s->lock);
		list_for_each_entry(conn, &s->list, node) {
			if (!pick(conn, arg))
				continue;
			refcount_inc(&conn->ref);
			list_add_tail(&conn->sweep, &picked);
			/* A million connections: let others run meanwhile. */
			cond_resched();
		}
		mutex_unlock(&s->lock);
	}

	list_for_each_entry_safe(conn, next, &picked, sweep) {
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
		list_del(&conn->sweep);
		ksrv_conn_put(conn);
		n++;
		/* Tens of thousands of connections: let others run. */
		cond_resched();
	}
	return n;
}
EXPORT_SYMBOL_GPL(ksrv_registry_shutdown_if);

/**
 * ksrv_registry_walk() - look at registered connections, resumably
 * @reg: the registry
 * @pos: on entry, where to start (all zeroes: at the start); on return,
 *	the connection @fn stopped at, or the end
 * @fn: called with the connection's shard locked on each connection from
 *	@pos on, which stays registered meanwhile; nonzero to stop the walk
 *	there
 * @arg: passed to @fn
 *
 * For a netlink dump, which fills one message after another. The shards
 * are walked one after another, each in the order of &ksrv_conn.seq, and
 * @pos is a shard and a number in it rather than a count: a connection
 * that stays registered from one call to the next is seen exactly once,
 * however many others come and go meanwhile. One added meanwhile may or
 * may not be seen.
 *
 * Return: what @fn returned last, or 0 at the end.
 */
int ksrv_registry_walk(struct ksrv_registry *reg, struct ksrv_registry_pos *pos,
		       int (*fn)(struct ksrv_conn *conn, void *arg), void *arg)
{
	struct ksrv_conn *conn;
	int ret;

	for (; pos->shard < reg->nr; pos->shard++, pos->seq = 0) {
		struct ksrv_reg_shard *s = &reg->shard[pos->shard];

		mutex_lock(&s->lock);
		list_for_each_entry(conn, &s->list, node) {
			if (conn->seq < pos->seq)
				continue;
			ret = fn(conn, arg);
			if (ret) {
				pos->seq = conn->seq;
				mutex_unlock(&s->lock);
				return ret;
			}
		}
		mutex_unlock(&s->lock);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(ksrv_registry_walk);

/**
 * ksrv_registry_count() - how many connections are registered
 * @reg: the registry
 *
 * Read without a lock: a reader of the statistics file does not wait
 * behind connections coming and going.
 *
 * Return: the number, which may change as soon as this returns.
 */
unsigned int ksrv_registry_count(struct ksrv_registry *reg)
{
	return atomic_read(&reg->count);
}
EXPORT_SYMBOL_GPL(ksrv_registry_count);

/**
 * ksrv_registry_destroy() - release a registry that must be empty
 * @reg: the registry, initialised
 */
void ksrv_registry_destroy(struct ksrv_registry *reg)
{
	bool left = atomic_read(&reg->count);
	unsigned int i;

	for (i = 0; i < reg->nr; i++) {
		left |= !list_empty(&reg->shard[i].list);
		mutex_destroy(&reg->shard[i].lock);
	}
	WARN_ON(left);
	kfree(reg->shard);
	reg->shard = NULL;
}
EXPORT_SYMBOL_GPL(ksrv_registry_destroy);
