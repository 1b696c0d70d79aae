package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

func TestPriceEndpoints(t *testing.T) {
	gwS3 := rec(flows.Ingress, flows.AmazonS3, 2*GB)
	gwS3.Via = "vpce-1"
	tgw := rec(flows.Egress, flows.InterVPC, 2*GB)
	tgw.Via = "tgw-1"
	peerSame := rec(flows.Egress, flows.InterVPC, 2*GB)
	peerSame.Via, peerSame.RemoteAZID = "pcx-1", "use1-az1"
	testPrice(t, []priceCase{
		{"S3 via gateway endpoint is free", gwS3, Cost{}},
		{"transit gateway, sender side", tgw, Cost{Processing: 0.04}},
		{"peering within one AZ ID is free", peerSame, Cost{}},
	})
}
