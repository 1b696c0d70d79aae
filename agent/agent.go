package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netcost/netcost/agent/internal/cgroups"
	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/conntrack"
	"github.com/netcost/netcost/agent/internal/kube"
	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/agent/internal/sink"
	"github.com/netcost/netcost/agent/internal/vpcview"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/ipranges"
	"github.com/netcost/netcost/internal/usage"
)

// agent is the process's state: its settings, logger and metrics (set by serveHealth), and what the conntrack
// goroutine needs to know of the node.
type agent struct {
	cfg     settings
	log     *slog.Logger
	metrics *metrics.Metrics
	// vpc is the VPC view in use, for the conntrack goroutine (the
	// collector, which also holds it, is the drain loop's alone).
	vpc    atomic.Pointer[classify.Classifier]
	nodeIP atomic.Pointer[netip.Addr]
}

// newAgent returns an agent; its run wires the real parts and runs the loop.
func newAgent(cfg settings, log *slog.Logger) *agent { return &agent{cfg: cfg, log: log} }

// retry calls f up to attempts times, waiting a little longer each time.
func retry(ctx context.Context, attempts int, f func() error) error {
	var err error
	for i := range attempts {
		if err = f(); err == nil {
			return nil
		}
		if i < attempts-1 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(1<<i) * 500 * time.Millisecond):
			}
		}
	}
	return err
}

// identify reads the node's identity; without it the agent still runs,
// with the overrides it was given, and classifies what it can.
func (a *agent) identify(ctx context.Context) node.Identity {
	var id node.Identity
	err := retry(ctx, a.cfg.startupAttempts, func() error {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		id, err = node.Identify(c, node.NewClient(a.cfg.imdsEndpoint))
		return err
	})
	if err != nil {
		a.log.Error("no instance metadata: running without it; records are UNCLASSIFIED unless -region and -vpc-id are set",
			"error", err)
	}
	return a.override(id)
}

// override applies -region and -vpc-id to what instance metadata said.
func (a *agent) override(id node.Identity) node.Identity {
	if a.cfg.region != "" {
		id.Region = a.cfg.region
	}
	if a.cfg.vpcID != "" {
		id.VPCID = a.cfg.vpcID
	}
	return id
}

// kubeNames starts the Kubernetes informers; without a cluster to talk to
// the agent runs without names.
func (a *agent) kubeNames(ctx context.Context) *kube.Index {
	var rc *rest.Config
	var err error
	if a.cfg.kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", a.cfg.kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	const noAPI = "no Kubernetes API: records carry no pod or Service names, " +
		"and only this node's address is remote_reported"
	if err != nil {
		a.log.Warn(noAPI, "error", err)
		return nil
	}
	src, err := kube.NewSources(rc)
	if err != nil {
		a.log.Warn(noAPI, "error", err)
		return nil
	}
	idx := kube.NewIndex()
	idx.SetSelf(kube.Self{Node: a.cfg.node, Namespace: a.cfg.podNS, Pod: a.cfg.podName})
	if a.cfg.podName == "" {
		a.log.Warn("no -pod-name (POD_NAME): the agent cannot tell which other nodes run it, " +
			"and writes their bytes remote_reported false")
	}
	synced := make(chan error, 1)
	// The informers run until ctx ends; Watch returns once they synced.
	go func() { synced <- kube.Watch(ctx, src, idx, a.log) }()
	select {
	case err := <-synced:
		if err != nil {
			a.log.Warn("Kubernetes names not synced", "error", err)
		}
	case <-time.After(time.Minute):
		a.log.Warn("Kubernetes names not synced after a minute: counting now; names fill in as they arrive")
	}
	return idx
}

// recordInstance is the node's instance as records name it: none when
// instance metadata did not answer, or answered what is no EC2 instance ID
// (readers would refuse the records).
func (a *agent) recordInstance(id node.Identity) string {
	if id.InstanceID != "" && !flows.ValidInstanceID(id.InstanceID) {
		a.log.Warn("instance metadata's instance-id is no EC2 instance ID: records carry none", "instance_id", id.InstanceID)
		return ""
	}
	return id.InstanceID
}

// loadView reads the VPC view and compiles it.
func (a *agent) loadView(ctx context.Context, id node.Identity, ranges *ipranges.Ranges) (*classify.Classifier, error) {
	if id.Region == "" || id.VPCID == "" {
		return nil, errors.New("no region or VPC: set -region and -vpc-id, or run where instance metadata answers")
	}
	awsCfg, err := awscfg.Load(ctx, awscfg.Options{Region: id.Region})
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	api := ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		if a.cfg.ec2Endpoint != "" {
			o.BaseEndpoint = aws.String(a.cfg.ec2Endpoint)
		}
	})
	v, err := vpcview.Load(ctx, api, id.Region, id.VPCID)
	if err != nil {
		return nil, err
	}
	return classify.New(v, ranges)
}

// refresh reads the VPC view again, keeping the last one when that fails.
// When instance metadata did not answer at start it is asked again first
// (once, briefly: drains wait meanwhile), so that a boot-time outage does
// not leave the node unclassified until it restarts. It returns the
// node's identity as now known.
func (a *agent) refresh(ctx context.Context, id node.Identity, ranges *ipranges.Ranges,
	col *collect.Collector) node.Identity {
	if id.InstanceID == "" && (id.Region == "" || id.VPCID == "") {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		again, err := node.Identify(c, node.NewClient(a.cfg.imdsEndpoint))
		cancel()
		if err == nil && again.InstanceID != "" {
			id = a.override(again)
			if id.Region != "" {
				col.Region = id.Region
			}
			if ip, err := netip.ParseAddr(id.PrivateIP); err == nil {
				col.NodeIP = ip
			}
			col.InstanceID = a.recordInstance(id)
			a.log.Info("instance metadata answered", "region", id.Region, "vpc", id.VPCID, "az_id", id.AZID)
		}
	}
	if c, err := a.loadView(ctx, id, ranges); err != nil {
		a.log.Warn("VPC view not refreshed; keeping the last one", "error", err)
	} else {
		col.Classifier = c
	}
	a.known(col.Classifier, id)
	return id
}

// known tells the conntrack goroutine the VPC view and the node's address
// the drain loop now uses.
func (a *agent) known(c *classify.Classifier, id node.Identity) {
	if c != nil {
		a.vpc.Store(c)
	}
	if ip, err := netip.ParseAddr(id.PrivateIP); err == nil {
		a.nodeIP.Store(&ip)
	}
}

// followServices starts following the node's conntrack table, which names
// the backend of each pod's connection to a Service's ClusterIP. Without
// it (no conntrack, no CAP_NET_ADMIN) the agent runs on, and those flows
// keep the ClusterIP: UNCLASSIFIED.
func (a *agent) followServices(counter *bpf.Counter) *conntrack.Table {
	t, err := conntrack.Open(conntrack.Config{NetNS: a.cfg.conntrackNetNS, Prefixes: a.cfg.serviceCIDRs,
		KeepPorts: counter.KeepPorts, Learn: a.serviceAddress, Log: a.log})
	if err != nil {
		a.log.Warn("no conntrack: pods' flows to Service ClusterIPs are not translated to their backends and stay "+
			"UNCLASSIFIED", "error", err)
		return nil
	}
	go func() { // Run returns once run closes the table, after the final drain
		if err := t.Run(); err != nil {
			a.log.Warn("conntrack events stopped: new connections to Services are not translated", "error", err)
		}
	}()
	a.metrics.WatchServices(func() metrics.ServiceStats {
		s := t.Stats()
		return metrics.ServiceStats{TranslatedBytes: s.TranslatedBytes, UntranslatedBytes: s.UntranslatedBytes,
			EventsLost: s.EventsLost, ConnsNotRemembered: s.ConnsNotRemembered, Conns: s.Conns}
	})
	return t
}

// serviceAddress says whether a destination conntrack saw translated is a
// Service's ClusterIP. Connections to a NodePort or a hostPort are
// translated too, but they are addressed to a node, in the VPC; on EKS the
// Service CIDR lies outside the VPC.
func (a *agent) serviceAddress(ip netip.Addr) bool {
	if n := a.nodeIP.Load(); n != nil && *n == ip {
		return false
	}
	if c := a.vpc.Load(); c != nil && c.InVPC(ip) {
		return false
	}
	return ip.IsGlobalUnicast()
}

// rangesFetcher downloads AWS ip-ranges as the flags say.
func (a *agent) rangesFetcher() *ipranges.Fetcher {
	return &ipranges.Fetcher{URL: a.cfg.ipRangesURL, Cache: a.cfg.ipRangesCache}
}

// fetchRanges downloads AWS ip-ranges as -ip-ranges-url says; without them (nil) the agent runs.
func (a *agent) fetchRanges(ctx context.Context) *ipranges.Ranges {
	if a.cfg.ipRangesURL == "" {
		return nil
	}
	ranges, err := a.rangesFetcher().Fetch(ctx, nil)
	if err != nil {
		a.log.Warn("AWS ip-ranges", "error", err) // with or without a cached copy, the agent runs
	}
	return ranges
}

// loadRanges reads AWS ip-ranges from -ip-ranges-file; without the flag it returns nil, for fetchRanges.
func (a *agent) loadRanges() (*ipranges.Ranges, error) {
	cfg := a.cfg
	if cfg.ipRangesFile == "" {
		return nil, nil
	}
	f, err := os.Open(cfg.ipRangesFile)
	if err != nil {
		return nil, usage.Errorf("%s: %w", cfg.flag("ip-ranges-file"), err)
	}
	defer f.Close()
	ranges, err := ipranges.Parse(f)
	if err != nil {
		return nil, usage.Errorf("%s %s: %w", cfg.flag("ip-ranges-file"), cfg.ipRangesFile, err)
	}
	return ranges, nil
}

// run wires the real parts and runs the loop until ctx ends: the health server and the eBPF counter (and
// conntrack) first, so that counting starts at once; the sink too, unless it waits for the node's region;
// then learn asks the network for the rest (instance metadata, the VPC view, Kubernetes names) while the
// loop runs.
func (a *agent) run(ctx context.Context, stdout io.Writer) error {
	cfg := a.cfg
	stopHealth, err := a.serveHealth()
	if err != nil {
		return err
	}
	defer stopHealth()
	ranges, err := a.loadRanges()
	if err != nil {
		return err
	}
	// A sink that needs nothing of the network opens now: its errors are the user's to fix, said at once.
	var out sink.Sink // file, cloudwatch or stdout: see sink.go; nil until learn opens it
	if cfg.sink != "cloudwatch" || cfg.region != "" {
		if out, err = a.openSink(ctx, cfg.region, stdout); err != nil {
			return err
		}
		defer out.Close()
	}

	root := cfg.cgroupRoot
	if root == "" {
		var err error
		if root, err = bpf.FindCgroup2(); err != nil {
			return err
		}
	}
	counter, err := a.openCounter(root)
	if err != nil {
		return err
	}
	defer counter.Close()
	// Before the capabilities go: it needs CAP_NET_ADMIN once. It follows
	// the table until the final drain is translated (Close, deferred).
	var services translator // nil, not a nil *conntrack.Table, without conntrack
	if t := a.followServices(counter); t != nil {
		defer t.Close()
		services = t
	}
	a.dropPrivileges()
	a.log.Info("counting", "node", cfg.node, "cgroup_root", root, "window", cfg.window)

	n := &namer{paths: cgroups.NewResolver(root)} // its index comes from learn
	col := &collect.Collector{Cluster: cfg.cluster, Node: cfg.node, Region: cmp.Or(cfg.region, "unknown"), Log: a.log,
		Names:        func(cgroup uint64) (collect.Names, bool) { return n.local(cgroup) },
		Remote:       func(ip netip.Addr) (collect.RemoteNames, bool) { return n.remote(ip) },
		ExternalSNAT: cfg.externalSNAT}
	learnt := make(chan learnt, learning)
	go a.learn(ctx, ranges, out == nil, stdout, learnt) // returns once it has sent, or soon after ctx ends
	l := a.newLoop(counter, services, out, col, ranges)
	l.learnt, l.namer = learnt, n
	if cfg.learnNames {
		l.names = newLearner(counter, cfg.maxNames, col, a.metrics)
	}
	err = l.run(ctx)
	if out == nil && l.out != nil {
		err = errors.Join(err, l.out.Close())
	}
	return err
}
