//go:build linux

// Command flowcount is a stand-in for the agent's data path, for benchmarks:
// it attaches the flow counters (package bpf) at the cgroup v2 root, drains
// them every interval until SIGINT or SIGTERM, drains once more and prints
// one JSON object to stdout: the totals per cgroup id and direction (flows
// and overflow together), what was lost, how long the drains took and the
// CPU the process used, draining included.
//
//	flowcount [-max-flows N] [-interval 1s] [-bpf-stats]
//
// With -bpf-stats it sets the sysctl kernel.bpf_stats_enabled to 1 while it
// runs, restores the previous value at exit, and reports how often the
// programs ran and their mean run time. Logs go to stderr; "attached" is
// logged once the programs count.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netcost/netcost/bpf"
)

// errUsage marks a command-line error: exit status 2.
var errUsage = errors.New("usage")

type options struct {
	maxFlows uint
	interval time.Duration
	bpfStats bool
	names    bool // capture and read name events
	// serviceCIDR goes into the programs' keep_ports trie, as the agent
	// puts a cluster's there: every packet from an ephemeral port to a
	// service port then pays the trie lookup it pays on a node.
	serviceCIDR string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "flowcount")
	err := mainErr(ctx, log, os.Args[1:])
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "flowcount:", err)
		os.Exit(2)
	case err != nil:
		log.Error("flowcount failed", "error", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, log *slog.Logger, args []string) error {
	opts, err := parseFlags(args)
	if err != nil {
		return err
	}
	return run(ctx, log, os.Stdout, opts)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("flowcount", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.UintVar(&o.maxFlows, "max-flows", 65536, "flows each map generation holds between drains")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between drains")
	fs.BoolVar(&o.bpfStats, "bpf-stats", false, "set kernel.bpf_stats_enabled=1 while running and report ns per program run")
	fs.BoolVar(&o.names, "names", false, "capture name events (DNS, TLS ClientHellos) and read them, as the agent does")
	fs.StringVar(&o.serviceCIDR, "service-cidr", "10.100.0.0/16", "a Service CIDR to put in the keep_ports trie, as the agent does (empty: none)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v (flags: -max-flows N, -interval D, -bpf-stats, -names, -service-cidr CIDR)", errUsage, err)
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.maxFlows == 0 || o.maxFlows > 1<<32-1 {
		return o, fmt.Errorf("%w: -max-flows %d out of range", errUsage, o.maxFlows)
	}
	if _, err := netip.ParsePrefix(o.serviceCIDR); o.serviceCIDR != "" && err != nil {
		return o, fmt.Errorf("%w: -service-cidr: %v", errUsage, err)
	}
	if o.interval <= 0 {
		return o, fmt.Errorf("%w: -interval %v must be positive", errUsage, o.interval)
	}
	return o, nil
}

// Counts are bytes and packets, IP-level.
type Counts struct {
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
}

func (c *Counts) add(bytes, packets uint64) {
	c.Bytes += bytes
	c.Packets += packets
}

// DirTotals are counts by direction.
type DirTotals struct {
	Egress  Counts `json:"egress"`
	Ingress Counts `json:"ingress"`
}

func (t *DirTotals) of(d bpf.Direction) *Counts {
	if d == bpf.Egress {
		return &t.Egress
	}
	return &t.Ingress
}

// CPU is user and system time and the wall time it was spent in.
type CPU struct {
	UserSeconds   float64 `json:"user_seconds"`
	SystemSeconds float64 `json:"system_seconds"`
	WallSeconds   float64 `json:"wall_seconds"`
}

// BPFStats is what the kernel measured of both programs together.
type BPFStats struct {
	Runs     uint64  `json:"runs"`
	TotalNS  int64   `json:"total_ns"`
	NSPerRun float64 `json:"ns_per_run"`
}

// Report is the JSON object flowcount prints.
type Report struct {
	// Cgroups maps a cgroup id (decimal) to what its sockets sent and
	// received: flow records and overflow added up.
	Cgroups          map[string]*DirTotals `json:"cgroups"`
	Lost             DirTotals             `json:"lost"`
	OverflowBytes    uint64                `json:"overflow_bytes"`
	FlowRecords      int                   `json:"flow_records"`
	Drains           int                   `json:"drains"`
	MaxDrainSeconds  float64               `json:"max_drain_seconds"` // including the Grace sleep
	MaxFlowsPerDrain int                   `json:"max_flows_per_drain"`
	// CPU is the whole process, from its start (loading the programs
	// included) to after the last drain; SinceAttach leaves out the start.
	CPU         CPU       `json:"cpu"`
	SinceAttach CPU       `json:"since_attach"`
	BPFStats    *BPFStats `json:"bpf_stats,omitempty"`
	// Names is what -names read, and what the ring had no room for.
	Names *NameCounts `json:"names,omitempty"`
}

// NameCounts counts name events by kind, and their payload bytes.
type NameCounts struct {
	DNSQueries   uint64 `json:"dns_queries"`
	DNSAnswers   uint64 `json:"dns_answers"`
	TLSHellos    uint64 `json:"tls_hellos"`
	PayloadBytes uint64 `json:"payload_bytes"`
	Truncated    uint64 `json:"truncated"`
	Lost         uint64 `json:"lost"`
}

// add counts one event: the agent's reader would parse it here.
func (n *NameCounts) add(ev *bpf.NameEvent) {
	switch ev.Kind {
	case bpf.NameDNSQuery:
		n.DNSQueries++
	case bpf.NameDNSAnswer:
		n.DNSAnswers++
	case bpf.NameTLSHello:
		n.TLSHellos++
	}
	n.PayloadBytes += uint64(len(ev.Payload))
	if ev.Truncated {
		n.Truncated++
	}
}

const bpfStatsSysctl = "/proc/sys/kernel/bpf_stats_enabled"

func run(ctx context.Context, log *slog.Logger, w io.Writer, opts options) (err error) {
	start := time.Now()
	if opts.bpfStats {
		prev, err := os.ReadFile(bpfStatsSysctl)
		if err != nil {
			return fmt.Errorf("reading kernel.bpf_stats_enabled: %w", err)
		}
		if err := os.WriteFile(bpfStatsSysctl, []byte("1\n"), 0); err != nil {
			return fmt.Errorf("enabling kernel.bpf_stats_enabled: %w", err)
		}
		defer func() {
			if rerr := os.WriteFile(bpfStatsSysctl, prev, 0); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restoring kernel.bpf_stats_enabled=%s: %w", strings.TrimSpace(string(prev)), rerr))
			}
		}()
	}
	c, err := bpf.Open(bpf.Config{MaxFlows: uint32(opts.maxFlows), Names: opts.names})
	if err != nil {
		return fmt.Errorf("opening the flow counters: %w", err)
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	if opts.serviceCIDR != "" {
		if err := c.KeepPorts(netip.MustParsePrefix(opts.serviceCIDR)); err != nil {
			return err
		}
	}
	attached := time.Now()
	ruAttached, err := rusage()
	if err != nil {
		return err
	}
	log.Info("attached", "max_flows", opts.maxFlows, "interval", opts.interval, "bpf_stats", opts.bpfStats)

	r := &Report{Cgroups: map[string]*DirTotals{}}
	// The name reader runs until the last drain, then its counts go in the report.
	stopNames := func() error { return nil }
	if opts.names {
		names := &NameCounts{}
		rctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.ReadNames(rctx, names.add) }()
		stopNames = func() error {
			stop()
			err := <-done
			lost, lerr := c.NamesLost()
			names.Lost = lost
			r.Names = names
			return errors.Join(err, lerr)
		}
	}
	a := &totals{cgroups: map[uint64]*DirTotals{}, r: r}
	tick := time.NewTicker(opts.interval)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true // drain once more below
		case <-tick.C:
		}
		if err := a.drain(c); err != nil {
			return err
		}
	}
	if err := stopNames(); err != nil {
		return fmt.Errorf("reading names: %w", err)
	}
	if opts.bpfStats {
		runs, total, err := c.ProgramStats()
		if err != nil {
			return err
		}
		s := &BPFStats{Runs: runs, TotalNS: total.Nanoseconds()}
		if runs > 0 {
			s.NSPerRun = float64(total.Nanoseconds()) / float64(runs)
		}
		r.BPFStats = s
	}
	ru, err := rusage()
	if err != nil {
		return err
	}
	end := time.Now()
	for id, t := range a.cgroups {
		r.Cgroups[strconv.FormatUint(id, 10)] = t
	}
	r.CPU = CPU{UserSeconds: ru.user, SystemSeconds: ru.sys, WallSeconds: end.Sub(start).Seconds()}
	r.SinceAttach = CPU{UserSeconds: ru.user - ruAttached.user, SystemSeconds: ru.sys - ruAttached.sys,
		WallSeconds: end.Sub(attached).Seconds()}
	log.Info("done", "drains", r.Drains, "cgroups", len(r.Cgroups), "flow_records", r.FlowRecords)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// totals adds up the drains into r, with the cgroups by number.
type totals struct {
	cgroups map[uint64]*DirTotals
	r       *Report
}

// drain drains c once and adds what it returned.
func (a *totals) drain(c *bpf.Counter) error {
	r := a.r
	t0 := time.Now()
	d, err := c.Drain()
	if err != nil {
		return fmt.Errorf("draining: %w", err)
	}
	r.MaxDrainSeconds = max(r.MaxDrainSeconds, time.Since(t0).Seconds())
	r.Drains++
	r.FlowRecords += len(d.Flows)
	r.MaxFlowsPerDrain = max(r.MaxFlowsPerDrain, len(d.Flows))
	for _, f := range d.Flows {
		a.cgroup(f.CgroupID).of(f.Dir).add(f.Bytes, f.Packets)
	}
	for _, o := range d.Overflow {
		a.cgroup(o.CgroupID).of(o.Dir).add(o.Bytes, o.Packets)
		r.OverflowBytes += o.Bytes
	}
	for dir, l := range d.Lost {
		r.Lost.of(dir).add(l.Bytes, l.Packets)
	}
	return nil
}

func (a *totals) cgroup(id uint64) *DirTotals {
	t := a.cgroups[id]
	if t == nil {
		t = &DirTotals{}
		a.cgroups[id] = t
	}
	return t
}

type cpuTimes struct{ user, sys float64 }

func rusage() (cpuTimes, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}, fmt.Errorf("reading the CPU time: %w", err)
	}
	sec := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return cpuTimes{sec(ru.Utime), sec(ru.Stime)}, nil
}
