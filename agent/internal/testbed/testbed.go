// Package testbed builds the simulated cluster the agent's end-to-end test
// and `make demo` run the real agent in: a two-AZ VPC in moto_server (subnets,
// route tables, an internet gateway, a NAT gateway, an S3 gateway endpoint),
// instance metadata of a node in the first AZ, network namespaces as pods in
// cgroups named like kubelet's behind a router namespace that also owns the
// "public" addresses, a Kubernetes API serving those pods (and the agent's
// DaemonSet's) from the real types, and load balancers' interfaces, which
// moto cannot make, in front of moto's EC2 API. Everything it makes is
// undone by the caller's Cleanup functions.
package testbed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/netnstest"
)

// T is what the testbed needs of its caller: a test, or the demo's runner.
type T = netnstest.TB

// VPC is the simulated VPC in moto_server.
type VPC struct {
	Net      string // "10.N.": the VPC's first two octets
	ID       string
	SubnetA  string // the node's subnet, in AZ1; its route table has the S3 endpoint
	AZ1, AZ2 string // availability zone ids
	NAT      string // the NAT gateway, in a public subnet of AZ2
	S3VPCE   string // the S3 gateway endpoint
	S3Prefix netip.Prefix
	S3IP     string // an address in S3's prefix list
}

// NewVPC creates, in the EC2 API at endpoint, the VPC 10.N.0.0/16 with
// subnets 10.N.1.0/24 (AZ1, routed to the NAT and the S3 endpoint),
// 10.N.2.0/24 (AZ2, the main route table: to the NAT) and the public
// 10.N.101.0/24 (AZ2, to the internet gateway, holding the NAT gateway).
// Callers that may run at the same time take different N: an agent counts
// every pod-like cgroup on the machine, and its records name pods by IP.
func NewVPC(ctx context.Context, t T, endpoint string, n int) *VPC {
	t.Helper()
	api := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating the VPC: %v", err)
		}
	}
	v := &VPC{Net: fmt.Sprintf("10.%d.", n)}
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(v.Net + "0.0/16")})
	must(err)
	v.ID = aws.ToString(vpc.Vpc.VpcId)
	subnet := func(cidr, az string) (string, string) {
		s, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(v.ID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)})
		must(err)
		return aws.ToString(s.Subnet.SubnetId), aws.ToString(s.Subnet.AvailabilityZoneId)
	}
	v.SubnetA, v.AZ1 = subnet(v.Net+"1.0/24", "us-east-1a")
	_, v.AZ2 = subnet(v.Net+"2.0/24", "us-east-1b")
	subPub, _ := subnet(v.Net+"101.0/24", "us-east-1b")
	igw, err := api.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(err)
	_, err = api.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(v.ID)})
	must(err)
	eip, err := api.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	nat, err := api.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subPub), AllocationId: eip.AllocationId})
	must(err)
	v.NAT = aws.ToString(nat.NatGateway.NatGatewayId)
	route := func(rt *string, cidr string, in *ec2.CreateRouteInput) {
		in.RouteTableId, in.DestinationCidrBlock = rt, aws.String(cidr)
		_, err := api.CreateRoute(ctx, in)
		must(err)
	}
	rtPub, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(v.ID)})
	must(err)
	route(rtPub.RouteTable.RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{GatewayId: igw.InternetGateway.InternetGatewayId})
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPub.RouteTable.RouteTableId, SubnetId: aws.String(subPub)})
	must(err)
	rtA, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(v.ID)})
	must(err)
	route(rtA.RouteTable.RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{NatGatewayId: aws.String(v.NAT)})
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtA.RouteTable.RouteTableId, SubnetId: aws.String(v.SubnetA)})
	must(err)
	mains, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{v.ID}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	must(err)
	route(mains.RouteTables[0].RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{NatGatewayId: aws.String(v.NAT)})
	ep, err := api.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(v.ID), ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		VpcEndpointType: types.VpcEndpointTypeGateway, RouteTableIds: []string{aws.ToString(rtA.RouteTable.RouteTableId)}})
	must(err)
	v.S3VPCE = aws.ToString(ep.VpcEndpoint.VpcEndpointId)
	// The S3 address: one in the gateway endpoint's prefix list.
	pls, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{aws.ToString(rtA.RouteTable.RouteTableId)}})
	must(err)
	var plID string
	for _, r := range pls.RouteTables[0].Routes {
		if r.DestinationPrefixListId != nil {
			plID = aws.ToString(r.DestinationPrefixListId)
		}
	}
	entries, err := api.GetManagedPrefixListEntries(ctx, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(plID)})
	must(err)
	if len(entries.Entries) == 0 {
		t.Fatalf("moto's S3 prefix list %q has no entries", plID)
	}
	v.S3Prefix = netip.MustParsePrefix(aws.ToString(entries.Entries[0].Cidr))
	v.S3IP = v.S3Prefix.Addr().Next().String()
	return v
}

// NodeIP is the address of the node the agent runs on, in subnet A.
func (v *VPC) NodeIP() string { return v.Net + "1.2" }

// IPRanges is what WriteIPRanges names besides the VPC's S3 prefix.
type IPRanges struct {
	Amazon []string // addresses (such as an AWS API's) named AMAZON, each as a /32
	// Synthetic, if above zero, makes the file about the real one's size for benchmarks: S3's prefix is
	// AMAZON too, CloudFront's 52.84.0.0/15 is CLOUDFRONT and AMAZON, and Synthetic /22s in 3.0.0.0/8 and
	// 54.0.0.0/8 (at most 16,384 in each) are EC2 or AMAZON, spread over ten regions.
	Synthetic int
}

// WriteIPRanges writes an ip-ranges.json naming the VPC's S3 prefix S3, and what r adds.
func (v *VPC) WriteIPRanges(t T, path string, r IPRanges) {
	t.Helper()
	type prefix struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
	}
	ps := []prefix{{v.S3Prefix.String(), "us-east-1", "S3"}}
	for _, a := range r.Amazon {
		ps = append(ps, prefix{a + "/32", "us-east-1", "AMAZON"})
	}
	if r.Synthetic > 0 {
		ps = append(ps, prefix{v.S3Prefix.String(), "us-east-1", "AMAZON"},
			prefix{"52.84.0.0/15", "GLOBAL", "CLOUDFRONT"}, prefix{"52.84.0.0/15", "GLOBAL", "AMAZON"})
	}
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
		"ap-southeast-1", "ap-northeast-1", "sa-east-1", "ca-central-1"}
	half := (r.Synthetic + 1) / 2
	if half > 1<<14 {
		t.Fatalf("%d synthetic /22s: at most %d fit", r.Synthetic, 2<<14)
	}
	for i := range r.Synthetic {
		first, k := 3, i
		if i >= half {
			first, k = 54, i-half
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(first), byte(k / 64), byte(k % 64 * 4), 0}), 22)
		service := "EC2"
		if i%3 == 0 {
			service = "AMAZON"
		}
		ps = append(ps, prefix{p.String(), regions[i%len(regions)], service})
	}
	b, err := json.Marshal(map[string]any{"syncToken": "1", "createDate": "2026-12-01-00-00-00", "prefixes": ps,
		"ipv6_prefixes": []any{}})
	if err != nil {
		t.Fatalf("encoding %s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// InstanceID is the instance of the node IMDS describes.
const InstanceID = "i-0e2e0e2e0e2e0e2e0"

// IMDS serves the instance metadata of a node in subnet A (AZ1) until the
// caller's cleanup, and returns its URL.
func (v *VPC) IMDS(t T) string {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
			w.Write([]byte("token"))
			return
		}
		val := map[string]string{"instance-id": InstanceID, "placement/region": "us-east-1", "placement/availability-zone": "us-east-1a",
			"placement/availability-zone-id": v.AZ1, "local-ipv4": v.NodeIP(), "mac": "0e:00:00:00:00:01",
			"network/interfaces/macs/0e:00:00:00:00:01/vpc-id": v.ID, "network/interfaces/macs/0e:00:00:00:00:01/subnet-id": v.SubnetA,
		}[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if val == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(val))
	}))
	t.Cleanup(imds.Close)
	return imds.URL
}

// Pod is a pod: a network namespace with a veth to the router, in a cgroup
// named as kubelet names a pod's, and a Pod object in the Kubernetes API.
type Pod struct {
	Key      string // short: names the namespace and links (a few letters)
	Name     string // the Pod's name, in namespace "shop"
	Workload string // its Deployment (through a ReplicaSet Workload-Hash)
	Hash     string // pod-template-hash
	Node     string
	Service  string // a Service (EndpointSlice) selecting it, if set
	IP, GW   string

	NS, Dev, Cgroup, UID string // filled by NewNetwork
}

// Network is the pods and the router namespace between them.
type Network struct {
	Suffix string // in the names of all its namespaces, links and cgroups
	Cgroup string // CGROUP2/prefix-SUFFIX: every pod's cgroup is below it
	Router string
	Pods   map[string]*Pod // by Key
}

// NewNetwork builds the router namespace (prefix-r-SUFFIX), which owns the
// public addresses and forwards between the pods, and a namespace per pod
// (prefix-KEY-SUFFIX) in a cgroup under CGROUP2/prefix-SUFFIX/kubepods.slice.
func NewNetwork(t T, prefix string, public []string, pods []*Pod) *Network {
	t.Helper()
	run := func(args ...string) { t.Helper(); netnstest.Run(t, args...) }
	s := netnstest.Suffix()
	n := &Network{Suffix: s, Router: prefix + "-r-" + s, Pods: map[string]*Pod{}}
	run("ip", "netns", "add", n.Router)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Router).Run() })
	run("ip", "-n", n.Router, "link", "set", "lo", "up")
	run("ip", "netns", "exec", n.Router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for _, a := range public {
		run("ip", "-n", n.Router, "addr", "add", a+"/32", "dev", "lo")
	}
	root, err := bpf.FindCgroup2()
	if err != nil {
		t.Fatalf("%v", err)
	}
	n.Cgroup = filepath.Join(root, prefix+"-"+s)
	base := filepath.Join(n.Cgroup, "kubepods.slice")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.Remove(base); os.Remove(filepath.Dir(base)) }) // runs last: after the pods' own
	for i, p := range pods {
		p.NS, p.Dev = prefix+"-"+p.Key+"-"+s, "e"+p.Key+s
		rdev := "r" + p.Key + s
		run("ip", "netns", "add", p.NS)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", p.NS).Run() })
		// No IPv6 and static neighbours: nothing but the pods' own traffic
		// crosses their veths (the kernel's own packets have no socket, so
		// no cgroup, and are not the pods' to count).
		run("ip", "netns", "exec", p.NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		run("ip", "link", "add", p.Dev, "netns", p.NS, "type", "veth", "peer", "name", rdev, "netns", n.Router)
		podMAC, gwMAC := fmt.Sprintf("02:00:00:e2:00:%02x", i+1), fmt.Sprintf("02:00:00:e2:01:%02x", i+1)
		run("ip", "-n", p.NS, "link", "set", p.Dev, "address", podMAC)
		run("ip", "-n", n.Router, "link", "set", rdev, "address", gwMAC)
		run("ip", "netns", "exec", n.Router, "sysctl", "-qw", "net.ipv6.conf."+rdev+".disable_ipv6=1")
		run("ip", "-n", p.NS, "addr", "add", p.IP+"/32", "dev", p.Dev)
		// The veth counts real segments (the stack splits GSO packets), as a
		// NIC would see them: what the counter reports.
		run("ip", "netns", "exec", p.NS, "ethtool", "-K", p.Dev, "tso", "off", "gso", "on", "gro", "on")
		run("ip", "netns", "exec", n.Router, "ethtool", "-K", rdev, "tso", "off", "gso", "on", "gro", "on")
		run("ip", "-n", p.NS, "link", "set", p.Dev, "up")
		run("ip", "-n", p.NS, "link", "set", "lo", "up")
		run("ip", "-n", n.Router, "addr", "add", p.GW+"/32", "dev", rdev)
		run("ip", "-n", n.Router, "link", "set", rdev, "up")
		run("ip", "-n", n.Router, "route", "add", p.IP+"/32", "dev", rdev)
		run("ip", "-n", p.NS, "route", "add", p.GW+"/32", "dev", p.Dev)
		run("ip", "-n", p.NS, "route", "add", "default", "via", p.GW, "dev", p.Dev)
		run("ip", "-n", p.NS, "neigh", "add", p.GW, "lladdr", gwMAC, "dev", p.Dev, "nud", "permanent")
		run("ip", "-n", n.Router, "neigh", "add", p.IP, "lladdr", podMAC, "dev", rdev, "nud", "permanent")
		// Unique on the machine: another run's agent must not take these
		// cgroups for its own pods.
		if p.UID == "" { // else the API server named it
			p.UID = fmt.Sprintf("%s00-0000-4000-8000-%012d", s, i+1)
		}
		p.Cgroup = filepath.Join(base, "kubepods-pod"+strings.ReplaceAll(p.UID, "-", "_")+".slice")
		if err := os.MkdirAll(p.Cgroup, 0o755); err != nil {
			t.Fatalf("%v", err)
		}
		t.Cleanup(func() {
			for range 50 { // the processes must have left; the kernel frees them a moment later
				if os.Remove(p.Cgroup) == nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		n.Pods[p.Key] = p
	}
	time.Sleep(300 * time.Millisecond) // the addresses settle
	return n
}

// ClusterIP makes service (ADDR:PORT) a Service's ClusterIP for proto
// (tcp or udp), as kube-proxy does: DNAT in the node's namespace (the
// router's), in PREROUTING, after the pods' veths, to one of the backends
// (ADDR:PORT) per connection. kube-proxy picks at random; here each rule
// takes every k-th connection, so that n connections go round-robin, one
// to each backend in turn, and a test knows the bytes of each.
func (n *Network) ClusterIP(t T, proto, service string, backends ...string) {
	t.Helper()
	s := netip.MustParseAddrPort(service)
	for i, b := range backends {
		args := []string{"ip", "netns", "exec", n.Router, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", s.Addr().String(), "-p", proto,
			"--dport", strconv.Itoa(int(s.Port()))}
		if left := len(backends) - i; left > 1 {
			args = append(args, "-m", "statistic", "--mode", "nth", "--every", strconv.Itoa(left), "--packet", "0")
		}
		netnstest.Run(t, append(args, "-j", "DNAT", "--to-destination", b)...)
	}
}

// Start runs the caller's own binary in a pod's namespace and cgroup as a
// traffic helper (env=args; its main calls HelperMain), killed at cleanup.
func (p *Pod) Start(t T, env string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	return netnstest.Start(t, p.NS, p.Cgroup, env, args...)
}

// Serve runs a helper "serve" in the router namespace (on its public
// addresses) and waits until it listens. It is killed at cleanup.
func (n *Network) Serve(t T, env string, args ...string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("%v", err)
	}
	cmd := exec.Command("ip", "netns", "exec", n.Router, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+strings.Join(args, " "))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
		t.Fatalf("router server %v: %q", args, l)
	}
}

// ServeIn runs a helper "serve" in a pod and waits until it listens.
func (p *Pod) ServeIn(t T, env string, args ...string) {
	t.Helper()
	_, out := p.Start(t, env, args...)
	if l, _ := out.ReadString('\n'); l != "ready\n" {
		t.Fatalf("server %v in %s: %q", args, p.Name, l)
	}
}

// HelperMain is the traffic helper a binary runs when started by Start or
// Serve: "serve PROTO ADDR..." (prints ready, then serves until killed),
// "dns ADDR NAME=IP..." (a DNS server on UDP ADDR that knows those names;
// prints ready), "send PROTO ADDR BYTES [DNS-SERVER]" (ADDR may name its
// host, which the DNS server resolves, as a pod's resolver does, or else
// the system resolver), "tlsserve ADDR CERT-NAME" (prints ready),
// "tls ADDR SNI BYTES" or "stream tcp ADDR DURATION".
func HelperMain(args []string) error {
	switch args[0] {
	case "dns":
		return serveDNS(args[1], args[2:])
	case "tlsserve":
		return serveTLS(args[1], args[2])
	case "tls":
		n, _ := strconv.Atoi(args[3])
		return sendTLS(args[1], args[2], n)
	case "serve":
		for _, a := range args[2:] {
			if args[1] == "udp" {
				pc, err := net.ListenPacket("udp", a)
				if err != nil {
					return err
				}
				go func() {
					buf := make([]byte, 65536)
					for {
						if _, _, err := pc.ReadFrom(buf); err != nil {
							return
						}
					}
				}()
				continue
			}
			ln, err := net.Listen("tcp", a)
			if err != nil {
				return err
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(io.Discard, c); c.Write([]byte("done")); c.Close() }()
				}
			}()
		}
		fmt.Println("ready")
		select {}
	case "stream": // tcp ADDR DURATION: a steady stream, 64 KiB every 5ms
		d, err := time.ParseDuration(args[3])
		if err != nil {
			return err
		}
		c, err := net.Dial(args[1], args[2])
		if err != nil {
			return err
		}
		buf := make([]byte, 64<<10)
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		return c.Close()
	case "send":
		n, _ := strconv.Atoi(args[3])
		to := args[2]
		if len(args) > 4 {
			var err error
			if to, err = lookup(to, args[4]); err != nil {
				return err
			}
		}
		c, err := net.Dial(args[1], to)
		if err != nil {
			return err
		}
		if args[1] == "udp" {
			for sent := 0; sent < n; sent += 1000 {
				if _, err := c.Write(make([]byte, 1000)); err != nil {
					return err
				}
				time.Sleep(100 * time.Microsecond)
			}
			return c.Close()
		}
		c.(*net.TCPConn).SetWriteBuffer(64 << 10)
		if _, err := c.Write(make([]byte, n)); err != nil {
			return err
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		return c.Close()
	}
	return fmt.Errorf("unknown helper %q", args[0])
}

// The agent's DaemonSet in the Kubernetes API that KubeAPI serves: its pod
// on a node is AgentNamespace/AgentPod(node).
const (
	AgentNamespace = "netcost"
	AgentDaemonSet = "netcost-agent"
)

// AgentPod is the name of the agent's pod on node.
func AgentPod(node string) string { return AgentDaemonSet + "-" + node }

// Objects are what the Kubernetes API holds for a test network.
type Objects struct {
	Pods   []corev1.Pod
	Slices []discoveryv1.EndpointSlice // one a Service
	Nodes  []corev1.Node
}

// KubeObjects returns the pods (and an EndpointSlice for each pod's
// Service) and node-a, the agent's, with address nodeIP. Each of
// agentNodes runs a Ready pod of the agent's DaemonSet (host network, no
// address of its own here).
func KubeObjects(nodeIP string, pods []*Pod, agentNodes ...string) Objects {
	var items []corev1.Pod
	var eps []discoveryv1.EndpointSlice // one a Service
	for _, n := range agentNodes {
		yes := true
		items = append(items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: AgentPod(n), Namespace: AgentNamespace, UID: ktypes.UID("agent-" + n),
				ResourceVersion: "1", OwnerReferences: []metav1.OwnerReference{
					{Kind: "DaemonSet", Name: AgentDaemonSet, Controller: &yes, APIVersion: "apps/v1", UID: "agent-ds"}}},
			Spec: corev1.PodSpec{NodeName: n, HostNetwork: true},
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		})
	}
	for _, p := range pods {
		yes := true
		items = append(items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: "shop", UID: ktypes.UID(p.UID), ResourceVersion: "1",
				Labels: map[string]string{"pod-template-hash": p.Hash},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: p.Workload + "-" + p.Hash, Controller: &yes,
					APIVersion: "apps/v1", UID: ktypes.UID("rs-" + p.Workload)}}},
			Spec:   corev1.PodSpec{NodeName: p.Node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.IP, PodIPs: []corev1.PodIP{{IP: p.IP}}},
		})
		if p.Service == "" {
			continue
		}
		i := slices.IndexFunc(eps, func(e discoveryv1.EndpointSlice) bool { return e.Labels[discoveryv1.LabelServiceName] == p.Service })
		if i < 0 {
			i = len(eps)
			eps = append(eps, discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: p.Service + "-x", Namespace: "shop", ResourceVersion: "1",
				Labels: map[string]string{discoveryv1.LabelServiceName: p.Service}}, AddressType: discoveryv1.AddressTypeIPv4})
		}
		eps[i].Endpoints = append(eps[i].Endpoints, discoveryv1.Endpoint{Addresses: []string{p.IP}, NodeName: &p.Node})
	}
	nodes := []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node-a", ResourceVersion: "1"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: nodeIP}}}}}
	return Objects{Pods: items, Slices: eps, Nodes: nodes}
}

// KubeAPI serves KubeObjects as the Kubernetes API does for list and
// watch, until the caller's cleanup, and returns a kubeconfig for it,
// written in dir. It is for agent/demo, which a user runs without building
// a kube-apiserver (make kube-assets, minutes); tests run the real one.
func KubeAPI(t T, dir, nodeIP string, pods []*Pod, agentNodes ...string) string {
	t.Helper()
	objs := KubeObjects(nodeIP, pods, agentNodes...)
	podList := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
		ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: objs.Pods}
	sliceList := discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList",
		APIVersion: "discovery.k8s.io/v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: objs.Slices}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") == "true" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done() // no changes: hold the watch open
			return
		}
		switch r.URL.Path {
		case "/api/v1/pods":
			json.NewEncoder(w).Encode(podList)
		case "/apis/discovery.k8s.io/v1/endpointslices":
			json.NewEncoder(w).Encode(sliceList)
		case "/api/v1/nodes":
			json.NewEncoder(w).Encode(corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"},
				ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: objs.Nodes})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q}}]
users: [{name: e2e, user: {token: test}}]
contexts: [{name: e2e, context: {cluster: e2e, user: e2e}}]
current-context: e2e
`, srv.URL)), 0o600); err != nil {
		t.Fatalf("%v", err)
	}
	return kc
}

// LoadBalancer is a load balancer's network interface, as EC2 describes it.
type LoadBalancer struct {
	Description   string // "ELB app/NAME/ID", "ELB net/NAME/ID", "ELB NAME"
	InterfaceType string // interface, network_load_balancer, gateway_load_balancer
	AZ, IP        string
}

// WithLoadBalancers returns an EC2 endpoint that is moto's at endpoint,
// except that the VPC's load balancers' network interfaces, which the
// agent lists by their "ELB ..." descriptions, are lbs, requester-managed
// by amazon-elb as EC2 gives them: moto makes no interface for its load
// balancers, and cannot make one requester-managed. The answer is EC2's
// query-protocol XML, which the agent's SDK client parses. It serves until
// the caller's cleanup.
func (v *VPC) WithLoadBalancers(t T, endpoint string, lbs ...LoadBalancer) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("%v", err)
	}
	type addr struct {
		IP      string `xml:"privateIpAddress"`
		Primary bool   `xml:"primary"`
	}
	type eni struct {
		ID               string `xml:"networkInterfaceId"`
		VpcID            string `xml:"vpcId"`
		AZ               string `xml:"availabilityZone"`
		Description      string `xml:"description"`
		OwnerID          string `xml:"ownerId"`
		RequesterID      string `xml:"requesterId"`
		RequesterManaged bool   `xml:"requesterManaged"`
		Status           string `xml:"status"`
		IP               string `xml:"privateIpAddress"`
		IPs              []addr `xml:"privateIpAddressesSet>item"`
		Type             string `xml:"interfaceType"`
	}
	type answer struct {
		XMLName   xml.Name `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeNetworkInterfacesResponse"`
		RequestID string   `xml:"requestId"`
		ENIs      []eni    `xml:"networkInterfaceSet>item"`
	}
	a := answer{RequestID: "e2e0e2e0-0000-4000-8000-000000000001"}
	for i, lb := range lbs {
		a.ENIs = append(a.ENIs, eni{ID: fmt.Sprintf("eni-0e2e0e2e0e2e0%04d", i), VpcID: v.ID, AZ: lb.AZ,
			Description: lb.Description, OwnerID: "123456789012", RequesterID: "amazon-elb", RequesterManaged: true,
			Status: "in-use", IP: lb.IP, IPs: []addr{{lb.IP, true}}, Type: lb.InterfaceType})
	}
	out, err := xml.Marshal(a)
	if err != nil {
		t.Fatalf("%v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		q, _ := url.ParseQuery(string(body))
		filters := map[string]string{}
		for i := 1; q.Has(fmt.Sprintf("Filter.%d.Name", i)); i++ {
			filters[q.Get(fmt.Sprintf("Filter.%d.Name", i))] = q.Get(fmt.Sprintf("Filter.%d.Value.1", i))
		}
		if q.Get("Action") == "DescribeNetworkInterfaces" && filters["vpc-id"] == v.ID && filters["description"] == "ELB *" {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.Write([]byte(xml.Header))
			w.Write(out)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
