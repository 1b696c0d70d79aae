package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/agent/internal/names"
	"github.com/netcost/netcost/bpf"
)

// nameReader is what passive naming needs of the kernel: the name events its programs copy (DNS queries and
// answers, TLS ClientHellos) and how many the ring buffer had no room for; a *bpf.Counter opened with
// Config.Names.
type nameReader interface {
	ReadNames(ctx context.Context, fn func(*bpf.NameEvent)) error
	FlushNames(ctx context.Context) error
	NamesLost() (uint64, error)
}

// catchUpWait bounds how long a window's end waits for the reader to hand over the events in the ring: it
// reads them in well under a millisecond, but a window is never held up for a stuck reader.
const catchUpWait = 200 * time.Millisecond

// catchUp hands the table the events the ring holds now: the reader reads up to a second late, and a
// window's end looks the names of its flows up.
func (l *learner) catchUp(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catchUpWait)
	defer cancel()
	l.r.FlushNames(ctx) // late: the flows keep the names learned so far
}

// learner names remotes from what the pods saw: a goroutine reads the kernel's name events into the table,
// which the collector reads at each window's end.
type learner struct {
	r     nameReader
	table *names.Table
}

// newLearner wires a table to r and col, and its counts to m's /metrics.
func newLearner(r nameReader, maxNames int, col *collect.Collector, m *metrics.Metrics) *learner {
	l := &learner{r: r, table: names.New(maxNames)}
	col.RemoteName = func(netns uint64, ip netip.Addr) (string, string, bool) {
		return l.table.Lookup(netns, ip, time.Now())
	}
	if m != nil {
		m.WatchNames(l.stats)
	}
	return l
}

// start reads name events until stop is called; stop returns once the reader has. A reader that fails
// leaves the table as it is: records keep the names learned so far, and get no new ones.
func (l *learner) start(ctx context.Context, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := l.r.ReadNames(ctx, func(ev *bpf.NameEvent) { l.table.Add(ev, ev.Read) })
		if err != nil {
			log.Warn("name events stopped: remotes get no new names", "error", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// windowDone drops the names no flow used and whose time is over: called after each window's lookups.
func (l *learner) windowDone() { l.table.Expire(time.Now()) }

func (l *learner) stats() metrics.NameStats {
	s := l.table.Stats()
	lost, _ := l.r.NamesLost() // zero when the kernel cannot say
	return metrics.NameStats{Events: s.Events, ParseFailures: s.ParseFailures, Unasked: s.Unasked, Evicted: s.Evicted,
		Names: s.Names, KernelLost: lost}
}
