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
	max     int
	pods    map[uint64]map[netip.Addr]*list.Element // of *entry
	lru     list.List                               // front: most recently learned or used
	queries map[queryKey]query
	// asks holds the queries in the order they were asked, which is the order their time ends in (each
	// lives queryLife); a query asked again is in it twice, and only its last ask counts.
	asks  []ask
	stats Stats
}

type entry struct {
	netns   uint64
	addr    netip.Addr
	name    string
	source  string // flows.NameFromDNS or flows.NameFromSNI
	expires time.Time
}

// queryKey ties an answer to its query: the same pod, the same socket (local port) and the same ID.
type queryKey struct {
	netns uint64
	port  uint16
	id    uint16
}

type query struct {
	names   [maxQuestions]uint64 // nameHash of each
	n       int
	expires time.Time
}

type ask struct {
	k       queryKey
	expires time.Time
}

// New returns a table that keeps at most max names (DefaultMaxNames if max <= 0).
func New(max int) *Table {
	if max <= 0 {
		max = DefaultMaxNames
	}
	return &Table{max: max, pods: map[uint64]map[netip.Addr]*list.Element{}, queries: map[queryKey]query{}}
}

// Add reads one event into the table at time now. It keeps nothing of ev.Payload. It parses before it
// takes the table's lock, so that the collector's lookups do not wait for parsing.
func (t *Table) Add(ev *bpf.NameEvent, now time.Time) {
	var one [1][]byte // a datagram's one message, without allocating
	var failures uint64
	switch ev.Kind {
	case bpf.NameDNSQuery:
		var qs [maxTCPMsgs]Query
		n := 0
		for _, msg := range dnsMessages(ev, &one) {
			q, err := ParseQuery(msg)
			if err != nil {
				failures++
				continue
			}
			qs[n] = q
			n++
		}
		t.mu.Lock()
		for _, q := range qs[:n] {
			t.asked(queryKey{ev.NetnsCookie, ev.Local.Port(), q.ID}, q.Names[:q.N], now)
		}
	case bpf.NameDNSAnswer:
		var as [maxTCPMsgs]Answer
		n := 0
		for _, msg := range dnsMessages(ev, &one) {
			a, err := ParseAnswer(msg)
			if len(a.Addrs) == 0 { // NXDOMAIN, or an answer with no address: nothing to learn
				if err != nil {
					failures++
				}
				continue
			}
			as[n] = a
			n++
		}
		t.mu.Lock()
		for _, a := range as[:n] {
			t.answered(queryKey{ev.NetnsCookie, ev.Local.Port(), a.ID}, a, now)
		}
	case bpf.NameTLSHello:
		name, err := ParseClientHello(ev.Payload)
		t.mu.Lock()
		if err != nil {
			failures++
			break
		}
		t.learn(ev.NetnsCookie, ev.Remote.Addr().Unmap(), name, flows.NameFromSNI, now.Add(minLife))
	default:
		t.mu.Lock()
		failures++
	}
	t.stats.Events++
	t.stats.ParseFailures += failures
	t.mu.Unlock()
}

// dnsMessages returns the DNS messages of an event's payload: the datagram, or those in a TCP segment.
func dnsMessages(ev *bpf.NameEvent, one *[1][]byte) [][]byte {
	if ev.Proto == 6 {
		return splitTCP(ev.Payload)
	}
	one[0] = ev.Payload
	return one[:]
}

// asked remembers the names a query asked until its answer comes, or for queryLife. At its bound the table
// forgets the query asked longest ago: its answer is the likeliest to have come.
func (t *Table) asked(k queryKey, names []uint64, now time.Time) {
	if len(names) == 0 {
		return
	}
	q, ok := t.queries[k]
	if !ok {
		for len(t.queries) >= maxQueries {
			t.forgetOldest()
		}
	}
	for _, n := range names {
		if q.n < maxQuestions && !slices.Contains(q.names[:q.n], n) {
			q.names[q.n] = n
			q.n++
		}
	}
	q.expires = now.Add(queryLife)
	t.queries[k] = q
	if len(t.asks) >= 2*maxQueries { // asked again and again: the stale asks go first
		t.forgetOldest()
	}
	t.asks = append(t.asks, ask{k, q.expires})
}

// forgetOldest drops the oldest ask, and its query unless it was asked again since.
func (t *Table) forgetOldest() {
	a := t.asks[0]
	t.asks = t.asks[1:]
	if q, ok := t.queries[a.k]; ok && q.expires.Equal(a.expires) {
		delete(t.queries, a.k)
	}
}

// answered learns the addresses of an answer to a query the pod sent, for a name it asked. The query is
// kept until it expires: resolvers ask A and AAAA in turn, or at once, under one ID.
func (t *Table) answered(k queryKey, a Answer, now time.Time) {
	q, ok := t.queries[k]
	if !ok || now.After(q.expires) || !slices.Contains(q.names[:q.n], a.asked) {
		t.stats.Unasked++
		return
	}
	for _, ad := range a.Addrs {
		t.learn(k.netns, ad.Addr, ad.Name, flows.NameFromDNS, now.Add(max(ad.TTL, minLife)))
	}
}

// learn sets a pod's name for addr. A name from a TLS server name is not replaced by one from DNS (it
// names the service; DNS, often the CDN's), only kept longer.
func (t *Table) learn(netns uint64, addr netip.Addr, name, source string, expires time.Time) {
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
		if !(e.source == flows.NameFromSNI && source == flows.NameFromDNS && e.name != name) {
			e.name, e.source = name, source
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
	pod[addr] = t.lru.PushFront(&entry{netns: netns, addr: addr, name: name, source: source, expires: expires})
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
	for len(t.asks) > 0 && now.After(t.asks[0].expires) {
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
