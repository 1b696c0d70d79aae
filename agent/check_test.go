package main

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/usage"
)

// TestPreflight: the selected sink's directory is created and must be
// writable, -cgroup-root must be a cgroup v2 directory, -kubeconfig must
// load; each is one usage line naming the flag and the path.
func TestPreflight(t *testing.T) {
	netnstest.RequireRoot(t, "the up-front checks need the capabilities to load eBPF")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-dir", file + "/flows"}, "-dir " + file + "/flows: cannot create it: not a directory"},
		{[]string{"--dir", file}, "--dir " + file + ": cannot create it: not a directory"},
		{[]string{"-sink", "cloudwatch", "-spool-dir", file + "/spool"},
			"-spool-dir " + file + "/spool: cannot create it: not a directory"},
		{[]string{"-sink", "stdout", "-cgroup-root", tmp}, "-cgroup-root " + tmp + ": not a cgroup v2 directory"},
		{[]string{"-sink", "stdout", "-cgroup-root", "/nonexistent"}, "-cgroup-root /nonexistent: no such file or directory"},
		{[]string{"-sink", "stdout", "-kubeconfig", "/nonexistent"},
			"-kubeconfig /nonexistent: stat /nonexistent: no such file or directory"},
	} {
		c, err := parseFlags(tt.args, io.Discard)
		if err != nil {
			t.Fatalf("parseFlags(%v): %v", tt.args, err)
		}
		err = preflight(&c)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, usage.Err) {
			t.Errorf("preflight(%v) = %v; want a usage error starting %q", tt.args, err, tt.want)
		}
	}
	// Errors found later, still before any network call.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-sink", "cloudwatch", "-spool-dir", tmp, "-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1",
			"-ip-ranges-url", ""}, "-sink cloudwatch: no region"},
		{[]string{"-ip-ranges-file", "/nonexistent.json", "-sink", "stdout"}, "-ip-ranges-file: open /nonexistent.json"},
	} {
		err := run(t.Context(), tt.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, usage.Err) {
			t.Errorf("run(%v) = %v; want a usage error containing %q", tt.args, err, tt.want)
		}
	}
	// Only the selected sink's directory counts; a missing one is created,
	// with nothing left in it; the cgroup v2 mount is found.
	dir, spool := filepath.Join(tmp, "new", "flows"), filepath.Join(tmp, "new", "spool")
	for _, args := range [][]string{
		{"-sink", "stdout", "-dir", file, "-spool-dir", file},
		{"-dir", dir, "-spool-dir", file},
		{"-sink", "cloudwatch", "-dir", file, "-spool-dir", spool},
	} {
		c, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("parseFlags(%v): %v", args, err)
		}
		if err := preflight(&c); err != nil || c.cgroupRoot == "" {
			t.Errorf("preflight(%v) = %v, cgroup root %q; want nil and the mount", args, err, c.cgroupRoot)
		}
	}
	for path, perm := range map[string]os.FileMode{dir: 0o755, spool: 0o700} {
		fi, err := os.Stat(path)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != perm {
			t.Errorf("%s: %v, %v; want a directory with mode %v", path, fi, err, perm)
			continue
		}
		if left, _ := os.ReadDir(path); len(left) != 0 {
			t.Errorf("%s holds %v after the check; want nothing", path, left)
		}
	}
}

// TestNeedCaps: what each effective set lacks, on a kernel with CAP_BPF
// and on one without.
func TestNeedCaps(t *testing.T) {
	set := func(caps ...int) uint64 { return capMask(caps) }
	for _, tt := range []struct {
		eff    uint64
		hasBPF bool
		want   string
	}{
		{set(), true, "CAP_BPF CAP_NET_ADMIN"},
		{set(unix.CAP_BPF), true, "CAP_NET_ADMIN"},
		{set(unix.CAP_NET_ADMIN), true, "CAP_BPF"},
		{set(unix.CAP_PERFMON, unix.CAP_NET_ADMIN), true, "CAP_BPF"},
		{set(unix.CAP_BPF, unix.CAP_NET_ADMIN), true, ""},
		{set(unix.CAP_SYS_ADMIN), true, ""},
		{^uint64(0), true, ""},
		{set(unix.CAP_NET_ADMIN), false, "CAP_SYS_ADMIN"},
		{set(unix.CAP_SYS_ADMIN), false, "CAP_NET_ADMIN"},
		{set(unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN), false, ""},
	} {
		if got := strings.Join(needCaps(tt.eff, tt.hasBPF), " "); got != tt.want {
			t.Errorf("needCaps(%x, kernel with CAP_BPF %v) = %q; want %q", tt.eff, tt.hasBPF, got, tt.want)
		}
	}
}

// blackhole returns an endpoint that accepts connections and never
// answers: instance metadata behind it takes seconds to give up.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// TestUpFront runs the built agent as a user without the capabilities,
// with one of the two, in a user namespace, and with the DaemonSet's set
// but an unwritable directory, under setpriv. Each fails with exit 2 and
// one line naming what is missing, in under 3 s although instance metadata
// would take longer (it accepts and never answers): before any network
// call. With the DaemonSet's set, or CAP_SYS_ADMIN alone, it starts.
func TestUpFront(t *testing.T) {
	netnstest.RequireRoot(t, "the test switches users and capabilities")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is missing")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare (util-linux) is missing")
	}
	bin := buildAgent(t)
	imds := blackhole(t)
	// A state directory as a hostPath owned by someone else would be:
	// without CAP_DAC_OVERRIDE, root cannot write in it.
	theirs := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	root := func(caps string) []string {
		return []string{setpriv, "--bounding-set=-all" + caps, "--inh-caps=-all", "--"}
	}
	nobody := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--"}
	daemonSet := root(",+bpf,+net_admin")
	for _, tt := range []struct {
		name string
		wrap []string
		args []string
		want string // the line; "" when the agent starts
	}{
		{"non-root", nobody, nil, "netcost-agent: missing CAP_BPF and CAP_NET_ADMIN: the agent needs them to load and " +
			"attach its eBPF programs; run it as root, or add BPF and NET_ADMIN to the container's " +
			"securityContext.capabilities"},
		{"no capabilities", root(""), nil, "netcost-agent: missing CAP_BPF and CAP_NET_ADMIN:"},
		{"BPF only", root(",+bpf"), nil, "netcost-agent: missing CAP_NET_ADMIN: the agent needs it"},
		{"NET_ADMIN only", root(",+net_admin"), nil, "netcost-agent: missing CAP_BPF: the agent needs it"},
		{"PERFMON and NET_ADMIN", root(",+perfmon,+net_admin"), nil, "netcost-agent: missing CAP_BPF:"},
		{"user namespace", []string{unshare, "--user", "--map-root-user", "--"}, nil,
			"netcost-agent: the kernel refuses the agent eBPF maps although it holds the capabilities"},
		{"unwritable -dir", daemonSet, []string{"-dir", theirs + "/flows"},
			"netcost-agent: -dir " + theirs + "/flows: cannot create it: permission denied"},
		{"unwritable -spool-dir", daemonSet, []string{"-sink", "cloudwatch", "-region", "us-east-1", "--spool-dir", theirs},
			"netcost-agent: --spool-dir " + theirs + ": cannot write in it: permission denied"},
		{"the DaemonSet's set", daemonSet, nil, ""},
		{"CAP_SYS_ADMIN alone", root(",+sys_admin"), nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.wrap, bin, "-node", "upfront", "-imds-endpoint", imds, "-startup-attempts", "1",
				"-ip-ranges-url", "", "-kubeconfig", "", "-metrics-addr", "127.0.0.1:0")
			if len(tt.args) == 0 {
				args = append(args, "-dir", t.TempDir())
			}
			cmd := exec.Command(args[0], append(args[1:], tt.args...)...)
			cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=")
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			deadline := time.After(3 * time.Second)
			if tt.want == "" {
				// Started: past the checks it serves /metrics, then asks
				// instance metadata.
				for !strings.Contains(stderr.String(), `"msg":"serving /metrics`) {
					select {
					case err := <-done:
						t.Fatalf("the agent exited (%v) instead of starting:\n%s", err, stderr.String())
					case <-deadline:
						cmd.Process.Kill()
						<-done
						t.Fatalf("the agent did not start within 3 s:\n%s", stderr.String())
					case <-time.After(20 * time.Millisecond):
					}
				}
				cmd.Process.Kill()
				<-done
				return
			}
			select {
			case err = <-done:
			case <-deadline:
				cmd.Process.Kill()
				<-done
				t.Fatalf("no answer within 3 s: the check is not up front:\n%s", stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("exit %v after %v; want status 2", err, time.Since(start))
			}
			out := stderr.String()
			if !strings.HasPrefix(out, tt.want) || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Errorf("stderr:\n%s\nwant one line starting %q", out, tt.want)
			}
			if stdout.String() != "" {
				t.Errorf("stdout: %q; want nothing", stdout.String())
			}
		})
	}
}
