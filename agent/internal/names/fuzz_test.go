package names

import (
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

// checkName fails unless a name from a packet is one a record may carry: valid and lower case.
func checkName(t *testing.T, name string) {
	if !flows.ValidName(name) || name != strings.ToLower(name) || strings.HasSuffix(name, ".") {
		t.Fatalf("parser gave %q: not a lower-case DNS name", name)
	}
}

func FuzzParseDNS(f *testing.F) {
	f.Add(dnsQuery(f, 1, "a.example."))
	f.Add(dnsAnswer(f, 1, "api.stripe.com.", rr{name: "api.stripe.com.", target: "edge.example.", ttl: 60},
		rr{name: "edge.example.", addr: "192.0.2.1", ttl: 60}, rr{name: "edge.example.", addr: "2001:db8::1", ttl: 60}))
	one := dnsAnswer(f, 1, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})
	f.Add(overTCP(one))
	f.Add(one[:len(one)-3]) // truncated
	loop := append([]byte(nil), one...)
	loop[len(loop)-15] = byte(len(loop) - 16) // the answer's name points at itself
	f.Add(loop)
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, m := range append(splitTCP(msg), msg) {
			if q, _ := ParseQuery(m); q.N > maxQuestions {
				t.Fatalf("%d questions from one query; want at most %d", q.N, maxQuestions)
			}
			a, _ := parseTestAnswer(m)
			if a.Question != "" || len(a.Addrs) > 0 {
				checkName(t, a.Question) // the addresses are the question's: it must be a name
			}
			if len(a.Addrs) > maxAnswers {
				t.Fatalf("%d addresses from one answer; want at most %d", len(a.Addrs), maxAnswers)
			}
		}
	})
}

func FuzzParseClientHello(f *testing.F) {
	f.Add(clientHello(f, "api.stripe.com"))
	f.Add(sniHello("a.example", []byte{0, 21, 0, 2, 0, 0}, nil))
	f.Add([]byte{22, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, hello []byte) {
		if name, err := parseClientHello(hello); err == nil {
			checkName(t, name)
		}
	})
}
