package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceInternet(t *testing.T) {
	testPrice(t, []priceCase{
		{"internet egress", rec(flows.Egress, flows.Internet, 2*GB), Cost{DataTransferOut: 0.18}},
		{"internet ingress free", rec(flows.Ingress, flows.Internet, 2*GB), Cost{}},
	})
}
