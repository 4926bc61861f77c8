// SPDX-License-Identifier: GPL-2.0
/*
 * A service's counters, and the file in /proc/net that shows them.
 *
 * The counters are per CPU: the data path adds to its own CPU's copy with
 * one instruction and no lock, and only a reader of the file pays for
 * summing them. A sum read while connections run is a moment's snapshot,
 * not an atomic one, which is all an operator needs.
 *
 * The file shows the core's counters, the UDP ones only for a service that
 * serves UDP, then the service's own, by the names it gave.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "ksrv_core.h"

static const char * const ksrv_stat_names[KSRV_STAT_NR] = {
	[KSRV_STAT_ACCEPTED]	= "accepted",
	[KSRV_STAT_REFUSED]	= "refused",
	[KSRV_STAT_IDLE_CLOSED]	= "idle_closed",
	[KSRV_STAT_ERRORS]	= "errors",
	[KSRV_STAT_DGRAMS_IN]	= "dgrams_in",
};

static u64 ksrv_stats_sum(struct ksrv_stats *stats, unsigned int stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(stats->cpu, cpu)[stat]);
	return sum;
}

static int ksrv_stats_show(struct seq_file *m, void *v)
{
	struct ksrv_stats *stats = m->private;
	unsigned int stat;

	seq_printf(m, "conns %u\n", ksrv_registry_count(stats->reg));
	for (stat = 0; stat < stats->nr; stat++) {
		if (stat == KSRV_STAT_DGRAMS_IN && !stats->udp)
			continue;
		seq_printf(m, "%s %llu\n", stat < KSRV_STAT_NR ?
			   ksrv_stat_names[stat] :
			   stats->names[stat - KSRV_STAT_NR],
			   ksrv_stats_sum(stats, stat));
	}
	return 0;
}

/**
 * ksrv_stats_init() - zero a service's counters and create its file
 * @stats: the counters
 * @name: the file's name in /proc/net, which must outlive @stats
 * @reg: the registry whose size the file reports as "conns"
 * @names: the names of the service's own counters, which must outlive
 *	@stats
 * @nr_names: how many there are
 * @udp: show the core's UDP counters
 *
 * Return: 0, or -ENOMEM after one error line.
 */
int ksrv_stats_init(struct ksrv_stats *stats, const char *name,
		    struct ksrv_registry *reg, const char * const *names,
		    unsigned int nr_names, bool udp)
{
	stats->name = name;
	stats->reg = reg;
	stats->names = names;
	stats->nr = KSRV_STAT_NR + nr_names;
	stats->udp = udp;
	stats->cpu = __alloc_percpu(stats->nr * sizeof(u64), __alignof__(u64));
	if (!stats->cpu) {
		pr_err("%s: cannot allocate counters\n", name);
		return -ENOMEM;
	}
	if (IS_ENABLED(CONFIG_PROC_FS) &&
	    !proc_create_single_data(name, 0444, init_net.proc_net,
				     ksrv_stats_show, stats)) {
		pr_err("%s: cannot create /proc/net/%s\n", name, name);
		free_percpu(stats->cpu);
		return -ENOMEM;
	}
	return 0;
}

/**
 * ksrv_stats_destroy() - remove the file and free the counters
 * @stats: the counters
 *
 * Once this returns no reader is left inside the file.
 */
void ksrv_stats_destroy(struct ksrv_stats *stats)
{
	remove_proc_entry(stats->name, init_net.proc_net);
	free_percpu(stats->cpu);
}
