package main

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

// fakeNames hands out scripted name events, as *bpf.Counter's ReadNames does, then waits for the end. It
// closes fed once they are all handed out, and notes when ReadNames returned.
type fakeNames struct {
	events   []*bpf.NameEvent
	fed      chan struct{}
	returned bool
	lost     uint64
}

func (f *fakeNames) ReadNames(ctx context.Context, fn func(*bpf.NameEvent)) error {
	for _, ev := range f.events {
		ev.Read = time.Now() // as the reader stamps each read
		fn(ev)
		clear(ev.Payload) // the kernel's buffer is reused: the table must have kept nothing of it
	}
	close(f.fed)
	<-ctx.Done()
	f.returned = true
	return nil
}

func (f *fakeNames) NamesLost() (uint64, error) { return f.lost, nil }

// FlushNames has nothing to wait for: the fake hands its events out at once.
func (f *fakeNames) FlushNames(context.Context) error { return nil }

// dnsMsg builds a DNS query (answer invalid) or a response that gives name the address answer.
func dnsMsg(t *testing.T, id uint16, name string, answer netip.Addr) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: answer.IsValid()})
	n := dnsmessage.MustNewName(name)
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if answer.IsValid() {
		if err := b.StartAnswers(); err != nil {
			t.Fatal(err)
		}
		h := dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.ClassINET, TTL: 30}
		if err := b.AResource(h, dnsmessage.AResource{A: answer.As4()}); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestLoopNamesRemotes: with a name reader, the loop reads its events into the table while it drains, the
// records name the remotes the pod asked for (DNS) or sent a TLS server name to (SNI), /metrics counts the
// events, and the reader has returned once the loop has.
func TestLoopNamesRemotes(t *testing.T) {
	pod := netip.MustParseAddrPort("10.0.1.5:41000")
	dns := netip.MustParseAddrPort("10.100.0.10:53")
	queue := netip.MustParseAddr("10.0.3.4")
	hello := []byte{22, 3, 1, 0, 0x43, 1, 0, 0, 0x3f, 3, 3} // a ClientHello record whose only extension is SNI
	hello = append(hello, make([]byte, 32)...)
	hello = append(hello, 0, 0, 2, 0x13, 0x01, 1, 0, 0, 0x14, 0, 0, 0, 0x10, 0, 0x0e, 0, 0, 0x0b)
	hello = append(hello, "api.example"...)
	nr := &fakeNames{fed: make(chan struct{}), lost: 3, events: []*bpf.NameEvent{
		{Kind: bpf.NameDNSQuery, NetnsCookie: podNetns, Proto: 17, Local: pod, Remote: dns,
			Payload: dnsMsg(t, 5, "Queue.Example.", netip.Addr{})},
		{Kind: bpf.NameDNSAnswer, NetnsCookie: podNetns, Proto: 17, Local: pod, Remote: dns,
			Payload: dnsMsg(t, 5, "queue.example.", queue)},
		{Kind: bpf.NameTLSHello, NetnsCookie: podNetns, Proto: 6, Local: pod,
			Remote: netip.MustParseAddrPort("10.0.3.3:1001"), Payload: hello},
		{Kind: bpf.NameTLSHello, NetnsCookie: podNetns, Proto: 6, Local: pod,
			Remote: netip.MustParseAddrPort("10.0.3.9:443"), Payload: []byte("not TLS")},
	}}
	var l *loop
	c := &fakeCounter{cancelAt: 5, gate: nr.fed}
	out, _, err := runLoop(t, c, 2*time.Millisecond, func(lp *loop) {
		l = lp
		lp.a.metrics = metrics.New(16)
		lp.names = newLearner(nr, 0, lp.col, lp.a.metrics)
	})
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	if !nr.returned {
		t.Error("ReadNames had not returned when the loop did")
	}
	named := map[string]string{}
	for _, w := range out.windows {
		for _, r := range w.recs {
			if r.RemoteName != "" && !flows.ValidName(r.RemoteName) || !flows.ValidNameSource(r.RemoteNameSource) &&
				r.RemoteNameSource != "" {
				t.Errorf("record to %s named %q (%q)", r.RemoteIP, r.RemoteName, r.RemoteNameSource)
			}
			if r.RemoteIP == "10.0.3.3" || r.RemoteIP == "10.0.3.4" {
				named[r.RemoteIP] = r.RemoteName + "/" + r.RemoteNameSource
			}
		}
	}
	want := map[string]string{"10.0.3.4": "queue.example/" + flows.NameFromDNS,
		"10.0.3.3": "api.example/" + flows.NameFromSNI}
	for ip, w := range want {
		if named[ip] != w {
			t.Errorf("records to %s are named %q; want %q", ip, named[ip], w)
		}
	}
	s := l.names.stats()
	if s.Events != 4 || s.ParseFailures != 1 || s.Names != 2 || s.KernelLost != 3 {
		t.Errorf("name stats = %+v; want 4 events, 1 parse failure, 2 names, 3 lost in the kernel", s)
	}
}

// lateNames holds its events until FlushNames, as the ring holds what ReadNames has yet to read.
type lateNames struct {
	fakeNames
	mu sync.Mutex
	fn func(*bpf.NameEvent)
}

func (f *lateNames) ReadNames(ctx context.Context, fn func(*bpf.NameEvent)) error {
	f.mu.Lock()
	f.fn = fn
	f.mu.Unlock()
	close(f.fed)
	<-ctx.Done()
	return nil
}

func (f *lateNames) FlushNames(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range f.events {
		ev.Read = time.Now()
		f.fn(ev)
	}
	f.events = nil
	return nil
}

// TestLoopCatchesUpNames: a window's end has the reader hand over what the ring holds before it looks names
// up, so that a name read late (the reader reads up to a second apart) still names its window's flows.
func TestLoopCatchesUpNames(t *testing.T) {
	pod := netip.MustParseAddrPort("10.0.1.5:41000")
	dns := netip.MustParseAddrPort("10.100.0.10:53")
	nr := &lateNames{fakeNames: fakeNames{fed: make(chan struct{}), events: []*bpf.NameEvent{
		{Kind: bpf.NameDNSQuery, NetnsCookie: podNetns, Proto: 17, Local: pod, Remote: dns,
			Payload: dnsMsg(t, 5, "queue.example.", netip.Addr{})},
		{Kind: bpf.NameDNSAnswer, NetnsCookie: podNetns, Proto: 17, Local: pod, Remote: dns,
			Payload: dnsMsg(t, 5, "queue.example.", netip.MustParseAddr("10.0.3.4"))},
	}}}
	c := &fakeCounter{cancelAt: 5, gate: nr.fed}
	out, _, err := runLoop(t, c, 2*time.Millisecond, func(lp *loop) {
		lp.names = newLearner(nr, 0, lp.col, nil)
	})
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	named := false
	for _, w := range out.windows {
		for _, r := range w.recs {
			named = named || r.RemoteIP == "10.0.3.4" && r.RemoteName == "queue.example"
		}
	}
	if !named {
		t.Error("no record to 10.0.3.4 is named queue.example: the window's end did not catch up with the reader")
	}
}
