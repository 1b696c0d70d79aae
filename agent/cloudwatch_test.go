package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
)

// TestAgentCloudWatch runs the built agent twice with -sink cloudwatch and,
// beside it all along, once with the file sink. The first CloudWatch run
// cannot reach CloudWatch: it spools its windows and stops. The second,
// on the same spool, reaches moto: it publishes the first run's windows,
// then its own. Read back with FilterLogEvents, the records of the test's
// traffic equal the file sink's, flow by flow: the same fields, the same
// bytes and packets, nothing lost or counted twice.
func TestAgentCloudWatch(t *testing.T) {
	netnstest.RequireRoot(t, "the agent loads eBPF programs")
	moto := mototest.Start(t)
	bin := buildAgent(t)
	spool, dir := t.TempDir(), t.TempDir()
	unreachable := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()
	common := []string{"-node", "cw-node", "-cluster", "cw", "-window", "1s", "-drain-interval", "250ms", "-top-k", "0",
		"-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1", "-region", "us-east-1", "-ip-ranges-url", "", "-metrics-addr", "127.0.0.1:0"}
	files := startAgent(t, bin, append(common, "-dir", dir)...)
	first := startAgent(t, bin, append(common, "-sink", "cloudwatch", "-logs-endpoint", unreachable, "-spool-dir", spool)...)
	port1 := sendLoopback(t, 2<<20)
	// The spool shows in /metrics.
	m := regexp.MustCompile(`"msg":"serving /metrics[^\n]*"addr":"([^"]+)"`).FindStringSubmatch(first.logs.String())
	if m == nil {
		t.Fatalf("the agent does not say where it serves /metrics:\n%s", first.logs.String())
	}
	// The first window reaches the spool within a window or two: poll.
	var body []byte
	spooled := regexp.MustCompile(`(?m)^netcost_spool_windows ([0-9.e+]+)$`)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if w := spooled.FindSubmatch(body); w != nil && string(w[1]) != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics does not show the spooled windows after 15 s:\n%s", body)
		}
	}
	first.stop(t)
	if !strings.Contains(first.logs.String(), "CloudWatch Logs unreachable") {
		t.Errorf("the first run does not say that CloudWatch was unreachable:\n%s", first.logs.String())
	}
	// The spool's windows; its commit file (the last window's mark) stays.
	windows := func() []string { w, _ := filepath.Glob(filepath.Join(spool, "*.window")); return w }
	if left := windows(); len(left) == 0 {
		t.Fatalf("the first run left nothing in the spool:\n%s", first.logs.String())
	}
	second := startAgent(t, bin, append(common, "-sink", "cloudwatch", "-logs-endpoint", moto, "-spool-dir", spool)...)
	port2 := sendLoopback(t, 3<<20)
	second.stop(t)
	files.stop(t)
	if !strings.Contains(second.logs.String(), "publishing the windows a previous run left first") {
		t.Errorf("the second run does not replay the spool:\n%s", second.logs.String())
	}
	if left := windows(); len(left) != 0 {
		t.Errorf("the second run left %d windows in the spool:\n%s", len(left), second.logs.String())
	}

	// What CloudWatch holds.
	api := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	p := cloudwatchlogs.NewFilterLogEventsPaginator(api, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/netcost/flows"), LogStreamNames: []string{"cw-node"}})
	d := flows.NewDecoder()
	ids := map[string]bool{}
	var cw []flows.Record
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		for _, e := range out.Events {
			var r flows.Record
			if err := d.Decode([]byte(aws.ToString(e.Message)), &r); err != nil {
				t.Fatalf("an event is not a record: %v: %s", err, aws.ToString(e.Message))
			}
			var id struct {
				WindowID string `json:"window_id"`
				Seq      int    `json:"seq"`
			}
			json.Unmarshal([]byte(aws.ToString(e.Message)), &id)
			if k := fmt.Sprint(id.WindowID, "/", id.Seq); ids[k] || id.WindowID == "" {
				t.Errorf("event %q twice, or without an id", k)
			} else {
				ids[k] = true
			}
			cw = append(cw, r)
		}
	}
	var file []flows.Record
	if _, err := source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		file = append(file, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The test's flows, by everything but the window, in both.
	type sums struct{ bytes, packets uint64 }
	byFlow := func(recs []flows.Record) map[string]sums {
		m := map[string]sums{}
		for _, r := range recs {
			if r.RemotePort != port1 && r.RemotePort != port2 || r.RemoteIP != loopbackServer || r.Protocol != flows.TCP {
				continue // other tests' traffic
			}
			k := r
			k.TS, k.Bytes, k.Packets = time.Time{}, 0, 0
			key := string(flows.AppendJSON(nil, &k))
			s := m[key]
			s.bytes, s.packets = s.bytes+r.Bytes, s.packets+r.Packets
			m[key] = s
		}
		return m
	}
	got, want := byFlow(cw), byFlow(file)
	if len(want) < 2 {
		t.Fatalf("the file sink has %d of the test's flows; want one per port at least", len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("flow %s: CloudWatch %+v, file %+v", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("flow %s (%+v) is in CloudWatch only", k, g)
		}
	}
	var egress uint64
	for _, r := range cw {
		if r.RemotePort == port1 && r.RemoteIP == loopbackServer && r.Direction == flows.Egress {
			egress += r.Bytes
		}
	}
	if egress < 2<<20 {
		t.Errorf("CloudWatch holds %d bytes sent to port %d by the first run; want at least the 2 MiB of payload", egress, port1)
	}
}

type runningAgent struct {
	cmd  *exec.Cmd
	logs *syncBuffer // caps_test.go
}

// startAgent starts the built agent and waits until it counts, classifies and names.
func startAgent(t *testing.T, bin string, args ...string) *runningAgent {
	t.Helper()
	a := &runningAgent{cmd: exec.Command(bin, args...), logs: &syncBuffer{}}
	a.cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	a.cmd.Stderr = a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.cmd.Process.Kill(); a.cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(a.logs.String(), `"msg":"naming"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start counting and naming:\n%s", a.logs.String())
		}
	}
	return a
}

// stop stops the agent as Kubernetes does, with SIGTERM.
func (a *runningAgent) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		t.Fatalf("agent %v: %v\n%s", a.cmd.Args, err, a.logs.String())
	}
}

// loopbackServer is the loopback address sendLoopback's server listens
// on: no other test's traffic goes to it. On 127.0.0.1, once the test's
// port was free again, another test's client could get it as its own
// ephemeral port, and its traffic then looked like the test's to the
// agent that ran all along (the file sink), but not to the others.
const loopbackServer = "127.77.0.1"

// sendLoopback sends n bytes over a loopback TCP connection, lets the
// agents drain them, and returns the server's port.
func sendLoopback(t *testing.T, n int) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", loopbackServer+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		got, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- got
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(make([]byte, n))
	c.Close()
	if got := <-done; got != int64(n) {
		t.Fatalf("the server received %d bytes of %d", got, n)
	}
	time.Sleep(600 * time.Millisecond)
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}
