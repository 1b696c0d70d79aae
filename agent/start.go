package main

import (
	"context"
	"io"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/kube"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/agent/internal/sink"
	"github.com/netcost/netcost/internal/ipranges"
)

// The agent attaches its programs first and asks the network second: instance metadata, EC2, AWS ip-ranges
// and the Kubernetes API can each take seconds (or, unanswered, their retries' worth) to say anything, and
// the kernel should count meanwhile. learn asks them in the background and hands the loop what it learnt;
// the loop holds the kernel's counts until then (or until the window in hand ends), so that the first
// window is classified and named like any other.

// learnt is what learn found out: either of the node (its identity, AWS ip-ranges, the VPC view and, for
// a sink that needed the region, the sink) or of the cluster (the Kubernetes names).
type learnt struct {
	names  bool // this is the Kubernetes index, which arrives apart
	id     node.Identity
	ranges *ipranges.Ranges
	vpc    *classify.Classifier // nil: no VPC view, records are UNCLASSIFIED until a refresh loads one
	out    sink.Sink            // the sink, when it waited for the node's region; nil otherwise
	index  *kube.Index          // nil without a Kubernetes API
	err    error                // the agent cannot run: the loop writes what it holds and stops
}

// learning is how many learnt values learn sends.
const learning = 2

// learn asks instance metadata, EC2, AWS ip-ranges (unless ranges came from a file) and the Kubernetes API,
// and sends what each said on to as it comes: the node first, then the names. It opens the sink when
// openSink is set (a CloudWatch sink without -region needs instance metadata's). It returns once it has
// sent both, or, with ctx ended, a moment later; to must have room for both.
func (a *agent) learn(ctx context.Context, ranges *ipranges.Ranges, openSink bool, stdout io.Writer,
	to chan<- learnt) {
	names := make(chan *kube.Index, 1)
	go func() { names <- a.kubeNames(ctx) }() // returns once synced, after a minute, or once ctx ends
	l := learnt{ranges: ranges}
	if l.ranges == nil {
		l.ranges = a.fetchRanges(ctx)
	}
	l.id = a.identify(ctx)
	if openSink {
		l.out, l.err = a.openSink(ctx, l.id.Region, stdout)
	}
	if l.err == nil {
		if err := retry(ctx, a.cfg.startupAttempts, func() (err error) {
			l.vpc, err = a.loadView(ctx, l.id, l.ranges)
			return err
		}); err != nil {
			a.log.Error("no VPC view: records are UNCLASSIFIED until it loads", "error", err)
		}
	}
	to <- l
	to <- learnt{names: true, index: <-names}
}
