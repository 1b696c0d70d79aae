package costmodel

import "github.com/netcost/netcost/internal/flows"

// Cost is what some bytes cost, by the line of the AWS bill they land on.
type Cost struct {
	InterAZ         float64 `json:"inter_az_usd,omitempty"`          // data transfer between AZs
	Regional        float64 `json:"regional_usd,omitempty"`          // to or from public IPv4 addresses in the region
	NATProcessing   float64 `json:"nat_processing_usd,omitempty"`    // NAT gateway data processed
	DataTransferOut float64 `json:"data_transfer_out_usd,omitempty"` // to the internet or another region
	Processing      float64 `json:"processing_usd,omitempty"`        // interface endpoint or transit gateway processing
}

// Total is the sum of the cost's lines.
func (c Cost) Total() float64 {
	return c.InterAZ + c.Regional + c.NATProcessing + c.DataTransferOut + c.Processing
}

// Add adds o's lines to c's.
func (c *Cost) Add(o Cost) {
	c.InterAZ += o.InterAZ
	c.Regional += o.Regional
	c.NATProcessing += o.NATProcessing
	c.DataTransferOut += o.DataTransferOut
	c.Processing += o.Processing
}

// Options are what the price table cannot know about the account.
type Options struct {
	// InternetEgressTBMonth is the account's internet egress in a month, in
	// TB of 2^40 bytes: internet bytes are priced at the tier that volume
	// reaches, the price of one more GB. Zero prices them at the first tier.
	InternetEgressTBMonth float64
	// TGWPeerExternal says that the other VPCs' transit gateway attachments
	// belong to someone else: only the bytes this side sends are processed
	// on this bill. By default both attachments are the account's, and a
	// transit gateway processes the bytes of both directions.
	TGWPeerExternal bool
}

// Model prices records with a price table.
type Model struct {
	table *Table
	opt   Options
	last  *Prices // the region looked up last, as priced under opt: records come in long runs of one region
}

// New returns a Model over t; nil means the embedded table.
func New(t *Table) *Model { return NewWithOptions(t, Options{}) }

// NewWithOptions returns a Model over t (nil: the embedded table) that
// prices as opt says.
func NewWithOptions(t *Table, opt Options) *Model {
	if t == nil {
		t = DefaultTable()
	}
	return &Model{table: t, opt: opt}
}

// fork returns a Model with m's table and options and a cache of its own,
// for an Aggregator or an Advisor.
func (m *Model) fork() *Model { return &Model{table: m.table, opt: m.opt} }

// Table returns the model's price table.
func (m *Model) Table() *Table { return m.table }

// Options returns the options the model prices with.
func (m *Model) Options() Options { return m.opt }

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
	// The model's copy prices internet bytes at the account's tier.
	c := *p
	c.InternetEgressPerGB = p.InternetEgress(m.opt.InternetEgressTBMonth)
	m.last = &c
	return m.last, nil
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
	return p.costOf(m.usage(r)), nil
}

// Usage is bytes by the line of the bill that prices them. Sums of usage
// are exact and do not depend on the order of records; dollars are worked
// out once, at the end.
type Usage struct {
	InterAZ        uint64   // bytes crossing AZs, once per metered interface
	Regional       uint64   // bytes to or from public IPv4 addresses in the region, once per direction
	NAT            uint64   // bytes a NAT gateway processes
	InternetOut    uint64   // bytes out to the internet
	InterRegionOut uint64   // bytes out to another region...
	interRegion    weighted // ...priced at the rate of each (source, destination) pair
	Endpoint       uint64   // bytes an interface endpoint processes
	TGW            uint64   // bytes a transit gateway processes
	// AssumedCrossing is the part of InterAZ priced as crossing AZs because
	// a record did not say an AZ: a NAT gateway's or a peered remote's.
	AssumedCrossing uint64
}

func (u *Usage) add(o Usage) {
	u.InterAZ += o.InterAZ
	u.Regional += o.Regional
	u.NAT += o.NAT
	u.InternetOut += o.InternetOut
	u.InterRegionOut += o.InterRegionOut
	u.interRegion.add(o.interRegion)
	u.Endpoint += o.Endpoint
	u.TGW += o.TGW
	u.AssumedCrossing += o.AssumedCrossing
}

// costOf prices usage.
func (p *Prices) costOf(u Usage) Cost {
	return Cost{
		InterAZ:         gb(u.InterAZ) * p.InterAZPerGB.USD,
		Regional:        gb(u.Regional) * p.InterAZPerGB.USD,
		NATProcessing:   gb(u.NAT) * p.NATPerGB.USD,
		DataTransferOut: gb(u.InternetOut)*p.InternetEgressPerGB.USD + u.interRegion.usd(),
		Processing:      gb(u.Endpoint)*p.EndpointPerGB.USD + gb(u.TGW)*p.TGWPerGB.USD,
	}
}

// usage sorts a record's bytes onto the lines of the bill, at its own side.
// Everything through a NAT gateway follows the NAT's rule; otherwise the
// rule of the record's category applies, plus what an endpoint on the path
// processes. A record of a region without prices has none: checkRegion
// refuses it where that matters.
func (m *Model) usage(r *flows.Record) Usage {
	p, err := m.prices(r.Region)
	if err != nil {
		return Usage{}
	}
	if r.ViaNAT() {
		return natUsage(p, r)
	}
	u := endpointUsage(r)
	switch r.Category {
	case flows.InterAZ:
		u.add(interAZUsage(r))
	case flows.InterVPC:
		u.add(interVPCUsage(r, m.opt))
	case flows.InterRegion:
		u.add(interRegionUsage(p, r))
	case flows.Internet:
		u.add(internetUsage(p, r))
	}
	// INTRA_AZ, S3 and DynamoDB in the region (directly or through a gateway
	// endpoint) are free; UNCLASSIFIED is not priced: netcost does not guess.
	return u
}
