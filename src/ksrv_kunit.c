// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what in ksrv needs no network: parameter and address
 * checks, the registry's ownership rules, and which UDP sources get no
 * answer. Built where the kernel has KUnit; loading the module runs them
 * and prints the results in KTAP.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>

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

	ksrv_registry_init(&reg, 2);
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
	ksrv_registry_init(&r.reg, KSRV_TEST_RACE_CONNS);
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

static struct kunit_case ksrv_test_cases[] = {
	KUNIT_CASE(ksrv_test_check_param),
	KUNIT_CASE(ksrv_test_config_check),
	KUNIT_CASE(ksrv_test_parse_addr),
	KUNIT_CASE(ksrv_test_registry_rules),
	KUNIT_CASE(ksrv_test_registry_race),
	KUNIT_CASE(ksrv_test_udp_source),
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
