package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/netcost/netcost/agent/internal/names"
	"github.com/netcost/netcost/internal/ipranges"
	"github.com/netcost/netcost/internal/usage"
)

// defaultBPFFS is where the agent pins: the host's bpf filesystem, which
// the DaemonSet mounts.
const defaultBPFFS = "/sys/fs/bpf/netcost"

type settings struct {
	cluster, node   string
	podName, podNS  string
	window          time.Duration
	drainEvery      time.Duration
	topK            int
	maxFlows        uint
	sink, dir       string
	cw              cloudWatchSettings
	imdsEndpoint    string
	ec2Endpoint     string
	region, vpcID   string
	ipRangesFile    string
	ipRangesURL     string
	ipRangesCache   string
	cgroupRoot      string
	vpcRefresh      time.Duration
	startupAttempts int
	logLevel        string
	kubeconfig      string
	metricsAddr     string
	serviceCIDRs    []netip.Prefix
	conntrackNetNS  string
	learnNames      bool // -names
	externalSNAT    bool
	maxNames        int
	bpffs           string
	uninstall       bool
	version         bool

	// names says how the user gave each flag, for the lines that name it:
	// "-window" or "--window" as typed on the command line, or the
	// environment variable its value came from (the DaemonSet's way).
	names map[string]string
}

// flag returns the flag name as the user gave it: as typed, the variable
// it came from, or "-name" when it has its default.
func (c *settings) flag(name string) string {
	if n, ok := c.names[name]; ok {
		return n
	}
	return "-" + name
}

// prefixList is a flag of comma-separated CIDRs.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	*l = (*l)[:0]
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.100.0.0/16", f)
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

// env returns the environment's value for key, or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

// envName finds the variable a flag's help names: "(env NETCOST_WINDOW)".
var envName = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)`)

// checkEnv parses every set variable a flag takes its default from, as
// the flag would: a bad value is an error naming the variable, not a
// default silently kept (the DaemonSet configures the agent through env).
// It records in names the variable each flag came from.
func checkEnv(fs *flag.FlagSet, names map[string]string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		m := envName.FindStringSubmatch(f.Usage)
		if m == nil || err != nil {
			return
		}
		v, ok := os.LookupEnv(m[1])
		if !ok {
			return
		}
		names[f.Name] = m[1]
		// Before the command line is parsed: a flag given there still wins.
		if perr := f.Value.Set(v); perr != nil {
			err = usage.Errorf("%s=%q (for -%s): %v", m[1], v, f.Name, perr)
		}
	})
	return err
}

// typedNames walks args as the flag package parses them and records how
// each flag was typed, "-dir" or "--dir" (the package takes both and says
// "-dir" in its own errors). It returns the last flag it saw: the one a
// parse error is about.
func typedNames(fs *flag.FlagSet, args []string, names map[string]string) (last string) {
	for len(args) > 0 {
		s := args[0]
		if len(s) < 2 || s[0] != '-' || s == "--" {
			return last
		}
		dashes := 1
		if s[1] == '-' {
			dashes = 2
		}
		name, _, hasValue := strings.Cut(s[dashes:], "=")
		if name == "" || name[0] == '-' {
			return last
		}
		args = args[1:]
		names[name], last = s[:dashes]+name, name
		f := fs.Lookup(name)
		if f == nil {
			return last
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if !hasValue && len(args) > 0 {
			args = args[1:] // its value
		}
	}
	return last
}

// retype says a flag as it was typed in one of the flag package's errors,
// which name it " -name" (before a colon or at the end) whatever was typed.
func retype(err error, name, typed string) error {
	msg, plain := err.Error(), " -"+name
	if typed == "" || typed == plain[1:] {
		return err
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], plain)
		if j < 0 {
			return err
		}
		at, end := i+j+1, i+j+len(plain)
		if end == len(msg) || msg[end] == ':' {
			return errors.New(msg[:at] + typed + msg[end:])
		}
		i = end
	}
}

// parseFlags reads the settings from the environment and args; -help
// writes the flags to stdout.
func parseFlags(args []string, stdout io.Writer) (settings, error) {
	c := settings{names: map[string]string{}}
	fs := flag.NewFlagSet("netcost-agent", flag.ContinueOnError)
	// A bad flag is one line (main prints it); -help prints the list.
	fs.SetOutput(io.Discard)
	host, _ := os.Hostname()
	fs.StringVar(&c.cluster, "cluster", env("NETCOST_CLUSTER", ""), "cluster name written in every record (env NETCOST_CLUSTER)")
	fs.StringVar(&c.node, "node", env("NODE_NAME", host), "this node's name (env NODE_NAME, from the downward API)")
	fs.StringVar(&c.podName, "pod-name", env("POD_NAME", ""),
		"this agent's pod, whose DaemonSet's Ready pods tell which nodes run the agent (env POD_NAME, from the downward API)")
	fs.StringVar(&c.podNS, "pod-namespace", env("POD_NAMESPACE", ""),
		"this agent's pod's namespace (env POD_NAMESPACE, from the downward API)")
	fs.DurationVar(&c.window, "window", envDuration("NETCOST_WINDOW", time.Minute), "record window, aligned to the clock (env NETCOST_WINDOW)")
	fs.DurationVar(&c.drainEvery, "drain-interval", envDuration("NETCOST_DRAIN_INTERVAL", 5*time.Second), "how often the agent looks whether a window is due; the kernel's counts are read once a window "+
		"(env NETCOST_DRAIN_INTERVAL)")
	fs.IntVar(&c.topK, "top-k", envInt("NETCOST_TOP_K", 50),
		"remotes kept per local workload, category, direction and remote_reported; "+
			"the rest fold into \"other\" (0: all) (env NETCOST_TOP_K)")
	fs.UintVar(&c.maxFlows, "max-flows", uint(envInt("NETCOST_MAX_FLOWS", 65536)), "flow map entries per window; beyond, bytes go to their pod's overflow count (env NETCOST_MAX_FLOWS)")
	fs.StringVar(&c.sink, "sink", env("NETCOST_SINK", "file"), "where records go: file, cloudwatch or stdout (env NETCOST_SINK)")
	fs.StringVar(&c.dir, "dir", env("NETCOST_DIR", "/var/lib/netcost/flows"), "directory of the file sink (env NETCOST_DIR)")
	cloudWatchFlags(fs, &c)
	fs.StringVar(&c.imdsEndpoint, "imds-endpoint", env("NETCOST_IMDS_ENDPOINT", ""), "instance metadata endpoint (default: EC2's) (env NETCOST_IMDS_ENDPOINT)")
	fs.StringVar(&c.ec2Endpoint, "ec2-endpoint", env("NETCOST_EC2_ENDPOINT", ""), "EC2 API endpoint, for emulators (env NETCOST_EC2_ENDPOINT)")
	fs.StringVar(&c.region, "region", env("AWS_REGION", ""), "AWS region (default: from instance metadata) (env AWS_REGION)")
	fs.StringVar(&c.vpcID, "vpc-id", env("NETCOST_VPC_ID", ""), "VPC (default: from instance metadata) (env NETCOST_VPC_ID)")
	fs.StringVar(&c.ipRangesFile, "ip-ranges-file", env("NETCOST_IP_RANGES_FILE", ""), "AWS ip-ranges.json to use instead of downloading it, for air-gapped nodes (env NETCOST_IP_RANGES_FILE)")
	fs.StringVar(&c.ipRangesURL, "ip-ranges-url", env("NETCOST_IP_RANGES_URL", ipranges.URL), "where to download AWS ip-ranges.json at start and daily: https, or http to this machine; empty: never (env NETCOST_IP_RANGES_URL)")
	fs.StringVar(&c.ipRangesCache, "ip-ranges-cache", env("NETCOST_IP_RANGES_CACHE", "/var/lib/netcost/ip-ranges.json"), "last good download, used when a download fails (env NETCOST_IP_RANGES_CACHE)")
	fs.StringVar(&c.cgroupRoot, "cgroup-root", env("NETCOST_CGROUP_ROOT", ""), "cgroup v2 mount (default: found in /proc/self/mountinfo) (env NETCOST_CGROUP_ROOT)")
	fs.DurationVar(&c.vpcRefresh, "vpc-refresh", envDuration("NETCOST_VPC_REFRESH", 5*time.Minute), "how often the VPC view is read again; the last good one is kept on failure (env NETCOST_VPC_REFRESH)")
	fs.IntVar(&c.startupAttempts, "startup-attempts", envInt("NETCOST_STARTUP_ATTEMPTS", 3), "tries at instance metadata and EC2 before running with what the agent has (env NETCOST_STARTUP_ATTEMPTS)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", env("KUBECONFIG", ""), "kubeconfig for pod and Service names (default: the in-cluster service account; none: no names) (env KUBECONFIG)")
	// This machine only by default: with the node's network, ":9109" would
	// listen on every interface of the node. The DaemonSet names the node's
	// address, where the probes and Prometheus reach it.
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("NETCOST_METRICS_ADDR", "127.0.0.1:9109"), "where to serve /metrics (OpenMetrics), /healthz and /readyz: HOST:PORT ([HOST]:PORT for IPv6), such as the node's address; :PORT listens on every interface; empty: nowhere (env NETCOST_METRICS_ADDR)")
	svc := (*prefixList)(&c.serviceCIDRs)
	fs.Var(svc, "service-cidr", "the cluster's Service CIDRs, comma-separated (EKS: kubernetesNetworkConfig.serviceIpv4Cidr, e.g. 10.100.0.0/16); without, each ClusterIP is learned from conntrack at its first connection (env NETCOST_SERVICE_CIDR)")
	fs.StringVar(&c.conntrackNetNS, "conntrack-netns", env("NETCOST_CONNTRACK_NETNS", ""), "network namespace file whose conntrack table names Services' backends, e.g. /proc/1/ns/net (needs CAP_SYS_ADMIN; default: the agent's own, the node's with hostNetwork) (env NETCOST_CONNTRACK_NETNS)")
	fs.BoolVar(&c.learnNames, "names", true, "name remotes from the DNS answers and TLS server names the pods "+
		"themselves saw (remote_name); -names=false turns it off (env NETCOST_NAMES)")
	fs.IntVar(&c.maxNames, "max-names", envInt("NETCOST_MAX_NAMES", names.DefaultMaxNames), "remote names kept "+
		"for all pods together, least recently used dropped first; about 400 bytes each at most "+
		"(env NETCOST_MAX_NAMES)")
	fs.BoolVar(&c.externalSNAT, "external-snat", false, "pods' IPv4 flows out of the VPC leave with the pods' own "+
		"addresses, through their own subnets' routes, as with the VPC CNI's AWS_VPC_K8S_CNI_EXTERNALSNAT=true; "+
		"by default with the node's, through its subnet's routes (env NETCOST_EXTERNAL_SNAT)")
	fs.StringVar(&c.bpffs, "bpffs", env("NETCOST_BPFFS", defaultBPFFS), "directory on a bpf filesystem where the "+
		"programs' links and maps are pinned, so that the kernel counts while no agent runs and a restart or a "+
		"crash loses nothing; empty: nothing pinned (env NETCOST_BPFFS)")
	fs.BoolVar(&c.uninstall, "uninstall", false, "detach the programs pinned under -bpffs, remove the pins, and "+
		"exit: after the DaemonSet is deleted (docs/install-eks.md)")
	fs.StringVar(&c.logLevel, "log-level", env("NETCOST_LOG_LEVEL", "info"), "debug, info, warn or error (env NETCOST_LOG_LEVEL)")
	fs.BoolVar(&c.version, "version", false, "print the agent's version and exit")
	// -help and -version answer whatever the environment holds.
	envErr := checkEnv(fs, c.names)
	last := typedNames(fs, args, c.names)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(stdout)
			fs.Usage()
			return c, err
		}
		return c, usage.Errorf("%w (netcost-agent -help lists the flags)", retype(err, last, c.names[last]))
	}
	if c.version {
		return c, nil
	}
	if envErr != nil {
		return c, envErr
	}
	switch {
	case fs.NArg() > 0:
		return c, usage.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	case c.uninstall && c.bpffs == "":
		return c, usage.Errorf("-uninstall with an empty %s: want the directory the agent pinned in (default %s)",
			c.flag("bpffs"), defaultBPFFS)
	case c.window < time.Second || c.window%time.Second != 0:
		return c, usage.Errorf("%s %v: want whole seconds, at least 1s", c.flag("window"), c.window)
	case c.drainEvery <= 0 || c.drainEvery > c.window:
		return c, usage.Errorf("%s %v: want more than 0 and at most %s (%v)",
			c.flag("drain-interval"), c.drainEvery, c.flag("window"), c.window)
	case c.topK < 0:
		return c, usage.Errorf("%s %d: want 0 (keep all) or more", c.flag("top-k"), c.topK)
	case c.maxFlows < 16 || c.maxFlows > 1<<24:
		return c, usage.Errorf("%s %d: want 16 to 16777216", c.flag("max-flows"), c.maxFlows)
	case c.sink != "file" && c.sink != "stdout" && c.sink != "cloudwatch":
		return c, usage.Errorf("%s %q: want file, cloudwatch or stdout", c.flag("sink"), c.sink)
	case c.node == "":
		return c, usage.Errorf("%s is empty: want this node's name (-node or NODE_NAME)", c.flag("node"))
	case (c.podName == "") != (c.podNS == ""):
		return c, usage.Errorf("%s %q, %s %q: set both (POD_NAME and POD_NAMESPACE, from the downward API) "+
			"or neither", c.flag("pod-name"), c.podName, c.flag("pod-namespace"), c.podNS)
	case c.startupAttempts < 1:
		return c, usage.Errorf("%s %d: want at least 1", c.flag("startup-attempts"), c.startupAttempts)
	case c.maxNames < 16 || c.maxNames > 1<<20:
		return c, usage.Errorf("%s %d: want 16 to 1048576", c.flag("max-names"), c.maxNames)
	case c.vpcRefresh < time.Second:
		return c, usage.Errorf("%s %v: want at least 1s", c.flag("vpc-refresh"), c.vpcRefresh)
	}
	if c.conntrackNetNS != "" {
		if _, err := os.Stat(c.conntrackNetNS); err != nil {
			return c, usage.Errorf("%s: %w (want a network namespace file such as /proc/1/ns/net)",
				c.flag("conntrack-netns"), err)
		}
	}
	if err := ipranges.CheckURL(c.ipRangesURL); err != nil {
		return c, usage.Errorf("%s %w", c.flag("ip-ranges-url"), err)
	}
	if c.metricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.metricsAddr); err != nil {
			return c, usage.Errorf("%s %q: want HOST:PORT or :PORT (%v)", c.flag("metrics-addr"), c.metricsAddr, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return c, usage.Errorf("%s %q: port %q is not 0 to 65535", c.flag("metrics-addr"), c.metricsAddr, port)
		}
	}
	if err := checkValues(&c); err != nil {
		return c, err
	}
	return c, checkCloudWatchFlags(&c)
}
