package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
)

// kill stops the agent with sig and waits for it; a SIGKILL'd agent's exit status is no error.
func (a *runningAgent) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if sig != syscall.SIGKILL {
		a.stop(t)
		return
	}
	a.cmd.Process.Signal(sig)
	a.cmd.Wait()
}

// TestRestartsLoseNothing streams TCP between two pods' namespaces through agents that follow one another as
// a DaemonSet's would: stopped with SIGTERM and started again at once (a rollout), killed with SIGKILL and
// started again (a crash, twice, whenever it falls in the window's cycle), and started with other map sizes (an
// upgrade that changes the pinned layout). The records hold the veths' bytes exactly. -uninstall then leaves
// nothing pinned.
func TestRestartsLoseNothing(t *testing.T) {
	netnstest.RequireRoot(t, "the test loads eBPF, mounts a bpf filesystem and builds namespaces")
	bin := buildAgent(t)
	fsDir := t.TempDir()
	if err := unix.Mount("bpf", fsDir, "bpf", 0, "mode=0700"); err != nil {
		t.Fatalf("mounting a bpf filesystem: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(fsDir, unix.MNT_DETACH) })
	pins := filepath.Join(fsDir, "netcost")
	t.Cleanup(func() { exec.Command(bin, "-uninstall", "-bpffs", pins).Run() })

	pods := []*testbed.Pod{
		{Key: "a", Name: "pod-a", Workload: "pod-a", Hash: "h", Node: "node-a", IP: "10.61.3.10", GW: "10.61.3.1"},
		{Key: "b", Name: "pod-b", Workload: "pod-b", Hash: "h", Node: "node-a", IP: "10.61.3.11", GW: "10.61.3.1"},
	}
	network := testbed.NewNetwork(t, "ncr", nil, pods)
	dir := t.TempDir()
	args := []string{"-node", "node-r", "-cluster", "restart", "-window", "1s", "-drain-interval", "100ms",
		"-dir", dir, "-top-k", "0", "-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1",
		"-region", "us-east-1", "-ip-ranges-url", "", "-bpffs", pins}

	run := startAgent(t, bin, args...)
	before := map[string]uint64{}
	for _, p := range pods {
		before[p.IP] = veth(t, p)
	}
	network.Pods["b"].ServeIn(t, "NETCOST_E2E_HELPER", "serve", "tcp", "10.61.3.11:5001")
	stream, _ := network.Pods["a"].Start(t, "NETCOST_E2E_HELPER", "stream", "tcp", "10.61.3.11:5001", "9s")

	for _, step := range []struct {
		after time.Duration
		sig   syscall.Signal
		extra []string
		log   string // the new agent says so
	}{
		{1500 * time.Millisecond, syscall.SIGTERM, nil, "adopted the pinned counters"},
		{1700 * time.Millisecond, syscall.SIGKILL, nil, "adopted the pinned counters"},
		{1300 * time.Millisecond, syscall.SIGKILL, nil, "adopted the pinned counters"},
		{1600 * time.Millisecond, syscall.SIGTERM, []string{"-max-flows", "32768"}, "the pinned maps' layout changed"},
		{900 * time.Millisecond, syscall.SIGKILL, []string{"-max-flows", "32768"}, "adopted the pinned counters"},
	} {
		time.Sleep(step.after)
		run.kill(t, step.sig)
		run = startAgent(t, bin, append(append([]string{}, args...), step.extra...)...)
		if !strings.Contains(run.logs.String(), step.log) {
			t.Errorf("after %v, the new agent did not say %q:\n%s", step.sig, step.log, run.logs.String())
		}
	}
	if err := stream.Wait(); err != nil {
		t.Fatalf("the stream: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the last ACKs
	wire := map[string]uint64{}
	for _, p := range pods {
		wire[p.IP] = veth(t, p) - before[p.IP]
	}
	run.stop(t)

	// The agent counts the whole machine: only the records between the two pods are the test's (another
	// test's namespaces may use the same addresses meanwhile, not the same pair).
	counted := map[string]uint64{}
	if _, err := source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		if r.LocalIP != r.RemoteIP && (r.LocalIP == pods[0].IP || r.LocalIP == pods[1].IP) &&
			(r.RemoteIP == pods[0].IP || r.RemoteIP == pods[1].IP) {
			counted[r.LocalIP] += r.Bytes
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if counted[p.IP] != wire[p.IP] || wire[p.IP] < 10<<20 {
			t.Errorf("pod %s: records hold %d bytes; its veth carried %d (want at least 10 MiB)", p.Name,
				counted[p.IP], wire[p.IP])
		}
	}

	out, err := exec.Command(bin, "-uninstall", "-bpffs", pins).CombinedOutput()
	if err != nil {
		t.Fatalf("-uninstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(pins); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(pins)
		t.Errorf("%s after -uninstall: %v, holding %v; want it gone", pins, err, ents)
	}
}
