package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/netcost/netcost/agent/internal/cgroups"
	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/kube"
)

// cgroupID makes a directory under root, as a cgroup, and returns its id: its inode number.
func cgroupID(t *testing.T, root, path string) uint64 {
	t.Helper()
	dir := filepath.Join(root, path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestNamer: a pod's cgroup and address are named from the Kubernetes index, and a node's address by its
// node; the node's own cgroups, pods not known yet and strangers are not; without an index nothing is.
func TestNamer(t *testing.T) {
	root := t.TempDir()
	const uid = "0f0e0d0c-0b0a-0908-0706-050403020100"
	web := cgroupID(t, root, "kubepods/burstable/pod"+uid+"/ctr")
	unknown := cgroupID(t, root, "kubepods/besteffort/pod11111111-2222-3333-4444-555555555555")
	system := cgroupID(t, root, "system.slice/kubelet.service")
	podIP, nodeIP := netip.MustParseAddr("10.0.2.7"), netip.MustParseAddr("10.0.2.2")
	idx := kube.NewIndex()
	idx.SetPod(kube.Pod{UID: uid, Name: "web-1", Namespace: "shop", Workload: "web", WorkloadKind: "Deployment",
		Node: "node-2", IPs: []netip.Addr{podIP}})
	idx.SetSlice("shop/web-abc", "shop/web", []netip.Addr{podIP})
	idx.SetNode("node-2", []netip.Addr{nodeIP})
	want := collect.Names{Pod: "web-1", Namespace: "shop", Workload: "web", WorkloadKind: "Deployment"}

	n := namer{paths: cgroups.NewResolver(root), index: idx}
	for _, tt := range []struct {
		cgroup uint64
		want   collect.Names
		ok     bool
	}{
		{web, want, true},
		{unknown, collect.Names{}, false}, // not known yet
		{system, collect.Names{}, false},  // the node's own
		{1 << 40, collect.Names{}, false}, // gone
	} {
		if got, ok := n.local(tt.cgroup); got != tt.want || ok != tt.ok {
			t.Errorf("local(%d) = %+v, %v; want %+v, %v", tt.cgroup, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		ip   netip.Addr
		want collect.RemoteNames
		ok   bool
	}{
		{podIP, collect.RemoteNames{Pod: want, Node: "node-2", Service: "web"}, true},
		{nodeIP, collect.RemoteNames{Node: "node-2"}, true},
		{netip.MustParseAddr("10.0.3.3"), collect.RemoteNames{}, false},
	} {
		if got, ok := n.remote(tt.ip); got != tt.want || ok != tt.ok {
			t.Errorf("remote(%s) = %+v, %v; want %+v, %v", tt.ip, got, ok, tt.want, tt.ok)
		}
	}

	// Once node-2 is known to run the agent, its pod and address are reported.
	idx.SetSelf(kube.Self{Node: "node-2"})
	for _, ip := range []netip.Addr{podIP, nodeIP} {
		if got, _ := n.remote(ip); !got.Reported {
			t.Errorf("remote(%s) = %+v; want it reported, on the agent's own node", ip, got)
		}
	}

	none := namer{paths: cgroups.NewResolver(root)}
	if got, ok := none.local(web); ok {
		t.Errorf("without an index, local(%d) = %+v, true; want nothing", web, got)
	}
	if got, ok := none.remote(podIP); ok {
		t.Errorf("without an index, remote(%s) = %+v, true; want nothing", podIP, got)
	}
}
