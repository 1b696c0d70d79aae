package names

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/netcost/netcost/internal/flows"
)

// Bounds on what one message may make the table do: a pod's stub resolver asks one question a message, and
// an answer holds a handful of addresses; more is either hostile or nothing a name table needs.
const (
	maxQuestions = 4
	maxAnswers   = 64
	maxTCPMsgs   = 4 // DNS messages read from one TCP segment
	// maxPointers bounds the compression pointers followed in one name: a name has at most 127 labels, and
	// real ones point once; more is a loop or a waste.
	maxPointers = 16
	// maxWire is the most octets a name takes on the wire, its final zero included (RFC 1035 2.3.4); as
	// text, without the final dot, it is at most 253 characters.
	maxWire = 255
)

// DNS types and the class the parsers read (RFC 1035 3.2.2, RFC 3596).
const (
	typeA     = 1
	typeCNAME = 5
	typeAAAA  = 28
	classINET = 1
)

var (
	errNotDNS    = errors.New("not a DNS message")
	errNotQuery  = errors.New("a response where a query was expected")
	errNotAnswer = errors.New("a query where a response was expected")
	errShort     = errors.New("DNS message cut short")
	errBadName   = errors.New("malformed DNS name")
	errBadRecord = errors.New("malformed DNS record")
	errNoQuest   = errors.New("DNS response without a question")
)

// Query is a DNS query a pod sent: its message ID and the questions it asked, each its name and type as
// questionKey makes them: an answer is matched to it by its own question's key, and only the answer's name,
// if used, is validated and kept. Keys keep a query's cost to no allocation at thousands of lookups a second.
type Query struct {
	ID    uint16
	Names [maxQuestions]uint64
	N     int // names in Names
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

// readName reads the name at off in msg (RFC 1035 4.1.4: labels, ending with a zero or a pointer to the
// rest of the name earlier in the message) into buf, as DNS compares names: its labels in wire form (each
// after its length), ASCII letters in lower case, without the final zero. It returns the offset after the name
// in msg and the name's length in buf. It reads no byte outside msg and follows at most maxPointers pointers.
func readName(msg []byte, off int, buf *[maxWire]byte) (next, n int, err error) {
	next = -1
	for ptrs := 0; ; {
		// The labels up to a zero or a pointer lie one after the other: copied at once.
		start := off
		for off < len(msg) && msg[off] != 0 && msg[off]&0xc0 == 0 {
			off += 1 + int(msg[off])
		}
		if off >= len(msg) {
			return 0, 0, errShort
		}
		if n+off-start >= maxWire {
			return 0, 0, errBadName
		}
		run := buf[n : n+off-start]
		copy(run, msg[start:off])
		for i, b := range run { // the lengths, below 64, are no letters
			if b-'A' < 26 {
				run[i] = b + 'a' - 'A'
			}
		}
		n += len(run)
		switch c := int(msg[off]); c & 0xc0 {
		case 0x00: // the zero
			if next < 0 {
				next = off + 1
			}
			return next, n, nil
		case 0xc0:
			if off+1 >= len(msg) {
				return 0, 0, errShort
			}
			if next < 0 {
				next = off + 2
			}
			if ptrs++; ptrs > maxPointers {
				return 0, 0, errBadName
			}
			off = (c&0x3f)<<8 | int(msg[off+1])
		default: // 0x40 and 0x80: label types no one uses (RFC 6891 6.2)
			return 0, 0, errBadName
		}
	}
}

// seed keys the name hashes: a DNS server cannot make two names' hashes collide on purpose.
var seed = maphash.MakeSeed()

// hashName is the hash of a name as readName gives it; never 0.
func hashName(wire []byte) uint64 { return maphash.Bytes(seed, wire) | 1 }

// questionKey is a question's name (as hashName gives it) and type in one number: an answer matches the
// query that asked the same of the same socket with the same ID.
func questionKey(name uint64, typ uint16) uint64 { return name ^ uint64(typ)<<1 }

// nameText turns a name as readName gives it into text in place, from wire[1]: its labels joined by dots,
// without the final dot. ok is false for the root, and if a label holds a dot, which no text can say.
func nameText(wire []byte) (text []byte, ok bool) {
	if len(wire) == 0 {
		return nil, false
	}
	for i := 0; i < len(wire); {
		l := int(wire[i])
		if bytes.IndexByte(wire[i+1:i+1+l], '.') >= 0 {
			return nil, false
		}
		wire[i] = '.'
		i += 1 + l
	}
	return wire[1:], true
}

// ParseQuery reads a DNS query: the names of its A and AAAA questions. A query with none is still returned
// (the caller then has nothing to remember).
func ParseQuery(msg []byte) (Query, error) {
	if len(msg) < 12 {
		return Query{}, errNotDNS
	}
	if msg[2]&0x80 != 0 {
		return Query{}, errNotQuery
	}
	be := binary.BigEndian
	q := Query{ID: be.Uint16(msg)}
	off := 12
	var name [maxWire]byte
	for range min(int(be.Uint16(msg[4:])), maxQuestions) {
		next, n, err := readName(msg, off, &name)
		if err != nil {
			return q, err
		}
		if off = next + 4; off > len(msg) {
			return q, errShort
		}
		if be.Uint16(msg[next+2:]) != classINET || (be.Uint16(msg[next:]) != typeA && be.Uint16(msg[next:]) != typeAAAA) {
			continue // PTR, SRV, TXT...: no address of a remote comes of them
		}
		q.Names[q.N] = questionKey(hashName(name[:n]), be.Uint16(msg[next:]))
		q.N++
	}
	return q, nil
}

// answer is a DNS response as the table reads it: no allocation, no name built unless it is new. A Table
// keeps one and reuses it.
type answer struct {
	id    uint16
	key   uint64        // the question's questionKey, which its query holds; 0 if none was read
	name  [maxWire]byte // the question as text from name[1], lower case, without the final dot
	nameN int           // the question's length in name from name[1]; 0 if no record may carry it
	wire  [maxWire]byte // readName's scratch
	// seen holds the first names read and where: answers name their records' owners by a pointer to one.
	seen [4]struct {
		off  int
		hash uint64
	}
	nseen int
	addrs [maxAnswers]struct {
		addr netip.Addr
		ttl  uint32 // the smallest on the way from the question
	}
	n int // addresses in addrs
	// rrs holds the address and CNAME records, their names as hashes: a server that could make two names
	// collide gains nothing, since it answers the pod's question anyway.
	rrs [maxAnswers]struct {
		owner, target uint64 // target: a CNAME's; 0 if none
		addr          netip.Addr
		ttl           uint32
	}
}

// question is the answer's question as text, or nothing if no record may carry it.
func (a *answer) question() []byte { return a.name[1 : 1+a.nameN] }

// hashAt reads the name at off in msg and returns the offset after it and its hash. A name that is only a
// pointer to one read before is not read again.
func (a *answer) hashAt(msg []byte, off int) (next int, hash uint64, err error) {
	if off+1 < len(msg) && msg[off]&0xc0 == 0xc0 {
		to := int(msg[off]&0x3f)<<8 | int(msg[off+1])
		for _, s := range a.seen[:a.nseen] {
			if s.off == to {
				return off + 2, s.hash, nil
			}
		}
	}
	next, n, err := readName(msg, off, &a.wire)
	if err != nil {
		return 0, 0, err
	}
	hash = hashName(a.wire[:n])
	a.saw(off, hash)
	return next, hash, nil
}

// saw remembers that the name at off has hash, while there is room.
func (a *answer) saw(off int, hash uint64) {
	if a.nseen < len(a.seen) {
		a.seen[a.nseen].off, a.seen[a.nseen].hash = off, hash
		a.nseen++
	}
}

// parseAnswer reads a DNS response into a: the first question, and the A and AAAA records of the names it
// leads to through CNAMEs. A response cut short (by the kernel's bound, or a hostile sender) gives the records
// read before the cut; compression loops and malformed names end the parse there. Only the question's name is
// validated and kept: the other names are compared to it and its chain.
func parseAnswer(msg []byte, a *answer) error {
	a.id, a.key, a.nameN, a.n, a.nseen = 0, 0, 0, 0, 0
	if len(msg) < 12 {
		return errNotDNS
	}
	if msg[2]&0x80 == 0 {
		return errNotAnswer
	}
	be := binary.BigEndian
	a.id = be.Uint16(msg)
	failed := msg[3]&0x0f != 0 // NXDOMAIN, SERVFAIL...: nothing to learn, but the question is answered
	questions, records := int(be.Uint16(msg[4:])), int(be.Uint16(msg[6:]))
	if questions == 0 {
		if failed {
			return nil
		}
		return errNoQuest // nothing ties the answer to a query
	}
	next, n, err := readName(msg, 12, &a.name)
	if err != nil {
		return err
	}
	if next+4 > len(msg) {
		return errShort
	}
	asked := hashName(a.name[:n])
	a.key = questionKey(asked, be.Uint16(msg[next:]))
	a.saw(12, asked)
	if text, ok := nameText(a.name[:n]); failed || !ok || !validName(text) {
		return nil
	}
	off := next + 4
	for range questions - 1 {
		if next, _, err = readName(msg, off, &a.wire); err != nil {
			return err
		}
		off = next + 4
	}
	if off > len(msg) {
		return errShort
	}
	a.nameN = n - 1
	rrs := a.rrs[:0]
	var perr error
	for range min(records, maxAnswers) {
		next, owner, err := a.hashAt(msg, off)
		if err != nil {
			perr = err
			break
		}
		if next+10 > len(msg) {
			perr = errShort
			break
		}
		typ, class, ttl := be.Uint16(msg[next:]), be.Uint16(msg[next+2:]), be.Uint32(msg[next+4:])
		data := next + 10
		if off = data + int(be.Uint16(msg[next+8:])); off > len(msg) {
			perr = errShort
			break
		}
		if class != classINET || (typ != typeA && typ != typeAAAA && typ != typeCNAME) {
			continue
		}
		rrs = rrs[:len(rrs)+1]
		r := &rrs[len(rrs)-1]
		r.owner, r.target, r.addr, r.ttl = owner, 0, netip.Addr{}, ttl
		switch rd := msg[data:off]; {
		case typ == typeA && len(rd) == 4:
			r.addr = netip.AddrFrom4([4]byte(rd))
		case typ == typeAAAA && len(rd) == 16:
			r.addr = netip.AddrFrom16([16]byte(rd)).Unmap()
		case typ == typeCNAME:
			_, r.target, err = a.hashAt(msg[:off], data) // the name ends within the record
		default:
			err = errBadRecord
		}
		if err != nil {
			rrs = rrs[:len(rrs)-1]
			perr = err
			break
		}
	}
	// Follow the chain from the question: each name it reaches may own addresses. A loop adds nothing new,
	// and the chain is bounded.
	type link struct {
		name uint64
		ttl  uint32 // the smallest TTL on the way to it
	}
	var chainBuf [8]link
	chain := append(chainBuf[:0], link{asked, ^uint32(0)})
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
	for _, r := range rrs {
		ttl, ok := in(r.owner)
		if !r.addr.IsValid() || !ok {
			continue // an address for a name the pod did not ask
		}
		a.addrs[a.n].addr, a.addrs[a.n].ttl = r.addr, min(ttl, r.ttl)
		a.n++
	}
	return perr
}

// validName reports whether a lower-case name without its final dot, from a packet, is one a record may carry
// (flows.ValidName), without a wildcard, and not an address.
func validName(b []byte) bool {
	// Read in place: the string lives only for the checks, and most names checked are already known.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	if !flows.ValidName(s) || strings.HasSuffix(s, ".") || strings.Contains(s, "*") {
		return false
	}
	// An address is no name: IPv4 literals end in a numeric label, which no top-level domain is (an IPv6
	// literal's colons fail ValidName).
	for _, c := range b[strings.LastIndexByte(s, '.')+1:] {
		if c < '0' || c > '9' {
			return true
		}
	}
	return false
}

// lowerName writes a name from a packet into buf, lower case and without its final dot, and returns it
// if a record may carry it (validName).
func lowerName(buf *[maxWire]byte, name []byte) ([]byte, bool) {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if len(name) > 253 {
		return nil, false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(name)], validName(buf[:len(name)])
}
