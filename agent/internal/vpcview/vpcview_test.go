package vpcview

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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
	moto := mototest.Start(t)
	api := client(moto)
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

	lbsInMoto(t, api, moto, vpcID, subA, subB)

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

	// Load balancers: moto has none to show (lbsInMoto), so the recorded
	// answers stand in for EC2's listing of their interfaces, in this VPC.
	rec := &recordedENIs{ec2API: api, t: t, vpcID: vpcID, pages: recordedPages(t, "load-balancers")}
	v, err = Load(ctx, rec, "us-east-1", vpcID)
	if err != nil {
		t.Fatalf("Load with the recorded load balancers: %v", err)
	}
	if rec.calls != 2 {
		t.Errorf("%d calls for the load balancers' interfaces; want 2, one a recorded page", rec.calls)
	}
	c, err = classify.New(v, nil)
	must(err)
	for _, tt := range []struct {
		local, remote string
		cat           flows.Category
		lb            string
	}{
		{"10.0.2.10", "10.0.1.77", flows.InterAZ, "app/web/50dc6c495c0c9188"},
		{"10.0.1.10", "10.0.2.88", flows.InterAZ, "net/tcp-in/fe67e401c04c39d7"},
		{"10.0.2.10", "10.0.2.99", flows.IntraAZ, "gwy/inspect/0123456789abcdef"},
		{"10.0.1.10", "10.0.1.67", flows.IntraAZ, "classic/legacy-web"},
		{"10.0.1.10", "10.0.1.55", flows.IntraAZ, ""}, // a user's interface that only claims to be an ALB's
	} {
		l, _ := c.Local(netip.MustParseAddr(tt.local))
		if got := l.Classify(netip.MustParseAddr(tt.remote)); got.Category != tt.cat || got.RemoteLB != tt.lb {
			t.Errorf("%s -> %s = %+v; want %s to load balancer %q", tt.local, tt.remote, got, tt.cat, tt.lb)
		}
	}
}

// lbsInMoto creates an ALB and an NLB in moto's VPC and looks at the
// network interfaces moto gives them. moto 5.2 gives them none (real ELB
// makes one per subnet, described "ELB app/NAME/ID" or "ELB net/NAME/ID",
// requester-managed by amazon-elb), so the parsing is tested with recorded
// answers; should a later moto give some, they must be recognised. An
// interface anyone creates with such a description, as moto lets the test
// do, is the user's own (not requester-managed): it is no load balancer.
func lbsInMoto(t *testing.T, api *ec2.Client, endpoint, vpcID string, subnets ...string) {
	t.Helper()
	ctx := t.Context()
	alb := createLB(t, endpoint, "web", "application", subnets...)
	createLB(t, endpoint, "tcp-in", "network", subnets...)
	enis, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: vpcFilter(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	var fromELB int
	for _, n := range enis.NetworkInterfaces {
		if strings.HasPrefix(aws.ToString(n.Description), "ELB ") {
			fromELB++
		}
	}
	t.Logf("moto gives its ALB and NLB %d network interfaces (%d in the VPC)", fromELB, len(enis.NetworkInterfaces))
	if fromELB > 0 {
		lbs, err := loadBalancers(ctx, api, vpcID)
		if err != nil || len(lbs) != fromELB {
			t.Errorf("loadBalancers = %+v, %v; want moto's %d load balancer interfaces", lbs, err, fromELB)
		}
	}

	_, id, _ := strings.Cut(alb, ":loadbalancer/")
	mine, err := api.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnets[0]),
		Description: aws.String("ELB " + id)})
	if err != nil {
		t.Fatal(err)
	}
	lbs, err := loadBalancers(ctx, api, vpcID)
	if err != nil {
		t.Fatalf("loadBalancers: %v", err)
	}
	if aws.ToBool(mine.NetworkInterface.RequesterManaged) {
		t.Fatalf("moto made the test's own interface requester-managed: %+v", mine.NetworkInterface)
	}
	for _, lb := range lbs {
		for _, ip := range lb.IPs {
			if ip.String() == aws.ToString(mine.NetworkInterface.PrivateIpAddress) {
				t.Errorf("the test's own interface described %q is taken for %s",
					aws.ToString(mine.NetworkInterface.Description), lb.LB)
			}
		}
	}
}

// createLB creates an internal load balancer of type typ (application,
// network) through the ELBv2 query API, signed as the SDK signs, and
// returns its ARN. The module has no ELBv2 client, and a test is no reason
// to add one.
func createLB(t *testing.T, endpoint, name, typ string, subnets ...string) string {
	t.Helper()
	form := url.Values{"Action": {"CreateLoadBalancer"}, "Version": {"2015-12-01"}, "Name": {name}, "Type": {typ},
		"Scheme": {"internal"}}
	for i, s := range subnets {
		form.Set(fmt.Sprintf("Subnets.member.%d", i+1), s)
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	err = v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "elasticloadbalancing", "us-east-1",
		time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ARN string `xml:"CreateLoadBalancerResult>LoadBalancers>member>LoadBalancerArn"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.ARN == "" {
		t.Fatalf("CreateLoadBalancer %s (%s): status %d, %v, ARN %q", name, typ, resp.StatusCode, err, out.ARN)
	}
	return out.ARN
}

// recordedENIs answers the listing of the load balancers' interfaces with
// recorded pages, shaped as EC2's answers (and the AWS CLI reference's
// examples) are, and checks that the listing asks for the VPC's ELB
// interfaces; every other call goes to the API it embeds.
type recordedENIs struct {
	ec2API
	t     *testing.T
	vpcID string
	pages map[string]*ec2.DescribeNetworkInterfacesOutput // by the NextToken that asks for each; "" for the first
	calls int
}

func (r *recordedENIs) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput,
	opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if len(in.NetworkInterfaceIds) > 0 {
		return r.ec2API.DescribeNetworkInterfaces(ctx, in, opts...)
	}
	want := []types.Filter{{Name: aws.String("vpc-id"), Values: []string{r.vpcID}},
		{Name: aws.String("description"), Values: []string{"ELB *"}}}
	if !reflect.DeepEqual(in.Filters, want) {
		r.t.Errorf("DescribeNetworkInterfaces filters %s; want %s", filterString(in.Filters), filterString(want))
	}
	r.calls++
	page, ok := r.pages[aws.ToString(in.NextToken)]
	if !ok {
		return nil, fmt.Errorf("no recorded page for NextToken %q", aws.ToString(in.NextToken))
	}
	return page, nil
}

func filterString(fs []types.Filter) string {
	var s []string
	for _, f := range fs {
		s = append(s, aws.ToString(f.Name)+"="+strings.Join(f.Values, ","))
	}
	return strings.Join(s, " ")
}

// recordedPages reads testdata/DescribeNetworkInterfaces/NAME-N.json, the
// pages of one answer in order, each keyed by the token that asks for it.
func recordedPages(t *testing.T, name string) map[string]*ec2.DescribeNetworkInterfacesOutput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "DescribeNetworkInterfaces", name+"-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded pages %s: %v", name, err)
	}
	slices.Sort(files)
	pages := map[string]*ec2.DescribeNetworkInterfacesOutput{}
	token := ""
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var out ec2.DescribeNetworkInterfacesOutput
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pages[token] = &out
		token = aws.ToString(out.NextToken)
	}
	return pages
}

// TestLoadBalancers reads the recorded answer's two pages: the four kinds
// of load balancer, named from their interfaces' descriptions, with their
// private addresses (not the public one of the internet-facing ALB) and
// AZs; a user's interface described as an ALB's, and an interface whose
// type disagrees with its description, are none.
func TestLoadBalancers(t *testing.T) {
	rec := &recordedENIs{t: t, vpcID: "vpc-0123456789abcdef0", pages: recordedPages(t, "load-balancers")}
	lbs, err := loadBalancers(t.Context(), rec, "vpc-0123456789abcdef0")
	if err != nil {
		t.Fatal(err)
	}
	ips := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	want := []classify.LBInterface{
		{LB: "app/web/50dc6c495c0c9188", AZ: "us-east-1a", AZID: "use1-az6", IPs: ips("10.0.1.77")},
		{LB: "net/tcp-in/fe67e401c04c39d7", AZ: "us-east-1b", AZID: "use1-az1", IPs: ips("10.0.2.88", "2600:1f18:1:2::88")},
		{LB: "gwy/inspect/0123456789abcdef", AZ: "us-east-1b", AZID: "use1-az1", IPs: ips("10.0.2.99")},
		{LB: "classic/legacy-web", AZ: "us-east-1a", AZID: "use1-az6", IPs: ips("10.0.1.66", "10.0.1.67")},
	}
	if !reflect.DeepEqual(lbs, want) {
		t.Errorf("loadBalancers =\n%+v\nwant\n%+v", lbs, want)
	}
	if rec.calls != 2 {
		t.Errorf("%d calls; want 2, one a page", rec.calls)
	}
	failing := &recordedENIs{t: t, vpcID: "vpc-1", pages: nil}
	_, err = loadBalancers(t.Context(), failing, "vpc-1")
	if err == nil || !strings.Contains(err.Error(), "describing the load balancers' network interfaces in vpc-1") {
		t.Errorf("a failing call: error %v; want one saying what was being read", err)
	}
}

func TestLoadBalancerOf(t *testing.T) {
	for _, tt := range []struct {
		desc    string
		typ     types.NetworkInterfaceType
		managed bool
		want    string
	}{
		{"ELB app/web/50dc6c495c0c9188", types.NetworkInterfaceTypeInterface, true, "app/web/50dc6c495c0c9188"},
		{"ELB app/web/50dc6c495c0c9188", types.NetworkInterfaceTypeLoadBalancer, true, "app/web/50dc6c495c0c9188"},
		{"ELB net/tcp-in/fe67e401c04c39d7", types.NetworkInterfaceTypeNetworkLoadBalancer, true,
			"net/tcp-in/fe67e401c04c39d7"},
		{"ELB gwy/inspect/0123456789abcdef", types.NetworkInterfaceTypeGatewayLoadBalancer, true,
			"gwy/inspect/0123456789abcdef"},
		{"ELB legacy-web", types.NetworkInterfaceTypeInterface, true, "classic/legacy-web"},
		{"ELB app/web/50dc6c495c0c9188", types.NetworkInterfaceTypeInterface, false, ""},   // the user's own
		{"ELB net/tcp-in/fe67e401c04c39d7", types.NetworkInterfaceTypeInterface, true, ""}, // type disagrees
		{"ELB app/web/50dc6c495c0c9188", types.NetworkInterfaceTypeVpcEndpoint, true, ""},  // an endpoint's
		{"ELB gwy/inspect/0123456789abcdef", types.NetworkInterfaceTypeGatewayLoadBalancerEndpoint, true, ""},
		{"ELB app/web site/50dc6c495c0c9188", types.NetworkInterfaceTypeInterface, true, ""}, // not a name
		{"ELB ", types.NetworkInterfaceTypeInterface, true, ""},
		{"elb app/web/50dc6c495c0c9188", types.NetworkInterfaceTypeInterface, true, ""},
		{"VPC Endpoint Interface vpce-0a1b2c3d", types.NetworkInterfaceTypeVpcEndpoint, true, ""},
	} {
		n := types.NetworkInterface{Description: aws.String(tt.desc), InterfaceType: tt.typ,
			RequesterManaged: aws.Bool(tt.managed)}
		got, ok := loadBalancerOf(&n)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("loadBalancerOf(%q, %s, managed %v) = %q; want %q", tt.desc, tt.typ, tt.managed, got, tt.want)
		}
	}
}
