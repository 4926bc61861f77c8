// SPDX-License-Identifier: GPL-2.0
/*
 * The ksrv module: a library, no state of its own. Services depend on it
 * through the symbols they use, so it stays loaded while any of them is.
 */
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_VERSION(KECHO_VERSION);
MODULE_AUTHOR("kecho developers");
MODULE_DESCRIPTION("Core for in-kernel TCP services: listener, registry, threads, executor, reactor");
