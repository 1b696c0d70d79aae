package names

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/netcost/netcost/bpf"
)

// BenchmarkLookup is the collector's cost per flow at a window's end, in a full table (DefaultMaxNames names
// over 100 pods), half the lookups finding a name.
func BenchmarkLookup(b *testing.B) {
	tb := New(0)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range DefaultMaxNames {
		tb.learn(uint64(i%100), addr(i), fmt.Appendf(nil, "h%d.example.com", i), "dns", t0.Add(minLife))
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		tb.Lookup(uint64(i%100), addr(i%(2*DefaultMaxNames)), t0)
		i++
	}
}

// BenchmarkAddLookup is the cost of one DNS lookup: the query event, and its answer (a CNAME and two
// addresses).
func BenchmarkAddLookup(b *testing.B) {
	tb := New(0)
	q := queryEvent(podNS, dnsQuery(b, 9, "api.stripe.com."))
	a := answerEvent(podNS, dnsAnswer(b, 9, "api.stripe.com.", rr{name: "api.stripe.com.", target: "edge.cdn.example.",
		ttl: 60}, rr{name: "edge.cdn.example.", addr: "198.51.100.7", ttl: 60},
		rr{name: "edge.cdn.example.", addr: "198.51.100.8", ttl: 60}))
	for b.Loop() {
		tb.Add(q, t0)
		tb.Add(a, t0)
	}
	if s := tb.Stats(); s.Unasked != 0 {
		b.Fatalf("%d answers unasked; want none", s.Unasked)
	}
}

// BenchmarkAddHello is the cost of one TLS ClientHello event.
func BenchmarkAddHello(b *testing.B) {
	tb := New(0)
	ev := helloEvent(podNS, "192.0.2.1", clientHello(b, "api.stripe.com"))
	for b.Loop() {
		tb.Add(ev, t0)
	}
}

// BenchmarkAddQuery is the cost of one DNS query event.
func BenchmarkAddQuery(b *testing.B) {
	tb := New(0)
	q := queryEvent(podNS, dnsQuery(b, 9, "api.stripe.com."))
	for b.Loop() {
		tb.Add(q, t0)
	}
}

// BenchmarkStream is the budget's mix, per DNS lookup: its query and its answer (a CNAME and an address, as
// bench/names sends), each from a new socket and ID as a stub resolver sends them, and a TLS ClientHello
// every fifth lookup (5,000 lookups and 1,000 hellos a second).
func BenchmarkStream(b *testing.B) {
	tb := New(0)
	hello := helloEvent(podNS, "192.0.2.1", clientHello(b, "api.stripe.com"))
	var qs, as []*bpf.NameEvent
	for i := range 1 << 15 {
		id := uint16(i * 7919)
		q := queryEvent(podNS, dnsQuery(b, id, "www.example.com."))
		a := answerEvent(podNS, dnsAnswer(b, id, "www.example.com.", rr{name: "www.example.com.",
			target: "d111111abcdef8.cloudfront.net.", ttl: 300}, rr{name: "d111111abcdef8.cloudfront.net.",
			addr: "52.84.150.7", ttl: 300}))
		q.Local = netip.AddrPortFrom(podLocal.Addr(), uint16(32768+i))
		a.Local = q.Local
		qs, as = append(qs, q), append(as, a)
	}
	now := t0
	i := 0
	for b.Loop() {
		tb.Add(qs[i%len(qs)], now)
		tb.Add(as[i%len(as)], now)
		if i%5 == 0 {
			tb.Add(hello, now)
		}
		i++
		now = now.Add(200 * time.Microsecond) // 5,000 lookups a second
	}
	if s := tb.Stats(); s.Unasked != 0 {
		b.Fatalf("%d answers unasked; want none", s.Unasked)
	}
}
