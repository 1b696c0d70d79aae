package costmodel

import "github.com/netcost/netcost/internal/flows"

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
