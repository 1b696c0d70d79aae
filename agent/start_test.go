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

// timedCounter notes when each switch came.
type timedCounter struct {
	*fakeCounter
	times []time.Time
}

func (c *timedCounter) Swap(add func(*bpf.Deltas)) (bpf.Mark, error) {
	c.times = append(c.times, time.Now())
	return c.fakeCounter.Swap(add)
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
	c.t, c.out = t, out
	ch := make(chan learnt, learning)
	var s sink.Sink
	if out != nil {
		s = out
	}
	l := a.newLoop(tc, nil, s, &collect.Collector{Cluster: "c", Node: "n", Region: "unknown"}, nil)
	l.learnt, l.namer = ch, &namer{}
	return l, ch, tc
}

// TestLoopWaitsToLearn: until learn brings a sink, the kernel keeps the counts (no switch, window ends
// included), so that they are classified and named with what it found; then the loop writes what an earlier
// agent left, and at each window's end a window holding everything counted since.
func TestLoopWaitsToLearn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &fakeCounter{cancelAt: 3, cancel: cancel, pending: []bpf.Deltas{delta(100)}}
	out := &recordingSink{counter: c}
	l, ch, tc := learningLoop(t, c, 30*time.Millisecond, nil)
	c.out = out
	sent := make(chan time.Time, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // three windows' ends
		sent <- time.Now()
		ch <- learnt{id: node.Identity{Region: "eu-west-1"}, out: out}
		ch <- learnt{names: true}
	}()
	if err := l.run(ctx); err != nil {
		t.Fatalf("run = %v", err)
	}
	at := <-sent
	if len(tc.times) == 0 || tc.times[0].Before(at) {
		t.Fatalf("switches at %v; want none before learn's sink at %v", tc.times, at)
	}
	if len(c.recover) != 1 || len(out.windows) != c.swaps+1 || out.windows[0].mark.Layout != "old" {
		t.Fatalf("Recover called %d times, %d windows for %d switches; want once, then a window each after the "+
			"recovered one", len(c.recover), len(out.windows), c.swaps)
	}
	for i, w := range out.windows {
		d := delta(i)
		if i == 0 {
			d = delta(100)
		}
		if got := windowBytes(w); got != bytesOf(&d) {
			t.Errorf("window %d: %d bytes; want %d", i, got, bytesOf(&d))
		}
		for _, r := range w.recs {
			if r.Region != "eu-west-1" {
				t.Errorf("record %+v: region %q; want learn's eu-west-1", r, r.Region)
			}
		}
	}
}

// TestLoopWindowEndDoesNotWait: while learn is still asking, a loop with a sink switches at each window's end
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
	if len(out.windows) != c.swaps {
		t.Errorf("%d windows written over %d switches; want one each while learn asks", len(out.windows), c.swaps)
	}
	for i, w := range out.windows {
		if w.swaps != i+1 || len(w.recs) == 0 {
			t.Errorf("window %d: written after switch %d, %d records; want after switch %d, with its records", i,
				w.swaps, len(w.recs), i+1)
		}
	}
}
