// SPDX-License-Identifier: GPL-2.0
/*
 * The executor: tasks are work items on a workqueue the service owns.
 *
 * Owning the workqueue, rather than using system_wq, is what makes unload
 * safe: a task that has already closed its connection is invisible to
 * anything that walks the registry, but it still runs module code until it
 * returns. Destroying the workqueue waits for it; flushing a system-wide
 * workqueue from a module is not allowed.
 */
#include <linux/module.h>
#include <linux/workqueue.h>

#include "ksrv.h"

/**
 * ksrv_executor_init() - create an executor
 * @ex: the executor
 * @name: the workqueue's name
 * @unbound: run tasks on any CPU rather than on the CPU that woke them
 *
 * Bound (per-CPU) workers run a connection's task where its socket's
 * softirq woke it, which keeps the socket's data in that CPU's cache and is
 * the better default for short echo bursts. Unbound workers let the
 * scheduler spread long-running tasks when wake-ups are concentrated on few
 * CPUs. No WQ_MEM_RECLAIM: serving network clients is not on the memory
 * reclaim path, so no rescuer thread is needed.
 *
 * Return: 0 or -ENOMEM.
 */
int ksrv_executor_init(struct ksrv_executor *ex, const char *name,
		       bool unbound)
{
	ex->wq = alloc_workqueue("%s", unbound ? WQ_UNBOUND : 0, 0, name);
	return ex->wq ? 0 : -ENOMEM;
}
EXPORT_SYMBOL_GPL(ksrv_executor_init);

/**
 * ksrv_executor_destroy() - wait for every task, then free the executor
 * @ex: the executor
 *
 * Nothing may wake a task from outside the executor any more (every watch
 * disarmed). Tasks still queued or running, including ones re-waking
 * themselves, run to completion first; after return no task runs.
 */
void ksrv_executor_destroy(struct ksrv_executor *ex)
{
	destroy_workqueue(ex->wq);
	ex->wq = NULL;
}
EXPORT_SYMBOL_GPL(ksrv_executor_destroy);

/**
 * ksrv_task_init() - initialise a task that runs @fn on @ex
 * @task: the task
 * @ex: the executor it runs on
 * @fn: its body; ksrv_task_of() on its argument finds the task
 */
void ksrv_task_init(struct ksrv_task *task, struct ksrv_executor *ex,
		    work_func_t fn)
{
	INIT_DELAYED_WORK(&task->dwork, fn);
	task->executor = ex;
}
EXPORT_SYMBOL_GPL(ksrv_task_init);
