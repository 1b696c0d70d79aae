package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/conntrack"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/agent/internal/sink"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/ipranges"
)

// counter is what the loop needs of the kernel's byte counter, a *bpf.Counter.
type counter interface {
	Swap(add func(*bpf.Deltas)) (bpf.Mark, error)
	Release() error
	Recover(committed bpf.Mark, add func(*bpf.Deltas), write func(bpf.Mark) error) error
	EphemeralMin() uint16
	ProgramStats() (runs uint64, total time.Duration, err error)
}

// translator puts the backend in place of a Service's ClusterIP in drained flows, a batch at a time, each
// switch's ended by Drained: a *conntrack.Table.
type translator interface {
	TranslateBatch(d *bpf.Deltas, eph uint16)
	Drained()
	Stats() conntrack.Stats
}

// loop is the agent at work. At each window's end (seen within -drain-interval) it switches the counter's
// map generations, translates ClusterIPs in what the kernel counted, hands it to the collector (which names,
// classifies and folds), writes the window with its Mark, and only then lets the kernel forget the counts:
// whatever stops the agent, a count is in the kernel or on disk (docs/agent.md). It also refreshes the VPC
// view and AWS ip-ranges.
type loop struct {
	a        *agent
	counter  counter
	services translator // nil without conntrack: ClusterIPs stay as they are
	names    *learner   // nil with -names=false
	out      sink.Sink
	col      *collect.Collector
	id       node.Identity    // the node as now known
	ranges   *ipranges.Ranges // compiled into the VPC view at its next refresh
	start    time.Time        // of the window in hand

	// learnt brings what learn finds out after the programs attached (nil once all of it came, and in
	// tests). Without a sink yet the kernel keeps its counts: the loop switches generations only once there
	// is one to write them to, and has written what an earlier agent left.
	learnt  <-chan learnt
	waiting int    // learnt values still to come
	namer   *namer // gets the Kubernetes index
}

// newLoop takes the loop's parts as interfaces so that tests can pass fakes; agent.run wires the real ones.
// The node's identity comes later, through adopt.
func (a *agent) newLoop(c counter, services translator, out sink.Sink, col *collect.Collector,
	ranges *ipranges.Ranges) *loop {
	return &loop{a: a, counter: c, services: services, out: out, col: col, ranges: ranges}
}

// run writes what an earlier agent left in the kernel once it has a sink, then a window at each window's end
// until ctx ends, and then the window in hand.
func (l *loop) run(ctx context.Context) error {
	cfg := l.a.cfg
	if l.names != nil {
		stop := l.names.start(ctx, l.a.log)
		defer stop() // after the final window: names read until then are in it
	}
	l.start = time.Now().Truncate(cfg.window).UTC()
	drain := time.NewTicker(cfg.drainEvery)
	defer drain.Stop()
	refresh := time.NewTicker(cfg.vpcRefresh)
	defer refresh.Stop()
	daily := time.NewTicker(24 * time.Hour)
	defer daily.Stop()
	if l.learnt != nil {
		l.waiting = learning
	}
	if l.out != nil {
		if err := l.recover(ctx); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return l.stop(ctx)
		case v := <-l.learnt:
			if err := l.adopt(ctx, v); err != nil {
				l.learnt = nil // the sink did not open: there is nothing to wait for
				return errors.Join(err, l.stop(ctx))
			}
		case <-daily.C:
			if l.learnt == nil {
				l.refreshRanges(ctx)
			}
		case <-refresh.C:
			if l.learnt == nil { // learn is still asking instance metadata and EC2
				l.id = l.a.refresh(ctx, l.id, l.ranges, l.col)
			}
		case now := <-drain.C:
			if err := l.drain(ctx, now); err != nil {
				return err
			}
		}
	}
}

// adopt puts what learn found out to use: the node's identity, AWS ip-ranges, the VPC view and the sink, or
// the Kubernetes names. With the sink it writes what an earlier agent left, and it returns learn's error, if
// any.
func (l *loop) adopt(ctx context.Context, v learnt) error {
	if l.waiting--; l.waiting == 0 {
		l.learnt = nil
	}
	if v.names {
		l.namer.index = v.index
		l.a.log.Info("naming", "kubernetes", v.index != nil)
		return nil
	}
	if v.err != nil {
		return v.err
	}
	l.id, l.ranges = v.id, v.ranges
	if l.id.Region != "" {
		l.col.Region = l.id.Region
	}
	if ip, err := netip.ParseAddr(l.id.PrivateIP); err == nil {
		l.col.NodeIP = ip
	}
	l.col.InstanceID = l.a.recordInstance(l.id)
	l.col.Classifier = v.vpc
	l.a.known(v.vpc, l.id)
	l.a.log.Info("classifying", "region", l.id.Region, "vpc", l.id.VPCID, "az_id", l.id.AZID,
		"vpc_view", v.vpc != nil)
	if v.out == nil {
		return nil
	}
	l.out = v.out
	return l.recover(ctx)
}

// drain writes the window in hand once it is -window old. Without a sink yet the kernel keeps the counts, to
// be written at the first window's end that has one (named and classified with what learn found by then).
func (l *loop) drain(ctx context.Context, now time.Time) error {
	if now.Sub(l.start) < l.a.cfg.window {
		return nil
	}
	if l.out != nil {
		if err := l.commit(ctx); err != nil {
			return err
		}
	}
	l.start = now.Truncate(l.a.cfg.window).UTC()
	return nil
}

// stop writes the window in hand, so that a clean shutdown leaves nothing in the kernel that a later agent
// would have to write.
func (l *loop) stop(ctx context.Context) error {
	var err error
	// Without a sink yet (a CloudWatch sink waiting for the node's region), learn may still bring one: it
	// ends soon after ctx.
	for timeout := time.After(5 * time.Second); l.out == nil && l.learnt != nil; {
		select {
		case v := <-l.learnt:
			err = errors.Join(err, l.adopt(ctx, v))
		case <-timeout:
			l.learnt = nil
		}
	}
	if l.out != nil {
		err = errors.Join(err, l.commit(ctx))
	} else {
		l.a.log.Error("the sink never opened: what the kernel counted stays there, for the next agent if pinned")
	}
	if l.services != nil {
		s := l.services.Stats()
		l.a.log.Info("conntrack: Service flows", "translated_bytes", s.TranslatedBytes, "untranslated_bytes",
			s.UntranslatedBytes, "events_lost", s.EventsLost, "connections", s.Conns)
	}
	return err
}

// commit switches the counter's generations, writes what the generation left holds as the window in hand,
// and then lets the kernel forget it. When the switch or the write fails, the counts stay in the kernel:
// nothing is released, and (pinned) the next agent writes them.
func (l *loop) commit(ctx context.Context) error {
	t0 := time.Now()
	st := newDrainStats()
	m, err := l.counter.Swap(func(d *bpf.Deltas) {
		st.add(d)
		l.add(d)
	})
	l.drained()
	if err != nil {
		return fmt.Errorf("draining the counter: %w", err)
	}
	l.a.drained(l.counter, st, time.Since(t0))
	if err := l.flush(ctx, m); err != nil {
		return err
	}
	if err := l.counter.Release(); err != nil {
		return fmt.Errorf("releasing the written counts: %w", err)
	}
	return nil
}

// recover writes, each as a window of its own, the counts an earlier agent left in the pinned maps that the
// sink's last window does not account for.
func (l *loop) recover(ctx context.Context) error {
	var committed bpf.Mark
	if m, ok := l.out.(sink.Marked); ok {
		c := m.Committed()
		committed = bpf.Mark{Layout: c.Layout, Epoch: c.Epoch}
	}
	flows := 0
	err := l.counter.Recover(committed, func(d *bpf.Deltas) {
		flows += len(d.Flows)
		l.add(d)
	}, func(m bpf.Mark) error {
		l.drained()
		l.a.log.Info("writing what the kernel counted before this agent and no window holds", "layout", m.Layout,
			"epoch", m.Epoch, "flows", flows)
		flows = 0
		return l.flush(ctx, m)
	})
	if err != nil {
		return fmt.Errorf("recovering the pinned counts: %w", err)
	}
	return nil
}

// add translates a batch of a switch's counts and adds it to the window in hand. No flow waits for its
// conntrack event: the kernel forgets these counts once the window is written, and a flow held in memory
// would die with the process.
func (l *loop) add(d *bpf.Deltas) {
	if l.services != nil {
		l.services.TranslateBatch(d, l.counter.EphemeralMin())
	}
	l.col.Add(d)
}

// drained ends a switch's batches.
func (l *loop) drained() {
	if l.services != nil {
		l.services.Drained()
	}
}

// flush writes the window in hand to the sink, with m when the sink keeps marks, even once ctx is cancelled.
func (l *loop) flush(ctx context.Context, m bpf.Mark) error {
	if l.names != nil {
		l.names.catchUp(ctx)
	}
	recs := l.col.Flush(l.start, l.a.cfg.window, l.a.cfg.topK)
	if l.names != nil {
		l.names.windowDone()
	}
	t0 := time.Now()
	var err error
	if marked, ok := l.out.(sink.Marked); ok {
		err = marked.WriteMarked(context.WithoutCancel(ctx), recs, sink.Mark{Layout: m.Layout, Epoch: m.Epoch})
	} else {
		err = l.out.Write(context.WithoutCancel(ctx), recs)
	}
	l.a.metrics.Published(recs, time.Since(t0), err)
	if err != nil {
		return fmt.Errorf("writing the window of %s: %w", l.start.Format(time.RFC3339), err)
	}
	l.a.log.Debug("window written", "start", l.start, "records", len(recs))
	return nil
}

// refreshRanges fetches AWS ip-ranges again, unless they come from a file or are off.
func (l *loop) refreshRanges(ctx context.Context) {
	cfg := l.a.cfg
	if cfg.ipRangesFile != "" || cfg.ipRangesURL == "" {
		return
	}
	r, err := l.a.rangesFetcher().Fetch(ctx, l.ranges)
	switch {
	case errors.Is(err, ipranges.ErrNotCached):
		l.a.log.Warn("AWS ip-ranges refreshed but not cached", "error", err)
	case err != nil:
		l.a.log.Warn("AWS ip-ranges not refreshed", "error", err)
	}
	l.ranges = r // Fetch returns the last ranges when it fails
}
