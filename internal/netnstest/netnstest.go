// Package netnstest holds what the tests that drive real traffic through
// network namespaces share: running commands, naming things uniquely,
// reading a veth's counters, making cgroup v2 directories, and starting the
// test binary again as a traffic process in a namespace and a cgroup.
package netnstest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TB is what these helpers need of their caller: TB has it, and so
// can a program that builds the same namespaces (agent/demo).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Run runs a command and returns its output, failing t if it fails.
func Run(t TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Suffix returns 6 random hex digits, to name a test's namespaces and links.
func Suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Stats are a link's counters. A veth counts bytes from the network header:
// they are IP-level.
type Stats struct{ RxBytes, RxPackets, TxBytes, TxPackets, Dropped uint64 }

// Sub returns the counts since b.
func (a Stats) Sub(b Stats) Stats {
	return Stats{a.RxBytes - b.RxBytes, a.RxPackets - b.RxPackets, a.TxBytes - b.TxBytes, a.TxPackets - b.TxPackets, a.Dropped - b.Dropped}
}

// LinkStats reads a link's counters in a namespace.
func LinkStats(t TB, ns, dev string) Stats {
	t.Helper()
	var links []struct {
		Stats64 struct {
			Rx struct{ Bytes, Packets, Dropped uint64 } `json:"rx"`
			Tx struct{ Bytes, Packets, Dropped uint64 } `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(Run(t, "ip", "-n", ns, "-s", "-j", "link", "show", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("reading %s/%s counters: %v", ns, dev, err)
	}
	s := links[0].Stats64
	return Stats{s.Rx.Bytes, s.Rx.Packets, s.Tx.Bytes, s.Tx.Packets, s.Rx.Dropped + s.Tx.Dropped}
}

// NewCgroup makes a cgroup v2 directory, removed when t ends, and returns
// its path and id (the directory's inode number).
func NewCgroup(t TB, root, name string) (string, uint64) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		for range 50 { // the processes must have left; the kernel frees them a moment later
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("removing cgroup %s: still busy", dir)
	})
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatalf("%v", err)
	}
	return dir, st.Ino
}

// Start runs the test binary again in namespace ns and cgroup, with
// env=args set (the test's TestMain acts on it), and returns it and its
// stdout. It is killed when t ends. The process starts in its cgroup
// (clone3 with CLONE_INTO_CGROUP): `ip netns exec` mounts a fresh /sys, so
// it could not join from inside.
func Start(t TB, ns, cgroup, env string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("%v", err)
	}
	dir, err := os.Open(cgroup)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer dir.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+strings.Join(args, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

// Skipper is what RequireRoot needs of a test.
type Skipper interface {
	Helper()
	Fatal(args ...any)
	Skip(args ...any)
}

// RequireRoot skips a test that needs root (what says why), or fails it
// when NETCOST_REQUIRE_ROOT=1, as CI sets: CI never skips one.
func RequireRoot(t Skipper, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
		t.Fatal(what + ": it needs root, and NETCOST_REQUIRE_ROOT=1 forbids skipping it")
	}
	t.Skip(what + ": needs root (CI runs it as root with NETCOST_REQUIRE_ROOT=1)")
}
