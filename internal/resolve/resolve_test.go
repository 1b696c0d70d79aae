package resolve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/atomicfile"
	"github.com/netcost/netcost/internal/ipranges"
	rt "github.com/netcost/netcost/internal/resolve/resolvetest"
)

const rangesFixture = `{"syncToken":"1","createDate":"2026-11-21-00-00-00","prefixes":[
 {"ip_prefix":"127.0.0.13/32","region":"us-east-1","service":"AMAZON"},
 {"ip_prefix":"127.0.0.13/32","region":"us-east-1","service":"EC2"},
 {"ip_prefix":"127.0.0.14/32","region":"us-east-1","service":"S3"},
 {"ip_prefix":"127.0.0.3/32","region":"us-east-1","service":"AMAZON"}]}`

func ranges(t *testing.T) *ipranges.Ranges {
	r, err := ipranges.Parse(strings.NewReader(rangesFixture))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func addrs(ips ...string) []netip.Addr {
	out := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		out[i] = netip.MustParseAddr(ip)
	}
	return out
}

// TestServers: every kind of server the resolver meets, resolved in one
// batch, each with the right answer or a clear "unknown" and a reason.
func TestServers(t *testing.T) {
	ca := rt.NewCA(t)
	ips := rt.Loopback(2, 14) // 127.0.0.2 .. 127.0.0.15
	ip := func(n int) string { return ips[n-2] }
	// Listen on all but .11 (a closed port) and .13, .14 (nothing there).
	var listenOn []string
	for _, a := range ips {
		if a != ip(11) && a != ip(13) && a != ip(14) {
			listenOn = append(listenOn, a)
		}
	}
	port, lns := rt.SharedPort(t, listenOn)
	ln := map[string]net.Listener{}
	for i, a := range listenOn {
		ln[a] = lns[i]
	}
	const tenMB = 10 << 20
	rt.Serve(t, ln[ip(2)], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "cn-only.example.com"}), nil, 0))
	rt.Serve(t, ln[ip(3)], rt.TLS(ca.Issue(t, rt.Spec{DNSNames: []string{"*.sqs.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com"}}), nil, 0))
	rt.Serve(t, ln[ip(4)], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "api.stripe.com", DNSNames: []string{"api.stripe.com"}, Expired: true}), nil, 0))
	rt.Serve(t, ln[ip(5)], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "self.example.net", SelfSigned: true}), nil, 0))
	rt.Serve(t, ln[ip(6)], rt.Stall)
	garbage := rt.Serve(t, ln[ip(7)], rt.Garbage(tenMB))
	records := rt.Serve(t, ln[ip(8)], rt.Record(tenMB))
	rt.Serve(t, ln[ip(9)], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "big.example.com", Padding: 250}), nil, 0))
	rt.Serve(t, ln[ip(10)], rt.Banner("SSH-2.0-OpenSSH_9.6\r\n"))
	// .12 presents a self-signed default certificate, and a verified one for
	// the name its PTR record gives: that name is then sent as SNI.
	rt.Serve(t, ln[ip(12)], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "default.invalid", SelfSigned: true}),
		map[string]tls.Certificate{"intake.datadoghq.com": ca.Issue(t, rt.Spec{DNSNames: []string{"intake.datadoghq.com"}})}, 0))
	// .15: a server that only talks with SNI, where DNS never answers.
	rt.Serve(t, ln[ip(15)], rt.Stall)

	dns := rt.ServeDNS(t, map[string]string{
		ip(12): "intake.datadoghq.com",
		ip(13): "ec2-3-210-1-1.compute-1.amazonaws.com",
	}, ip(6))

	const timeout = time.Second
	r := &Resolver{Port: port, Timeout: timeout, Roots: ca.Pool, DNS: DNSResolver(dns.Addr), Ranges: ranges(t)}
	start := time.Now()
	res := r.Resolve(t.Context(), addrs(ips...))
	elapsed := time.Since(start)
	t.Logf("%d addresses in %s", len(ips), elapsed)
	// Each address has its own deadline and they run at once: the batch
	// ends with its slowest address, not with the sum of them. The bound
	// is loose (the machine may be busy); a hang would blow through it.
	if elapsed > 5*timeout {
		t.Errorf("batch took %s; want about one %s timeout", elapsed, timeout)
	}

	type want struct {
		name, belongs string
		verified      bool
		certs         int
		problem       string // a substring of Problems, "" for none
	}
	for n, w := range map[int]want{
		2:  {"cn-only.example.com", "cn-only.example.com", true, 1, "ptr: no PTR record"},
		3:  {"sqs.us-east-1.amazonaws.com", "Amazon SQS", true, 1, "ptr: no PTR record"},
		4:  {"api.stripe.com", "Stripe", false, 1, ""},
		5:  {"self.example.net", "self.example.net", false, 1, ""},
		6:  {"", Unknown, true, 0, "tls: no answer within 1s"},
		7:  {"", Unknown, true, 0, "tls: not a TLS server"},
		8:  {"", Unknown, true, 0, "tls: the server sent more than 65536 bytes without finishing the handshake"},
		9:  {"", Unknown, true, 0, "tls: the server sent more than 65536 bytes"},
		10: {"", Unknown, true, 0, "tls: not a TLS server"},
		11: {"", Unknown, true, 0, "tls: cannot connect"},
		12: {"intake.datadoghq.com", "Datadog", true, 2, ""},
		13: {"ec2-3-210-1-1.compute-1.amazonaws.com", "Amazon EC2", true, 0, "tls: cannot connect"},
		14: {"", "Amazon S3 (us-east-1)", true, 0, "tls: cannot connect"},
		15: {"", Unknown, true, 0, "tls: no answer within 1s"},
	} {
		got := res[n-2]
		if got.IP != ip(n) || got.Name != w.name || got.BelongsTo != w.belongs || got.Verified() != w.verified || len(got.Certificates) != w.certs {
			t.Errorf("%s: name %q, belongs_to %q, verified %v, %d certificates; want %q, %q, %v, %d\n%+v",
				ip(n), got.Name, got.BelongsTo, got.Verified(), len(got.Certificates), w.name, w.belongs, w.verified, w.certs, got)
		}
		if w.problem != "" && !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.Contains(p, w.problem) }) {
			t.Errorf("%s: problems %q; want one with %q", ip(n), got.Problems, w.problem)
		}
		if !got.complete {
			t.Errorf("%s: not complete", ip(n))
		}
	}
	if c := res[4-2].Certificates[0]; !strings.Contains(c.VerifyError, "expired") || c.NotAfter.After(time.Now()) {
		t.Errorf("expired certificate: %+v", c)
	}
	if c := res[5-2].Certificates[0]; !strings.Contains(c.VerifyError, "unknown authority") {
		t.Errorf("self-signed certificate: %+v", c)
	}
	if c := res[12-2].Certificates; c[0].SNI != "" || c[0].Verified || c[1].SNI != "intake.datadoghq.com" || !c[1].Verified {
		t.Errorf("SNI from the PTR name: %+v", c)
	}
	if p := res[6-2].Problems; !slices.Contains(p, "ptr: no answer within 1s") {
		t.Errorf("silent DNS: problems %q", p)
	}
	if res[13-2].AWSService != "EC2" || res[13-2].AWSRegion != "us-east-1" {
		t.Errorf("ip-ranges: %+v", res[13-2])
	}
	// The servers that stream 10 MB were cut off: the client read at most
	// 64 KiB and hung up; what the server wrote is what the socket buffers took.
	for name, s := range map[string]*rt.Server{"garbage": garbage, "records": records} {
		if w := s.Written.Load(); w >= tenMB {
			t.Errorf("%s server wrote all %d bytes: the client kept reading", name, w)
		}
	}
}

// TestReadLimit: the limit is what stops a large but valid chain.
func TestReadLimit(t *testing.T) {
	ca := rt.NewCA(t)
	ln := rt.Listen(t, "127.0.0.2", 0)
	rt.Serve(t, ln, rt.TLS(ca.Issue(t, rt.Spec{CommonName: "big.example.com", Padding: 250}), nil, 0))
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tt := range []struct {
		limit int64
		name  string
	}{{DefaultMaxRead, ""}, {1 << 20, "big.example.com"}} {
		r := &Resolver{Port: port, MaxRead: tt.limit, NoPTR: true, Roots: ca.Pool}
		got := r.Resolve(t.Context(), addrs("127.0.0.2"))[0]
		if got.Name != tt.name {
			t.Errorf("MaxRead %d: name %q (problems %q); want %q", tt.limit, got.Name, got.Problems, tt.name)
		}
	}
}

// TestConcurrent: 100 addresses whose servers each take 200 ms resolve
// at once (bounded by Concurrency) within a batch budget that one at a
// time (20 s) could never meet.
func TestConcurrent(t *testing.T) {
	ca := rt.NewCA(t)
	ips := rt.Loopback(20, 100)
	port, lns := rt.SharedPort(t, ips)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	for i, ln := range lns {
		serve := rt.TLS(ca.Issue(t, rt.Spec{CommonName: fmt.Sprintf("host-%d.example.com", i)}), nil, 0)
		rt.Serve(t, ln, func(s *rt.Server, c net.Conn) {
			// Counted while the client waits for the server's hello, so
			// while it holds one of its Concurrency slots.
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			serve(s, c)
		})
	}
	const concurrency = 32
	r := &Resolver{Port: port, Concurrency: concurrency, NoPTR: true, Roots: ca.Pool}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	res := r.Resolve(ctx, addrs(ips...))
	t.Logf("100 addresses in %s, at most %d at once", time.Since(start), peak)
	for i, got := range res {
		if want := fmt.Sprintf("host-%d.example.com", i); got.Name != want || !got.Verified() {
			t.Errorf("%s: %q (problems %q); want %q", ips[i], got.Name, got.Problems, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if peak < 2 || peak > concurrency {
		t.Errorf("at most %d connections at once; want between 2 and %d", peak, concurrency)
	}
}

// TestBatchDeadline: when the caller's deadline passes, every address
// still gets a result ("unknown", saying why), none is cached, and the
// ranges still answer.
func TestBatchDeadline(t *testing.T) {
	ips := rt.Loopback(13, 2) // .13 (EC2 in the fixture) and .14
	port, lns := rt.SharedPort(t, ips)
	for _, ln := range lns {
		rt.Serve(t, ln, rt.Stall)
	}
	cache, err := OpenCache(filepath.Join(t.TempDir(), "c.json"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Port: port, Concurrency: 1, Timeout: 5 * time.Second, NoPTR: true, Ranges: ranges(t), Cache: cache}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	res := r.Resolve(ctx, addrs(ips...))
	for _, got := range res {
		if got.Name != "" || len(got.Problems) != 1 || !strings.Contains(got.Problems[0], "out of time") {
			t.Errorf("%s: %+v; want no name and one 'out of time' problem", got.IP, got)
		}
	}
	if res[0].BelongsTo != "Amazon EC2 (us-east-1)" || res[1].BelongsTo != "Amazon S3 (us-east-1)" {
		t.Errorf("belongs_to %q, %q; want the ip-ranges services", res[0].BelongsTo, res[1].BelongsTo)
	}
	if len(cache.entries) != 0 {
		t.Errorf("cached %d results cut short by the caller", len(cache.entries))
	}
}

// TestCache: results are reused within their TTL (no connection), across
// runs through the file, and asked again after it; unknowns expire sooner.
func TestCache(t *testing.T) {
	ca := rt.NewCA(t)
	ips := rt.Loopback(2, 2) // .2 serves TLS; .3 is closed
	port, lns := rt.SharedPort(t, ips[:1])
	rt.Serve(t, lns[0], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "cached.example.com"}), nil, 0))
	path := filepath.Join(t.TempDir(), "sub", "resolve.json")
	clock := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	open := func() *Cache {
		c, err := OpenCache(path, 24*time.Hour, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	resolve := func(c *Cache) []Result {
		r := &Resolver{Port: port, NoPTR: true, Roots: ca.Pool, Cache: c, Now: now}
		res := r.Resolve(t.Context(), addrs(ips...))
		if err := c.Save(clock); err != nil {
			t.Fatal(err)
		}
		return res
	}
	c := open()
	first := resolve(c)
	if first[0].Cached || first[0].Name != "cached.example.com" || first[1].BelongsTo != Unknown {
		t.Fatalf("first run: %+v", first)
	}
	// Proof of no connection: the server is gone, the answer is still there.
	lns[0].Close()
	clock = clock.Add(59 * time.Minute)
	again := resolve(open())
	if !again[0].Cached || again[0].Name != "cached.example.com" || !again[1].Cached {
		t.Errorf("within both TTLs, from the file: %+v", again)
	}
	clock = clock.Add(2 * time.Minute) // 61 minutes: the unknown is asked again, the name is not
	again = resolve(open())
	if !again[0].Cached || again[1].Cached {
		t.Errorf("after the unknown TTL: cached %v, %v; want true, false", again[0].Cached, again[1].Cached)
	}
	clock = clock.Add(24 * time.Hour)
	again = resolve(open())
	if again[0].Cached || again[0].Name != "" {
		t.Errorf("after the TTL: %+v; want asked again (and the server is gone)", again[0])
	}
	// Expired entries are dropped from the file.
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "cached.example.com") {
		t.Errorf("expired entry still in the file: %s", data)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, %v; want 0600", st.Mode(), err)
	}
	// A damaged file: an error naming it, and an empty cache that works.
	os.WriteFile(path, []byte("{not json"), 0o644)
	c, err := OpenCache(path, 0, 0)
	if err == nil || !strings.Contains(err.Error(), path) || c == nil || len(c.entries) != 0 {
		t.Errorf("damaged cache: %v, %+v", err, c)
	}
	// netcost's own cache that it cannot use is replaced at the next save.
	os.WriteFile(path, []byte(`{"netcost_cache":"resolve","version":99,"entries":{"x":7}}`), 0o600)
	if c, err = OpenCache(path, 0, 0); err == nil || !strings.Contains(err.Error(), "version 99, want 2 (it will be rewritten)") {
		t.Errorf("another version: %v", err)
	}
	c.put("203.0.113.1", Result{IP: "203.0.113.1", BelongsTo: "x", Name: "x.example.com", ResolvedAt: clock})
	if err := c.Save(clock); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), `{"netcost_cache":"resolve","version":2,"entries":{"203.0.113.1":`) {
		t.Errorf("rewritten cache: %s", data)
	}
	// No cache at all is fine too.
	var none *Cache
	if _, ok := none.get("x", clock); ok || none.Save(clock) != nil {
		t.Error("nil cache")
	}
}

// TestCacheLeavesOtherFilesAlone: a cache path that names a file netcost
// did not write as its cache (a typo such as --cache ~/.bashrc) is
// neither read nor written: the file keeps its bytes exactly.
func TestCacheLeavesOtherFilesAlone(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, other := range []string{
		"export PATH=$HOME/bin:$PATH\n",
		"",
		`{"version":1}`,
		`{"version":1,"entries":{},"user":"data"}`,
		`{"version":2,"entries":{}}`,
		`{"netcost_cache":"prices","version":2,"entries":{}}`,
		`[1,2,3]`,
	} {
		path := filepath.Join(dir, "bashrc")
		if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCache(path, 0, 0)
		if !errors.Is(err, ErrNotCache) || !strings.HasPrefix(err.Error(), path+": not a netcost resolve cache; it is left as it is") {
			t.Errorf("OpenCache over %q: %v; want ErrNotCache naming the file", other, err)
		}
		c.put("203.0.113.1", Result{IP: "203.0.113.1", BelongsTo: Unknown, ResolvedAt: clock})
		if err := c.Save(clock); err != nil {
			t.Errorf("Save over %q: %v; want nothing written and no second message", other, err)
		}
		// A file that turns up at the path after OpenCache is left alone too.
		os.Remove(path)
		fresh, err := OpenCache(path, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, []byte(other), 0o644)
		fresh.put("203.0.113.1", Result{IP: "203.0.113.1", BelongsTo: Unknown, ResolvedAt: clock})
		if err := fresh.Save(clock); !errors.Is(err, atomicfile.ErrForeign) {
			t.Errorf("Save over %q written since: %v; want ErrForeign", other, err)
		}
		if got, _ := os.ReadFile(path); string(got) != other {
			t.Errorf("the file holding %q now holds %.60q", other, got)
		}
	}
	// A directory is not a cache either.
	if _, err := OpenCache(dir, 0, 0); !errors.Is(err, ErrNotCache) {
		t.Errorf("OpenCache over a directory: %v; want ErrNotCache", err)
	}
}

// TestCacheVersion1: the layout netcost wrote before the cache carried
// its kind (version 1: only version and entries) is read, and rewritten
// in version 2's at the next save even with nothing new.
func TestCacheVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolve.json")
	clock := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	// As the previous code wrote it (netcost resolve 203.0.113.9).
	v1 := `{"version":1,"entries":{"203.0.113.9:443":{"ip":"203.0.113.9","remote_name":"api.stripe.com","belongs_to":"Stripe",` +
		`"resolved_at":"2026-11-22T02:00:00Z"}}}`
	os.WriteFile(path, []byte(v1), 0o644)
	c, err := OpenCache(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.get("203.0.113.9:443", clock); !ok || r.Name != "api.stripe.com" || !r.Cached {
		t.Errorf("version 1 entry: %+v, %v; want it read", r, ok)
	}
	if err := c.Save(clock); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), `{"netcost_cache":"resolve","version":2,"entries":{"203.0.113.9:443":{"ip":"203.0.113.9"`) {
		t.Errorf("after a save: %s; want version 2 with the entry", data)
	}
}

// TestReverseDNS: names come from PTR records through the configured
// server; a name that maps to a known owner gives belongs_to.
func TestReverseDNS(t *testing.T) {
	dns := rt.ServeDNS(t, map[string]string{
		"127.0.0.2": "queue.amazonaws.com.",
		"::1":       "mail.example.org",
	})
	port := rt.ClosedPort(t, "127.0.0.2")
	r := &Resolver{Port: port, DNS: DNSResolver(dns.Addr)}
	res := r.Resolve(t.Context(), addrs("127.0.0.2", "::1", "127.0.0.3"))
	if !slices.Equal(res[0].PTR, []string{"queue.amazonaws.com"}) || res[0].BelongsTo != "Amazon SQS" || res[0].Name != "queue.amazonaws.com" {
		t.Errorf("127.0.0.2: %+v", res[0])
	}
	if res[1].Name != "mail.example.org" || res[1].BelongsTo != "mail.example.org" {
		t.Errorf("::1: %+v", res[1])
	}
	if res[2].PTR != nil || !slices.Contains(res[2].Problems, "ptr: no PTR record") {
		t.Errorf("127.0.0.3: %+v", res[2])
	}
	if dns.Queries.Load() < 3 {
		t.Errorf("%d DNS queries; want the local server asked for each address", dns.Queries.Load())
	}
}

func TestBelongsTo(t *testing.T) {
	for _, tt := range []struct {
		names           []string
		service, region string
		want            string
	}{
		{[]string{"queue.amazonaws.com"}, "AMAZON", "us-east-1", "Amazon SQS"},
		{[]string{"feeds.supplier.example", "api.stripe.com"}, "", "", "Stripe"},
		{[]string{"feeds.supplier.example"}, "", "", "feeds.supplier.example"},
		{[]string{"something.us-east-1.amazonaws.com"}, "EC2", "us-east-1", "Amazon EC2"},
		{[]string{"something.us-east-1.amazonaws.com"}, "AMAZON", "us-east-1", "AWS"},
		{nil, "S3", "eu-west-1", "Amazon S3 (eu-west-1)"},
		{nil, "AMAZON", "", "AWS"},
		{nil, "", "", Unknown},
	} {
		if got := BelongsTo(tt.names, tt.service, tt.region); got != tt.want {
			t.Errorf("BelongsTo(%q, %q, %q) = %q; want %q", tt.names, tt.service, tt.region, got, tt.want)
		}
	}
}

func TestCertificateNames(t *testing.T) {
	c := Certificate{CommonName: "Example Corp", DNSNames: []string{"*.example.com", "example.com", "EXAMPLE.com."}}
	if got := c.names(); !slices.Equal(got, []string{"example.com", "*.example.com"}) {
		t.Errorf("names = %q", got)
	}
	for host, want := range map[string]bool{"example.com": true, "a.example.com": true, "a.b.example.com": false, "example.org": false} {
		if c.covers(host) != want {
			t.Errorf("covers(%q) = %v", host, !want)
		}
	}
}

// TestDuplicates: an address given several times (also IPv4-mapped) is
// asked once, and every occurrence gets its answer.
func TestDuplicates(t *testing.T) {
	ca := rt.NewCA(t)
	ln := rt.Listen(t, "127.0.0.2", 0)
	var conns atomic.Int64
	serve := rt.TLS(ca.Issue(t, rt.Spec{CommonName: "once.example.com"}), nil, 0)
	rt.Serve(t, ln, func(s *rt.Server, c net.Conn) { conns.Add(1); serve(s, c) })
	r := &Resolver{Port: ln.Addr().(*net.TCPAddr).Port, NoPTR: true, Roots: ca.Pool}
	res := r.Resolve(t.Context(), addrs("127.0.0.2", "::ffff:127.0.0.2", "127.0.0.2"))
	for i, got := range res {
		if got.IP != "127.0.0.2" || got.Name != "once.example.com" {
			t.Errorf("[%d] = %+v", i, got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections; want 1", n)
	}
}
