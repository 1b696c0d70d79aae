//go:build linux

package bpf

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/netnstest"
)

// skbContext returns a __sk_buff for BPF_PROG_RUN with gso_segs set, laid
// out from the running kernel's BTF.
func skbContext(t *testing.T, gsoSegs uint32) []byte {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatalf("loading kernel BTF: %v", err)
	}
	var st *btf.Struct
	if err := spec.TypeByName("__sk_buff", &st); err != nil {
		t.Fatalf("finding __sk_buff: %v", err)
	}
	ctx := make([]byte, st.Size)
	set := map[string]uint32{"gso_segs": gsoSegs, "ifindex": uint32(notLoopback(t))}
	for _, m := range st.Members {
		if v, ok := set[m.Name]; ok {
			binary.LittleEndian.PutUint32(ctx[m.Offset.Bytes():], v)
			delete(set, m.Name)
		}
	}
	if len(set) != 0 {
		t.Fatalf("__sk_buff lacks %v", set)
	}
	return ctx
}

// notLoopback returns the index of a device other than loopback: on
// loopback the programs count a GSO packet as the one packet it stays.
func notLoopback(t *testing.T) int {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return i.Index
		}
	}
	t.Fatal("no network device but loopback to run GSO packets on")
	return 0
}

// packet builds an Ethernet frame around an IP packet; BPF_PROG_RUN strips
// the Ethernet header before a cgroup_skb program sees the packet.
func packet(ethType uint16, ip []byte) []byte {
	f := make([]byte, 14, 14+len(ip))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], ethType)
	return append(f, ip...)
}

func ipv4(proto byte, src, dst string, fragOff uint16, l4 []byte) []byte {
	h := make([]byte, 20, 20+len(l4))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(h[6:], fragOff)
	h[8], h[9] = 64, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, l4...)
}

// ipv6 builds an IPv6 packet; ext is a chain of (next header, bytes) pairs
// placed before the transport header.
func ipv6(proto byte, src, dst string, payloadLen int, ext []byte, firstNext byte, l4 []byte) []byte {
	h := make([]byte, 40, 40+len(ext)+len(l4))
	h[0] = 0x60
	if payloadLen < 0 {
		payloadLen = len(ext) + len(l4)
	}
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6], h[7] = proto, 64
	if len(ext) > 0 {
		h[6] = firstNext
	}
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(append(h, ext...), l4...)
}

func tcp(sport, dport uint16, optWords int, payload int) []byte {
	b := make([]byte, 20+4*optWords+payload)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	b[12] = byte(5+optWords) << 4
	return b
}

func udp(sport, dport uint16, payload int) []byte {
	b := make([]byte, 8+payload)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+payload))
	return b
}

// ext6 builds an 8-byte extension header: next header, length 0, options.
func ext6(next byte, rest ...byte) []byte {
	e := make([]byte, 8)
	e[0] = next
	copy(e[2:], rest)
	return e
}

// TestProgRun feeds crafted and malformed packets to the programs: every
// packet passes, and every byte is counted once, under the right flow when
// the packet names one and under an address-less flow when it does not.
func TestProgRun(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	cfg, _ := Config{MaxFlows: 1024, MaxCgroups: 16, CgroupRoot: "unused"}.withDefaults()
	c, err := load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const ethIPv4, ethIPv6, ethARP = 0x0800, 0x86dd, 0x0806
	frag6 := func(next byte, offset uint16) []byte {
		e := make([]byte, 8)
		e[0] = next
		binary.BigEndian.PutUint16(e[2:], offset<<3)
		return e
	}
	ah := make([]byte, 16) // AH with payload length 2: (2+2)*4 = 16 bytes
	ah[0], ah[1] = 6, 2
	jumbo := ext6(6, 0xC2, 4, 0, 0, 0, 0) // hop-by-hop with the jumbo option

	tests := []struct {
		name      string
		frame     []byte
		gsoSegs   uint32
		wantBytes uint64
		wantPkts  uint64
		local     string // "" for an address-less flow
		remote    string
		proto     uint8
	}{
		{"ipv4 tcp", packet(ethIPv4, ipv4(6, "10.0.0.1", "10.0.0.2", 0, tcp(40000, 80, 3, 100))), 0, 20 + 32 + 100, 1, "10.0.0.1:0", "10.0.0.2:80", 6},
		// An ephemeral port facing a service port is keyed as 0; two high
		// or two low ports are kept.
		{"ipv4 udp high ports", packet(ethIPv4, ipv4(17, "10.0.0.1", "10.0.0.2", 0, udp(40000, 50000, 10))), 0, 20 + 8 + 10, 1, "10.0.0.1:40000", "10.0.0.2:50000", 17},
		{"ipv4 udp", packet(ethIPv4, ipv4(17, "10.0.0.1", "10.0.0.2", 0, udp(5353, 53, 30))), 0, 20 + 8 + 30, 1, "10.0.0.1:5353", "10.0.0.2:53", 17},
		// BPF_PROG_RUN takes at most about 3.5 KiB of data: small segments.
		{"ipv4 tcp gso x4", packet(ethIPv4, ipv4(6, "10.0.0.1", "10.0.0.2", 0, tcp(40001, 80, 3, 4*700))), 4, 4 * (20 + 32 + 700), 4, "10.0.0.1:0", "10.0.0.2:80", 6},
		{"ipv4 icmp", packet(ethIPv4, ipv4(1, "10.0.0.1", "10.0.0.2", 0, make([]byte, 64))), 0, 20 + 64, 1, "10.0.0.1:0", "10.0.0.2:0", 1},
		{"ipv4 later fragment", packet(ethIPv4, ipv4(17, "10.0.0.1", "10.0.0.3", 185, make([]byte, 500))), 0, 20 + 500, 1, "10.0.0.1:0", "10.0.0.3:0", 17},
		{"ipv4 truncated tcp", packet(ethIPv4, ipv4(6, "10.0.0.1", "10.0.0.4", 0, make([]byte, 10))), 0, 30, 1, "10.0.0.1:0", "10.0.0.4:0", 6},
		// The kernel hands BPF_PROG_RUN (and the hooks) no IP packet shorter
		// than its fixed header; a header length past the end is the nearest.
		{"ipv4 options past the end", packet(ethIPv4, append([]byte{0x4f}, ipv4(6, "10.0.0.1", "10.0.0.4", 0, nil)[1:]...)), 0, 20, 1, "10.0.0.1:0", "10.0.0.4:0", 6},
		{"ipv4 bad ihl", packet(ethIPv4, append([]byte{0x43}, make([]byte, 39)...)), 0, 40, 1, "", "", 0},
		{"not ip", packet(ethARP, make([]byte, 28)), 0, 28, 1, "", "", 0},
		{"ipv6 tcp", packet(ethIPv6, ipv6(6, "fd00::1", "fd00::2", -1, nil, 0, tcp(40000, 443, 0, 10))), 0, 40 + 20 + 10, 1, "[fd00::1]:0", "[fd00::2]:443", 6},
		{"ipv6 ext chain", packet(ethIPv6, ipv6(0, "fd00::1", "fd00::2", -1,
			append(append(ext6(43), ext6(60)...), ext6(17)...), 0, udp(1000, 2000, 5))), 0, 40 + 24 + 8 + 5, 1, "[fd00::1]:1000", "[fd00::2]:2000", 17},
		{"ipv6 ah", packet(ethIPv6, ipv6(51, "fd00::1", "fd00::2", -1, ah, 51, tcp(1, 2, 0, 0))), 0, 40 + 16 + 20, 1, "[fd00::1]:1", "[fd00::2]:2", 6},
		{"ipv6 first fragment", packet(ethIPv6, ipv6(44, "fd00::1", "fd00::5", -1, frag6(17, 0), 44, udp(7, 9, 100))), 0, 40 + 8 + 108, 1, "[fd00::1]:7", "[fd00::5]:9", 17},
		{"ipv6 later fragment", packet(ethIPv6, ipv6(44, "fd00::1", "fd00::6", -1, frag6(17, 100), 44, make([]byte, 100))), 0, 40 + 8 + 100, 1, "[fd00::1]:0", "[fd00::6]:0", 17},
		{"ipv6 gso x3 with dstopts", packet(ethIPv6, ipv6(60, "fd00::1", "fd00::2", -1, ext6(6), 60, tcp(50000, 80, 3, 3*900))), 3, 3 * (40 + 8 + 32 + 900), 3, "[fd00::1]:0", "[fd00::2]:80", 6},
		{"ipv6 big tcp jumbo", packet(ethIPv6, ipv6(0, "fd00::1", "fd00::7", 0, jumbo, 0, tcp(50001, 80, 3, 3*900))), 3, 3 * (40 + 32 + 900), 3, "[fd00::1]:0", "[fd00::7]:80", 6},
		{"ipv6 truncated ext", packet(ethIPv6, ipv6(0, "fd00::1", "fd00::8", 8, nil, 0, []byte{6, 0, 0})), 0, 43, 1, "[fd00::1]:0", "[fd00::8]:0", 0},
		{"ipv6 bad version", packet(ethIPv6, append([]byte{0x40}, make([]byte, 59)...)), 0, 60, 1, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &ebpf.RunOptions{Data: tt.frame}
			if tt.gsoSegs > 0 {
				opts.Context = skbContext(t, tt.gsoSegs)
			}
			for _, prog := range []*ebpf.Program{c.objs.CountEgress, c.objs.CountIngress} {
				ret, err := prog.Run(opts)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if ret != 1 {
					t.Errorf("Run returned %d; want 1: the counter never drops a packet", ret)
				}
			}
			d, err := c.Drain()
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Overflow) != 0 || len(d.Lost) != 0 {
				t.Errorf("overflow %+v lost %+v; want none", d.Overflow, d.Lost)
			}
			if len(d.Flows) != 2 {
				t.Fatalf("got %d flows: %+v; want one egress and one ingress", len(d.Flows), d.Flows)
			}
			for _, f := range d.Flows {
				if f.Bytes != tt.wantBytes || f.Packets != tt.wantPkts || f.Proto != tt.proto {
					t.Errorf("%s: %d bytes %d packets proto %d; want %d, %d, %d", f.Dir, f.Bytes, f.Packets, f.Proto, tt.wantBytes, tt.wantPkts, tt.proto)
				}
				local, remote := f.Local.String(), f.Remote.String()
				if f.Dir == Ingress { // the packet went src -> dst; for ingress the local end is dst
					local, remote = remote, local
				}
				if tt.local == "" {
					if f.Local.Addr().IsValid() && !f.Local.Addr().IsUnspecified() {
						t.Errorf("%s: local %v; want no address for an unparsable packet", f.Dir, f.Local)
					}
					continue
				}
				if local != tt.local || remote != tt.remote {
					t.Errorf("%s: %s -> %s; want %s -> %s", f.Dir, local, remote, tt.local, tt.remote)
				}
			}
		})
	}
}

func TestKeepEphemeralPorts(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	cfg, _ := Config{MaxFlows: 16, MaxCgroups: 4, CgroupRoot: "unused", KeepEphemeralPorts: true}.withDefaults()
	c, err := load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: packet(0x0800, ipv4(6, "10.0.0.1", "10.0.0.2", 0, tcp(40000, 80, 0, 1)))}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Flows) != 1 || d.Flows[0].Local.Port() != 40000 || d.Flows[0].Remote.Port() != 80 {
		t.Errorf("flows %+v; want 10.0.0.1:40000 -> 10.0.0.2:80 with both ports kept", d.Flows)
	}
}

// TestKeepPorts: flows to a destination in KeepPorts' prefixes (the
// Service CIDR, a learned ClusterIP) keep their ephemeral port; others lose it.
func TestKeepPorts(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	cfg, _ := Config{MaxFlows: 64, MaxCgroups: 4, CgroupRoot: "unused"}.withDefaults()
	c, err := load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.EphemeralMin() == 0 || c.EphemeralMin() > 40000 {
		t.Fatalf("EphemeralMin %d: this test sends from port 40000, which must be ephemeral", c.EphemeralMin())
	}
	for _, p := range []string{"10.100.0.0/16", "172.20.5.5/32", "fd00:10:96::/108"} {
		if err := c.KeepPorts(netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.KeepPorts(netip.Prefix{}); err == nil {
		t.Error("KeepPorts took an invalid prefix")
	}
	want := map[string]uint16{ // remote -> local port recorded
		"10.100.3.4": 40000, "172.20.5.5": 40000, "172.20.5.6": 0, "10.101.0.1": 0,
		"fd00:10:96::a": 40000, "fd00:10:97::a": 0,
	}
	for remote := range want {
		var pkt []byte
		if netip.MustParseAddr(remote).Is6() {
			pkt = packet(0x86dd, ipv6(6, "fd00::1", remote, -1, nil, 0, tcp(40000, 80, 0, 1)))
		} else {
			pkt = packet(0x0800, ipv4(6, "10.0.0.1", remote, 0, tcp(40000, 80, 0, 1)))
		}
		if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: pkt}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Flows) != len(want) {
		t.Fatalf("%d flows; want %d: %+v", len(d.Flows), len(want), d.Flows)
	}
	for _, f := range d.Flows {
		if w := want[f.Remote.Addr().String()]; f.Local.Port() != w || f.Remote.Port() != 80 {
			t.Errorf("flow %v -> %v; want local port %d, remote port 80", f.Local, f.Remote, w)
		}
	}
}

// bpfFiles counts this process's open eBPF objects by kind ("bpf-prog",
// "bpf-map", "bpf_link"): what an Open holds and a Close must let go of.
// Counting the kernel's programs instead would count those that other
// tests, running meanwhile, load.
func bpfFiles(t *testing.T) map[string]int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, de := range des {
		l, err := os.Readlink("/proc/self/fd/" + de.Name())
		if kind, ok := strings.CutPrefix(l, "anon_inode:"); err == nil && ok && strings.HasPrefix(kind, "bpf") {
			n[kind]++
		}
	}
	return n
}

// TestOpenCleansUp: an Open that fails half-way (the programs load, the
// attach fails) leaves nothing loaded.
func TestOpenCleansUp(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	before := bpfFiles(t)
	c, err := Open(Config{CgroupRoot: t.TempDir(), TCPHealth: true}) // not a cgroup directory
	if err == nil {
		c.Close()
		t.Fatal("Open at a plain directory succeeded; want an attach error")
	}
	if after := bpfFiles(t); !maps.Equal(after, before) {
		t.Errorf("eBPF objects held after a failed Open: %v; want %v as before", after, before)
	}
	c, err = Open(Config{TCPHealth: true})
	if err != nil {
		t.Fatal(err)
	}
	if open := bpfFiles(t); open["bpf-prog"] != before["bpf-prog"]+3 || open["bpf_link"] != before["bpf_link"]+3 {
		t.Errorf("after Open: %v; want 3 programs and 3 links more than %v", open, before)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if after := bpfFiles(t); !maps.Equal(after, before) {
		t.Errorf("after Close: %v; want %v as before", after, before)
	}
}

// TestConcurrentAdds runs the egress program on every CPU at once, a
// million times each, on packets of one flow: the flow map is shared by
// the CPUs (not per-CPU), and no add may be lost. The overflow map is
// shared too: a second run with a 1-entry flow map sends everything there.
func TestConcurrentAdds(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	online := runtime.NumCPU() // with one, the test still counts, without a race
	const repeat = 1_000_000
	frame := packet(0x0800, ipv4(17, "10.0.0.1", "10.0.0.2", 0, udp(40000, 53, 10)))
	const size = 20 + 8 + 10
	for _, maxFlows := range []uint32{1024, 1} {
		cfg, _ := Config{MaxFlows: maxFlows, MaxCgroups: 16, CgroupRoot: "unused"}.withDefaults()
		c, err := load(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if maxFlows == 1 { // fill the only entry with another flow
			if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: packet(0x0800, ipv4(17, "10.0.0.9", "10.0.0.2", 0, udp(40000, 53, 10)))}); err != nil {
				t.Fatal(err)
			}
		}
		var g errgroup.Group
		for cpu := range online {
			g.Go(func() error {
				// Locked and never unlocked: the thread, pinned below, ends
				// with the goroutine instead of running other tests' code.
				runtime.LockOSThread()
				var set unix.CPUSet
				set.Set(cpu)
				if err := unix.SchedSetaffinity(0, &set); err != nil {
					return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
				}
				_, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: frame, Repeat: repeat})
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		d, err := c.Drain()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		var bytes, packets uint64
		for _, f := range d.Flows {
			if f.Local.Addr().String() == "10.0.0.1" {
				bytes, packets = bytes+f.Bytes, packets+f.Packets
			}
		}
		for _, o := range d.Overflow {
			bytes, packets = bytes+o.Bytes, packets+o.Packets
		}
		if want := uint64(online * repeat); packets != want || bytes != want*size {
			t.Errorf("max flows %d: %d packets, %d bytes counted from %d CPUs at once (of %d possible); want %d, %d",
				maxFlows, packets, bytes, online, ncpu, want, want*size)
		}
		if maxFlows == 1 && len(d.Overflow) == 0 {
			t.Errorf("max flows 1: nothing went through the overflow map")
		}
	}
}

// TestSwapInBatches: Swap hands a generation of 10,000 flows on in batches
// of at most 4,096, never an empty one, the overflow in the last, every
// byte once; the counts stay in the kernel until Release empties the
// generation whole.
func TestSwapInBatches(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	const maxFlows, sent = 9000, 10_000
	cfg, _ := Config{MaxFlows: maxFlows, MaxCgroups: 4, CgroupRoot: "unused"}.withDefaults()
	c, err := load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 20 + 8 + 10
	for i := range sent {
		dst := fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)
		if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: packet(0x0800, ipv4(17, "10.0.0.1", dst, 0, udp(40000, 53, 10)))}); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	var flows, bytes uint64
	overflowAt := -1
	m, err := c.Swap(func(b *Deltas) {
		if len(b.Flows) == 0 && len(b.Overflow) == 0 && len(b.Lost) == 0 {
			t.Error("Swap handed on an empty batch")
		}
		if len(b.Overflow) > 0 {
			overflowAt = len(sizes)
		}
		sizes = append(sizes, len(b.Flows))
		for _, f := range b.Flows {
			flows, bytes = flows+1, bytes+f.Bytes
		}
		for _, o := range b.Overflow {
			bytes += o.Bytes
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 1 {
		t.Errorf("the first switch's Mark: %+v; want epoch 1", m)
	}
	for _, n := range sizes {
		if n > batch {
			t.Errorf("a batch of %d flows; want at most %d", n, batch)
		}
	}
	if flows != maxFlows || bytes != sent*size || overflowAt != len(sizes)-1 {
		t.Errorf("batches %v (overflow in %d): %d flows, %d bytes; want %d flows, %d bytes, the overflow last",
			sizes, overflowAt, flows, bytes, maxFlows, sent*size)
	}
	old, oldOvf, _ := c.genMaps(1 - c.gen)
	if n := count(t, old) + count(t, oldOvf); n != maxFlows+1 {
		t.Errorf("before Release the generation left holds %d entries; want %d, until they are written", n, maxFlows+1)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, old) + count(t, oldOvf); n != 0 {
		t.Errorf("after Release the generation left holds %d entries; want none", n)
	}
	if _, err := c.Swap(func(b *Deltas) { t.Errorf("the second switch handed on %+v; nothing was sent", b) }); err != nil {
		t.Fatal(err)
	}
}

// count is how many keys m holds.
func count(t *testing.T, m *ebpf.Map) int {
	t.Helper()
	n := 0
	var k, v []byte
	it := m.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
