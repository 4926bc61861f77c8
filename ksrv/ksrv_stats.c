// SPDX-License-Identifier: GPL-2.0
/*
 * A listener's counters.
 *
 * The counters are per CPU: the data path adds to its own CPU's copy with
 * one instruction and no lock, and only a reader pays for summing them. A
 * sum read while connections run is a moment's snapshot, not an atomic
 * one, which is all an operator needs.
 *
 * A TCP listener shows the core's TCP counters, a UDP listener the UDP
 * ones, then both the service's own, by the names it gave, less those the
 * service marked for the other protocol (&ksrv_ops.stat_show).
 */
#include <linux/module.h>
#include <linux/seq_file.h>

#include "ksrv_core.h"

static const char * const ksrv_stat_names[KSRV_STAT_NR] = {
	[KSRV_STAT_ACCEPTED]	= "accepted",
	[KSRV_STAT_REFUSED]	= "refused",
	[KSRV_STAT_OVER_BUDGET]	= "over_budget",
	[KSRV_STAT_IDLE_CLOSED]	= "idle_closed",
	[KSRV_STAT_DGRAMS_IN]	= "dgrams_in",
	[KSRV_STAT_ERRORS]	= "errors",
};

/**
 * ksrv_stats_name() - a counter's name, if the listener shows it
 * @stats: the listener's counters
 * @stat: the counter, below &ksrv_stats.nr
 *
 * Return: its name, or NULL if it does not apply to the listener's
 * protocol.
 */
const char *ksrv_stats_name(const struct ksrv_stats *stats, unsigned int stat)
{
	switch (stat) {
	case KSRV_STAT_ACCEPTED:
	case KSRV_STAT_REFUSED:
	case KSRV_STAT_OVER_BUDGET:
	case KSRV_STAT_IDLE_CLOSED:
		return stats->udp ? NULL : ksrv_stat_names[stat];
	case KSRV_STAT_DGRAMS_IN:
		return stats->udp ? ksrv_stat_names[stat] : NULL;
	}
	if (stat < KSRV_STAT_NR)
		return ksrv_stat_names[stat];
	stat -= KSRV_STAT_NR;
	if (stats->show &&
	    stats->show[stat] == (stats->udp ? KSRV_SHOW_TCP : KSRV_SHOW_UDP))
		return NULL;
	return stats->names[stat];
}

/**
 * ksrv_stats_sum() - a counter's value, summed over the CPUs
 * @stats: the listener's counters
 * @stat: the counter, below &ksrv_stats.nr
 *
 * Return: the sum.
 */
u64 ksrv_stats_sum(const struct ksrv_stats *stats, unsigned int stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(stats->cpu, cpu)[stat]);
	return sum;
}

/**
 * ksrv_stats_show() - print the counters a listener shows, one per line
 * @m: where
 * @stats: the listener's counters
 */
void ksrv_stats_show(struct seq_file *m, const struct ksrv_stats *stats)
{
	unsigned int stat;

	for (stat = 0; stat < stats->nr; stat++) {
		const char *name = ksrv_stats_name(stats, stat);

		if (name)
			seq_printf(m, "%s %llu\n", name,
				   ksrv_stats_sum(stats, stat));
	}
}

/**
 * ksrv_stats_init() - zero a listener's counters
 * @stats: the counters
 * @ops: the service, whose counters' names and kinds must outlive @stats
 * @cfg: the listener: its protocol, and whom to charge
 *	(ksrv_config_gfp())
 *
 * Return: 0, or -ENOMEM after one error line.
 */
int ksrv_stats_init(struct ksrv_stats *stats, const struct ksrv_ops *ops,
		    const struct ksrv_config *cfg)
{
	stats->names = ops->stat_names;
	stats->show = ops->stat_show;
	stats->nr = KSRV_STAT_NR + ops->nr_stats;
	stats->udp = cfg->udp;
	stats->cpu = __alloc_percpu_gfp(stats->nr * sizeof(u64),
					__alignof__(u64), ksrv_config_gfp(cfg));
	if (!stats->cpu) {
		pr_err("%s: cannot allocate counters\n", cfg->name);
		return -ENOMEM;
	}
	return 0;
}

/**
 * ksrv_stats_destroy() - free the counters
 * @stats: the counters; no reader may be left
 */
void ksrv_stats_destroy(struct ksrv_stats *stats)
{
	free_percpu(stats->cpu);
}
