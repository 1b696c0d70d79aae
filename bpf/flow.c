//go:build ignore

// flow.c counts the IP-level bytes and packets of every flow, per cgroup,
// at the cgroup v2 root's ingress and egress hooks. See README.md.

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char __license[] SEC("license") = "Dual MIT/GPL";

enum {
	DIR_EGRESS = 1,
	DIR_INGRESS = 2,
};

// flow_key identifies a flow as its cgroup sees it. Addresses are 16 bytes;
// IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). Ports are host byte order;
// they are 0 for protocols without ports and for non-first fragments.
struct flow_key {
	__u64 cgroup_id;
	__u64 netns_cookie;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u8 proto;
	__u8 dir;
	__u8 pad[2];
};

struct flow_val {
	__u64 bytes;   // IP-level, as the packets cross a NIC: GSO-corrected
	__u64 packets; // segments, for GSO packets
};

// overflow_key receives what a full flow map cannot take, so that per-cgroup
// totals stay exact.
struct overflow_key {
	__u64 cgroup_id;
	__u8 dir;
	__u8 pad[7];
};

// Two generations of maps: the programs write to the one ctl[0] names,
// user space drains the other. max_entries are set by the loader.
//
// Plain hashes with atomic adds, not per-CPU ones: a per-CPU value is
// allocated for every possible CPU of every entry, so on a 96-vCPU node
// the two flow generations would take 65,536 x 96 x 16 x 2 = 192 MiB of
// kernel memory, and each drain would copy 96 values per flow. A flow's
// packets mostly come on one CPU at a time: the atomic add rarely waits.
struct flow_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
};
struct flow_map flows0 SEC(".maps");
struct flow_map flows1 SEC(".maps");

struct overflow_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct overflow_key);
	__type(value, struct flow_val);
};
struct overflow_map overflow0 SEC(".maps");
struct overflow_map overflow1 SEC(".maps");

// ctl[0] is the generation the programs write to (0 or 1; 2 once a newer
// layout of the maps took over). ctl[1] is user space's: the epoch, how many
// times the generations were switched, which names the counts of the
// generation the programs left in the window that accounts for them.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} ctl SEC(".maps");

// lost[gen*3+dir] counts what neither map of generation gen could take: 0
// unless the overflow map, sized for every cgroup on the node, is full too.
// Per generation, like the maps, so that user space empties it with them.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 6);
	__type(key, __u32);
	__type(value, struct flow_val);
} lost SEC(".maps");

// nat remembers, per connection, where a DNAT (a Service's ClusterIP, as
// kube-proxy installs it) sent it: egress packets leave with the backend's
// address, but replies reach the socket with the ClusterIP again. Keyed by
// the connection as the socket sees it; an evicted entry loses no bytes,
// only the backend's name for some replies.
struct nat_key {
	__u64 netns_cookie;
	__u8 local_addr[16];
	__u8 remote_addr[16]; // the address the socket connected to
	__u16 local_port;
	__u16 remote_port;
	__u8 proto;
	__u8 pad[3];
};

struct nat_val {
	__u8 addr[16];
	__u16 port;
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} nat SEC(".maps");

// ephemeral_min is the lowest ephemeral port (the node's
// ip_local_port_range), set by the loader; 0 keeps every port. A flow
// between an ephemeral port and a service port is keyed without the
// ephemeral one: billing needs the service, not the connection, and a node
// opening thousands of short connections a second then fills a few map
// entries, not thousands.
volatile const __u16 ephemeral_min = 32768;

// keep_ports holds the destinations whose flows keep their ephemeral port:
// Services' ClusterIPs (the Service CIDR, and each ClusterIP user space
// sees DNAT'd in conntrack). A pod's connection to a ClusterIP is
// translated to its backend in the node's namespace, where no cgroup
// program sees it; user space names the backend per connection, through
// conntrack, and then drops the port.
struct keep_key {
	__u32 prefixlen; // of the 128-bit address: IPv4 prefixes are 96 + length
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct keep_key);
	__type(value, __u8);
} keep_ports SEC(".maps");

// Passive naming: the programs hand user space the start of the payload of
// DNS queries (egress to port 53), DNS answers (ingress from port 53) and
// TLS ClientHellos (egress TCP, any port), so that it can name remotes from
// what the pod itself saw. The programs only recognise and copy; user space
// parses. See README.md.

enum {
	NAME_DNS_QUERY = 1,
	NAME_DNS_ANSWER = 2,
	NAME_TLS_HELLO = 3,
};

// NAME_MAX_PAYLOAD bounds the copy: a ClientHello with a post-quantum key
// share (X25519MLKEM768) is about 1.8 KB, a DNS answer over UDP at most the
// EDNS size resolvers use (1232 bytes, DNS Flag Day 2020). More is cut and
// the event says so.
#define NAME_MAX_PAYLOAD 2048

// name_event heads each ring buffer record; payload_len bytes of payload
// follow it.
struct name_event {
	__u64 cgroup_id;
	__u64 netns_cookie;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;  // as on the wire, even ephemeral ones: user space
	__u16 remote_port; // matches answers with queries by them
	__u16 payload_len;
	__u8 proto;
	__u8 kind;
	__u8 truncated; // the packet held more than payload_len bytes of payload
	__u8 pad[7];
};

struct name_buf {
	struct name_event ev;
	__u8 payload[NAME_MAX_PAYLOAD];
};

// names_on is set by the loader: 0 (Config.Names off) and the verifier
// drops every capture branch, so the programs copy nothing.
volatile const __u8 names_on = 0;

// names_wakeup is how much unread data (bytes) makes a record wake the
// reader: three quarters of the ring, set by the loader.
volatile const __u32 names_wakeup = 1 << 19;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); // set by the loader
} names SEC(".maps");

// names_scratch builds an event before it is copied to the ring at its
// exact size: reserving the bound for every event would fill the ring with
// the unused tails of 60-byte DNS queries.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct name_buf);
} names_scratch SEC(".maps");

// names_lost counts the events the ring had no room for: never silent.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} names_lost SEC(".maps");

// name_kind says which name event, if any, a packet makes. Most packets
// decide on their ports and length alone; an egress TCP segment with a
// payload costs one 6-byte load.
static __always_inline __u8 name_kind(struct __sk_buff *skb, __u8 dir, __u8 proto, __u16 *ports, __u32 off,
				      __u32 len)
{
	if (len == 0)
		return 0;
	if (dir == DIR_EGRESS) {
		if (ports[1] == 53)
			return NAME_DNS_QUERY;
		if (proto != IPPROTO_TCP || len < 6)
			return 0;
		// A TLS record header (handshake 0x16, version 3.0 to 3.3 as
		// ClientHellos write it, 3.4 tolerated, 2-byte length), then the
		// handshake type: 1, ClientHello.
		__u8 h[6];
		if (bpf_skb_load_bytes(skb, off, h, sizeof(h)) < 0)
			return 0;
		if (h[0] == 0x16 && h[1] == 0x03 && h[2] <= 0x04 && h[5] == 0x01)
			return NAME_TLS_HELLO;
		return 0;
	}
	if (ports[0] == 53)
		return NAME_DNS_ANSWER;
	return 0;
}

// capture_name copies the start of the payload (off, len bytes) to the ring.
static __always_inline void capture_name(struct __sk_buff *skb, struct flow_key *key, __u8 proto, __u16 *ports,
					 __u32 off, __u32 len)
{
	__u8 kind = name_kind(skb, key->dir, proto, ports, off, len);
	if (!kind)
		return;
	__u32 zero = 0;
	struct name_buf *b = bpf_map_lookup_elem(&names_scratch, &zero);
	if (!b)
		return;
	__u64 n = len; // 64-bit: the helper gets the register the verifier saw tested
	b->ev.truncated = 0;
	if (n > NAME_MAX_PAYLOAD) {
		n = NAME_MAX_PAYLOAD;
		b->ev.truncated = 1;
	}
	// Hide n's range from clang, so that it tests the register the helper
	// gets and the verifier sees it bounded (clang would test a copy).
	asm volatile("" : "+r"(n));
	if (n == 0 || n > NAME_MAX_PAYLOAD)
		return;
	if (bpf_skb_load_bytes(skb, off, b->payload, n) < 0)
		return;
	b->ev.cgroup_id = key->cgroup_id;
	b->ev.netns_cookie = key->netns_cookie;
	__builtin_memcpy(b->ev.local_addr, key->local_addr, 16);
	__builtin_memcpy(b->ev.remote_addr, key->remote_addr, 16);
	if (key->dir == DIR_EGRESS) {
		b->ev.local_port = ports[0];
		b->ev.remote_port = ports[1];
	} else {
		b->ev.local_port = ports[1];
		b->ev.remote_port = ports[0];
	}
	b->ev.payload_len = n;
	b->ev.proto = proto;
	b->ev.kind = kind;
	// No wakeup unless the ring is names_wakeup full: the reader reads on a timer
	// (see ReadNames), and a wakeup per event would cost more than the
	// events.
	__u64 size = sizeof(struct name_event) + n;
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&names, BPF_RB_AVAIL_DATA) + size >= names_wakeup)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&names, b, size, flags) < 0) {
		__u64 *lost = bpf_map_lookup_elem(&names_lost, &zero);
		if (lost)
			*lost += 1; // per-CPU: a plain add
	}
}

#define MAX_EXT_HEADERS 8
#define LOOPBACK_IFINDEX 1
#define LOOPBACK_GSO_MAX 65536


// add counts into a shared (not per-CPU) value: other CPUs may add to it
// at the same time.
static __always_inline void add(struct flow_val *v, __u64 bytes, __u64 packets)
{
	__sync_fetch_and_add(&v->bytes, bytes);
	__sync_fetch_and_add(&v->packets, packets);
}

static __always_inline void record(void *flows, void *overflow, __u32 lost_base, struct flow_key *key, __u64 bytes,
				   __u64 packets)
{
	struct flow_val *v = bpf_map_lookup_elem(flows, key);
	if (v) {
		add(v, bytes, packets);
		return;
	}
	struct flow_val init = {.bytes = bytes, .packets = packets};
	if (bpf_map_update_elem(flows, key, &init, BPF_NOEXIST) == 0)
		return;
	// Inserted meanwhile (-EEXIST): add to it. Full (-E2BIG): overflow.
	v = bpf_map_lookup_elem(flows, key);
	if (v) {
		add(v, bytes, packets);
		return;
	}
	struct overflow_key ok = {.cgroup_id = key->cgroup_id, .dir = key->dir};
	v = bpf_map_lookup_elem(overflow, &ok);
	if (!v) {
		if (bpf_map_update_elem(overflow, &ok, &init, BPF_NOEXIST) == 0)
			return;
		v = bpf_map_lookup_elem(overflow, &ok);
	}
	if (v) {
		add(v, bytes, packets);
		return;
	}
	__u32 d = lost_base + key->dir; // lost is per-CPU: a plain add
	v = bpf_map_lookup_elem(&lost, &d);
	if (v) {
		v->bytes += bytes;
		v->packets += packets;
	}
}

static __always_inline void set_addr4(__u8 *dst, __u32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

// same16 compares two 16-byte addresses (BPF has no memcmp).
static __always_inline int same16(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

// translate_nat names the backend of a DNAT'd connection on both sides: on
// egress, where the packet's destination differs from the socket's, it
// remembers the backend; on ingress it puts the backend in place of the
// address the socket connected to.
static __always_inline void translate_nat(struct __sk_buff *skb, struct flow_key *key, __u8 proto)
{
	struct nat_key nk = {.netns_cookie = key->netns_cookie, .local_port = key->local_port, .proto = proto};
	__builtin_memcpy(nk.local_addr, key->local_addr, 16);
	if (key->dir == DIR_INGRESS) {
		__builtin_memcpy(nk.remote_addr, key->remote_addr, 16);
		nk.remote_port = key->remote_port;
		struct nat_val *v = bpf_map_lookup_elem(&nat, &nk);
		if (v) {
			__builtin_memcpy(key->remote_addr, v->addr, 16);
			key->remote_port = v->port;
		}
		return;
	}
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	__u8 dst[16] = {};
	if (sk->family == 2 /* AF_INET */) {
		set_addr4(dst, sk->dst_ip4);
	} else if (sk->family == 10 /* AF_INET6 */) {
		__u32 w;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			w = sk->dst_ip6[i];
			__builtin_memcpy(dst + 4 * i, &w, 4);
		}
	} else {
		return;
	}
	__u16 dport = bpf_ntohs(sk->dst_port);
	if (dport == key->remote_port && same16(dst, key->remote_addr))
		return; // not translated
	__builtin_memcpy(nk.remote_addr, dst, 16);
	nk.remote_port = dport;
	struct nat_val nv = {.port = key->remote_port};
	__builtin_memcpy(nv.addr, key->remote_addr, 16);
	struct nat_val *old = bpf_map_lookup_elem(&nat, &nk);
	if (old && old->port == nv.port && same16(old->addr, nv.addr))
		return;
	bpf_map_update_elem(&nat, &nk, &nv, BPF_ANY);
	// The egress packet already carries the backend: nothing to rewrite.
}

// count parses the packet at the network header and adds it to its flow.
static __always_inline int count(struct __sk_buff *skb, __u8 dir)
{
	struct flow_key key = {};
	__u32 l3len = 0;    // network headers repeated in every segment
	__u32 l4len = 0;    // transport header repeated in every segment
	__u32 not_on_wire = 0; // bytes of the skb that no segment carries (IPv6 jumbo HBH)
	__u8 proto = 0;
	int off = 0;
	__u16 ports[2] = {};

	key.dir = dir;
	key.cgroup_id = bpf_skb_cgroup_id(skb);
	key.netns_cookie = bpf_get_netns_cookie(skb);

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			goto parsed; // counted, without addresses: totals stay exact
		if (ip.version != 4 || ip.ihl < 5)
			goto parsed;
		l3len = ip.ihl * 4;
		off = l3len;
		proto = ip.protocol;
		if (dir == DIR_EGRESS) {
			set_addr4(key.local_addr, ip.saddr);
			set_addr4(key.remote_addr, ip.daddr);
		} else {
			set_addr4(key.local_addr, ip.daddr);
			set_addr4(key.remote_addr, ip.saddr);
		}
		if (ip.frag_off & bpf_htons(0x1fff)) // not the first fragment: no ports
			goto parsed;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			goto parsed;
		if (ip6.version != 6)
			goto parsed;
		if (dir == DIR_EGRESS) {
			__builtin_memcpy(key.local_addr, &ip6.saddr, 16);
			__builtin_memcpy(key.remote_addr, &ip6.daddr, 16);
		} else {
			__builtin_memcpy(key.local_addr, &ip6.daddr, 16);
			__builtin_memcpy(key.remote_addr, &ip6.saddr, 16);
		}
		l3len = sizeof(ip6);
		off = sizeof(ip6);
		proto = ip6.nexthdr;
#pragma unroll
		for (int i = 0; i < MAX_EXT_HEADERS; i++) {
			__u8 ext[8];
			__u32 len;
			if (proto != IPPROTO_HOPOPTS && proto != IPPROTO_ROUTING && proto != IPPROTO_DSTOPTS &&
			    proto != IPPROTO_FRAGMENT && proto != IPPROTO_AH)
				break;
			if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
				goto parsed; // truncated: count what we have, without ports
			if (proto == IPPROTO_FRAGMENT) {
				len = 8;
				proto = ext[0];
				off += len;
				l3len += len;
				if ((ext[2] << 8 | ext[3]) & 0xfff8) // offset != 0: no ports
					goto parsed;
				continue;
			}
			if (proto == IPPROTO_AH)
				len = ((__u32)ext[1] + 2) * 4;
			else
				len = ((__u32)ext[1] + 1) * 8;
			// A BIG TCP jumbogram's hop-by-hop header (payload length 0,
			// jumbo option first) lives only in the GSO packet: segments
			// on the wire have none.
			if (proto == IPPROTO_HOPOPTS && i == 0 && ip6.payload_len == 0 && len == 8 &&
			    ext[2] == IPV6_TLV_JUMBO)
				not_on_wire = len;
			else
				l3len += len;
			proto = ext[0];
			off += len;
		}
	} else {
		goto parsed; // not IP: cgroup_skb sees IP only; count it, never guess
	}

	if (proto == IPPROTO_TCP) {
		struct tcphdr th;
		if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)) < 0)
			goto parsed;
		ports[0] = bpf_ntohs(th.source);
		ports[1] = bpf_ntohs(th.dest);
		l4len = th.doff * 4;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr uh;
		if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)) < 0)
			goto parsed;
		ports[0] = bpf_ntohs(uh.source);
		ports[1] = bpf_ntohs(uh.dest);
		l4len = sizeof(uh);
	}
	if (dir == DIR_EGRESS) {
		key.local_port = ports[0];
		key.remote_port = ports[1];
	} else {
		key.local_port = ports[1];
		key.remote_port = ports[0];
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		translate_nat(skb, &key, proto);
		if (names_on && skb->len > off + l4len)
			capture_name(skb, &key, proto, ports, off + l4len, skb->len - off - l4len);
	}
	if (ephemeral_min) {
		if (key.local_port >= ephemeral_min && key.remote_port < ephemeral_min) {
			struct keep_key kk = {.prefixlen = 128};
			__builtin_memcpy(kk.addr, key.remote_addr, 16);
			if (!bpf_map_lookup_elem(&keep_ports, &kk))
				key.local_port = 0;
		} else if (key.remote_port >= ephemeral_min && key.local_port < ephemeral_min)
			key.remote_port = 0;
	}

parsed:
	key.proto = proto;
	{
		// Loopback (ifindex 1 in every namespace) carries a GSO packet as
		// it is, unless the frame (with its 14-byte Ethernet header) reaches
		// the device's gso_max_size, 64 KiB unless raised for BIG TCP:
		// those it splits, as the kernel's gso_features_check decides.
		__u64 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
		if (skb->ifindex == LOOPBACK_IFINDEX && skb->len + ETH_HLEN < LOOPBACK_GSO_MAX)
			segs = 1;
		__u64 bytes = skb->len - not_on_wire;
		if (segs > 1 && l3len > 0)
			bytes += (segs - 1) * (__u64)(l3len + l4len);
		__u32 zero = 0;
		__u32 *gen = bpf_map_lookup_elem(&ctl, &zero);
		if (gen && *gen == 1)
			record(&flows1, &overflow1, 3, &key, bytes, segs);
		else
			record(&flows0, &overflow0, 0, &key, bytes, segs);
	}
	return 1; // always let the packet through
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	return count(skb, DIR_EGRESS);
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	return count(skb, DIR_INGRESS);
}

// TCP health, attached only when asked for: a sock_ops program keeps, per
// connection, its retransmissions and smoothed RTT, as TCP counts them.

struct health_key {
	__u64 netns_cookie;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u8 pad[4];
};

struct health_val {
	__u32 total_retrans; // segments retransmitted over the connection's life
	__u32 srtt_us;       // smoothed RTT, microseconds
	__u32 rtt_samples;   // RTT callbacks seen
	__u32 closed;        // 1 once the connection closed: user space reads it one last time
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); // health is a hint: an evicted entry loses no bytes
	__uint(max_entries, 65536);
	__type(key, struct health_key);
	__type(value, struct health_val);
} health SEC(".maps");

#ifndef TCP_CLOSE
#define TCP_CLOSE 7
#endif

static __always_inline void health_key_of(struct bpf_sock_ops *skops, struct health_key *k)
{
	k->netns_cookie = bpf_get_netns_cookie(skops);
	k->local_port = skops->local_port;            // host byte order
	k->remote_port = bpf_ntohl(skops->remote_port) & 0xffff; // the u32 holds the port in network order
	if (skops->family == 2 /* AF_INET */) {
		set_addr4(k->local_addr, skops->local_ip4);
		set_addr4(k->remote_addr, skops->remote_ip4);
	} else {
		// The context allows 4-byte loads only: copy word by word.
		__u32 w;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			w = skops->local_ip6[i];
			__builtin_memcpy(k->local_addr + 4 * i, &w, 4);
			w = skops->remote_ip6[i];
			__builtin_memcpy(k->remote_addr + 4 * i, &w, 4);
		}
	}
}

SEC("sockops")
int tcp_health(struct bpf_sock_ops *skops)
{
	struct health_key k = {};
	struct health_val v = {};
	int op = skops->op;

	switch (op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RETRANS_CB_FLAG |
							BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_RETRANS_CB:
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != TCP_CLOSE)
			return 1;
		v.closed = 1;
		break;
	default:
		return 1;
	}
	health_key_of(skops, &k);
	struct health_val *old = bpf_map_lookup_elem(&health, &k);
	if (old)
		v.rtt_samples = old->rtt_samples;
	if (op == BPF_SOCK_OPS_RTT_CB)
		v.rtt_samples++;
	v.total_retrans = skops->total_retrans;
	v.srtt_us = skops->srtt_us >> 3; // the kernel keeps it times 8
	bpf_map_update_elem(&health, &k, &v, BPF_ANY);
	return 1;
}
