package costmodel

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

//go:embed prices.json
var embeddedPrices []byte

// Price is one figure of a price table with where it came from.
type Price struct {
	USD      float64 `json:"usd"`
	Source   string  `json:"source"`             // a key of Table.Sources
	Verified *bool   `json:"verified,omitempty"` // nil means verified from Source
}

// IsVerified reports whether the figure was read from its source rather than derived or recalled.
func (p Price) IsVerified() bool { return p.Verified == nil || *p.Verified }

// Prices are one region's network prices in USD.
type Prices struct {
	Region               string `json:"-"`
	Name                 string `json:"name"`
	InterAZPerGB         Price  `json:"inter_az_per_gb"`          // each direction
	NATPerGB             Price  `json:"nat_per_gb"`               // processed, both directions
	NATPerHour           Price  `json:"nat_per_hour"`             // per NAT gateway
	RegionalNATPerAZHour Price  `json:"regional_nat_per_az_hour"` // per AZ a regional NAT gateway is active in
	PublicIPv4PerHour    Price  `json:"public_ipv4_per_hour"`     // per public IPv4 address, as every NAT gateway's
	InternetEgressPerGB  Price  `json:"internet_egress_per_gb"`   // first tier (after the free 100 GB)
	// InternetEgressTiers are the tiers past the first, by the monthly
	// volume (TB of 2^40 bytes, the account's, all services) where each starts.
	InternetEgressTiers []Tier `json:"internet_egress_tiers,omitempty"`
	InterRegionPerGB    Price  `json:"inter_region_per_gb"` // out to another region
	// InterRegionPairs are the destinations whose rate differs from
	// InterRegionPerGB, such as us-east-1 to us-east-2.
	InterRegionPairs     map[string]Price `json:"inter_region_pairs,omitempty"`
	EndpointPerGB        Price            `json:"endpoint_per_gb"`      // interface endpoint, first PB
	EndpointPerAZHour    Price            `json:"endpoint_per_az_hour"` // interface endpoint, per AZ
	TGWPerGB             Price            `json:"tgw_per_gb"`           // transit gateway processing
	TGWAttachmentPerHour Price            `json:"tgw_attachment_per_hour"`
}

// Tier is a volume tier of a per-GB price: the price of each GB past FromTB
// in a month.
type Tier struct {
	FromTB float64 `json:"from_tb"`
	Price
}

// TB is the number of bytes in a terabyte of AWS's volume tiers: its
// "first 10 TB" are 10,240 GB.
const TB = 1 << 40

// InternetEgress returns the price of one more GB out to the internet in a
// month whose volume so far is tbMonth terabytes: the marginal tier.
func (p *Prices) InternetEgress(tbMonth float64) Price {
	price := p.InternetEgressPerGB
	for _, t := range p.InternetEgressTiers {
		if tbMonth >= t.FromTB {
			price = t.Price
		}
	}
	return price
}

// InterRegionTo returns the price of a GB out to region dst.
func (p *Prices) InterRegionTo(dst string) Price {
	if pr, ok := p.InterRegionPairs[dst]; ok {
		return pr
	}
	return p.InterRegionPerGB
}

// Figure names one price of a region for listing and overriding.
type Figure struct {
	Key   string // JSON key, as in the override file
	Label string
	Unit  string
	Get   func(*Prices) *Price
}

// Figures lists every price of a region, in display order.
var Figures = []Figure{
	{"inter_az_per_gb", "Inter-AZ data transfer (each direction)", "USD/GB",
		func(p *Prices) *Price { return &p.InterAZPerGB }},
	{"nat_per_gb", "NAT gateway data processed", "USD/GB",
		func(p *Prices) *Price { return &p.NATPerGB }},
	{"nat_per_hour", "NAT gateway", "USD/hour",
		func(p *Prices) *Price { return &p.NATPerHour }},
	{"regional_nat_per_az_hour", "Regional NAT gateway, per active AZ", "USD/hour",
		func(p *Prices) *Price { return &p.RegionalNATPerAZHour }},
	{"public_ipv4_per_hour", "Public IPv4 address", "USD/hour",
		func(p *Prices) *Price { return &p.PublicIPv4PerHour }},
	{"internet_egress_per_gb", "Data transfer out to the internet (first 10 TB)", "USD/GB",
		func(p *Prices) *Price { return &p.InternetEgressPerGB }},
	{"inter_region_per_gb", "Data transfer out to another region", "USD/GB",
		func(p *Prices) *Price { return &p.InterRegionPerGB }},
	{"endpoint_per_gb", "Interface endpoint data processed (first PB)", "USD/GB",
		func(p *Prices) *Price { return &p.EndpointPerGB }},
	{"endpoint_per_az_hour", "Interface endpoint, per AZ", "USD/hour",
		func(p *Prices) *Price { return &p.EndpointPerAZHour }},
	{"tgw_per_gb", "Transit gateway data processed", "USD/GB",
		func(p *Prices) *Price { return &p.TGWPerGB }},
	{"tgw_attachment_per_hour", "Transit gateway attachment", "USD/hour",
		func(p *Prices) *Price { return &p.TGWAttachmentPerHour }},
}

// Source says where a price came from.
type Source struct {
	What string `json:"what"`
	Ref  string `json:"ref"`
	Date string `json:"date"`
}

// Table is a price table: prices per region and their sources.
type Table struct {
	AsOf    string             `json:"as_of"`
	Sources map[string]Source  `json:"sources"`
	Regions map[string]*Prices `json:"regions"`
}

// ErrUnknownRegion is returned for a region the table has no prices for.
var ErrUnknownRegion = errors.New("unknown region")

// DefaultTable returns a fresh copy of the embedded price table.
func DefaultTable() *Table {
	t, err := parseTable(embeddedPrices)
	if err != nil {
		panic(fmt.Sprintf("costmodel: embedded prices.json: %v", err))
	}
	return t
}

func parseTable(data []byte) (*Table, error) {
	var t Table
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	for name, p := range t.Regions {
		p.Region = name
		for _, f := range Figures {
			if err := t.checkPrice(*f.Get(p)); err != nil {
				return nil, fmt.Errorf("region %s: %s %w", name, f.Key, err)
			}
		}
		from := 0.0
		for _, tier := range p.InternetEgressTiers {
			if err := t.checkPrice(tier.Price); err != nil || tier.FromTB <= from {
				return nil, fmt.Errorf("region %s: internet egress tier from %v TB: want tiers in rising order "+
					"with positive prices and known sources", name, tier.FromTB)
			}
			from = tier.FromTB
		}
		for dst, pr := range p.InterRegionPairs {
			if err := t.checkPrice(pr); err != nil {
				return nil, fmt.Errorf("region %s: inter-region price to %s %w", name, dst, err)
			}
		}
	}
	return &t, nil
}

// checkPrice says what is wrong with a figure of the table, if anything.
func (t *Table) checkPrice(pr Price) error {
	if pr.USD <= 0 {
		return errors.New("missing or not positive")
	}
	if _, ok := t.Sources[pr.Source]; !ok {
		return fmt.Errorf("cites unknown source %q", pr.Source)
	}
	return nil
}

// Lookup returns the prices of region.
func (t *Table) Lookup(region string) (*Prices, error) {
	if p, ok := t.Regions[region]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q: prices are known for %s; add yours with a price override file (--prices)",
		ErrUnknownRegion, region, strings.Join(t.RegionNames(), ", "))
}

// RegionNames returns the regions of the table, sorted.
func (t *Table) RegionNames() []string { return slices.Sorted(maps.Keys(t.Regions)) }

// Override is the format of a price override file: for each region, figures
// by their JSON key (see Figures) in USD, and an optional source note. A
// region the embedded table lacks must give every figure. The key
// inter_region_per_gb:REGION sets the rate to one destination region;
// internet_egress_per_gb sets the rate of every volume tier.
//
//	{"source": "our 2026 private pricing addendum",
//	 "regions": {"us-east-1": {"nat_per_gb": 0.04}, "mx-central-1": {...}}}
type Override struct {
	Source  string                        `json:"source"`
	Regions map[string]map[string]float64 `json:"regions"`
}

// pairKeyPrefix starts an override key that prices one inter-region pair.
const pairKeyPrefix = "inter_region_per_gb:"

// ApplyOverride reads an override file and applies it to t. name labels
// the file in errors and as the source of the figures it sets.
func (t *Table) ApplyOverride(r io.Reader, name string) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var o Override
	if err := dec.Decode(&o); err != nil {
		return fmt.Errorf("reading price overrides %s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("reading price overrides %s: unexpected data after the JSON object", name)
	}
	if len(o.Regions) == 0 {
		return fmt.Errorf(`price overrides %s: no regions; want {"regions": {"us-east-1": {"nat_per_gb": 0.045}}}`, name)
	}
	srcKey := "override:" + name
	what := o.Source
	if what == "" {
		what = "price override file " + name
	}
	t.Sources[srcKey] = Source{What: what, Ref: name, Date: t.AsOf}
	byKey := make(map[string]Figure, len(Figures))
	for _, f := range Figures {
		byKey[f.Key] = f
	}
	for _, region := range slices.Sorted(maps.Keys(o.Regions)) {
		figs := o.Regions[region]
		p, ok := t.Regions[region]
		if !ok {
			p = &Prices{Region: region, Name: region}
			for _, f := range Figures {
				if _, ok := figs[f.Key]; !ok {
					return fmt.Errorf("price overrides %s: region %s is not in the embedded table, "+
						"so it must set every figure; %s is missing", name, region, f.Key)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(figs)) {
			v := figs[k]
			if v < 0 || v > 10 {
				return fmt.Errorf("price overrides %s: region %s: %s = %v is not a plausible USD price", name, region, k, v)
			}
			if dst, ok := strings.CutPrefix(k, pairKeyPrefix); ok && dst != "" {
				if p.InterRegionPairs == nil {
					p.InterRegionPairs = map[string]Price{}
				}
				p.InterRegionPairs[dst] = Price{USD: v, Source: srcKey}
				continue
			}
			f, ok := byKey[k]
			if !ok {
				keys := append(slices.Sorted(maps.Keys(byKey)), pairKeyPrefix+"REGION")
				return fmt.Errorf("price overrides %s: region %s: unknown figure %q; want one of %s",
					name, region, k, strings.Join(keys, ", "))
			}
			*f.Get(p) = Price{USD: v, Source: srcKey}
			if k == "internet_egress_per_gb" {
				p.InternetEgressTiers = nil // a private rate replaces the list's tiers
			}
		}
		t.Regions[region] = p
	}
	return nil
}
