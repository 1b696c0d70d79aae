package costmodel

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

// natRec returns 2 GiB from graphql-a (use1-az1) to 52.46.1.1 through nat-1 in viaAZ.
func natRec(dir flows.Direction, cat flows.Category, viaAZ string) flows.Record {
	r := rec(dir, cat, 2*GB)
	r.RemotePod, r.RemoteNamespace, r.RemoteWorkload, r.RemoteService, r.RemoteNode, r.RemoteAZID = "", "", "", "", "", ""
	r.RemoteIP, r.Via, r.ViaAZID = "52.46.1.1", "nat-1", viaAZ
	return r
}

// withAWS names the AWS service and region of r's remote.
func withAWS(r flows.Record, svc, region string) flows.Record {
	r.RemoteAWSService, r.RemoteRegion = svc, region
	return r
}

func TestPriceNAT(t *testing.T) {
	testPrice(t, []priceCase{
		{"NAT same AZ, to AWS in region", withAWS(natRec(flows.Egress, flows.NATGateway, "use1-az1"), "AMAZON", "us-east-1"),
			Cost{NATProcessing: 0.09}},
		{"NAT other AZ adds inter-AZ", withAWS(natRec(flows.Egress, flows.NATGateway, "use1-az2"), "AMAZON", "us-east-1"),
			Cost{NATProcessing: 0.09, InterAZ: 0.02}},
		{"NAT ingress processed too", withAWS(natRec(flows.Ingress, flows.NATGateway, "use1-az2"), "AMAZON", "us-east-1"),
			Cost{NATProcessing: 0.09, InterAZ: 0.02}},
		{"NAT to internet pays egress", natRec(flows.Egress, flows.NATGateway, "use1-az1"),
			Cost{NATProcessing: 0.09, DataTransferOut: 0.18}},
		{"NAT from internet: ingress free", natRec(flows.Ingress, flows.NATGateway, "use1-az1"),
			Cost{NATProcessing: 0.09}},
		{"NAT to AWS in another region", withAWS(natRec(flows.Egress, flows.NATGateway, "use1-az1"), "AMAZON", "eu-west-1"),
			Cost{NATProcessing: 0.09, DataTransferOut: 0.04}},
		{"S3 via NAT: processing only", withAWS(natRec(flows.Egress, flows.AmazonS3, "use1-az1"), "S3", "us-east-1"),
			Cost{NATProcessing: 0.09}},
		// A public IPv4 address of EC2 in the region is not an AWS service
		// endpoint: processing 2 * 0.045 plus $0.01/GB each way, 2 * 0.01
		// (the old rule called it free after processing).
		{"NAT to EC2 in the region, out", withAWS(natRec(flows.Egress, flows.NATGateway, "use1-az1"), "EC2", "us-east-1"),
			Cost{NATProcessing: 0.09, Regional: 0.02}},
		{"NAT from EC2 in the region, in", withAWS(natRec(flows.Ingress, flows.NATGateway, "use1-az1"), "EC2", "us-east-1"),
			Cost{NATProcessing: 0.09, Regional: 0.02}},
		// A NAT whose AZ the record does not say is priced as in another AZ:
		// 2 * 0.045 + 2 * 0.01 (the old rule: 0.09, the crossing free).
		{"NAT of unknown AZ", withAWS(natRec(flows.Egress, flows.NATGateway, ""), "AMAZON", "us-east-1"),
			Cost{NATProcessing: 0.09, InterAZ: 0.02}},
	})
}

func TestNATAssumedCrossing(t *testing.T) {
	m := New(nil)
	known, unknown := natRec(flows.Egress, flows.NATGateway, "use1-az2"), natRec(flows.Egress, flows.NATGateway, "")
	if u := m.usage(&known); u.AssumedCrossing != 0 || u.InterAZ != 2*GB {
		t.Errorf("usage(NAT in use1-az2) = %+v; want 2 GiB crossing, none assumed", u)
	}
	if u := m.usage(&unknown); u.AssumedCrossing != 2*GB || u.InterAZ != 2*GB {
		t.Errorf("usage(NAT of unknown AZ) = %+v; want 2 GiB crossing, all assumed", u)
	}
}
