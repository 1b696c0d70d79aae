package names

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// rr is a resource record for a test answer: an address (A or AAAA) or a CNAME target.
type rr struct {
	name   string
	addr   string
	target string
	ttl    uint32
}

// dnsQuery builds the query a stub resolver sends.
func dnsQuery(t testing.TB, id uint16, names ...string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(n), Type: dnsmessage.TypeA,
			Class: dnsmessage.ClassINET}); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// dnsAnswer builds a response to question with the given answers, compressed as servers send them.
func dnsAnswer(t testing.TB, id uint16, question string, answers ...rr) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, RecursionAvailable: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(question), Type: dnsmessage.TypeA,
		Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if err := b.StartAnswers(); err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		h := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(a.name), Class: dnsmessage.ClassINET, TTL: a.ttl}
		var err error
		switch {
		case a.target != "":
			err = b.CNAMEResource(h, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(a.target)})
		case netip.MustParseAddr(a.addr).Is4():
			err = b.AResource(h, dnsmessage.AResource{A: netip.MustParseAddr(a.addr).As4()})
		default:
			err = b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(a.addr).As16()})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// overTCP puts DNS messages on a TCP stream: each after its 2-byte length.
func overTCP(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(m)))
		out = append(out, m...)
	}
	return out
}

// clientHello returns the first bytes crypto/tls sends for serverName: a real ClientHello.
func clientHello(t testing.TB, serverName string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		conn := tls.Client(c, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
		conn.Handshake() // fails once the test closes the other end
		conn.Close()
	}()
	buf := make([]byte, 16<<10)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	// The record may come in several writes: read it whole.
	need := 5 + int(binary.BigEndian.Uint16(buf[3:5]))
	for n < need {
		m, err := s.Read(buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	return buf[:n]
}
