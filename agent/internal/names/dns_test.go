package names

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(dnsQuery(t, 7, "API.Stripe.com.", "bad\x1bname.example."))
	if err != nil {
		t.Fatalf("ParseQuery = %v", err)
	}
	// The invalid name is kept as a hash: no answer's name is used unless it is valid itself.
	want := []uint64{questionKey(hashOf(t, "api.stripe.com."), typeA), questionKey(hashOf(t, "bad\x1bname.example."), typeA)}
	if q.ID != 7 || !slices.Equal(q.Names[:q.N], want) {
		t.Errorf("ParseQuery = %+v; want ID 7, names %v (as DNS compares them: case aside)", q, want)
	}
	if _, err := ParseQuery(dnsAnswer(t, 7, "a.example.")); err == nil {
		t.Error("ParseQuery(a response) = nil error; want one")
	}
}

// hashOf is hashName of a name given as text.
func hashOf(t *testing.T, s string) uint64 {
	var wire []byte
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		wire = append(append(wire, byte(len(l))), l...)
	}
	var buf [maxWire]byte
	_, n, err := readName(append(wire, 0), 0, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return hashName(buf[:n])
}

func TestParseAnswer(t *testing.T) {
	long := strings.TrimSuffix(strings.Repeat(strings.Repeat("a", 62)+".", 4), ".") // the longest dnsmessage builds
	tests := []struct {
		name    string
		msg     func(t *testing.T) []byte
		wantQ   string // the question the addresses answer, if any
		want    []testAddr
		wantErr bool
	}{
		{"A and AAAA", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, "sqs.us-east-1.amazonaws.com.",
				rr{name: "sqs.us-east-1.amazonaws.com.", addr: "203.0.113.10", ttl: 60},
				rr{name: "SQS.us-east-1.amazonaws.com.", addr: "2001:db8::10", ttl: 30})
		}, "sqs.us-east-1.amazonaws.com", []testAddr{{netip.MustParseAddr("203.0.113.10"), time.Minute},
			{netip.MustParseAddr("2001:db8::10"), 30 * time.Second}}, false},
		{"CNAME chain: the asked name, the chain's smallest TTL", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, "api.stripe.com.",
				rr{name: "api.stripe.com.", target: "api.stripe.com.cdn.cloudflare.net.", ttl: 300},
				rr{name: "api.stripe.com.cdn.cloudflare.net.", target: "edge.cloudflare.net.", ttl: 20},
				rr{name: "edge.cloudflare.net.", addr: "198.51.100.7", ttl: 120})
		}, "api.stripe.com", []testAddr{{netip.MustParseAddr("198.51.100.7"), 20 * time.Second}}, false},
		{"records for a name outside the chain are dropped", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, "api.stripe.com.",
				rr{name: "api.stripe.com.", addr: "198.51.100.7", ttl: 60},
				rr{name: "www.bank.example.", addr: "198.51.100.99", ttl: 60},
				rr{name: "bank.example.", target: "api.stripe.com.", ttl: 60})
		}, "api.stripe.com", []testAddr{{netip.MustParseAddr("198.51.100.7"), time.Minute}}, false},
		{"CNAME loop", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, "a.example.",
				rr{name: "a.example.", target: "b.example.", ttl: 60},
				rr{name: "b.example.", target: "a.example.", ttl: 60},
				rr{name: "b.example.", addr: "192.0.2.1", ttl: 60})
		}, "a.example", []testAddr{{netip.MustParseAddr("192.0.2.1"), time.Minute}}, false},
		{"truncated: the records before the cut", func(t *testing.T) []byte {
			m := dnsAnswer(t, 1, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60},
				rr{name: "a.example.", addr: "192.0.2.2", ttl: 60})
			return m[:len(m)-2]
		}, "a.example", []testAddr{{netip.MustParseAddr("192.0.2.1"), time.Minute}}, true},
		{"compression loop", func(t *testing.T) []byte {
			m := dnsAnswer(t, 1, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})
			// The answer's name is a pointer (0xc0 0x0c) to the question's name: point it at itself.
			at := len(m) - 16
			if m[at] != 0xc0 {
				t.Fatalf("answer name at %d is % x; want a pointer", at, m[at:at+2])
			}
			m[at+1] = byte(at)
			return m
		}, "", nil, true},
		{"zero-length label: the question is the root", func(t *testing.T) []byte {
			m := dnsAnswer(t, 1, "a.example.", rr{name: "a.example.", addr: "192.0.2.1", ttl: 60})
			m[12] = 0 // the question's first label length: now the root name, then garbage
			return m
		}, "", nil, false},
		{"a 252-character name", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, long+".", rr{name: long + ".", addr: "192.0.2.1", ttl: 60})
		}, long, []testAddr{{netip.MustParseAddr("192.0.2.1"), time.Minute}}, false},
		{"a name with a control character", func(t *testing.T) []byte {
			return dnsAnswer(t, 1, "a\x1b[31m.example.", rr{name: "a\x1b[31m.example.", addr: "192.0.2.1", ttl: 60})
		}, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseTestAnswer(tt.msg(t))
			if (err != nil) != tt.wantErr {
				t.Errorf("parseAnswer error = %v; want error %v", err, tt.wantErr)
			}
			if !slices.Equal(a.Addrs, tt.want) {
				t.Errorf("parseAnswer addresses = %v; want %v", a.Addrs, tt.want)
			}
			if len(a.Addrs) > 0 && a.Question != tt.wantQ {
				t.Errorf("parseAnswer question = %q; want %q", a.Question, tt.wantQ)
			}
			if len(a.Addrs) > 0 && !flows.ValidName(a.Question) {
				t.Errorf("parseAnswer gave %q, not a valid name", a.Question)
			}
		})
	}
}

func TestSplitTCP(t *testing.T) {
	q1, q2 := dnsQuery(t, 1, "a.example."), dnsQuery(t, 2, "b.example.")
	got := splitTCP(overTCP(q1, q2))
	if len(got) != 2 || string(got[0]) != string(q1) || string(got[1]) != string(q2) {
		t.Errorf("splitTCP(two messages) = %d messages; want the two", len(got))
	}
	// Cut short: the second message's start.
	got = splitTCP(overTCP(q1, q2)[:2+len(q1)+2+5])
	if len(got) != 2 || len(got[1]) != 5 {
		t.Errorf("splitTCP(cut) = %d messages; want 2, the second of 5 bytes", len(got))
	}
	if got := splitTCP([]byte{0}); len(got) != 0 {
		t.Errorf("splitTCP(1 byte) = %d messages; want none", len(got))
	}
}
