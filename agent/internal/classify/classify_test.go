package classify

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/ipranges"
)

const rangesFixture = `{"syncToken": "1", "prefixes": [
  {"ip_prefix": "52.216.0.0/15", "region": "us-east-1", "service": "AMAZON"},
  {"ip_prefix": "52.216.0.0/15", "region": "us-east-1", "service": "S3"},
  {"ip_prefix": "3.218.180.0/22", "region": "us-east-1", "service": "DYNAMODB"},
  {"ip_prefix": "52.46.128.0/19", "region": "us-east-1", "service": "AMAZON"},
  {"ip_prefix": "3.5.64.0/21", "region": "eu-west-1", "service": "S3"}]}`

// sampleVPC is the sample store's VPC: private subnets in use1-az1 and
// use1-az2, a public subnet in use1-az2 with the NAT gateway, an S3 gateway
// endpoint on az1's route table, an SQS interface endpoint, a peering.
func sampleVPC() VPC {
	p := netip.MustParsePrefix
	return VPC{
		ID: "vpc-1", Region: "us-east-1",
		CIDRs: []netip.Prefix{p("10.0.0.0/16"), p("2600:1f18:1::/56")},
		Subnets: []Subnet{
			{ID: "subnet-a", CIDR: p("10.0.1.0/24"), AZ: "us-east-1a", AZID: "use1-az1"},
			{ID: "subnet-b", CIDR: p("10.0.2.0/24"), AZ: "us-east-1b", AZID: "use1-az2"},
			{ID: "subnet-pub", CIDR: p("10.0.101.0/24"), AZ: "us-east-1b", AZID: "use1-az2"},
			{ID: "subnet-v6", CIDR: p("2600:1f18:1:1::/64"), AZ: "us-east-1a", AZID: "use1-az1"},
		},
		RouteTables: []RouteTable{
			{ID: "rtb-a", Subnets: []string{"subnet-a", "subnet-v6"}, Routes: []Route{
				{Dest: p("10.0.0.0/16"), Target: "local"},
				{Dest: p("0.0.0.0/0"), Target: "nat-b"},
				{Dest: p("::/0"), Target: "eigw-1"},
				{PrefixListID: "pl-s3", Target: "vpce-s3"},
				{Dest: p("172.31.0.0/16"), Target: "pcx-1"},
			}},
			{ID: "rtb-main", Main: true, Routes: []Route{
				{Dest: p("10.0.0.0/16"), Target: "local"},
				{Dest: p("0.0.0.0/0"), Target: "nat-b"},
			}},
			{ID: "rtb-pub", Subnets: []string{"subnet-pub"}, Routes: []Route{
				{Dest: p("10.0.0.0/16"), Target: "local"},
				{Dest: p("0.0.0.0/0"), Target: "igw-1"},
			}},
		},
		NATGateways: []NATGateway{{ID: "nat-b", SubnetID: "subnet-pub"}},
		Endpoints:   []Endpoint{{ID: "vpce-sqs", Service: "com.amazonaws.us-east-1.sqs", IPs: []netip.Addr{netip.MustParseAddr("10.0.1.200")}}},
		PrefixLists: map[string][]netip.Prefix{"pl-s3": {p("52.216.0.0/15")}},
		LoadBalancers: []LBInterface{
			{LB: "app/web/50dc6c495c0c9188", AZ: "us-east-1a", AZID: "use1-az1",
				IPs: []netip.Addr{netip.MustParseAddr("10.0.1.77"), netip.MustParseAddr("2600:1f18:1:1::77")}},
			{LB: "net/tcp-in/fe67e401c04c39d7", AZ: "us-east-1b", AZID: "use1-az2",
				IPs: []netip.Addr{netip.MustParseAddr("10.0.2.88")}},
		},
	}
}

func newClassifier(t testing.TB) *Classifier {
	t.Helper()
	r, err := ipranges.Parse(strings.NewReader(rangesFixture))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(sampleVPC(), r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	c := newClassifier(t)
	tests := []struct {
		local, remote string
		want          Result
	}{
		{"10.0.1.15", "10.0.1.30", Result{Category: flows.IntraAZ, RemoteAZ: "us-east-1a", RemoteAZID: "use1-az1", RemoteSubnet: "subnet-a"}},
		{"10.0.1.15", "10.0.2.33", Result{Category: flows.InterAZ, RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2", RemoteSubnet: "subnet-b"}},
		{"10.0.2.33", "10.0.101.7", Result{Category: flows.IntraAZ, RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2", RemoteSubnet: "subnet-pub"}},
		{"10.0.1.15", "10.0.1.200", Result{Category: flows.IntraAZ, Via: "vpce-sqs", ViaAZID: "use1-az1", RemoteAZ: "us-east-1a", RemoteAZID: "use1-az1", RemoteSubnet: "subnet-a"}},
		{"10.0.1.15", "52.216.8.43", Result{Category: flows.AmazonS3, Via: "vpce-s3", RemoteAWSService: "S3", RemoteRegion: "us-east-1"}},
		// Load balancers' interfaces: placed by their subnets as any address, and named.
		{"10.0.2.33", "10.0.1.77", Result{Category: flows.InterAZ, RemoteAZ: "us-east-1a", RemoteAZID: "use1-az1",
			RemoteSubnet: "subnet-a", RemoteLB: "app/web/50dc6c495c0c9188"}},
		{"10.0.2.33", "10.0.2.88", Result{Category: flows.IntraAZ, RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2",
			RemoteSubnet: "subnet-b", RemoteLB: "net/tcp-in/fe67e401c04c39d7"}},
		{"2600:1f18:1:1::5", "2600:1f18:1:1::77", Result{Category: flows.IntraAZ, RemoteAZ: "us-east-1a",
			RemoteAZID: "use1-az1", RemoteSubnet: "subnet-v6", RemoteLB: "app/web/50dc6c495c0c9188"}},
		{"10.0.2.20", "52.216.8.43", Result{Category: flows.AmazonS3, Via: "nat-b", ViaAZID: "use1-az2", RemoteAWSService: "S3", RemoteRegion: "us-east-1"}},
		{"10.0.1.15", "3.218.182.189", Result{Category: flows.AmazonDynamoDB, Via: "nat-b", ViaAZID: "use1-az2", RemoteAWSService: "DYNAMODB", RemoteRegion: "us-east-1"}},
		{"10.0.1.15", "52.46.151.20", Result{Category: flows.NATGateway, Via: "nat-b", ViaAZID: "use1-az2", RemoteAWSService: "AMAZON", RemoteRegion: "us-east-1"}},
		{"10.0.1.15", "185.166.143.10", Result{Category: flows.NATGateway, Via: "nat-b", ViaAZID: "use1-az2"}},
		{"10.0.1.15", "3.5.64.9", Result{Category: flows.InterRegion, Via: "nat-b", ViaAZID: "use1-az2", RemoteAWSService: "S3", RemoteRegion: "eu-west-1"}},
		{"10.0.101.5", "185.166.143.10", Result{Category: flows.Internet}},
		{"10.0.101.5", "52.216.8.43", Result{Category: flows.AmazonS3, RemoteAWSService: "S3", RemoteRegion: "us-east-1"}},
		{"10.0.1.15", "172.31.5.5", Result{Category: flows.InterVPC, Via: "pcx-1"}},
		{"2600:1f18:1:1::5", "2606:4700::1111", Result{Category: flows.Internet}},
		// Never a guess:
		{"10.0.1.15", "100.64.5.5", Result{Category: flows.Unclassified}},
		{"10.0.1.15", "192.168.1.1", Result{Category: flows.Unclassified}},
		{"10.0.1.15", "10.0.200.5", Result{Category: flows.Unclassified}},  // in the VPC, in no known subnet
		{"192.168.0.1", "10.0.1.15", Result{Category: flows.Unclassified}}, // local not in the VPC
		{"10.0.2.20", "172.31.5.5", Result{Category: flows.Unclassified}},  // no route from az2's table
	}
	for _, tt := range tests {
		l, _ := c.Local(netip.MustParseAddr(tt.local))
		if got := l.Classify(netip.MustParseAddr(tt.remote)); got != tt.want {
			t.Errorf("Classify(%s -> %s) = %+v; want %+v", tt.local, tt.remote, got, tt.want)
		}
	}
}

// TestInterfacesOutsideSubnets: an endpoint's or load balancer's address in
// no known subnet, inside the VPC or out, changes nothing: it is classified
// as any address there.
func TestInterfacesOutsideSubnets(t *testing.T) {
	v := sampleVPC()
	v.Endpoints = append(v.Endpoints, Endpoint{ID: "vpce-x", IPs: []netip.Addr{netip.MustParseAddr("10.0.200.9")}})
	v.LoadBalancers = append(v.LoadBalancers, LBInterface{LB: "net/x/1", IPs: []netip.Addr{netip.MustParseAddr("185.166.143.10")}})
	c, err := New(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := c.Local(netip.MustParseAddr("10.0.1.15"))
	for remote, want := range map[string]Result{
		"10.0.200.9":     {Category: flows.Unclassified},
		"185.166.143.10": {Category: flows.NATGateway, Via: "nat-b", ViaAZID: "use1-az2"},
	} {
		if got := l.Classify(netip.MustParseAddr(remote)); got != want {
			t.Errorf("Classify(%s) = %+v; want %+v", remote, got, want)
		}
	}
	if c.InVPC(netip.MustParseAddr("185.166.143.10")) {
		t.Error("a load balancer's public address is in the VPC")
	}
}

func TestNewErrors(t *testing.T) {
	v := sampleVPC()
	delete(v.PrefixLists, "pl-s3")
	if _, err := New(v, nil); err == nil || !strings.Contains(err.Error(), "prefix list pl-s3") {
		t.Errorf("New without the prefix list: %v", err)
	}
	// Without ip-ranges, public addresses are classified by route alone.
	c, err := New(sampleVPC(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := c.Local(netip.MustParseAddr("10.0.2.20"))
	if got := l.Classify(netip.MustParseAddr("52.216.8.43")); got.Category != flows.NATGateway || got.RemoteAWSService != "" {
		t.Errorf("no ip-ranges: %+v; want NAT_GATEWAY without a service", got)
	}
}

// BenchmarkClassify mixes the remotes a node sees: mostly its VPC, then
// AWS services and the internet.
func BenchmarkClassify(b *testing.B) {
	c := newClassifier(b)
	l, _ := c.Local(netip.MustParseAddr("10.0.1.15"))
	var remotes []netip.Addr
	for _, s := range []string{"10.0.1.30", "10.0.2.33", "10.0.2.34", "10.0.1.31", "10.0.2.35", "10.0.1.200", "52.216.8.43", "3.218.182.189", "52.46.151.20", "185.166.143.10"} {
		remotes = append(remotes, netip.MustParseAddr(s))
	}
	i := 0
	cpu := threadCPU(b)
	for b.Loop() {
		l.Classify(remotes[i%len(remotes)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
	// Per second of CPU, which other processes on a shared machine do not
	// take from the benchmark as they take wall-clock time.
	b.ReportMetric(float64(b.N)/(threadCPU(b)-cpu).Seconds()/1e6, "Mlookups/cpu-s")
}

// threadCPU is the CPU time the calling thread has used; the benchmark's
// goroutine is locked to its thread, which it keeps.
func threadCPU(b *testing.B) time.Duration {
	runtime.LockOSThread()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
