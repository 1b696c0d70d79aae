// Package window aggregates an agent's classified flows into the records of
// one window: one record per local pod, remote, category, direction,
// protocol and remote port, with the remotes beyond the top K of each local
// workload folded into one "other" record, so that the bytes published
// always equal the bytes the kernel counted.
package window

import (
	"cmp"
	"slices"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// key is a record without its counts and window.
type key struct {
	r flows.Record
}

func keyOf(r *flows.Record) key {
	k := *r
	k.TS, k.WindowS, k.Bytes, k.Packets = time.Time{}, 0, 0, 0
	return key{k}
}

// Window collects records for one window. It is not safe for concurrent use.
type Window struct {
	Start    time.Time
	Length   time.Duration
	recs     map[key]*flows.Record
	distinct []*flows.Record // added by a caller that merged them already
	bytes    uint64
}

// New returns an empty window.
func New(start time.Time, length time.Duration) *Window {
	return &Window{Start: start.UTC(), Length: length, recs: map[key]*flows.Record{}}
}

// Add adds r's bytes and packets to its record. r's TS and WindowS are
// ignored: the window's own are used.
func (w *Window) Add(r *flows.Record) {
	k := keyOf(r)
	acc := w.recs[k]
	if acc == nil {
		c := k.r
		c.TS, c.WindowS = w.Start, int64(w.Length/time.Second)
		acc = &c
		w.recs[k] = acc
	}
	acc.Bytes += r.Bytes
	acc.Packets += r.Packets
	w.bytes += r.Bytes
}

// AddDistinct adds a record that no other record of the window shares a
// key with (the caller merged them), without the cost of merging it. The
// window keeps r: the caller must not change it afterwards.
func (w *Window) AddDistinct(r *flows.Record) {
	r.TS, r.WindowS = w.Start, int64(w.Length/time.Second)
	w.distinct = append(w.distinct, r)
	w.bytes += r.Bytes
}

// Bytes is the total of the bytes added.
func (w *Window) Bytes() uint64 { return w.bytes }

// foldKey groups the records whose small remotes fold together: the same
// local workload, category, direction and billed hop.
type foldKey struct {
	ns, workload, pod, ip string
	cat                   flows.Category
	dir                   flows.Direction
	via, viaAZID          string
	region, cluster, node string
}

// Records returns the window's records, largest first, keeping for each
// local workload, category, direction and hop its topK largest remotes and
// folding the rest into one record whose remote_ip is "other" (topK <= 0
// keeps everything). The bytes and packets of the result add up to what was
// added.
func (w *Window) Records(topK int) []flows.Record {
	groups := map[foldKey][]*flows.Record{}
	all := w.distinct
	for _, r := range w.recs {
		all = append(all, r)
	}
	for _, r := range all {
		fk := foldKey{ns: r.LocalNamespace, workload: r.LocalWorkload, cat: r.Category, dir: r.Direction,
			via: r.Via, viaAZID: r.ViaAZID, region: r.Region, cluster: r.Cluster, node: r.Node}
		if r.LocalWorkload == "" {
			fk.pod, fk.ip = r.LocalPod, r.LocalIP
		}
		groups[fk] = append(groups[fk], r)
	}
	var out []flows.Record
	for _, g := range groups {
		slices.SortFunc(g, byBytes)
		if topK <= 0 || len(g) <= topK+1 { // folding one record would gain nothing
			for _, r := range g {
				out = append(out, *r)
			}
			continue
		}
		for _, r := range g[:topK] {
			out = append(out, *r)
		}
		rest := g[topK:]
		other := flows.Record{Schema: flows.SchemaVersion, TS: w.Start, WindowS: int64(w.Length / time.Second),
			Cluster: rest[0].Cluster, Node: rest[0].Node, Region: rest[0].Region, Direction: rest[0].Direction,
			Category: rest[0].Category, Protocol: rest[0].Protocol, RemoteIP: flows.OtherIP,
			Via: rest[0].Via, ViaAZID: rest[0].ViaAZID}
		local := rest[0]
		other.LocalIP, other.LocalNamespace, other.LocalWorkload, other.LocalWorkloadKind = local.LocalIP, local.LocalNamespace, local.LocalWorkload, local.LocalWorkloadKind
		other.LocalAZ, other.LocalAZID, other.LocalSubnet = local.LocalAZ, local.LocalAZID, local.LocalSubnet
		if local.LocalWorkload == "" {
			other.LocalPod = local.LocalPod
		}
		for _, r := range rest {
			other.Bytes += r.Bytes
			other.Packets += r.Packets
			if r.Protocol != other.Protocol {
				other.Protocol = flows.TCP // mixed: the schema needs one; TCP carries most bytes
			}
			if r.LocalIP != other.LocalIP {
				other.LocalIP = local.LocalIP // several pods of the workload: the first stands for them
			}
		}
		out = append(out, other)
	}
	slices.SortFunc(out, func(a, b flows.Record) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.LocalPod, b.LocalPod), cmp.Compare(a.RemoteIP, b.RemoteIP),
			cmp.Compare(a.Category, b.Category), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.RemotePort, b.RemotePort),
			cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.LocalIP, b.LocalIP))
	})
	return out
}

func byBytes(a, b *flows.Record) int {
	return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.RemoteIP, b.RemoteIP), cmp.Compare(a.RemotePort, b.RemotePort),
		cmp.Compare(a.LocalPod, b.LocalPod), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.LocalIP, b.LocalIP))
}
