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
	Processing      float64 `json:"processing_usd,omitempty"`        // interface endpoint or transit gateway data processed
}

// Total is the sum of the cost's lines.
func (c Cost) Total() float64 { return c.InterAZ + c.NATProcessing + c.DataTransferOut + c.Processing }

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

// checkRegion fails for a record whose region has no prices, unless the
// record is UNCLASSIFIED: those bytes are shown, never priced, and an agent
// that started without instance metadata writes region "unknown" on them.
// One such node must not stop the cluster's report.
func (m *Model) checkRegion(r *flows.Record) error {
	if _, err := m.prices(r.Region); err != nil && r.Category != flows.Unclassified {
		return err
	}
	return nil
}

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

// Usage is bytes by the line of the bill that prices them. Sums of usage
// are exact and do not depend on the order of records; dollars are worked
// out once, at the end.
type Usage struct {
	InterAZ        uint64 // bytes crossing AZs, once per metered interface
	NAT            uint64 // bytes a NAT gateway processes
	InternetOut    uint64 // bytes out to the internet
	InterRegionOut uint64 // bytes out to another region
	Endpoint       uint64 // bytes an interface endpoint processes
	TGW            uint64 // bytes a transit gateway processes
}

func (u *Usage) add(o Usage) {
	u.InterAZ += o.InterAZ
	u.NAT += o.NAT
	u.InternetOut += o.InternetOut
	u.InterRegionOut += o.InterRegionOut
	u.Endpoint += o.Endpoint
	u.TGW += o.TGW
}

// costOf prices usage.
func (p *Prices) costOf(u Usage) Cost {
	return Cost{
		InterAZ:         gb(u.InterAZ) * p.InterAZPerGB.USD,
		NATProcessing:   gb(u.NAT) * p.NATPerGB.USD,
		DataTransferOut: gb(u.InternetOut)*p.InternetEgressPerGB.USD + gb(u.InterRegionOut)*p.InterRegionPerGB.USD,
		Processing:      gb(u.Endpoint)*p.EndpointPerGB.USD + gb(u.TGW)*p.TGWPerGB.USD,
	}
}

func (p *Prices) price(r *flows.Record) Cost { return p.costOf(usage(r)) }

// usage sorts a record's bytes onto the lines of the bill, at its own side.
func usage(r *flows.Record) Usage {
	n := r.Bytes
	var u Usage
	out := r.Direction == flows.Egress
	if r.ViaNAT() {
		// Processed in both directions; plus the AZ crossing to a NAT in another AZ.
		u.NAT = n
		if crossesAZ(r.LocalAZID, r.ViaAZID) {
			u.InterAZ = n
		}
		if out {
			// Nothing more to an AWS service in the region; the inter-region
			// rate to one elsewhere; internet egress to everything else.
			switch {
			case r.Category == flows.AmazonS3 || r.Category == flows.AmazonDynamoDB:
			case r.RemoteAWSService != "" && (r.RemoteRegion == "" || r.RemoteRegion == r.Region || r.RemoteRegion == "GLOBAL"):
			case r.RemoteAWSService != "":
				u.InterRegionOut = n
			default:
				u.InternetOut = n
			}
		}
		return u
	}
	if r.ViaEndpoint() && r.Category != flows.AmazonS3 && r.Category != flows.AmazonDynamoDB {
		// An interface endpoint processes bytes both ways; gateway
		// endpoints (S3, DynamoDB) are free.
		u.Endpoint = n
	}
	switch r.Category {
	case flows.InterAZ:
		u.InterAZ = n
	case flows.InterVPC:
		switch {
		case len(r.Via) > 4 && r.Via[:4] == "tgw-":
			if out {
				u.TGW = n
			}
		case r.RemoteAZID == "" || crossesAZ(r.LocalAZID, r.RemoteAZID):
			// Peering is free within one AZ ID; an unknown remote AZ is
			// priced as a crossing, the bill's upper bound.
			u.InterAZ = n
		}
	case flows.InterRegion:
		if out {
			u.InterRegionOut = n
		}
	case flows.Internet:
		if out {
			u.InternetOut = n
		}
	}
	// INTRA_AZ, S3 and DynamoDB in the region (directly or through a gateway
	// endpoint) are free; UNCLASSIFIED is not priced: netcost does not guess.
	return u
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
	if o.Port != 0 && (e.Port == 0 || o.Port < e.Port) {
		e.Port = o.Port // the lowest: a server port, whatever the order of records
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
	use           Usage
	merged        [3]bool // pair rows: a report from this direction's agent is merged in
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
func (a *Aggregator) Add(r *flows.Record) error { return a.AddRecords(r, 1) }

// AddRecords is Add for n records with r's fields whose bytes sum to
// r.Bytes: one group of a server-side aggregation (Logs Insights).
func (a *Aggregator) AddRecords(r *flows.Record, n int64) error {
	if err := a.m.checkRegion(r); err != nil {
		return err
	}
	if (r.Category == flows.InterAZ || r.Category == flows.IntraAZ) && r.RemoteInCluster() && r.Via == "" {
		// Both agents see these bytes: join their reports by the two
		// addresses, which both agents agree on even when one of them
		// could not name a pod, keyed by sender and receiver; Rows groups
		// the joined pairs.
		k := rowKey{local: ident{ip: r.LocalIP}, remote: ident{ip: r.RemoteIP}, cat: r.Category, pair: true}
		if r.Direction == flows.Ingress {
			k.local, k.remote = k.remote, k.local
		}
		ac := a.rows[k]
		if ac == nil || !ac.merged[r.Direction] || !samePods(ac, r) {
			le, re := LocalEndpoint(r), RemoteEndpoint(r)
			le.Port, re.Port = 0, 0 // a pair row is two pods, not two sockets
			send, recv := &le, &re
			if r.Direction == flows.Ingress {
				send, recv = recv, send
			}
			if ac == nil {
				ac = &acc{region: clonestr(r.Region), local: clone(*send), remote: clone(*recv)}
				k.local, k.remote = cloneIdent(k.local), cloneIdent(k.remote)
				a.rows[k] = ac
			} else {
				ac.local.merge(send)
				ac.remote.merge(recv)
			}
			ac.merged[r.Direction] = true
		} else if r.RemoteService != "" {
			// The same two pods: only the Service, which the client's
			// records name and the server's do not, can add anything.
			svc := &ac.remote.Service
			if r.Direction == flows.Ingress {
				svc = &ac.local.Service
			}
			mergeField(svc, r.RemoteService)
		}
		if r.Direction == flows.Egress {
			ac.egressObs += r.Bytes
		} else {
			ac.ingressObs += r.Bytes
		}
		ac.records += n
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
	if r.Direction == flows.Egress {
		ac.tx += r.Bytes
	} else {
		ac.rx += r.Bytes
	}
	ac.records += n
	ac.use.add(usage(r))
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
		av.use.add(bv.use)
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

type pairKey struct {
	a, b ident
	cat  flows.Category
}

// Rows returns the rows, largest cost first (then bytes, then names).
// Inter-AZ and intra-AZ reports between two of the cluster's ends are
// joined per pod pair (each byte counted
// once: the larger of the sender's and the receiver's report, so that a
// node without an agent still counts) and then folded into one row per
// pair of endpoints at the grouping level, with the larger sender as Local.
// Where both ends fold into one group (two pods of one namespace, grouped
// by namespace), a pod pair's bytes are sent or received as its pod row
// shows them: the pod pair's larger sender's bytes are sent.
func (a *Aggregator) Rows() ([]Row, error) {
	var rows []Row
	var uses []Usage // beside rows: what each row's dollars are worked out from
	pairs := make(map[pairKey]int)
	var pods map[pairKey]*[2]uint64 // bytes a->b and b->a per pod pair, for pairs within one group
	for k, ac := range a.rows {
		if !k.pair {
			rows = append(rows, Row{Local: ac.local, Remote: ac.remote, Category: k.cat, Region: ac.region, Via: k.via, ViaAZID: ac.viaAZID,
				Bytes: ac.tx + ac.rx, TxBytes: ac.tx, RxBytes: ac.rx, Records: ac.records})
			uses = append(uses, ac.use)
			continue
		}
		crossed := max(ac.egressObs, ac.ingressObs)
		send, recv := endpointForGroup(a.group, ac.local), endpointForGroup(a.group, ac.remote)
		gs, gr := identifyEndpoint(a.group, &send), identifyEndpoint(a.group, &recv)
		pk, forward := pairKey{gs, gr, k.cat}, true
		switch {
		case gr.less(gs):
			pk, forward = pairKey{gr, gs, k.cat}, false
		case gs == gr && a.group != ByPod:
			// Both ends in one group: the group cannot say which end
			// sent, the pod pair can.
			if pods == nil {
				pods = a.podPairs()
			}
			forward = sendsMore(pods, &ac.local, &ac.remote, k.cat)
		}
		i, ok := pairs[pk]
		if !ok {
			i = len(rows)
			pairs[pk] = i
			rows = append(rows, Row{Category: k.cat, Region: ac.region, Pair: true})
			uses = append(uses, Usage{})
		}
		r := &rows[i]
		if forward {
			r.Local.merge(&send)
			r.Remote.merge(&recv)
			r.TxBytes += crossed
		} else {
			r.Local.merge(&recv)
			r.Remote.merge(&send)
			r.RxBytes += crossed
		}
		r.Bytes += crossed
		if k.cat == flows.InterAZ {
			uses[i].InterAZ += 2 * crossed // metered at both ends
		}
		r.Records += ac.records
	}
	for i := range rows {
		r := &rows[i]
		p, err := a.m.prices(r.Region)
		if err != nil && uses[i] != (Usage{}) {
			return nil, err
		}
		if err == nil {
			r.Cost = p.costOf(uses[i])
		}
		r.CostUSD = r.Cost.Total()
		if r.Pair && (r.RxBytes > r.TxBytes || r.RxBytes == r.TxBytes && identifyEndpoint(a.group, &r.Remote).less(identifyEndpoint(a.group, &r.Local))) {
			r.Local, r.Remote, r.TxBytes, r.RxBytes = r.Remote, r.Local, r.RxBytes, r.TxBytes
		}
	}
	SortRows(rows)
	return rows, nil
}

// podPairs returns the joined bytes of each pod pair, each way: the bytes
// of the pod rows Rows returns when grouping by pod.
func (a *Aggregator) podPairs() map[pairKey]*[2]uint64 {
	pods := make(map[pairKey]*[2]uint64)
	for k, ac := range a.rows {
		if !k.pair {
			continue
		}
		s, r := identifyEndpoint(ByPod, &ac.local), identifyEndpoint(ByPod, &ac.remote)
		pk, way := pairKey{s, r, k.cat}, 0
		if r.less(s) {
			pk, way = pairKey{r, s, k.cat}, 1
		}
		f := pods[pk]
		if f == nil {
			f = new([2]uint64)
			pods[pk] = f
		}
		f[way] += max(ac.egressObs, ac.ingressObs)
	}
	return pods
}

// sendsMore reports whether the pod that sent a pair row's bytes (send)
// is the Local end of its pod row: the larger sender of the pod pair, or,
// when both sent as much, the one that sorts first, as Rows orients pod rows.
func sendsMore(pods map[pairKey]*[2]uint64, send, recv *Endpoint, cat flows.Category) bool {
	s, r := identifyEndpoint(ByPod, send), identifyEndpoint(ByPod, recv)
	if r.less(s) {
		f := pods[pairKey{r, s, cat}]
		return f[1] > f[0] // a tie: r sorts first
	}
	f := pods[pairKey{s, r, cat}]
	return f[0] >= f[1]
}

// samePods reports whether r names the same two pods as the pair row ac.
// One agent reports the same fields for the same two pods every time (a
// pod's workload, node and AZ do not change), so once a report from its
// direction is merged, only the Service can add anything.
func samePods(ac *acc, r *flows.Record) bool {
	send, recv := &ac.local, &ac.remote
	if r.Direction == flows.Ingress {
		send, recv = recv, send
	}
	// Names an agent learns late (a workload, the remote's AZ) are compared
	// too, so that a record that has them is merged.
	return r.LocalPod != "" && r.RemotePod != "" && send.Pod == r.LocalPod && recv.Pod == r.RemotePod &&
		send.Namespace == r.LocalNamespace && recv.Namespace == r.RemoteNamespace &&
		send.Workload == r.LocalWorkload && recv.Workload == r.RemoteWorkload && recv.AZID == r.RemoteAZID
}

// identifyEndpoint is identify for an endpoint whose reports were merged.
func identifyEndpoint(g GroupBy, e *Endpoint) ident {
	return identify(g, e.Namespace, e.Pod, e.Workload, e.Node, e.IP)
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
			cmp.Compare(x.Category, y.Category),
			cmp.Compare(x.Region, y.Region),
		)
	})
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
