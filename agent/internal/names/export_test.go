package names

import (
	"net/netip"
	"time"
)

// testAnswer is parseAnswer's result as the tests compare it: the message ID, the question (which every
// address answers, through CNAMEs if any), and the addresses with their TTLs.
type testAnswer struct {
	ID       uint16
	Question string
	Addrs    []testAddr
}

// testAddr is an address an answer gave the question, and for how long.
type testAddr struct {
	Addr netip.Addr
	TTL  time.Duration
}

// parseTestAnswer is parseAnswer with its result copied out of the table's reused buffers.
func parseTestAnswer(msg []byte) (testAnswer, error) {
	var a answer
	err := parseAnswer(msg, &a)
	out := testAnswer{ID: a.id, Question: string(a.question())}
	for _, ad := range a.addrs[:a.n] {
		out.Addrs = append(out.Addrs, testAddr{Addr: ad.addr, TTL: time.Duration(ad.ttl) * time.Second})
	}
	return out, err
}

// parseClientHello is serverName as a string.
func parseClientHello(hello []byte) (string, error) {
	var buf [maxWire]byte
	name, err := serverName(&buf, hello)
	return string(name), err
}
