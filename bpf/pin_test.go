//go:build linux

package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/netnstest"
)

// bpffs mounts a bpf filesystem of the test's own (each mount is a new,
// empty one) and returns a pin directory in it.
func bpffs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		t.Fatalf("mounting a bpf filesystem: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return filepath.Join(dir, "netcost")
}

// pinSetup builds the test network and a cgroup that the programs attach
// to (so that the test can see what is attached there), and returns the
// config of a counter pinned in a bpf filesystem of the test's own.
func pinSetup(t *testing.T) (Config, *testNet, string) {
	t.Helper()
	netnstest.RequireRoot(t, "this test loads eBPF programs and mounts a bpf filesystem")
	root, err := FindCgroup2()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "netcost-pin-"+netnstest.Suffix())
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(base) })
	cfg := Config{MaxFlows: 1024, CgroupRoot: base, PinPath: bpffs(t)}
	t.Cleanup(func() { Uninstall(cfg.PinPath) })
	return cfg, newTestNet(t), base
}

// exchange runs a TCP exchange between two new cgroups under base and
// returns their ids and the bytes both veths carried.
func exchange(t *testing.T, n *testNet, base, name string, port string) (ids [2]uint64, wire uint64) {
	t.Helper()
	srvCg, srvID := netnstest.NewCgroup(t, base, name+"-server")
	cliCg, cliID := netnstest.NewCgroup(t, base, name+"-client")
	before := [2]netnstest.Stats{netnstest.LinkStats(t, n.nsA, n.ifA), netnstest.LinkStats(t, n.nsB, n.ifB)}
	tcpExchange(t, n, srvCg, cliCg, addrB4+":"+port, "300000", addrB4+":"+port, "700000")
	time.Sleep(50 * time.Millisecond) // the last ACKs
	a := netnstest.LinkStats(t, n.nsA, n.ifA).Sub(before[0])
	b := netnstest.LinkStats(t, n.nsB, n.ifB).Sub(before[1])
	return [2]uint64{srvID, cliID}, a.RxBytes + a.TxBytes + b.RxBytes + b.TxBytes
}

// bytesOf adds up what d holds for the cgroups ids, both ways.
func bytesOf(d *Deltas, ids ...uint64) uint64 {
	var n uint64
	for _, id := range ids {
		for _, dir := range []Direction{Egress, Ingress} {
			b, _ := sum(d.Flows, id, dir, nil)
			n += b
		}
		for _, o := range d.Overflow {
			if o.CgroupID == id {
				n += o.Bytes
			}
		}
	}
	return n
}

func mustOpen(t *testing.T, cfg Config) *Counter {
	t.Helper()
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// attached is how many programs are attached to the cgroup at path.
func attached(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for _, a := range []ebpf.AttachType{ebpf.AttachCGroupInetEgress, ebpf.AttachCGroupInetIngress,
		ebpf.AttachCGroupSockOps} {
		r, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: a})
		if err != nil {
			t.Fatal(err)
		}
		n += len(r.Programs)
	}
	return n
}

// TestPinnedCountingOutlivesTheProcess: what the programs count while no
// process holds the counter (after a Close, as after a crash) is in the
// next Open's first Swap; a generation switched away from and not released
// (a crash before its window was written) is handed to Recover's write
// unless the committed Mark covers it; and Uninstall leaves nothing.
func TestPinnedCountingOutlivesTheProcess(t *testing.T) {
	cfg, n, base := pinSetup(t)
	c1 := mustOpen(t, cfg)
	if p := c1.Pinned(); p.Adopted || p.Dir != cfg.PinPath || !strings.HasPrefix(p.Layout, "layout-") {
		t.Fatalf("first Open: %+v; want a new layout in %s", p, cfg.PinPath)
	}
	ids1, wire1 := exchange(t, n, base, "before", "5101") // counted while c1 runs
	c1.Close()
	ids2, wire2 := exchange(t, n, base, "between", "5102") // while nothing runs

	c2 := mustOpen(t, cfg)
	if !c2.Pinned().Adopted {
		t.Fatalf("second Open: %+v; want the pinned maps adopted", c2.Pinned())
	}
	if err := recoverAll(c2, Mark{}, func(d *Deltas, m Mark) error {
		t.Errorf("Recover wrote %+v under %+v; nothing was switched away from", d, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var d Deltas
	m, err := swapInto(c2, &d)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytesOf(&d, ids1[:]...); got != wire1 {
		t.Errorf("counted while the first counter ran: %d bytes; the veths carried %d", got, wire1)
	}
	if got := bytesOf(&d, ids2[:]...); got != wire2 {
		t.Errorf("counted while no counter ran: %d bytes; the veths carried %d", got, wire2)
	}
	// A crash after the switch, before the window is written: the counts
	// stay in the kernel for the next process.
	c2.Close()

	c3 := mustOpen(t, cfg)
	var wrote []Mark
	var again uint64
	if err := recoverAll(c3, Mark{Layout: m.Layout, Epoch: m.Epoch - 1}, func(d *Deltas, m Mark) error {
		wrote = append(wrote, m)
		again += bytesOf(d, ids1[0], ids1[1], ids2[0], ids2[1])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(wrote) != 1 || wrote[0] != m || again != wire1+wire2 {
		t.Errorf("Recover wrote %d bytes under %v; want %d under %v", again, wrote, wire1+wire2, m)
	}
	// Released: a later process finds nothing more, even with no Mark.
	c3.Close()
	c4 := mustOpen(t, cfg)
	if err := recoverAll(c4, Mark{}, func(d *Deltas, m Mark) error {
		if b := bytesOf(d, ids1[0], ids1[1], ids2[0], ids2[1]); b != 0 {
			t.Errorf("Recover after a release wrote %d bytes of the test's again under %+v", b, m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Written before the crash: a Mark that covers the switch forgets it.
	ids3, _ := exchange(t, n, base, "written", "5103")
	m, err = swapInto(c4, &d)
	if err != nil {
		t.Fatal(err)
	}
	c4.Close()
	c5 := mustOpen(t, cfg)
	if err := recoverAll(c5, m, func(d *Deltas, _ Mark) error {
		if b := bytesOf(d, ids3[:]...); b != 0 {
			t.Errorf("Recover wrote %d bytes a window already holds", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "another netcost-agent holds it") {
		t.Errorf("a second Open while one holds the pins: %v; want refused", err)
	}
	c5.Close()

	if got := attached(t, base); got != 2 {
		t.Errorf("after Close, %d programs attached at the cgroup; want the 2 pinned ones", got)
	}
	if err := Uninstall(cfg.PinPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.PinPath); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(filepath.Dir(cfg.PinPath))
		t.Errorf("after Uninstall: %v, %v; want nothing left", err, ents)
	}
	if got := attached(t, base); got != 0 {
		t.Errorf("after Uninstall, %d programs attached at the cgroup; want none", got)
	}
}

// TestPinnedLayoutChange: an Open whose maps differ from the pinned ones
// (here, other sizes) moves the links to its programs, and Recover hands
// the old maps' counts to write, all of them, before it removes them.
func TestPinnedLayoutChange(t *testing.T) {
	cfg, n, base := pinSetup(t)
	cfg.TCPHealth = true
	c1 := mustOpen(t, cfg)
	ids1, wire1 := exchange(t, n, base, "old", "5111")
	var d Deltas
	if _, err := swapInto(c1, &d); err != nil { // one generation switched away from, one in use
		t.Fatal(err)
	}
	if b := bytesOf(&d, ids1[:]...); b != wire1 {
		t.Errorf("the first switch read %d bytes; the veths carried %d", b, wire1)
	}
	ids2, wire2 := exchange(t, n, base, "old2", "5112")
	old := c1.Pinned().Layout
	c1.Close()

	cfg.MaxFlows, cfg.TCPHealth = 2048, false
	c2 := mustOpen(t, cfg)
	p := c2.Pinned()
	if p.Adopted || p.Layout == old || len(p.Replaced) != 1 || p.Replaced[0] != old {
		t.Fatalf("Open with other map sizes: %+v; want a new layout replacing %s", p, old)
	}
	ids3, wire3 := exchange(t, n, base, "new", "5113") // the links lead to the new maps
	var got uint64
	var marks []Mark
	// The window of the first switch was written before c1 stopped: its
	// counts are not written again, those after it are.
	if err := recoverAll(c2, Mark{Layout: old, Epoch: 1}, func(d *Deltas, m Mark) error {
		marks = append(marks, m)
		got += bytesOf(d, ids2[:]...)
		if b := bytesOf(d, ids1[:]...); b != 0 {
			t.Errorf("Recover wrote again %d bytes that the window of {%s 1} holds", b, old)
		}
		if b := bytesOf(d, ids3[:]...); b != 0 {
			t.Errorf("the old maps hold %d bytes sent after the new layout took over", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(marks) != 1 || marks[0].Layout != old || marks[0].Epoch != 2 || got != wire2 {
		t.Errorf("Recover wrote %d bytes under %v; want %d under {%s 2}", got, marks, wire2, old)
	}
	if _, err := os.Stat(filepath.Join(cfg.PinPath, old)); !os.IsNotExist(err) {
		t.Errorf("the old layout's directory: %v; want it removed", err)
	}
	if _, err := swapInto(c2, &d); err != nil {
		t.Fatal(err)
	}
	if b := bytesOf(&d, ids3[:]...); b != wire3 {
		t.Errorf("the new maps hold %d bytes; the veths carried %d", b, wire3)
	}
	if got := attached(t, base); got != 2 {
		t.Errorf("%d programs attached; want 2 (TCP health is off now)", got)
	}
}

// TestPinPathNotBPFFS: a pin directory elsewhere than on a bpf filesystem
// is refused, saying how to mount one.
func TestPinPathNotBPFFS(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	_, err := Open(Config{PinPath: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not on a bpf filesystem") {
		t.Errorf("Open with a pin directory on tmpfs: %v; want ErrNotBPFFS", err)
	}
}

// TestUninstallRefusesForeignPins: a pin directory that holds what netcost
// does not make, as the bpf filesystem's root holds other tools' pins, is
// refused with ErrNotOurs and left as it was, netcost's own pins included;
// without the foreign entry, Uninstall removes everything.
func TestUninstallRefusesForeignPins(t *testing.T) {
	cfg, _, base := pinSetup(t)
	mustOpen(t, cfg).Close()
	layouts, err := filepath.Glob(filepath.Join(cfg.PinPath, "layout-*", flowMapFlows0))
	if err != nil || len(layouts) != 1 {
		t.Fatalf("pinned layouts: %v, %v; want one", layouts, err)
	}
	pinMap := func(t *testing.T, path string) {
		t.Helper()
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Put(uint32(0), uint32(42)); err != nil {
			t.Fatal(err)
		}
		if err := m.Pin(path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		make   func(t *testing.T, path string)
		isMap  bool
		inLink bool
	}{
		{"tc", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"cilium_ipcache", pinMap, true, false},
		{"layout-file", pinMap, true, false}, // a layout is a directory
		{"other_prog", pinMap, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, shown := filepath.Join(cfg.PinPath, tt.name), tt.name
			if tt.inLink {
				path, shown = filepath.Join(cfg.PinPath, "links", tt.name), "links/"+tt.name
			}
			tt.make(t, path)
			err := Uninstall(cfg.PinPath)
			if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), `"`+shown+`"`) ||
				!strings.Contains(err.Error(), "give -bpffs the agent's own directory") {
				t.Errorf("Uninstall with %s in it: %v; want ErrNotOurs naming %q", cfg.PinPath, err, shown)
			}
			if tt.isMap {
				m, err := ebpf.LoadPinnedMap(path, nil)
				if err != nil {
					t.Fatalf("the foreign map after Uninstall: %v", err)
				}
				var v uint32
				if err := m.Lookup(uint32(0), &v); err != nil || v != 42 {
					t.Errorf("the foreign map holds %d, %v; want 42", v, err)
				}
				m.Close()
			} else if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
				t.Errorf("the foreign directory after Uninstall: %v; want it kept", err)
			}
			if _, err := os.Stat(layouts[0]); err != nil {
				t.Errorf("netcost's pinned map after a refused Uninstall: %v; want it kept", err)
			}
			if got := attached(t, base); got != 2 {
				t.Errorf("after a refused Uninstall, %d programs attached at the cgroup; want the 2 pinned ones", got)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := Uninstall(cfg.PinPath); err != nil {
		t.Fatalf("Uninstall without the foreign entries: %v", err)
	}
	if _, err := os.Stat(cfg.PinPath); !os.IsNotExist(err) {
		t.Errorf("after Uninstall: %v; want nothing left", err)
	}
	if got := attached(t, base); got != 0 {
		t.Errorf("after Uninstall, %d programs attached at the cgroup; want none", got)
	}
}

// swapInto is Swap into d, whose counts it replaces, without Release.
func swapInto(c *Counter, d *Deltas) (Mark, error) {
	resetDeltas(d)
	return c.Swap(func(b *Deltas) { d.append(b) })
}

// recoverAll is Recover with write given each window's counts whole.
func recoverAll(c *Counter, committed Mark, write func(d *Deltas, m Mark) error) error {
	var d Deltas
	resetDeltas(&d)
	return c.Recover(committed, func(b *Deltas) { d.append(b) }, func(m Mark) error {
		err := write(&d, m)
		resetDeltas(&d)
		return err
	})
}
