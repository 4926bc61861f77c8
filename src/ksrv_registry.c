// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of a service's live connections. It is what module exit walks
 * to close every connection; taking a node off it is what decides who tears
 * a connection down, so a connection that closes itself and module exit
 * never both free it.
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
 */
void ksrv_registry_init(struct ksrv_registry *reg)
{
	mutex_init(&reg->lock);
	INIT_LIST_HEAD(&reg->list);
	reg->count = 0;
	reg->closed = false;
}
EXPORT_SYMBOL_GPL(ksrv_registry_init);

/**
 * ksrv_registry_add() - register a connection
 * @reg: the registry
 * @node: the connection's node, not on any list
 *
 * Return: 0, or -ESHUTDOWN if the registry is closed.
 */
int ksrv_registry_add(struct ksrv_registry *reg, struct list_head *node)
{
	int ret = 0;

	mutex_lock(&reg->lock);
	if (reg->closed) {
		ret = -ESHUTDOWN;
	} else {
		list_add_tail(node, &reg->list);
		reg->count++;
	}
	mutex_unlock(&reg->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_registry_add);

/**
 * ksrv_registry_remove() - unregister a connection, if still registered
 * @reg: the registry
 * @node: the connection's node, as passed to ksrv_registry_add()
 *
 * Return: true if this call took @node off the registry: the caller now
 * owns the connection's teardown. False if somebody else (module exit,
 * through ksrv_registry_pop()) took it first.
 */
bool ksrv_registry_remove(struct ksrv_registry *reg, struct list_head *node)
{
	bool removed = false;

	mutex_lock(&reg->lock);
	if (!list_empty(node)) {
		list_del_init(node);
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
 * Return: the node, whose teardown the caller now owns, or NULL if the
 * registry is empty.
 */
struct list_head *ksrv_registry_pop(struct ksrv_registry *reg)
{
	struct list_head *node = NULL;

	mutex_lock(&reg->lock);
	if (!list_empty(&reg->list)) {
		node = reg->list.next;
		list_del_init(node);
		reg->count--;
	}
	mutex_unlock(&reg->lock);
	return node;
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
 * A node cannot leave the registry while @fn runs on it, so whatever the
 * connection keeps alive while registered (its socket) is safe to use.
 */
void ksrv_registry_for_each(struct ksrv_registry *reg,
			    void (*fn)(struct list_head *node, void *arg),
			    void *arg)
{
	struct list_head *node;

	mutex_lock(&reg->lock);
	list_for_each(node, &reg->list)
		fn(node, arg);
	mutex_unlock(&reg->lock);
}
EXPORT_SYMBOL_GPL(ksrv_registry_for_each);

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
