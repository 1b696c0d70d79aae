package names

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netcost/netcost/internal/flows"
)

// Bounds on what one message may make the table do: a pod's stub resolver asks one question a message, and
// an answer holds a handful of addresses; more is either hostile or nothing a name table needs.
const (
	maxQuestions = 4
	maxAnswers   = 64
	maxTCPMsgs   = 4 // DNS messages read from one TCP segment
)

var (
	errNotDNS    = errors.New("not a DNS message")
	errNotQuery  = errors.New("a response where a query was expected")
	errNotAnswer = errors.New("a query where a response was expected")
)

// Query is a DNS query a pod sent: its message ID and the names it asked for, as hashes (nameHash): an
// answer is matched to it by its question's hash, and only the answer's name, if used, is validated and kept.
// Hashes keep a query's cost to no allocation at thousands of lookups a second.
type Query struct {
	ID    uint16
	Names [maxQuestions]uint64
	N     int // names in Names
}

// Address is a name an answer gave an address, and for how long.
type Address struct {
	Addr netip.Addr
	Name string // the name the pod asked, which led to Addr (through CNAMEs, if any)
	TTL  time.Duration
}

// Answer is what a DNS response said of the names its question asked: the message ID, the question, and
// the addresses it led to. Records about names outside the question's CNAME chain are left out.
type Answer struct {
	ID       uint16
	Question string
	Addrs    []Address
	asked    uint64 // the question's nameHash, which its query holds
}

// splitTCP returns the DNS messages in a TCP segment's payload, each without its 2-byte length; the last
// may be cut short where the payload was.
func splitTCP(p []byte) [][]byte {
	var out [][]byte
	for len(p) >= 2 && len(out) < maxTCPMsgs {
		n := int(binary.BigEndian.Uint16(p))
		p = p[2:]
		if n == 0 {
			break
		}
		if n > len(p) {
			n = len(p)
		}
		out = append(out, p[:n])
		p = p[n:]
	}
	return out
}

// ParseQuery reads a DNS query: the names of its A and AAAA questions. A query with none is still returned
// (the caller then has nothing to remember).
func ParseQuery(msg []byte) (Query, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return Query{}, errors.Join(errNotDNS, err)
	}
	if h.Response {
		return Query{}, errNotQuery
	}
	q := Query{ID: h.ID}
	for range maxQuestions {
		qu, err := p.Question()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return q, err
		}
		if qu.Class != dnsmessage.ClassINET || (qu.Type != dnsmessage.TypeA && qu.Type != dnsmessage.TypeAAAA) {
			continue // PTR, SRV, TXT...: no address of a remote comes of them
		}
		q.Names[q.N] = nameHash(&qu.Name)
		q.N++
	}
	return q, nil
}

// ParseAnswer reads a DNS response: the first question, and the A and AAAA records of the names it leads
// to through CNAMEs. A response cut short (by the kernel's bound, or a hostile sender) gives the records
// read before the cut; compression loops and malformed names end the parse there, as dnsmessage reads them.
// Only the question's name is validated and kept: the other names are compared to it and its chain.
func ParseAnswer(msg []byte) (Answer, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return Answer{}, errors.Join(errNotDNS, err)
	}
	if !h.Response {
		return Answer{}, errNotAnswer
	}
	a := Answer{ID: h.ID}
	if h.RCode != dnsmessage.RCodeSuccess {
		return a, nil
	}
	qu, err := p.Question()
	if err != nil {
		return a, err // no question (ErrSectionDone included): nothing ties the answer to a query
	}
	q, ok := cleanName(qu.Name.String())
	if !ok {
		return a, nil
	}
	a.Question, a.asked = q, nameHash(&qu.Name)
	if err := p.SkipAllQuestions(); err != nil {
		return a, err
	}
	// The records, kept on the stack, their names as hashes: a server that could make two names collide
	// gains nothing, since it answers the pod's question anyway.
	type rr struct {
		owner, target uint64 // target: a CNAME's; 0 if none
		addr          netip.Addr
		ttl           uint32
	}
	var rrBuf [16]rr
	rrs := rrBuf[:0]
	var perr error
	addrs := 0
	for range maxAnswers {
		h, err := p.AnswerHeader()
		if err != nil {
			if !errors.Is(err, dnsmessage.ErrSectionDone) {
				perr = err
			}
			break
		}
		r := rr{owner: nameHash(&h.Name), ttl: h.TTL}
		switch {
		case h.Class != dnsmessage.ClassINET:
			err = p.SkipAnswer()
		case h.Type == dnsmessage.TypeA:
			var b dnsmessage.AResource
			if b, err = p.AResource(); err == nil {
				r.addr = netip.AddrFrom4(b.A)
			}
		case h.Type == dnsmessage.TypeAAAA:
			var b dnsmessage.AAAAResource
			if b, err = p.AAAAResource(); err == nil {
				r.addr = netip.AddrFrom16(b.AAAA).Unmap()
			}
		case h.Type == dnsmessage.TypeCNAME:
			var b dnsmessage.CNAMEResource
			if b, err = p.CNAMEResource(); err == nil {
				r.target = nameHash(&b.CNAME)
			}
		default:
			err = p.SkipAnswer()
		}
		if err != nil {
			perr = err
			break
		}
		if r.addr.IsValid() {
			addrs++
		}
		if r.addr.IsValid() || r.target != 0 {
			rrs = append(rrs, r)
		}
	}
	// Follow the chain from the question: each name it reaches may own addresses. A loop adds nothing new,
	// and the chain is bounded.
	type link struct {
		name uint64
		ttl  uint32 // the smallest TTL on the way to it
	}
	var chainBuf [8]link
	chain := append(chainBuf[:0], link{a.asked, ^uint32(0)})
	in := func(n uint64) (uint32, bool) {
		for _, l := range chain {
			if l.name == n {
				return l.ttl, true
			}
		}
		return 0, false
	}
	for changed := true; changed && len(chain) < cap(chainBuf); {
		changed = false
		for _, r := range rrs {
			if r.target == 0 || len(chain) == cap(chainBuf) {
				continue
			}
			ttl, ok := in(r.owner)
			if _, seen := in(r.target); ok && !seen {
				chain = append(chain, link{r.target, min(ttl, r.ttl)})
				changed = true
			}
		}
	}
	if addrs > 0 {
		a.Addrs = make([]Address, 0, addrs)
	}
	for _, r := range rrs {
		ttl, ok := in(r.owner)
		if !r.addr.IsValid() || !ok {
			continue // an address for a name the pod did not ask
		}
		a.Addrs = append(a.Addrs, Address{Addr: r.addr, Name: q, TTL: time.Duration(min(ttl, r.ttl)) * time.Second})
	}
	return a, perr
}

// nameHash is a name from a message as DNS compares names (ASCII letters in either case), hashed (FNV-1a);
// never 0.
func nameHash(n *dnsmessage.Name) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range n.Data[:n.Length] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h | 1
}

// cleanName lower-cases a name from a packet and drops its final dot; ok is false unless it is a DNS name a
// record may carry (flows.ValidName), without a wildcard, and not an address.
func cleanName(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if !flows.ValidName(s) || strings.Contains(s, "*") {
		return "", false
	}
	// An address is no name: IPv4 literals end in a numeric label, which no top-level domain is (an IPv6
	// literal's colons fail ValidName).
	for _, c := range []byte(s[strings.LastIndexByte(s, '.')+1:]) {
		if c < '0' || c > '9' {
			return s, true
		}
	}
	return "", false
}
