// Package collect turns the eBPF counter's deltas into schema-1 records:
// it names the local end (from its cgroup), classifies the flow (from the
// VPC view), and adds it to the current window. Bytes it cannot place are
// still recorded, as UNCLASSIFIED: the window's total is always the
// kernel's.
package collect

import (
	"log/slog"
	"net/netip"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/window"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

// Names are what the agent knows of a local cgroup's pod.
type Names struct {
	Pod, Namespace, Workload, WorkloadKind string
}

// Collector converts deltas. It is not safe for concurrent use.
type Collector struct {
	Cluster, Node, Region string
	NodeIP                netip.Addr
	// Classifier places flows; nil (no VPC view yet) classifies everything
	// UNCLASSIFIED.
	Classifier *classify.Classifier
	// Names names a cgroup's pod; nil, or false, leaves the names empty
	// (the node's own processes, or a pod not known yet).
	Names func(cgroupID uint64) (Names, bool)
	// Remote names a remote address in the VPC: the pod that has it (and
	// its node) and the Service it serves; nil leaves them empty.
	Remote func(ip netip.Addr) (pod Names, node, service string, ok bool)
	Log    *slog.Logger

	locals      map[netip.Addr]classify.Local
	classifier  *classify.Classifier // the one locals were placed with
	skipped     uint64               // bytes of protocols the schema has no name for
	skippedLogs int
}

// Skipped is the bytes of flows neither TCP nor UDP seen so far (ICMP, or
// packets the programs could not parse): schema 1 names only tcp and udp,
// so they are left out of the records, and counted here.
func (c *Collector) Skipped() uint64 { return c.skipped }

func (c *Collector) local(a netip.Addr) (classify.Local, bool) {
	if c.Classifier == nil {
		return classify.Local{}, false
	}
	if c.classifier != c.Classifier || c.locals == nil {
		c.locals, c.classifier = map[netip.Addr]classify.Local{}, c.Classifier
	}
	if l, ok := c.locals[a]; ok {
		return l, l.Subnet().ID != ""
	}
	l, ok := c.Classifier.Local(a)
	if len(c.locals) < 1<<16 {
		c.locals[a] = l
	}
	return l, ok
}

func (c *Collector) base(cgroup uint64, dir flows.Direction) flows.Record {
	r := flows.Record{Schema: flows.SchemaVersion, Cluster: c.Cluster, Node: c.Node, Region: c.Region, Direction: dir}
	if c.Names != nil && cgroup != 0 {
		if n, ok := c.Names(cgroup); ok {
			r.LocalPod, r.LocalNamespace, r.LocalWorkload, r.LocalWorkloadKind = n.Pod, n.Namespace, n.Workload, n.WorkloadKind
		}
	}
	return r
}

// Add adds one drain's deltas to w.
func (c *Collector) Add(w *window.Window, d *bpf.Deltas) {
	for i := range d.Flows {
		f := &d.Flows[i]
		var proto flows.Protocol
		switch f.Proto {
		case 6:
			proto = flows.TCP
		case 17:
			proto = flows.UDP
		default:
			c.skipped += f.Bytes
			if c.skippedLogs < 3 && c.Log != nil {
				c.Log.Info("leaving out bytes of a protocol schema 1 has no name for", "proto", f.Proto, "bytes", f.Bytes)
				c.skippedLogs++
			}
			continue
		}
		r := c.base(f.CgroupID, f.Dir)
		r.Protocol = proto
		r.LocalIP = f.Local.Addr().String()
		r.RemoteIP = f.Remote.Addr().String()
		r.RemotePort = f.Remote.Port()
		r.Bytes, r.Packets = f.Bytes, f.Packets
		r.Category = flows.Unclassified
		if l, ok := c.local(f.Local.Addr()); ok {
			res := l.Classify(f.Remote.Addr())
			s := l.Subnet()
			r.LocalAZ, r.LocalAZID, r.LocalSubnet = s.AZ, s.AZID, s.ID
			r.Category, r.Via, r.ViaAZID = res.Category, res.Via, res.ViaAZID
			r.RemoteAZ, r.RemoteAZID = res.RemoteAZ, res.RemoteAZID
			r.RemoteAWSService, r.RemoteRegion = res.RemoteAWSService, res.RemoteRegion
			if c.Remote != nil && (r.Category == flows.IntraAZ || r.Category == flows.InterAZ) {
				if p, node, svc, ok := c.Remote(f.Remote.Addr()); ok {
					r.RemotePod, r.RemoteNamespace, r.RemoteWorkload = p.Pod, p.Namespace, p.Workload
					r.RemoteNode, r.RemoteService = node, svc
				}
			}
		}
		w.Add(&r)
	}
	// Bytes the flow map could not take: their cgroup and direction are
	// known, nothing else.
	for _, o := range d.Overflow {
		r := c.base(o.CgroupID, o.Dir)
		r.Protocol, r.Category = flows.TCP, flows.Unclassified
		r.LocalIP, r.RemoteIP = c.nodeIP(), flows.OtherIP
		r.Bytes, r.Packets = o.Bytes, o.Packets
		w.Add(&r)
	}
	for dir, o := range d.Lost {
		r := c.base(0, dir)
		r.Protocol, r.Category = flows.TCP, flows.Unclassified
		r.LocalIP, r.RemoteIP = c.nodeIP(), flows.OtherIP
		r.Bytes, r.Packets = o.Bytes, o.Packets
		w.Add(&r)
	}
}

func (c *Collector) nodeIP() string {
	if c.NodeIP.IsValid() {
		return c.NodeIP.String()
	}
	return "0.0.0.0"
}
