package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
)

// TestNamesEndToEnd: a pod resolves names through the system resolver (its /etc/resolv.conf, as
// `ip netns exec` mounts it) from a real DNS server process (dnsmasq) in the router's namespace, one
// through a CNAME, and opens a TLS connection whose server name is neither the DNS name nor the
// certificate's. The built agent, names on by default, writes each name into the records.
func TestNamesEndToEnd(t *testing.T) {
	netnstest.RequireRoot(t, "the names end-to-end test loads eBPF and builds namespaces")
	dnsmasq, err := exec.LookPath("dnsmasq")
	if err != nil {
		t.Fatalf("the names end-to-end test needs dnsmasq (apt-get install dnsmasq-base; .ci/deps does): %v", err)
	}
	const (
		resolverIP = "198.51.100.53"
		cdnIP      = "203.0.113.20" // api.vendor.example, a CNAME to edge.vendor-cdn.example
		tlsIP      = "203.0.113.21" // direct.shop.example; its TLS server's certificate names cdn.example.net
	)
	pod := &testbed.Pod{Key: "n", Name: "pod-n", Workload: "pod-n", Hash: "h", Node: "node-a", IP: "10.3.1.10",
		GW: "10.3.1.1"}
	network := testbed.NewNetwork(t, "ncn", []string{resolverIP, cdnIP, tlsIP}, []*testbed.Pod{pod})

	// The pod's system resolver: ip netns exec mounts /etc/netns/NS/resolv.conf on /etc/resolv.conf.
	etc := filepath.Join("/etc/netns", pod.NS)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver "+resolverIP+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dns := exec.Command("ip", "netns", "exec", network.Router, dnsmasq, "--keep-in-foreground", "--no-resolv",
		"--no-hosts", "--bind-interfaces", "--listen-address="+resolverIP, "--port=53", "--user=root",
		"--pid-file=", "--log-facility=-", "--log-queries",
		"--host-record=edge.vendor-cdn.example,"+cdnIP, "--cname=api.vendor.example,edge.vendor-cdn.example",
		"--host-record=direct.shop.example,"+tlsIP)
	var dnsLog strings.Builder
	dns.Stderr = &dnsLog
	if err := dns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Process.Kill(); dns.Wait() })

	bin := buildAgent(t)
	dir := t.TempDir()
	// No VPC, instance metadata or Kubernetes here: records are UNCLASSIFIED and unnamed but for what the
	// pod saw, which is what this test is about.
	agent := exec.Command(bin, "-node", "node-a", "-cluster", "names", "-window", "1s", "-drain-interval", "250ms",
		"-dir", dir, "-top-k", "0", "-region", "us-east-1", "-vpc-id", "vpc-0a1b2c3d", "-imds-endpoint",
		"http://127.0.0.1:1", "-ec2-endpoint", "http://127.0.0.1:1", "-ip-ranges-url", "", "-startup-attempts", "1",
		"-cgroup-root", network.Cgroup)
	agent.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "KUBECONFIG=")
	var logs strings.Builder
	agent.Stderr = &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for ; !strings.Contains(logs.String(), `"msg":"counting"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start:\n%s", logs.String())
		}
	}

	network.Serve(t, "NETCOST_E2E_HELPER", "serve", "tcp", cdnIP+":443")
	tlsServer := exec.Command("ip", "netns", "exec", network.Router, os.Args[0], "-test.run=^$")
	tlsServer.Env = append(os.Environ(), "NETCOST_E2E_HELPER=tlsserve "+tlsIP+":443 cdn.example.net")
	out, _ := tlsServer.StdoutPipe()
	if err := tlsServer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tlsServer.Process.Kill(); tlsServer.Wait() })
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
		t.Fatalf("TLS server: %q", l)
	}
	talk := func() {
		for _, args := range [][]string{
			{"send", "tcp", "api.vendor.example:443", "100000"},              // through the CNAME
			{"tls", "direct.shop.example:443", "api.shop.example", "100000"}, // SNI neither DNS's nor the certificate's
		} {
			cmd, _ := pod.Start(t, "NETCOST_E2E_HELPER", args...)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("pod: %v: %v\ndnsmasq:\n%s", args, err, dnsLog.String())
			}
		}
	}
	// The agent reads the kernel's name events a moment late: the flows of a window that closed before it
	// did are unnamed. Once /metrics says it knows both names, the pod talks again, and those are named.
	talk()
	addr := regexp.MustCompile(`"msg":"serving /metrics[^}]*"addr":"([^"]+)"`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("the agent does not say where it serves /metrics:\n%s", logs.String())
	}
	for deadline := time.Now().Add(10 * time.Second); metric(t, addr[1], "netcost_names") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the agent learned %v names in 10s; want 2:\n%s", metric(t, addr[1], "netcost_names"),
				logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	talk()
	time.Sleep(300 * time.Millisecond)
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, logs.String())
	}
	if !strings.Contains(dnsLog.String(), "query[A] api.vendor.example") {
		t.Errorf("dnsmasq was not asked for api.vendor.example: the pod did not use it:\n%s", dnsLog.String())
	}

	named := map[string]map[string]bool{} // remote ip -> "name/source"
	_, err = source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		if r.LocalIP != pod.IP {
			return nil
		}
		if named[r.RemoteIP] == nil {
			named[r.RemoteIP] = map[string]bool{}
		}
		named[r.RemoteIP][r.RemoteName+"/"+r.RemoteNameSource] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A window that closed between a connection's first packet and the event that named it (read every
	// 100ms) has a record without a name; no record has another name.
	for ip, want := range map[string]string{cdnIP: "api.vendor.example/dns", tlsIP: "api.shop.example/sni"} {
		got := named[ip]
		delete(got, "/")
		if len(got) != 1 || !got[want] {
			t.Errorf("records to %s are named %v; want %s only", ip, keys(got), want)
		}
	}
	if t.Failed() {
		t.Logf("agent:\n%s", logs.String())
	}
}

// metric is a series' value on the agent's /metrics at addr, or -1 without it.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	return out
}
