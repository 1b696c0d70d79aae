package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestFees(t *testing.T) {
	via := func(cat flows.Category, hop, viaAZ, localAZ string) flows.Record {
		r := natRec(flows.Egress, cat, viaAZ)
		r.Via, r.LocalAZID = hop, localAZ
		return r
	}
	records := []flows.Record{
		via(flows.NATGateway, "nat-1", "use1-az1", "use1-az1"),
		via(flows.NATGateway, "nat-2", "use1-az1", "use1-az1"), // one NAT id in two AZs: a regional NAT gateway
		via(flows.NATGateway, "nat-2", "use1-az2", "use1-az2"),
		via(flows.Unclassified, "vpce-1", "", "use1-az1"), // an interface endpoint used from two AZs
		via(flows.Unclassified, "vpce-1", "", "use1-az2"),
		via(flows.AmazonS3, "vpce-2", "", "use1-az1"), // a gateway endpoint: no fee
		via(flows.InterVPC, "tgw-1", "", "use1-az1"),
	}
	// Over 10 hours, us-east-1:
	want := []Fee{
		{"nat-1", "NAT gateway", "use1-az1", 1, 0.045, 0.45},                               // 0.045 * 10
		{"nat-1", "public IPv4 address", "use1-az1", 1, 0.005, 0.05},                       // 0.005 * 10
		{"nat-2", "regional NAT gateway, per AZ (use1-az1, use1-az2)", "", 2, 0.045, 0.90}, // 2 * 0.045 * 10
		{"nat-2", "public IPv4 addresses, one per AZ", "", 2, 0.005, 0.10},                 // 2 * 0.005 * 10
		{"tgw-1", "transit gateway attachments", "", 2, 0.05, 1.00},                        // 2 * 0.05 * 10
		{"vpce-1", "interface endpoint, per AZ", "", 2, 0.01, 0.20},                        // 2 * 0.01 * 10
	}
	for _, opt := range []Options{{}, {TGWPeerExternal: true}} {
		a, b := NewWithOptions(nil, opt).NewAggregator(ByPod), NewWithOptions(nil, opt).NewAggregator(ByPod)
		for i := range records {
			ag := a
			if i%2 == 1 {
				ag = b // the fees of merged aggregators are the fees of all their records
			}
			if err := ag.Add(&records[i]); err != nil {
				t.Fatal(err)
			}
		}
		a.Merge(b)
		got := a.Fees(10)
		if opt.TGWPeerExternal {
			want[4].Count, want[4].USD = 1, 0.50 // the cluster's attachment only: 0.05 * 10
		}
		if len(got) != len(want) {
			t.Fatalf("Fees(10) with %+v = %+v; want %+v", opt, got, want)
		}
		for i := range want {
			g := got[i]
			if g.Resource != want[i].Resource || g.What != want[i].What || g.AZID != want[i].AZID ||
				g.Count != want[i].Count || !near(g.PerHour, want[i].PerHour) || !near(g.USD, want[i].USD) {
				t.Errorf("Fees(10) with %+v [%d] = %+v; want %+v", opt, i, g, want[i])
			}
		}
	}
}
