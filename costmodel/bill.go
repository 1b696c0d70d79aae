package costmodel

import "github.com/netcost/netcost/internal/flows"

// Cost is what some bytes cost, by the line of the AWS bill they land on.
type Cost struct {
	InterAZ         float64 `json:"inter_az_usd,omitempty"`          // data transfer between AZs
	NATProcessing   float64 `json:"nat_processing_usd,omitempty"`    // NAT gateway data processed
	DataTransferOut float64 `json:"data_transfer_out_usd,omitempty"` // to the internet or another region
	Processing      float64 `json:"processing_usd,omitempty"`        // interface endpoint or transit gateway processing
}

// Total is the sum of the cost's lines.
func (c Cost) Total() float64 { return c.InterAZ + c.NATProcessing + c.DataTransferOut + c.Processing }

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

// prices looks up a region's prices, remembering the last one.
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
// Everything through a NAT gateway follows the NAT's rule; otherwise the
// rule of the record's category applies, plus what an endpoint on the path
// processes.
func usage(r *flows.Record) Usage {
	if r.ViaNAT() {
		return natUsage(r)
	}
	u := endpointUsage(r)
	switch r.Category {
	case flows.InterAZ:
		u.add(interAZUsage(r))
	case flows.InterVPC:
		u.add(interVPCUsage(r))
	case flows.InterRegion:
		u.add(interRegionUsage(r))
	case flows.Internet:
		u.add(internetUsage(r))
	}
	// INTRA_AZ, S3 and DynamoDB in the region (directly or through a gateway
	// endpoint) are free; UNCLASSIFIED is not priced: netcost does not guess.
	return u
}
