package costmodel

import "github.com/netcost/netcost/internal/flows"

// Metered is a record's usage by the resource the bill meters it on: the
// node's own network interface, the remote's interface (an unreported
// remote's, which Usage prices too), and the hop the bytes pass (a NAT
// gateway, an interface endpoint, a transit gateway). Reconciling with a
// bill by resource needs it; the three sum to the record's usage.
type Metered struct {
	Node, Remote, Hop Usage
}

// Metered returns what r puts on the bill and where; an error for a record
// of a region without prices.
func (m *Model) Metered(r *flows.Record) (Metered, error) {
	if err := m.checkRegion(r); err != nil {
		return Metered{}, err
	}
	all := m.usage(r)
	own := all
	if !r.RemoteReported() {
		// The same record with a remote that reports its own side: what
		// is left is the remote interface's.
		c := *r
		c.RemoteReportedRaw = flows.BoolTrue
		own = m.usage(&c)
	}
	me := Metered{Node: own, Remote: Usage{InterAZ: all.InterAZ - own.InterAZ}}
	me.Hop = Usage{NAT: own.NAT, Endpoint: own.Endpoint, TGW: own.TGW}
	me.Node.NAT, me.Node.Endpoint, me.Node.TGW = 0, 0, 0
	if r.ViaNAT() {
		// Bytes that leave AWS through a NAT gateway are the gateway's
		// data transfer on the bill, not the instance's.
		me.Hop.InternetOut, me.Hop.InterRegionOut, me.Hop.interRegion = own.InternetOut, own.InterRegionOut, own.interRegion
		me.Node.InternetOut, me.Node.InterRegionOut, me.Node.interRegion = 0, 0, weighted{}
	}
	return me, nil
}

// Add adds o to u.
func (u *Usage) Add(o Usage) { u.add(o) }

// LineCost is bytes on one line of the bill and what they cost.
type LineCost struct {
	Bytes uint64
	USD   float64
}

// BillLines is usage priced line by line as a Cost and Usage Report
// splits it, where Cost joins lines: internet and inter-region data
// transfer out, endpoint and transit gateway processing.
type BillLines struct {
	// Regional is the regional data transfer: bytes across AZs and to or
	// from public IPv4 addresses in the region, at each interface.
	Regional    LineCost
	NAT         LineCost
	InternetOut LineCost
	InterRegion LineCost
	Endpoint    LineCost
	TGW         LineCost
}

// BillLines prices u in region line by line, at the model's egress tier.
func (m *Model) BillLines(region string, u Usage) (BillLines, error) {
	p, err := m.prices(region)
	if err != nil {
		return BillLines{}, err
	}
	c := p.costOf(u)
	return BillLines{
		Regional:    LineCost{u.InterAZ + u.Regional, c.InterAZ + c.Regional},
		NAT:         LineCost{u.NAT, c.NATProcessing},
		InternetOut: LineCost{u.InternetOut, gb(u.InternetOut) * p.InternetEgressPerGB.USD},
		InterRegion: LineCost{u.InterRegionOut, u.interRegion.usd()},
		Endpoint:    LineCost{u.Endpoint, gb(u.Endpoint) * p.EndpointPerGB.USD},
		TGW:         LineCost{u.TGW, gb(u.TGW) * p.TGWPerGB.USD},
	}, nil
}

// HopRegion returns the region of a hop that Fees names.
func (a *Aggregator) HopRegion(id string) string {
	if h := a.hops[id]; h != nil {
		return h.region
	}
	return ""
}
