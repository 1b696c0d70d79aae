package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
)

// The end-to-end test: network namespaces stand in for pods in two AZ
// subnets of a VPC that exists in moto_server, a router namespace forwards
// to "public" addresses, the pods sit in cgroups named like kubelet's, and
// the built agent, with real flags, writes the records that are checked.

func TestMain(m *testing.M) {
	if args := os.Getenv("NETCOST_E2E_HELPER"); args != "" {
		if err := testbed.HelperMain(strings.Fields(args)); err != nil {
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
		// capabilities in every thread. Stamped with its commit for
		// -version, whatever GOFLAGS says.
		build := exec.Command("go", "build", "-buildvcs=true", "-o", builtBin, ".")
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

// veth is the IP-level bytes a pod's veth carried, both ways.
func veth(t *testing.T, p *testbed.Pod) uint64 {
	s := netnstest.LinkStats(t, p.NS, p.Dev)
	return s.RxBytes + s.TxBytes
}

func TestEndToEnd(t *testing.T) {
	netnstest.RequireRoot(t, "the end-to-end test loads eBPF and builds namespaces")
	moto := mototest.Start(t)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vpc := testbed.NewVPC(ctx, t, moto, 1)
	az1, az2, natID, vpceID, s3IP := vpc.AZ1, vpc.AZ2, vpc.NAT, vpc.S3VPCE, vpc.S3IP
	rangesFile := filepath.Join(t.TempDir(), "ip-ranges.json")
	vpc.WriteIPRanges(t, rangesFile, testbed.IPRanges{})
	imds := vpc.IMDS(t)

	// An internal ALB's interface in AZ2, which the router answers for.
	const albIP, alb = "10.1.2.50", "app/e2e-alb/0e2e0e2e0e2e0e2e"
	ec2Endpoint := vpc.WithLoadBalancers(t, moto,
		testbed.LoadBalancer{Description: "ELB " + alb, InterfaceType: "interface", AZ: "us-east-1b", IP: albIP})

	// The network: pods in their namespaces behind a router namespace that
	// also owns the public addresses. node-a (this agent's) and node-b run
	// the agent; pod-f runs on Fargate, which runs none.
	const public, fargate = "203.0.113.10", "fargate-ip-10-1-2-30.ec2.internal"
	var specs []*testbed.Pod
	for _, p := range []struct{ key, ip, gw, node, svc string }{
		{"a", "10.1.1.10", "10.1.1.1", "node-a", ""}, {"a2", "10.1.1.11", "10.1.1.1", "node-a", ""},
		{"b", "10.1.2.20", "10.1.2.1", "node-b", "pod-b"}, {"pub", "10.1.101.5", "10.1.101.1", "node-b", ""},
		{"f", "10.1.2.30", "10.1.2.1", fargate, ""},
	} {
		specs = append(specs, &testbed.Pod{Key: p.key, Name: "pod-" + p.key, Workload: "pod-" + p.key, Hash: "h",
			Node: p.node, Service: p.svc, IP: p.ip, GW: p.gw})
	}
	// The Kubernetes API: a real API server holds the pods and the
	// EndpointSlice, and the agent's informers list and watch it as its
	// ServiceAccount, with the rights infra/agent/rbac.yaml gives it. The
	// server names the pods' UIDs, which name their cgroups below.
	_, kubeconfig := kubeAPI(t, vpc.NodeIP(), specs, "node-a", "node-b")
	network := testbed.NewNetwork(t, "nce", []string{public, s3IP, "100.64.5.5", albIP}, specs)
	pods := network.Pods
	// Services: kube-proxy DNATs a pod's connection to a ClusterIP in the
	// node's namespace (here the router's), after the pod's veth.
	network.ClusterIP(t, "tcp", "10.96.0.10:80", "10.1.2.20:5003")
	network.ClusterIP(t, "udp", "10.96.0.11:53", "10.1.1.11:5353")

	// The agent.
	bin := buildAgent(t)
	dir := t.TempDir()
	agent := exec.Command(bin, "-node", "node-a", "-cluster", "e2e", "-window", "1s", "-drain-interval", "250ms", "-dir", dir, "-top-k", "0",
		"-imds-endpoint", imds, "-ec2-endpoint", ec2Endpoint, "-ip-ranges-file", rangesFile, "-startup-attempts", "1",
		"-kubeconfig", kubeconfig, "-service-cidr", "10.96.0.0/16", "-conntrack-netns", "/var/run/netns/"+network.Router,
		// The test's pods sit in all three subnets and no VPC CNI translates
		// their addresses to the node's: each pod's own subnet routes it.
		"-external-snat")
	agent.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"POD_NAME="+testbed.AgentPod("node-a"), "POD_NAMESPACE="+testbed.AgentNamespace)
	var logs strings.Builder
	agent.Stderr = &logs
	must(agent.Start())
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), `"msg":"naming"`); time.Sleep(50 * time.Millisecond) {
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
	pods["a2"].ServeIn(t, "NETCOST_E2E_HELPER", "serve", "tcp", "10.1.1.11:5001")
	pods["b"].ServeIn(t, "NETCOST_E2E_HELPER", "serve", "tcp", "10.1.2.20:5002", "10.1.2.20:5003")
	pods["a2"].ServeIn(t, "NETCOST_E2E_HELPER", "serve", "udp", "10.1.1.11:5353")
	pods["f"].ServeIn(t, "NETCOST_E2E_HELPER", "serve", "tcp", "10.1.2.30:5004")
	network.Serve(t, "NETCOST_E2E_HELPER", "serve", "tcp", public+":443", s3IP+":443", albIP+":443")
	network.Serve(t, "NETCOST_E2E_HELPER", "serve", "udp", "100.64.5.5:8125")
	type flow struct {
		from     string
		proto    string
		to       string
		bytes    int
		cat      flows.Category
		via      string
		viaAZID  string
		remoteAZ string
		backend  string // the Service's backend, for a ClusterIP: what the records name
		reported bool   // the remote's node runs the agent
		lb       string
	}
	traffic := []flow{
		{"a", "tcp", "10.1.1.11:5001", 1 << 20, flows.IntraAZ, "", "", az1, "", true, ""},
		{"a", "tcp", "10.1.2.20:5002", 2 << 20, flows.InterAZ, "", "", az2, "", true, ""},
		{"a", "tcp", "10.1.2.30:5004", 1 << 20, flows.InterAZ, "", "", az2, "", false, ""},
		{"a", "tcp", albIP + ":443", 1 << 20, flows.InterAZ, "", "", az2, "", false, alb},
		{"a", "tcp", public + ":443", 1 << 20, flows.NATGateway, natID, az2, "", "", false, ""},
		{"a", "tcp", s3IP + ":443", 1 << 20, flows.AmazonS3, vpceID, "", "", "", false, ""},
		{"b", "tcp", s3IP + ":443", 1 << 20, flows.AmazonS3, natID, az2, "", "", false, ""},
		{"pub", "tcp", public + ":443", 1 << 20, flows.Internet, "", "", "", "", false, ""},
		{"a", "udp", "100.64.5.5:8125", 200000, flows.Unclassified, "", "", "", "", false, ""},
		{"a", "tcp", "10.96.0.10:80", 1 << 20, flows.InterAZ, "", "", az2, "10.1.2.20:5003", true, ""},
		{"a2", "tcp", "10.96.0.10:80", 1 << 20, flows.InterAZ, "", "", az2, "10.1.2.20:5003", true, ""},
		{"a", "udp", "10.96.0.11:53", 100000, flows.IntraAZ, "", "", az1, "10.1.1.11:5353", true, ""},
	}
	for _, f := range traffic {
		cmd, _ := pods[f.from].Start(t, "NETCOST_E2E_HELPER", "send", f.proto, f.to, fmt.Sprint(f.bytes))
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

	if l := logs.String(); !strings.Contains(l, "Kubernetes names synced") || !strings.Contains(l, `"nodes_with_a_ready_agent":2`) {
		t.Errorf("the agent did not sync names, or missed the agent's pods on node-a and node-b:\n%s", logs.String())
	}
	counted := map[string]uint64{}
	names := map[string]string{} // local ip > remote -> "localpod/workload remote pod/service"
	type seen struct {
		cat               flows.Category
		via, viaAZ, remAZ string
		localAZ, subnet   string
		reported          flows.OptBool
		lb                string
	}
	byDest := map[string][]seen{}
	_, err := source.Read(ctx, dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		ours := false
		for n, p := range pods {
			if r.LocalIP == p.IP {
				counted[n] += r.Bytes
				ours = true
			}
		}
		// The agent counts the whole machine: other tests running
		// meanwhile (conntrack's own ClusterIP test) are not its business.
		if ours && strings.HasPrefix(r.RemoteIP, "10.96.") {
			t.Errorf("a record names a ClusterIP, not its backend: %+v", r)
		}
		if _, set := r.RemoteReportedRaw.Get(); ours && (!set || r.NodeInstanceID != testbed.InstanceID) {
			t.Errorf("record %+v: remote_reported %v, node_instance_id %q; want it set, and %s", r, r.RemoteReportedRaw,
				r.NodeInstanceID, testbed.InstanceID)
		}
		if r.Direction == flows.Egress && r.RemotePort != 0 {
			k := r.LocalIP + ">" + net.JoinHostPort(r.RemoteIP, fmt.Sprint(r.RemotePort))
			byDest[k] = append(byDest[k], seen{r.Category, r.Via, r.ViaAZID, r.RemoteAZID, r.LocalAZID, r.LocalSubnet,
				r.RemoteReportedRaw, r.RemoteLB})
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
		"10.1.1.10>10.1.2.20:5003":   "shop/pod-a pod-a(Deployment) -> shop/pod-b pod-b svc=pod-b node=node-b",
		"10.1.1.11>10.1.2.20:5003":   "shop/pod-a2 pod-a2(Deployment) -> shop/pod-b pod-b svc=pod-b node=node-b",
		"10.1.1.10>10.1.1.11:5353":   "shop/pod-a pod-a(Deployment) -> shop/pod-a2 pod-a2 svc= node=node-a",
		"10.1.1.10>10.1.2.30:5004":   "shop/pod-a pod-a(Deployment) -> shop/pod-f pod-f svc= node=" + fargate,
		"10.1.1.10>10.1.2.50:443":    "shop/pod-a pod-a(Deployment) -> /  svc= node=",
	} {
		if names[k] != want {
			t.Errorf("%s: names %q; want %q", k, names[k], want)
		}
	}
	for _, f := range traffic {
		to := f.to
		if f.backend != "" {
			to = f.backend
		}
		k := pods[f.from].IP + ">" + to
		got := byDest[k]
		if len(got) == 0 {
			t.Errorf("%s: no egress record", k)
			continue
		}
		for _, g := range got {
			if g.cat != f.cat || g.via != f.via || g.viaAZ != f.viaAZID || g.remAZ != f.remoteAZ {
				t.Errorf("%s: %s via %q (%q), remote AZ %q; want %s via %q (%q), remote AZ %q", k, g.cat, g.via, g.viaAZ, g.remAZ, f.cat, f.via, f.viaAZID, f.remoteAZ)
			}
			if g.reported != flows.BoolOf(f.reported) || g.lb != f.lb {
				t.Errorf("%s: remote_reported %v, remote_lb %q; want %v, %q", k, g.reported, g.lb, f.reported, f.lb)
			}
		}
	}
}
