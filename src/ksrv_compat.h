/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel versions ksrv builds against, in one
 * place. The oldest supported kernel is 5.17: ksrv_threads_exit() needs
 * kthread_complete_and_exit().
 */
#ifndef KSRV_COMPAT_H
#define KSRV_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 17, 0)
#error "kecho needs Linux 5.17 or later (kthread_complete_and_exit)"
#endif

#include <linux/bvec.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
/*
 * Before 6.5 TCP takes pages by reference only through the sendpage family;
 * its sendmsg() copies whatever the flags say. NOTLAST is what sendpage
 * callers (splice) pass with MORE.
 */
static inline int ksrv_compat_tcp_send_page(struct sock *sk,
					    struct page *page,
					    unsigned int offset, size_t len,
					    int flags)
{
	if (flags & MSG_MORE)
		flags |= MSG_SENDPAGE_NOTLAST;
	return tcp_sendpage_locked(sk, page, offset, len, flags);
}
#else
/* 6.5 removed sendpage: sendmsg() splices a bio_vec's pages instead. */
static inline int ksrv_compat_tcp_send_page(struct sock *sk,
					    struct page *page,
					    unsigned int offset, size_t len,
					    int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, len, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}
#endif

/*
 * sk_use_task_frag came with 6.2, and with the 6.1 stable series' fix for
 * sk_page_frag() in reclaim (Debian's 6.1 has it); before it,
 * sk_page_frag() chose the task's fragment from sk_allocation alone.
 */
static inline void ksrv_compat_sk_no_task_frag(struct sock *sk)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
	sk->sk_use_task_frag = false;
#endif
}

#endif /* KSRV_COMPAT_H */
