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
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/ipranges"
)

// counter is what the loop needs of the kernel's byte counter, a *bpf.Counter.
type counter interface {
	DrainInto(d *bpf.Deltas) error
	EphemeralMin() uint16
	ProgramStats() (runs uint64, total time.Duration, err error)
}

// translator puts the backend in place of a Service's ClusterIP in drained flows: a *conntrack.Table.
type translator interface {
	Translate(d *bpf.Deltas, eph uint16, final bool)
	Stats() conntrack.Stats
}

// loop is the agent at work. Every -drain-interval it drains the counter, translates ClusterIPs and adds the
// deltas to the window in hand (the collector names, classifies and folds them), and it writes each window to
// the sink; it also refreshes the VPC view and AWS ip-ranges.
type loop struct {
	a        *agent
	counter  counter
	services translator // nil without conntrack: ClusterIPs stay as they are
	names    *learner   // nil with -names=false
	out      sink.Sink
	col      *collect.Collector
	id       node.Identity    // the node as now known
	ranges   *ipranges.Ranges // compiled into the VPC view at its next refresh
	deltas   bpf.Deltas       // reused by every drain
	start    time.Time        // of the window in hand

	// learnt brings what learn finds out after the programs attached (nil once all of it came, and in
	// tests): until then the loop drains only at the end of a window, and writes what it cannot yet
	// (without a sink) into held.
	learnt  <-chan learnt
	waiting int    // learnt values still to come
	namer   *namer // gets the Kubernetes index
	held    [][]flows.Record
}

// newLoop takes the loop's parts as interfaces so that tests can pass fakes; agent.run wires the real ones.
func (a *agent) newLoop(c counter, services translator, out sink.Sink, col *collect.Collector, id node.Identity,
	ranges *ipranges.Ranges) *loop {
	return &loop{a: a, counter: c, services: services, out: out, col: col, id: id, ranges: ranges}
}

// run drains until ctx ends, then drains once more and writes the window in hand.
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
			// Until learn is done the kernel keeps the counts, which are then named and classified; the
			// window's end does not wait.
			if l.learnt != nil && now.Sub(l.start) < cfg.window {
				continue
			}
			if err := l.drain(ctx, now); err != nil {
				return err
			}
		}
	}
}

// adopt puts what learn found out to use: the node's identity, AWS ip-ranges, the VPC view and the sink, or
// the Kubernetes names. It writes the windows held for want of a sink, and returns learn's error, if any.
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
	for len(l.held) > 0 {
		if err := l.write(ctx, l.held[0]); err != nil {
			return err
		}
		l.held = l.held[1:]
	}
	return nil
}

// drain adds what the kernel counted since the last drain to the window in hand, and writes the window once it
// is -window old.
func (l *loop) drain(ctx context.Context, now time.Time) error {
	t0 := time.Now()
	if err := l.counter.DrainInto(&l.deltas); err != nil {
		// What the drain read is gone from the kernel: write it with the window in hand before giving up.
		l.add(true)
		return errors.Join(fmt.Errorf("draining the counter: %w", err), l.flush(ctx))
	}
	l.a.drained(l.counter, &l.deltas, time.Since(t0))
	l.add(false)
	if now.Sub(l.start) < l.a.cfg.window {
		return nil
	}
	if err := l.flush(ctx); err != nil {
		return err
	}
	l.start = now.Truncate(l.a.cfg.window).UTC()
	return nil
}

// stop drains one last time and writes the window in hand, so that a clean shutdown loses nothing counted.
// It does so even when the drain fails: what the drain read is gone from the kernel, and flows held for
// translation are in hand.
func (l *loop) stop(ctx context.Context) error {
	err := l.counter.DrainInto(&l.deltas)
	l.add(true)
	if l.services != nil {
		s := l.services.Stats()
		l.a.log.Info("conntrack: Service flows", "translated_bytes", s.TranslatedBytes, "untranslated_bytes",
			s.UntranslatedBytes, "events_lost", s.EventsLost, "connections", s.Conns)
	}
	err = errors.Join(err, l.flush(ctx))
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
	if len(l.held) > 0 {
		l.a.log.Error("windows counted but not written: the sink never opened", "windows", len(l.held))
	}
	return err
}

// add translates the drained deltas and adds them to the window in hand; final lets no flow wait for its
// conntrack event.
func (l *loop) add(final bool) {
	if l.services != nil {
		l.services.Translate(&l.deltas, l.counter.EphemeralMin(), final)
	}
	l.col.Add(&l.deltas)
}

// flush writes the window in hand to the sink, even once ctx is cancelled, or holds it until there is one.
func (l *loop) flush(ctx context.Context) error {
	if l.names != nil {
		l.names.catchUp(ctx)
	}
	recs := l.col.Flush(l.start, l.a.cfg.window, l.a.cfg.topK)
	if l.names != nil {
		l.names.windowDone()
	}
	if l.out == nil {
		l.held = append(l.held, recs)
		return nil
	}
	return l.write(ctx, recs)
}

// write writes one window's records to the sink.
func (l *loop) write(ctx context.Context, recs []flows.Record) error {
	t0 := time.Now()
	err := l.out.Write(context.WithoutCancel(ctx), recs)
	l.a.metrics.Published(recs, time.Since(t0), err)
	if err != nil {
		return fmt.Errorf("writing a window of %d records: %w", len(recs), err)
	}
	l.a.log.Debug("window written", "records", len(recs))
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
