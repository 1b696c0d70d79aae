// Package bpf counts the bytes and packets of every TCP and UDP flow (IPv4
// and IPv6) per cgroup, in the kernel, with two cgroup_skb programs attached
// at the cgroup v2 root. It is the only package that imports cilium/ebpf.
//
// The compiled object is embedded: Open needs no compiler, only a kernel
// with BTF, cgroup v2 and the privileges to load BPF programs (CAP_BPF,
// CAP_NET_ADMIN and CAP_PERFMON, or root). See README.md for the layout of
// the maps and how the counts stay exact.
package bpf
