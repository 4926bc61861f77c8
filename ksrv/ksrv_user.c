// SPDX-License-Identifier: GPL-2.0
/*
 * Budgets per user: what one local user may make ksrv hold, across every
 * namespace that user owns.
 *
 * Root of any user namespace may add listeners in a network namespace it
 * owns, so any local user can, and a user may create thousands of
 * namespaces: a cap per namespace bounds nothing. As the kernel's ucounts
 * do (kernel/ucount.c), what a listener holds is counted against the user
 * who owns its namespace tree: the owner, in the initial user namespace,
 * of the outermost user namespace above the listener's network namespace.
 * Listeners of namespaces the initial user namespace owns are the host
 * admin's and have no budget.
 *
 * Namespaces that root made (a container runtime's) are root's only in
 * name: each top-level one of those is a budget of its own, rather than
 * all containers sharing uid 0's.
 *
 * A budget counts listeners, connections and connection threads; each is
 * bounded by a parameter of ksrv.ko that the admin may change at any time
 * (/sys/module/ksrv/parameters/max_user_*). Lowering one refuses new
 * objects until the count is below it, and ends none. The counters are
 * atomics, raised below the limit without a lock, so a connection pays
 * two atomic operations and no lock for its budget.
 */
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/user_namespace.h>
#include <net/sock.h>

#include "ksrv_core.h"

static unsigned int ksrv_max_user[KSRV_USER_NR] = {
	[KSRV_USER_LISTENERS] = 64,
	[KSRV_USER_CONNS] = 4096,
	[KSRV_USER_THREADS] = 64,
};
module_param_named(max_user_listeners, ksrv_max_user[KSRV_USER_LISTENERS],
		   uint, 0644);
MODULE_PARM_DESC(max_user_listeners,
		 "Listeners one user may have across the namespaces it owns (default 64)");
module_param_named(max_user_conns, ksrv_max_user[KSRV_USER_CONNS], uint,
		   0644);
MODULE_PARM_DESC(max_user_conns,
		 "Connections the listeners of one user may serve at once (default 4096)");
module_param_named(max_user_threads, ksrv_max_user[KSRV_USER_THREADS], uint,
		   0644);
MODULE_PARM_DESC(max_user_threads,
		 "Connection threads (thread services) one user's listeners may run at once (default 64)");

static const char * const ksrv_user_param[KSRV_USER_NR] = {
	[KSRV_USER_LISTENERS] = "max_user_listeners",
	[KSRV_USER_CONNS] = "max_user_conns",
	[KSRV_USER_THREADS] = "max_user_threads",
};

/* Users with a listener, by uid; a listener holds a reference. */
static DEFINE_HASHTABLE(ksrv_users, 6);
static DEFINE_MUTEX(ksrv_users_lock);	/* ksrv_users and every ref */

/* The outermost user namespace above @ns (not the initial one). */
static const struct user_namespace *
ksrv_user_top(const struct user_namespace *ns)
{
	while (ns->parent != &init_user_ns)
		ns = ns->parent;
	return ns;
}

/**
 * ksrv_user_get() - the budget of whoever owns a network namespace
 * @net: the namespace a listener is to serve
 *
 * Return: the owner's budget, with a reference; NULL if the initial user
 * namespace owns @net (no budget); or an ERR_PTR(-ENOMEM).
 */
struct ksrv_user *ksrv_user_get(const struct net *net)
{
	const struct user_namespace *top;
	struct ksrv_user *user;
	kuid_t uid;

	if (net->user_ns == &init_user_ns)
		return NULL;
	top = ksrv_user_top(net->user_ns);
	uid = top->owner;
	/* Root's namespace trees are told apart; a user's are all one. */
	if (!uid_eq(uid, GLOBAL_ROOT_UID))
		top = NULL;

	mutex_lock(&ksrv_users_lock);
	hash_for_each_possible(ksrv_users, user, node, __kuid_val(uid)) {
		if (uid_eq(user->uid, uid) && user->top == top) {
			user->ref++;
			goto out;
		}
	}
	/* The user's own memory: whoever asked pays for it. */
	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user) {
		user = ERR_PTR(-ENOMEM);
		goto out;
	}
	user->uid = uid;
	user->top = top;
	user->ref = 1;
	hash_add(ksrv_users, &user->node, __kuid_val(uid));
out:
	mutex_unlock(&ksrv_users_lock);
	return user;
}

/**
 * ksrv_user_put() - drop a reference from ksrv_user_get()
 * @user: the budget, or NULL
 */
void ksrv_user_put(struct ksrv_user *user)
{
	if (!user)
		return;
	mutex_lock(&ksrv_users_lock);
	if (!--user->ref) {
		hash_del(&user->node);
		WARN_ON(atomic_read(&user->count[KSRV_USER_LISTENERS]) ||
			atomic_read(&user->count[KSRV_USER_CONNS]) ||
			atomic_read(&user->count[KSRV_USER_THREADS]));
		kfree(user);
	}
	mutex_unlock(&ksrv_users_lock);
}

/**
 * ksrv_user_charge() - count one more object against a budget
 * @user: the budget, or NULL for none
 * @res: what the object is
 *
 * From any context. Refusals are logged, rate-limited, with the
 * parameter that sets the limit.
 *
 * Return: true if it fits (then ksrv_user_uncharge() it when it goes),
 * false if the budget is spent.
 */
bool ksrv_user_charge(struct ksrv_user *user, enum ksrv_user_res res)
{
	unsigned int max;
	int n;

	if (!user)
		return true;
	max = READ_ONCE(ksrv_max_user[res]);
	n = atomic_read(&user->count[res]);
	do {
		/* Unsigned: a count that ever went wrong refuses, not wraps. */
		if ((unsigned int)n >= max || n == INT_MAX) {
			pr_warn_ratelimited("ksrv: uid %u%s is at its %s (%u)\n",
					    __kuid_val(user->uid),
					    user->top ? " (one of its namespaces)" : "",
					    ksrv_user_param[res], max);
			return false;
		}
	} while (!atomic_try_cmpxchg(&user->count[res], &n, n + 1));
	return true;
}

/**
 * ksrv_user_uncharge() - an object counted by ksrv_user_charge() is gone
 * @user: the budget, or NULL
 * @res: what the object was
 */
void ksrv_user_uncharge(struct ksrv_user *user, enum ksrv_user_res res)
{
	if (user)
		atomic_dec(&user->count[res]);
}

/*
 * A peer that vanishes without FIN or RST (a client host that died, or a
 * socket its owner closed in TCP_REPAIR mode) leaves the server side
 * established for ever: nothing is in flight, so TCP never notices.
 */
static unsigned int ksrv_peer_timeout = 120;
module_param_named(peer_timeout, ksrv_peer_timeout, uint, 0644);
MODULE_PARM_DESC(peer_timeout,
		 "Seconds a user's connection may outlive a peer that answers nothing before it is reset, 0 (no check) or 2..65534 (default 120)");

/**
 * ksrv_user_watch_peer() - bound how long a connection outlives its peer
 * @user: the budget of the connection's listener, or NULL for none
 * @sk: the connection's socket, just accepted
 *
 * For a user's listener (the admin's own are left as configured): TCP
 * keepalive probes from half the timeout on, and a user timeout that
 * resets the connection once the peer has acknowledged nothing, probe or
 * data, for the whole timeout.
 */
void ksrv_user_watch_peer(struct ksrv_user *user, struct sock *sk)
{
	unsigned int secs = min(READ_ONCE(ksrv_peer_timeout), 65534U);

	if (!user || !secs)
		return;
	secs = max(secs, 2U);
	sock_set_keepalive(sk);
	tcp_sock_set_keepidle(sk, secs / 2);
	tcp_sock_set_keepintvl(sk, max(secs / 8, 1U));
	tcp_sock_set_keepcnt(sk, 4);
	tcp_sock_set_user_timeout(sk, secs * MSEC_PER_SEC);
}
