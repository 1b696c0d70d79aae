package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceInterAZ(t *testing.T) {
	// rec names a remote pod and says nothing of remote_reported, as older
	// agents wrote: the remote is taken as reported.
	rds := rec(flows.Egress, flows.InterAZ, 2*GB)
	rds.RemotePod, rds.RemoteNamespace, rds.RemoteWorkload, rds.RemoteService, rds.RemoteNode = "", "", "", "", ""
	rds.RemoteIP, rds.RemotePort = "10.0.2.40", 5432
	fargate := rec(flows.Egress, flows.InterAZ, 2*GB)
	fargate.RemoteReportedRaw = flows.BoolFalse
	lb := func(name string) flows.Record {
		r := rds
		r.RemoteLB, r.RemoteReportedRaw = name, flows.BoolFalse
		return r
	}
	testPrice(t, []priceCase{
		{"intra-az is free", rec(flows.Egress, flows.IntraAZ, 2*GB), Cost{}},
		// A reported remote prices its own interface: 2 * 0.01.
		{"inter-az, remote reported", rec(flows.Egress, flows.InterAZ, 2*GB), Cost{InterAZ: 0.02}},
		// RDS (no remote pod, no agent): both interfaces, 2 * (0.01 + 0.01)
		// (the old rule: 0.02, one side).
		{"inter-az to RDS, in or out", rds, Cost{InterAZ: 0.04}},
		{"inter-az to a Fargate pod", fargate, Cost{InterAZ: 0.04}},
		// An ALB or a Classic LB and its targets: nothing across AZs (the
		// old rule: 2 * 0.01).
		{"ALB to its target", lb("app/web/0123456789abcdef"), Cost{}},
		{"Classic LB to its target", lb("classic/legacy"), Cost{}},
		// An NLB (cross-zone): regional rates at both interfaces, 2 * 0.02.
		{"NLB to its target", lb("net/edge/0123456789abcdef"), Cost{InterAZ: 0.04}},
		{"GWLB to its target", lb("gwy/fw/0123456789abcdef"), Cost{InterAZ: 0.04}},
	})
}

// TestFoldedPairCountsOnce is issue 14's first example: products-b sends
// graphql-a 1 GiB across AZs but folds its record into "other"; graphql-a's
// agent reports the bytes in, naming products-b. The crossing is 1 GiB,
// billed out at products-b and in at graphql-a: 1 * (0.01 + 0.01) = $0.02.
// The old join could not match the fold and showed 2 GiB and $0.03.
func TestFoldedPairCountsOnce(t *testing.T) {
	in := rec(flows.Ingress, flows.InterAZ, GB) // graphql-a's record of the bytes from products-b
	in.RemoteReportedRaw = flows.BoolTrue
	fold := mirror(in) // products-b's, folded with its other reported remotes
	fold.Direction = flows.Egress
	fold.RemoteIP, fold.RemotePod, fold.RemoteWorkload, fold.RemoteNode, fold.RemoteAZID =
		flows.OtherIP, "", "", "", ""
	fold.RemoteNamespace, fold.RemoteReportedRaw = "", flows.BoolTrue
	intra := func(r flows.Record) flows.Record {
		r.Category, r.RemoteAZID = flows.IntraAZ, r.LocalAZID
		return r
	}
	for _, g := range []GroupBy{ByPod, ByWorkload, ByNamespace} {
		for _, tt := range []struct {
			name  string
			recs  []flows.Record
			bytes uint64
			usd   float64
		}{
			{"inter-az", []flows.Record{in, fold}, GB, 0.02},
			{"inter-az, fold first", []flows.Record{fold, in}, GB, 0.02},
			{"intra-az", []flows.Record{intra(in), intra(fold)}, GB, 0}, // bytes once, free
		} {
			_, bytes, usd := aggregate(t, g, tt.recs...)
			if bytes != tt.bytes || !near(usd, tt.usd) {
				t.Errorf("%s by %s: %d bytes, $%v; want %d, $%v", tt.name, g, bytes, usd, tt.bytes, tt.usd)
			}
		}
	}
}

// TestUnreportedRemoteCountsBoth: 1 GiB out and 3 GiB in between a pod and
// RDS in another AZ: every byte once (4 GiB), each billed at the pod's
// interface and at RDS's: 4 * 0.02 = $0.08 (the old rule: $0.04).
func TestUnreportedRemoteCountsBoth(t *testing.T) {
	ag := New(nil).NewAggregator(ByPod)
	for dir, n := range map[flows.Direction]uint64{flows.Egress: GB, flows.Ingress: 3 * GB} {
		r := rec(dir, flows.InterAZ, n)
		r.RemotePod, r.RemoteNamespace, r.RemoteWorkload, r.RemoteService, r.RemoteNode = "", "", "", "", ""
		r.RemoteIP, r.RemotePort, r.RemoteName = "10.0.2.40", 5432, "orders.cluster-abc.us-east-1.rds.amazonaws.com"
		if err := ag.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := ag.Rows()
	if len(rows) != 1 || rows[0].Bytes != 4*GB || !near(rows[0].CostUSD, 0.08) {
		t.Errorf("rows = %+v; want one row of 4 GiB at $0.08", rows)
	}
}
