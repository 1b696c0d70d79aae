package testbed

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// serveDNS answers A queries on UDP addr for the names given as NAME=IP, with a TTL of a minute; other
// questions get an empty answer. It prints ready, then serves until killed.
func serveDNS(addr string, names []string) error {
	known := map[string]netip.Addr{}
	for _, n := range names {
		name, ip, _ := strings.Cut(n, "=")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("dns %s: %w", n, err)
		}
		known[strings.TrimSuffix(strings.ToLower(name), ".")+"."] = a
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	buf := make([]byte, 512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		if reply, ok := answer(buf[:n], known); ok {
			pc.WriteTo(reply, from)
		}
	}
}

func answer(query []byte, known map[string]netip.Addr) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if a, ok := known[strings.ToLower(q.Name.String())]; ok && q.Type == dnsmessage.TypeA && a.Is4() {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: a.As4()})
	}
	reply, err := b.Finish()
	return reply, err == nil
}

// lookup resolves the host of hostport through the DNS server at server (IP:PORT), over UDP, as a pod's
// stub resolver does, and returns IP:PORT.
func lookup(hostport, server string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", host, err)
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}
