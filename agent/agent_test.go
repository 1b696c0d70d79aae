package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/agent/internal/names"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

func TestFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-window", "90ms"}, "-window 90ms: want whole seconds"},
		{[]string{"-drain-interval", "2m"}, "-drain-interval 2m0s: want more than 0 and at most -window"},
		{[]string{"-top-k", "-1"}, "-top-k -1"},
		{[]string{"-max-flows", "3"}, "-max-flows 3"},
		{[]string{"-max-names", "2"}, "-max-names 2: want 16 to 1048576"},
		{[]string{"-names=maybe"}, `invalid boolean value "maybe" for -names`},
		{[]string{"-sink", "s3"}, `-sink "s3": want file, cloudwatch or stdout`},
		{[]string{"-sink", "cloudwatch", "-log-group", "no spaces"}, `log group "no spaces"`},
		{[]string{"-sink", "cloudwatch", "-spool-max-bytes", "5"}, "-spool-max-bytes 5: want at least"},
		{[]string{"-node", ""}, "-node is empty"},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-log-level", "loud"}, `-log-level "loud"`},
		{[]string{"-vpc-refresh", "0"}, "-vpc-refresh 0s: want at least 1s"},
		{[]string{"-ip-ranges-url", "file:///etc/passwd"}, `-ip-ranges-url "file:///etc/passwd" is not an https URL`},
		{[]string{"-ip-ranges-url", "http://ip-ranges.amazonaws.com/ip-ranges.json"}, "is not an https URL"},
		{[]string{"-metrics-addr", "bogus"}, `-metrics-addr "bogus": want HOST:PORT`},
		{[]string{"-metrics-addr", ":99999"}, `port "99999" is not 0 to 65535`},
		{[]string{"-window", "bogus"}, `invalid value "bogus" for flag -window`},
		{[]string{"-service-cidr", "10.100.0.0/16,bogus"}, `"bogus" is not a CIDR such as 10.100.0.0/16`},
		{[]string{"-conntrack-netns", "/nonexistent/ns"}, "-conntrack-netns: stat /nonexistent/ns: no such file or directory"},
		{[]string{"-pod-name", "netcost-agent-x7k2p", "-pod-namespace", ""}, `-pod-namespace "": set both`},
	} {
		var stderr bytes.Buffer
		err := run(t.Context(), tt.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, usage.Err) {
			t.Errorf("run(%v) = %v; want a usage error containing %q", tt.args, err, tt.want)
		}
		// A flag error is one line, which main prints: nothing else.
		var flagOut bytes.Buffer
		if _, err := parseFlags(tt.args, &flagOut); err != nil && flagOut.Len() > 0 {
			t.Errorf("parseFlags(%v) wrote besides its error:\n%s", tt.args, flagOut.String())
		}
	}
	// A variable the agent cannot parse is an error naming it, not a
	// default silently kept; a flag still wins over a good one.
	t.Setenv("NETCOST_TOP_K", "abc")
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), `NETCOST_TOP_K="abc"`) {
		t.Errorf("NETCOST_TOP_K=abc: %v; want an error naming it", err)
	}
	t.Setenv("NETCOST_TOP_K", "9")
	if c, err := parseFlags([]string{"-top-k", "3"}, io.Discard); err != nil || c.topK != 3 {
		t.Errorf("-top-k 3 with NETCOST_TOP_K=9: %d, %v; want the flag's 3", c.topK, err)
	}
	t.Setenv("NETCOST_TOP_K", "7")
	t.Setenv("NETCOST_WINDOW", "10s")
	t.Setenv("NETCOST_SERVICE_CIDR", " 10.100.0.1/16, fd00:96::/108 ")
	c, err := parseFlags(nil, io.Discard)
	want := []netip.Prefix{netip.MustParsePrefix("10.100.0.0/16"), netip.MustParsePrefix("fd00:96::/108")}
	if err != nil || c.topK != 7 || c.window != 10*time.Second || c.sink != "file" || !slices.Equal(c.serviceCIDRs, want) {
		t.Errorf("settings from the environment = %+v, %v", c, err)
	}
	if !c.learnNames || c.maxNames != names.DefaultMaxNames {
		t.Errorf("names by default: %v, max %d; want on, %d", c.learnNames, c.maxNames, names.DefaultMaxNames)
	}
	t.Setenv("NETCOST_NAMES", "false")
	if c, err := parseFlags(nil, io.Discard); err != nil || c.learnNames {
		t.Errorf("NETCOST_NAMES=false: names %v, %v; want off", c.learnNames, err)
	}
	if c, err := parseFlags([]string{"-names=true"}, io.Discard); err != nil || !c.learnNames {
		t.Errorf("-names=true with NETCOST_NAMES=false: names %v, %v; want the flag's on", c.learnNames, err)
	}
	t.Setenv("NETCOST_SERVICE_CIDR", "") // as the DaemonSet sets it by default: none
	if c, err := parseFlags(nil, io.Discard); err != nil || len(c.serviceCIDRs) != 0 {
		t.Errorf("NETCOST_SERVICE_CIDR empty: %v, %v; want no prefixes", c.serviceCIDRs, err)
	}
}

// TestFlagValues: -region, -vpc-id and the endpoints must have their
// shape; a well-formed region AWS does not have yet is fine.
func TestFlagValues(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-region", "mars-1"}, `-region "mars-1" is not a region name: want one like us-east-1`},
		{[]string{"-region", "hello"}, `-region "hello" is not a region name`},
		{[]string{"-vpc-id", "hello"}, `-vpc-id "hello" is not a VPC id: want vpc- and 8 or 17 lowercase hex digits`},
		{[]string{"-vpc-id", "vpc-123"}, `-vpc-id "vpc-123" is not a VPC id`},
		{[]string{"-vpc-id", "vpc-0A1B2C3D"}, `-vpc-id "vpc-0A1B2C3D" is not a VPC id`},
		{[]string{"-vpc-id", "vpc-0a1b2c3d4e5f6071"}, `-vpc-id "vpc-0a1b2c3d4e5f6071" is not a VPC id`},
		{[]string{"-ec2-endpoint", "localhost:4566"}, `-ec2-endpoint "localhost:4566" is not a URL`},
		{[]string{"-imds-endpoint", "169.254.169.254"}, `-imds-endpoint "169.254.169.254" is not a URL`},
		{[]string{"-node", "a/b"}, `-node "a/b": want a plain name`},
	} {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, usage.Err) {
			t.Errorf("parseFlags(%v) = %v; want a usage error starting %q", tt.args, err, tt.want)
		}
	}
	for _, args := range [][]string{
		{"-region", "us-east-1"}, {"-region", "eu-central-2"}, {"-region", "ap-southeast-4"}, {"-region", "us-gov-west-1"},
		{"-region", "cn-north-1"}, {"-region", "il-central-1"}, {"-region", "xy-newplace-7"},
		{"-vpc-id", "vpc-0a1b2c3d"}, {"-vpc-id", "vpc-0a1b2c3d4e5f60718"}, {"-node", "a/b", "-sink", "stdout"},
		{"-ec2-endpoint", "http://127.0.0.1:5000", "-imds-endpoint", "http://[::1]:1338"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("parseFlags(%v) = %v; want no error", args, err)
		}
	}
}

// TestTypedNames: an error line names the flag as the user gave it: -x or
// --x as typed (the flag package takes both and says -x), or the
// environment variable its value came from.
func TestTypedNames(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--bogus"}, nil, "flag provided but not defined: --bogus (netcost-agent -help lists the flags)"},
		{[]string{"-bogus"}, nil, "flag provided but not defined: -bogus "},
		{[]string{"--window=bogus"}, nil, `invalid value "bogus" for flag --window: `},
		{[]string{"--window", "bogus"}, nil, `invalid value "bogus" for flag --window: `},
		{[]string{"-cluster", "--window", "--window"}, nil, "flag needs an argument: --window "},
		{[]string{"--window", "90ms"}, nil, "--window 90ms: want whole seconds"},
		{[]string{"--window=2s", "-drain-interval", "3s"}, nil,
			"-drain-interval 3s: want more than 0 and at most --window (2s)"},
		{nil, map[string]string{"NETCOST_WINDOW": "90ms"}, "NETCOST_WINDOW 90ms: want whole seconds"},
		{[]string{"--region", "mars-1"}, nil, `--region "mars-1" is not a region name`},
		{nil, map[string]string{"AWS_REGION": "mars-1"}, `AWS_REGION "mars-1" is not a region name`},
		{[]string{"-region", "mars-1"}, map[string]string{"AWS_REGION": "us-east-1"}, `-region "mars-1" is not a region name`},
		{nil, map[string]string{"NETCOST_VPC_ID": "hello"}, `NETCOST_VPC_ID "hello" is not a VPC id`},
		{[]string{"--sink", "s3"}, nil, `--sink "s3": want file, cloudwatch or stdout`},
		{[]string{"--sink=cloudwatch", "--spool-max-bytes", "5"}, nil, "--spool-max-bytes 5: want at least"},
		{nil, map[string]string{"NODE_NAME": ""}, "NODE_NAME is empty"},
	} {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, usage.Err) {
			t.Errorf("parseFlags(%v) with %v = %v; want a usage error starting %q", tt.args, tt.env, err, tt.want)
		}
		for k := range tt.env {
			os.Unsetenv(k)
		}
	}
}

// TestHelpAndVersion: -help (and -h, --help) print the flags to stdout
// and exit 0; -version prints the module version and the commit the
// binary was built from; a bad flag stays one line on stderr, exit 2.
func TestHelpAndVersion(t *testing.T) {
	bin := buildAgent(t)
	runBin := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return o.String(), e.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), 0
	}
	for _, flag := range []string{"-help", "-h", "--help"} {
		out, errs, code := runBin(flag)
		if code != 0 || errs != "" || !strings.Contains(out, "-spool-dir") || !strings.Contains(out, "-version") {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and the flags on stdout", flag, code, errs, out)
		}
	}
	if out, errs, code := runBin("-window", "bogus"); code != 2 || out != "" || strings.Count(errs, "\n") != 1 {
		t.Errorf("-window bogus: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", code, out, errs)
	}

	// The version line, from what `go version -m` reads in the binary.
	mod, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "netcost-agent "
	settings := map[string]string{}
	for line := range strings.Lines(string(mod)) {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" {
			want += f[2]
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "build\t"), "="); ok {
			settings[k] = v
		}
	}
	if rev := settings["vcs.revision"]; rev != "" {
		want += " (commit " + rev[:12] + ", " + settings["vcs.time"]
		if settings["vcs.modified"] == "true" {
			want += ", modified"
		}
		want += ")"
	} else if fi, err := os.Stat("../.git"); err == nil && fi.IsDir() {
		// In a clone (CI's) the build stamps the commit; a git worktree's
		// .git is a file, where Go finds none.
		t.Errorf("the agent built in a git clone carries no commit:\n%s", mod)
	}
	for _, flag := range []string{"-version", "--version"} {
		if out, errs, code := runBin(flag); code != 0 || errs != "" || out != want+"\n" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit 0 and %q", flag, code, errs, out, want+"\n")
		}
	}
	// -version answers whatever the environment holds.
	cmd := exec.Command(bin, "-version")
	cmd.Env = append(os.Environ(), "NETCOST_TOP_K=abc")
	if out, err := cmd.Output(); err != nil || string(out) != want+"\n" {
		t.Errorf("-version with NETCOST_TOP_K=abc: %q, %v; want %q", out, err, want+"\n")
	}
}

// TestServiceAddress: a destination conntrack saw translated is learned as
// a Service's unless it is the node's own address or in the VPC (a
// NodePort or hostPort), which the agent may only know later.
func TestServiceAddress(t *testing.T) {
	a := newAgent(settings{}, slog.New(slog.DiscardHandler))
	if !a.serviceAddress(netip.MustParseAddr("10.1.1.2")) {
		t.Error("without a VPC view or node address, a private address is taken for a Service's")
	}
	node := netip.MustParseAddr("10.1.1.2")
	a.nodeIP.Store(&node)
	cl, err := classify.New(classify.VPC{ID: "vpc-1", Region: "us-east-1", CIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.vpc.Store(cl)
	for ip, want := range map[string]bool{"10.1.1.2": false, "10.1.2.3": false, "10.100.0.10": true, "172.20.0.10": true, "127.0.0.1": false, "fd00:96::a": true} {
		if got := a.serviceAddress(netip.MustParseAddr(ip)); got != want {
			t.Errorf("serviceAddress(%s) = %v; want %v", ip, got, want)
		}
	}
}

// TestAgentSmoke runs the built agent as a user would (real flags, no
// instance metadata, no EC2), drives loopback traffic, stops it with
// SIGTERM and reads the records it wrote: the current window is flushed on
// the way out, and every record is valid.
func TestAgentSmoke(t *testing.T) {
	netnstest.RequireRoot(t, "the agent loads eBPF programs")
	bin := buildAgent(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-node", "smoke-node", "-cluster", "smoke", "-window", "1s", "-drain-interval", "250ms", "-dir", dir,
		"-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1", "-region", "us-east-1", "-ip-ranges-url", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), `"msg":"counting"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start counting:\n%s", stderr.String())
		}
	}
	// 2 MB over loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var got atomic.Int64
	go func() {
		c, err := ln.Accept()
		if err == nil {
			n, _ := io.Copy(io.Discard, c)
			got.Store(n)
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(make([]byte, 2<<20))
	c.Close()
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
	var toPort uint64
	_, err = source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		if r.RemotePort == uint16(port) && r.Direction == flows.Egress {
			toPort += r.Bytes
		}
		if r.Cluster != "smoke" || r.Node != "smoke-node" {
			t.Errorf("record %+v lacks the cluster and node", r)
		}
		if r.Category != flows.Unclassified {
			t.Errorf("record %+v: without instance metadata or a VPC view, want UNCLASSIFIED, never a guess", r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the agent's records: %v\n%s", err, stderr.String())
	}
	if toPort < 2<<20 {
		t.Errorf("records hold %d bytes sent to port %d; want at least the 2 MiB of payload", toPort, port)
	}
	if !strings.Contains(stderr.String(), "no instance metadata") {
		t.Errorf("stderr does not say that instance metadata was unreachable:\n%s", stderr.String())
	}
}
