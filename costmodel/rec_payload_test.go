package costmodel

import (
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// feeds returns an hour of catalog-sync in use1-az1 downloading bytes from
// an internet host through the NAT gateway in its own AZ: only NAT
// processing, $0.045/GB, is billed on them (bytes in from the internet
// are free).
func feeds(bytes uint64) flows.Record {
	r := internet("use1-az1", "use1-az1", bytes)
	r.Direction, r.LocalPod, r.LocalWorkload = flows.Ingress, "catalog-sync-1", "catalog-sync"
	r.RemoteName, r.RemoteIP = "feeds.supplier.example", "198.51.100.7"
	return r
}

// s3Gateway returns an hour of bytes to S3 through the NAT in use1-az1.
func s3Gateway(bytes uint64) flows.Record {
	r := sqs("use1-az1", "use1-az1", bytes)
	r.Category, r.RemoteAWSService, r.RemoteName = flows.AmazonS3, "S3", "s3.us-east-1.amazonaws.com"
	return r
}

// TestReducePayloadNoInventedFigure: ReducePayload has a dollar figure only
// from a compression ratio the user gives, comes after every certain
// change whatever its size, never counts in the total, and its action
// fits an internet host.
func TestReducePayloadNoInventedFigure(t *testing.T) {
	// 4 GiB/h from feeds.supplier.example: 4 x 730 = 2920 GB/month x $0.045
	// = $131.40/month of NAT processing. 1 GiB/h to S3 through the NAT:
	// 730 GB x $0.045 = $32.85/month, all saved by a gateway endpoint.
	recs := advise(t, time.Hour, feeds(4*GB), s3Gateway(GB))
	if len(recs) != 2 || recs[0].Kind != GatewayEndpoint || recs[1].Kind != ReducePayload {
		t.Fatalf("recommendations %+v; want GatewayEndpoint then ReducePayload", recs)
	}
	g, r := recs[0], recs[1]
	if !near2(g.MonthlySavingsUSD, 32.85) || g.Estimate {
		t.Errorf("GatewayEndpoint saves %.4f (estimate %v); want a certain $32.85", g.MonthlySavingsUSD, g.Estimate)
	}
	// No ratio given: the bytes and what they cost, no saving.
	if !r.Estimate || r.MonthlySavingsUSD != 0 || r.SavingsNeed != NeedCompressionRatio ||
		!near2(r.MonthlyCostUSD, 131.40) || r.Evidence.Bytes != 4*GB {
		t.Errorf("ReducePayload = %+v; want an estimate of 4 GiB costing $131.40 with no saving", r)
	}
	if got := TotalSavings(recs); !near2(got, 32.85) {
		t.Errorf("TotalSavings = %.4f; want $32.85, the gateway endpoint's alone", got)
	}
	if !strings.Contains(r.Action, "feeds.supplier.example") || strings.Contains(r.Action, "PreferSameZone") ||
		strings.Contains(r.Action, "replica") {
		t.Errorf("ReducePayload's action for an internet host: %q; want it to name the host and no Service advice",
			r.Action)
	}
	if strings.Contains(strings.Join(r.Caveats, " "), "60%") {
		t.Errorf("ReducePayload caveats %q assume a ratio nobody gave", r.Caveats)
	}

	// A ratio of 0.5: $131.40 x 0.5 = $65.70, more than the gateway
	// endpoint's $32.85, and still after it and out of the total.
	recs = adviseWith(t, time.Hour, AdviseOptions{CompressionRatio: 0.5}, feeds(4*GB), s3Gateway(GB))
	if len(recs) != 2 || recs[0].Kind != GatewayEndpoint || recs[1].Kind != ReducePayload ||
		!near2(recs[1].MonthlySavingsUSD, 65.70) || recs[1].SavingsNeed != "" {
		t.Fatalf("with a ratio of 0.5: %+v; want GatewayEndpoint, then ReducePayload saving $65.70", recs)
	}
	if got := TotalSavings(recs); !near2(got, 32.85) {
		t.Errorf("TotalSavings with an estimate of $65.70 = %.4f; want $32.85", got)
	}
	if !strings.Contains(strings.Join(recs[1].Caveats, " "), "50%") {
		t.Errorf("ReducePayload caveats %q; want the ratio given (50%%)", recs[1].Caveats)
	}

	for _, bad := range []float64{-0.1, 1, 1.5} {
		if _, err := New(nil).NewAdvisor().Recommend(time.Hour, AdviseOptions{CompressionRatio: bad}); err == nil {
			t.Errorf("compression ratio %v: no error; want one (0 < ratio < 1)", bad)
		}
	}
}

// TestReducePayloadInClusterAction: between two of the cluster's
// workloads, the action is compression or batching between them.
func TestReducePayloadInClusterAction(t *testing.T) {
	// 10 GiB/h crossing, priced at both ends: 10 x 730 x $0.02 = $146/month.
	out := rec(flows.Egress, flows.InterAZ, 10*GB)
	out.WindowS = 3600
	r := find(advise(t, time.Hour, out), ReducePayload)
	if r == nil || !near2(r.MonthlyCostUSD, 146) {
		t.Fatalf("ReducePayload = %+v; want one on $146/month", r)
	}
	if !strings.Contains(r.Action, "shop/graphql and shop/products") || !strings.Contains(r.Action, "compress") {
		t.Errorf("ReducePayload's action between two workloads: %q", r.Action)
	}
}
