package names

import (
	"container/list"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/flows"
)

const (
	// DefaultMaxNames bounds the names kept for all pods together: at most about 400 bytes each (a name of
	// up to 253 characters, its map and list entries), 32768 names hold at most about 13 MiB.
	DefaultMaxNames = 32768
	// maxQueries bounds the queries waiting for their answer, for all pods together: past it the oldest
	// goes, so that at 5,000 lookups a second an answer may come 1.6 s after its query.
	maxQueries = 8192
	// queryLife is how long a query waits for its answer: longer than any resolver's timeout and retries.
	queryLife = 30 * time.Second
	// minLife is the least a name is kept after it was learned, whatever its TTL: programs connect after
	// the answer, and keep connections and cached answers well past short TTLs.
	minLife = 5 * time.Minute
	// useLife is how long a name is kept after a flow last used it: a connection that lives for hours keeps
	// its name for as long as its bytes are counted.
	useLife = 10 * time.Minute
)

// Stats are the table's counts: totals since it was made, and the names kept now.
type Stats struct {
	Events        uint64 // events read
	ParseFailures uint64 // events whose payload was not a DNS message or ClientHello
	Unasked       uint64 // answers for no query the pod sent, or for a name it did not ask
	Learned       uint64 // names added or refreshed
	Evicted       uint64 // names dropped because the table was at its bound
	Names         int    // names kept now
}

// Table holds what each pod's remotes are called, by the pod's network namespace (which all its
// containers share): address -> name, how it was learned, and until when it is kept. Memory is bounded:
// past its bound, the name least recently learned or used goes. It is safe for concurrent use: one
// goroutine adds events while the collector looks names up.
type Table struct {
	mu      sync.Mutex
	answer  answer        // the DNS parser's scratch
	sni     [maxWire]byte // the TLS parser's
	max     int
	pods    map[uint64]map[netip.Addr]*list.Element // of *entry
	lru     list.List                               // front: most recently learned or used
	queries map[queryKey]query
	// asks holds the queries in the order they were asked, which is the order their time ends in (each
	// lives queryLife from then): a ring from asks[first], asked long. An ask whose query was answered, or
	// asked again since, is stale: its seq is not its query's.
	asks         [maxQueries]ask
	first, asked int
	seq          uint32
	stats        Stats
}

type entry struct {
	netns   uint64
	addr    netip.Addr
	name    string
	source  string // flows.NameFromDNS or flows.NameFromSNI
	expires time.Time
}

// queryKey ties an answer to its query: the same pod, the same socket (local port) and the same ID. Its
// fields fill its 16 bytes, so that maps hash and compare it as a block.
type queryKey struct {
	netns  uint64
	portID uint64 // local port << 16 | message ID
}

func newQueryKey(ev *bpf.NameEvent, id uint16) queryKey {
	return queryKey{ev.NetnsCookie, uint64(ev.Local.Port())<<16 | uint64(id)}
}

type query struct {
	questions [maxQuestions]uint64 // the questions not answered yet (questionKey)
	n         uint8
	seq       uint32 // its ask's
	expires   time.Time
}

type ask struct {
	k   queryKey
	seq uint32
}

// New returns a table that keeps at most max names (DefaultMaxNames if max <= 0).
func New(max int) *Table {
	if max <= 0 {
		max = DefaultMaxNames
	}
	return &Table{max: max, pods: map[uint64]map[netip.Addr]*list.Element{}, queries: map[queryKey]query{}}
}

// Add reads one event into the table at time now. It keeps nothing of ev.Payload. It parses under the
// table's lock, into the table's scratch: a window's lookups wait at most a parse, well under a microsecond.
func (t *Table) Add(ev *bpf.NameEvent, now time.Time) {
	var one [1][]byte // a datagram's one message, without allocating
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Events++
	switch ev.Kind {
	case bpf.NameDNSQuery:
		for _, msg := range dnsMessages(ev, &one) {
			q, err := ParseQuery(msg)
			if err != nil {
				t.stats.ParseFailures++
				continue
			}
			t.ask(newQueryKey(ev, q.ID), q.Names[:q.N], now)
		}
	case bpf.NameDNSAnswer:
		for _, msg := range dnsMessages(ev, &one) {
			// An error after some records still gives them.
			if err := parseAnswer(msg, &t.answer); err != nil && t.answer.n == 0 {
				t.stats.ParseFailures++
			}
			if t.answer.key != 0 {
				t.answered(newQueryKey(ev, t.answer.id), &t.answer, now)
			}
		}
	case bpf.NameTLSHello:
		name, err := serverName(&t.sni, ev.Payload)
		if err != nil {
			t.stats.ParseFailures++
			return
		}
		t.learn(ev.NetnsCookie, ev.Remote.Addr().Unmap(), name, flows.NameFromSNI, now.Add(minLife))
	default:
		t.stats.ParseFailures++
	}
}

// dnsMessages returns the DNS messages of an event's payload: the datagram, or those in a TCP segment.
func dnsMessages(ev *bpf.NameEvent, one *[1][]byte) [][]byte {
	if ev.Proto == 6 {
		return splitTCP(ev.Payload)
	}
	one[0] = ev.Payload
	return one[:]
}

// ask remembers the questions of a query until they are answered, or for queryLife. At its bound the table
// forgets the query asked longest ago: its answer is the likeliest to have come.
func (t *Table) ask(k queryKey, questions []uint64, now time.Time) {
	if len(questions) == 0 {
		return
	}
	q, ok := t.queries[k]
	if !ok || now.After(q.expires) {
		if t.asked == maxQueries {
			t.forgetOldest()
		}
		t.seq++
		q = query{seq: t.seq, expires: now.Add(queryLife)}
		t.asks[(t.first+t.asked)%maxQueries] = ask{k, t.seq}
		t.asked++
	}
	for _, n := range questions {
		if int(q.n) < maxQuestions && !slices.Contains(q.questions[:q.n], n) {
			q.questions[q.n] = n
			q.n++
		}
	}
	t.queries[k] = q
}

// forgetOldest forgets the oldest ask, and its query if the ask is its own.
func (t *Table) forgetOldest() {
	a := t.asks[t.first]
	if q, ok := t.queries[a.k]; ok && q.seq == a.seq {
		delete(t.queries, a.k)
	}
	t.first = (t.first + 1) % maxQueries
	t.asked--
}

// answered learns the addresses of an answer to a query the pod sent, for a question it asked. The question
// is then answered: resolvers ask A and AAAA in turn, or at once, under one ID, and the query goes once all
// its questions have their answer.
func (t *Table) answered(k queryKey, a *answer, now time.Time) {
	q, ok := t.queries[k]
	i := -1
	if ok && !now.After(q.expires) {
		i = slices.Index(q.questions[:q.n], a.key)
	}
	if i < 0 {
		if a.n > 0 {
			t.stats.Unasked++
		}
		return
	}
	if q.n--; q.n == 0 {
		delete(t.queries, k)
	} else {
		q.questions[i] = q.questions[q.n]
		t.queries[k] = q
	}
	for _, ad := range a.addrs[:a.n] {
		ttl := time.Duration(ad.ttl) * time.Second
		t.learn(k.netns, ad.addr, a.question(), flows.NameFromDNS, now.Add(max(ttl, minLife)))
	}
}

// learn sets a pod's name for addr. A name from a TLS server name is not replaced by one from DNS (it
// names the service; DNS, often the CDN's), only kept longer. name is the parser's: a string is made of it
// only for a name the table does not hold yet.
func (t *Table) learn(netns uint64, addr netip.Addr, name []byte, source string, expires time.Time) {
	if !addr.IsValid() {
		return
	}
	t.stats.Learned++
	pod := t.pods[netns]
	if pod == nil {
		pod = map[netip.Addr]*list.Element{}
		t.pods[netns] = pod
	}
	if el, ok := pod[addr]; ok {
		e := el.Value.(*entry)
		switch {
		case e.name == string(name):
			e.source = source
		case !(e.source == flows.NameFromSNI && source == flows.NameFromDNS):
			e.name, e.source = string(name), source
		}
		if expires.After(e.expires) {
			e.expires = expires
		}
		t.lru.MoveToFront(el)
		return
	}
	for t.lru.Len() >= t.max {
		t.remove(t.lru.Back())
		t.stats.Evicted++
	}
	pod[addr] = t.lru.PushFront(&entry{netns: netns, addr: addr, name: string(name), source: source, expires: expires})
}

func (t *Table) remove(el *list.Element) {
	e := t.lru.Remove(el).(*entry)
	pod := t.pods[e.netns]
	delete(pod, e.addr)
	if len(pod) == 0 {
		delete(t.pods, e.netns)
	}
}

// Lookup returns the name a pod knows addr by, and how it learned it, at time now. A name looked up is
// kept at least useLife longer: the flow that asked is alive.
func (t *Table) Lookup(netns uint64, addr netip.Addr, now time.Time) (name, source string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.pods[netns][addr.Unmap()]
	if !ok {
		return "", "", false
	}
	e := el.Value.(*entry)
	if keep := now.Add(useLife); keep.After(e.expires) {
		e.expires = keep
	}
	t.lru.MoveToFront(el)
	return e.name, e.source, true
}

// Expire drops the names and queries whose time is over at now. The agent calls it after each window's
// lookups, so that a name in use is never dropped for its age.
func (t *Table) Expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for el := t.lru.Back(); el != nil; {
		prev := el.Prev()
		if now.After(el.Value.(*entry).expires) {
			t.remove(el)
		}
		el = prev
	}
	for t.asked > 0 {
		a := t.asks[t.first]
		if q, ok := t.queries[a.k]; ok && q.seq == a.seq && !now.After(q.expires) {
			break
		}
		t.forgetOldest()
	}
}

// Stats returns the table's counts.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Names = t.lru.Len()
	return s
}
