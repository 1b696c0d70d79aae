// Package resolvetest runs the servers the resolver meets, on loopback,
// for tests: TLS servers with certificates generated for the test (from a
// test CA, self-signed, expired, oversized), servers that stall, stream
// garbage or speak another protocol, and a DNS server answering PTR queries.
//
// Linux routes all of 127.0.0.0/8 to lo, so each server can have its own
// address (127.0.0.2, 127.0.0.3, ...) on a shared port.
package resolvetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// CA issues certificates for a test; Pool trusts it.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
	Pool *x509.CertPool
}

var serial atomic.Int64

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewCA makes a certificate authority valid from an hour ago for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "netcost test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{cert: cert, key: key, der: der, Pool: pool}
}

// Spec describes a leaf certificate.
type Spec struct {
	CommonName string
	DNSNames   []string
	Expired    bool // valid from two days ago to yesterday
	SelfSigned bool // signed by its own key, not the CA
	// Padding appends this many copies of the CA certificate to the chain
	// the server sends, to make it large.
	Padding int
}

// Issue makes a certificate and key for a TLS server.
func (ca *CA) Issue(t testing.TB, s Spec) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: s.CommonName}, DNSNames: s.DNSNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.Expired {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	parent, signer := ca.cert, ca.key
	if s.SelfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	for range s.Padding {
		chain = append(chain, ca.der)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key}
}

// Server is a listener serving a test's connections until the test ends.
type Server struct {
	Addr netip.AddrPort
	ln   net.Listener
	wg   sync.WaitGroup

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	// Written counts the bytes handlers wrote (Garbage).
	Written atomic.Int64
}

// Listen listens on ip:port (port 0: any free port).
func Listen(t testing.TB, ip string, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on %s:%d: %v", ip, port, err)
	}
	return ln
}

// Serve runs handle for each connection to ln, in its own goroutine, and
// stops (closing ln and every connection) when the test ends.
func Serve(t testing.TB, ln net.Listener, handle func(*Server, net.Conn)) *Server {
	s := &Server{Addr: netip.MustParseAddrPort(ln.Addr().String()), ln: ln}
	var conns sync.Map
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer conns.Delete(c)
				defer c.Close()
				s.mu.Lock()
				s.inFlight++
				s.maxInFlight = max(s.maxInFlight, s.inFlight)
				s.mu.Unlock()
				handle(s, c)
				s.mu.Lock()
				s.inFlight--
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

// Peak is the most connections served at once so far.
func (s *Server) Peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// TLS answers handshakes with cert, or with bySNI[name] when the client
// sends a server name listed there, after waiting delay.
func TLS(cert tls.Certificate, bySNI map[string]tls.Certificate, delay time.Duration) func(*Server, net.Conn) {
	cfg := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := bySNI[h.ServerName]; ok {
			return &c, nil
		}
		return &cert, nil
	}}
	return func(_ *Server, c net.Conn) {
		time.Sleep(delay)
		tc := tls.Server(c, cfg)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc) // until the client hangs up
		}
	}
}

// Stall accepts and never answers; it reads until the client hangs up.
func Stall(_ *Server, c net.Conn) { io.Copy(io.Discard, c) }

// Garbage writes n bytes that are not TLS, as fast as the client takes them.
func Garbage(n int) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		buf := []byte(strings.Repeat("garbage\x00\xff", 4096))
		for left := n; left > 0; {
			w, err := c.Write(buf[:min(left, len(buf))])
			s.Written.Add(int64(w))
			if err != nil {
				return
			}
			left -= w
		}
	}
}

// Record sends TLS handshake records that never end: a server hello is
// expected, and each record claims more of a huge handshake message.
func Record(n int) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		// A ServerHello claiming 60,000 bytes (under Go's 64 KiB handshake
		// cap) in 16 KiB records: the client keeps reading.
		rec := make([]byte, 5+16384)
		copy(rec, []byte{22, 3, 3, 0x40, 0x00})
		copy(rec[5:], []byte{2, 0x00, 0xea, 0x60})
		for left := n; left > 0; left -= len(rec) {
			w, err := c.Write(rec)
			s.Written.Add(int64(w))
			if err != nil {
				return
			}
			copy(rec[5:], make([]byte, 4))
		}
	}
}

// Banner writes a non-TLS greeting (as an SSH or SMTP server would) and
// waits for the client to hang up.
func Banner(banner string) func(*Server, net.Conn) {
	return func(_ *Server, c net.Conn) {
		c.Write([]byte(banner))
		io.Copy(io.Discard, c)
	}
}

// ClosedPort returns a port on ip where nothing listens.
func ClosedPort(t testing.TB, ip string) int {
	ln := Listen(t, ip, 0)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// SharedPort listens on the same free port on every ip, for a resolver
// configured with one port; it retries with another port if one is taken.
func SharedPort(t testing.TB, ips []string) (int, []net.Listener) {
	t.Helper()
outer:
	for range 20 {
		first := Listen(t, ips[0], 0)
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				for _, l := range lns {
					l.Close()
				}
				continue outer
			}
			lns = append(lns, ln)
		}
		return port, lns
	}
	t.Fatal("no port free on every address")
	return 0, nil
}

// Loopback returns n distinct loopback addresses from 127.0.0.first.
func Loopback(first, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = netip.AddrFrom4([4]byte{127, 0, byte((first + i) / 256), byte((first + i) % 256)}).String()
	}
	return out
}

// DNS is a DNS server on 127.0.0.1 answering PTR queries from a table.
type DNS struct {
	Addr    string
	Queries atomic.Int64
}

// ServeDNS answers PTR queries for the addresses in ptr (IP -> name);
// other PTR queries get NXDOMAIN, and queries for the addresses in silent
// get no answer at all.
func ServeDNS(t testing.TB, ptr map[string]string, silent ...string) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &DNS{Addr: pc.LocalAddr().String()}
	names := map[string]string{}
	for ip, name := range ptr {
		names[reverseName(ip)] = name
	}
	quiet := map[string]bool{}
	for _, ip := range silent {
		quiet[reverseName(ip)] = true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d.Queries.Add(1)
			if resp, ok := answer(buf[:n], names, quiet); ok {
				pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return d
}

func reverseName(ip string) string {
	a := netip.MustParseAddr(ip)
	if a.Is4() {
		b := a.As4()
		return strconv.Itoa(int(b[3])) + "." + strconv.Itoa(int(b[2])) + "." + strconv.Itoa(int(b[1])) + "." + strconv.Itoa(int(b[0])) + ".in-addr.arpa."
	}
	const hex = "0123456789abcdef"
	b := a.As16()
	var sb strings.Builder
	for i := 15; i >= 0; i-- {
		sb.WriteByte(hex[b[i]&0xf])
		sb.WriteByte('.')
		sb.WriteByte(hex[b[i]>>4])
		sb.WriteByte('.')
	}
	return sb.String() + "ip6.arpa."
}

func answer(query []byte, names map[string]string, quiet map[string]bool) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	qname := strings.ToLower(q.Name.String())
	if quiet[qname] {
		return nil, false
	}
	name, found := names[qname]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true}
	if !found || q.Type != dnsmessage.TypePTR {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if found && q.Type == dnsmessage.TypePTR {
		target, err := dnsmessage.NewName(strings.TrimSuffix(name, ".") + ".")
		if err != nil {
			return nil, false
		}
		if b.PTRResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.PTRResource{PTR: target}) != nil {
			return nil, false
		}
	}
	resp, err := b.Finish()
	return resp, err == nil
}
