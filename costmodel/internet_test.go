package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

// igwRec returns 2 GiB between graphql-a and the public address 52.46.1.1
// through the internet gateway, owned by svc in region as ip-ranges says.
func igwRec(dir flows.Direction, svc, region string) flows.Record {
	r := natRec(dir, flows.Internet, "")
	r.Via, r.ViaAZID = "", ""
	return withAWS(r, svc, region)
}

func TestPriceInternet(t *testing.T) {
	testPrice(t, []priceCase{
		// 2 GiB out at the first tier: 2 * 0.09 = 0.18; in is free.
		{"internet egress", rec(flows.Egress, flows.Internet, 2*GB), Cost{DataTransferOut: 0.18}},
		{"internet ingress free", rec(flows.Ingress, flows.Internet, 2*GB), Cost{}},
		// Same-region AWS service endpoints are free both ways (the old
		// rule charged 2 * 0.09 = 0.18 on the bytes out).
		{"SQS in the region (AMAZON) out", igwRec(flows.Egress, "AMAZON", "us-east-1"), Cost{}},
		{"SQS in the region (AMAZON) in", igwRec(flows.Ingress, "AMAZON", "us-east-1"), Cost{}},
		{"S3 range in the region", igwRec(flows.Egress, "S3", "us-east-1"), Cost{}},
		{"global service (CloudFront)", igwRec(flows.Egress, "CLOUDFRONT", "GLOBAL"), Cost{}},
		// A public IPv4 address of EC2 in the region: $0.01/GB each way,
		// 2 * 0.01 = 0.02 out and 0.02 in (the old rule: 0.18 out, 0 in).
		{"EC2 public IP in the region, out", igwRec(flows.Egress, "EC2", "us-east-1"), Cost{Regional: 0.02}},
		{"EC2 public IP in the region, in", igwRec(flows.Ingress, "EC2", "us-east-1"), Cost{Regional: 0.02}},
		// EC2 in another region: the pair's rate out, 2 * 0.02 = 0.04.
		{"EC2 in eu-west-1, out", igwRec(flows.Egress, "EC2", "eu-west-1"), Cost{DataTransferOut: 0.04}},
	})
}

func TestPriceInternetTiers(t *testing.T) {
	// An account sending 20 TB a month pays the next GB at the 10-50 TB tier:
	// 2 GiB * 0.085 = 0.17.
	testPriceWith(t, Options{InternetEgressTBMonth: 20}, []priceCase{
		{"internet egress past 10 TB", rec(flows.Egress, flows.Internet, 2*GB), Cost{DataTransferOut: 0.17}},
	})
	// 300 GiB an hour is 219,000 GiB (213.9 TB) a month: over 150 TB, each
	// more GB costs $0.05: 2 * 0.05 = 0.10.
	testPriceWith(t, Options{InternetEgressTBMonth: 300 * 730.0 / 1024}, []priceCase{
		{"internet egress past 150 TB", rec(flows.Egress, flows.Internet, 2*GB), Cost{DataTransferOut: 0.10}},
		{"NAT to the internet past 150 TB", natRec(flows.Egress, flows.NATGateway, "use1-az1"),
			Cost{NATProcessing: 0.09, DataTransferOut: 0.10}},
	})
}
