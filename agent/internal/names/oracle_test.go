package names

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The DNS parser in dns.go is hand-written for speed; these fuzz tests hold it to
// golang.org/x/net/dns/dnsmessage, which reads every record of a message.

// oracleNames are the names FuzzParseAnswerOracle builds answers from: few, so that chains, loops and
// records of names the question does not lead to all occur; in mixed case, as servers may send them.
var oracleNames = []string{"api.example.com.", "API.example.COM.", "edge.cdn.example.", "Edge.CDN.example.",
	"e1.cdn.example.", "other.example.", "loop.example.", "x.y.z.example."}

// asciiLower is s with ASCII letters in lower case, as DNS compares names.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// oracleRecord is a record the fuzzer chose: its owner, and an address or a CNAME target.
type oracleRecord struct {
	owner  string
	addr   netip.Addr
	target string
	ttl    uint32
}

// FuzzParseAnswerOracle builds a response with dnsmessage (compressed, as servers send them) from the
// fuzzer's bytes: a question, an RCODE and up to 20 A, AAAA and CNAME records, at most one CNAME a name (RFC
// 1034 3.6.2). parseAnswer must give exactly the addresses of the names the question leads to through at most
// 7 CNAMEs, in record order, each with the smallest TTL on its way; none, and no question, if the RCODE is
// not success.
func FuzzParseAnswerOracle(f *testing.F) {
	f.Add([]byte{0, 0, 2, 1, 10, 2, 0, 3, 60, 2, 1, 9, 30})
	f.Add([]byte{1, 0, 2, 6, 10, 6, 2, 6, 60, 6, 0, 1, 5})
	f.Add([]byte{4, 3, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		question := oracleNames[int(in[0])%len(oracleNames)]
		rcode := dnsmessage.RCodeSuccess
		if in[1]%4 == 3 {
			rcode = dnsmessage.RCodeNameError
		}
		var recs []oracleRecord
		cname := map[string]bool{}
		for rest := in[2:]; len(rest) >= 4 && len(recs) < 20; rest = rest[4:] {
			r := oracleRecord{owner: oracleNames[int(rest[0])%len(oracleNames)], ttl: uint32(rest[3])}
			switch rest[1] % 3 {
			case 0:
				r.addr = netip.AddrFrom4([4]byte{192, 0, 2, rest[2]})
			case 1:
				r.addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: rest[2]})
			default:
				if cname[asciiLower(r.owner)] {
					continue
				}
				cname[asciiLower(r.owner)] = true
				r.target = oracleNames[int(rest[2])%len(oracleNames)]
			}
			recs = append(recs, r)
		}
		msg := buildResponse(t, question, rcode, recs)

		got, err := parseTestAnswer(msg)
		if err != nil {
			t.Fatalf("parseAnswer of a well-formed response: %v", err)
		}
		q := asciiLower(question[:len(question)-1])
		var want []testAddr
		if rcode == dnsmessage.RCodeSuccess {
			want = chainAddresses(q, recs)
		} else {
			q = "" // a failed answer settles its query, and names nothing
		}
		if got.Question != q {
			t.Errorf("question %q; want %q", got.Question, q)
		}
		if !slices.Equal(got.Addrs, want) {
			t.Errorf("addresses\n got %v\nwant %v\nof question %s, records %+v", got.Addrs, want, question, recs)
		}
	})
}

// chainAddresses is what a response with recs says of question: the addresses of the names it leads to
// through at most 7 CNAMEs, in record order, each with the smallest TTL on its way.
func chainAddresses(question string, recs []oracleRecord) []testAddr {
	ttlTo := map[string]uint32{question: ^uint32(0)}
	for name, ttl := question, ^uint32(0); len(ttlTo) < 8; {
		next := ""
		for _, r := range recs {
			if r.target != "" && asciiLower(r.owner[:len(r.owner)-1]) == name {
				next, ttl = asciiLower(r.target[:len(r.target)-1]), min(ttl, r.ttl)
			}
		}
		if _, seen := ttlTo[next]; next == "" || seen {
			break
		}
		ttlTo[next] = ttl
		name = next
	}
	var out []testAddr
	for _, r := range recs {
		ttl, ok := ttlTo[asciiLower(r.owner[:len(r.owner)-1])]
		if r.addr.IsValid() && ok {
			out = append(out, testAddr{Addr: r.addr, TTL: time.Duration(min(ttl, r.ttl)) * time.Second})
		}
	}
	return out
}

// buildResponse is a compressed response to an A question with rcode and recs in its answer section.
func buildResponse(t *testing.T, question string, rcode dnsmessage.RCode, recs []oracleRecord) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true, RCode: rcode})
	b.EnableCompression()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(question), Type: dnsmessage.TypeA,
		Class: dnsmessage.ClassINET}))
	must(b.StartAnswers())
	for _, r := range recs {
		h := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(r.owner), Class: dnsmessage.ClassINET, TTL: r.ttl}
		switch {
		case r.target != "":
			must(b.CNAMEResource(h, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(r.target)}))
		case r.addr.Is4():
			must(b.AResource(h, dnsmessage.AResource{A: r.addr.As4()}))
		default:
			must(b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: r.addr.As16()}))
		}
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

// FuzzParseAnswerSound takes any bytes. Wherever dnsmessage reads the whole message, parseAnswer's question
// must be its first, and each address parseAnswer gives must be an A or AAAA record of the answer section,
// owned by a name the question leads to through CNAMEs.
func FuzzParseAnswerSound(f *testing.F) {
	f.Add(dnsAnswer(f, 1, "api.stripe.com.", rr{name: "API.stripe.com.", target: "edge.example.", ttl: 60},
		rr{name: "edge.example.", addr: "192.0.2.1", ttl: 60}, rr{name: "other.example.", addr: "192.0.2.2", ttl: 9}))
	f.Add(dnsAnswer(f, 2, "a.example.", rr{name: "a.example.", addr: "2001:db8::1", ttl: 60}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, _ := parseTestAnswer(msg)
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil {
			return
		}
		qs, err := p.AllQuestions()
		if err != nil {
			return
		}
		var recs []dnsmessage.Resource
		for {
			r, err := p.Answer()
			if err == dnsmessage.ErrSectionDone {
				break
			}
			if err != nil {
				return
			}
			recs = append(recs, r)
		}
		if !h.Response || len(qs) == 0 {
			if len(got.Addrs) > 0 {
				t.Fatalf("addresses %v from a message that is no response with a question", got.Addrs)
			}
			return
		}
		q := asciiLower(qs[0].Name.String())
		if len(q) > 0 && q[len(q)-1] == '.' {
			q = q[:len(q)-1]
		}
		if got.Question != "" && got.Question != q {
			t.Fatalf("question %q; dnsmessage reads %q", got.Question, q)
		}
		if h.RCode != dnsmessage.RCodeSuccess && len(got.Addrs) > 0 {
			t.Fatalf("addresses %v from a failed response (%v)", got.Addrs, h.RCode)
		}
		// Every name the question leads to, however far.
		chain := map[string]bool{q + ".": true}
		for grew := true; grew; {
			grew = false
			for _, r := range recs {
				if c, ok := r.Body.(*dnsmessage.CNAMEResource); ok && chain[asciiLower(r.Header.Name.String())] &&
					!chain[asciiLower(c.CNAME.String())] {
					chain[asciiLower(c.CNAME.String())] = true
					grew = true
				}
			}
		}
		for _, a := range got.Addrs {
			if !slices.ContainsFunc(recs, func(r dnsmessage.Resource) bool {
				if !chain[asciiLower(r.Header.Name.String())] || r.Header.Class != dnsmessage.ClassINET {
					return false
				}
				switch b := r.Body.(type) {
				case *dnsmessage.AResource:
					return netip.AddrFrom4(b.A) == a.Addr
				case *dnsmessage.AAAAResource:
					return netip.AddrFrom16(b.AAAA).Unmap() == a.Addr
				}
				return false
			}) {
				t.Fatalf("address %v: no A or AAAA record of a name on the question's chain holds it", a.Addr)
			}
		}
	})
}
