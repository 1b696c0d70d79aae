package costmodel

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// Cost is what some bytes cost, by the line of the AWS bill they land on.
type Cost struct {
	InterAZ         float64 `json:"inter_az_usd,omitempty"`          // data transfer between AZs
	NATProcessing   float64 `json:"nat_processing_usd,omitempty"`    // NAT gateway data processed
	DataTransferOut float64 `json:"data_transfer_out_usd,omitempty"` // to the internet or another region
	Processing      float64 `json:"processing_usd,omitempty"`        // transit gateway data processed
}

// Total is the sum of the cost's lines.
func (c Cost) Total() float64 { return c.InterAZ + c.NATProcessing + c.DataTransferOut + c.Processing }

func (c *Cost) add(o Cost) {
	c.InterAZ += o.InterAZ
	c.NATProcessing += o.NATProcessing
	c.DataTransferOut += o.DataTransferOut
	c.Processing += o.Processing
}

func gb(bytes uint64) float64 { return float64(bytes) / GB }

// Model prices records with a price table.
type Model struct {
	table *Table
	last  *Prices // the region looked up last: records come in long runs of one region
}

// New returns a Model over t; nil means the embedded table.
func New(t *Table) *Model {
	if t == nil {
		t = DefaultTable()
	}
	return &Model{table: t}
}

// Table returns the model's price table.
func (m *Model) Table() *Table { return m.table }

func (m *Model) prices(region string) (*Prices, error) {
	if m.last != nil && m.last.Region == region {
		return m.last, nil
	}
	p, err := m.table.Lookup(region)
	if err != nil {
		return nil, err
	}
	m.last = p
	return p, nil
}

// Price returns what the record's bytes cost at its own side: the charges
// metered at the local network interface and at the hop named by via. An
// inter-AZ byte between two of the cluster's nodes is billed again at the
// other node; Aggregator accounts for that, Price does not.
func (m *Model) Price(r *flows.Record) (Cost, error) {
	p, err := m.prices(r.Region)
	if err != nil {
		return Cost{}, err
	}
	return p.price(r), nil
}

func (p *Prices) price(r *flows.Record) Cost {
	g := gb(r.Bytes)
	var c Cost
	if r.ViaNAT() {
		// Processed in both directions; plus the AZ crossing to a NAT in another AZ.
		c.NATProcessing = g * p.NATPerGB.USD
		if crossesAZ(r.LocalAZID, r.ViaAZID) {
			c.InterAZ = g * p.InterAZPerGB.USD
		}
		if r.Direction == flows.Egress {
			c.DataTransferOut = g * p.dataTransferOut(r)
		}
		return c
	}
	switch r.Category {
	case flows.InterAZ:
		c.InterAZ = g * p.InterAZPerGB.USD
	case flows.InterVPC:
		switch {
		case len(r.Via) > 4 && r.Via[:4] == "tgw-":
			if r.Direction == flows.Egress {
				c.Processing = g * p.TGWPerGB.USD
			}
		case r.RemoteAZID == "" || crossesAZ(r.LocalAZID, r.RemoteAZID):
			// Peering is free within one AZ ID; an unknown remote AZ is
			// priced as a crossing, the bill's upper bound.
			c.InterAZ = g * p.InterAZPerGB.USD
		}
	case flows.InterRegion:
		if r.Direction == flows.Egress {
			c.DataTransferOut = g * p.InterRegionPerGB.USD
		}
	case flows.Internet:
		if r.Direction == flows.Egress {
			c.DataTransferOut = g * p.InternetEgressPerGB.USD
		}
	}
	// INTRA_AZ, S3 and DynamoDB in the region (directly or through a gateway
	// endpoint) are free; UNCLASSIFIED is not priced: netcost does not guess.
	return c
}

// dataTransferOut is the per-GB charge for bytes a NAT gateway sends on:
// nothing to an AWS service in the region, inter-region rates to one in
// another region, internet egress to everything else.
func (p *Prices) dataTransferOut(r *flows.Record) float64 {
	switch {
	case r.Category == flows.AmazonS3 || r.Category == flows.AmazonDynamoDB:
		return 0
	case r.RemoteAWSService != "" && (r.RemoteRegion == "" || r.RemoteRegion == r.Region || r.RemoteRegion == "GLOBAL"):
		return 0
	case r.RemoteAWSService != "":
		return p.InterRegionPerGB.USD
	}
	return p.InternetEgressPerGB.USD
}

func crossesAZ(a, b string) bool { return a != "" && b != "" && a != b }

// GroupBy is the level at which Aggregator groups endpoints.
type GroupBy uint8

// Grouping levels. An endpoint without the level's name (a node, an
// external address) is kept at the finest level it has.
const (
	ByPod GroupBy = iota
	ByWorkload
	ByNamespace
)

// ParseGroupBy parses pod, workload or namespace.
func ParseGroupBy(s string) (GroupBy, error) {
	switch s {
	case "pod", "":
		return ByPod, nil
	case "workload":
		return ByWorkload, nil
	case "namespace":
		return ByNamespace, nil
	}
	return 0, fmt.Errorf("unknown grouping %q: want pod, workload or namespace", s)
}

func (g GroupBy) String() string {
	return [...]string{"pod", "workload", "namespace"}[g]
}

// Endpoint is one end of a row, with the record's endpoint fields.
// A field that differs between the records grouped into the row is "*".
type Endpoint struct {
	IP           string `json:"ip,omitempty"`
	Port         uint16 `json:"port,omitempty"`
	Pod          string `json:"pod,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	Workload     string `json:"workload,omitempty"`
	WorkloadKind string `json:"workload_kind,omitempty"`
	Service      string `json:"service,omitempty"`
	Node         string `json:"node,omitempty"`
	AZ           string `json:"az,omitempty"`
	AZID         string `json:"az_id,omitempty"`
	Subnet       string `json:"subnet,omitempty"`
	Name         string `json:"name,omitempty"`
	AWSService   string `json:"aws_service,omitempty"`
	Region       string `json:"region,omitempty"`
}

// Several marks an endpoint field whose grouped records disagree.
const Several = "*"

func mergeField(dst *string, v string) {
	switch {
	case v == "" || *dst == v || *dst == Several:
	case *dst == "":
		*dst = strings.Clone(v)
	default:
		*dst = Several
	}
}

func (e *Endpoint) merge(o *Endpoint) {
	mergeField(&e.IP, o.IP)
	if e.Port != o.Port && o.Port != 0 {
		if e.Port == 0 {
			e.Port = o.Port
		}
	}
	mergeField(&e.Pod, o.Pod)
	mergeField(&e.Namespace, o.Namespace)
	mergeField(&e.Workload, o.Workload)
	mergeField(&e.WorkloadKind, o.WorkloadKind)
	mergeField(&e.Service, o.Service)
	mergeField(&e.Node, o.Node)
	mergeField(&e.AZ, o.AZ)
	mergeField(&e.AZID, o.AZID)
	mergeField(&e.Subnet, o.Subnet)
	mergeField(&e.Name, o.Name)
	mergeField(&e.AWSService, o.AWSService)
	mergeField(&e.Region, o.Region)
}

// LocalEndpoint returns the record's local end.
func LocalEndpoint(r *flows.Record) Endpoint {
	return Endpoint{IP: r.LocalIP, Pod: r.LocalPod, Namespace: r.LocalNamespace, Workload: r.LocalWorkload,
		WorkloadKind: r.LocalWorkloadKind, Node: r.Node, AZ: r.LocalAZ, AZID: r.LocalAZID, Subnet: r.LocalSubnet}
}

// RemoteEndpoint returns the record's remote end.
func RemoteEndpoint(r *flows.Record) Endpoint {
	return Endpoint{IP: r.RemoteIP, Port: r.RemotePort, Pod: r.RemotePod, Namespace: r.RemoteNamespace,
		Workload: r.RemoteWorkload, Service: r.RemoteService, Node: r.RemoteNode, AZ: r.RemoteAZ, AZID: r.RemoteAZID,
		Name: r.RemoteName, AWSService: r.RemoteAWSService, Region: r.RemoteRegion}
}

// ident identifies an endpoint at a grouping level.
type ident struct {
	ns, name, ip string
	node         bool
}

func (id ident) less(o ident) bool {
	return cmp.Or(cmp.Compare(id.ns, o.ns), cmp.Compare(id.name, o.name), cmp.Compare(id.ip, o.ip)) < 0
}

func identify(g GroupBy, ns, pod, workload, node, ip string) ident {
	switch {
	case g == ByNamespace && ns != "":
		return ident{ns: ns}
	case g == ByWorkload && workload != "":
		return ident{ns: ns, name: workload}
	case pod != "":
		return ident{ns: ns, name: pod}
	case node != "":
		return ident{name: node, node: true}
	}
	return ident{ip: ip}
}

// rowKey identifies a row: a directed pair for the inter-AZ join, else the
// local end, the remote end and the billed hop.
type rowKey struct {
	local, remote ident
	via           string
	cat           flows.Category
	pair          bool
}

type acc struct {
	local, remote Endpoint
	viaAZID       string
	region        string
	tx, rx        uint64 // bytes local->remote and remote->local, as reported
	egressObs     uint64 // pair join: bytes src->dst seen by the sender...
	ingressObs    uint64 // ...and by the receiver
	records       int64
	cost          Cost
}

// Aggregator groups priced records into rows. It is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Aggregator struct {
	m     *Model
	group GroupBy
	rows  map[rowKey]*acc
}

// NewAggregator returns an empty Aggregator grouping at level g.
func (m *Model) NewAggregator(g GroupBy) *Aggregator {
	return &Aggregator{m: &Model{table: m.table}, group: g, rows: make(map[rowKey]*acc)}
}

func endpointForGroup(g GroupBy, e Endpoint) Endpoint {
	switch g {
	case ByWorkload:
		if e.Workload != "" {
			e.Pod, e.IP, e.Node, e.Port = "", "", "", 0
		}
	case ByNamespace:
		if e.Namespace != "" {
			e.Pod, e.IP, e.Node, e.Port, e.Workload, e.WorkloadKind, e.Service = "", "", "", 0, "", "", ""
		}
	}
	return e
}

// Add prices r and adds it to its row. The record's strings are copied
// only when they start a new row, so borrowed records are fine.
func (a *Aggregator) Add(r *flows.Record) error {
	p, err := a.m.prices(r.Region)
	if err != nil {
		return err
	}
	g := a.group
	local := identify(g, r.LocalNamespace, r.LocalPod, r.LocalWorkload, r.Node, r.LocalIP)
	remote := identify(g, r.RemoteNamespace, r.RemotePod, r.RemoteWorkload, r.RemoteNode, r.RemoteIP)
	if r.Category == flows.InterAZ && r.RemoteInCluster() && r.Via == "" {
		// Both agents see these bytes: key them by sender and receiver.
		k := rowKey{local: local, remote: remote, cat: flows.InterAZ, pair: true}
		if r.Direction == flows.Ingress {
			k.local, k.remote = remote, local
		}
		ac := a.rows[k]
		if ac == nil {
			ac = &acc{region: clonestr(r.Region)}
			if r.Direction == flows.Egress {
				ac.local, ac.remote = endpointForGroup(g, LocalEndpoint(r)), endpointForGroup(g, RemoteEndpoint(r))
			} else {
				ac.local, ac.remote = endpointForGroup(g, RemoteEndpoint(r)), endpointForGroup(g, LocalEndpoint(r))
			}
			ac.local, ac.remote = clone(ac.local), clone(ac.remote)
			k.local, k.remote = cloneIdent(k.local), cloneIdent(k.remote)
			a.rows[k] = ac
		} else if g != ByPod {
			if r.Direction == flows.Egress {
				mergeRecord(g, &ac.local, &ac.remote, r)
			} else {
				mergeRecord(g, &ac.remote, &ac.local, r)
			}
		}
		if r.Direction == flows.Egress {
			ac.egressObs += r.Bytes
		} else {
			ac.ingressObs += r.Bytes
		}
		ac.records++
		if r.RemoteService != "" && ac.remote.Service == "" && r.Direction == flows.Egress {
			ac.remote.Service = clonestr(r.RemoteService)
		}
		return nil
	}
	k := rowKey{local: local, remote: remote, via: r.Via, cat: r.Category}
	ac := a.rows[k]
	if ac == nil {
		ac = &acc{region: clonestr(r.Region), viaAZID: clonestr(r.ViaAZID),
			local: clone(endpointForGroup(g, LocalEndpoint(r))), remote: clone(endpointForGroup(g, RemoteEndpoint(r)))}
		k.local, k.remote, k.via = cloneIdent(k.local), cloneIdent(k.remote), clonestr(k.via)
		a.rows[k] = ac
	} else if g != ByPod {
		mergeRecord(g, &ac.local, &ac.remote, r)
	}
	if r.Direction == flows.Egress {
		ac.tx += r.Bytes
	} else {
		ac.rx += r.Bytes
	}
	ac.records++
	ac.cost.add(p.price(r))
	return nil
}

// Merge adds b's rows into a. b must not be used afterwards.
func (a *Aggregator) Merge(b *Aggregator) {
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
		av.egressObs += bv.egressObs
		av.ingressObs += bv.ingressObs
		av.records += bv.records
		av.cost.add(bv.cost)
	}
}

// Row is one line of a top-contributors table.
type Row struct {
	Local    Endpoint       `json:"local"`
	Remote   Endpoint       `json:"remote"`
	Category flows.Category `json:"category"`
	Region   string         `json:"region"`
	Via      string         `json:"via,omitempty"`
	ViaAZID  string         `json:"via_az_id,omitempty"`
	// Bytes is what crossed, each byte once: for a pod pair seen by both
	// agents, the sender's and the receiver's reports of one byte count once.
	Bytes   uint64  `json:"bytes"`
	TxBytes uint64  `json:"tx_bytes"` // local -> remote
	RxBytes uint64  `json:"rx_bytes"` // remote -> local
	Cost    Cost    `json:"cost"`
	CostUSD float64 `json:"cost_usd"`
	// Pair is set when the row joins both sides' reports of inter-AZ bytes
	// between two of the cluster's own endpoints, priced out + in.
	Pair    bool  `json:"pair,omitempty"`
	Records int64 `json:"records"`
}

type pairKey struct{ a, b ident }

// Rows returns the rows, largest cost first (then bytes, then names).
// Directed inter-AZ pairs are folded into one row per pair of endpoints,
// with the larger sender as Local.
func (a *Aggregator) Rows() ([]Row, error) {
	var rows []Row
	pairs := make(map[pairKey]int)
	for k, ac := range a.rows {
		if !k.pair {
			rows = append(rows, Row{Local: ac.local, Remote: ac.remote, Category: k.cat, Region: ac.region, Via: k.via, ViaAZID: ac.viaAZID,
				Bytes: ac.tx + ac.rx, TxBytes: ac.tx, RxBytes: ac.rx, Cost: ac.cost, CostUSD: ac.cost.Total(), Records: ac.records})
			continue
		}
		p, err := a.m.prices(ac.region)
		if err != nil {
			return nil, err
		}
		crossed := max(ac.egressObs, ac.ingressObs)
		cost := Cost{InterAZ: gb(crossed) * 2 * p.InterAZPerGB.USD}
		pk, forward := pairKey{k.local, k.remote}, true
		if k.remote.less(k.local) {
			pk, forward = pairKey{k.remote, k.local}, false
		}
		i, ok := pairs[pk]
		if !ok {
			i = len(rows)
			pairs[pk] = i
			rows = append(rows, Row{Category: flows.InterAZ, Region: ac.region, Pair: true})
			if forward {
				rows[i].Local, rows[i].Remote = ac.local, ac.remote
			} else {
				rows[i].Local, rows[i].Remote = ac.remote, ac.local
			}
		} else if forward {
			rows[i].Local.merge(&ac.local)
			rows[i].Remote.merge(&ac.remote)
		} else {
			rows[i].Local.merge(&ac.remote)
			rows[i].Remote.merge(&ac.local)
		}
		r := &rows[i]
		if forward {
			r.TxBytes += crossed
		} else {
			r.RxBytes += crossed
		}
		r.Bytes += crossed
		r.Cost.add(cost)
		r.CostUSD = r.Cost.Total()
		r.Records += ac.records
	}
	for i := range rows {
		if r := &rows[i]; r.Pair && r.RxBytes > r.TxBytes {
			r.Local, r.Remote, r.TxBytes, r.RxBytes = r.Remote, r.Local, r.RxBytes, r.TxBytes
		}
	}
	SortRows(rows)
	return rows, nil
}

// SortRows orders rows by cost, then bytes, then endpoint names, descending
// in cost and bytes, so that output is stable.
func SortRows(rows []Row) {
	slices.SortFunc(rows, func(x, y Row) int {
		return cmp.Or(
			cmp.Compare(y.CostUSD, x.CostUSD),
			cmp.Compare(y.Bytes, x.Bytes),
			cmp.Compare(x.Local.Namespace+"/"+x.Local.Pod+x.Local.Workload+x.Local.IP, y.Local.Namespace+"/"+y.Local.Pod+y.Local.Workload+y.Local.IP),
			cmp.Compare(x.Remote.Namespace+"/"+x.Remote.Pod+x.Remote.Workload+x.Remote.IP, y.Remote.Namespace+"/"+y.Remote.Pod+y.Remote.Workload+y.Remote.IP),
			cmp.Compare(x.Via, y.Via),
		)
	})
}

// mergeRecord merges r's ends into a row grouped above the pod, marking
// fields such as the AZ that differ between the row's pods.
func mergeRecord(g GroupBy, local, remote *Endpoint, r *flows.Record) {
	l, rm := endpointForGroup(g, LocalEndpoint(r)), endpointForGroup(g, RemoteEndpoint(r))
	local.merge(&l)
	remote.merge(&rm)
}

func clonestr(s string) string { return strings.Clone(s) }

func clone(e Endpoint) Endpoint {
	for _, p := range []*string{&e.IP, &e.Pod, &e.Namespace, &e.Workload, &e.WorkloadKind, &e.Service, &e.Node,
		&e.AZ, &e.AZID, &e.Subnet, &e.Name, &e.AWSService, &e.Region} {
		*p = clonestr(*p)
	}
	return e
}

func cloneIdent(id ident) ident {
	return ident{ns: clonestr(id.ns), name: clonestr(id.name), ip: clonestr(id.ip), node: id.node}
}
