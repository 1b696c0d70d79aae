package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceInterAZ(t *testing.T) {
	testPrice(t, []priceCase{
		{"intra-az is free", rec(flows.Egress, flows.IntraAZ, 2*GB), Cost{}},
		{"inter-az one side", rec(flows.Egress, flows.InterAZ, 2*GB), Cost{InterAZ: 0.02}},
	})
}
