package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceInterRegion(t *testing.T) {
	testPrice(t, []priceCase{
		{"inter-region out", rec(flows.Egress, flows.InterRegion, 2*GB), Cost{DataTransferOut: 0.04}},
	})
}
