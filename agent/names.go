package main

import (
	"net/netip"

	"github.com/netcost/netcost/agent/internal/cgroups"
	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/kube"
)

// namer names the ends of flows for the collector from the Kubernetes index: a local cgroup's pod, and the
// pod or node that has a remote address. Without an index (no Kubernetes API) it names nothing.
type namer struct {
	paths *cgroups.Resolver
	index *kube.Index
}

// local names the pod a cgroup belongs to: collect.Collector.Names.
func (n namer) local(cgroupID uint64) (collect.Names, bool) {
	if n.index == nil {
		return collect.Names{}, false
	}
	p, err := n.paths.Path(cgroupID)
	if err != nil {
		return collect.Names{}, false
	}
	cg, ok := cgroups.ParsePath(p)
	if !ok {
		return collect.Names{}, false // the node's own processes
	}
	pod, ok := n.index.PodByUID(cg.UID)
	if !ok {
		return collect.Names{}, false // not known yet: unnamed, still counted
	}
	return podNames(pod), true
}

// remote names the pod that has a remote address, its node and the Service it serves, or else the node
// whose address it is (the node itself, or a host-network pod on it), and whether that node runs the agent:
// collect.Collector.Remote.
func (n namer) remote(ip netip.Addr) (collect.RemoteNames, bool) {
	if n.index == nil {
		return collect.RemoteNames{}, false
	}
	r, ok := n.index.Remote(ip)
	return collect.RemoteNames{Pod: podNames(r.Pod), Node: r.Node, Service: r.Service, Reported: r.Reported}, ok
}

func podNames(p kube.Pod) collect.Names {
	return collect.Names{Pod: p.Name, Namespace: p.Namespace, Workload: p.Workload, WorkloadKind: p.WorkloadKind}
}
