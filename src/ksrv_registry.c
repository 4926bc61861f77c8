// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of a service's live connections. It is what module exit walks
 * to close every connection; taking a connection off it is what decides who
 * tears it down, so a connection that closes itself and module exit never
 * both free it. It also holds the service's connection limit: counting and
 * adding under one lock is what makes the limit exact.
 *
 * A mutex, not a spinlock: the registry is only touched when connections
 * come and go, never per byte, and a sweep picks connections under it one
 * by one with a reschedule point between them. Nothing slow is done under
 * it: shutting sockets down (which takes each socket's lock) happens after
 * the walk, on connections it took a reference on.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "ksrv_core.h"

/**
 * ksrv_registry_init() - initialise an empty, open registry
 * @reg: the registry
 * @max: the most connections it may hold
 */
void ksrv_registry_init(struct ksrv_registry *reg, unsigned int max)
{
	mutex_init(&reg->lock);
	INIT_LIST_HEAD(&reg->list);
	reg->count = 0;
	reg->max = max;
	reg->closed = false;
}
EXPORT_SYMBOL_GPL(ksrv_registry_init);

/**
 * ksrv_registry_add() - register a connection
 * @reg: the registry
 * @conn: the connection, initialised by ksrv_conn_init()
 *
 * Return: 0, -ESHUTDOWN if the registry is closed, or -EBUSY if it holds
 * its maximum.
 */
int ksrv_registry_add(struct ksrv_registry *reg, struct ksrv_conn *conn)
{
	int ret = 0;

	mutex_lock(&reg->lock);
	if (reg->closed) {
		ret = -ESHUTDOWN;
	} else if (reg->count >= reg->max) {
		ret = -EBUSY;
	} else {
		list_add_tail(&conn->node, &reg->list);
		WRITE_ONCE(reg->count, reg->count + 1);
	}
	mutex_unlock(&reg->lock);
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
	bool removed = false;

	mutex_lock(&reg->lock);
	if (!list_empty(&conn->node)) {
		list_del_init(&conn->node);
		WRITE_ONCE(reg->count, reg->count - 1);
		removed = true;
	}
	mutex_unlock(&reg->lock);
	return removed;
}
EXPORT_SYMBOL_GPL(ksrv_registry_remove);

/**
 * ksrv_registry_pop() - take the oldest connection off the registry
 * @reg: the registry
 *
 * Return: the connection, whose teardown the caller now owns, or NULL if
 * the registry is empty.
 */
struct ksrv_conn *ksrv_registry_pop(struct ksrv_registry *reg)
{
	struct ksrv_conn *conn;

	mutex_lock(&reg->lock);
	conn = list_first_entry_or_null(&reg->list, struct ksrv_conn, node);
	if (conn) {
		list_del_init(&conn->node);
		WRITE_ONCE(reg->count, reg->count - 1);
	}
	mutex_unlock(&reg->lock);
	return conn;
}
EXPORT_SYMBOL_GPL(ksrv_registry_pop);

/**
 * ksrv_registry_close() - refuse every later ksrv_registry_add()
 * @reg: the registry
 */
void ksrv_registry_close(struct ksrv_registry *reg)
{
	mutex_lock(&reg->lock);
	reg->closed = true;
	mutex_unlock(&reg->lock);
}
EXPORT_SYMBOL_GPL(ksrv_registry_close);

/**
 * ksrv_conn_put() - drop a reference to a connection
 * @conn: the connection
 *
 * The last reference releases the socket (resetting the connection if its
 * network namespace is going away) and frees the connection. Its
 * owner drops its reference once it has torn the connection down; an idle
 * sweep or a shutdown in progress may hold one more for a while.
 */
void ksrv_conn_put(struct ksrv_conn *conn)
{
	if (!refcount_dec_and_test(&conn->ref))
		return;
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
 * @pick: called with the registry locked, on each registered connection;
 *	true to shut its socket down. It must not sleep.
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
	unsigned int n = 0;
	LIST_HEAD(picked);

	mutex_lock(&reg->lock);
	list_for_each_entry(conn, &reg->list, node) {
		if (!pick(conn, arg))
			continue;
		refcount_inc(&conn->ref);
		list_add_tail(&conn->sweep, &picked);
		/* A million connections: let others run meanwhile. */
		cond_resched();
	}
	mutex_unlock(&reg->lock);

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
 * @pos: on entry, how many connections to skip; on return, the position of
 *	the connection @fn stopped at, or of the end
 * @fn: called with the registry locked on each connection from @pos on,
 *	which stays registered meanwhile; nonzero to stop the walk there
 * @arg: passed to @fn
 *
 * For a netlink dump, which fills one message after another: a connection
 * added or removed between two calls may be skipped or seen twice.
 *
 * Return: what @fn returned last, or 0 at the end.
 */
int ksrv_registry_walk(struct ksrv_registry *reg, unsigned long *pos,
		       int (*fn)(struct ksrv_conn *conn, void *arg), void *arg)
{
	struct ksrv_conn *conn;
	unsigned long i = 0;
	int ret = 0;

	mutex_lock(&reg->lock);
	list_for_each_entry(conn, &reg->list, node) {
		if (i < *pos) {
			i++;
			continue;
		}
		ret = fn(conn, arg);
		if (ret)
			break;
		i++;
	}
	mutex_unlock(&reg->lock);
	*pos = i;
	return ret;
}

/**
 * ksrv_registry_count() - how many connections are registered
 * @reg: the registry
 *
 * Read without the lock: a reader of the statistics file does not wait
 * behind connections coming and going.
 *
 * Return: the number, which may change as soon as this returns.
 */
unsigned int ksrv_registry_count(struct ksrv_registry *reg)
{
	return READ_ONCE(reg->count);
}
EXPORT_SYMBOL_GPL(ksrv_registry_count);

/**
 * ksrv_registry_destroy() - release a registry that must be empty
 * @reg: the registry
 */
void ksrv_registry_destroy(struct ksrv_registry *reg)
{
	WARN_ON(!list_empty(&reg->list) || reg->count);
	mutex_destroy(&reg->lock);
}
EXPORT_SYMBOL_GPL(ksrv_registry_destroy);
