package costmodel

import (
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// TestOverlapPreferSameZoneReducePayload: ReducePayload on a Service's
// pair sees only the bytes that PreferSameZone leaves crossing.
func TestOverlapPreferSameZoneReducePayload(t *testing.T) {
	// graphql-a in use1-az1 and graphql-c in use1-az3 call products-b in
	// use1-az2; products also runs in use1-az1, not in use1-az3. An hour:
	// 10 GiB from az1 (PreferSameZone keeps it in the zone) and 5 GiB from
	// az3 (it still crosses), each reported by both agents.
	a := rec(flows.Egress, flows.InterAZ, 10*GB)
	c := rec(flows.Egress, flows.InterAZ, 5*GB)
	c.LocalPod, c.LocalIP, c.LocalAZID = "graphql-c", "10.0.3.5", "use1-az3"
	inZone := rec(flows.Egress, flows.IntraAZ, GB)
	inZone.RemotePod, inZone.RemoteAZID = "products-a", "use1-az1"
	recs := []flows.Record{a, mirror(a), c, mirror(c), inZone}
	for i := range recs {
		recs[i].WindowS = 3600
	}
	// The inter-AZ bill of these bytes: 15 GiB/h x 730 x $0.02 = $219/month.
	// PreferSameZone saves az1's 10 GiB: 10 x 730 x $0.02 = $146. The
	// pair's ReducePayload sees az3's 5 GiB: 5 x 730 x $0.02 = $73, and a
	// ratio of 0.6 saves $43.80 of it. Before, it saw all 15 GiB: $131.40,
	// and the two saved $277.40 of a $219 bill.
	got := adviseWith(t, time.Hour, AdviseOptions{CompressionRatio: 0.6}, recs...)
	p, r := find(got, PreferSameZone), find(got, ReducePayload)
	if p == nil || !near2(p.MonthlySavingsUSD, 146) {
		t.Fatalf("PreferSameZone = %+v; want $146", p)
	}
	if r == nil || r.Evidence.Bytes != 5*GB || !near2(r.MonthlyCostUSD, 73) || !near2(r.MonthlySavingsUSD, 43.80) {
		t.Fatalf("ReducePayload = %+v; want 5 GiB costing $73, saving $43.80", r)
	}
	if sum := p.MonthlySavingsUSD + r.MonthlySavingsUSD; sum > 219 {
		t.Errorf("PreferSameZone and ReducePayload save $%.2f of a $219 bill", sum)
	}
}

// TestOverlapNatPerAZFirst: when NatPerAZ saves the most, the interface
// endpoint below it is priced on bytes that no longer cross to the NAT.
func TestOverlapNatPerAZFirst(t *testing.T) {
	// An hour from use1-az1 through the NAT in use1-az2: 1 GiB to SQS and
	// 16 GiB from an internet API (in: no egress charge).
	api := internet("use1-az1", "use1-az2", 16*GB)
	api.Direction = flows.Ingress
	got := adviseWith(t, time.Hour, AdviseOptions{CompressionRatio: 0.5}, sqs("use1-az1", "use1-az2", GB), api)
	// NatPerAZ alone: 17 GiB x 730 x $0.01 = $124.10 of crossing, less a new
	// NAT's 730 h x ($0.045 + $0.005 for its public IPv4 address) = $36.50:
	// $87.60.
	// The interface endpoint alone: 730 GB x ($0.045 + $0.01) = $40.15 of NAT
	// charges, less 730 GB x $0.01 + 730 h x $0.01 = $14.60: $25.55.
	// NatPerAZ first; then the endpoint removes processing only:
	// 730 x $0.045 - $14.60 = $18.25. (Endpoint first, NatPerAZ would be
	// 16 x 730 x $0.01 - $36.50 = $80.30 above an endpoint it counts on.)
	if len(got) != 3 || got[0].Kind != NatPerAZ || got[1].Kind != InterfaceEndpoint || got[2].Kind != ReducePayload {
		t.Fatalf("recommendations %+v; want NatPerAZ, InterfaceEndpoint, ReducePayload", got)
	}
	if !near2(got[0].MonthlySavingsUSD, 87.60) || !near2(got[1].MonthlySavingsUSD, 18.25) ||
		!near2(got[1].MonthlyCostUSD, 32.85) {
		t.Errorf("NatPerAZ saves %.4f, the endpoint %.4f of %.4f; want 87.60, then 18.25 of 32.85",
			got[0].MonthlySavingsUSD, got[1].MonthlySavingsUSD, got[1].MonthlyCostUSD)
	}
	// The API's bytes once NatPerAZ is made: 16 x 730 x $0.045 = $525.60 of
	// NAT processing; a ratio of 0.5 saves $262.80 of it.
	if r := got[2]; !near2(r.MonthlyCostUSD, 525.60) || !near2(r.MonthlySavingsUSD, 262.80) {
		t.Errorf("ReducePayload saves %.4f of %.4f; want 262.80 of 525.60", r.MonthlySavingsUSD, r.MonthlyCostUSD)
	}
	if total := TotalSavings(got); !near2(total, 105.85) {
		t.Errorf("TotalSavings = %.4f; want 87.60 + 18.25 = 105.85", total)
	}
}
