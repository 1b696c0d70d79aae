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
	"github.com/netcost/netcost/agent/internal/sink"
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

// fakeCounter hands out delta(n) at switch n into the caller's buffers, as *bpf.Counter does, under the Mark
// {fake n}. After cancelAt switches it cancels the loop's context; a switch after that fails with finalErr when
// it is set. Switch failAt, when set, fails with failErr. Recover hands pending to write, under {old i}.
type fakeCounter struct {
	gate     chan struct{} // when set, the first switch waits for it to close
	t        *testing.T
	out      *recordingSink
	swaps    int
	released int // the last switch released
	cancelAt int
	cancel   context.CancelFunc
	finalErr error
	failAt   int
	failErr  error
	pending  []bpf.Deltas
	recover  []bpf.Mark // the committed Marks Recover was given
}

func (c *fakeCounter) Swap(add func(*bpf.Deltas)) (bpf.Mark, error) {
	if c.released != c.swaps {
		c.t.Errorf("switch %d before switch %d was released", c.swaps+1, c.swaps)
	}
	if c.gate != nil && c.swaps == 0 {
		<-c.gate
	}
	c.swaps++
	if c.swaps == c.cancelAt {
		c.cancel()
	}
	if c.swaps > c.cancelAt && c.finalErr != nil {
		return bpf.Mark{}, c.finalErr
	}
	if c.swaps == c.failAt {
		return bpf.Mark{}, c.failErr
	}
	next := delta(c.swaps)
	handOn(&next, add)
	return bpf.Mark{Layout: "fake", Epoch: uint64(c.swaps)}, nil
}

// handOn hands d to add as *bpf.Counter does: in batches (here of one flow) into one reused buffer, the
// overflow and lost counts in the last.
func handOn(d *bpf.Deltas, add func(*bpf.Deltas)) {
	var b bpf.Deltas
	for _, f := range d.Flows {
		b.Flows = append(b.Flows[:0], f)
		add(&b)
	}
	if len(d.Overflow) > 0 || len(d.Lost) > 0 {
		add(&bpf.Deltas{Overflow: d.Overflow, Lost: d.Lost})
	}
}

// Release checks that the window of the switch it releases is written.
func (c *fakeCounter) Release() error {
	want := sink.Mark{Layout: "fake", Epoch: uint64(c.swaps)}
	if n := len(c.out.windows); n == 0 || c.out.windows[n-1].mark != want {
		c.t.Errorf("switch %d released before its window was written", c.swaps)
	}
	c.released = c.swaps
	return nil
}

func (c *fakeCounter) Recover(committed bpf.Mark, add func(*bpf.Deltas), write func(bpf.Mark) error) error {
	c.recover = append(c.recover, committed)
	for i := range c.pending {
		handOn(&c.pending[i], add)
		if err := write(bpf.Mark{Layout: "old", Epoch: uint64(i + 1)}); err != nil {
			return err
		}
	}
	return nil
}

func (c *fakeCounter) EphemeralMin() uint16 { return 32768 }

func (c *fakeCounter) ProgramStats() (uint64, time.Duration, error) {
	return 0, 0, errors.New("no programs")
}

// fakeServices puts the backend in place of the ClusterIP and counts the drains ended.
type fakeServices struct{ drains int }

func (s *fakeServices) Drained() { s.drains++ }

func (s *fakeServices) TranslateBatch(d *bpf.Deltas, eph uint16) {
	for i := range d.Flows {
		if d.Flows[i].Remote == clusterIP {
			d.Flows[i].Remote = backend
			d.Flows[i].Local = netip.AddrPortFrom(d.Flows[i].Local.Addr(), 0)
		}
	}
}

func (s *fakeServices) Stats() conntrack.Stats { return conntrack.Stats{} }

// window is what the sink was given in one write, and how many switches the counter had made by then.
type window struct {
	swaps int
	recs  []flows.Record
	mark  sink.Mark
}

// recordingSink keeps every window written to it; it starts with committed as its last Mark.
type recordingSink struct {
	counter   *fakeCounter
	windows   []window
	committed sink.Mark
}

func (s *recordingSink) Write(ctx context.Context, recs []flows.Record) error {
	s.counter.t.Error("Write called; want WriteMarked")
	return nil
}

func (s *recordingSink) WriteMarked(_ context.Context, recs []flows.Record, m sink.Mark) error {
	s.windows = append(s.windows, window{s.counter.swaps, slices.Clone(recs), m})
	s.committed = m
	return nil
}

func (s *recordingSink) Committed() sink.Mark { return s.committed }

func (s *recordingSink) Close() error { return nil }

// runLoop runs the loop over c, checking for a window's end every drainEvery, until c cancels it, and returns
// what it wrote and its error.
func runLoop(t *testing.T, c *fakeCounter, drainEvery time.Duration, opts ...func(*loop)) (*recordingSink,
	*fakeServices, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c.t, c.cancel = t, cancel
	if c.cancelAt == 0 {
		cancel()
	}
	a := newAgent(settings{cluster: "c", node: "n", window: 30 * time.Millisecond, drainEvery: drainEvery,
		vpcRefresh: time.Hour}, slog.New(slog.DiscardHandler))
	a.metrics = metrics.New(16)
	out := &recordingSink{counter: c, committed: sink.Mark{Layout: "old", Epoch: 7}}
	c.out = out
	services := &fakeServices{}
	col := &collect.Collector{Cluster: "c", Node: "n", Region: "unknown"}
	l := a.newLoop(c, services, out, col, nil)
	for _, o := range opts {
		o(l)
	}
	err := l.run(ctx)
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatalf("the loop ran for a minute: %v", context.Cause(ctx))
	}
	return out, services, err
}

func windowBytes(w window) uint64 {
	var n uint64
	for _, r := range w.recs {
		n += r.Bytes
	}
	return n
}

// TestLoop: the loop switches the counter's generations once a window, at its end and at shutdown, however
// often it checks; each window holds exactly what its switch read, translated, under the switch's Mark; and a
// switch's counts are released only once its window is written.
func TestLoop(t *testing.T) {
	c := &fakeCounter{cancelAt: 5}
	start := time.Now()
	out, services, err := runLoop(t, c, 2*time.Millisecond)
	if err != nil {
		t.Fatalf("run = %v; want nil after the context ended", err)
	}
	if c.swaps != c.cancelAt+1 || c.released != c.swaps {
		t.Fatalf("%d switches, the last released %d; want the %d that ended the context and a final one, all "+
			"released", c.swaps, c.released, c.cancelAt)
	}
	if max := int(time.Since(start)/(30*time.Millisecond)) + 2; c.swaps > max {
		t.Errorf("%d switches in %v of 30ms windows checked every 2ms; want one a window", c.swaps, time.Since(start))
	}
	if services.drains != c.swaps {
		t.Errorf("%d drains ended for %d switches; want one each: a connection is forgotten only once the "+
			"switch after its end is translated whole", services.drains, c.swaps)
	}
	if len(out.windows) != c.swaps {
		t.Fatalf("%d windows for %d switches; want one each", len(out.windows), c.swaps)
	}
	for i, w := range out.windows {
		d := delta(i + 1)
		if got, want := windowBytes(w), bytesOf(&d); got != want || w.swaps != i+1 {
			t.Errorf("window %d, written after switch %d: %d bytes; want switch %d's %d", i, w.swaps, got, i+1, want)
		}
		if want := (sink.Mark{Layout: "fake", Epoch: uint64(i + 1)}); w.mark != want {
			t.Errorf("window %d: Mark %+v; want %+v", i, w.mark, want)
		}
		for _, r := range w.recs {
			if r.RemoteIP == clusterIP.Addr().String() {
				t.Errorf("window %d: record %+v names the ClusterIP; want it translated to %s", i, r, backend)
			}
		}
	}
}

// TestLoopRecovers: before its first switch the loop asks the counter for what an earlier agent left, with
// the sink's last Mark, and writes each set as a window under its own Mark.
func TestLoopRecovers(t *testing.T) {
	c := &fakeCounter{pending: []bpf.Deltas{delta(100), delta(200)}}
	out, _, err := runLoop(t, c, time.Hour) // cancelled before it starts: the final switch is the only one
	if err != nil {
		t.Fatal(err)
	}
	if want := (bpf.Mark{Layout: "old", Epoch: 7}); len(c.recover) != 1 || c.recover[0] != want {
		t.Errorf("Recover given %v; want the sink's last Mark %v once", c.recover, want)
	}
	if len(out.windows) != 3 {
		t.Fatalf("%d windows; want the 2 recovered and the final one", len(out.windows))
	}
	for i, n := range []int{100, 200} {
		d := delta(n)
		w := out.windows[i]
		if got := windowBytes(w); got != bytesOf(&d) || w.swaps != 0 || w.mark != (sink.Mark{Layout: "old",
			Epoch: uint64(i + 1)}) {
			t.Errorf("window %d: %d bytes under %+v after %d switches; want %d under {old %d} before any",
				i, got, w.mark, w.swaps, bytesOf(&d), i+1)
		}
	}
}

// TestLoopSwapFails: when a switch fails, at a window's end or at shutdown, the loop stops with its error,
// writes nothing more and releases nothing more: the counts stay in the kernel for the next agent.
func TestLoopSwapFails(t *testing.T) {
	failErr := fmt.Errorf("reading the flow map: %w", errors.New("bad fd"))
	for _, c := range []*fakeCounter{{cancelAt: 1000, failAt: 3, failErr: failErr}, {cancelAt: 2, finalErr: failErr}} {
		out, _, err := runLoop(t, c, 2*time.Millisecond)
		if !errors.Is(err, failErr) {
			t.Fatalf("run = %v; want the failed switch's error", err)
		}
		if len(out.windows) != c.swaps-1 || c.released != c.swaps-1 {
			t.Errorf("%d windows written, switch %d released, after %d switches; want all but the failed one",
				len(out.windows), c.released, c.swaps)
		}
	}
}
