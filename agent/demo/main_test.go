package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/netnstest"
)

// TestDemo runs the built demo to its end and once interrupted (Ctrl-C) in
// the middle of its traffic, and checks that it leaves nothing behind:
// no namespace, link or cgroup of its own, no moto_server, no temporary
// file. The full run must show the simulated services' inter-AZ pair and
// their NAT gateway talkers.
func TestDemo(t *testing.T) {
	netnstest.RequireRoot(t, "the demo builds namespaces and loads eBPF")
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		t.Fatalf("the demo needs moto (python3 -c 'import moto.server': %v)", err)
	}
	bin := t.TempDir()
	for _, b := range []struct{ out, pkg string }{{"netcost-agent", ".."}, {"netcost", "../../cmd/netcost"}, {"demo", "."}} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as make demo builds them
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b.pkg, err, out)
		}
	}
	start := func(t *testing.T) (*exec.Cmd, *syncBuffer, string) {
		tmp := t.TempDir()
		cmd := exec.Command(filepath.Join(bin, "demo"), "-agent", filepath.Join(bin, "netcost-agent"), "-netcost", filepath.Join(bin, "netcost"), "-traffic", "5s")
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, out, tmp
	}
	check := func(t *testing.T, out *syncBuffer, tmp string) {
		t.Helper()
		m := regexp.MustCompile(`moto_server at (http://\S+)(?s:.*)namespaces ncd-\*-([0-9a-f]{6}),`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("the demo did not say where moto_server runs and how it names its namespaces:\n%s", out)
		}
		if left := leftovers(t, m[1], m[2]); len(left) > 0 {
			t.Errorf("the demo left %v behind:\n%s", left, out)
		}
		if files, _ := os.ReadDir(tmp); len(files) > 0 {
			t.Errorf("the demo left %d temporary files behind:\n%s", len(files), out)
		}
	}

	t.Run("full", func(t *testing.T) {
		cmd, out, tmp := start(t)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		check(t, out, tmp)
		s := out.String()
		nat := s[strings.Index(s, "top --category nat"):]
		for what, re := range map[string]string{
			"the inter-AZ pair": `(?m)^│ shop/checkout-\S+ +│ use1-az\d+ +│ shop/products-5c6b7f9d84-w9h2j +│ use1-az\d+ +│ [\d.]+ MiB`,
			"the queue sender's NAT, named from its DNS answer": `(?m)^│ 10\.20\.1\.11 +│ 203\.0\.113\.10 +│ [\d.]+ +│ ` +
				`order-events-\S+ +│ shop +│ Amazon SQS \(sqs\.us-east-1\.amazonaws\.com\) `,
			"the interface endpoint fix": `InterfaceEndpoint +com\.amazonaws\.us-east-1\.sqs`,
			"the S3 uploader's NAT":      `(?m)^│ 10\.20\.2\.21 +│ [\d.]+ +│ [\d.]+ +│ image-uploader-\S+ +│ shop +│ Amazon S3`,
			"the gateway endpoint fix":   `GatewayEndpoint +S3 in us-east-1`,
		} {
			src := s
			if strings.Contains(what, "NAT") {
				src = nat
			}
			if !regexp.MustCompile(re).MatchString(src) {
				t.Errorf("the demo's output has no %s (%s):\n%s", what, re, s)
			}
		}
		// The pair's bytes are what checkout sent to products in its zone
		// B, at the IP level: the payload and a few percent of headers.
		rounds := regexp.MustCompile(`(\d+) rounds: each sent(?s:.*)checkout-\S+ +-> 10\.20\.2\.20:8080 +(\d+) MiB a round`).FindStringSubmatch(s)
		pair := regexp.MustCompile(`(?m)^│ shop/checkout-\S+ +│ \S+ +│ shop/products-5c6b7f9d84-w9h2j +│ \S+ +│ \S+ MiB +│ ([\d.]+) MiB`).FindStringSubmatch(s)
		if rounds == nil || pair == nil {
			t.Fatalf("the demo's output has no rounds or no inter-AZ pair:\n%s", s)
		}
		var n, each int
		var sent float64
		fmt.Sscan(rounds[1], &n)
		fmt.Sscan(rounds[2], &each)
		fmt.Sscan(pair[1], &sent)
		if payload := float64(n * each); sent < payload || sent > payload*1.08 {
			t.Errorf("checkout -> products in the other zone: %.1f MiB counted; %d rounds of %d MiB sent", sent, n, each)
		}
		for _, want := range []string{"Simulated:", "That was simulated", `"blocks"`} {
			if !strings.Contains(s, want) {
				t.Errorf("the demo's output has no %q:\n%s", want, s)
			}
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		cmd, out, tmp := start(t)
		for deadline := time.Now().Add(90 * time.Second); !strings.Contains(out.String(), "[4/5]"); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the demo did not reach its traffic:\n%s", out)
			}
		}
		time.Sleep(time.Second)
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err == nil {
			t.Errorf("the interrupted demo exited 0:\n%s", out)
		}
		check(t, out, tmp)
		if !strings.Contains(out.String(), "interrupted") {
			t.Errorf("the demo does not say it was interrupted:\n%s", out)
		}
	})
}

// leftovers lists what remains of the demo run that named its things with
// suffix: its namespaces, links, cgroups, and a moto_server running with
// endpoint's port. (Other runs, such as
// TestREADME's make demo, may be under way at the same time.)
func leftovers(t *testing.T, endpoint, suffix string) []string {
	var left []string
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if f := strings.Fields(sc.Text()); len(f) > 0 && strings.HasPrefix(f[0], "ncd-") && strings.HasSuffix(f[0], "-"+suffix) {
			left = append(left, "netns "+f[0])
		}
	}
	links, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	veth := regexp.MustCompile(`^[er](co|oe|pa|pr|iu)` + suffix + `$`)
	for _, l := range links {
		if veth.MatchString(l.Name) {
			left = append(left, "link "+l.Name)
		}
	}
	root, err := bpf.FindCgroup2()
	if err != nil {
		t.Fatal(err)
	}
	cgs, _ := filepath.Glob(filepath.Join(root, "ncd-"+suffix))
	for _, c := range cgs {
		left = append(left, "cgroup "+c)
	}
	port := endpoint[strings.LastIndex(endpoint, ":")+1:]
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if args := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(args, "moto.server") && strings.Contains(args+" ", " -p "+port+" ") {
			left = append(left, fmt.Sprintf("moto_server %s", filepath.Dir(p)))
		}
	}
	return left
}

// syncBuffer is a bytes.Buffer the demo's output goes to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
