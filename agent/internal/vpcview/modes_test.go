package vpcview

import (
	"net/netip"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/kube"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
)

// The EKS networking modes, each on an EKS cluster's VPC built in moto and
// read back by Load, with flows put through the agent's collector as it
// makes records: each test asserts the zones, the category and whether the
// remote is reported. docs/agent.md ("EKS networking modes") says what
// each mode looks like in netcost.

// TestEKSNetworkingModes runs each mode's test on its own VPC, in one moto.
func TestEKSNetworkingModes(t *testing.T) {
	api := client(mototest.Start(t))
	for _, m := range []struct {
		name string
		test func(*testing.T, *ec2.Client)
	}{
		{"prefix delegation", testPrefixDelegation},
		{"security groups for pods", testSecurityGroupsForPods},
		{"custom networking", testCustomNetworking},
		{"IPv6", testIPv6Cluster},
		{"Fargate", testFargate},
	} {
		t.Run(m.name, func(t *testing.T) { m.test(t, api) })
	}
}

// eksVPC is a cluster's VPC: nodes in 10.0.1.0/24 (AZ a) and 10.0.2.0/24
// (AZ b), each with an IPv6 /64; a public subnet in AZ b with the NAT
// gateway; custom networking's pod subnets 100.64.0.0/19 (a) and
// 100.64.32.0/19 (b) in a secondary CIDR, whose route table has no route
// out of the VPC, as such non-routable pod subnets often have. The main
// table sends IPv4 to the NAT gateway and IPv6 to an egress-only internet
// gateway.
type eksVPC struct {
	api                            *ec2.Client
	id                             string
	nodeA, nodeB, podsA, podsB     string // subnet IDs
	nat                            string
	azA, azB                       string // AZ IDs
	v6A, v6B                       netip.Prefix
	nodeAddrA, nodeAddrB           netip.Addr // the nodes' primary addresses
	nodeInterfaceA, nodeInterfaceB string
}

func newEKSVPC(t *testing.T, api *ec2.Client) *eksVPC {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e := &eksVPC{api: api}
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"),
		AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	must(err)
	e.id = aws.ToString(vpc.Vpc.VpcId)
	if len(vpc.Vpc.Ipv6CidrBlockAssociationSet) != 1 {
		t.Fatalf("moto gave the VPC IPv6 CIDRs %+v; want one /56", vpc.Vpc.Ipv6CidrBlockAssociationSet)
	}
	v6 := netip.MustParsePrefix(aws.ToString(vpc.Vpc.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock))
	_, err = api.AssociateVpcCidrBlock(ctx, &ec2.AssociateVpcCidrBlockInput{VpcId: aws.String(e.id),
		CidrBlock: aws.String("100.64.0.0/16")})
	must(err)
	subnet := func(cidr, az string) (string, string) {
		s, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(e.id), CidrBlock: aws.String(cidr),
			AvailabilityZone: aws.String(az)})
		must(err)
		return aws.ToString(s.Subnet.SubnetId), aws.ToString(s.Subnet.AvailabilityZoneId)
	}
	e.nodeA, e.azA = subnet("10.0.1.0/24", "us-east-1a")
	e.nodeB, e.azB = subnet("10.0.2.0/24", "us-east-1b")
	pub, _ := subnet("10.0.101.0/24", "us-east-1b")
	e.podsA, _ = subnet("100.64.0.0/19", "us-east-1a")
	e.podsB, _ = subnet("100.64.32.0/19", "us-east-1b")
	// The nodes' subnets are dual-stack: the first two /64s of the VPC's /56.
	b := v6.Addr().As16()
	b[7] = 1
	e.v6A = netip.PrefixFrom(netip.AddrFrom16(b), 64)
	b[7] = 2
	e.v6B = netip.PrefixFrom(netip.AddrFrom16(b), 64)
	for s, p := range map[string]netip.Prefix{e.nodeA: e.v6A, e.nodeB: e.v6B} {
		_, err := api.AssociateSubnetCidrBlock(ctx, &ec2.AssociateSubnetCidrBlockInput{SubnetId: aws.String(s),
			Ipv6CidrBlock: aws.String(p.String())})
		must(err)
	}

	igw, err := api.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(err)
	_, err = api.AttachInternetGateway(ctx,
		&ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(e.id)})
	must(err)
	eigw, err := api.CreateEgressOnlyInternetGateway(ctx,
		&ec2.CreateEgressOnlyInternetGatewayInput{VpcId: aws.String(e.id)})
	must(err)
	eip, err := api.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	nat, err := api.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(pub),
		AllocationId: eip.AllocationId})
	must(err)
	e.nat = aws.ToString(nat.NatGateway.NatGatewayId)

	mains, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{e.id}}, {Name: aws.String("association.main"),
			Values: []string{"true"}}}})
	must(err)
	if len(mains.RouteTables) != 1 {
		t.Fatalf("%d main route tables", len(mains.RouteTables))
	}
	main := mains.RouteTables[0].RouteTableId
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: main,
		DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(e.nat)})
	must(err)
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: main, DestinationIpv6CidrBlock: aws.String("::/0"),
		EgressOnlyInternetGatewayId: eigw.EgressOnlyInternetGateway.EgressOnlyInternetGatewayId})
	must(err)
	rtPub, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(e.id)})
	must(err)
	_, err = api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtPub.RouteTable.RouteTableId,
		DestinationCidrBlock: aws.String("0.0.0.0/0"),
		GatewayId:            igw.InternetGateway.InternetGatewayId})
	must(err)
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPub.RouteTable.RouteTableId,
		SubnetId: aws.String(pub)})
	must(err)
	rtPods, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(e.id)})
	must(err)
	for _, s := range []string{e.podsA, e.podsB} {
		_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPods.RouteTable.RouteTableId,
			SubnetId: aws.String(s)})
		must(err)
	}

	// The nodes' primary network interfaces.
	e.nodeInterfaceA, e.nodeAddrA = e.eni(t, e.nodeA, "node a", "")
	e.nodeInterfaceB, e.nodeAddrB = e.eni(t, e.nodeB, "node b", "")
	return e
}

// eni creates a network interface in subnet and returns its ID and address.
func (e *eksVPC) eni(t *testing.T, subnet, desc string, typ types.NetworkInterfaceCreationType) (string, netip.Addr) {
	t.Helper()
	n, err := e.api.CreateNetworkInterface(t.Context(), &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnet),
		Description: aws.String(desc), InterfaceType: typ})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(n.NetworkInterface.NetworkInterfaceId),
		netip.MustParseAddr(aws.ToString(n.NetworkInterface.PrivateIpAddress))
}

// load reads the VPC back as the agent does, and checks what it must hold.
func (e *eksVPC) load(t *testing.T) *classify.Classifier {
	t.Helper()
	v, err := Load(t.Context(), e.api, "us-east-1", e.id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if e.azA == "" || e.azA == e.azB {
		t.Fatalf("AZ IDs %q and %q; want two", e.azA, e.azB)
	}
	if len(v.LoadBalancers) != 0 || len(v.Endpoints) != 0 {
		t.Errorf("load balancers %+v, endpoints %+v; the cluster's interfaces are neither", v.LoadBalancers, v.Endpoints)
	}
	c, err := classify.New(v, nil)
	if err != nil {
		t.Fatalf("compiling the view: %v", err)
	}
	return c
}

// cluster is what the Kubernetes API says: the agent runs (Ready) on the
// EC2 nodes node-a and node-b, and pods have addresses.
func cluster(pods map[string]kube.Pod) *kube.Index {
	idx := kube.NewIndex()
	for _, n := range []string{"node-a", "node-b"} {
		idx.SetPod(kube.Pod{UID: "agent-" + n, Name: "netcost-agent-" + n, Namespace: "netcost", Workload: "netcost-agent",
			WorkloadKind: "DaemonSet", Node: n, Ready: true})
	}
	idx.SetSelf(kube.Self{Node: "node-a", Namespace: "netcost", Pod: "netcost-agent-node-a"})
	for ip, p := range pods {
		p.UID, p.Namespace, p.Workload, p.WorkloadKind = "uid-"+p.Name, "shop", p.Name, "Deployment"
		p.IPs = []netip.Addr{netip.MustParseAddr(ip)}
		idx.SetPod(p)
	}
	return idx
}

// flow is one egress flow of 1000 bytes from local to remote, as the kernel
// counts it.
type flow struct{ local, remote string }

// records puts flows through the collector of the agent on a node at
// nodeIP, with the view and the cluster given, and returns the records by
// "local remote".
func records(t *testing.T, c *classify.Classifier, nodeIP netip.Addr, idx *kube.Index,
	fl ...flow) map[flow]flows.Record {
	t.Helper()
	col := &collect.Collector{Region: "us-east-1", Node: "node-a", NodeIP: nodeIP, Classifier: c,
		Remote: func(ip netip.Addr) (collect.RemoteNames, bool) {
			r, ok := idx.Remote(ip)
			return collect.RemoteNames{Pod: collect.Names{Pod: r.Pod.Name, Namespace: r.Pod.Namespace, Workload: r.Pod.Workload},
				Node: r.Node, Reported: r.Reported}, ok
		}}
	d := &bpf.Deltas{}
	for _, f := range fl {
		d.Flows = append(d.Flows, bpf.Flow{CgroupID: 0, Local: netip.AddrPortFrom(netip.MustParseAddr(f.local), 40000),
			Remote: netip.AddrPortFrom(netip.MustParseAddr(f.remote), 443), Proto: 6, Dir: bpf.Egress, Bytes: 1000, Packets: 1})
	}
	col.Add(d)
	out := map[flow]flows.Record{}
	for _, r := range col.Flush(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), time.Minute, 0) {
		out[flow{r.LocalIP, r.RemoteIP}] = r
	}
	if len(out) != len(fl) {
		t.Fatalf("%d records for %d flows: %+v", len(out), len(fl), out)
	}
	return out
}

// want is what a record must say.
type want struct {
	category          flows.Category
	localAZ, remoteAZ string // AZ IDs
	via               string
	reported          bool
	remotePod         string
}

func check(t *testing.T, got map[flow]flows.Record, wants map[flow]want) {
	t.Helper()
	for f, w := range wants {
		r := got[f]
		if r.Category != w.category || r.LocalAZID != w.localAZ || r.RemoteAZID != w.remoteAZ || r.Via != w.via ||
			r.RemoteReported() != w.reported || r.RemotePod != w.remotePod {
			t.Errorf("%s -> %s: %s from %q to %q via %q, reported %v, remote pod %q;\n"+
				"want %s from %q to %q via %q, reported %v, remote pod %q",
				f.local, f.remote, r.Category, r.LocalAZID, r.RemoteAZID, r.Via, r.RemoteReported(), r.RemotePod,
				w.category, w.localAZ, w.remoteAZ, w.via, w.reported, w.remotePod)
		}
	}
}

// testPrefixDelegation: with VPC CNI prefix delegation, pods take their
// addresses from /28 prefixes assigned to the node's interface, within the
// node's subnet, so netcost places them by that subnet like any address;
// it reads no interface for it. moto 5.2 accepts AssignPrivateIpAddresses
// with Ipv4Prefixes but lists no prefix on the interface afterwards (the
// test logs what it gets): the pods' addresses are the prefixes asked for.
func testPrefixDelegation(t *testing.T, api *ec2.Client) {
	e := newEKSVPC(t, api)
	for eni, prefix := range map[string]string{e.nodeInterfaceA: "10.0.1.48/28", e.nodeInterfaceB: "10.0.2.64/28"} {
		_, err := e.api.AssignPrivateIpAddresses(t.Context(),
			&ec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eni),
				Ipv4Prefixes: []string{prefix}})
		if err != nil {
			t.Fatalf("assigning %s to %s: %v", prefix, eni, err)
		}
		out, err := e.api.DescribeNetworkInterfaces(t.Context(),
			&ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, p := range out.NetworkInterfaces[0].Ipv4Prefixes {
			listed = append(listed, aws.ToString(p.Ipv4Prefix))
		}
		if len(listed) > 0 && (len(listed) != 1 || listed[0] != prefix) {
			t.Errorf("%s lists prefixes %v; want %s", eni, listed, prefix)
		}
		t.Logf("%s: prefixes asked %s, listed by moto %v", eni, prefix, listed)
	}
	c := e.load(t)
	idx := cluster(map[string]kube.Pod{"10.0.1.60": {Name: "cart", Node: "node-a"}, "10.0.2.70": {Name: "db",
		Node: "node-b"}})
	// Every address of node a's prefix is placed in node a's subnet.
	for a := netip.MustParseAddr("10.0.1.48"); a.Compare(netip.MustParseAddr("10.0.1.63")) <= 0; a = a.Next() {
		if l, ok := c.Local(a); !ok || l.Subnet().ID != e.nodeA || l.Subnet().AZID != e.azA {
			t.Errorf("%s from node a's prefix is placed in %+v; want %s in %s", a, l.Subnet(), e.nodeA, e.azA)
		}
	}
	got := records(t, c, e.nodeAddrA, idx, flow{"10.0.1.50", "10.0.2.70"}, flow{"10.0.1.50", "10.0.1.60"},
		flow{"10.0.1.50", "185.166.143.10"})
	check(t, got, map[flow]want{
		{"10.0.1.50", "10.0.2.70"}:      {flows.InterAZ, e.azA, e.azB, "", true, "db"},
		{"10.0.1.50", "10.0.1.60"}:      {flows.IntraAZ, e.azA, e.azA, "", true, "cart"},
		{"10.0.1.50", "185.166.143.10"}: {flows.NATGateway, e.azA, "", e.nat, false, ""},
	})
}

// testSecurityGroupsForPods: a pod with its own security groups has a
// branch network interface on its node's trunk interface, in the node's
// subnet; netcost places it by that subnet, and takes the branch interface
// for neither a load balancer nor an endpoint. moto 5.2 accepts the
// interface types trunk and branch but describes both as "interface".
func testSecurityGroupsForPods(t *testing.T, api *ec2.Client) {
	e := newEKSVPC(t, api)
	e.eni(t, e.nodeA, "EKS trunk interface for node-a", types.NetworkInterfaceCreationTypeTrunk)
	branchENI, branch := e.eni(t, e.nodeA, "aws-k8s-branch-eni", types.NetworkInterfaceCreationTypeBranch)
	out, err := e.api.DescribeNetworkInterfaces(t.Context(),
		&ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{branchENI}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("moto describes the branch interface as type %q", out.NetworkInterfaces[0].InterfaceType)
	c := e.load(t)
	idx := cluster(map[string]kube.Pod{branch.String(): {Name: "payments", Node: "node-a"}, "10.0.2.70": {Name: "web",
		Node: "node-b"}})
	got := records(t, c, e.nodeAddrB, idx, flow{"10.0.2.70", branch.String()}, flow{branch.String(), "10.0.2.70"},
		flow{branch.String(), e.nodeAddrA.String()})
	check(t, got, map[flow]want{
		{"10.0.2.70", branch.String()}:          {flows.InterAZ, e.azB, e.azA, "", true, "payments"},
		{branch.String(), "10.0.2.70"}:          {flows.InterAZ, e.azA, e.azB, "", true, "web"},
		{branch.String(), e.nodeAddrA.String()}: {flows.IntraAZ, e.azA, e.azA, "", false, ""},
	})
	for f, r := range got {
		if r.RemoteLB != "" {
			t.Errorf("%s -> %s: remote_lb %q; a branch interface is no load balancer", f.local, f.remote, r.RemoteLB)
		}
	}
}

// testCustomNetworking: the pods' subnets are in the nodes' AZs but in a
// secondary CIDR (100.64.0.0/16 here), with a route table that leads
// nowhere outside the VPC. Pods are placed by their own subnets; their
// IPv4 flows out of the VPC leave with the node's address (the VPC CNI's
// SNAT), so the node's subnet's routes decide them: the NAT gateway.
func testCustomNetworking(t *testing.T, api *ec2.Client) {
	e := newEKSVPC(t, api)
	c := e.load(t)
	idx := cluster(map[string]kube.Pod{"100.64.0.10": {Name: "cart", Node: "node-a"}, "100.64.32.10": {Name: "db",
		Node: "node-b"}})
	node := e.nodeAddrA.String()
	got := records(t, c, e.nodeAddrA, idx, flow{"100.64.0.10", "100.64.32.10"}, flow{"100.64.0.10", node},
		flow{"100.64.0.10", "185.166.143.10"}, flow{"100.64.0.10", "100.64.0.11"})
	check(t, got, map[flow]want{
		{"100.64.0.10", "100.64.32.10"}:   {flows.InterAZ, e.azA, e.azB, "", true, "db"},
		{"100.64.0.10", node}:             {flows.IntraAZ, e.azA, e.azA, "", true, ""},
		{"100.64.0.10", "185.166.143.10"}: {flows.NATGateway, e.azA, "", e.nat, false, ""},
		{"100.64.0.10", "100.64.0.11"}:    {flows.IntraAZ, e.azA, e.azA, "", false, ""},
	})
	if r := got[flow{"100.64.0.10", "185.166.143.10"}]; r.LocalSubnet != e.podsA || r.ViaAZID != e.azB {
		t.Errorf("pod -> internet: local subnet %s, NAT in %s; want the pod's %s, the NAT's %s", r.LocalSubnet, r.ViaAZID,
			e.podsA, e.azB)
	}
}

// testIPv6Cluster: pods have IPv6 addresses from their node's /64 (from /80
// prefixes on its interface), placed by the subnet's IPv6 CIDR; IPv6 flows
// out leave through the egress-only internet gateway. An IPv6 cluster's
// pods reach IPv4 through an address of 169.254.172.0/22 that the VPC CNI
// translates to the node's: those flows are the node's, in its AZ, through
// its routes.
func testIPv6Cluster(t *testing.T, api *ec2.Client) {
	e := newEKSVPC(t, api)
	c := e.load(t)
	podA := e.v6A.Addr().Next().Next() // 2...:1::2
	b := e.v6B.Addr().As16()
	b[9], b[15] = 0x10, 7
	podB := netip.AddrFrom16(b) // in one of node b's /80 prefixes
	idx := cluster(map[string]kube.Pod{podA.String(): {Name: "cart", Node: "node-a"}, podB.String(): {Name: "db",
		Node: "node-b"}})
	got := records(t, c, e.nodeAddrA, idx, flow{podA.String(), podB.String()}, flow{podA.String(), "2606:4700:4700::1111"},
		flow{"169.254.172.5", "185.166.143.10"}, flow{"169.254.172.5", e.nodeAddrB.String()})
	check(t, got, map[flow]want{
		{podA.String(), podB.String()}:          {flows.InterAZ, e.azA, e.azB, "", true, "db"},
		{podA.String(), "2606:4700:4700::1111"}: {flows.Internet, e.azA, "", "", false, ""},
		{"169.254.172.5", "185.166.143.10"}:     {flows.NATGateway, e.azA, "", e.nat, false, ""},
		{"169.254.172.5", e.nodeAddrB.String()}: {flows.InterAZ, e.azA, e.azB, "", false, ""},
	})
}

// testFargate: a Fargate pod has its own interface in a subnet of the VPC
// and no agent (Fargate runs no DaemonSet), so its peers' records place it
// by its subnet and say it is not reported: they price its side too.
func testFargate(t *testing.T, api *ec2.Client) {
	e := newEKSVPC(t, api)
	_, fargate := e.eni(t, e.nodeB, "[EKS] fargate pod", "")
	c := e.load(t)
	idx := cluster(map[string]kube.Pod{"10.0.1.60": {Name: "cart", Node: "node-a"},
		fargate.String(): {Name: "api", Node: "fargate-ip-" + fargate.String() + ".ec2.internal"},
		"10.0.2.70":      {Name: "db", Node: "node-b"}})
	got := records(t, c, e.nodeAddrA, idx, flow{"10.0.1.60", fargate.String()}, flow{"10.0.1.60", "10.0.2.70"})
	check(t, got, map[flow]want{
		{"10.0.1.60", fargate.String()}: {flows.InterAZ, e.azA, e.azB, "", false, "api"},
		{"10.0.1.60", "10.0.2.70"}:      {flows.InterAZ, e.azA, e.azB, "", true, "db"},
	})
}
