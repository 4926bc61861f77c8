// SPDX-License-Identifier: GPL-2.0
/*
 * peer-sockmap.bpf.c: the BPF half of peer-sockmap, an SK_SKB stream
 * verdict program that sends every skb a connection receives back out of
 * that same connection.
 *
 * Built with clang -target bpf against <linux/bpf.h> and libbpf's
 * bpf_helpers.h only: no vmlinux.h and no CO-RE relocations, so loading
 * needs no kernel BTF (the map's BTF, from -g, is the object's own).
 * peer-sockmap.c embeds the object through bpftool's skeleton.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * The connections, keyed by socket cookie: the skb names its socket by
 * cookie, and the loader can ask for an accepted socket's cookie
 * (SO_COOKIE), so no address tuple needs to be built on either side.
 * Full, the loader refuses connections.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);		/* the socket's fd, on update */
} socks SEC(".maps");

/*
 * No stream parser: the kernel takes a verdict program alone (6.1 does)
 * and runs it on each skb as TCP queues it, which is all an echo needs;
 * there are no messages to frame. Flags 0: the redirect is to the socket's egress, queued to the
 * psock's backlog, which writes it as send buffer space allows.
 */
SEC("sk_skb/stream_verdict")
int echo_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);

	return bpf_sk_redirect_hash(skb, &socks, &cookie, 0);
}

char LICENSE[] SEC("license") = "GPL";
