// Command demo is `make demo`: the real agent and CLI on a simulated
// two-AZ cluster on this machine. It starts moto_server, creates the VPC and
// the namespaced pods of the agent's end-to-end test (agent/internal/testbed),
// runs the built agent publishing to moto's CloudWatch Logs, drives traffic
// between the pods for a while, stops the agent, prints what netcost says
// about it, and removes everything it made, on every way out (Ctrl-C too).
//
//	demo -agent BIN -netcost BIN [-traffic 25s]
//
// It needs root (network namespaces, cgroups, eBPF). make builds the
// binaries; demo builds nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/netcost/netcost/agent/internal/testbed"
)

// helperEnv starts the demo binary as a traffic helper in a pod.
const helperEnv = "NETCOST_DEMO_HELPER"

const (
	window = 10 * time.Second
	public = "203.0.113.10" // the queue API (SQS) on the simulated internet, AMAZON in ip-ranges
	// queueHost is its name, which the queue sender resolves through the
	// DNS server at resolver (the VPC's Amazon DNS address), in the
	// "internet" namespace: the agent learns the name from the answer.
	queueHost = "sqs.us-east-1.amazonaws.com"
	resolver  = "169.254.169.253"
	cluster   = "demo"
	// The products Service: its ClusterIP, DNAT'd to its two replicas as
	// kube-proxy does (iptables in the node's namespace).
	serviceCIDR = "10.100.0.0/16"
	productsIP  = "10.100.0.50:80"
)

func main() {
	if args := os.Getenv(helperEnv); args != "" {
		if err := testbed.HelperMain(strings.Fields(args)); err != nil {
			fmt.Fprintln(os.Stderr, "demo helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	agentBin := flag.String("agent", "", "the built netcost-agent binary (required)")
	cliBin := flag.String("netcost", "", "the built netcost CLI binary (required)")
	traffic := flag.Duration("traffic", 25*time.Second, "how long to drive traffic")
	flag.Parse()
	if *agentBin == "" || *cliBin == "" || flag.NArg() > 0 || *traffic < time.Second {
		fmt.Fprintln(os.Stderr, "demo: usage: demo -agent BIN -netcost BIN [-traffic 25s] (make demo builds both)")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: the live demo builds network namespaces and cgroups and loads eBPF: run it as root (make demo without root shows the sample store)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &testbed.Program{Name: "demo"}
	os.Exit(r.Run(func() int { return run(ctx, r, *agentBin, *cliBin, *traffic, os.Stdout) }))
}

// check stops the demo if it was interrupted.
func check(ctx context.Context, r *testbed.Program) {
	if ctx.Err() != nil {
		r.Fatalf("interrupted")
	}
}

// run runs the demo and returns the exit status.
func run(ctx context.Context, r *testbed.Program, agentBin, cliBin string, traffic time.Duration, out io.Writer) int {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	// The first cleanup registered, the last to run.
	r.Cleanup(func() {
		say("\ndemo: removed everything it made (namespaces, veths, cgroups, moto_server, temporary files).")
	})
	say(`netcost demo: the real agent (eBPF) and CLI on a simulated cluster on this machine.
Simulated: the AWS VPC (two AZs, NAT gateway, S3 gateway endpoint) lives in moto_server, a local AWS
emulator; pods are network namespaces in kubelet-style cgroups; the Kubernetes API and instance metadata
are small local servers; "the internet" (a queue API, S3, a DNS server) is a local router namespace, which
also plays the node's namespace, where iptables rules translate the products Service's ClusterIP as
kube-proxy's do. Real: the agent, its eBPF counting, its reading of conntrack and of the DNS answers the pods
receive, CloudWatch Logs publishing (to moto), the CLI, and the us-east-1 prices.`)

	tmp, err := os.MkdirTemp("", "netcost-demo-")
	if err != nil {
		r.Fatalf("%v", err)
	}
	r.Cleanup(func() { os.RemoveAll(tmp) })

	say("\n[1/5] starting moto_server and creating the VPC")
	endpoint := testbed.Moto(r)
	say("      moto_server at %s", endpoint)
	check(ctx, r)
	vpc := testbed.NewVPC(ctx, r, endpoint, 20) // 10.20/16: not the end-to-end test's
	ranges := filepath.Join(tmp, "ip-ranges.json")
	vpc.WriteIPRanges(r, ranges, testbed.IPRanges{Amazon: []string{public}})
	imds := vpc.IMDS(r)
	say("      %s: subnets in %s and %s, NAT gateway %s (in %s), S3 gateway endpoint %s", vpc.ID, vpc.AZ1, vpc.AZ2, vpc.NAT, vpc.AZ2, vpc.S3VPCE)

	say("[2/5] creating the pods (network namespaces) and the Kubernetes API")
	check(ctx, r)
	ip := func(host string) string { return vpc.Net + host }
	pods := []*testbed.Pod{
		{Key: "co", Name: "checkout-7d9f8b6c5-p7r4t", Workload: "checkout", Hash: "7d9f8b6c5", Node: "node-a", IP: ip("1.10"), GW: ip("1.1")},
		{Key: "oe", Name: "order-events-6f8d9c7b5-m4n8p", Workload: "order-events", Hash: "6f8d9c7b5", Node: "node-a", IP: ip("1.11"), GW: ip("1.1")},
		{Key: "pa", Name: "products-5c6b7f9d84-kq7lz", Workload: "products", Hash: "5c6b7f9d84", Node: "node-a", Service: "products", IP: ip("1.12"), GW: ip("1.1")},
		{Key: "pr", Name: "products-5c6b7f9d84-w9h2j", Workload: "products", Hash: "5c6b7f9d84", Node: "node-b", Service: "products", IP: ip("2.20"), GW: ip("2.1")},
		{Key: "iu", Name: "image-uploader-8b7c6d5f4-x2x9q", Workload: "image-uploader", Hash: "8b7c6d5f4", Node: "node-b", IP: ip("2.21"), GW: ip("2.1")},
	}
	network := testbed.NewNetwork(r, "ncd", []string{public, vpc.S3IP, resolver}, pods)
	// One agent counts both simulated nodes' pods here, so the API shows
	// an agent pod on each: both ends of a pod pair are reported.
	kubeconfig := testbed.KubeAPI(r, tmp, vpc.NodeIP(), pods, "node-a", "node-b")
	say("      namespaces ncd-*-%s, cgroups ncd-%s/kubepods.slice/*", network.Suffix, network.Suffix)
	for _, p := range pods {
		say("      shop/%-30s %s  %s", p.Name, p.IP, map[string]string{ip("1.1"): vpc.AZ1, ip("2.1"): vpc.AZ2}[p.GW])
	}

	say("[3/5] starting the agent: -sink cloudwatch to moto, %v windows", window)
	check(ctx, r)
	agentLog := filepath.Join(tmp, "agent.log")
	logf, err := os.Create(agentLog)
	if err != nil {
		r.Fatalf("%v", err)
	}
	agent := exec.Command(agentBin, "-node", "node-a", "-cluster", cluster, "-window", window.String(), "-drain-interval", "2s",
		"-sink", "cloudwatch", "-logs-endpoint", endpoint, "-spool-dir", filepath.Join(tmp, "spool"),
		"-imds-endpoint", imds, "-ec2-endpoint", endpoint, "-ip-ranges-file", ranges, "-ip-ranges-url", "",
		"-ip-ranges-cache", filepath.Join(tmp, "ip-ranges-cache.json"), "-startup-attempts", "1",
		"-kubeconfig", kubeconfig, "-metrics-addr", "127.0.0.1:0",
		// kube-proxy's translations happen in the node's namespace: here the
		// router's, whose conntrack table names each connection's backend.
		"-service-cidr", serviceCIDR, "-conntrack-netns", "/var/run/netns/"+network.Router,
		// The demo's pods only: not another run's (make demo in a test, the
		// end-to-end test) on the same machine.
		"-cgroup-root", network.Cgroup,
		// No VPC CNI translates the pods' addresses to the node's here: each
		// pod's subnet routes it, as the image uploader's through the NAT.
		"-external-snat")
	agent.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"POD_NAME="+testbed.AgentPod("node-a"), "POD_NAMESPACE="+testbed.AgentNamespace)
	agent.Stderr = logf
	// Its own process group: a Ctrl-C reaches the demo, which stops the
	// agent itself.
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := agent.Start(); err != nil {
		r.Fatalf("starting the agent: %v", err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Wait() }()
	r.Cleanup(func() {
		select {
		case <-agentDone:
		default:
			agent.Process.Kill()
			<-agentDone
		}
		logf.Close()
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(readFile(agentLog), `"msg":"naming"`); time.Sleep(100 * time.Millisecond) {
		check(ctx, r)
		select {
		case err := <-agentDone:
			agentDone <- err
			r.Fatalf("the agent exited (%v):\n%s", err, readFile(agentLog))
		default:
		}
		if time.Now().After(deadline) {
			r.Fatalf("the agent did not start within 30s:\n%s", readFile(agentLog))
		}
	}

	say("[4/5] driving traffic for %v:", traffic)
	say("      checkout (%s) calls the products Service (ClusterIP %s), one replica in each AZ, as kube-proxy spreads it:", vpc.AZ1, productsIP)
	say("      half its calls stay in %s, half cross to %s (inter-AZ)", vpc.AZ1, vpc.AZ2)
	say("      order-events (%s) sends to the queue API %s, which the DNS server at %s resolves to %s:", vpc.AZ1,
		queueHost, resolver, public)
	say("      through the NAT gateway (in %s); the agent names it from the DNS answer the pod received", vpc.AZ2)
	say("      image-uploader (%s) uploads to S3 (%s): through the NAT gateway, no endpoint on its route table", vpc.AZ2, vpc.S3IP)
	network.Serve(r, helperEnv, "serve", "tcp", public+":443", vpc.S3IP+":443")
	network.Serve(r, helperEnv, "dns", resolver+":53", queueHost+"="+public)
	byKey := network.Pods
	byKey["pa"].ServeIn(r, helperEnv, "serve", "tcp", ip("1.12:8080"))
	byKey["pr"].ServeIn(r, helperEnv, "serve", "tcp", ip("2.20:8080"))
	network.ClusterIP(r, "tcp", productsIP, ip("1.12:8080"), ip("2.20:8080"))
	flows := []struct {
		from, to string
		via      string // the Service's ClusterIP the pod calls, or the host name it resolves
		bytes    int
	}{{"co", ip("1.12:8080"), productsIP, 6 << 20}, {"co", ip("2.20:8080"), productsIP, 6 << 20},
		{"oe", public + ":443", queueHost + ":443", 2 << 20}, {"iu", vpc.S3IP + ":443", "", 3 << 20}}
	tick := time.NewTicker(time.Second)
	rounds := 0
	for end := time.Now().Add(traffic); time.Now().Before(end); rounds++ {
		var cmds []*exec.Cmd
		for _, f := range flows {
			args := []string{"send", "tcp", f.to, fmt.Sprint(f.bytes)}
			if f.via != "" {
				args[2] = f.via
			}
			if f.via == queueHost+":443" {
				args = append(args, resolver+":53")
			}
			cmd, _ := byKey[f.from].Start(r, helperEnv, args...)
			cmds = append(cmds, cmd)
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				check(ctx, r)
				r.Fatalf("%s -> %s: %v", byKey[flows[i].from].Name, flows[i].to, err)
			}
		}
		select {
		case <-ctx.Done():
			check(ctx, r)
		case <-tick.C:
		}
	}
	tick.Stop()
	say("      %d rounds: each sent", rounds)
	for _, f := range flows {
		via := ""
		switch {
		case f.via == queueHost+":443":
			via = " (as " + queueHost + ")"
		case f.via != "":
			via = " (through the Service's ClusterIP " + f.via + ")"
		}
		say("      %-34s -> %-18s %3d MiB a round%s", byKey[f.from].Name, f.to, f.bytes>>20, via)
	}
	// SIGTERM: the agent publishes its last, partial window and exits.
	agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-agentDone:
		agentDone <- err
		if err != nil {
			r.Fatalf("the agent: %v\n%s", err, readFile(agentLog))
		}
	case <-time.After(30 * time.Second):
		r.Fatalf("the agent did not stop within 30s of SIGTERM:\n%s", readFile(agentLog))
	case <-ctx.Done():
		check(ctx, r)
	}
	end := time.Now()

	// The window read: from the start of the agent's first window to the
	// end of its last. Monthly figures extrapolate it to 730 hours.
	from, to := start.Truncate(window).UTC().Format(time.RFC3339), end.Truncate(window).Add(window).UTC().Format(time.RFC3339)
	say("[5/5] what netcost says, from the records the agent published to CloudWatch Logs (moto):")
	say("      (--exact reads every record; moto has no Logs Insights, which netcost uses on AWS without it)")
	aws := []string{"--source", "cloudwatch", "--exact", "--endpoint-url", endpoint, "--region", "us-east-1", "--start", from, "--end", to}
	for _, args := range [][]string{
		{"top", "--category", "inter-az"},
		{"top", "--category", "nat"},
		{"recommend"},
		{"report", "--dry-run", "--cluster", cluster},
	} {
		check(ctx, r)
		say("\n$ netcost %s %s", strings.Join(args, " "), strings.Join(aws, " "))
		cmd := exec.CommandContext(ctx, cliBin, append(args, aws...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
		cmd.Stdout, cmd.Stderr = out, os.Stderr
		if err := cmd.Run(); err != nil {
			check(ctx, r)
			r.Fatalf("netcost %s: %v", args[0], err)
		}
	}
	say(`
That was simulated: the VPC was in moto_server, the pods were network namespaces, "the internet" a local
namespace; the traffic, the agent's eBPF counts, the records and the us-east-1 prices were real. Monthly
figures extrapolate the window read (%s to %s, %v of traffic) to 730 hours.`, from, to, traffic)
	return 0
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
