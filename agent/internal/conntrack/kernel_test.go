package conntrack

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/netnstest"
)

func TestMain(m *testing.M) {
	if args := os.Getenv("NETCOST_CT_HELPER"); args != "" {
		if err := testbed.HelperMain(strings.Fields(args)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKernel follows a real conntrack table: pods in namespaces reach a
// ClusterIP that the router namespace (the node's, here) DNATs as
// kube-proxy does, over TCP and UDP, before and after the Table opens.
func TestKernel(t *testing.T) {
	netnstest.RequireRoot(t, "this test builds network namespaces and iptables rules")
	const clusterIP = "10.96.7.7"
	net := testbed.NewNetwork(t, "nct", nil, []*testbed.Pod{
		{Key: "c", Name: "client", IP: "10.7.1.10", GW: "10.7.1.1"},
		{Key: "s", Name: "server", IP: "10.7.2.20", GW: "10.7.2.1"},
	})
	c, s := net.Pods["c"], net.Pods["s"]
	net.ClusterIP(t, "tcp", clusterIP+":80", s.IP+":8080")
	net.ClusterIP(t, "udp", clusterIP+":53", s.IP+":5353")
	s.ServeIn(t, "NETCOST_CT_HELPER", "serve", "tcp", s.IP+":8080")
	s.ServeIn(t, "NETCOST_CT_HELPER", "serve", "udp", s.IP+":5353")
	send := func(proto, to string) {
		t.Helper()
		cmd, _ := c.Start(t, "NETCOST_CT_HELPER", "send", proto, to, "3000")
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s to %s: %v", proto, to, err)
		}
	}
	send("tcp", clusterIP+":80") // before Open: in the dump (TIME_WAIT)

	var mu sync.Mutex
	var kept []netip.Prefix
	tb, err := Open(Config{NetNS: "/var/run/netns/" + net.Router, KeepPorts: func(p netip.Prefix) error {
		mu.Lock()
		defer mu.Unlock()
		kept = append(kept, p)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tb.Run() }()
	before := keys(tb)
	if len(before) != 1 {
		t.Errorf("the dump found %d translated connections; want 1", len(before))
	}
	send("tcp", clusterIP+":80") // after: an event
	send("udp", clusterIP+":53")

	want := map[string]string{"tcp": s.IP + ":8080", "udp": s.IP + ":5353"}
	found := map[string]int{}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		tb.mu.Lock()
		clear(found)
		for k, e := range tb.conns {
			proto := map[uint8]string{6: "tcp", 17: "udp"}[k.proto]
			src, dst := netip.AddrFrom16(k.src).Unmap(), netip.AddrFrom16(k.dst).Unmap()
			if src.String() == c.IP && dst.String() == clusterIP && e.addrPort().String() == want[proto] {
				found[proto]++
			}
		}
		tb.mu.Unlock()
		if found["tcp"] == 2 && found["udp"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("translated connections found: %v; want 2 TCP, 1 UDP", found)
		}
	}
	mu.Lock()
	if len(kept) != 1 || kept[0] != netip.MustParsePrefix(clusterIP+"/32") {
		t.Errorf("KeepPorts got %v; want %s/32 once", kept, clusterIP)
	}
	mu.Unlock()

	// The flows the counter records for these connections go to the backend.
	var d bpf.Deltas
	tb.mu.Lock()
	for k := range tb.conns {
		d.Flows = append(d.Flows, bpf.Flow{Local: netip.AddrPortFrom(netip.AddrFrom16(k.src).Unmap(), k.sport),
			Remote: netip.AddrPortFrom(netip.AddrFrom16(k.dst).Unmap(), k.dport), Proto: k.proto, Dir: bpf.Egress, Bytes: 1})
	}
	tb.mu.Unlock()
	drain(tb, &d, 32768)
	for _, f := range d.Flows {
		if f.Remote.Addr().String() != s.IP || f.Local.Port() != 0 {
			t.Errorf("flow %v -> %v; want the server's address, the client's port dropped", f.Local, f.Remote)
		}
	}

	// The end of a connection (here: the table flushed, as `conntrack -F`
	// does) comes as an event; the connection is forgotten once the drain
	// after it is done. Whether the end of the connection made before Open
	// comes too is the kernel's choice: with nf_conntrack_events=2 (the
	// default) it sets events up for a connection when it starts, and only
	// if someone listens then, which another program on the node (or
	// another test) may do. Either way the table must agree with the
	// events: a connection is forgotten if and only if its end was told.
	after := keys(tb)
	flush(t, net.Router)
	// Events come in order: once the connection made after the flush is
	// known, every destroy event of the flush has been handled.
	send("udp", clusterIP+":53")
	for deadline := time.Now().Add(5 * time.Second); !slices.ContainsFunc(keys(tb), func(k key) bool { return !slices.Contains(after, k) }); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the connection made after the flush was not seen; remembered: %v", keys(tb))
		}
	}
	ended := map[key]bool{}
	for _, g := range gone(tb) {
		ended[g.k] = true
	}
	for _, k := range after {
		if !slices.Contains(before, k) && !ended[k] {
			t.Errorf("no destroy event handled for %v, made after Open", k)
		}
	}
	drain(tb, &bpf.Deltas{}, 32768)
	if n := tb.Stats().Conns; n != len(after)+1 {
		t.Errorf("%d connections remembered one drain after the flush; want all %d still (their last bytes may be in the next drain)", n, len(after)+1)
	}
	drain(tb, &bpf.Deltas{}, 32768)
	now := keys(tb)
	for _, k := range after {
		if slices.Contains(now, k) == ended[k] {
			t.Errorf("connection %v: remembered %v two drains after the flush, with its end told %v; want remembered only if not told", k, slices.Contains(now, k), ended[k])
		}
	}
	if len(now) != len(after)+1-len(ended) {
		t.Errorf("%d connections remembered two drains after the flush; want %d: the new one and those whose end was not told", len(now), len(after)+1-len(ended))
	}

	if err := tb.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Run did not return after Close")
	}
}

// keys returns the original tuples of the connections the table remembers.
func keys(tb *Table) []key {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Collect(maps.Keys(tb.conns))
}

func gone(tb *Table) []goneConn {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.gone)
}

// flush empties the conntrack table of namespace ns over ctnetlink (a
// delete without a tuple), which sends a destroy event for each entry.
func flush(t *testing.T, ns string) {
	t.Helper()
	f, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Execute(netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(subsysCTNetlink<<8 | msgDelete),
		Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{unix.AF_INET, 0, 0, 0}}); err != nil {
		t.Fatalf("flushing the conntrack table: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{NetNS: "/nonexistent/netns"}); err == nil || !strings.Contains(err.Error(), "network namespace") {
		t.Errorf("Open with a missing namespace: %v", err)
	}
}
