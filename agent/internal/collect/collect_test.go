package collect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/window"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

func classifier(t testing.TB) *classify.Classifier {
	t.Helper()
	p := netip.MustParsePrefix
	c, err := classify.New(classify.VPC{Region: "us-east-1", CIDRs: []netip.Prefix{p("10.0.0.0/16")},
		Subnets: []classify.Subnet{{ID: "subnet-a", CIDR: p("10.0.1.0/24"), AZ: "us-east-1a", AZID: "use1-az1"},
			{ID: "subnet-b", CIDR: p("10.0.2.0/24"), AZ: "us-east-1b", AZID: "use1-az2"}},
		RouteTables: []classify.RouteTable{{ID: "rtb", Main: true, Routes: []classify.Route{{Dest: p("0.0.0.0/0"), Target: "nat-b"}}}},
		NATGateways: []classify.NATGateway{{ID: "nat-b", SubnetID: "subnet-b"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddKeepsEveryByte(t *testing.T) {
	ap := netip.MustParseAddrPort
	d := &bpf.Deltas{
		Flows: []bpf.Flow{
			{CgroupID: 7, Local: ap("10.0.1.5:0"), Remote: ap("10.0.2.9:8080"), Proto: 6, Dir: bpf.Egress, Bytes: 1000, Packets: 2},
			{CgroupID: 7, Local: ap("10.0.1.5:0"), Remote: ap("185.166.143.10:443"), Proto: 6, Dir: bpf.Egress, Bytes: 500, Packets: 1},
			{CgroupID: 7, Local: ap("10.0.1.5:0"), Remote: ap("10.0.2.9:0"), Proto: 1, Dir: bpf.Egress, Bytes: 84, Packets: 1}, // ICMP
			{CgroupID: 9, Local: ap("192.168.9.9:53"), Remote: ap("192.168.9.1:0"), Proto: 17, Dir: bpf.Ingress, Bytes: 70, Packets: 1},
			{CgroupID: 9, Dir: bpf.Ingress, Bytes: 33, Packets: 1}, // unparsable
		},
		Overflow: []bpf.Overflow{{CgroupID: 7, Dir: bpf.Egress, Bytes: 4000, Packets: 3}},
		Lost:     map[bpf.Direction]bpf.Overflow{bpf.Ingress: {Dir: bpf.Ingress, Bytes: 9, Packets: 1}},
	}
	c := &Collector{Cluster: "shop", Node: "n1", Region: "us-east-1", InstanceID: "i-0abc123def4567890",
		NodeIP: netip.MustParseAddr("10.0.1.10"), Classifier: classifier(t),
		Names: func(id uint64) (Names, bool) {
			if id == 7 {
				return Names{Pod: "web-1", Namespace: "shop", Workload: "web", WorkloadKind: "Deployment"}, true
			}
			return Names{}, false
		}}
	c.Remote = func(ip netip.Addr) (RemoteNames, bool) {
		if ip == netip.MustParseAddr("10.0.2.9") {
			pod := Names{Pod: "products-1", Namespace: "shop", Workload: "products"}
			return RemoteNames{Pod: pod, Node: "n2", Service: "products", Reported: true}, true
		}
		return RemoteNames{}, false
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c.Add(d)
	c.Add(d) // a second drain adds to the same records
	recs := c.Flush(t0, time.Minute, 0)
	for _, r := range recs {
		if r.Category == flows.InterAZ && (r.RemotePod != "products-1" || r.RemoteNode != "n2" || r.RemoteService != "products" || r.LocalPod != "web-1") {
			t.Errorf("inter-AZ record lacks names: %+v", r)
		}
		// Every record says whether its remote reports the bytes too: only
		// the pod on a node that runs the agent does.
		if reported, ok := r.RemoteReportedRaw.Get(); !ok || reported != (r.RemotePod == "products-1") {
			t.Errorf("record to %s: remote_reported %v; want it set, true for products-1 only", r.RemoteIP, r.RemoteReportedRaw)
		}
		if r.NodeInstanceID != "i-0abc123def4567890" {
			t.Errorf("record %+v: node_instance_id %q; want the node's", r, r.NodeInstanceID)
		}
	}
	var total uint64
	byCat := map[flows.Category]uint64{}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
		total += r.Bytes
		byCat[r.Category] += r.Bytes
	}
	// ICMP and the unparsable packet are neither TCP nor UDP: counted apart.
	if want := 2 * uint64(1000+500+70+4000+9); total != want || c.Skipped() != 2*(84+33) {
		t.Errorf("records hold %d bytes, %d left out; want %d, and 117 left out", total, c.Skipped(), want)
	}
	if byCat[flows.InterAZ] != 2000 || byCat[flows.NATGateway] != 1000 || byCat[flows.Unclassified] != 2*(70+4000+9) {
		t.Errorf("bytes by category %v", byCat)
	}
	for _, r := range recs {
		if r.Category == flows.NATGateway && (r.Via != "nat-b" || r.ViaAZID != "use1-az2" || r.LocalPod != "web-1" || r.LocalAZID != "use1-az1") {
			t.Errorf("NAT record %+v", r)
		}
	}
	// Without a VPC view yet, everything is UNCLASSIFIED, and still counted.
	c2 := &Collector{Region: "us-east-1", Node: "n1"}
	c2.Add(d)
	c2.Add(d)
	var total2 uint64
	for _, r := range c2.Flush(t0, time.Minute, 0) {
		total2 += r.Bytes
		if r.Category != flows.Unclassified {
			t.Errorf("without a view: %+v", r)
		}
	}
	if total2 != total {
		t.Errorf("without a view: %d bytes; want %d", total2, total)
	}
	// Flush started the next window: it is empty.
	if recs := c.Flush(t0.Add(time.Minute), time.Minute, 0); len(recs) != 0 {
		t.Errorf("the next window has %d records; want none", len(recs))
	}
}

// TestFlushFoldsAsTheWindowDoes: folding the compact entries gives the
// records that folding every record would (window.Window, the reference),
// with the same totals.
func TestFlushFoldsAsTheWindowDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	d := &bpf.Deltas{}
	for range 20000 {
		local := netip.AddrFrom4([4]byte{10, 0, byte(1 + rng.IntN(2)), byte(rng.IntN(8))})
		remote := netip.AddrFrom4([4]byte{10, 0, byte(1 + rng.IntN(2)), byte(100 + rng.IntN(50))})
		if rng.IntN(3) == 0 {
			remote = netip.AddrFrom4([4]byte{185, 166, byte(rng.IntN(4)), byte(rng.IntN(200))})
		}
		d.Flows = append(d.Flows, bpf.Flow{CgroupID: uint64(rng.IntN(12)), Local: netip.AddrPortFrom(local, 0),
			Remote: netip.AddrPortFrom(remote, uint16(80+rng.IntN(3))), Proto: []uint8{6, 17}[rng.IntN(2)],
			Dir: bpf.Direction(1 + rng.IntN(2)), Bytes: uint64(1 + rng.IntN(1<<20)), Packets: uint64(1 + rng.IntN(100))})
	}
	d.Overflow = []bpf.Overflow{{CgroupID: 3, Dir: bpf.Egress, Bytes: 7000, Packets: 5}}
	names := func(id uint64) (Names, bool) {
		if id%4 == 0 {
			return Names{}, false // the node's own, or not known yet
		}
		return Names{Pod: fmt.Sprintf("p-%d", id), Namespace: "shop", Workload: fmt.Sprintf("w%d", id%3), WorkloadKind: "Deployment"}, true
	}
	// Remotes on even addresses are pods on nodes that run the agent.
	remote := func(ip netip.Addr) (RemoteNames, bool) {
		b := ip.As4()
		if b[0] != 10 {
			return RemoteNames{}, false
		}
		pod := Names{Pod: fmt.Sprintf("r-%d", b[3])}
		return RemoteNames{Pod: pod, Node: fmt.Sprintf("n%d", b[3]%3), Reported: b[3]%2 == 0}, true
	}
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, topK := range []int{0, 1, 5, 50} {
		newCollector := func() *Collector {
			return &Collector{Cluster: "c", Node: "n", Region: "us-east-1", InstanceID: "i-0abc1234",
				NodeIP: netip.MustParseAddr("10.0.1.10"), Classifier: classifier(t), Names: names, Remote: remote}
		}
		c, ref := newCollector(), newCollector()
		c.Add(d)
		c.Add(d)
		ref.Add(d)
		ref.Add(d)
		got := c.Flush(start, time.Minute, topK)
		w := window.New(start, time.Minute)
		for _, r := range ref.Flush(start, time.Minute, 0) {
			w.Add(&r)
		}
		want := w.Records(topK)
		if len(got) != len(want) {
			t.Fatalf("top-K %d: %d records; the window makes %d", topK, len(got), len(want))
		}
		var total uint64
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("top-K %d: record %d\n got %+v\nwant %+v", topK, i, got[i], want[i])
			}
			total += got[i].Bytes
		}
		if total != w.Bytes() {
			t.Errorf("top-K %d: %d bytes; %d added", topK, total, w.Bytes())
		}
	}
}

// TestRemoteReported: without Kubernetes the agent knows no other node's
// agent, so only its own node's address is reported; a load balancer's
// interface is named, and unreported.
func TestRemoteReported(t *testing.T) {
	p := netip.MustParsePrefix
	cl, err := classify.New(classify.VPC{Region: "us-east-1", CIDRs: []netip.Prefix{p("10.0.0.0/16")},
		Subnets: []classify.Subnet{{ID: "subnet-a", CIDR: p("10.0.1.0/24"), AZ: "us-east-1a", AZID: "use1-az1"},
			{ID: "subnet-b", CIDR: p("10.0.2.0/24"), AZ: "us-east-1b", AZID: "use1-az2"}},
		LoadBalancers: []classify.LBInterface{{LB: "app/web/50dc6c495c0c9188", AZ: "us-east-1b", AZID: "use1-az2",
			IPs: []netip.Addr{netip.MustParseAddr("10.0.2.77")}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	flow := func(remote string, bytes uint64) bpf.Flow {
		return bpf.Flow{CgroupID: 7, Local: ap("10.0.1.5:0"), Remote: ap(remote), Proto: 6, Dir: bpf.Egress,
			Bytes: bytes, Packets: 1}
	}
	d := &bpf.Deltas{Flows: []bpf.Flow{flow("10.0.1.10:10250", 100), flow("10.0.2.9:5432", 200),
		flow("10.0.2.77:443", 300)}}
	c := &Collector{Region: "us-east-1", Node: "n1", NodeIP: netip.MustParseAddr("10.0.1.10"), Classifier: cl}
	c.Add(d)
	got := map[string]string{}
	for _, r := range c.Flush(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Minute, 0) {
		got[r.RemoteIP] = fmt.Sprintf("%s %v %s", r.Category, r.RemoteReportedRaw, r.RemoteLB)
	}
	want := map[string]string{"10.0.1.10": "INTRA_AZ true ", "10.0.2.9": "INTER_AZ false ",
		"10.0.2.77": "INTER_AZ false app/web/50dc6c495c0c9188"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records by remote: %v; want %v", got, want)
	}
}

// TestFlushFoldsReportedApart: of one workload's remotes beyond the top K,
// those on nodes that run the agent and those that do not fold into two
// "other" records.
func TestFlushFoldsReportedApart(t *testing.T) {
	d := &bpf.Deltas{}
	var want [3]uint64
	for i := range 20 {
		d.Flows = append(d.Flows, bpf.Flow{CgroupID: 7, Local: netip.MustParseAddrPort("10.0.1.5:0"),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, byte(100 + i)}), 8080), Proto: 6, Dir: bpf.Egress,
			Bytes: uint64(1000 + i), Packets: 1})
		want[flows.BoolOf(i%2 == 0)] += uint64(1000 + i)
	}
	c := &Collector{Region: "us-east-1", Node: "n1", Classifier: classifier(t),
		Names: func(uint64) (Names, bool) {
			return Names{Pod: "web-1", Namespace: "shop", Workload: "web", WorkloadKind: "Deployment"}, true
		},
		Remote: func(ip netip.Addr) (RemoteNames, bool) {
			return RemoteNames{Node: fmt.Sprintf("n%d", ip.As4()[3]%2), Reported: ip.As4()[3]%2 == 0}, true
		}}
	c.Add(d)
	var got [3]uint64
	others := map[flows.OptBool]int{}
	for _, r := range c.Flush(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Minute, 2) {
		got[r.RemoteReportedRaw] += r.Bytes
		if r.RemoteIP == flows.OtherIP {
			others[r.RemoteReportedRaw]++
		}
	}
	if got != want || others[flows.BoolTrue] != 1 || others[flows.BoolFalse] != 1 {
		t.Errorf("bytes by remote_reported %v, other records %v; want %v, one other record for each", got, others, want)
	}
}

// TestFlushNamesRemotes: each record's remote gets the name its own pod learned (by network namespace),
// and the "other" record the name all it folds agree on.
func TestFlushNamesRemotes(t *testing.T) {
	ap := netip.MustParseAddrPort
	flow := func(cgroup, netns uint64, remote string, bytes uint64) bpf.Flow {
		return bpf.Flow{CgroupID: cgroup, NetnsCookie: netns, Local: ap("10.0.1.5:0"), Remote: ap(remote), Proto: 6,
			Dir: bpf.Egress, Bytes: bytes, Packets: 1}
	}
	d := &bpf.Deltas{Flows: []bpf.Flow{
		flow(7, 100, "52.94.0.10:443", 9000), // web's pod asked sqs
		flow(8, 200, "52.94.0.10:443", 8000), // api's pod learned nothing of it
		// web's small remotes, all one service: folded, named.
		flow(7, 100, "52.94.1.1:443", 10), flow(7, 100, "52.94.1.2:443", 11), flow(7, 100, "52.94.1.3:443", 12),
		// api's small remotes, two services: folded, unnamed.
		flow(8, 200, "52.94.2.1:443", 10), flow(8, 200, "52.94.2.2:443", 11), flow(8, 200, "52.94.2.3:443", 12),
	}}
	known := map[uint64]map[string][2]string{
		100: {"52.94.0.10": {"sqs.us-east-1.amazonaws.com", flows.NameFromDNS},
			"52.94.1.1": {"s3.amazonaws.com", flows.NameFromSNI}, "52.94.1.2": {"s3.amazonaws.com", flows.NameFromSNI},
			"52.94.1.3": {"s3.amazonaws.com", flows.NameFromSNI}},
		200: {"52.94.2.1": {"a.example", flows.NameFromDNS}, "52.94.2.2": {"b.example", flows.NameFromDNS},
			"52.94.2.3": {"a.example", flows.NameFromDNS}},
	}
	c := &Collector{Cluster: "shop", Node: "n1", Region: "us-east-1", Classifier: classifier(t),
		Names: func(id uint64) (Names, bool) {
			return Names{Pod: fmt.Sprint("pod-", id), Namespace: "shop", Workload: fmt.Sprint("w", id)}, true
		},
		RemoteName: func(netns uint64, ip netip.Addr) (string, string, bool) {
			n, ok := known[netns][ip.String()]
			return n[0], n[1], ok
		}}
	c.Add(d)
	got := map[string]string{}
	for _, r := range c.Flush(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Minute, 1) {
		if err := r.Validate(); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
		got[r.LocalWorkload+" "+r.RemoteIP] = r.RemoteName + "/" + r.RemoteNameSource
	}
	want := map[string]string{
		"w7 52.94.0.10": "sqs.us-east-1.amazonaws.com/dns", "w7 other": "s3.amazonaws.com/sni",
		"w8 52.94.0.10": "/", "w8 other": "/",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names by pod and remote = %v; want %v", got, want)
	}
}

// TestSNATToNode: the VPC CNI translates a pod's IPv4 source to its node's
// address for destinations outside the VPC, so the node's subnet's routes
// decide them: a pod in a custom-networking subnet with no route out goes
// through the node's NAT gateway, and an IPv6 cluster's pod, on its
// 169.254.172.0/22 address for IPv4, is placed at the node. Flows within
// the VPC keep the pod's own subnet.
func TestSNATToNode(t *testing.T) {
	p := netip.MustParsePrefix
	cl, err := classify.New(classify.VPC{Region: "us-east-1", CIDRs: []netip.Prefix{p("10.0.0.0/16"), p("100.64.0.0/16")},
		Subnets: []classify.Subnet{{ID: "subnet-a", CIDR: p("10.0.1.0/24"), AZ: "us-east-1a", AZID: "use1-az1"},
			{ID: "subnet-b", CIDR: p("10.0.2.0/24"), AZ: "us-east-1b", AZID: "use1-az2"},
			{ID: "subnet-pods-b", CIDR: p("100.64.32.0/19"), AZ: "us-east-1b", AZID: "use1-az2"}},
		RouteTables: []classify.RouteTable{
			{ID: "rtb-main", Main: true, Routes: []classify.Route{{Dest: p("0.0.0.0/0"), Target: "nat-a"}}},
			{ID: "rtb-pods", Subnets: []string{"subnet-pods-b"}}},
		NATGateways: []classify.NATGateway{{ID: "nat-a", SubnetID: "subnet-a"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	flow := func(local, remote string) bpf.Flow {
		return bpf.Flow{CgroupID: 7, Local: ap(local), Remote: ap(remote), Proto: 6, Dir: bpf.Egress, Bytes: 100, Packets: 1}
	}
	d := &bpf.Deltas{Flows: []bpf.Flow{flow("100.64.32.9:0", "185.166.143.10:443"), flow("100.64.32.9:0", "10.0.1.20:443"),
		flow("169.254.172.3:0", "185.166.143.10:443"), flow("10.0.2.9:0", "185.166.143.10:443")}}
	got := map[string]string{}
	for _, node := range []string{"10.0.2.5", "", "external 10.0.2.5"} {
		c := &Collector{Region: "us-east-1", Node: "n1", Classifier: cl}
		if ip, external := strings.CutPrefix(node, "external "); ip != "" {
			c.NodeIP, c.ExternalSNAT = netip.MustParseAddr(ip), external
		}
		c.Add(d)
		for _, r := range c.Flush(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), time.Minute, 0) {
			got[node+" "+r.LocalIP+" "+r.RemoteIP] = fmt.Sprintf("%s %s %s %s", r.Category, r.LocalSubnet, r.LocalAZID, r.Via)
		}
	}
	want := map[string]string{
		"10.0.2.5 100.64.32.9 185.166.143.10":   "NAT_GATEWAY subnet-pods-b use1-az2 nat-a", // the node's routes
		"10.0.2.5 100.64.32.9 10.0.1.20":        "INTER_AZ subnet-pods-b use1-az2 ",
		"10.0.2.5 169.254.172.3 185.166.143.10": "NAT_GATEWAY subnet-b use1-az2 nat-a", // the node's
		"10.0.2.5 10.0.2.9 185.166.143.10":      "NAT_GATEWAY subnet-b use1-az2 nat-a",
		// Without the node's address, each subnet's own routes, and no
		// place for the link-local address.
		" 100.64.32.9 185.166.143.10":   "UNCLASSIFIED subnet-pods-b use1-az2 ",
		" 100.64.32.9 10.0.1.20":        "INTER_AZ subnet-pods-b use1-az2 ",
		" 169.254.172.3 185.166.143.10": "UNCLASSIFIED   ",
		" 10.0.2.9 185.166.143.10":      "NAT_GATEWAY subnet-b use1-az2 nat-a",
		// With the CNI's external SNAT, the pods' own routes; an IPv6
		// cluster's IPv4 egress is the node's all the same.
		"external 10.0.2.5 100.64.32.9 185.166.143.10":   "UNCLASSIFIED subnet-pods-b use1-az2 ",
		"external 10.0.2.5 100.64.32.9 10.0.1.20":        "INTER_AZ subnet-pods-b use1-az2 ",
		"external 10.0.2.5 169.254.172.3 185.166.143.10": "NAT_GATEWAY subnet-b use1-az2 nat-a",
		"external 10.0.2.5 10.0.2.9 185.166.143.10":      "NAT_GATEWAY subnet-b use1-az2 nat-a",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records by node, local and remote:\n%v\nwant\n%v", got, want)
	}

	// The node's address learned after a window (as the agent learns it): the pods' places follow it.
	c := &Collector{Region: "us-east-1", Node: "n1", Classifier: cl}
	c.Add(d)
	c.Flush(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), time.Minute, 0)
	c.NodeIP = netip.MustParseAddr("10.0.2.5")
	c.Add(d)
	for _, r := range c.Flush(time.Date(2026, 12, 6, 9, 1, 0, 0, time.UTC), time.Minute, 0) {
		k := "10.0.2.5 " + r.LocalIP + " " + r.RemoteIP
		if g := fmt.Sprintf("%s %s %s %s", r.Category, r.LocalSubnet, r.LocalAZID, r.Via); g != want[k] {
			t.Errorf("%s once the node's address is known: %s; want %s", k, g, want[k])
		}
	}
}
