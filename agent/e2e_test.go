package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
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
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/netnstest"
)

// The end-to-end test: network namespaces stand in for pods in two AZ
// subnets of a VPC that exists in moto_server, a router namespace forwards
// to "public" addresses, the pods sit in cgroups named like kubelet's, and
// the built agent, with real flags, writes the records that are checked.

func TestMain(m *testing.M) {
	if args := os.Getenv("NETCOST_E2E_HELPER"); args != "" {
		if err := helperMain(strings.Fields(args)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Agents under test serve their metrics on a free port: another agent
	// on this machine may hold the default :9109.
	os.Setenv("NETCOST_METRICS_ADDR", "127.0.0.1:0")
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// helperMain: "serve PROTO ADDR..." (prints ready) or "send PROTO ADDR BYTES".
func helperMain(args []string) error {
	switch args[0] {
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
	case "send":
		n, _ := strconv.Atoi(args[3])
		c, err := net.Dial(args[1], args[2])
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

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildAgent builds the agent binary once for the tests that run it.
func buildAgent(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "netcost-agent-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "netcost-agent")
		// Static, as the image ships it: only then can the agent drop its
		// capabilities in every thread.
		build := exec.Command("go", "build", "-o", builtBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the agent: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

type pod struct {
	name, ns, dev, ip, gw string
	cgroup                string
	uid                   string
}

// veth is the IP-level bytes a pod's veth carried, both ways.
func veth(t *testing.T, p *pod) uint64 {
	s := netnstest.LinkStats(t, p.ns, p.dev)
	return s.RxBytes + s.TxBytes
}

// startIn starts a traffic process in a pod's namespace and cgroup.
func startIn(t *testing.T, p *pod, args ...string) (*exec.Cmd, *bufio.Reader) {
	return netnstest.Start(t, p.ns, p.cgroup, "NETCOST_E2E_HELPER", args...)
}

func TestEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatal("the end-to-end test loads eBPF and builds namespaces: it needs root, and NETCOST_REQUIRE_ROOT=1 forbids skipping it")
		}
		t.Skip("needs root")
	}
	moto := mototest.Start(t)
	ctx := t.Context()
	api := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The VPC.
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	must(err)
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	subnet := func(cidr, az string) (string, string) {
		s, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)})
		must(err)
		return aws.ToString(s.Subnet.SubnetId), aws.ToString(s.Subnet.AvailabilityZoneId)
	}
	subA, az1 := subnet("10.1.1.0/24", "us-east-1a")
	_, az2 := subnet("10.1.2.0/24", "us-east-1b")
	subPub, _ := subnet("10.1.101.0/24", "us-east-1b")
	igw, err := api.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(err)
	_, err = api.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)})
	must(err)
	eip, err := api.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	nat, err := api.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subPub), AllocationId: eip.AllocationId})
	must(err)
	natID := aws.ToString(nat.NatGateway.NatGatewayId)
	route := func(rt *string, cidr string, in *ec2.CreateRouteInput) {
		in.RouteTableId, in.DestinationCidrBlock = rt, aws.String(cidr)
		_, err := api.CreateRoute(ctx, in)
		must(err)
	}
	rtPub, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	must(err)
	route(rtPub.RouteTable.RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{GatewayId: igw.InternetGateway.InternetGatewayId})
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPub.RouteTable.RouteTableId, SubnetId: aws.String(subPub)})
	must(err)
	rtA, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	must(err)
	route(rtA.RouteTable.RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{NatGatewayId: aws.String(natID)})
	_, err = api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtA.RouteTable.RouteTableId, SubnetId: aws.String(subA)})
	must(err)
	mains, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	must(err)
	route(mains.RouteTables[0].RouteTableId, "0.0.0.0/0", &ec2.CreateRouteInput{NatGatewayId: aws.String(natID)})
	ep, err := api.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(vpcID), ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		VpcEndpointType: types.VpcEndpointTypeGateway, RouteTableIds: []string{aws.ToString(rtA.RouteTable.RouteTableId)}})
	must(err)
	vpceID := aws.ToString(ep.VpcEndpoint.VpcEndpointId)
	// The S3 address: one in the gateway endpoint's prefix list, named S3 by
	// an ip-ranges file written for the test.
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
	s3Prefix := netip.MustParsePrefix(aws.ToString(entries.Entries[0].Cidr))
	s3IP := s3Prefix.Addr().Next().String()
	rangesFile := filepath.Join(t.TempDir(), "ip-ranges.json")
	must(os.WriteFile(rangesFile, []byte(fmt.Sprintf(`{"syncToken":"1","prefixes":[{"ip_prefix":%q,"region":"us-east-1","service":"S3"}]}`, s3Prefix)), 0o644))

	// Instance metadata of a node in az1.
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
			w.Write([]byte("token"))
			return
		}
		v := map[string]string{"instance-id": "i-0e2e", "placement/region": "us-east-1", "placement/availability-zone": "us-east-1a",
			"placement/availability-zone-id": az1, "local-ipv4": "10.1.1.2", "mac": "0e:00:00:00:00:01",
			"network/interfaces/macs/0e:00:00:00:00:01/vpc-id": vpcID, "network/interfaces/macs/0e:00:00:00:00:01/subnet-id": subA,
		}[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if v == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v))
	}))
	defer imds.Close()

	// The network: pods in their namespaces behind a router namespace that
	// also owns the public addresses.
	s := netnstest.Suffix()
	router := "nce-r-" + s
	netnstest.Run(t, "ip", "netns", "add", router)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", router).Run() })
	netnstest.Run(t, "ip", "-n", router, "link", "set", "lo", "up")
	netnstest.Run(t, "ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	const public = "203.0.113.10"
	for _, a := range []string{public, s3IP, "100.64.5.5"} {
		netnstest.Run(t, "ip", "-n", router, "addr", "add", a+"/32", "dev", "lo")
	}
	root, err := bpf.FindCgroup2()
	must(err)
	base := filepath.Join(root, "netcost-e2e-"+s, "kubepods.slice")
	must(os.MkdirAll(base, 0o755))
	t.Cleanup(func() { os.Remove(base); os.Remove(filepath.Dir(base)) }) // runs last: after the pods' own
	pods := map[string]*pod{}
	for i, p := range []struct{ name, ip, gw string }{
		{"a", "10.1.1.10", "10.1.1.1"}, {"a2", "10.1.1.11", "10.1.1.1"}, {"b", "10.1.2.20", "10.1.2.1"}, {"pub", "10.1.101.5", "10.1.101.1"},
	} {
		ns, dev, rdev := "nce-"+p.name+"-"+s, "e"+p.name+s, "r"+p.name+s
		netnstest.Run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		// No IPv6 and static neighbours: nothing but the pods' own traffic
		// crosses their veths (the kernel's own packets have no socket, so
		// no cgroup, and are not the pods' to count).
		netnstest.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		netnstest.Run(t, "ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", rdev, "netns", router)
		podMAC, gwMAC := fmt.Sprintf("02:00:00:e2:00:%02x", i+1), fmt.Sprintf("02:00:00:e2:01:%02x", i+1)
		netnstest.Run(t, "ip", "-n", ns, "link", "set", dev, "address", podMAC)
		netnstest.Run(t, "ip", "-n", router, "link", "set", rdev, "address", gwMAC)
		netnstest.Run(t, "ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv6.conf."+rdev+".disable_ipv6=1")
		netnstest.Run(t, "ip", "-n", ns, "addr", "add", p.ip+"/32", "dev", dev)
		// The veth counts real segments (the stack splits GSO packets), as a
		// NIC would see them: what the counter reports.
		netnstest.Run(t, "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "on", "gro", "on")
		netnstest.Run(t, "ip", "netns", "exec", router, "ethtool", "-K", rdev, "tso", "off", "gso", "on", "gro", "on")
		netnstest.Run(t, "ip", "-n", ns, "link", "set", dev, "up")
		netnstest.Run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		netnstest.Run(t, "ip", "-n", router, "addr", "add", p.gw+"/32", "dev", rdev)
		netnstest.Run(t, "ip", "-n", router, "link", "set", rdev, "up")
		netnstest.Run(t, "ip", "-n", router, "route", "add", p.ip+"/32", "dev", rdev)
		netnstest.Run(t, "ip", "-n", ns, "route", "add", p.gw+"/32", "dev", dev)
		netnstest.Run(t, "ip", "-n", ns, "route", "add", "default", "via", p.gw, "dev", dev)
		netnstest.Run(t, "ip", "-n", ns, "neigh", "add", p.gw, "lladdr", gwMAC, "dev", dev, "nud", "permanent")
		netnstest.Run(t, "ip", "-n", router, "neigh", "add", p.ip, "lladdr", podMAC, "dev", rdev, "nud", "permanent")
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		cg := filepath.Join(base, "kubepods-pod"+strings.ReplaceAll(uid, "-", "_")+".slice")
		must(os.MkdirAll(cg, 0o755))
		t.Cleanup(func() {
			for range 50 {
				if os.Remove(cg) == nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		pods[p.name] = &pod{name: p.name, ns: ns, dev: dev, ip: p.ip, gw: p.gw, cgroup: cg, uid: uid}
	}
	time.Sleep(300 * time.Millisecond) // the addresses settle

	// The Kubernetes API: no API server can run here, so a small one serves
	// the pods and the EndpointSlice from the real types, and client-go's
	// informers in the agent list and watch it as they would a cluster's.
	kubeconfig := fakeAPIServer(t, pods)

	// The agent.
	bin := buildAgent(t)
	dir := t.TempDir()
	agent := exec.Command(bin, "-node", "node-a", "-cluster", "e2e", "-window", "1s", "-drain-interval", "250ms", "-dir", dir, "-top-k", "0",
		"-imds-endpoint", imds.URL, "-ec2-endpoint", moto, "-ip-ranges-file", rangesFile, "-startup-attempts", "1",
		"-kubeconfig", kubeconfig)
	agent.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	var logs strings.Builder
	agent.Stderr = &logs
	must(agent.Start())
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), `"msg":"counting"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "no VPC view") || strings.Contains(logs.String(), "no instance metadata") {
		t.Fatalf("the agent runs without its view:\n%s", logs.String())
	}

	before := map[string]uint64{}
	for n, p := range pods {
		before[n] = veth(t, p)
	}
	// Servers: in pods a2 and b, and on the router's public addresses.
	for _, srv := range []struct {
		p    *pod
		args []string
	}{{pods["a2"], []string{"serve", "tcp", "10.1.1.11:5001"}}, {pods["b"], []string{"serve", "tcp", "10.1.2.20:5002"}}} {
		_, out := startIn(t, srv.p, srv.args...)
		if l, _ := out.ReadString('\n'); l != "ready\n" {
			t.Fatalf("server %v: %q", srv.args, l)
		}
	}
	self, _ := os.Executable()
	for _, args := range [][]string{{"serve", "tcp", public + ":443", s3IP + ":443"}, {"serve", "udp", "100.64.5.5:8125"}} {
		cmd := exec.Command("ip", "netns", "exec", router, self, "-test.run=^$")
		cmd.Env = append(os.Environ(), "NETCOST_E2E_HELPER="+strings.Join(args, " "))
		out, _ := cmd.StdoutPipe()
		must(cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
			t.Fatalf("router server %v: %q", args, l)
		}
	}
	type flow struct {
		from     string
		proto    string
		to       string
		bytes    int
		cat      flows.Category
		via      string
		viaAZID  string
		remoteAZ string
	}
	traffic := []flow{
		{"a", "tcp", "10.1.1.11:5001", 1 << 20, flows.IntraAZ, "", "", az1},
		{"a", "tcp", "10.1.2.20:5002", 2 << 20, flows.InterAZ, "", "", az2},
		{"a", "tcp", public + ":443", 1 << 20, flows.NATGateway, natID, az2, ""},
		{"a", "tcp", s3IP + ":443", 1 << 20, flows.AmazonS3, vpceID, "", ""},
		{"b", "tcp", s3IP + ":443", 1 << 20, flows.AmazonS3, natID, az2, ""},
		{"pub", "tcp", public + ":443", 1 << 20, flows.Internet, "", "", ""},
		{"a", "udp", "100.64.5.5:8125", 200000, flows.Unclassified, "", "", ""},
	}
	for _, f := range traffic {
		cmd, _ := startIn(t, pods[f.from], "send", f.proto, f.to, fmt.Sprint(f.bytes))
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s -> %s: %v", f.from, f.to, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	wire := map[string]uint64{}
	for n, p := range pods {
		wire[n] = veth(t, p) - before[n]
	}
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, logs.String())
	}

	if !strings.Contains(logs.String(), "Kubernetes names synced") {
		t.Errorf("the agent did not sync names:\n%s", logs.String())
	}
	counted := map[string]uint64{}
	names := map[string]string{} // local ip > remote -> "localpod/workload remote pod/service"
	type seen struct {
		cat               flows.Category
		via, viaAZ, remAZ string
		localAZ, subnet   string
	}
	byDest := map[string][]seen{}
	_, err = flows.Read(ctx, dir, flows.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		for n, p := range pods {
			if r.LocalIP == p.ip {
				counted[n] += r.Bytes
			}
		}
		if r.Direction == flows.Egress && r.RemotePort != 0 {
			k := r.LocalIP + ">" + net.JoinHostPort(r.RemoteIP, fmt.Sprint(r.RemotePort))
			byDest[k] = append(byDest[k], seen{r.Category, r.Via, r.ViaAZID, r.RemoteAZID, r.LocalAZID, r.LocalSubnet})
			names[k] = r.LocalNamespace + "/" + r.LocalPod + " " + r.LocalWorkload + "(" + r.LocalWorkloadKind + ") -> " + r.RemoteNamespace + "/" + r.RemotePod + " " + r.RemoteWorkload + " svc=" + r.RemoteService + " node=" + r.RemoteNode
		}
		return nil
	})
	must(err)
	for n := range pods {
		if counted[n] != wire[n] {
			t.Errorf("pod %s: records hold %d bytes; its veth carried %d", n, counted[n], wire[n])
		}
	}
	for k, want := range map[string]string{
		"10.1.1.10>10.1.2.20:5002":   "shop/pod-a pod-a(Deployment) -> shop/pod-b pod-b svc=pod-b node=node-b",
		"10.1.1.10>10.1.1.11:5001":   "shop/pod-a pod-a(Deployment) -> shop/pod-a2 pod-a2 svc= node=node-a",
		"10.1.1.10>203.0.113.10:443": "shop/pod-a pod-a(Deployment) -> /  svc= node=",
	} {
		if names[k] != want {
			t.Errorf("%s: names %q; want %q", k, names[k], want)
		}
	}
	for _, f := range traffic {
		k := pods[f.from].ip + ">" + f.to
		got := byDest[k]
		if len(got) == 0 {
			t.Errorf("%s: no egress record", k)
			continue
		}
		for _, g := range got {
			if g.cat != f.cat || g.via != f.via || g.viaAZ != f.viaAZID || g.remAZ != f.remoteAZ {
				t.Errorf("%s: %s via %q (%q), remote AZ %q; want %s via %q (%q), remote AZ %q", k, g.cat, g.via, g.viaAZ, g.remAZ, f.cat, f.via, f.viaAZID, f.remoteAZ)
			}
		}
	}
}

// fakeAPIServer serves the pods (and a Service for pod b) as the Kubernetes
// API does for list and watch, and returns a kubeconfig for it.
func fakeAPIServer(t *testing.T, pods map[string]*pod) string {
	t.Helper()
	var items []corev1.Pod
	for name, p := range pods {
		node := "node-a"
		if name == "b" || name == "pub" {
			node = "node-b"
		}
		yes := true
		items = append(items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-" + name, Namespace: "shop", UID: ktypes.UID(p.uid), ResourceVersion: "1",
				Labels:          map[string]string{"pod-template-hash": "h"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "pod-" + name + "-h", Controller: &yes, APIVersion: "apps/v1"}}},
			Spec:   corev1.PodSpec{NodeName: node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.ip, PodIPs: []corev1.PodIP{{IP: p.ip}}},
		})
	}
	podList := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: items}
	sliceList := discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList", APIVersion: "discovery.k8s.io/v1"},
		ListMeta: metav1.ListMeta{ResourceVersion: "1"},
		Items: []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "pod-b-x", Namespace: "shop", ResourceVersion: "1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "pod-b"}}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{pods["b"].ip}}}}}}
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
			json.NewEncoder(w).Encode(corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"},
				Items: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node-a", ResourceVersion: "1"},
					Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.1.2"}}}}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q}}]
users: [{name: e2e, user: {token: test}}]
contexts: [{name: e2e, context: {cluster: e2e, user: e2e}}]
current-context: e2e
`, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}
