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
