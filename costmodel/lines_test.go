package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

// TestMeteredAndBillLines splits records by the resource the bill meters
// them on and prices the parts line by line; dollars by hand at us-east-1's
// prices.
func TestMeteredAndBillLines(t *testing.T) {
	m := New(nil)
	// 10 GiB to an RDS instance in another AZ: 10 at the node, 10 at RDS.
	rds := rec(flows.Egress, flows.InterAZ, 10*GB)
	rds.RemotePod, rds.RemoteNode, rds.RemoteReportedRaw = "", "", flows.BoolFalse
	// 4 GiB to the internet through a NAT in another AZ: 4 across AZs at
	// the node; 4 processed and 4 out to the internet at the NAT.
	nat := natRec(flows.Egress, flows.NATGateway, "use1-az2")
	nat.Bytes = 4 * GB
	// 3 GiB to products-b, whose agent reports its side: the node's only.
	pair := rec(flows.Egress, flows.InterAZ, 3*GB)
	var node, remote, hop Usage
	for _, r := range []flows.Record{rds, nat, pair} {
		me, err := m.Metered(&r)
		if err != nil {
			t.Fatal(err)
		}
		node.Add(me.Node)
		remote.Add(me.Remote)
		hop.Add(me.Hop)
	}
	lines := func(u Usage) BillLines {
		l, err := m.BillLines("us-east-1", u)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, c := range []struct {
		name      string
		got, want LineCost
	}{
		{"node regional", lines(node).Regional, LineCost{17 * GB, 0.17}},
		{"node internet", lines(node).InternetOut, LineCost{}},
		{"remote regional", lines(remote).Regional, LineCost{10 * GB, 0.10}},
		{"nat processing", lines(hop).NAT, LineCost{4 * GB, 0.18}},
		{"nat internet out", lines(hop).InternetOut, LineCost{4 * GB, 0.36}},
		{"nat regional", lines(hop).Regional, LineCost{}},
	} {
		if c.got.Bytes != c.want.Bytes || !near(c.got.USD, c.want.USD) {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if _, err := m.BillLines("mars-1", node); err == nil {
		t.Error("BillLines of a region without prices: no error")
	}
}
