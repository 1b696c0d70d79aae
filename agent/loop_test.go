package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/conntrack"
	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

// The loop's tests need no root, network or kernel: a fake counter hands out scripted deltas and a sink keeps
// what it is given.

// podNetns is the network namespace of the pod whose flows delta hands out.
const podNetns = 77

var (
	clusterIP = netip.MustParseAddrPort("10.100.0.10:80")
	backend   = netip.MustParseAddrPort("10.0.2.2:8080")
)

// ownPort is the remote port of drain n's own flow, which tells its bytes apart in the records.
func ownPort(n int) uint16 { return uint16(1000 + n) }

// delta is drain n's (from 1): a flow of its own, a flow every drain adds to, one to a Service's ClusterIP,
// and now and then overflow and lost counts. Byte counts differ from drain to drain.
func delta(n int) bpf.Deltas {
	local := netip.MustParseAddrPort("10.0.1.5:0")
	b := uint64(n)
	d := bpf.Deltas{Flows: []bpf.Flow{
		{CgroupID: 7, NetnsCookie: podNetns, Local: local, Remote: netip.AddrPortFrom(netip.MustParseAddr("10.0.3.3"),
			ownPort(n)), Proto: 6, Dir: flows.Egress, Bytes: 1000 + b, Packets: 1},
		{CgroupID: 7, NetnsCookie: podNetns, Local: local, Remote: netip.MustParseAddrPort("10.0.3.4:443"), Proto: 17,
			Dir: flows.Ingress, Bytes: 10 * b, Packets: 2},
		{CgroupID: 7, Local: netip.MustParseAddrPort("10.0.1.5:40000"), Remote: clusterIP, Proto: 6, Dir: flows.Egress,
			Bytes: 100 + b, Packets: 1},
	}}
	if n%3 == 0 {
		d.Overflow = []bpf.Overflow{{CgroupID: 7, Dir: flows.Egress, Bytes: 5 * b, Packets: 1}}
	}
	if n%4 == 0 {
		d.Lost = map[bpf.Direction]bpf.Overflow{flows.Ingress: {Bytes: 3 * b, Packets: 1}}
	}
	return d
}

// bytesOf is every byte in d: its flows, overflow and lost counts.
func bytesOf(d *bpf.Deltas) uint64 {
	var n uint64
	for _, f := range d.Flows {
		n += f.Bytes
	}
	for _, o := range d.Overflow {
		n += o.Bytes
	}
	for _, o := range d.Lost {
		n += o.Bytes
	}
	return n
}

// fakeCounter hands out delta(n) at drain n into the caller's buffers, as *bpf.Counter does. After cancelAt
// drains it cancels the loop's context; a drain after that fails with finalErr when it is set. Drain failAt,
// when set, fails with failErr after handing out its delta.
type fakeCounter struct {
	gate     chan struct{} // when set, the first drain waits for it to close
	drains   int
	cancelAt int
	cancel   context.CancelFunc
	finalErr error
	failAt   int
	failErr  error
}

func (c *fakeCounter) DrainInto(d *bpf.Deltas) error {
	if c.gate != nil && c.drains == 0 {
		<-c.gate
	}
	c.drains++
	next := delta(c.drains)
	d.Flows = append(d.Flows[:0], next.Flows...)
	d.Overflow = append(d.Overflow[:0], next.Overflow...)
	if d.Lost == nil {
		d.Lost = map[bpf.Direction]bpf.Overflow{}
	}
	clear(d.Lost)
	for dir, o := range next.Lost {
		d.Lost[dir] = o
	}
	if c.drains == c.cancelAt {
		c.cancel()
	}
	if c.drains > c.cancelAt && c.finalErr != nil {
		return c.finalErr
	}
	if c.drains == c.failAt {
		return c.failErr
	}
	return nil
}

func (c *fakeCounter) EphemeralMin() uint16 { return 32768 }

func (c *fakeCounter) ProgramStats() (uint64, time.Duration, error) {
	return 0, 0, errors.New("no programs")
}

// fakeServices puts the backend in place of the ClusterIP and keeps the final flag of each call.
type fakeServices struct{ finals []bool }

func (s *fakeServices) Translate(d *bpf.Deltas, eph uint16, final bool) {
	s.finals = append(s.finals, final)
	for i := range d.Flows {
		if d.Flows[i].Remote == clusterIP {
			d.Flows[i].Remote = backend
			d.Flows[i].Local = netip.AddrPortFrom(d.Flows[i].Local.Addr(), 0)
		}
	}
}

func (s *fakeServices) Stats() conntrack.Stats { return conntrack.Stats{} }

// window is what the sink was given in one Write, and how many drains the counter had made by then.
type window struct {
	drains int
	recs   []flows.Record
}

// recordingSink keeps every window written to it.
type recordingSink struct {
	counter *fakeCounter
	windows []window
}

func (s *recordingSink) Write(_ context.Context, recs []flows.Record) error {
	s.windows = append(s.windows, window{s.counter.drains, slices.Clone(recs)})
	return nil
}

func (s *recordingSink) Close() error { return nil }

// runLoop runs the loop over c, draining every drainEvery, until c cancels it, and returns what it wrote and
// its error.
func runLoop(t *testing.T, c *fakeCounter, drainEvery time.Duration, opts ...func(*loop)) (*recordingSink,
	*fakeServices, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c.cancel = cancel
	if c.cancelAt == 0 {
		cancel()
	}
	a := newAgent(settings{cluster: "c", node: "n", window: 30 * time.Millisecond, drainEvery: drainEvery,
		vpcRefresh: time.Hour}, slog.New(slog.DiscardHandler))
	a.metrics = metrics.New(16)
	out := &recordingSink{counter: c}
	services := &fakeServices{}
	col := &collect.Collector{Cluster: "c", Node: "n", Region: "unknown"}
	l := a.newLoop(c, services, out, col, node.Identity{}, nil)
	for _, o := range opts {
		o(l)
	}
	err := l.run(ctx)
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatalf("the loop ran for a minute: %v", context.Cause(ctx))
	}
	return out, services, err
}

// TestLoop: every byte drained, including at the final drain on shutdown, is in exactly one record, in the
// window written after its drain; ClusterIPs are translated before the bytes are added.
func TestLoop(t *testing.T) {
	c := &fakeCounter{cancelAt: 40}
	out, services, err := runLoop(t, c, 2*time.Millisecond)
	if err != nil {
		t.Fatalf("run = %v; want nil after the context ended", err)
	}
	if c.drains <= c.cancelAt {
		t.Fatalf("%d drains; want a final drain after the %dth, which ended the context", c.drains, c.cancelAt)
	}
	if len(out.windows) < 3 {
		t.Fatalf("%d windows written over %d drains of 2ms in windows of 30ms; want at least 3", len(out.windows),
			c.drains)
	}
	if last := out.windows[len(out.windows)-1].drains; last != c.drains {
		t.Errorf("the last window was written after drain %d; want after the final drain %d", last, c.drains)
	}
	if want := append(slices.Repeat([]bool{false}, c.drains-1), true); !slices.Equal(services.finals, want) {
		t.Errorf("Translate's final flags = %v; want false at each drain and true at the last", services.finals)
	}
	prev := 0
	for i, w := range out.windows {
		var want, got uint64
		for n := prev + 1; n <= w.drains; n++ {
			d := delta(n)
			want += bytesOf(&d)
		}
		ports := map[uint16]uint64{}
		for _, r := range w.recs {
			got += r.Bytes
			ports[r.RemotePort] += r.Bytes
			if r.RemoteIP == clusterIP.Addr().String() {
				t.Errorf("window %d: record %+v names the ClusterIP; want it translated to %s", i, r, backend)
			}
		}
		if got != want {
			t.Errorf("window %d (drains %d to %d): records hold %d bytes; want the %d drained", i, prev+1, w.drains,
				got, want)
		}
		for n := prev + 1; n <= w.drains; n++ {
			if want := delta(n).Flows[0].Bytes; ports[ownPort(n)] != want {
				t.Errorf("window %d: drain %d's own flow has %d bytes in records; want %d", i, n, ports[ownPort(n)],
					want)
			}
		}
		prev = w.drains
	}
	if t.Failed() {
		for i, w := range out.windows {
			t.Logf("window %d: after drain %d: %d records", i, w.drains, len(w.recs))
		}
	}
}

// TestLoopFinalDrainFails: when the final drain fails, what it read is still written, and the error returned.
func TestLoopFinalDrainFails(t *testing.T) {
	finalErr := fmt.Errorf("reading the flow map: %w", errors.New("bad fd"))
	c := &fakeCounter{finalErr: finalErr}
	out, _, err := runLoop(t, c, time.Hour) // cancelled before it starts: the final drain is the only one
	if !errors.Is(err, finalErr) {
		t.Fatalf("run = %v; want the final drain's error", err)
	}
	if c.drains != 1 || len(out.windows) != 1 {
		t.Fatalf("%d drains, %d windows written; want the final drain and its window", c.drains, len(out.windows))
	}
	var got uint64
	for _, r := range out.windows[0].recs {
		got += r.Bytes
	}
	d := delta(1)
	if want := bytesOf(&d); got != want {
		t.Errorf("the window holds %d bytes; want the %d the failed drain read", got, want)
	}
}

// TestLoopDrainFails: when a periodic drain fails, the loop stops with the error, and every byte drained until
// then, the failed drain's included, is written first.
func TestLoopDrainFails(t *testing.T) {
	failErr := fmt.Errorf("reading the flow map: %w", errors.New("bad fd"))
	c := &fakeCounter{cancelAt: 1000, failAt: 5, failErr: failErr}
	out, _, err := runLoop(t, c, 2*time.Millisecond)
	if !errors.Is(err, failErr) {
		t.Fatalf("run = %v; want the failed drain's error", err)
	}
	if c.drains != c.failAt {
		t.Fatalf("%d drains; want the loop to stop at the failed drain %d", c.drains, c.failAt)
	}
	var got, want uint64
	for _, w := range out.windows {
		for _, r := range w.recs {
			got += r.Bytes
		}
	}
	for n := 1; n <= c.failAt; n++ {
		d := delta(n)
		want += bytesOf(&d)
	}
	if got != want {
		t.Errorf("the windows written hold %d bytes; want the %d of the %d drains", got, want, c.failAt)
	}
}
