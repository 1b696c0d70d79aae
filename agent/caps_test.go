package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/netnstest"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/syncbuf"
)

// capMask is the /proc status line value of a set of capabilities.
func capMask(caps []int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// threadCaps reads every thread's capability sets from /proc.
func threadCaps(t *testing.T, pid int) map[string]map[string]uint64 {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of %d: %v", pid, err)
	}
	out := map[string]map[string]uint64{}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sets := map[string]uint64{}
		for line := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":\t")
			if ok && strings.HasPrefix(k, "Cap") {
				n, err := strconv.ParseUint(v, 16, 64)
				if err != nil {
					t.Fatalf("%s: %s: %v", f, line, err)
				}
				sets[k] = n
			}
		}
		out[f] = sets
	}
	return out
}

type syncBuffer = syncbuf.Buffer // the agent tests' log buffer

// TestCapabilitiesDropped runs the built agent as root with every
// capability, and checks that once counting it holds only keptCaps in every
// thread, and that it still drains the kernel's counts into records: a UDP
// exchange on loopback after the drop is in them to the byte.
func TestCapabilitiesDropped(t *testing.T) {
	netnstest.RequireRoot(t, "the capability test loads eBPF")
	bin := buildAgent(t)
	dir := t.TempDir()
	var logs syncBuffer
	agent := exec.Command(bin, "-node", "caps", "-window", "1s", "-drain-interval", "200ms", "-dir", dir, "-top-k", "0",
		"-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1", "-ip-ranges-url", "", "-kubeconfig", "",
		"-metrics-addr", "127.0.0.1:0", "-log-level", "debug")
	agent.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=")
	agent.Stderr = &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitLog := func(msg string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, `"msg":"`+msg+`"`) {
					return line
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the agent did not log %q:\n%s", msg, logs.String())
			}
		}
	}
	waitLog("capabilities dropped")
	addr := regexp.MustCompile(`"addr":"([^"]+)"`).FindStringSubmatch(waitLog("serving /metrics, /healthz and /readyz"))[1]

	// The documented set (infra/README.md): CAP_BPF, or CAP_SYS_ADMIN on a
	// kernel that predates CAP_BPF.
	want := capMask([]int{unix.CAP_BPF})
	last, _ := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if n, err := strconv.Atoi(strings.TrimSpace(string(last))); err == nil && n < unix.CAP_BPF {
		want = capMask([]int{unix.CAP_SYS_ADMIN})
	}
	for task, sets := range threadCaps(t, agent.Process.Pid) {
		if sets["CapEff"] != want || sets["CapPrm"] != want || sets["CapInh"] != 0 || sets["CapAmb"] != 0 {
			t.Errorf("%s: CapEff %016x CapPrm %016x CapInh %016x CapAmb %016x; want %016x, %016x, 0, 0",
				task, sets["CapEff"], sets["CapPrm"], sets["CapInh"], sets["CapAmb"], want, want)
		}
	}

	// Traffic after the drop: 20 datagrams of 100 bytes, 128 bytes each at
	// the IP level.
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(loopbackServer)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port := srv.LocalAddr().(*net.UDPAddr).Port
	c, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := c.Write(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	// The agent drains, writes the window, and says so on /metrics.
	var sent uint64
	for deadline := time.Now().Add(20 * time.Second); sent != 20*128; time.Sleep(100 * time.Millisecond) {
		sent = 0
		_, err := source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
			if r.Direction == flows.Egress && r.Protocol == flows.UDP && r.RemoteIP == loopbackServer && int(r.RemotePort) == port {
				sent += r.Bytes
			}
			return nil
		})
		if time.Now().After(deadline) {
			t.Fatalf("records hold %d bytes to %s:%d (%v); want %d\n%s", sent, loopbackServer, port, err, 20*128, logs.String())
		}
	}
	// Reading the programs' statistics needs CAP_BPF too.
	if strings.Contains(logs.String(), "no program statistics") {
		t.Errorf("the agent cannot read its programs' statistics after the drop:\n%s", logs.String())
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d; want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	seen := map[string]bool{}
	for sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<20)); sc.Scan(); {
		name, v, _ := strings.Cut(sc.Text(), " ")
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			seen[name] = true
		}
	}
	for _, name := range []string{"netcost_drains_total", "netcost_flows_drained_total", "netcost_records_written_total"} {
		if !seen[name] {
			t.Errorf("/metrics: %s is not above 0 after a window was written", name)
		}
	}
}
