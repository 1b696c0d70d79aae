package costmodel

import (
	"cmp"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

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
	// Pair is set when the row joins both sides' reports of inter-AZ or
	// intra-AZ bytes between two of the cluster's own endpoints; inter-AZ
	// bytes are priced out + in.
	Pair    bool  `json:"pair,omitempty"`
	Records int64 `json:"records"`
}

// Rows returns the rows, largest cost first (then bytes, then names).
// Inter-AZ and intra-AZ reports between two of the cluster's ends are
// joined per pod pair (each byte counted once: the larger of the sender's
// and the receiver's report, so that a node without an agent still counts)
// and then folded into one row per pair of endpoints at the grouping
// level, with the larger sender as Local.
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
			rows = append(rows, Row{Local: ac.local, Remote: ac.remote, Category: k.cat, Region: ac.region, Via: k.via,
				ViaAZID: ac.viaAZID, Bytes: ac.tx + ac.rx, TxBytes: ac.tx, RxBytes: ac.rx, Records: ac.records})
			uses = append(uses, ac.use)
			continue
		}
		crossed := ac.crossed
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
		uses[i].add(ac.use)
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
		if r.Pair && (r.RxBytes > r.TxBytes ||
			r.RxBytes == r.TxBytes && identifyEndpoint(a.group, &r.Remote).less(identifyEndpoint(a.group, &r.Local))) {
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
			cmp.Compare(sortName(&x.Local), sortName(&y.Local)),
			cmp.Compare(sortName(&x.Remote), sortName(&y.Remote)),
			cmp.Compare(x.Via, y.Via),
			cmp.Compare(x.Category, y.Category),
			cmp.Compare(x.Region, y.Region),
		)
	})
}

// sortName is the name SortRows orders endpoints by.
func sortName(e *Endpoint) string { return e.Namespace + "/" + e.Pod + e.Workload + e.IP }
