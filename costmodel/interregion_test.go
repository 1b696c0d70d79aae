package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceInterRegion(t *testing.T) {
	toOhio := rec(flows.Egress, flows.InterRegion, 2*GB)
	toOhio.RemoteRegion = "us-east-2"
	fromOhio := toOhio
	fromOhio.Direction = flows.Ingress
	toIreland := toOhio
	toIreland.RemoteRegion = "eu-west-1"
	testPrice(t, []priceCase{
		// An unknown destination pays the standard rate: 2 * 0.02.
		{"inter-region out", rec(flows.Egress, flows.InterRegion, 2*GB), Cost{DataTransferOut: 0.04}},
		// us-east-1 -> us-east-2 is a $0.01 pair: 2 * 0.01 (the old rule: 0.04).
		{"us-east-1 to us-east-2", toOhio, Cost{DataTransferOut: 0.02}},
		{"us-east-1 from us-east-2: in is free", fromOhio, Cost{}},
		{"us-east-1 to eu-west-1", toIreland, Cost{DataTransferOut: 0.04}},
		// Beyond a NAT too: processing 2 * 0.045 plus the pair, 2 * 0.01.
		{"NAT to AWS in us-east-2", withAWS(natRec(flows.Egress, flows.InterRegion, "use1-az1"), "AMAZON", "us-east-2"),
			Cost{NATProcessing: 0.09, DataTransferOut: 0.02}},
	})
}

func TestWeightedIsExact(t *testing.T) {
	// 2^40 bytes at $0.1105/GB, a million times over, in two orders: the
	// sums are bit-equal and 1024 * 0.1105 * 1e6 = 113,152,000 dollars.
	var a, b weighted
	for range 1_000_000 {
		a.addBytes(1<<40, 0.1105)
	}
	for range 500_000 {
		var two weighted
		two.addBytes(1<<40, 0.1105)
		two.addBytes(1<<40, 0.1105)
		b.add(two)
	}
	if a != b || a.usd() != 113_152_000 {
		t.Errorf("weighted sums %v and %v = $%v; want equal and $113,152,000", a, b, a.usd())
	}
}
