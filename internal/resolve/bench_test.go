package resolve

import (
	"fmt"
	"testing"
	"time"

	rt "github.com/netcost/netcost/internal/resolve/resolvetest"
)

// BenchmarkResolve100 measures the wall time of one batch of 100
// addresses (127.0.0.20-119), 32 at a time, no cache:
//
//	tls:      each serves a certificate at once (handshake and verify cost)
//	tls+ptr:  the same, plus a reverse lookup each from a local DNS server
//	stall:    each accepts and never answers (200 ms timeout): the worst
//	          case is ceil(100/32) = 4 rounds of the timeout
func BenchmarkResolve100(b *testing.B) {
	ca := rt.NewCA(b)
	ips := rt.Loopback(20, 100)
	ptr := map[string]string{}
	for i, ip := range ips {
		ptr[ip] = fmt.Sprintf("host-%d.example.com", i)
	}
	dns := rt.ServeDNS(b, ptr)
	tlsPort, lns := rt.SharedPort(b, ips)
	for i, ln := range lns {
		rt.Serve(b, ln, rt.TLS(ca.Issue(b, rt.Spec{CommonName: fmt.Sprintf("host-%d.example.com", i)}), nil, 0))
	}
	stallPort, lns := rt.SharedPort(b, ips)
	for _, ln := range lns {
		rt.Serve(b, ln, rt.Stall)
	}
	for _, bc := range []struct {
		name string
		r    *Resolver
		want string // belongs_to of every address
	}{
		{"tls", &Resolver{Port: tlsPort, NoPTR: true, Roots: ca.Pool}, ""},
		{"tls+ptr", &Resolver{Port: tlsPort, DNS: DNSResolver(dns.Addr), Roots: ca.Pool}, ""},
		{"stall", &Resolver{Port: stallPort, NoPTR: true, Timeout: 200 * time.Millisecond}, Unknown},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for i, res := range bc.r.Resolve(b.Context(), addrs(ips...)) {
					if want := fmt.Sprintf("host-%d.example.com", i); bc.want == "" && res.Name != want || bc.want != "" && res.BelongsTo != bc.want {
						b.Fatalf("%s: %+v", ips[i], res)
					}
				}
			}
		})
	}
}
