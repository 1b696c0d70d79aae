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

	// pending holds this window's records by the counter's own flow key:
	// a flow is named and classified once a window, and later drains only
	// add to its counts.
	pending  map[pendingKey]*flows.Record
	ipString map[netip.Addr]string
	named    map[uint64]named // this window's cgroup names
}

type named struct {
	Names
	ok bool
}

// pendingKey is a flow as the counter keys it, or an overflow or lost
// count (flow zero, kind set).
// The local port is not in it: records have none, so flows that differ
// only there are one record.
type pendingKey struct {
	cgroup uint64
	local  netip.Addr
	remote netip.AddrPort
	proto  uint8
	dir    flows.Direction
	kind   uint8 // 0 flow, 1 overflow, 2 lost
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

// names returns a cgroup's names, looked up once a window.
func (c *Collector) names(cgroup uint64) named {
	if cgroup == 0 || c.Names == nil {
		return named{}
	}
	if n, ok := c.named[cgroup]; ok {
		return n
	}
	if c.named == nil {
		c.named = map[uint64]named{}
	}
	nm, ok := c.Names(cgroup)
	n := named{nm, ok}
	c.named[cgroup] = n
	return n
}

func (c *Collector) base(cgroup uint64, dir flows.Direction) flows.Record {
	r := flows.Record{Schema: flows.SchemaVersion, Cluster: c.Cluster, Node: c.Node, Region: c.Region, Direction: dir}
	if n := c.names(cgroup); n.ok {
		r.LocalPod, r.LocalNamespace, r.LocalWorkload, r.LocalWorkloadKind = n.Pod, n.Namespace, n.Workload, n.WorkloadKind
	}
	return r
}

// Add adds one drain's deltas to the window in hand.
func (c *Collector) Add(d *bpf.Deltas) {
	if c.pending == nil {
		c.pending = map[pendingKey]*flows.Record{}
	}
	for i := range d.Flows {
		f := &d.Flows[i]
		// Unnamed cgroups (the node's own processes) share one key: their
		// records are the same record.
		cg := f.CgroupID
		if !c.names(cg).ok {
			cg = 0
		}
		k := pendingKey{cgroup: cg, local: f.Local.Addr(), remote: f.Remote, proto: f.Proto, dir: f.Dir}
		if r, ok := c.pending[k]; ok {
			r.Bytes += f.Bytes
			r.Packets += f.Packets
			continue
		}
		r, ok := c.record(f)
		if !ok {
			continue
		}
		c.pending[k] = r
	}
	// Bytes the flow map could not take: their cgroup and direction are
	// known, nothing else.
	add := func(k pendingKey, o bpf.Overflow) {
		if r, ok := c.pending[k]; ok {
			r.Bytes += o.Bytes
			r.Packets += o.Packets
			return
		}
		r := c.base(k.cgroup, o.Dir)
		r.Protocol, r.Category = flows.TCP, flows.Unclassified
		r.LocalIP, r.RemoteIP = c.nodeIP(), flows.OtherIP
		r.Bytes, r.Packets = o.Bytes, o.Packets
		c.pending[k] = &r
	}
	for _, o := range d.Overflow {
		cg := o.CgroupID
		if !c.names(cg).ok {
			cg = 0
		}
		add(pendingKey{cgroup: cg, dir: o.Dir, kind: 1}, o)
	}
	for dir, o := range d.Lost {
		o.Dir = dir
		add(pendingKey{dir: dir, kind: 2}, o)
	}
}

// Flush hands the window's records to w and starts the next window.
func (c *Collector) Flush(w *window.Window) {
	for _, r := range c.pending {
		w.AddDistinct(r) // one record per key, merged already
	}
	clear(c.pending)
	clear(c.named) // names are looked up again each window
}

// record names and classifies a flow seen for the first time this window.
func (c *Collector) record(f *bpf.Flow) (*flows.Record, bool) {
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
		return nil, false
	}
	r := c.base(f.CgroupID, f.Dir)
	r.Protocol = proto
	r.LocalIP = c.str(f.Local.Addr())
	r.RemoteIP = c.str(f.Remote.Addr())
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
	return &r, true
}

// str formats an address once.
func (c *Collector) str(a netip.Addr) string {
	if s, ok := c.ipString[a]; ok {
		return s
	}
	if c.ipString == nil || len(c.ipString) > 1<<16 {
		c.ipString = map[netip.Addr]string{}
	}
	s := a.String()
	c.ipString[a] = s
	return s
}

func (c *Collector) nodeIP() string {
	if c.NodeIP.IsValid() {
		return c.NodeIP.String()
	}
	return "0.0.0.0"
}
