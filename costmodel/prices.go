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
	InterRegionPerGB     Price  `json:"inter_region_per_gb"`      // out to another region
	EndpointPerGB        Price  `json:"endpoint_per_gb"`          // interface endpoint, first PB
	EndpointPerAZHour    Price  `json:"endpoint_per_az_hour"`     // interface endpoint, per AZ
	TGWPerGB             Price  `json:"tgw_per_gb"`               // transit gateway processing
	TGWAttachmentPerHour Price  `json:"tgw_attachment_per_hour"`
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
			if pr := f.Get(p); pr.USD <= 0 {
				return nil, fmt.Errorf("region %s: %s missing or not positive", name, f.Key)
			} else if _, ok := t.Sources[pr.Source]; !ok {
				return nil, fmt.Errorf("region %s: %s cites unknown source %q", name, f.Key, pr.Source)
			}
		}
	}
	return &t, nil
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
// region the embedded table lacks must give every figure.
//
//	{"source": "our 2026 private pricing addendum",
//	 "regions": {"us-east-1": {"nat_per_gb": 0.04}, "mx-central-1": {...}}}
type Override struct {
	Source  string                        `json:"source"`
	Regions map[string]map[string]float64 `json:"regions"`
}

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
			f, ok := byKey[k]
			if !ok {
				keys := slices.Sorted(maps.Keys(byKey))
				return fmt.Errorf("price overrides %s: region %s: unknown figure %q; want one of %s",
					name, region, k, strings.Join(keys, ", "))
			}
			v := figs[k]
			if v < 0 || v > 10 {
				return fmt.Errorf("price overrides %s: region %s: %s = %v is not a plausible USD price", name, region, k, v)
			}
			*f.Get(p) = Price{USD: v, Source: srcKey}
		}
		t.Regions[region] = p
	}
	return nil
}
