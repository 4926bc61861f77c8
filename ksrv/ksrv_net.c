// SPDX-License-Identifier: GPL-2.0
/*
 * Services and their listeners, per network namespace.
 *
 * A service module registers its &struct ksrv_ops by name; listeners are
 * then started for it, by the module's parameters at load or over netlink
 * at any time, each in one network namespace. A namespace's listeners are
 * on its &struct ksrv_net, and its /proc/net/<service> file shows them.
 *
 * Kernel sockets hold no reference on their namespace (a listener must not
 * keep a namespace alive), so the namespace's exit hook (pre_exit: while
 * its devices are still there) stops every listener of it, resetting
 * their connections, before it is freed.
 *
 * ksrv_mutex serialises every change: adding and removing listeners,
 * registering services, a namespace's exit. The /proc/net files read the
 * lists under RCU, because removing a file waits for its readers, and it is
 * removed with ksrv_mutex held.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <net/netns/generic.h>

#include "ksrv_core.h"

/* Held across every change of services and listeners (see above). */
DEFINE_MUTEX(ksrv_mutex);

/*
 * A registered service: its ops, and the settings of a listener started
 * without them (the module's parameters).
 */
struct ksrv_type {
	struct list_head node;
	const struct ksrv_ops *ops;
	struct ksrv_config defaults;
};

static LIST_HEAD(ksrv_types);		/* ksrv_mutex */
static LIST_HEAD(ksrv_listeners);	/* every listener, ksrv_mutex */
static unsigned int ksrv_net_id __read_mostly;

/**
 * ksrv_net() - ksrv's state in a network namespace
 * @net: the namespace
 *
 * Return: the state, which lives as long as @net.
 */
struct ksrv_net *ksrv_net(const struct net *net)
{
	return net_generic(net, ksrv_net_id);
}

static struct ksrv_type *ksrv_type_find(const char *name)
{
	struct ksrv_type *type;

	list_for_each_entry(type, &ksrv_types, node)
		if (!strcmp(type->ops->name, name))
			return type;
	return NULL;
}

/**
 * ksrv_find_service() - a registered service, and its listeners' defaults
 * @name: the service's name
 * @cfg: filled with the defaults of a listener of the service
 *
 * Call with ksrv_mutex held; the service stays registered until it is
 * released.
 *
 * Return: the service's ops, or NULL if no service has that name.
 */
const struct ksrv_ops *ksrv_find_service(const char *name,
					 struct ksrv_config *cfg)
{
	struct ksrv_type *type;

	lockdep_assert_held(&ksrv_mutex);
	type = ksrv_type_find(name);
	if (!type)
		return NULL;
	*cfg = type->defaults;
	return type->ops;
}

/* ---- /proc/net/<service>: a block per listener of the service ---- */

static int ksrv_proc_show(struct seq_file *m, void *v)
{
	const struct ksrv_ops *ops = pde_data(file_inode(m->file));
	struct ksrv_net *kn = ksrv_net(m->private);
	struct ksrv_service *srv;

	rcu_read_lock();
	list_for_each_entry_rcu(srv, &kn->listeners, node) {
		if (srv->ops != ops)
			continue;
		seq_printf(m, "listener %u %s %pISpc\n", srv->id,
			   srv->cfg.udp ? "udp" : "tcp", &srv->addr);
		if (!srv->cfg.udp)
			seq_printf(m, "conns %u\n",
				   ksrv_registry_count(&srv->conns));
		ksrv_stats_show(m, &srv->stats);
	}
	rcu_read_unlock();
	return 0;
}

static bool ksrv_net_serves(struct ksrv_net *kn, const struct ksrv_ops *ops)
{
	struct ksrv_service *srv;

	list_for_each_entry(srv, &kn->listeners, node)
		if (srv->ops == ops)
			return true;
	return false;
}

/* ---- listeners ---- */

/**
 * ksrv_listener_start() - start a listener and put it on its namespace
 * @ops: a registered service
 * @cfg: where and how, @cfg->net included; @cfg->name must be @ops->name
 *
 * Call with ksrv_mutex held. The first listener of a service in a
 * namespace creates the namespace's /proc/net/<service>.
 *
 * Return: the listener, or an ERR_PTR() after one error line.
 */
struct ksrv_service *ksrv_listener_start(const struct ksrv_ops *ops,
					 struct ksrv_config *cfg)
{
	struct ksrv_net *kn = ksrv_net(cfg->net);
	struct ksrv_service *srv;
	bool first;

	lockdep_assert_held(&ksrv_mutex);
	if (kn->count >= KSRV_NET_MAX_LISTENERS || !kn->next_id) {
		pr_err("%s: no room for another listener in this namespace\n",
		       cfg->name);
		return ERR_PTR(-ENOSPC);
	}
	first = !ksrv_net_serves(kn, ops);
	if (first && IS_ENABLED(CONFIG_PROC_FS) &&
	    !proc_create_net_single(ops->name, 0444, cfg->net->proc_net,
				    ksrv_proc_show, (void *)ops)) {
		pr_err("%s: cannot create /proc/net/%s\n", cfg->name,
		       ops->name);
		return ERR_PTR(-ENOMEM);
	}
	srv = ksrv_service_start(ops, cfg);
	if (IS_ERR(srv)) {
		if (first)
			remove_proc_entry(ops->name, cfg->net->proc_net);
		return srv;
	}
	srv->id = kn->next_id++;
	kn->count++;
	list_add_tail_rcu(&srv->node, &kn->listeners);
	list_add_tail(&srv->all, &ksrv_listeners);
	kn->seq++;
	return srv;
}

/* Off the lists, and its file gone if it was its service's last. */
static void ksrv_listener_unlink(struct ksrv_service *srv)
{
	struct net *net = srv->cfg.net;
	struct ksrv_net *kn = ksrv_net(net);

	list_del_rcu(&srv->node);
	list_del(&srv->all);
	kn->count--;
	kn->seq++;
	if (!ksrv_net_serves(kn, srv->ops))
		remove_proc_entry(srv->ops->name, net->proc_net);
}

/* Unlinked: wait for readers of the lists, then stop them all. */
static void ksrv_listeners_stop(struct list_head *stopping)
{
	struct ksrv_service *srv, *next;

	synchronize_rcu();
	list_for_each_entry_safe(srv, next, stopping, all)
		ksrv_service_stop(srv);
}

/**
 * ksrv_listener_stop() - stop a listener and close its connections
 * @net: the namespace it is in
 * @id: its number there
 *
 * Call with ksrv_mutex held.
 *
 * Return: 0, or -ENOENT if @net has no such listener.
 */
int ksrv_listener_stop(struct net *net, u32 id)
{
	struct ksrv_net *kn = ksrv_net(net);
	struct ksrv_service *srv;
	LIST_HEAD(stopping);

	lockdep_assert_held(&ksrv_mutex);
	list_for_each_entry(srv, &kn->listeners, node) {
		if (srv->id != id)
			continue;
		ksrv_listener_unlink(srv);
		list_add(&srv->all, &stopping);
		ksrv_listeners_stop(&stopping);
		return 0;
	}
	return -ENOENT;
}

/**
 * ksrv_listener_add() - start a listener of a registered service
 * @ops: the service, registered with ksrv_register()
 * @cfg: where and how; @cfg->net is the namespace; @cfg->name must
 *	outlive the listener
 *
 * Return: its number in @cfg->net, or a negative errno after one error
 * line.
 */
int ksrv_listener_add(const struct ksrv_ops *ops, struct ksrv_config *cfg)
{
	struct ksrv_service *srv;
	int ret;

	mutex_lock(&ksrv_mutex);
	srv = ksrv_listener_start(ops, cfg);
	ret = IS_ERR(srv) ? PTR_ERR(srv) : srv->id;
	mutex_unlock(&ksrv_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_listener_add);

/* ---- services ---- */

/**
 * ksrv_register() - make a service available to listeners
 * @ops: the service; must stay until ksrv_unregister()
 * @defaults: a listener's settings where whoever adds it gives none
 *
 * Return: 0, or -EEXIST if a service of that name is registered, -EINVAL
 * for ops that cannot work, -ENOMEM.
 */
int ksrv_register(const struct ksrv_ops *ops,
		  const struct ksrv_config *defaults)
{
	struct ksrv_type *type;
	int ret = 0;

	if (WARN_ON(!ops->name || strlen(ops->name) >= KSRV_SERVICE_NAME_LEN ||
		    !ops->serve == !ops->ready ||
		    ops->conn_size < sizeof(struct ksrv_conn) ||
		    (ops->nr_stats && !ops->stat_names)))
		return -EINVAL;
	type = kzalloc(sizeof(*type), GFP_KERNEL);
	if (!type)
		return -ENOMEM;
	type->ops = ops;
	type->defaults = *defaults;
	type->defaults.name = ops->name;

	mutex_lock(&ksrv_mutex);
	if (ksrv_type_find(ops->name)) {
		pr_err("%s: a service of that name is registered\n",
		       ops->name);
		ret = -EEXIST;
		kfree(type);
	} else {
		list_add_tail(&type->node, &ksrv_types);
	}
	mutex_unlock(&ksrv_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(ksrv_register);

/**
 * ksrv_unregister() - stop every listener of a service, everywhere
 * @ops: the service, registered
 *
 * On return no listener of @ops is left in any namespace, and none can be
 * added.
 */
void ksrv_unregister(const struct ksrv_ops *ops)
{
	struct ksrv_service *srv, *next;
	struct ksrv_type *type;
	LIST_HEAD(stopping);

	mutex_lock(&ksrv_mutex);
	type = ksrv_type_find(ops->name);
	if (!WARN_ON(!type || type->ops != ops)) {
		list_del(&type->node);
		kfree(type);
	}
	list_for_each_entry_safe(srv, next, &ksrv_listeners, all) {
		if (srv->ops != ops)
			continue;
		ksrv_listener_unlink(srv);
		list_add_tail(&srv->all, &stopping);
	}
	ksrv_listeners_stop(&stopping);
	mutex_unlock(&ksrv_mutex);
}
EXPORT_SYMBOL_GPL(ksrv_unregister);

/**
 * ksrv_module_init() - register a service and start its load-time listeners
 * @ops: the service
 * @cfg: the module's parameters, in init_net
 * @udp: also a UDP listener on the same address and port
 * @autostart: start the listeners; false: registered only
 *
 * What module_ksrv_service() calls at load.
 *
 * Return: 0, or a negative errno after one error line; nothing is left
 * registered or started on error.
 */
int ksrv_module_init(const struct ksrv_ops *ops, struct ksrv_config *cfg,
		     bool udp, bool autostart)
{
	int ret;

	/* Bad parameters fail the load even when nothing is started. */
	ret = ksrv_config_check(cfg);
	if (ret)
		return ret;
	ret = ksrv_register(ops, cfg);
	if (ret || !autostart)
		return ret;
	cfg->udp = false;
	ret = ksrv_listener_add(ops, cfg);
	if (ret >= 0 && udp) {
		cfg->udp = true;
		ret = ksrv_listener_add(ops, cfg);
	}
	if (ret < 0) {
		ksrv_unregister(ops);
		return ret;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(ksrv_module_init);

/* ---- namespaces ---- */

static int __net_init ksrv_net_setup(struct net *net)
{
	struct ksrv_net *kn = ksrv_net(net);

	INIT_LIST_HEAD(&kn->listeners);
	kn->next_id = 1;
	return 0;
}

/*
 * When the namespace has no user left, before its devices go: nothing of
 * ours may outlive it, and the resets can still reach the peers.
 */
static void __net_exit ksrv_net_teardown(struct net *net)
{
	struct ksrv_net *kn = ksrv_net(net);
	struct ksrv_service *srv, *next;
	LIST_HEAD(stopping);

	mutex_lock(&ksrv_mutex);
	list_for_each_entry_safe(srv, next, &kn->listeners, node) {
		ksrv_listener_unlink(srv);
		list_add_tail(&srv->all, &stopping);
	}
	ksrv_listeners_stop(&stopping);
	mutex_unlock(&ksrv_mutex);
}

static struct pernet_operations ksrv_net_ops = {
	.init = ksrv_net_setup,
	.pre_exit = ksrv_net_teardown,
	.id = &ksrv_net_id,
	.size = sizeof(struct ksrv_net),
};

/**
 * ksrv_net_init() - set up ksrv's state in every namespace, now and later
 *
 * Return: 0 or a negative errno.
 */
int ksrv_net_init(void)
{
	return register_pernet_subsys(&ksrv_net_ops);
}

/**
 * ksrv_net_exit() - remove ksrv's state from every namespace
 *
 * Every service is unregistered by then: their modules hold ours.
 */
void ksrv_net_exit(void)
{
	unregister_pernet_subsys(&ksrv_net_ops);
}
