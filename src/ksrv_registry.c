// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of a service's live connections. It is what module exit walks
 * to close every connection; taking a connection off it is what decides who
 * tears it down, so a connection that closes itself and module exit never
 * both free it. It also holds the service's connection limit: counting and
 * adding under one lock is what makes the limit exact.
 *
 * A mutex, not a spinlock: ksrv_registry_for_each() callbacks may sleep
 * (shutting a socket down takes the socket lock), and the registry is only
 * touched when connections come and go, never per byte.
 */
#include <linux/module.h>

#include "ksrv.h"

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
		reg->count++;
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
		reg->count--;
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
		reg->count--;
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
 * ksrv_registry_for_each() - call @fn on every registered connection
 * @reg: the registry
 * @fn: called with the registry locked; it may sleep but must not add to
 *	or remove from @reg
 * @arg: passed to @fn
 *
 * A connection cannot leave the registry while @fn runs on it, so its
 * socket is safe to use.
 */
void ksrv_registry_for_each(struct ksrv_registry *reg,
			    void (*fn)(struct ksrv_conn *conn, void *arg),
			    void *arg)
{
	struct ksrv_conn *conn;

	mutex_lock(&reg->lock);
	list_for_each_entry(conn, &reg->list, node) {
		fn(conn, arg);
		/* Tens of thousands of connections: let others run. */
		cond_resched();
	}
	mutex_unlock(&reg->lock);
}
EXPORT_SYMBOL_GPL(ksrv_registry_for_each);

static void ksrv_conn_shutdown(struct ksrv_conn *conn, void *arg)
{
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
}

/**
 * ksrv_registry_shutdown_all() - shut every registered socket down
 * @reg: the registry, normally closed already
 *
 * Whatever is blocked on a connection's socket, or is woken by it, then
 * sees the end of the stream and tears the connection down itself.
 */
void ksrv_registry_shutdown_all(struct ksrv_registry *reg)
{
	ksrv_registry_for_each(reg, ksrv_conn_shutdown, NULL);
}
EXPORT_SYMBOL_GPL(ksrv_registry_shutdown_all);

/**
 * ksrv_registry_count() - how many connections are registered
 * @reg: the registry
 *
 * Return: the number, which may change as soon as this returns.
 */
unsigned int ksrv_registry_count(struct ksrv_registry *reg)
{
	unsigned int count;

	mutex_lock(&reg->lock);
	count = reg->count;
	mutex_unlock(&reg->lock);
	return count;
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
