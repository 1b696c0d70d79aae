package conntrack

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/netcost/netcost/bpf"
)

// message encodes a connection as ctnetlink does (as the kernel sends it:
// nested tuples, big-endian ports).
func message(t testing.TB, typ uint8, c Conn) netlink.Message {
	t.Helper()
	tuple := func(ae *netlink.AttributeEncoder, tp Tuple) {
		ae.Nested(attrTupleIP, func(nae *netlink.AttributeEncoder) error {
			src, dst := uint16(attrIPv4Src), uint16(attrIPv4Dst)
			if tp.Src.Addr().Is6() {
				src, dst = attrIPv6Src, attrIPv6Dst
			}
			nae.Bytes(src, tp.Src.Addr().AsSlice())
			nae.Bytes(dst, tp.Dst.Addr().AsSlice())
			return nil
		})
		ae.Nested(attrTupleProto, func(nae *netlink.AttributeEncoder) error {
			nae.Uint8(attrProtoNum, tp.Proto)
			nae.Uint16(attrProtoSrc, tp.Src.Port())
			nae.Uint16(attrProtoDst, tp.Dst.Port())
			return nil
		})
	}
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Nested(attrTupleOrig, func(nae *netlink.AttributeEncoder) error { tuple(nae, c.Orig); return nil })
	ae.Nested(attrTupleReply, func(nae *netlink.AttributeEncoder) error { tuple(nae, c.Reply); return nil })
	ae.Uint32(3, 0x1a8) // CTA_STATUS: read past
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(subsysCTNetlink<<8 | uint16(typ))}, Data: append([]byte{2, 0, 0, 0}, b...)}
}

// dnat is a connection from client to service, translated to backend.
func dnat(proto uint8, client, service, backend string) Conn {
	c, s, b := netip.MustParseAddrPort(client), netip.MustParseAddrPort(service), netip.MustParseAddrPort(backend)
	return Conn{Orig: Tuple{Src: c, Dst: s, Proto: proto}, Reply: Tuple{Src: b, Dst: c, Proto: proto}}
}

func TestParse(t *testing.T) {
	for _, c := range []Conn{
		dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080"),
		dnat(17, "[fd00::1]:40000", "[fd00:96::a]:53", "[fd00::2]:5353"),
	} {
		for _, typ := range []uint8{msgNew, msgDelete} {
			m := message(t, typ, c)
			ev, err := parse(uint16(m.Header.Type), m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if ev.conn != c || ev.destroy != (typ == msgDelete) {
				t.Errorf("parsed %+v (destroy %v); want %+v (destroy %v)", ev.conn, ev.destroy, c, typ == msgDelete)
			}
			if b, ok := ev.conn.Backend(); !ok || b != c.Reply.Src {
				t.Errorf("Backend %v %v; want %v", b, ok, c.Reply.Src)
			}
		}
	}
	plain := Conn{Orig: Tuple{Src: netip.MustParseAddrPort("10.1.1.10:40000"), Dst: netip.MustParseAddrPort("10.1.2.20:80"), Proto: 6}}
	plain.Reply = Tuple{Src: plain.Orig.Dst, Dst: plain.Orig.Src, Proto: 6}
	if _, ok := plain.Backend(); ok {
		t.Error("an untranslated connection has a backend")
	}
	for name, m := range map[string]netlink.Message{
		"short":        {Header: netlink.Header{Type: subsysCTNetlink << 8}, Data: []byte{2}},
		"other subsys": {Header: netlink.Header{Type: 2 << 8}, Data: []byte{2, 0, 0, 0}},
		"no tuple":     {Header: netlink.Header{Type: subsysCTNetlink << 8}, Data: []byte{2, 0, 0, 0}},
		"truncated":    {Header: netlink.Header{Type: subsysCTNetlink << 8}, Data: []byte{2, 0, 0, 0, 40, 0, 1, 0x80}},
	} {
		if _, err := parse(uint16(m.Header.Type), m.Data); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

// orig is a TCP connection's original tuple to 10.96.0.10:80.
func orig(client string) Tuple {
	return Tuple{Src: netip.MustParseAddrPort(client), Dst: netip.MustParseAddrPort("10.96.0.10:80"), Proto: 6}
}

func flow(proto uint8, dir bpf.Direction, local, remote string, bytes uint64) bpf.Flow {
	return bpf.Flow{CgroupID: 7, Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote), Proto: proto, Dir: dir, Bytes: bytes}
}

// drain translates d as one drain of a single batch, as the agent hands
// over each switch's counts.
func drain(tb *Table, d *bpf.Deltas, eph uint16) {
	tb.TranslateBatch(d, eph)
	tb.Drained()
}

func TestTranslate(t *testing.T) {
	var kept []netip.Prefix
	tb := newTable(Config{
		Prefixes:  []netip.Prefix{netip.MustParsePrefix("10.100.0.0/16")},
		KeepPorts: func(p netip.Prefix) error { kept = append(kept, p); return nil },
		Learn:     func(a netip.Addr) bool { return !netip.MustParsePrefix("10.1.0.0/16").Contains(a) },
	})
	tb.apply(event{conn: dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080")})
	tb.apply(event{conn: dnat(6, "10.1.1.10:40001", "10.96.0.10:80", "10.1.3.30:8080")}) // another backend
	tb.apply(event{conn: dnat(17, "10.1.1.10:40002", "10.100.0.10:53", "10.1.2.20:5353")})
	tb.apply(event{conn: dnat(6, "203.0.113.1:50000", "10.1.1.2:30080", "10.1.2.20:8080")}) // a NodePort: not learned
	if want := []netip.Prefix{netip.MustParsePrefix("10.96.0.10/32")}; !slices.Equal(kept, want) {
		t.Errorf("KeepPorts got %v; want %v (the Service CIDR covers 10.100.0.10; a node address is not a Service's)", kept, want)
	}
	d := &bpf.Deltas{Flows: []bpf.Flow{
		flow(6, bpf.Egress, "10.1.1.10:40000", "10.96.0.10:80", 100),
		flow(6, bpf.Ingress, "10.1.1.10:40000", "10.96.0.10:80", 1000),
		flow(6, bpf.Egress, "10.1.1.10:40001", "10.96.0.10:80", 200),
		flow(17, bpf.Egress, "10.1.1.10:40002", "10.100.0.10:53", 300),
		flow(6, bpf.Egress, "10.1.1.10:40009", "10.96.0.10:80", 400),  // not known yet: as it is, port dropped
		flow(6, bpf.Egress, "10.1.1.10:40010", "10.100.0.11:80", 500), // in the Service CIDR, not known: likewise
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.2.20:8080", 600),     // a pod's own flow: as it is
		flow(1, bpf.Egress, "10.1.1.10:0", "10.96.0.10:0", 700),       // ICMP: as it is
		flow(6, bpf.Egress, "10.1.1.10:0", "10.96.0.10:80", 50),       // port dropped before the address was learned: untranslatable
	}}
	drain(tb, d, 32768)
	want := []bpf.Flow{
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.2.20:8080", 100),
		flow(6, bpf.Ingress, "10.1.1.10:0", "10.1.2.20:8080", 1000),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.3.30:8080", 200),
		flow(17, bpf.Egress, "10.1.1.10:0", "10.1.2.20:5353", 300),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.96.0.10:80", 400),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.100.0.11:80", 500),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.2.20:8080", 600),
		flow(1, bpf.Egress, "10.1.1.10:0", "10.96.0.10:0", 700),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.96.0.10:80", 50),
	}
	if !slices.Equal(d.Flows, want) {
		t.Errorf("first drain:\n got %v\nwant %v", d.Flows, want)
	}
	// The late connection's event arrives: its flows of the next drain are
	// translated; nothing of the first drain comes back.
	tb.apply(event{conn: dnat(6, "10.1.1.10:40009", "10.96.0.10:80", "10.1.3.30:8080")})
	d.Flows = append(d.Flows[:0],
		flow(6, bpf.Egress, "10.1.1.10:40000", "10.96.0.10:80", 1),
		flow(6, bpf.Egress, "10.1.1.10:40009", "10.96.0.10:80", 4))
	drain(tb, d, 32768)
	want = []bpf.Flow{
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.2.20:8080", 1),
		flow(6, bpf.Egress, "10.1.1.10:0", "10.1.3.30:8080", 4),
	}
	if !slices.Equal(d.Flows, want) {
		t.Errorf("second drain:\n got %v\nwant %v", d.Flows, want)
	}
	if s := tb.Stats(); s.TranslatedBytes != 100+1000+200+300+1+4 || s.UntranslatedBytes != 400+500+50 || s.Conns != 4 {
		t.Errorf("stats %+v", s)
	}

	// A destroyed connection is forgotten once the drain after its end is
	// done, not before: its last bytes are translated.
	tb.apply(event{conn: dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080"), destroy: true})
	d.Flows = append(d.Flows[:0], flow(6, bpf.Egress, "10.1.1.10:40000", "10.96.0.10:80", 2))
	drain(tb, d, 32768)
	if d.Flows[0].Remote != netip.MustParseAddrPort("10.1.2.20:8080") {
		t.Errorf("the last bytes of an ended connection went to %v", d.Flows[0].Remote)
	}
	drain(tb, d, 32768)
	if _, ok := tb.lookup(orig("10.1.1.10:40000")); ok {
		t.Error("an ended connection is remembered two drains later")
	}
	// The tuple reused by a new connection before the old one is forgotten
	// keeps the new one.
	tb.apply(event{conn: dnat(6, "10.1.1.10:40001", "10.96.0.10:80", "10.1.3.30:8080"), destroy: true})
	tb.apply(event{conn: dnat(6, "10.1.1.10:40001", "10.96.0.10:80", "10.1.4.40:8080")})
	drain(tb, &bpf.Deltas{}, 32768)
	drain(tb, &bpf.Deltas{}, 32768)
	if b, ok := tb.lookup(orig("10.1.1.10:40001")); !ok || b != netip.MustParseAddrPort("10.1.4.40:8080") {
		t.Errorf("a reused tuple: %v %v; want the new connection's backend", b, ok)
	}

	// An unknown connection's flow is passed on in its own drain, port
	// dropped: nothing is kept for the next.
	untranslated := tb.Stats().UntranslatedBytes
	d.Flows = append(d.Flows[:0], flow(6, bpf.Egress, "10.1.1.10:40020", "10.96.0.10:80", 9))
	drain(tb, d, 32768)
	if len(d.Flows) != 1 || d.Flows[0].Local.Port() != 0 || tb.Stats().UntranslatedBytes != untranslated+9 {
		t.Errorf("an unknown connection's drain: %v, %d untranslated bytes; want the flow passed on, port dropped, 9 more",
			d.Flows, tb.Stats().UntranslatedBytes-untranslated)
	}
	next := &bpf.Deltas{}
	drain(tb, next, 32768)
	if len(next.Flows) != 0 {
		t.Errorf("the next drain: %v; want nothing kept from the last", next.Flows)
	}
}

// TestTranslateBatches: a drain handed over in batches forgets a destroyed
// connection only at its end (Drained), however many batches came before:
// a later batch still holds the connection's last bytes.
func TestTranslateBatches(t *testing.T) {
	tb := newTable(Config{})
	tb.apply(event{conn: dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080")})
	tb.apply(event{conn: dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080"), destroy: true})
	tb.Drained() // the drain during which it ended
	for i := range 5 {
		d := &bpf.Deltas{Flows: []bpf.Flow{flow(6, bpf.Egress, "10.1.1.10:40000", "10.96.0.10:80", uint64(i+1))}}
		tb.TranslateBatch(d, 32768)
		if want := flow(6, bpf.Egress, "10.1.1.10:0", "10.1.2.20:8080", uint64(i+1)); d.Flows[0] != want {
			t.Fatalf("batch %d of the drain after the connection ended: %v; want %v", i, d.Flows[0], want)
		}
	}
	tb.Drained()
	if _, ok := tb.lookup(orig("10.1.1.10:40000")); ok {
		t.Error("an ended connection is remembered once the drain after its end is done")
	}
}

func TestBounds(t *testing.T) {
	tb := newTable(Config{MaxConns: 2, Idle: time.Minute})
	conn := func(port int) event {
		return event{conn: dnat(6, netip.AddrPortFrom(netip.MustParseAddr("10.1.1.10"), uint16(port)).String(), "10.96.0.10:80", "10.1.2.20:8080")}
	}
	for i := range 3 {
		tb.handle(conn(40000 + i))
	}
	if s := tb.Stats(); s.Conns != 2 || s.ConnsNotRemembered != 1 {
		t.Errorf("stats %+v; want 2 remembered, 1 not", s)
	}
	// A full table makes room by forgetting what no flow named for Idle,
	// at most once a minute.
	for k, e := range tb.conns {
		e.used = time.Now().Add(-2 * time.Minute).Unix()
		tb.conns[k] = e
	}
	tb.handle(conn(40003))
	if s := tb.Stats(); s.ConnsNotRemembered != 2 {
		t.Errorf("room made twice within a minute: %+v", s)
	}
	tb.evicted = time.Now().Add(-2 * time.Minute)
	tb.handle(conn(40004))
	if _, ok := tb.lookup(Tuple{Src: netip.MustParseAddrPort("10.1.1.10:40004"), Dst: netip.MustParseAddrPort("10.96.0.10:80"), Proto: 6}); !ok || tb.Stats().Conns != 1 {
		t.Errorf("a full table of idle connections did not make room: %+v", tb.Stats())
	}
}

// TestLearn: a destination Learn refuses (a node's, before the VPC view
// came) is asked about again at its next connection; connections to it
// are not remembered meanwhile.
func TestLearn(t *testing.T) {
	vpcKnown := false
	var kept []netip.Prefix
	tb := newTable(Config{
		KeepPorts: func(p netip.Prefix) error { kept = append(kept, p); return nil },
		Learn:     func(netip.Addr) bool { return vpcKnown },
	})
	if a := tb.handle(event{conn: dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080")}); a.IsValid() || tb.Stats().Conns != 0 {
		t.Errorf("learned %v, %d connections, from a refused destination", a, tb.Stats().Conns)
	}
	vpcKnown = true
	a := tb.handle(event{conn: dnat(6, "10.1.1.10:40001", "10.96.0.10:80", "10.1.2.20:8080")})
	if a != netip.MustParseAddr("10.96.0.10") || tb.Stats().Conns != 1 {
		t.Errorf("learned %v, %d connections; want 10.96.0.10 and 1", a, tb.Stats().Conns)
	}
	if a := tb.handle(event{conn: dnat(6, "10.1.1.10:40002", "10.96.0.10:80", "10.1.2.20:8080")}); a.IsValid() {
		t.Errorf("learned %v again", a)
	}
}

// BenchmarkTranslate50k is one drain of 50,000 flows to Services, each its
// own connection (a pod making DNS queries or short HTTP calls), with their
// 50,000 connections known: the worst case the agent meets per drain.
func BenchmarkTranslate50k(b *testing.B) {
	tb := newTable(Config{})
	client := netip.MustParseAddr("10.1.1.10")
	var fl []bpf.Flow
	for i := range 50000 {
		src := netip.AddrPortFrom(client, uint16(10000+i))
		svc := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 96, byte(i % 200), 10}), 53)
		tb.apply(event{conn: Conn{Orig: Tuple{Src: src, Dst: svc, Proto: 17}, Reply: Tuple{Src: netip.MustParseAddrPort("10.1.2.20:5353"), Dst: src, Proto: 17}}})
		fl = append(fl, bpf.Flow{CgroupID: 7, Local: src, Remote: svc, Proto: 17, Dir: bpf.Egress, Bytes: 80})
	}
	d := &bpf.Deltas{}
	b.ReportAllocs()
	for b.Loop() {
		d.Flows = append(d.Flows[:0], fl...)
		drain(tb, d, 10000)
	}
	if d.Flows[0].Remote.Addr().String() != "10.1.2.20" {
		b.Fatalf("not translated: %v", d.Flows[0])
	}
}

// BenchmarkEvent is one NEW event decoded and remembered: the agent's cost
// per connection the node's table sees.
func BenchmarkEvent(b *testing.B) {
	tb := newTable(Config{})
	m := message(b, msgNew, dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080"))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := parse(uint16(m.Header.Type), m.Data)
		if err != nil {
			b.Fatal(err)
		}
		tb.handle(ev)
	}
}

// FuzzParse: no message, however malformed, makes parse panic.
func FuzzParse(f *testing.F) {
	m := message(f, msgNew, dnat(6, "10.1.1.10:40000", "10.96.0.10:80", "10.1.2.20:8080"))
	f.Add(m.Data)
	f.Add(m.Data[:len(m.Data)/2])
	f.Add([]byte{2, 0, 0, 0, 4, 0, 1, 0x80, 255, 255, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		parse(subsysCTNetlink<<8|msgNew, b)
	})
}
