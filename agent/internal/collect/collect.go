// Package collect turns the eBPF counter's deltas into schema-1 records:
// it names the local end (from its cgroup), classifies the flow (from the
// VPC view), and adds it to the current window. Bytes it cannot place are
// still recorded, as UNCLASSIFIED: the window's total is always the
// kernel's.
package collect

import (
	"cmp"
	"log/slog"
	"net/netip"
	"time"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/window"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

// Names are what the agent knows of a local cgroup's pod.
type Names struct {
	Pod, Namespace, Workload, WorkloadKind string
}

// RemoteNames is what the agent knows of a remote address in the VPC.
type RemoteNames struct {
	Pod           Names  // the pod that has the address, if any
	Node, Service string // the pod's node (or the node whose address it is), and its Service
	Reported      bool   // the node runs the agent, whose records report the same bytes
}

// Collector converts deltas. It is not safe for concurrent use.
type Collector struct {
	Cluster, Node, Region string
	InstanceID            string // the node's EC2 instance, if known and valid
	// NodeIP is the node's address: a remote always reported, by this agent.
	NodeIP netip.Addr
	// ExternalSNAT says pods' IPv4 flows out of the VPC leave with their own
	// addresses (AWS_VPC_K8S_CNI_EXTERNALSNAT=true), through their own
	// subnets' routes; false, the VPC CNI's default, with the node's.
	ExternalSNAT bool
	// Classifier places flows; nil (no VPC view yet) classifies everything
	// UNCLASSIFIED.
	Classifier *classify.Classifier
	// Names names a cgroup's pod; nil, or false, leaves the names empty
	// (the node's own processes, or a pod not known yet).
	Names func(cgroupID uint64) (Names, bool)
	// Remote names a remote address in the VPC: the pod that has it (and
	// its node), the Service it serves, and whether its node runs the
	// agent; nil leaves them empty, and remotes other than the node itself
	// unreported.
	Remote func(ip netip.Addr) (RemoteNames, bool)
	// RemoteName is the DNS name a pod (by its network namespace) knows a
	// remote address by, and how it learned it (flows.NameFromDNS or
	// NameFromSNI); it is asked at Flush, for each flow. nil names none.
	RemoteName func(netns uint64, ip netip.Addr) (name, source string, ok bool)
	Log        *slog.Logger

	locals      map[netip.Addr]classify.Local
	classifier  *classify.Classifier // the one locals were placed with
	placedFor   netip.Addr           // the NodeIP they were placed with (its routes are the pods')
	node        classify.Local       // placedFor's place
	nodeOK      bool
	skipped     uint64 // bytes of protocols the schema has no name for
	skippedLogs int

	// The window in hand, kept compact: one entry per flow as the counter
	// keys it (without the local port), pointing at what is known of its
	// two ends. A flow is named and classified once a window; later drains
	// only add to its counts; records are made at Flush, and only of what
	// the top-K keeps.
	pending  map[pendingKey]int32 // index in entries
	entries  []entry
	ends     map[endKey]*localEnd
	remotes  map[remoteKey]*remoteEnd
	named    map[uint64]named // this window's cgroup names
	ipString map[netip.Addr]string
	results  map[classify.Result]*classify.Result // one copy of each, for every remote classified alike
	other    remoteEnd                            // the remote of overflow and lost counts
}

type named struct {
	Names
	ok bool
}

// pendingKey is a flow as the counter keys it, or an overflow or lost
// count (flow zero, kind set).
// The local port is not in it: records have none, so flows that differ
// only there are one record. It is plain memory without padding (48
// bytes), which Go hashes and compares in one go: as netip values it took
// a fifth of the agent's time.
type pendingKey struct {
	cgroup        uint64
	local, remote [16]byte
	meta          uint64 // remote port << 24 | proto << 16 | direction << 8 | kind (0 flow, 1 overflow, 2 lost)
}

func flowKey(cgroup uint64, f *bpf.Flow) pendingKey {
	return pendingKey{cgroup: cgroup, local: f.Local.Addr().As16(), remote: f.Remote.Addr().As16(),
		meta: uint64(f.Remote.Port())<<24 | uint64(f.Proto)<<16 | uint64(f.Dir)<<8}
}

func overflowKey(cgroup uint64, dir flows.Direction, kind uint8) pendingKey {
	return pendingKey{cgroup: cgroup, meta: uint64(dir)<<8 | uint64(kind)}
}

// entry is one record in the making: 48 bytes, for there is one a flow.
type entry struct {
	bytes, packets uint64
	netns          uint64 // the local end's network namespace, by which names are known
	local          *localEnd
	remote         *remoteEnd
	port           uint16
	proto          flows.Protocol
	dir            flows.Direction
}

// localEnd is a local address in a cgroup, named and placed.
type localEnd struct {
	names  Names
	ip     string
	place  classify.Local
	subnet classify.Subnet // zero when not placed
}

type endKey struct {
	cgroup uint64
	addr   netip.Addr // invalid for overflow and lost counts
}

// remoteEnd is a remote address as seen from one subnet: classified and named. A window may hold tens of
// thousands (one per address a node's pods talk to), so what most share is shared: 64 bytes each.
type remoteEnd struct {
	addr     netip.Addr // invalid for overflow and lost counts
	ip       string
	res      *classify.Result // shared by the remotes classified alike
	names    *RemoteNames     // nil: not a pod's, or not known
	reported bool             // the bytes are also reported by the agent of the remote's node
}

// noNames is a remote's names when it has none.
var noNames RemoteNames

// remoteNames returns what is known of r in the VPC.
func (r *remoteEnd) remoteNames() *RemoteNames {
	if r.names == nil {
		return &noNames
	}
	return r.names
}

type remoteKey struct {
	subnet string
	addr   netip.Addr
}

// Skipped is the bytes of flows neither TCP nor UDP seen so far (ICMP, or
// packets the programs could not parse): schema 1 names only tcp and udp,
// so they are left out of the records, and counted here.
func (c *Collector) Skipped() uint64 { return c.skipped }

// ipv6EgressV4 is where the VPC CNI of an IPv6 cluster gives each pod an
// IPv4 address, which it translates to its node's primary address: the
// pods' way to IPv4 destinations. Their flows are placed at the node.
var ipv6EgressV4 = netip.MustParsePrefix("169.254.172.0/22")

// local places a local address in its subnet, with the VPC CNI's source
// NAT in mind: a pod's IPv4 flows out of the VPC take its node's routes
// (classify.Local.SNATTo), and an IPv6 cluster's pods' IPv4 flows are the
// node's.
func (c *Collector) local(a netip.Addr) (classify.Local, bool) {
	if c.Classifier == nil {
		return classify.Local{}, false
	}
	if c.classifier != c.Classifier || c.locals == nil || c.placedFor != c.NodeIP {
		c.locals, c.classifier, c.placedFor = map[netip.Addr]classify.Local{}, c.Classifier, c.NodeIP
		c.node, c.nodeOK = c.Classifier.Local(c.NodeIP)
	}
	if l, ok := c.locals[a]; ok {
		return l, l.Subnet().ID != ""
	}
	l, ok := c.Classifier.Local(a)
	switch {
	case c.nodeOK && !ok && ipv6EgressV4.Contains(a):
		l, ok = c.node, true
	case c.nodeOK && ok && !c.ExternalSNAT && a.Is4() && c.NodeIP.Is4():
		l = l.SNATTo(c.node)
	}
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

// Add adds one drain's deltas to the window in hand.
func (c *Collector) Add(d *bpf.Deltas) {
	if c.pending == nil {
		c.pending = map[pendingKey]int32{}
		c.ends = map[endKey]*localEnd{}
		c.remotes = map[remoteKey]*remoteEnd{}
		c.other = remoteEnd{ip: flows.OtherIP, res: c.result(classify.Result{Category: flows.Unclassified})}
	}
	for i := range d.Flows {
		f := &d.Flows[i]
		// Unnamed cgroups (the node's own processes) share one key: their
		// records are the same record.
		cg := f.CgroupID
		if !c.names(cg).ok {
			cg = 0
		}
		k := flowKey(cg, f)
		if j, ok := c.pending[k]; ok {
			e := &c.entries[j]
			e.bytes += f.Bytes
			e.packets += f.Packets
			continue
		}
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
		l := c.localEnd(cg, f.Local.Addr())
		c.add(k, entry{bytes: f.Bytes, packets: f.Packets, netns: f.NetnsCookie, local: l,
			remote: c.remoteEnd(l, f.Remote.Addr()), port: f.Remote.Port(), proto: proto, dir: f.Dir})
	}
	// Bytes the flow map could not take: their cgroup and direction are
	// known, nothing else.
	for _, o := range d.Overflow {
		cg := o.CgroupID
		if !c.names(cg).ok {
			cg = 0
		}
		c.addOverflow(overflowKey(cg, o.Dir, 1), o)
	}
	for dir, o := range d.Lost {
		o.Dir = dir
		c.addOverflow(overflowKey(0, dir, 2), o)
	}
}

func (c *Collector) add(k pendingKey, e entry) {
	c.pending[k] = int32(len(c.entries))
	c.entries = append(c.entries, e)
}

func (c *Collector) addOverflow(k pendingKey, o bpf.Overflow) {
	if j, ok := c.pending[k]; ok {
		e := &c.entries[j]
		e.bytes += o.Bytes
		e.packets += o.Packets
		return
	}
	c.add(k, entry{bytes: o.Bytes, packets: o.Packets, local: c.localEnd(k.cgroup, netip.Addr{}),
		remote: &c.other, proto: flows.TCP, dir: o.Dir})
}

// localEnd names and places a local address of a cgroup, once a window.
// The invalid address stands for the node (overflow and lost counts).
func (c *Collector) localEnd(cgroup uint64, a netip.Addr) *localEnd {
	k := endKey{cgroup, a}
	if l, ok := c.ends[k]; ok {
		return l
	}
	l := &localEnd{names: c.names(cgroup).Names}
	if a.IsValid() {
		l.ip = c.str(a)
		if loc, ok := c.local(a); ok {
			l.place, l.subnet = loc, loc.Subnet()
		}
	} else {
		l.ip = c.nodeIP()
	}
	c.ends[k] = l
	return l
}

// remoteEnd classifies and names a remote address seen from l's subnet,
// once a window.
func (c *Collector) remoteEnd(l *localEnd, a netip.Addr) *remoteEnd {
	k := remoteKey{l.subnet.ID, a}
	if r, ok := c.remotes[k]; ok {
		return r
	}
	res := classify.Result{Category: flows.Unclassified}
	// Not c.str: a remote is formatted once a window anyway, and a cache of tens of thousands would stay.
	r := &remoteEnd{addr: a, ip: a.String()}
	if l.subnet.ID != "" {
		res = l.place.Classify(a)
		if c.Remote != nil && (res.Category == flows.IntraAZ || res.Category == flows.InterAZ) {
			if n, ok := c.Remote(a); ok {
				r.names = &n
			}
		}
	}
	r.res = c.result(res)
	// This agent counts its own node's sockets, whatever Kubernetes says.
	r.reported = r.remoteNames().Reported || a.Unmap() == c.NodeIP
	c.remotes[k] = r
	return r
}

// result returns the one copy of res: a window's remotes are classified alike by the thousand.
func (c *Collector) result(res classify.Result) *classify.Result {
	if p, ok := c.results[res]; ok {
		return p
	}
	if c.results == nil || len(c.results) >= 1<<12 {
		c.results = map[classify.Result]*classify.Result{}
	}
	p := new(classify.Result) // not &res, which would put every res on the heap
	*p = res
	c.results[res] = p
	return p
}

// record makes an entry's record.
func (c *Collector) record(e *entry, start time.Time, length time.Duration) flows.Record {
	l, rm, rn := e.local, e.remote, e.remote.remoteNames()
	return flows.Record{Schema: flows.SchemaVersion, TS: start, WindowS: int64(length / time.Second),
		Cluster: c.Cluster, Node: c.Node, Region: c.Region, NodeInstanceID: c.InstanceID, Direction: e.dir, Protocol: e.proto,
		LocalIP: l.ip, LocalPod: l.names.Pod, LocalNamespace: l.names.Namespace, LocalWorkload: l.names.Workload, LocalWorkloadKind: l.names.WorkloadKind,
		LocalAZ: l.subnet.AZ, LocalAZID: l.subnet.AZID, LocalSubnet: l.subnet.ID,
		RemoteIP: rm.ip, RemotePort: e.port, RemotePod: rn.Pod.Pod, RemoteNamespace: rn.Pod.Namespace,
		RemoteWorkload: rn.Pod.Workload, RemoteService: rn.Service, RemoteNode: rn.Node,
		RemoteAZ: rm.res.RemoteAZ, RemoteAZID: rm.res.RemoteAZID,
		RemoteReportedRaw: flows.BoolOf(rm.reported), RemoteLB: rm.res.RemoteLB,
		RemoteAWSService: rm.res.RemoteAWSService, RemoteRegion: rm.res.RemoteRegion,
		Category: rm.res.Category, Via: rm.res.Via, ViaAZID: rm.res.ViaAZID,
		Bytes: e.bytes, Packets: e.packets}
}

// Flush returns the window's records, stamped with its start and length,
// largest first: for each local workload, category, direction, billed hop
// and remote_reported the topK largest remotes, and the rest folded into
// one "other" record (topK <= 0 keeps all), named where all it folds
// agree. Their bytes add up to every byte added
// since the last Flush, which starts the next window.
func (c *Collector) Flush(start time.Time, length time.Duration, topK int) []flows.Record {
	start = start.UTC()
	es := c.entries
	groups := window.Fold(len(es), topK, func(i int) window.FoldKey {
		e := &es[i]
		l := e.local
		r := flows.Record{LocalNamespace: l.names.Namespace, LocalWorkload: l.names.Workload, LocalPod: l.names.Pod, LocalIP: l.ip,
			Category: e.remote.res.Category, Direction: e.dir, Via: e.remote.res.Via, ViaAZID: e.remote.res.ViaAZID,
			RemoteReportedRaw: flows.BoolOf(e.remote.reported), Region: c.Region, Cluster: c.Cluster, Node: c.Node,
			NodeInstanceID: c.InstanceID}
		return window.FoldKeyOf(&r)
	}, func(a, b int) int {
		x, y := &es[a], &es[b]
		return cmp.Or(cmp.Compare(y.bytes, x.bytes), cmp.Compare(x.remote.ip, y.remote.ip), cmp.Compare(x.port, y.port),
			cmp.Compare(x.local.names.Pod, y.local.names.Pod), cmp.Compare(x.proto, y.proto), cmp.Compare(x.local.ip, y.local.ip))
	})
	n := 0
	for _, g := range groups {
		n += len(g.Keep) + min(len(g.Rest), 1)
	}
	out := make([]flows.Record, 0, n)
	for _, g := range groups {
		for _, i := range g.Keep {
			r := c.record(&es[i], start, length)
			r.RemoteName, r.RemoteNameSource = c.remoteName(&es[i])
			out = append(out, r)
		}
		if len(g.Rest) == 0 {
			continue
		}
		first := c.record(&es[g.Rest[0]], start, length)
		o := window.Other(&first)
		var names window.NameAgreement
		for _, i := range g.Rest {
			window.AddToOther(&o, es[i].bytes, es[i].packets, es[i].proto)
			names.Add(c.remoteName(&es[i]))
		}
		names.Set(&o)
		out = append(out, o)
	}
	window.Sort(out)
	clear(c.pending)
	clear(c.ends)
	clear(c.remotes)
	clear(c.named) // names are looked up again each window
	c.entries = c.entries[:0]
	return out
}

// remoteName is the name the local pod knows e's remote by, if any.
func (c *Collector) remoteName(e *entry) (name, source string) {
	if c.RemoteName == nil || !e.remote.addr.IsValid() {
		return "", ""
	}
	name, source, _ = c.RemoteName(e.netns, e.remote.addr)
	return name, source
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
