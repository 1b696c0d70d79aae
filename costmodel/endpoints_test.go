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
	tgwIn := tgw
	tgwIn.Direction = flows.Ingress
	peerUnknown := peerSame
	peerUnknown.RemoteAZID = ""
	testPrice(t, []priceCase{
		{"S3 via gateway endpoint is free", gwS3, Cost{}},
		// Processing, 2 * 0.02, on the bytes each of the account's two
		// attachments sends: out and in (the old rule left bytes in free).
		{"transit gateway, sender side", tgw, Cost{Processing: 0.04}},
		{"transit gateway, bytes in", tgwIn, Cost{Processing: 0.04}},
		{"peering within one AZ ID is free", peerSame, Cost{}},
		// An unknown peer AZ is priced as a crossing, 2 * 0.01, and marked.
		{"peering, remote AZ unknown", peerUnknown, Cost{InterAZ: 0.02}},
	})
	// The other VPC's attachment is someone else's: its bytes are theirs.
	testPriceWith(t, Options{TGWPeerExternal: true}, []priceCase{
		{"transit gateway, sender side", tgw, Cost{Processing: 0.04}},
		{"transit gateway, bytes in from another owner", tgwIn, Cost{}},
	})
	if u := New(nil).usage(&peerUnknown); u.AssumedCrossing != 2*GB {
		t.Errorf("usage(peering, remote AZ unknown) = %+v; want 2 GiB assumed crossing", u)
	}
}
