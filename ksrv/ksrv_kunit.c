// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of ksrv's parts: parameter and address checks, the
 * registry's ownership rules, its limit with CPUs adding at once and its
 * walk across the CPUs' shards, a listener's SO_REUSEPORT group of sockets
 * per CPU, which UDP sources get no answer, and the TCP send's guards, on
 * a connection over loopback in the initial network namespace. Built
 * where the kernel has KUnit; loading the module runs them and prints the
 * results in KTAP.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "ksrv_core.h"

static const struct ksrv_config ksrv_test_cfg = {
	.name = "ksrv_kunit",
	.port = 7,
	.backlog = KSRV_DEFAULT_BACKLOG,
	.max_conns = 16,
};

static void ksrv_test_check_param(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ksrv_check_param("t", "p", 1, 1, 65535), 0);
	KUNIT_EXPECT_EQ(test, ksrv_check_param("t", "p", 65535, 1, 65535), 0);
	KUNIT_EXPECT_EQ(test, ksrv_check_param("t", "p", 0, 1, 65535),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ksrv_check_param("t", "p", 65536, 1, 65535),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ksrv_check_param("t", "p", INT_MIN, 0, 1),
			-EINVAL);
}

static void ksrv_test_config_check(struct kunit *test)
{
	struct ksrv_config cfg = ksrv_test_cfg;

	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), 0);
	cfg.port = 0;
	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), -EINVAL);
	cfg = ksrv_test_cfg;
	cfg.backlog = 65536;
	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), -EINVAL);
	cfg = ksrv_test_cfg;
	cfg.max_conns = 0;
	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), -EINVAL);
	cfg = ksrv_test_cfg;
	cfg.idle_timeout = -1;
	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), -EINVAL);
	cfg.idle_timeout = 604801;
	KUNIT_EXPECT_EQ(test, ksrv_config_check(&cfg), -EINVAL);
}

/* @addr parses to @family, or fails with -EINVAL if @family is 0. */
static void ksrv_expect_addr(struct kunit *test, const char *addr,
			     int family)
{
	struct ksrv_config cfg = ksrv_test_cfg;
	struct sockaddr_storage ss;
	int ret;

	cfg.addr = addr;
	ret = ksrv_parse_addr(&cfg, &ss);
	if (!family) {
		KUNIT_EXPECT_EQ_MSG(test, ret, -EINVAL, "addr=%s", addr);
		return;
	}
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "addr=%s", addr);
	KUNIT_EXPECT_EQ_MSG(test, ss.ss_family, family, "addr=%s", addr);
	KUNIT_EXPECT_EQ(test, ntohs(((struct sockaddr_in *)&ss)->sin_port), 7);
}

static void ksrv_test_parse_addr(struct kunit *test)
{
	struct ksrv_config cfg = ksrv_test_cfg;
	struct sockaddr_storage ss;

	/* No address: the IPv6 wildcard, which takes IPv4 too. */
	KUNIT_ASSERT_EQ(test, ksrv_parse_addr(&cfg, &ss), 0);
	KUNIT_EXPECT_EQ(test, ss.ss_family, AF_INET6);
	KUNIT_EXPECT_TRUE(test,
			  ipv6_addr_any(&((struct sockaddr_in6 *)&ss)->sin6_addr));
	ksrv_expect_addr(test, "", AF_INET6);
	ksrv_expect_addr(test, "127.0.0.1", AF_INET);
	ksrv_expect_addr(test, "0.0.0.0", AF_INET);
	ksrv_expect_addr(test, "::1", AF_INET6);
	ksrv_expect_addr(test, "::ffff:10.0.0.1", AF_INET6);
	ksrv_expect_addr(test, "fe80::1%eth0", 0);
	ksrv_expect_addr(test, "127.0.0.1:80", 0);
	ksrv_expect_addr(test, "[::1]", 0);
	ksrv_expect_addr(test, "localhost", 0);
	ksrv_expect_addr(test, "1.2.3", 0);
	ksrv_expect_addr(test, "1.2.3.4 ", 0);
	ksrv_expect_addr(test, "256.1.1.1", 0);
}

static struct ksrv_conn *ksrv_test_conns(struct kunit *test, int n)
{
	struct ksrv_conn *conns;
	int i;

	conns = kunit_kcalloc(test, n, sizeof(*conns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, conns);
	for (i = 0; i < n; i++)
		INIT_LIST_HEAD(&conns[i].node);
	return conns;
}

/* The limit, and who owns a connection taken off the registry. */
static void ksrv_test_registry_rules(struct kunit *test)
{
	struct ksrv_conn *c = ksrv_test_conns(test, 3);
	struct ksrv_registry reg;

	KUNIT_ASSERT_EQ(test, ksrv_registry_init(&reg, 2, GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, ksrv_registry_add(&reg, &c[0]), 0);
	KUNIT_EXPECT_EQ(test, ksrv_registry_add(&reg, &c[1]), 0);
	KUNIT_EXPECT_EQ(test, ksrv_registry_add(&reg, &c[2]), -EBUSY);
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&reg), 2U);

	/* Removed once: the second caller (exit, or itself) owns nothing. */
	KUNIT_EXPECT_TRUE(test, ksrv_registry_remove(&reg, &c[0]));
	KUNIT_EXPECT_FALSE(test, ksrv_registry_remove(&reg, &c[0]));
	/* Popped: the connection's own remove then finds it gone. */
	KUNIT_EXPECT_PTR_EQ(test, ksrv_registry_pop(&reg), &c[1]);
	KUNIT_EXPECT_FALSE(test, ksrv_registry_remove(&reg, &c[1]));
	KUNIT_EXPECT_NULL(test, ksrv_registry_pop(&reg));
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&reg), 0U);

	/* Closed: nothing registers after it, even under the limit. */
	ksrv_registry_close(&reg);
	KUNIT_EXPECT_EQ(test, ksrv_registry_add(&reg, &c[2]), -ESHUTDOWN);
	ksrv_registry_destroy(&reg);
}

#define KSRV_TEST_RACE_CONNS	2000

struct ksrv_test_race {
	struct ksrv_registry reg;
	struct ksrv_conn *conns;
	atomic_t *owners;	/* per connection: how many sides own it */
};

/* A connection closing itself: remove, and own it if that succeeded. */
static int ksrv_test_race_closer(void *data)
{
	struct ksrv_test_race *r = data;
	int i;

	for (i = KSRV_TEST_RACE_CONNS - 1; i >= 0; i--) {
		if (ksrv_registry_remove(&r->reg, &r->conns[i]))
			atomic_inc(&r->owners[i]);
		cond_resched();
	}
	return 0;
}

/*
 * Module exit and every connection closing itself at once, on two CPUs
 * where there are two: each connection is owned exactly once.
 */
static void ksrv_test_registry_race(struct kunit *test)
{
	struct ksrv_test_race r;
	struct ksrv_conn *conn;
	struct task_struct *closer;
	int i;

	r.conns = ksrv_test_conns(test, KSRV_TEST_RACE_CONNS);
	r.owners = kunit_kcalloc(test, KSRV_TEST_RACE_CONNS,
				 sizeof(*r.owners), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.owners);
	KUNIT_ASSERT_EQ(test, ksrv_registry_init(&r.reg, KSRV_TEST_RACE_CONNS,
						 GFP_KERNEL), 0);
	for (i = 0; i < KSRV_TEST_RACE_CONNS; i++)
		KUNIT_ASSERT_EQ(test, ksrv_registry_add(&r.reg, &r.conns[i]),
				0);

	/* Held before it runs: it may be gone before kthread_stop(). */
	closer = kthread_create(ksrv_test_race_closer, &r, "ksrv_kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(closer));
	get_task_struct(closer);
	wake_up_process(closer);
	ksrv_registry_close(&r.reg);
	while ((conn = ksrv_registry_pop(&r.reg))) {
		atomic_inc(&r.owners[conn - r.conns]);
		cond_resched();
	}
	kthread_stop(closer);
	put_task_struct(closer);

	for (i = 0; i < KSRV_TEST_RACE_CONNS; i++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&r.owners[i]), 1,
				    "connection %d", i);
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&r.reg), 0U);
	ksrv_registry_destroy(&r.reg);
}

/* A function run in a thread bound to one CPU, for what needs a CPU. */
struct ksrv_test_thread {
	int (*fn)(void *arg);
	void *arg;
	struct task_struct *task;
	int ret;		/* what @fn returned */
	struct completion done;	/* @ret is set */
};

static int ksrv_test_thread_main(void *data)
{
	struct ksrv_test_thread *t = data;

	t->ret = t->fn(t->arg);
	complete(&t->done);
	return 0;
}

/*
 * @t's thread, bound to @cpu, not yet woken; held, so that it can be
 * stopped once it has returned. Return: 0 or an errno.
 */
static int ksrv_test_thread_create(struct ksrv_test_thread *t,
				   unsigned int cpu, int (*fn)(void *arg),
				   void *arg)
{
	t->fn = fn;
	t->arg = arg;
	init_completion(&t->done);
	t->task = kthread_create(ksrv_test_thread_main, t, "ksrv_kunit/%u",
				 cpu);
	if (IS_ERR(t->task))
		return PTR_ERR(t->task);
	kthread_bind(t->task, cpu);
	get_task_struct(t->task);
	return 0;
}

/*
 * Wait for a woken thread's function to return. Not kthread_stop() alone:
 * stopped before it first runs, a thread never runs its function.
 * Return: what the function returned.
 */
static int ksrv_test_thread_join(struct ksrv_test_thread *t)
{
	wait_for_completion(&t->done);
	kthread_stop(t->task);
	put_task_struct(t->task);
	return t->ret;
}

/* A thread never woken: stopped, it runs nothing. */
static void ksrv_test_thread_cancel(struct ksrv_test_thread *t)
{
	kthread_stop(t->task);
	put_task_struct(t->task);
}

/* @fn(@arg) on @cpu. Return: what it returned, or why it did not run. */
static int ksrv_test_run_on(unsigned int cpu, int (*fn)(void *arg),
			    void *arg)
{
	struct ksrv_test_thread t;
	int ret;

	ret = ksrv_test_thread_create(&t, cpu, fn, arg);
	if (ret)
		return ret;
	wake_up_process(t.task);
	return ksrv_test_thread_join(&t);
}

/* Adds connections to a registry, from the CPU it runs on. */
struct ksrv_test_adder {
	struct ksrv_registry *reg;
	struct ksrv_conn *conns;
	int n;			/* connections to add */
	atomic_t *ready;	/* adders to wait for before adding, or NULL */
	int added;		/* how many were added */
	int busy;		/* how many were refused with -EBUSY */
};

static int ksrv_test_adder(void *arg)
{
	struct ksrv_test_adder *a = arg;
	unsigned long until = jiffies + 5 * HZ;
	int i, ret;

	/* Every adder on its CPU before any adds: they race for the limit. */
	if (a->ready) {
		atomic_dec(a->ready);
		while (atomic_read(a->ready) > 0 && time_before(jiffies, until))
			cond_resched();
	}
	for (i = 0; i < a->n; i++) {
		ret = ksrv_registry_add(a->reg, &a->conns[i]);
		if (!ret)
			a->added++;
		else if (ret == -EBUSY)
			a->busy++;
	}
	return 0;
}

#define KSRV_TEST_LIMIT_ADDS	1000
#define KSRV_TEST_LIMIT_MAX	500

/*
 * Two CPUs adding at once, each on its own shard, against one limit: it
 * holds exactly, with no lock shared between the shards.
 */
static void ksrv_test_registry_limit_percpu(struct kunit *test)
{
	atomic_t ready = ATOMIC_INIT(2);
	struct ksrv_test_adder a[2] = {};
	struct ksrv_test_thread t[2];
	struct ksrv_registry reg;
	struct ksrv_conn *conns;
	unsigned int cpu[2];
	int i, removed = 0;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	cpu[0] = cpumask_first(cpu_online_mask);
	cpu[1] = cpumask_next(cpu[0], cpu_online_mask);
	conns = ksrv_test_conns(test, 2 * KSRV_TEST_LIMIT_ADDS);
	KUNIT_ASSERT_EQ(test, ksrv_registry_init(&reg, KSRV_TEST_LIMIT_MAX,
						 GFP_KERNEL), 0);
	for (i = 0; i < 2; i++) {
		a[i].reg = &reg;
		a[i].conns = &conns[i * KSRV_TEST_LIMIT_ADDS];
		a[i].n = KSRV_TEST_LIMIT_ADDS;
		a[i].ready = &ready;
		if (ksrv_test_thread_create(&t[i], cpu[i], ksrv_test_adder,
					    &a[i]))
			break;
	}
	if (i < 2) {
		while (i--)
			ksrv_test_thread_cancel(&t[i]);
		ksrv_registry_destroy(&reg);
		KUNIT_FAIL(test, "cannot create the adding threads");
		return;
	}
	wake_up_process(t[0].task);
	wake_up_process(t[1].task);
	ksrv_test_thread_join(&t[0]);
	ksrv_test_thread_join(&t[1]);

	KUNIT_EXPECT_EQ(test, a[0].added + a[1].added, KSRV_TEST_LIMIT_MAX);
	KUNIT_EXPECT_EQ(test, a[0].busy + a[1].busy,
			2 * KSRV_TEST_LIMIT_ADDS - KSRV_TEST_LIMIT_MAX);
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&reg),
			(unsigned int)KSRV_TEST_LIMIT_MAX);
	for (i = 0; i < 2 * KSRV_TEST_LIMIT_ADDS; i++) {
		if (list_empty(&conns[i].node)) {
			KUNIT_EXPECT_FALSE(test,
					   ksrv_registry_remove(&reg, &conns[i]));
			continue;
		}
		/* On the shard of the CPU that added it. */
		KUNIT_EXPECT_EQ(test, conns[i].shard,
				cpu[i / KSRV_TEST_LIMIT_ADDS]);
		KUNIT_EXPECT_TRUE(test, ksrv_registry_remove(&reg, &conns[i]));
		removed++;
	}
	KUNIT_EXPECT_EQ(test, removed, KSRV_TEST_LIMIT_MAX);
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&reg), 0U);
	ksrv_registry_destroy(&reg);
}

/* What a walk saw, in order; it stops after @budget if that is not -1. */
struct ksrv_test_walk {
	struct ksrv_conn *conns;
	int *seen;	/* the index in @conns of each connection seen */
	int nr_seen;
	int budget;
};

static int ksrv_test_walk_fn(struct ksrv_conn *conn, void *arg)
{
	struct ksrv_test_walk *w = arg;

	if (!w->budget)
		return 1;	/* stop here: this one is the next call's */
	if (w->budget > 0)
		w->budget--;
	w->seen[w->nr_seen++] = conn - w->conns;
	return 0;
}

/* Walk from @pos on, @steps calls of one connection each, or to the end. */
static int ksrv_test_walk_steps(struct ksrv_registry *reg,
				struct ksrv_registry_pos *pos,
				struct ksrv_test_walk *w, int steps)
{
	int calls = 0, ret;

	do {
		w->budget = 1;
		ret = ksrv_registry_walk(reg, pos, ksrv_test_walk_fn, w);
		calls++;
	} while (ret && calls < steps);
	return calls;
}

#define KSRV_TEST_WALK_CPUS	8

/*
 * Connections added on several CPUs, so on several shards, are each seen
 * once, in the order of the shards and of their adding: in one walk, in
 * a walk resumed after every connection, and in one resumed while others
 * go, among them the one it is to resume at.
 */
static void ksrv_test_registry_walk_shards(struct kunit *test)
{
	struct ksrv_test_adder a = {};
	struct ksrv_registry_pos pos = {};
	struct ksrv_test_walk w = {};
	struct ksrv_registry reg;
	int i, n = 0, half, cpus = 0, shards = 0, last = -1;
	unsigned int cpu;

	/* A few more on each CPU: shards of different lengths. */
	for_each_online_cpu(cpu)
		if (cpus < KSRV_TEST_WALK_CPUS)
			n += 3 + cpus++;
	w.conns = ksrv_test_conns(test, n);
	w.seen = kunit_kcalloc(test, n, sizeof(*w.seen), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w.seen);
	KUNIT_ASSERT_EQ(test, ksrv_registry_init(&reg, n, GFP_KERNEL), 0);

	/* In the order of the CPUs: the order a walk goes in. */
	a.reg = &reg;
	a.conns = w.conns;
	cpus = 0;
	for_each_online_cpu(cpu) {
		if (cpus == KSRV_TEST_WALK_CPUS)
			break;
		a.n = 3 + cpus++;
		a.added = 0;
		if (ksrv_test_run_on(cpu, ksrv_test_adder, &a))
			break;
		KUNIT_EXPECT_EQ(test, a.added, a.n);
		a.conns += a.n;
	}
	if (a.conns != w.conns + n) {
		while (ksrv_registry_pop(&reg))
			;
		ksrv_registry_destroy(&reg);
		KUNIT_FAIL(test, "cannot create the adding threads");
		return;
	}
	for (i = 0; i < n; i++) {
		if (w.conns[i].shard != last)
			shards++;
		last = w.conns[i].shard;
	}
	KUNIT_EXPECT_EQ(test, shards, cpus);

	/* All at once. */
	w.budget = -1;
	KUNIT_EXPECT_EQ(test, ksrv_registry_walk(&reg, &pos, ksrv_test_walk_fn,
						 &w), 0);
	KUNIT_ASSERT_EQ(test, w.nr_seen, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, w.seen[i], i);

	/* One a call: n calls, the last of which reaches the end. */
	pos = (struct ksrv_registry_pos){};
	w.nr_seen = 0;
	KUNIT_EXPECT_EQ(test, ksrv_test_walk_steps(&reg, &pos, &w, n + 1), n);
	KUNIT_ASSERT_EQ(test, w.nr_seen, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, w.seen[i], i);

	/*
	 * Half, then the first (seen), the one the walk stopped at and the
	 * last go: the others are still seen once each, in order.
	 */
	half = n / 2;
	pos = (struct ksrv_registry_pos){};
	w.nr_seen = 0;
	ksrv_test_walk_steps(&reg, &pos, &w, half);
	KUNIT_ASSERT_EQ(test, w.nr_seen, half);
	KUNIT_EXPECT_TRUE(test, ksrv_registry_remove(&reg, &w.conns[0]));
	KUNIT_EXPECT_TRUE(test, ksrv_registry_remove(&reg, &w.conns[half]));
	KUNIT_EXPECT_TRUE(test, ksrv_registry_remove(&reg, &w.conns[n - 1]));
	ksrv_test_walk_steps(&reg, &pos, &w, n);
	KUNIT_ASSERT_EQ(test, w.nr_seen, n - 2);
	for (i = 0; i < half; i++)
		KUNIT_EXPECT_EQ(test, w.seen[i], i);
	for (i = half; i < n - 2; i++)
		KUNIT_EXPECT_EQ(test, w.seen[i], i + 1);

	while (ksrv_registry_pop(&reg))
		;
	KUNIT_EXPECT_EQ(test, ksrv_registry_count(&reg), 0U);
	ksrv_registry_destroy(&reg);
}

/* A client connecting to @to, from the CPU it runs on. */
struct ksrv_test_client {
	struct sockaddr_in *to;
	struct socket *sock;
};

static int ksrv_test_connect(void *arg)
{
	struct ksrv_test_client *c = arg;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &c->sock);
	if (ret)
		return ret;
	ret = kernel_connect(c->sock, (struct sockaddr *)c->to,
			     sizeof(*c->to), 0);
	if (ret) {
		sock_release(c->sock);
		c->sock = NULL;
	}
	return ret;
}

/* Whether @sock has a connection to accept, within a second. */
static bool ksrv_test_queued(struct socket *sock)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!reqsk_queue_empty(&inet_csk(sock->sk)->icsk_accept_queue))
			return true;
		msleep(20);
	}
	return false;
}

/*
 * A listener's sockets per CPU (ksrv_listen_cpu()): one SO_REUSEPORT
 * group, which neither a socket of the same uid with SO_REUSEPORT nor
 * another listener's first socket can join (EADDRINUSE both), and in
 * which a connection from a CPU is queued on that CPU's socket.
 */
static void ksrv_test_listen_group(struct kunit *test)
{
	struct ksrv_config cfg = ksrv_test_cfg;
	struct ksrv_test_client c = {};
	struct sockaddr_storage first;
	struct sockaddr_in *sin = (struct sockaddr_in *)&first;
	struct request_sock_queue *queue;
	struct socket *m[2], *other, *acc;
	unsigned int cpu[2] = { 0, 1 };
	int i;

	/* Where there are two CPUs, the first two; else any two numbers. */
	if (num_online_cpus() >= 2) {
		cpu[0] = cpumask_first(cpu_online_mask);
		cpu[1] = cpumask_next(cpu[0], cpu_online_mask);
	}
	cfg.net = &init_net;
	cfg.addr = "127.0.0.1";
	cfg.port = 0;	/* the first picks one, the second takes it */
	KUNIT_ASSERT_EQ(test, ksrv_listen_cpu(&cfg, cpu[0], NULL, &m[0]), 0);
	KUNIT_ASSERT_GT(test, kernel_getsockname(m[0],
						 (struct sockaddr *)&first), 0);
	KUNIT_EXPECT_NE(test, ntohs(sin->sin_port), 0);
	KUNIT_ASSERT_EQ(test, ksrv_listen_cpu(&cfg, cpu[1], &first, &m[1]), 0);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_EQ(test, READ_ONCE(m[i]->sk->sk_incoming_cpu),
				(int)cpu[i]);
	KUNIT_EXPECT_NOT_NULL(test,
			      rcu_access_pointer(m[0]->sk->sk_reuseport_cb));
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(m[0]->sk->sk_reuseport_cb),
			    rcu_access_pointer(m[1]->sk->sk_reuseport_cb));

	/* This thread's uid, which would have been the group's. */
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_STREAM,
					       IPPROTO_TCP, &other), 0);
	sock_set_reuseaddr(other->sk);
	sock_set_reuseport(other->sk);
	KUNIT_EXPECT_EQ(test, kernel_bind(other, (struct sockaddr *)&first,
					  sizeof(*sin)), -EADDRINUSE);
	sock_release(other);
	/* Another listener of the port: its first socket is refused. */
	cfg.port = ntohs(sin->sin_port);
	KUNIT_EXPECT_EQ(test, ksrv_listen_cpu(&cfg, cpu[0], NULL, &other),
			-EADDRINUSE);

	/* A SYN on a CPU goes to its socket (loopback's softirq: the CPU's). */
	for (i = 0; i < 2 && num_online_cpus() >= 2; i++) {
		c.to = sin;
		KUNIT_EXPECT_EQ(test, ksrv_test_run_on(cpu[i], ksrv_test_connect,
						       &c), 0);
		if (!c.sock)
			continue;
		KUNIT_EXPECT_TRUE_MSG(test, ksrv_test_queued(m[i]),
				      "connection from CPU %u", cpu[i]);
		queue = &inet_csk(m[!i]->sk)->icsk_accept_queue;
		KUNIT_EXPECT_TRUE(test, reqsk_queue_empty(queue));
		if (!kernel_accept(m[i], &acc, O_NONBLOCK))
			sock_release(acc);
		sock_release(c.sock);
		c.sock = NULL;
	}
	sock_release(m[1]);
	sock_release(m[0]);
}

static enum ksrv_udp_source ksrv_test_v4(const char *addr, int port)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = in_aton(addr);
	return ksrv_udp_check_source(&ss, 8081);
}

static enum ksrv_udp_source ksrv_test_v6(const char *addr, int port)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET6 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	sin6->sin6_port = htons(port);
	if (in6_pton(addr, -1, sin6->sin6_addr.s6_addr, -1, NULL) != 1)
		return -1;
	return ksrv_udp_check_source(&ss, 8081);
}

/* OpenBSD inetd's dg_badinput(), and the server's own port. */
static void ksrv_test_udp_source(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 40000),
			KSRV_UDP_SOURCE_OK);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 1024),
			KSRV_UDP_SOURCE_OK);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 1023),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 7),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 0),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 2049),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("10.0.0.1", 8081),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("0.0.0.0", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("255.255.255.255", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v4("224.0.0.1", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("::1", 40000),
			KSRV_UDP_SOURCE_OK);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("::1", 123),
			KSRV_UDP_SOURCE_BAD_PORT);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("::", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("ff02::1", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("::ffff:255.255.255.255", 40000),
			KSRV_UDP_SOURCE_BAD_ADDR);
	KUNIT_EXPECT_EQ(test, ksrv_test_v6("::ffff:10.0.0.1", 40000),
			KSRV_UDP_SOURCE_OK);
}

/* A TCP connection over loopback: its two ends, in @cli and @srv. */
static void ksrv_test_tcp_pair(struct kunit *test, struct socket **cli,
			       struct socket **srv)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct socket *lsock;

	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_STREAM,
					       IPPROTO_TCP, &lsock), 0);
	KUNIT_ASSERT_EQ(test, kernel_bind(lsock, (struct sockaddr *)&addr,
					  sizeof(addr)), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(lsock, 1), 0);
	KUNIT_ASSERT_GT(test, kernel_getsockname(lsock,
						 (struct sockaddr *)&addr), 0);
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_STREAM,
					       IPPROTO_TCP, cli), 0);
	KUNIT_ASSERT_EQ(test, kernel_connect(*cli, (struct sockaddr *)&addr,
					     sizeof(addr), 0), 0);
	KUNIT_ASSERT_EQ(test, kernel_accept(lsock, srv, 0), 0);
	sock_release(lsock);
}

/* A loopback connection and 64 bytes of linear data to send on it. */
struct ksrv_test_tcp {
	struct socket *cli, *srv;
	struct sock *sk;	/* the accepted end, srv's */
	struct sk_buff *skb;
};

static void ksrv_test_tcp_open(struct kunit *test, struct ksrv_test_tcp *t)
{
	t->skb = alloc_skb(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->skb);
	memset(skb_put(t->skb, 64), 'k', 64);
	ksrv_test_tcp_pair(test, &t->cli, &t->srv);
	t->sk = t->srv->sk;
}

static void ksrv_test_tcp_close(struct ksrv_test_tcp *t)
{
	kfree_skb(t->skb);
	sock_release(t->srv);
	sock_release(t->cli);
}

/*
 * A writer asleep for room in the middle of its message has released the
 * socket, marked sk_write_pending: ksrv_tcp_send_skb() must not put bytes
 * inside that message. It refuses, once with a warning (which t_kunit in
 * the suite expects), and sends again once the writer is gone.
 */
static void ksrv_test_tcp_write_pending(struct kunit *test)
{
	struct ksrv_test_tcp t;
	struct sock *sk;
	struct sk_buff *skb;
	u32 seq;

	ksrv_test_tcp_open(test, &t);
	sk = t.sk;
	skb = t.skb;
	lock_sock(sk);
	seq = tcp_sk(sk)->write_seq;
	WRITE_ONCE(sk->sk_write_pending, sk->sk_write_pending + 1);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_skb(sk, skb, 0, 64, false),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, tcp_sk(sk)->write_seq, seq);
	WRITE_ONCE(sk->sk_write_pending, sk->sk_write_pending - 1);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_skb(sk, skb, 0, 64, false), 64);
	KUNIT_EXPECT_EQ(test, tcp_sk(sk)->write_seq, seq + 64);
	release_sock(sk);
	ksrv_test_tcp_close(&t);
}

/*
 * Softirq sends allocate atomically for the call alone: the owner's
 * sends keep the socket's sk_allocation, and may reclaim. Under the
 * socket's spinlock with bottom halves off, as in sk_data_ready, a send
 * that allocated with GFP_KERNEL would also be reported by the debug
 * kernel as sleeping in atomic context.
 */
static void ksrv_test_tcp_softirq_gfp(struct kunit *test)
{
	struct ksrv_test_tcp t;
	struct sock *sk;
	struct sk_buff *skb;
	int ret;

	ksrv_test_tcp_open(test, &t);
	sk = t.sk;
	skb = t.skb;
	lock_sock(sk);
	ksrv_tcp_prepare_softirq(sk);
	release_sock(sk);
	KUNIT_EXPECT_TRUE(test, sk->sk_allocation == GFP_KERNEL);

	local_bh_disable();
	bh_lock_sock(sk);
	ret = ksrv_tcp_send_skb(sk, skb, 0, 64, true);
	KUNIT_EXPECT_TRUE(test, sk->sk_allocation == GFP_KERNEL);
	bh_unlock_sock(sk);
	local_bh_enable();
	KUNIT_EXPECT_EQ(test, ret, 64);

	lock_sock(sk);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_skb(sk, skb, 16, 48, true), 48);
	KUNIT_EXPECT_TRUE(test, sk->sk_allocation == GFP_KERNEL);
	release_sock(sk);
	ksrv_test_tcp_close(&t);
}

/*
 * What a short send waits for follows from the socket's queues: nothing
 * queued, only time (the one case polled for); data in flight, its ACK;
 * data held back by a closed window, TCP's probe.
 */
static void ksrv_test_tcp_send_blocked(struct kunit *test)
{
	struct ksrv_test_tcp t;
	struct sock *sk;
	u32 wnd;

	ksrv_test_tcp_open(test, &t);
	sk = t.sk;
	lock_sock(sk);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_blocked(sk), KSRV_TCP_WAIT_NOMEM);
	/* Owned: the ACK waits in the backlog until release_sock(). */
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_skb(sk, t.skb, 0, 64, false), 64);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_blocked(sk), KSRV_TCP_WAIT_ACK);
	release_sock(sk);
	ksrv_test_tcp_close(&t);

	ksrv_test_tcp_open(test, &t);
	sk = t.sk;
	lock_sock(sk);
	wnd = tcp_sk(sk)->snd_wnd;
	tcp_sk(sk)->snd_wnd = 0;	/* as if the peer had closed it */
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_skb(sk, t.skb, 0, 64, false), 64);
	KUNIT_EXPECT_EQ(test, tcp_sk(sk)->packets_out, 0);
	KUNIT_EXPECT_EQ(test, ksrv_tcp_send_blocked(sk), KSRV_TCP_WAIT_PROBE);
	/* Opened again: the probe timer armed by the send delivers it. */
	tcp_sk(sk)->snd_wnd = wnd;
	release_sock(sk);
	ksrv_test_tcp_close(&t);
}

static struct kunit_case ksrv_test_cases[] = {
	KUNIT_CASE(ksrv_test_check_param),
	KUNIT_CASE(ksrv_test_config_check),
	KUNIT_CASE(ksrv_test_parse_addr),
	KUNIT_CASE(ksrv_test_registry_rules),
	KUNIT_CASE(ksrv_test_registry_race),
	KUNIT_CASE(ksrv_test_registry_limit_percpu),
	KUNIT_CASE(ksrv_test_registry_walk_shards),
	KUNIT_CASE(ksrv_test_udp_source),
	KUNIT_CASE(ksrv_test_listen_group),
	KUNIT_CASE(ksrv_test_tcp_write_pending),
	KUNIT_CASE(ksrv_test_tcp_softirq_gfp),
	KUNIT_CASE(ksrv_test_tcp_send_blocked),
	{}
};

static struct kunit_suite ksrv_test_suite = {
	.name = "ksrv",
	.test_cases = ksrv_test_cases,
};

kunit_test_suite(ksrv_test_suite);

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("KUnit tests of ksrv");
