package costmodel

import "github.com/netcost/netcost/internal/flows"

// rowKey identifies a row: a directed pair for the pair join (inter-AZ and
// intra-AZ bytes between two of the cluster's ends), else the local end,
// the remote end and the billed hop.
type rowKey struct {
	local, remote ident
	via           string
	cat           flows.Category
	pair          bool
}

// acc accumulates the reports of one row.
type acc struct {
	local, remote Endpoint
	viaAZID       string
	region        string
	tx, rx        uint64 // bytes local->remote and remote->local, as reported
	crossed       uint64 // pair join: bytes src->dst, each once (crossingBytes)
	records       int64
	use           Usage
	merged        [3]bool // pair rows: a report from this direction's agent is merged in
}

// Aggregator groups priced records into rows. It is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Aggregator struct {
	m     *Model
	group GroupBy
	rows  map[rowKey]*acc
	hops  map[string]*hop // the billed hops with hourly fees, by id
}

// NewAggregator returns an empty Aggregator grouping at level g.
func (m *Model) NewAggregator(g GroupBy) *Aggregator {
	return &Aggregator{m: m.fork(), group: g, rows: make(map[rowKey]*acc), hops: map[string]*hop{}}
}

// Add prices r and adds it to its row. The record's strings are copied
// only when they start a new row, so borrowed records are fine.
func (a *Aggregator) Add(r *flows.Record) error { return a.AddRecords(r, 1) }

// AddRecords is Add for n records with r's fields whose bytes sum to
// r.Bytes: one group of a server-side aggregation (Logs Insights).
func (a *Aggregator) AddRecords(r *flows.Record, n int64) error {
	if err := a.m.checkRegion(r); err != nil {
		return err
	}
	a.noteHop(r)
	if (r.Category == flows.InterAZ || r.Category == flows.IntraAZ) && r.RemoteInCluster() && r.Via == "" {
		a.joinPair(r, n)
		return nil
	}
	g := a.group
	local := identify(g, r.LocalNamespace, r.LocalPod, r.LocalWorkload, r.Node, r.LocalIP)
	remote := identify(g, r.RemoteNamespace, r.RemotePod, r.RemoteWorkload, r.RemoteNode, r.RemoteIP)
	k := rowKey{local: local, remote: remote, via: r.Via, cat: r.Category}
	le, re := endpointForGroup(g, LocalEndpoint(r)), endpointForGroup(g, RemoteEndpoint(r))
	ac := a.rows[k]
	if ac == nil {
		ac = &acc{region: clonestr(r.Region), viaAZID: clonestr(r.ViaAZID), local: clone(le), remote: clone(re)}
		k.local, k.remote, k.via = cloneIdent(k.local), cloneIdent(k.remote), clonestr(k.via)
		a.rows[k] = ac
	} else {
		ac.local.merge(&le)
		ac.remote.merge(&re)
		mergeField(&ac.viaAZID, r.ViaAZID)
	}
	// A reported remote's bytes in count in its own egress record: a
	// fold to "other" must not count them twice.
	if r.Direction == flows.Egress {
		ac.tx += r.Bytes
	} else {
		ac.rx += crossingBytes(r)
	}
	ac.records += n
	ac.use.add(a.m.usage(r))
	return nil
}

// Merge adds b's rows into a. b must not be used afterwards.
func (a *Aggregator) Merge(b *Aggregator) {
	mergeHops(a.hops, b.hops)
	for k, bv := range b.rows {
		av := a.rows[k]
		if av == nil {
			a.rows[k] = bv
			continue
		}
		av.local.merge(&bv.local)
		av.remote.merge(&bv.remote)
		av.tx += bv.tx
		av.rx += bv.rx
		av.crossed += bv.crossed
		av.records += bv.records
		av.use.add(bv.use)
	}
}
