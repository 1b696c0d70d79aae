package sample

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// WindowS is the length of every record's window, in seconds.
const WindowS = 60

// windowsPerHour is the period over which each flow's bytes add up to its hourly mean.
const windowsPerHour = 3600 / WindowS

// Options control Generate.
type Options struct {
	// Start is the start of the first window; the zero time means the default.
	Start time.Time
	// Windows is the number of 60-second windows; 0 means the default (60, one hour).
	Windows int
	// Seed seeds the PCG generators that vary the bytes from window to window.
	// Every seed yields the same hourly totals.
	Seed uint64
}

// DefaultOptions returns the options testdata/store is generated with: one
// hour from 2026-11-20T09:00:00Z, in 60 windows.
func DefaultOptions() Options {
	return Options{Start: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Windows: windowsPerHour, Seed: 20261120}
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Start.IsZero() {
		o.Start = d.Start
	}
	if o.Windows < 0 {
		return o, fmt.Errorf("sample: %d windows: want a positive number, or 0 for the default", o.Windows)
	}
	if o.Windows == 0 {
		o.Windows = d.Windows
	}
	o.Start = o.Start.UTC()
	return o, nil
}

// PodPair names an unordered pair of pods: A sorts before B.
type PodPair struct{ A, B string }

// Pair returns the PodPair of pods a and b, in either order.
func Pair(a, b string) PodPair {
	if b < a {
		a, b = b, a
	}
	return PodPair{a, b}
}

func (p PodPair) String() string { return p.A + " <-> " + p.B }

// Truth is what a generator emitted, counted as it emitted it.
type Truth struct {
	Start, End time.Time // the span of the windows
	Records    int64     // records emitted

	// InterAZPairs holds, for each pair of pods in different AZs, the bytes
	// that crossed between them in either direction, each counted once: a
	// byte is in the sender's egress record and, again, in the receiver's
	// ingress record, and this counts it once.
	InterAZPairs map[PodPair]uint64

	// NAT holds the bytes each local pod sent and received through a NAT
	// gateway (every record with a nat- via, whatever its category), keyed by
	// local_pod, or by local_ip for host-network traffic.
	NAT map[string]uint64

	// Categories holds the sum of the bytes of the records of each category,
	// as the records hold them: bytes between two of the cluster's nodes are
	// in two records (egress and ingress) and counted twice here.
	Categories map[flows.Category]uint64
}

// template is a record of a channel without its window, bytes and packets,
// and the node whose agent reports it.
type template struct {
	node string
	rec  flows.Record
}

// channel is one direction of one flow: bytes from a sender to a receiver,
// reported by one agent (a remote outside the cluster) or by both (the
// sender's egress and the receiver's ingress, with the same bytes).
type channel struct {
	recs    []template
	perHour uint64  // bytes in each full hour
	pkt     uint64  // mean packet size
	pair    PodPair // set for a pod pair across AZs

	rng   *rand.Rand
	slots [windowsPerHour]uint64 // bytes per window of the current hour
	total uint64
}

// plan spreads the bytes of an hour's first k windows over them: a random
// weight per window, the running sum rounded down, so the k windows carry
// perHour*k/60 bytes exactly. Integer arithmetic only, so every platform
// produces the same bytes.
func (ch *channel) plan(k int) {
	total := ch.perHour * uint64(k) / windowsPerHour
	var w [windowsPerHour]uint64
	var sum uint64
	for i := range k {
		w[i] = 700 + ch.rng.Uint64N(601) // 0.7 .. 1.3 of the mean
		sum += w[i]
	}
	var cum, prev uint64
	for i := range k {
		cum += w[i]
		hi, lo := bits.Mul64(total, cum)
		at, _ := bits.Div64(hi, lo, sum) // total*cum/sum <= total: no overflow
		ch.slots[i] = at - prev
		prev = at
	}
}

// Generate emits the scenario's records, window by window, so that each
// node's records arrive in time order. r is reused: it is valid only during
// the call to emit. An error from emit stops the generation and is returned
// as is.
func Generate(opt Options, emit func(node string, r *flows.Record) error) error {
	_, err := GenerateWithTruth(opt, emit)
	return err
}

// GenerateWithTruth is Generate, also returning what it emitted.
func GenerateWithTruth(opt Options, emit func(node string, r *flows.Record) error) (Truth, error) {
	return buildTopology(1).generate(opt, emit)
}

func (t *topology) generate(opt Options, emit func(node string, r *flows.Record) error) (Truth, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Truth{}, err
	}
	for i, ch := range t.chans {
		ch.rng = rand.New(rand.NewPCG(opt.Seed, uint64(i)+1))
		ch.total = 0
	}
	var (
		r       flows.Record
		records int64
	)
	for w := range opt.Windows {
		slot := w % windowsPerHour
		if slot == 0 {
			k := min(windowsPerHour, opt.Windows-w)
			for _, ch := range t.chans {
				ch.plan(k)
			}
		}
		ts := opt.Start.Add(time.Duration(w) * WindowS * time.Second)
		for _, ch := range t.chans {
			b := ch.slots[slot]
			if b == 0 {
				continue
			}
			p := (b + ch.pkt - 1) / ch.pkt
			ch.total += b
			for i := range ch.recs {
				r = ch.recs[i].rec
				r.TS, r.Bytes, r.Packets = ts, b, p
				if err := emit(ch.recs[i].node, &r); err != nil {
					return Truth{}, err
				}
				records++
			}
		}
	}
	return t.truth(opt, records), nil
}

func (t *topology) truth(opt Options, records int64) Truth {
	tr := Truth{
		Start:        opt.Start,
		End:          opt.Start.Add(time.Duration(opt.Windows) * WindowS * time.Second),
		Records:      records,
		InterAZPairs: make(map[PodPair]uint64),
		NAT:          make(map[string]uint64),
		Categories:   make(map[flows.Category]uint64),
	}
	for _, ch := range t.chans {
		if ch.pair != (PodPair{}) {
			tr.InterAZPairs[ch.pair] += ch.total
		}
		for i := range ch.recs {
			rec := &ch.recs[i].rec
			tr.Categories[rec.Category] += ch.total
			if rec.ViaNAT() {
				tr.NAT[NATKey(rec)] += ch.total
			}
		}
	}
	return tr
}

// NATKey is the key of Truth.NAT for a record: its local pod, or its local IP
// for host-network traffic.
func NATKey(r *flows.Record) string {
	if r.LocalPod != "" {
		return r.LocalPod
	}
	return r.LocalIP
}

// errStop ends a generation early without an error.
var errStop = errors.New("stop")

// String summarises t, one line per entry, bytes in GiB.
func (t Truth) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s .. %s: %d records\n", t.Start.Format(time.RFC3339), t.End.Format(time.RFC3339), t.Records)
	for _, c := range flows.Categories {
		if v, ok := t.Categories[c]; ok {
			fmt.Fprintf(&b, "category %-16s %10.4f GiB\n", c, gib(v))
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(t.InterAZPairs), func(a, b PodPair) int {
		return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B))
	}) {
		fmt.Fprintf(&b, "inter-az %s %10.4f GiB\n", p, gib(t.InterAZPairs[p]))
	}
	for _, k := range slices.Sorted(maps.Keys(t.NAT)) {
		fmt.Fprintf(&b, "nat %s %10.4f GiB\n", k, gib(t.NAT[k]))
	}
	return b.String()
}

func gib(v uint64) float64 { return float64(v) / float64(GiB) }
