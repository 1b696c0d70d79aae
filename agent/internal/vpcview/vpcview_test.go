package vpcview

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/ipranges"
	"github.com/netcost/netcost/internal/mototest"
)

func client(url string) *ec2.Client {
	return ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// TestLoadFromMoto builds the sample store's VPC in moto (two private
// subnets, a public one with the NAT gateway, az1's route table with an S3
// gateway endpoint, az2's the main table) and reads it back.
func TestLoadFromMoto(t *testing.T) {
	api := client(mototest.Start(t))
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(err)
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	subnet := func(cidr, az string) string {
		s, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)})
		must(err)
		return aws.ToString(s.Subnet.SubnetId)
	}
	subA, subB, subPub := subnet("10.0.1.0/24", "us-east-1a"), subnet("10.0.2.0/24", "us-east-1b"), subnet("10.0.101.0/24", "us-east-1b")
	igw, err := api.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(err)
	_, err = api.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)})
	must(err)
	eip, err := api.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	nat, err := api.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subPub), AllocationId: eip.AllocationId})
	must(err)
	natID := aws.ToString(nat.NatGateway.NatGatewayId)

	rtPub, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	must(err)
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtPub.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGateway.InternetGatewayId})
	must(err)
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPub.RouteTable.RouteTableId, SubnetId: aws.String(subPub)})
	must(err)
	rtA, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	must(err)
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtA.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)})
	must(err)
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtA.RouteTable.RouteTableId, SubnetId: aws.String(subA)})
	must(err)
	// az2's subnet uses the main table: a default route to the NAT there too.
	mains, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	must(err)
	if len(mains.RouteTables) != 1 {
		t.Fatalf("%d main route tables", len(mains.RouteTables))
	}
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: mains.RouteTables[0].RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)})
	must(err)
	s3ep, err := api.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(vpcID), ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		VpcEndpointType: types.VpcEndpointTypeGateway, RouteTableIds: []string{aws.ToString(rtA.RouteTable.RouteTableId)}})
	must(err)

	if _, err := Load(ctx, api, "us-east-1", "vpc-0000000000000dead"); err == nil || !strings.Contains(err.Error(), "describing VPC vpc-0000000000000dead") {
		t.Errorf("Load of a missing VPC: error = %v; want one naming it", err)
	}
	v, err := Load(ctx, api, "us-east-1", vpcID)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	azID := map[string]string{}
	for _, s := range v.Subnets {
		azID[s.ID] = s.AZID
	}
	if len(v.Subnets) < 3 || azID[subA] == "" || azID[subB] == "" || azID[subA] == azID[subB] || azID[subB] != azID[subPub] {
		t.Fatalf("subnets %+v: want AZ IDs, az1 != az2 == public", v.Subnets)
	}
	if len(v.NATGateways) != 1 || v.NATGateways[0].SubnetID != subPub {
		t.Errorf("NAT gateways %+v; want %s in %s", v.NATGateways, natID, subPub)
	}
	var sawEndpoint bool
	for _, e := range v.Endpoints {
		sawEndpoint = sawEndpoint || e.ID == aws.ToString(s3ep.VpcEndpoint.VpcEndpointId)
	}
	if !sawEndpoint {
		t.Errorf("endpoints %+v lack the S3 gateway endpoint", v.Endpoints)
	}
	c, err := classify.New(v, nil)
	if err != nil {
		t.Fatalf("compiling the view: %v", err)
	}
	local, ok := c.Local(netip.MustParseAddr("10.0.1.10"))
	if !ok {
		t.Fatal("10.0.1.10 is in no subnet")
	}
	if got := local.Classify(netip.MustParseAddr("10.0.2.10")); got.Category != flows.InterAZ || got.RemoteAZID != azID[subB] {
		t.Errorf("az1 -> az2 = %+v; want INTER_AZ to %s", got, azID[subB])
	}
	if got := local.Classify(netip.MustParseAddr("185.166.143.10")); got.Category != flows.NATGateway || got.Via != natID || got.ViaAZID != azID[subPub] {
		t.Errorf("az1 -> internet = %+v; want NAT_GATEWAY via %s in %s", got, natID, azID[subPub])
	}
	pub, _ := c.Local(netip.MustParseAddr("10.0.101.7"))
	if got := pub.Classify(netip.MustParseAddr("185.166.143.10")); got.Category != flows.Internet {
		t.Errorf("public subnet -> internet = %+v; want INTERNET", got)
	}
	// The gateway endpoint's route names moto's S3 prefix list: an address
	// in it, which ip-ranges says is S3, goes through the endpoint from az1
	// and through the NAT from az2.
	var s3 netip.Prefix
	for _, cidrs := range v.PrefixLists {
		if len(cidrs) > 0 {
			s3 = cidrs[0]
		}
	}
	if !s3.IsValid() {
		t.Fatalf("prefix lists %v: want the S3 gateway endpoint's entries", v.PrefixLists)
	}
	ranges, err := ipranges.Parse(strings.NewReader(fmt.Sprintf(`{"syncToken":"1","prefixes":[{"ip_prefix":%q,"region":"us-east-1","service":"S3"}]}`, s3)))
	must(err)
	c, err = classify.New(v, ranges)
	must(err)
	addr := s3.Addr().Next()
	local, _ = c.Local(netip.MustParseAddr("10.0.1.10"))
	if got := local.Classify(addr); got.Category != flows.AmazonS3 || got.Via != aws.ToString(s3ep.VpcEndpoint.VpcEndpointId) {
		t.Errorf("az1 -> S3 %v = %+v; want AMAZON_S3 via the gateway endpoint", addr, got)
	}
	other, _ := c.Local(netip.MustParseAddr("10.0.2.10"))
	if got := other.Classify(addr); got.Category != flows.AmazonS3 || got.Via != natID {
		t.Errorf("az2 -> S3 %v = %+v; want AMAZON_S3 via %s", addr, got, natID)
	}
}
