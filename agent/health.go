package main

import (
	"context"
	"fmt"
	"time"

	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

// serveHealth starts /metrics, /healthz and /readyz on -metrics-addr, before
// anything slow, so that liveness holds while the agent starts. The returned
// stop ends the server; with an empty address nothing is served.
func (a *agent) serveHealth() (stop func(), err error) {
	a.metrics = metrics.New(int(a.cfg.maxFlows))
	if a.cfg.metricsAddr == "" {
		return func() {}, nil
	}
	srv, err := a.metrics.Listen(a.cfg.metricsAddr, a.log)
	if err != nil {
		return nil, fmt.Errorf("%w (set -metrics-addr to a free address, or to \"\" to serve no metrics)", err)
	}
	a.log.Info("serving /metrics, /healthz and /readyz", "addr", srv.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			a.log.Warn("stopping the metrics server", "error", err)
		}
	}, nil
}

// drainStats adds up a switch's batches for /metrics.
type drainStats metrics.Drain

func newDrainStats() *drainStats {
	return &drainStats{Overflow: map[flows.Direction]uint64{}, Lost: map[flows.Direction]uint64{}}
}

func (m *drainStats) add(d *bpf.Deltas) {
	m.Flows += len(d.Flows)
	for _, o := range d.Overflow {
		m.Overflow[o.Dir] += o.Bytes
	}
	for dir, o := range d.Lost {
		m.Lost[dir] += o.Bytes
	}
}

// drained records a drain of c, added up in st, that took took (the switch, and the collector's work on it).
func (a *agent) drained(c counter, st *drainStats, took time.Duration) {
	m := metrics.Drain(*st)
	m.Took = took
	var err error
	if m.ProgramRuns, m.ProgramTime, err = c.ProgramStats(); err != nil {
		a.log.Debug("no program statistics", "error", err)
	}
	a.metrics.Drained(m)
}
