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

/* 6.1 named the directions of an iov_iter: the data's source. */
#ifndef ITER_SOURCE
#define ITER_SOURCE WRITE
#endif

/* bvec_set_page() came with 6.3. */
static inline void ksrv_compat_bvec_set_page(struct bio_vec *bv,
					     struct page *page,
					     unsigned int len,
					     unsigned int offset)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = offset;
}

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

	ksrv_compat_bvec_set_page(&bvec, page, len, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}
#endif

/*
 * From 6.2 sk_page_frag() takes the task's page fragment whenever
 * sk_use_task_frag says so; before, only for an sk_allocation that may
 * sleep, so GFP_ATOMIC alone keeps it away (Debian's 6.1, which has the
 * field backported, still checks the allocation too).
 */
static inline void ksrv_compat_sk_no_task_frag(struct sock *sk)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	sk->sk_use_task_frag = false;
#endif
}

/* 6.10: __assign_str() takes only the field; __string() named the source. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define ksrv_compat_assign_str(dst, src) __assign_str(dst)
#else
#define ksrv_compat_assign_str(dst, src) __assign_str(dst, src)
#endif

#endif /* KSRV_COMPAT_H */
