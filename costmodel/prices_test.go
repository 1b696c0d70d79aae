package costmodel

import (
	"strings"
	"testing"
)

func TestOverride(t *testing.T) {
	tb := DefaultTable()
	err := tb.ApplyOverride(strings.NewReader(`{"source":"EDP","regions":{"us-east-1":{"nat_per_gb":0.04}}}`), "o.json")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tb.Lookup("us-east-1")
	if p.NATPerGB.USD != 0.04 || p.NATPerHour.USD != 0.045 || tb.Sources[p.NATPerGB.Source].What != "EDP" {
		t.Errorf("after override: nat_per_gb %+v, nat_per_hour %v", p.NATPerGB, p.NATPerHour.USD)
	}
	for _, tt := range []struct{ in, want string }{
		{`{"regions":{"us-east-1":{"nat_per_tb":1}}}`, `unknown figure "nat_per_tb"`},
		{`{"regions":{"xx-1":{"nat_per_gb":1}}}`, "must set every figure"},
		{`{"regions":{"us-east-1":{"nat_per_gb":-1}}}`, "not a plausible USD price"},
		{`{"regions":{}}`, "no regions"},
		{`{"region":{}}`, "unknown field"},
		{`not json`, "invalid character"},
	} {
		err := DefaultTable().ApplyOverride(strings.NewReader(tt.in), "o.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ApplyOverride(%s) error = %v; want %q", tt.in, err, tt.want)
		}
	}
}

func TestEmbeddedTable(t *testing.T) {
	tb := DefaultTable()
	for _, r := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
		"eu-west-2", "eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
		"sa-east-1"} {
		p, err := tb.Lookup(r)
		if err != nil {
			t.Errorf("Lookup(%s): %v", r, err)
			continue
		}
		for _, f := range Figures {
			pr := f.Get(p)
			src, ok := tb.Sources[pr.Source]
			if pr.USD <= 0 || !ok || src.Date == "" || src.Ref == "" {
				t.Errorf("%s %s = %+v: want a positive price with a dated source", r, f.Key, pr)
			}
		}
	}
	if p, _ := tb.Lookup("us-east-1"); p.NATPerGB.USD != 0.045 || p.InterAZPerGB.USD != 0.01 || !p.NATPerGB.IsVerified() {
		t.Errorf("us-east-1 = %+v; want the $0.045 NAT and $0.01 inter-AZ of DESIGN.md, verified", p)
	}
	// Public IPv4 addresses cost the same everywhere; a regional NAT gateway's
	// AZ-hour is taken at the zonal rate, and says it is derived.
	for _, r := range tb.RegionNames() {
		p, _ := tb.Lookup(r)
		if p.PublicIPv4PerHour.USD != 0.005 || !p.PublicIPv4PerHour.IsVerified() {
			t.Errorf("%s public_ipv4_per_hour = %+v; want 0.005, verified", r, p.PublicIPv4PerHour)
		}
		if p.RegionalNATPerAZHour.USD != p.NATPerHour.USD || p.RegionalNATPerAZHour.IsVerified() {
			t.Errorf("%s regional_nat_per_az_hour = %+v; want nat_per_hour %v, marked derived", r,
				p.RegionalNATPerAZHour, p.NATPerHour.USD)
		}
	}
}

func TestInternetEgressTiers(t *testing.T) {
	p, _ := DefaultTable().Lookup("us-east-1")
	// The marginal tier: the price of the next GB once the month has reached
	// tbMonth terabytes (first 10 TB $0.09, next 40 $0.085, next 100 $0.07,
	// over 150 $0.05).
	for _, tt := range []struct{ tb, want float64 }{
		{0, 0.09}, {9.99, 0.09}, {10, 0.085}, {49, 0.085}, {50, 0.07}, {149.5, 0.07}, {150, 0.05}, {4000, 0.05},
	} {
		if got := p.InternetEgress(tt.tb); got.USD != tt.want || !got.IsVerified() {
			t.Errorf("InternetEgress(%v) = %+v; want %v, verified", tt.tb, got, tt.want)
		}
	}
	tb := DefaultTable()
	if err := tb.ApplyOverride(strings.NewReader(`{"regions":{"us-east-1":{"internet_egress_per_gb":0.06}}}`),
		"o.json"); err != nil {
		t.Fatal(err)
	}
	if p, _ := tb.Lookup("us-east-1"); p.InternetEgress(200).USD != 0.06 {
		t.Errorf("after overriding internet_egress_per_gb: InternetEgress(200) = %v; want the override, 0.06",
			p.InternetEgress(200).USD)
	}
}

func TestInterRegionPairs(t *testing.T) {
	tb := DefaultTable()
	for _, tt := range []struct {
		from, to string
		want     float64
	}{
		{"us-east-1", "us-east-2", 0.01}, {"us-east-2", "us-east-1", 0.01}, {"us-east-1", "us-west-2", 0.02},
		{"us-east-2", "eu-west-1", 0.02}, {"ap-south-1", "us-east-1", 0.086}, {"eu-west-1", "ap-east-1", 0.02},
	} {
		p, _ := tb.Lookup(tt.from)
		if got := p.InterRegionTo(tt.to); got.USD != tt.want || !got.IsVerified() {
			t.Errorf("%s InterRegionTo(%s) = %+v; want %v, verified", tt.from, tt.to, got, tt.want)
		}
	}
	err := tb.ApplyOverride(strings.NewReader(
		`{"regions":{"us-west-2":{"inter_region_per_gb:us-west-1":0.015,"inter_region_per_gb":0.018}}}`), "o.json")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tb.Lookup("us-west-2")
	if p.InterRegionTo("us-west-1").USD != 0.015 || p.InterRegionTo("eu-west-1").USD != 0.018 {
		t.Errorf("after override: to us-west-1 %v, to eu-west-1 %v; want 0.015 and 0.018",
			p.InterRegionTo("us-west-1").USD, p.InterRegionTo("eu-west-1").USD)
	}
}
