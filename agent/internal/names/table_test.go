package names

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

var (
	t0       = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	podLocal = netip.MustParseAddrPort("10.0.1.5:40000")
	resolver = netip.MustParseAddrPort("10.100.0.10:53")
)

const podNS = 4242 // a pod's network namespace cookie

func queryEvent(netns uint64, msg []byte) *bpf.NameEvent {
	return &bpf.NameEvent{Kind: bpf.NameDNSQuery, NetnsCookie: netns, Proto: 17, Local: podLocal, Remote: resolver,
		Payload: msg}
}

func answerEvent(netns uint64, msg []byte) *bpf.NameEvent {
	return &bpf.NameEvent{Kind: bpf.NameDNSAnswer, NetnsCookie: netns, Proto: 17, Local: podLocal, Remote: resolver,
		Payload: msg}
}

func helloEvent(netns uint64, remote string, hello []byte) *bpf.NameEvent {
	return &bpf.NameEvent{Kind: bpf.NameTLSHello, NetnsCookie: netns, Proto: 6, Local: podLocal,
		Remote: netip.AddrPortFrom(netip.MustParseAddr(remote), 443), Payload: hello}
}

// lookup is Table.Lookup as "name/source", or "" when the table has none.
func lookup(tb *Table, netns uint64, addr string, now time.Time) string {
	n, s, ok := tb.Lookup(netns, netip.MustParseAddr(addr), now)
	if !ok {
		return ""
	}
	return n + "/" + s
}

func TestTableLearnsWhatThePodAsked(t *testing.T) {
	tb := New(0)
	stripe := dnsAnswer(t, 9, "api.stripe.com.", rr{name: "api.stripe.com.", target: "edge.cdn.example.", ttl: 60},
		rr{name: "edge.cdn.example.", addr: "198.51.100.7", ttl: 60})
	// Before any query: dropped.
	tb.Add(answerEvent(podNS, stripe), t0)
	if got := lookup(tb, podNS, "198.51.100.7", t0); got != "" {
		t.Fatalf("an answer with no query: Lookup = %q; want nothing", got)
	}
	tb.Add(queryEvent(podNS, dnsQuery(t, 9, "api.stripe.com.")), t0)
	// Another pod's answer with the same ID and port: not this pod's query.
	tb.Add(answerEvent(podNS+1, stripe), t0)
	// An answer to this query for a name the pod did not ask.
	evil := dnsAnswer(t, 9, "evil.example.", rr{name: "evil.example.", addr: "192.0.2.66", ttl: 60})
	tb.Add(answerEvent(podNS, evil), t0)
	tb.Add(answerEvent(podNS, stripe), t0)
	if got, want := lookup(tb, podNS, "198.51.100.7", t0), "api.stripe.com/dns"; got != want {
		t.Errorf("Lookup(the answer's address) = %q; want %q (the name the pod asked)", got, want)
	}
	for _, c := range []struct {
		netns uint64
		addr  string
	}{{podNS + 1, "198.51.100.7"}, {podNS, "192.0.2.66"}} {
		if got := lookup(tb, c.netns, c.addr, t0); got != "" {
			t.Errorf("Lookup(%d, %s) = %q; want nothing", c.netns, c.addr, got)
		}
	}
	s := tb.Stats()
	if s.Events != 5 || s.Unasked != 3 || s.Names != 1 || s.ParseFailures != 0 {
		t.Errorf("Stats = %+v; want 5 events, 3 unasked, 1 name, no parse failure", s)
	}
}

// TestTableAnswerSettlesItsQuestion: a query asking A and AAAA under one ID waits for both answers; each
// question is used once, and a failed answer settles its question too.
func TestTableAnswerSettlesItsQuestion(t *testing.T) {
	tb := New(0)
	q := dnsQuery(t, 5, "a.example.")
	q6 := append([]byte(nil), q...)
	q6[len(q6)-3] = typeAAAA // the question's type
	tb.Add(queryEvent(podNS, q), t0)
	tb.Add(queryEvent(podNS, q6), t0)
	v4 := dnsAnswer(t, 5, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})
	tb.Add(answerEvent(podNS, v4), t0)
	tb.Add(answerEvent(podNS, v4), t0) // again: its question was answered
	if s := tb.Stats(); s.Unasked != 1 || len(tb.queries) != 1 {
		t.Errorf("after two answers to A: Stats.Unasked = %d, %d queries waiting; want 1 and 1 (the AAAA question)",
			s.Unasked, len(tb.queries))
	}
	v6 := dnsAnswer(t, 5, "a.example.", rr{name: "a.example.", addr: "2001:db8::1", ttl: 60})
	v6[len("a.example.")+12+2] = typeAAAA // the question's type
	tb.Add(answerEvent(podNS, v6), t0)
	for _, addr := range []string{"192.0.2.1", "2001:db8::1"} {
		if got := lookup(tb, podNS, addr, t0); got != "a.example/dns" {
			t.Errorf("Lookup(%s) = %q; want a.example/dns", addr, got)
		}
	}
	if len(tb.queries) != 0 {
		t.Errorf("%d queries waiting after both answers; want none", len(tb.queries))
	}
	// NXDOMAIN answers the question: nothing waits.
	tb.Add(queryEvent(podNS, dnsQuery(t, 6, "gone.example.")), t0)
	nx := dnsAnswer(t, 6, "gone.example.")
	nx[3] |= 3 // RCODE NXDOMAIN
	tb.Add(answerEvent(podNS, nx), t0)
	if len(tb.queries) != 0 {
		t.Errorf("%d queries waiting after NXDOMAIN; want none", len(tb.queries))
	}
}

func TestTableDNSOverTCP(t *testing.T) {
	tb := New(0)
	q := queryEvent(podNS, overTCP(dnsQuery(t, 3, "a.example.")))
	q.Proto = 6
	a := answerEvent(podNS, overTCP(dnsAnswer(t, 3, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})))
	a.Proto = 6
	tb.Add(q, t0)
	tb.Add(a, t0)
	if got, want := lookup(tb, podNS, "192.0.2.1", t0), "a.example/dns"; got != want {
		t.Errorf("Lookup over TCP = %q; want %q", got, want)
	}
}

func TestTableSNIBeatsDNS(t *testing.T) {
	tb := New(0)
	tb.Add(queryEvent(podNS, dnsQuery(t, 1, "cdn.example.")), t0)
	answer := answerEvent(podNS, dnsAnswer(t, 1, "cdn.example.", rr{name: "cdn.example.", addr: "192.0.2.1", ttl: 60}))
	tb.Add(answer, t0)
	tb.Add(helloEvent(podNS, "192.0.2.1", clientHello(t, "api.service.example")), t0)
	if got, want := lookup(tb, podNS, "192.0.2.1", t0), "api.service.example/sni"; got != want {
		t.Errorf("Lookup after DNS then SNI = %q; want %q", got, want)
	}
	tb.Add(answer, t0.Add(time.Second)) // DNS again: SNI stays
	if got, want := lookup(tb, podNS, "192.0.2.1", t0), "api.service.example/sni"; got != want {
		t.Errorf("Lookup after SNI then DNS = %q; want %q", got, want)
	}
	tb.Add(helloEvent(podNS, "192.0.2.1", []byte("GET / HTTP/1.1\r\n")), t0)
	if s := tb.Stats(); s.ParseFailures != 1 {
		t.Errorf("Stats.ParseFailures = %d after a hello that is none; want 1", s.ParseFailures)
	}
}

func TestTableExpiry(t *testing.T) {
	tb := New(0)
	tb.Add(queryEvent(podNS, dnsQuery(t, 1, "a.example.")), t0)
	tb.Add(answerEvent(podNS, dnsAnswer(t, 1, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 1},
		rr{name: "a.example.", addr: "192.0.2.2", ttl: 3600})), t0)
	// A TTL of 1s is kept minLife; an hour, an hour.
	tb.Expire(t0.Add(minLife - time.Second))
	if got := lookup(tb, podNS, "192.0.2.1", t0.Add(minLife-time.Second)); got == "" {
		t.Fatalf("a name with TTL 1s is gone before minLife")
	}
	// Looked up at minLife-1s, it stays useLife past that: a flow uses it.
	tb.Expire(t0.Add(minLife + useLife - 2*time.Second))
	if s := tb.Stats(); s.Names != 2 {
		t.Errorf("Stats.Names = %d while a flow uses the name; want 2", s.Names)
	}
	tb.Expire(t0.Add(minLife + useLife))
	if got := lookup(tb, podNS, "192.0.2.1", t0.Add(minLife+useLife)); got != "" {
		t.Errorf("Lookup after its time = %q; want nothing", got)
	}
	if got := lookup(tb, podNS, "192.0.2.2", t0.Add(minLife+useLife)); got == "" {
		t.Errorf("the name with a TTL of an hour is gone after %v", minLife+useLife)
	}
	// Queries expire too: an answer after queryLife is not used.
	tb.Add(queryEvent(podNS, dnsQuery(t, 2, "b.example.")), t0)
	tb.Expire(t0.Add(queryLife + time.Second))
	tb.Add(answerEvent(podNS, dnsAnswer(t, 2, "b.example.", rr{name: "b.example.", addr: "192.0.2.3", ttl: 60})),
		t0.Add(queryLife+time.Second))
	if got := lookup(tb, podNS, "192.0.2.3", t0.Add(queryLife+time.Second)); got != "" {
		t.Errorf("Lookup of an answer after its query expired = %q; want nothing", got)
	}
}

func TestTableBound(t *testing.T) {
	tb := New(3)
	for i := range 3 {
		tb.Add(helloEvent(podNS, fmt.Sprintf("192.0.2.%d", i+1), sniHello(fmt.Sprintf("h%d.example", i+1), nil, nil)), t0)
	}
	// Using 192.0.2.1 makes 192.0.2.2 the least recently used.
	lookup(tb, podNS, "192.0.2.1", t0)
	tb.Add(helloEvent(podNS+1, "192.0.2.4", sniHello("h4.example", nil, nil)), t0)
	for addr, want := range map[string]string{"192.0.2.1": "h1.example/sni", "192.0.2.2": "",
		"192.0.2.3": "h3.example/sni"} {
		if got := lookup(tb, podNS, addr, t0); got != want {
			t.Errorf("Lookup(%s) = %q; want %q", addr, got, want)
		}
	}
	if got := lookup(tb, podNS+1, "192.0.2.4", t0); got != "h4.example/"+flows.NameFromSNI {
		t.Errorf("Lookup(the newest) = %q", got)
	}
	if s := tb.Stats(); s.Names != 3 || s.Evicted != 1 {
		t.Errorf("Stats = %+v; want 3 names, 1 evicted", s)
	}
}

// TestTableQueryFlood: past its bound the table forgets the oldest queries, and still answers the newest.
func TestTableQueryFlood(t *testing.T) {
	tb := New(0)
	const n = maxQueries + 100
	ev := func(kind bpf.NameKind, i int, msg []byte) *bpf.NameEvent {
		return &bpf.NameEvent{Kind: kind, NetnsCookie: podNS, Proto: 17, Remote: resolver, Payload: msg,
			Local: netip.AddrPortFrom(podLocal.Addr(), uint16(1024+i))}
	}
	now := t0
	for i := range n {
		tb.Add(ev(bpf.NameDNSQuery, i, dnsQuery(t, uint16(i), "a.example.")), now)
		now = now.Add(time.Microsecond)
	}
	if n := len(tb.queries); n > maxQueries {
		t.Errorf("%d queries waiting; want at most %d", n, maxQueries)
	}
	for i := n - maxQueries; i < n; i++ {
		a := dnsAnswer(t, uint16(i), "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})
		tb.Add(ev(bpf.NameDNSAnswer, i, a), now)
	}
	if s := tb.Stats(); s.Unasked != 0 {
		t.Errorf("Stats.Unasked = %d after answers to the newest %d queries; want 0", s.Unasked, maxQueries)
	}
	tb.Add(ev(bpf.NameDNSAnswer, 0, dnsAnswer(t, 0, "a.example.", rr{name: "a.example.", addr: "192.0.2.1"})), now)
	if s := tb.Stats(); s.Unasked != 1 {
		t.Errorf("Stats.Unasked = %d after an answer to the oldest query; want 1: forgotten", s.Unasked)
	}
}

// TestTableConcurrent: the reader goroutine adds events while the collector looks names up and expires them
// (run with -race).
func TestTableConcurrent(t *testing.T) {
	tb := New(64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			tb.Add(helloEvent(podNS, fmt.Sprintf("192.0.2.%d", i%200), sniHello("h.example", nil, nil)), t0)
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			if s := tb.Stats(); s.Events != 2000 || s.Names > 64 {
				t.Errorf("Stats = %+v; want 2000 events, at most 64 names", s)
			}
			return
		default:
		}
		tb.Lookup(podNS, netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i%200)), t0)
		if i%100 == 0 {
			tb.Expire(t0)
		}
	}
}
