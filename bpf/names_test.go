//go:build linux

package bpf

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/netnstest"
)

// loadNames loads the programs, not attached, with name capture as asked.
func loadNames(t *testing.T, names bool, ring int) *Counter {
	t.Helper()
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	cfg := Config{MaxFlows: 1024, MaxCgroups: 16, CgroupRoot: "unused", Names: names, NamesRingBytes: ring}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c, err := load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pendingNames returns the events in the ring now, copied.
func pendingNames(t *testing.T, r *nameRing) []NameEvent {
	t.Helper()
	var out []NameEvent
	_, err := r.read(func(b []byte) {
		var ev NameEvent
		if !decodeName(b, &ev) {
			t.Fatalf("undecodable record of %d bytes", len(b))
		}
		ev.Payload = slices.Clone(ev.Payload)
		out = append(out, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dnsMessage is a DNS message of n bytes: a header with id 0x1234, then
// filler. The programs do not parse DNS; user space does.
func dnsMessage(n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b, 0x1234)
	for i := 12; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// withTCPLength prefixes a DNS message with its 2-byte length, as DNS over TCP does.
func withTCPLength(m []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...)
}

// clientHello is the first flight of a real crypto/tls client for server
// name sni: a ClientHello with Go's default post-quantum key share.
func clientHello(t *testing.T, sni string) []byte {
	t.Helper()
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() {
		c := tls.Client(cli, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		c.Handshake() // fails when srv closes; only its first write matters
		cli.Close()
	}()
	buf := make([]byte, 8192)
	n, err := srv.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf[0] != 0x16 || buf[5] != 0x01 {
		t.Fatalf("crypto/tls wrote % x..., not a ClientHello", buf[:6])
	}
	return buf[:n]
}

// withPayload puts p after a transport header built by tcp or udp.
func withPayload(l4, p []byte) []byte {
	out := append(l4[:len(l4):len(l4)], p...)
	if len(l4) == 8 { // udp: fix the length
		binary.BigEndian.PutUint16(out[4:], uint16(len(out)))
	}
	return out
}

func tcpP(sport, dport uint16, p []byte) []byte { return withPayload(tcp(sport, dport, 0, 0), p) }
func udpP(sport, dport uint16, p []byte) []byte { return withPayload(udp(sport, dport, 0), p) }

type nameCase struct {
	name    string
	egress  bool
	frame   []byte
	kind    NameKind // 0: no event
	payload []byte   // what the event holds (nil: the packet's whole payload, given as want)
	trunc   bool
	local   string
	remote  string
	proto   uint8
}

// p4 and p6 are IPv4 and IPv6 frames around a transport header and payload.
func p4(proto byte, src, dst string, l4 []byte) []byte {
	return packet(0x0800, ipv4(proto, src, dst, 0, l4))
}
func p6(proto byte, src, dst string, l4 []byte) []byte {
	return packet(0x86dd, ipv6(proto, src, dst, -1, nil, 0, l4))
}

func nameCases(t *testing.T) []nameCase {
	q, a := dnsMessage(40), dnsMessage(300)
	hello := clientHello(t, "api.example.com")
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 62) // 254 bytes...
	long += "c"                                                                      // ...255
	longHello := clientHello(t, long)
	if !bytes.Contains(longHello, []byte(long)) {
		t.Fatalf("crypto/tls left the 255-byte name out of its ClientHello")
	}
	big := dnsMessage(3000)
	bigHello := append(slices.Clone(hello), make([]byte, 3000-len(hello))...)
	binary.BigEndian.PutUint16(bigHello[3:], 3000-5)
	serverHello := slices.Clone(hello)
	serverHello[5] = 0x02
	badVersion := slices.Clone(hello)
	badVersion[2] = 0x05
	appData := slices.Clone(hello)
	appData[0] = 0x17
	return []nameCase{
		{"dns query udp4", true, p4(17, "10.0.0.1", "10.96.0.10", udpP(40000, 53, q)),
			NameDNSQuery, q, false, "10.0.0.1:40000", "10.96.0.10:53", 17},
		{"dns answer udp4", false, p4(17, "10.96.0.10", "10.0.0.1", udpP(53, 40000, a)),
			NameDNSAnswer, a, false, "10.0.0.1:40000", "10.96.0.10:53", 17},
		{"dns query tcp4", true, p4(6, "10.0.0.1", "169.254.20.10", tcpP(40001, 53, withTCPLength(q))),
			NameDNSQuery, withTCPLength(q), false, "10.0.0.1:40001", "169.254.20.10:53", 6},
		{"dns answer tcp4", false, p4(6, "169.254.20.10", "10.0.0.1", tcpP(53, 40001, withTCPLength(a))),
			NameDNSAnswer, withTCPLength(a), false, "10.0.0.1:40001", "169.254.20.10:53", 6},
		{"dns query udp6", true, p6(17, "fd00::1", "fd00:10:96::a", udpP(40002, 53, q)),
			NameDNSQuery, q, false, "[fd00::1]:40002", "[fd00:10:96::a]:53", 17},
		{"dns answer udp6", false, p6(17, "fd00:10:96::a", "fd00::1", udpP(53, 40002, a)),
			NameDNSAnswer, a, false, "[fd00::1]:40002", "[fd00:10:96::a]:53", 17},
		{"dns query tcp6 after ext headers", true, packet(0x86dd,
			ipv6(60, "fd00::1", "fd00:10:96::a", -1, ext6(6), 60, tcpP(40003, 53, withTCPLength(q)))),
			NameDNSQuery, withTCPLength(q), false, "[fd00::1]:40003", "[fd00:10:96::a]:53", 6},
		{"dns answer tcp6", false, p6(6, "fd00:10:96::a", "fd00::1", tcpP(53, 40003, withTCPLength(a))),
			NameDNSAnswer, withTCPLength(a), false, "[fd00::1]:40003", "[fd00:10:96::a]:53", 6},
		// Bounded: a large EDNS answer is cut at 2048 bytes and says so.
		{"dns answer truncated", false, p4(17, "10.96.0.10", "10.0.0.1", udpP(53, 40000, big)),
			NameDNSAnswer, big[:2048], true, "10.0.0.1:40000", "10.96.0.10:53", 17},
		{"tcp syn to 53", true, p4(6, "10.0.0.1", "10.96.0.10", tcp(40004, 53, 3, 0)), 0, nil, false, "", "", 6},
		{"udp to 5353", true, p4(17, "10.0.0.1", "224.0.0.251", udpP(5353, 5353, q)), 0, nil, false, "", "", 17},
		{"udp from 5353", false, p4(17, "10.0.0.2", "10.0.0.1", udpP(5353, 40000, a)), 0, nil, false, "", "", 17},
		{"udp to 54", true, p4(17, "10.0.0.1", "10.0.0.2", udpP(40000, 54, q)), 0, nil, false, "", "", 17},
		{"egress from 53 is an answer sent, not received", true, p4(17, "10.0.0.1", "10.0.0.2", udpP(53, 40000, a)),
			0, nil, false, "", "", 17},
		{"tls hello 443", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40005, 443, hello)),
			NameTLSHello, hello, false, "10.0.0.1:40005", "52.1.2.3:443", 6},
		{"tls hello 8443 ipv6", true, p6(6, "fd00::1", "2600:1f18::1", tcpP(40006, 8443, hello)),
			NameTLSHello, hello, false, "[fd00::1]:40006", "[2600:1f18::1]:8443", 6},
		{"tls hello 255-byte name", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40007, 443, longHello)),
			NameTLSHello, longHello, false, "10.0.0.1:40007", "52.1.2.3:443", 6},
		{"tls hello truncated", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40008, 443, bigHello)),
			NameTLSHello, bigHello[:2048], true, "10.0.0.1:40008", "52.1.2.3:443", 6},
		// Split over segments: the first is handed over short, the rest
		// does not start a record and is not.
		{"tls hello first segment", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40009, 443, hello[:100])),
			NameTLSHello, hello[:100], false, "10.0.0.1:40009", "52.1.2.3:443", 6},
		{"tls hello second segment", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40009, 443, hello[100:])),
			0, nil, false, "", "", 6},
		{"tls hello 5-byte first segment", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40010, 443, hello[:5])),
			0, nil, false, "", "", 6},
		{"tls server hello", true, p4(6, "10.0.0.1", "10.0.0.2", tcpP(443, 40011, serverHello)), 0, nil, false, "", "", 6},
		{"tls bad version", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40012, 443, badVersion)), 0, nil, false, "", "", 6},
		{"tls application data", true, p4(6, "10.0.0.1", "52.1.2.3", tcpP(40013, 443, appData)), 0, nil, false, "", "", 6},
		{"tls hello received", false, p4(6, "52.1.2.3", "10.0.0.1", tcpP(443, 40014, hello)), 0, nil, false, "", "", 6},
		{"tls hello over udp", true, p4(17, "10.0.0.1", "52.1.2.3", udpP(40015, 443, hello)), 0, nil, false, "", "", 17},
	}
}

// TestNamesProgRun feeds DNS and TLS packets, well-formed and not, to the
// programs: each that should make a name event makes exactly one, with the
// payload's start and the connection's ends, and the others make none.
func TestNamesProgRun(t *testing.T) {
	c := loadNames(t, true, 0)
	for _, tt := range nameCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			prog := c.objs.CountIngress
			if tt.egress {
				prog = c.objs.CountEgress
			}
			if ret, err := prog.Run(&ebpf.RunOptions{Data: tt.frame}); err != nil || ret != 1 {
				t.Fatalf("Run: %d, %v; want 1: the programs never drop a packet", ret, err)
			}
			got := pendingNames(t, c.names)
			if tt.kind == 0 {
				if len(got) != 0 {
					t.Fatalf("%d events (%v, % x...); want none", len(got), got[0].Kind, got[0].Payload[:min(8, len(got[0].Payload))])
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d events; want 1", len(got))
			}
			ev := got[0]
			if ev.Kind != tt.kind || ev.Proto != tt.proto || ev.Truncated != tt.trunc {
				t.Errorf("kind %d proto %d truncated %v; want %d, %d, %v",
					ev.Kind, ev.Proto, ev.Truncated, tt.kind, tt.proto, tt.trunc)
			}
			if ev.Local.String() != tt.local || ev.Remote.String() != tt.remote {
				t.Errorf("%v -> %v; want %s -> %s", ev.Local, ev.Remote, tt.local, tt.remote)
			}
			if !bytes.Equal(ev.Payload, tt.payload) {
				t.Errorf("payload of %d bytes; want the %d bytes sent", len(ev.Payload), len(tt.payload))
			}
			if ev.CgroupID == 0 || ev.NetnsCookie == 0 {
				t.Errorf("cgroup %d netns %d; want both set", ev.CgroupID, ev.NetnsCookie)
			}
		})
	}
	if lost, err := c.NamesLost(); err != nil || lost != 0 {
		t.Errorf("NamesLost: %d, %v; want 0", lost, err)
	}
}

// TestNamesCountingUnchanged runs every name case through programs with
// capture off and on: the flows counted are identical.
func TestNamesCountingUnchanged(t *testing.T) {
	off, on := loadNames(t, false, 0), loadNames(t, true, 0)
	var drained [2][]Flow
	for i, c := range []*Counter{off, on} {
		for _, tt := range nameCases(t) {
			for _, prog := range []*ebpf.Program{c.objs.CountEgress, c.objs.CountIngress} {
				if _, err := prog.Run(&ebpf.RunOptions{Data: tt.frame}); err != nil {
					t.Fatal(err)
				}
			}
		}
		d, err := c.Drain()
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Overflow) != 0 || len(d.Lost) != 0 {
			t.Fatalf("overflow %v lost %v", d.Overflow, d.Lost)
		}
		for j := range d.Flows {
			d.Flows[j].CgroupID, d.Flows[j].NetnsCookie = 0, 0 // two loads, one test process: same anyway
		}
		slices.SortFunc(d.Flows, func(a, b Flow) int {
			return strings.Compare(fmt.Sprint(a.Local, a.Remote, a.Dir, a.Proto), fmt.Sprint(b.Local, b.Remote, b.Dir, b.Proto))
		})
		drained[i] = d.Flows
	}
	if len(drained[0]) < 20 || !slices.Equal(drained[0], drained[1]) {
		t.Errorf("flows with capture off:\n%v\non:\n%v\nwant the same (and at least 20)", drained[0], drained[1])
	}
	if got := pendingNames(t, on.names); len(got) == 0 {
		t.Error("capture on made no events")
	}
}

// TestNamesOff: with capture off the programs write nothing to the ring,
// and ReadNames and NamesLost say capture is off.
func TestNamesOff(t *testing.T) {
	c := loadNames(t, false, 0)
	for _, tt := range nameCases(t) {
		prog := c.objs.CountIngress
		if tt.egress {
			prog = c.objs.CountEgress
		}
		if _, err := prog.Run(&ebpf.RunOptions{Data: tt.frame}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := newNameRing(c.objs.Names)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := pendingNames(t, r); len(got) != 0 {
		t.Errorf("%d events with capture off; want none", len(got))
	}
	err = c.ReadNames(context.Background(), func(*NameEvent) {})
	if err == nil || !strings.Contains(err.Error(), "Config.Names") {
		t.Errorf("ReadNames with capture off: %v; want an error saying how to turn it on", err)
	}
	if _, err := c.NamesLost(); err == nil {
		t.Error("NamesLost with capture off: no error")
	}
}

// TestNamesRingFull fills a one-page ring: every event the ring could not
// take is counted lost, exactly, and once read the ring takes events again.
func TestNamesRingFull(t *testing.T) {
	c := loadNames(t, true, os.Getpagesize())
	frame := packet(0x0800, ipv4(17, "10.0.0.1", "10.96.0.10", 0, udpP(40000, 53, dnsMessage(100))))
	const sent = 200
	if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: frame, Repeat: sent}); err != nil {
		t.Fatal(err)
	}
	got := len(pendingNames(t, c.names))
	lost, err := c.NamesLost()
	if err != nil {
		t.Fatal(err)
	}
	// A record is an 8-byte ring header and the 64-byte event header with
	// its 100-byte payload, rounded up to 8: 176 bytes.
	if want := os.Getpagesize() / 176; got != want || lost != uint64(sent-got) {
		t.Errorf("%d events read, %d lost of %d sent; want %d read and the other %d lost", got, lost, sent, want, sent-want)
	}
	if _, err := c.objs.CountEgress.Run(&ebpf.RunOptions{Data: frame}); err != nil {
		t.Fatal(err)
	}
	if n := len(pendingNames(t, c.names)); n != 1 {
		t.Errorf("%d events after the ring was read; want 1", n)
	}
	if lost2, _ := c.NamesLost(); lost2 != lost {
		t.Errorf("lost %d after the ring was read; want still %d", lost2, lost)
	}
}

// TestReadNames: ReadNames delivers events, which the programs submit
// without a wakeup, within its poll period, reuses the payload buffer safely, and returns nil
// promptly when its context ends or the Counter closes.
func TestReadNames(t *testing.T) {
	c := loadNames(t, true, 0)
	frame := packet(0x86dd, ipv6(17, "fd00:10:96::a", "fd00::1", -1, nil, 0, udpP(53, 40002, dnsMessage(60))))
	if _, err := c.objs.CountIngress.Run(&ebpf.RunOptions{Data: frame, Repeat: 3}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	before := time.Now()
	got := make(chan NameEvent, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.ReadNames(ctx, func(ev *NameEvent) {
			e := *ev
			e.Payload = slices.Clone(ev.Payload)
			got <- e
		})
	}()
	for range 3 {
		select {
		case ev := <-got:
			if ev.Kind != NameDNSAnswer || ev.Remote != netip.MustParseAddrPort("[fd00:10:96::a]:53") || len(ev.Payload) != 60 {
				t.Errorf("event %+v; want a 60-byte answer from [fd00:10:96::a]:53", ev)
			}
			if ev.Read.Before(before) || ev.Read.After(time.Now()) {
				t.Errorf("event read at %v; want between %v and now", ev.Read, before)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("no event within 3s; want one within the longest poll period, 1s")
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ReadNames after cancel: %v; want nil", err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("ReadNames took %v to return after cancel; want it prompt", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ReadNames did not return after its context was cancelled")
	}

	go func() { done <- c.ReadNames(context.Background(), func(*NameEvent) {}) }()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ReadNames after Close: %v; want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ReadNames did not return after Close")
	}
}

// TestFlushNames: FlushNames returns once ReadNames has handed over every
// event in the ring, long before its next read was due.
func TestFlushNames(t *testing.T) {
	c := loadNames(t, true, 0)
	var got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ReadNames(ctx, func(*NameEvent) { got.Add(1) }) }()
	time.Sleep(50 * time.Millisecond) // ReadNames read the empty ring and sleeps for a second
	frame := p4(17, "10.96.0.10", "10.0.0.1", udpP(53, 40000, dnsMessage(100)))
	for i := range 3 {
		// One run at a time: a run of several repeats that a signal interrupts is run again whole.
		for range 5 {
			if _, err := c.objs.CountIngress.Run(&ebpf.RunOptions{Data: frame}); err != nil {
				t.Fatal(err)
			}
		}
		fctx, fcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.FlushNames(fctx)
		fcancel()
		if err != nil {
			t.Fatalf("FlushNames %d: %v", i, err)
		}
		if n := got.Load(); n != int64(5*(i+1)) {
			t.Errorf("after FlushNames %d: %d events handed over; want %d", i, n, 5*(i+1))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer fcancel()
	if err := c.FlushNames(fctx); err == nil {
		t.Error("FlushNames without a ReadNames returned nil; want its context's error")
	}
}

// TestNextPoll: the reader reads when the ring would be three quarters full
// at the last read's rate, between 10 ms and a second.
func TestNextPoll(t *testing.T) {
	for _, tt := range []struct {
		read  int
		since time.Duration
		want  time.Duration
	}{
		{0, time.Second, time.Second},                               // idle
		{3 << 20, time.Second, 250 * time.Millisecond},              // 3 MiB/s into 1 MiB: 3/4 of it in 1/4 s
		{1 << 10, time.Second, time.Second},                         // slow: at most a second
		{1 << 20, time.Millisecond, 10 * time.Millisecond},          // a burst: at least 10 ms
		{768 << 10, 200 * time.Millisecond, 200 * time.Millisecond}, // steady at 3/4 of a ring
	} {
		if got := nextPoll(tt.read, tt.since, 1<<20); got != tt.want {
			t.Errorf("nextPoll(%d bytes in %v) = %v; want %v", tt.read, tt.since, got, tt.want)
		}
	}
}

// TestNamesRingBytes: a ring size the kernel would refuse is refused first, saying what it takes.
func TestNamesRingBytes(t *testing.T) {
	for _, n := range []int{1000, 3 * os.Getpagesize(), os.Getpagesize() / 2} {
		_, err := Config{CgroupRoot: "unused", Names: true, NamesRingBytes: n}.withDefaults()
		if err == nil || !strings.Contains(err.Error(), "power of two") {
			t.Errorf("NamesRingBytes %d: %v; want an error asking for a power of two", n, err)
		}
	}
}

// TestNamesOnTheWire attaches the programs and runs a DNS exchange over UDP
// and a TLS ClientHello between two namespaces: the client's cgroup gets
// the query, the answer and the hello, each once, and the server's none.
func TestNamesOnTheWire(t *testing.T) {
	c, n, base := setup(t, Config{Names: true})
	cliCg, cliID := netnstest.NewCgroup(t, base, "client")
	srvCg, srvID := netnstest.NewCgroup(t, base, "server")
	events := make(chan NameEvent, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.ReadNames(ctx, func(ev *NameEvent) {
			if ev.CgroupID == cliID || ev.CgroupID == srvID {
				e := *ev
				e.Payload = slices.Clone(ev.Payload)
				events <- e
			}
		})
	}()

	srv, out := netnstest.Start(t, n.nsB, srvCg, "NETCOST_BPF_HELPER", "udp-server", addrB4+":53", "1", "300")
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server: %q, %v", line, err)
	}
	cli, _ := netnstest.Start(t, n.nsA, cliCg, "NETCOST_BPF_HELPER", "udp-client", addrB4+":53", "1", "40")
	if err := cli.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
	srv, out = netnstest.Start(t, n.nsB, srvCg, "NETCOST_BPF_HELPER", "tcp-server", "["+addrB6+"]:8443", "0")
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server: %q, %v", line, err)
	}
	cli, _ = netnstest.Start(t, n.nsA, cliCg, "NETCOST_BPF_HELPER", "tls-client", "["+addrB6+"]:8443", "api.example.com")
	if err := cli.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	srv.Wait() // the client hung up on it mid-handshake: its error is no matter

	want := map[NameKind]string{NameDNSQuery: addrB4 + ":53", NameDNSAnswer: addrB4 + ":53",
		NameTLSHello: "[" + addrB6 + "]:8443"}
	got := map[NameKind]int{}
	timeout := time.After(3 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			got[ev.Kind]++
			if ev.CgroupID != cliID || ev.Remote.String() != want[ev.Kind] {
				t.Errorf("event %d in cgroup %d to %v; want cgroup %d (the client), remote %s",
					ev.Kind, ev.CgroupID, ev.Remote, cliID, want[ev.Kind])
			}
			if ev.Kind == NameTLSHello && !bytes.Contains(ev.Payload, []byte("api.example.com")) {
				t.Errorf("the ClientHello's %d bytes lack its server name", len(ev.Payload))
			}
		case <-timeout:
			t.Fatalf("events %v after 3s; want one of each of %v", got, want)
		}
	}
	time.Sleep(namesPollMax + 100*time.Millisecond) // a duplicate would be read by then
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(events)
	for ev := range events {
		got[ev.Kind]++
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%d events of kind %d; want 1", got[k], k)
		}
	}
	if lost, err := c.NamesLost(); err != nil || lost != 0 {
		t.Errorf("NamesLost: %d, %v; want 0", lost, err)
	}
}

// BenchmarkReadNames is the reader's CPU per event, as ReadNames reads:
// the ring is filled with DNS answers of 300 bytes through the program
// (not timed), then read. It reports CPU time of the reading thread, which
// the other processes of a shared machine do not inflate as they do wall
// time.
func BenchmarkReadNames(b *testing.B) {
	netnstest.RequireRoot(b, "this benchmark loads eBPF programs")
	cfg, err := Config{CgroupRoot: "unused", Names: true, NamesRingBytes: 16 << 20}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	c, err := load(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	frame := p4(17, "10.96.0.10", "10.0.0.1", udpP(53, 40000, dnsMessage(300)))
	const perRound = 40000 // 40,000 records of 376 bytes fit in the ring
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var (
		ev    NameEvent
		cpu   time.Duration
		n     int
		bytes int
	)
	for b.Loop() {
		if n%perRound == 0 {
			if _, err := c.objs.CountIngress.Run(&ebpf.RunOptions{Data: frame, Repeat: perRound}); err != nil {
				b.Fatal(err)
			}
			cpu -= threadCPU(b)
			read, err := c.names.read(func(rec []byte) {
				if decodeName(rec, &ev) {
					bytes += len(ev.Payload)
				}
			})
			if err != nil || read != perRound*376 {
				b.Fatalf("read %d bytes, %v; want %d", read, err, perRound*376)
			}
			cpu += threadCPU(b)
		}
		n++
	}
	if bytes == 0 {
		b.Fatal("no event read")
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64((n+perRound-1)/perRound*perRound), "cpu-ns/event")
}

// threadCPU is the CPU time the calling thread, locked to its goroutine, has used.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
