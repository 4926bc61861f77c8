// SPDX-License-Identifier: GPL-2.0
/*
 * The idle sweeper: one delayed work per service walks the registry every
 * @period and shuts down the sockets of connections that moved no byte for
 * @timeout. A busy connection costs one store of jiffies per read or write
 * (ksrv_conn_touch()), and no timer of its own is armed, re-armed or fired.
 *
 * Shutting the socket down, rather than tearing the connection down here,
 * leaves teardown to whoever owns it (its thread, or its task woken by the
 * socket), exactly as when the peer closes, and the owner counts the
 * ending once, as idle. The registry is locked only to pick the idle
 * connections, not across their shutdowns (ksrv_registry_shutdown_if()).
 */
#include <linux/module.h>

#include "ksrv_core.h"

/* Sweep a long timeout at least this often, so it is never far late. */
#define KSRV_IDLE_MAX_PERIOD	(10 * HZ)

/* Its shard locked: what is picked is marked, and counted at its end. */
static bool ksrv_idle_pick(struct ksrv_conn *conn, void *arg)
{
	struct ksrv_idle *idle = arg;

	if (conn->idle_closed ||
	    time_before(jiffies, READ_ONCE(conn->last_active) + idle->timeout))
		return false;
	conn->idle_closed = true;
	return true;
}

static void ksrv_idle_sweep(struct work_struct *work)
{
	struct ksrv_idle *idle =
		container_of(to_delayed_work(work), struct ksrv_idle, dwork);

	ksrv_registry_shutdown_if(idle->reg, ksrv_idle_pick, idle);
	queue_delayed_work(system_long_wq, &idle->dwork, idle->period);
}

/**
 * ksrv_idle_start() - start closing connections idle for @seconds
 * @idle: the sweeper
 * @reg: the connections to sweep
 * @seconds: the idle timeout; 0 starts nothing
 *
 * A connection is closed between @seconds and a quarter more (at most
 * ten seconds more) after it last moved a byte.
 */
void ksrv_idle_start(struct ksrv_idle *idle, struct ksrv_registry *reg,
		     unsigned int seconds)
{
	INIT_DELAYED_WORK(&idle->dwork, ksrv_idle_sweep);
	idle->reg = reg;
	idle->timeout = (unsigned long)seconds * HZ;
	idle->period = clamp_t(unsigned long, idle->timeout / 4, 1,
			       KSRV_IDLE_MAX_PERIOD);
	if (idle->timeout)
		queue_delayed_work(system_long_wq, &idle->dwork, idle->period);
}
EXPORT_SYMBOL_GPL(ksrv_idle_start);

/**
 * ksrv_idle_stop() - stop the sweeper and wait for a sweep in progress
 * @idle: the sweeper, started by ksrv_idle_start()
 */
void ksrv_idle_stop(struct ksrv_idle *idle)
{
	cancel_delayed_work_sync(&idle->dwork);
}
EXPORT_SYMBOL_GPL(ksrv_idle_stop);
