// Package window aggregates an agent's classified flows into the records of
// one window: one record per local pod, remote, category, direction,
// protocol and remote port, with the remotes beyond the top K of each local
// workload folded into one "other" record, so that the bytes published
// always equal the bytes the kernel counted. Reported and unreported
// remotes fold apart: readers count and price the two differently.
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
	Start  time.Time
	Length time.Duration
	recs   map[key]*flows.Record
	bytes  uint64
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

// Bytes is the total of the bytes added.
func (w *Window) Bytes() uint64 { return w.bytes }

// FoldKey groups the records whose small remotes fold together: the same
// local workload (or, without one, the same pod and address), category,
// direction, billed hop, and remote_reported.
type FoldKey struct {
	ns, workload, pod, ip string
	cat                   flows.Category
	dir                   flows.Direction
	via, viaAZID          string
	reported              flows.OptBool
	region, cluster, node string
	instance              string
}

// FoldKeyOf returns r's fold group.
func FoldKeyOf(r *flows.Record) FoldKey {
	fk := FoldKey{ns: r.LocalNamespace, workload: r.LocalWorkload, cat: r.Category, dir: r.Direction,
		via: r.Via, viaAZID: r.ViaAZID, reported: r.RemoteReportedRaw, region: r.Region, cluster: r.Cluster, node: r.Node,
		instance: r.NodeInstanceID}
	if r.LocalWorkload == "" {
		fk.pod, fk.ip = r.LocalPod, r.LocalIP
	}
	return fk
}

// Group is one fold group's members, by index: Keep the largest, Rest to
// fold into one "other" record (empty when nothing folds).
type Group struct {
	Keep, Rest []int
}

// Fold groups n members by group(i) and keeps the first topK of each in
// cmp's order (largest first), in that order; the rest is in no order but
// its first, the largest. topK <= 0 keeps everything, and
// so does a group of topK+1 (folding one record would gain nothing).
// Callers keep their members in whatever form is cheapest and make records
// only of what Fold keeps.
func Fold[G comparable](n, topK int, group func(i int) G, cmp func(a, b int) int) []Group {
	byGroup := map[G][]int{}
	for i := range n {
		g := group(i)
		byGroup[g] = append(byGroup[g], i)
	}
	out := make([]Group, 0, len(byGroup))
	for _, m := range byGroup {
		if topK <= 0 || len(m) <= topK+1 {
			out = append(out, Group{Keep: m})
			continue
		}
		keep, rest := selectTop(m, topK, cmp)
		out = append(out, Group{Keep: keep, Rest: rest})
	}
	return out
}

// selectTop returns the k first members of m in cmp's order, in that
// order, and the others with the first of them in front (Other names its
// local end). It does not sort m: a member that does not beat the k-th
// kept so far, as most do in a large group, costs one comparison: a
// group of 50,000 folds in a fourth of the time a sort took
// (BenchmarkFold50k).
func selectTop(m []int, k int, cmp func(a, b int) int) (keep, rest []int) {
	keep = make([]int, 0, k)
	rest = make([]int, 0, len(m)-k)
	for _, i := range m {
		if len(keep) == k {
			if cmp(i, keep[k-1]) >= 0 {
				rest = append(rest, i)
				continue
			}
			rest = append(rest, keep[k-1])
			keep = keep[:k-1]
		}
		at, _ := slices.BinarySearchFunc(keep, i, cmp)
		keep = slices.Insert(keep, at, i)
	}
	if len(rest) > 0 {
		best := 0
		for j := range rest {
			if cmp(rest[j], rest[best]) < 0 {
				best = j
			}
		}
		rest[0], rest[best] = rest[best], rest[0]
	}
	return keep, rest
}

// Other returns the record that stands for folded remotes: the local end,
// billed hop and remote_reported of first (the largest of them), remote_ip
// "other", and no counts yet (the caller adds them, with AddToOther).
func Other(first *flows.Record) flows.Record {
	o := flows.Record{Schema: flows.SchemaVersion, TS: first.TS, WindowS: first.WindowS,
		Cluster: first.Cluster, Node: first.Node, Region: first.Region, NodeInstanceID: first.NodeInstanceID,
		Direction: first.Direction, Category: first.Category, Protocol: first.Protocol, RemoteIP: flows.OtherIP,
		RemoteReportedRaw: first.RemoteReportedRaw, Via: first.Via, ViaAZID: first.ViaAZID,
		LocalIP: first.LocalIP, LocalNamespace: first.LocalNamespace, LocalWorkload: first.LocalWorkload, LocalWorkloadKind: first.LocalWorkloadKind,
		LocalAZ: first.LocalAZ, LocalAZID: first.LocalAZID, LocalSubnet: first.LocalSubnet}
	if first.LocalWorkload == "" {
		o.LocalPod = first.LocalPod
	}
	return o
}

// AddToOther adds a folded member's counts to o. Several pods of a
// workload fold together: the first one's address stands for them. Mixed
// protocols are published as TCP, which carries most bytes: the schema
// needs one.
func AddToOther(o *flows.Record, bytes, packets uint64, proto flows.Protocol) {
	o.Bytes += bytes
	o.Packets += packets
	if proto != o.Protocol {
		o.Protocol = flows.TCP
	}
}

// NameAgreement collects the remote names of the records an "other" record stands for: it keeps a name
// only where all of them agree, name and source (a fold of many addresses of one service, say).
type NameAgreement struct {
	name, source string
	n            int
	mixed        bool
}

// Add notes one folded member's remote name and its source (both empty when it has none).
func (a *NameAgreement) Add(name, source string) {
	switch {
	case a.n == 0:
		a.name, a.source = name, source
	case name != a.name || source != a.source:
		a.mixed = true
	}
	a.n++
}

// Set gives o the name every member had, if they all had the same.
func (a *NameAgreement) Set(o *flows.Record) {
	if !a.mixed && a.name != "" {
		o.RemoteName, o.RemoteNameSource = a.name, a.source
	}
}

// Records returns the window's records, largest first, keeping for each
// local workload, category, direction, hop and remote_reported its topK
// largest remotes and folding the rest into one record whose remote_ip is
// "other" (topK <= 0 keeps everything), with their remote_name where all
// agree. The bytes and packets of the result add up to what was added.
func (w *Window) Records(topK int) []flows.Record {
	all := make([]*flows.Record, 0, len(w.recs))
	for _, r := range w.recs {
		all = append(all, r)
	}
	var out []flows.Record
	for _, g := range Fold(len(all), topK, func(i int) FoldKey { return FoldKeyOf(all[i]) },
		func(a, b int) int { return byBytes(all[a], all[b]) }) {
		for _, i := range g.Keep {
			out = append(out, *all[i])
		}
		if len(g.Rest) == 0 {
			continue
		}
		o := Other(all[g.Rest[0]])
		var names NameAgreement
		for _, i := range g.Rest {
			AddToOther(&o, all[i].Bytes, all[i].Packets, all[i].Protocol)
			names.Add(all[i].RemoteName, all[i].RemoteNameSource)
		}
		names.Set(&o)
		out = append(out, o)
	}
	Sort(out)
	return out
}

// Sort orders a window's records largest first, deterministically.
func Sort(recs []flows.Record) {
	slices.SortFunc(recs, func(a, b flows.Record) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.LocalPod, b.LocalPod), cmp.Compare(a.RemoteIP, b.RemoteIP),
			cmp.Compare(a.Category, b.Category), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.RemotePort, b.RemotePort),
			cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.LocalIP, b.LocalIP),
			cmp.Compare(a.RemoteReportedRaw, b.RemoteReportedRaw))
	})
}

func byBytes(a, b *flows.Record) int {
	return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.RemoteIP, b.RemoteIP), cmp.Compare(a.RemotePort, b.RemotePort),
		cmp.Compare(a.LocalPod, b.LocalPod), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.LocalIP, b.LocalIP))
}
