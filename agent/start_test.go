package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/agent/internal/sink"
	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/syncbuf"
)

// stallingServer accepts connections and never answers, as instance metadata can when a hop drops its
// replies; it returns the server's URL.
func stallingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn // open, unanswered, until the test ends
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestAttachFirst: with instance metadata stalling (and no EC2 or Kubernetes API), the agent attaches its
// programs and counts before it has heard from instance metadata: traffic that starts once it says
// "counting", and is over while instance metadata still has not answered, is in the records to the byte of
// the veth. How soon "counting" comes is logged, not asserted (loading the programs is the verifier's CPU
// work, and a timed assertion fails on a loaded machine): docs/benchmarks.md has the figure.
func TestAttachFirst(t *testing.T) {
	netnstest.RequireRoot(t, "the test loads eBPF and builds namespaces")
	bin := buildAgent(t)
	pods := []*testbed.Pod{
		{Key: "a", Name: "pod-a", Workload: "pod-a", Hash: "h", Node: "node-a", IP: "10.7.1.10", GW: "10.7.1.1"},
		{Key: "b", Name: "pod-b", Workload: "pod-b", Hash: "h", Node: "node-b", IP: "10.7.2.20", GW: "10.7.2.1"},
	}
	network := testbed.NewNetwork(t, "ncs", nil, pods)
	a, b := network.Pods["a"], network.Pods["b"]
	b.ServeIn(t, "NETCOST_E2E_HELPER", "serve", "tcp", b.IP+":5001")
	before := veth(t, a)

	dir := t.TempDir()
	agent := exec.Command(bin, "-node", "node-a", "-cluster", "attach", "-window", "1s", "-drain-interval", "250ms",
		"-dir", dir, "-top-k", "0", "-imds-endpoint", stallingServer(t), "-ip-ranges-url", "", "-kubeconfig", "")
	agent.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=")
	var logs syncbuf.Buffer
	agent.Stderr = &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })

	for !strings.Contains(logs.String(), `"msg":"counting"`) {
		if time.Since(started) > time.Minute {
			t.Fatalf("no \"counting\" a minute after the start:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("counting began %v after the process started", time.Since(started).Round(time.Millisecond))
	send, _ := a.Start(t, "NETCOST_E2E_HELPER", "send", "tcp", b.IP+":5001", "4000000")
	if err := send.Wait(); err != nil {
		t.Fatalf("sending: %v", err)
	}
	took := time.Since(started)
	time.Sleep(300 * time.Millisecond)
	wire := veth(t, a) - before
	if strings.Contains(logs.String(), `"msg":"classifying"`) {
		t.Fatalf("instance metadata answered, or the agent gave up on it, within %v: the test proves nothing:\n%s",
			took, logs.String())
	}
	agent.Process.Signal(syscall.SIGTERM)
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, logs.String())
	}

	var counted uint64
	_, err := source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		if r.LocalIP == a.IP {
			counted += r.Bytes
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the records: %v\n%s", err, logs.String())
	}
	if counted != wire {
		t.Errorf("records hold %d bytes of pod a; its veth carried %d from \"counting\" to %v:\n%s",
			counted, wire, took, logs.String())
	}
}

// timedCounter notes when each drain came.
type timedCounter struct {
	*fakeCounter
	times []time.Time
}

func (c *timedCounter) DrainInto(d *bpf.Deltas) error {
	c.times = append(c.times, time.Now())
	return c.fakeCounter.DrainInto(d)
}

// learningLoop is a loop over c, draining every 2ms in windows of window, whose learn sends on the returned
// channel; out nil: its sink comes from learn.
func learningLoop(t *testing.T, c *fakeCounter, window time.Duration, out *recordingSink) (*loop, chan learnt,
	*timedCounter) {
	t.Helper()
	a := newAgent(settings{cluster: "c", node: "n", window: window, drainEvery: 2 * time.Millisecond,
		vpcRefresh: time.Hour}, slog.New(slog.DiscardHandler))
	a.metrics = metrics.New(16)
	tc := &timedCounter{fakeCounter: c}
	ch := make(chan learnt, learning)
	var s sink.Sink
	if out != nil {
		s = out
	}
	l := a.newLoop(tc, nil, s, &collect.Collector{Cluster: "c", Node: "n", Region: "unknown"}, node.Identity{}, nil)
	l.learnt, l.namer = ch, &namer{}
	return l, ch, tc
}

// TestLoopWaitsToLearn: until learn has said what it found, the kernel keeps the counts (no drain), so
// that they are classified and named with what it found; the windows held for want of a sink are written
// once it comes with the node's region.
func TestLoopWaitsToLearn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &fakeCounter{cancelAt: 5, cancel: cancel}
	out := &recordingSink{counter: c}
	l, ch, tc := learningLoop(t, c, time.Hour, nil)
	sent := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		sent <- time.Now()
		ch <- learnt{id: node.Identity{Region: "eu-west-1"}, out: out}
		ch <- learnt{names: true}
	}()
	if err := l.run(ctx); err != nil {
		t.Fatalf("run = %v", err)
	}
	at := <-sent
	if tc.times[0].Before(at) {
		t.Errorf("the first drain came %v before learn's answer; want none before", at.Sub(tc.times[0]))
	}
	var got, want uint64
	for _, w := range out.windows {
		for _, r := range w.recs {
			got += r.Bytes
			if r.Region != "eu-west-1" {
				t.Errorf("record %+v: region %q; want learn's eu-west-1", r, r.Region)
			}
		}
	}
	for n := 1; n <= c.drains; n++ {
		d := delta(n)
		want += bytesOf(&d)
	}
	if len(out.windows) != 1 || got != want {
		t.Errorf("%d windows of %d bytes; want the one window in hand, with the %d bytes of %d drains",
			len(out.windows), got, want, c.drains)
	}
}

// TestLoopWindowEndDoesNotWait: while learn is still asking, the loop drains at each window's end only,
// and writes the window.
func TestLoopWindowEndDoesNotWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &fakeCounter{cancelAt: 4, cancel: cancel}
	out := &recordingSink{counter: c}
	l, _, _ := learningLoop(t, c, 30*time.Millisecond, out)
	if err := l.run(ctx); err != nil {
		t.Fatalf("run = %v", err)
	}
	if len(out.windows) != c.drains {
		t.Errorf("%d windows written over %d drains; want a drain per window while learn asks", len(out.windows),
			c.drains)
	}
	for i, w := range out.windows {
		if w.drains != i+1 || len(w.recs) == 0 {
			t.Errorf("window %d: written after drain %d, %d records; want after drain %d, with its records", i,
				w.drains, len(w.recs), i+1)
		}
	}
}
