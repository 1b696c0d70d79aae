package source

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// A node's agent writes its records every window; a node without records for a while is a node that was
// down, or whose agent was not running, and the figures do not cover it then. The readers note, per node,
// which windows its records cover, and the span says which nodes have holes in it and for how long.
//
// An agent writes no record for a window in which it counted nothing. On a Kubernetes node that does not
// happen for long (the kubelet renews its lease every 10 s, and its bytes are counted like any other), but
// so that an idle moment is no false alarm, and a restart whose bytes the next window holds is none either,
// a hole counts only from gapMinWindows windows of the node, and gapMin.
const (
	gapMinWindows = 3
	gapMin        = 5 * time.Minute
	// maxGapNotes bounds the notes on holes: past it, one sums up the other nodes.
	maxGapNotes = 5
	// maxGapPlaces bounds the holes a note places in time.
	maxGapPlaces = 3
)

// interval is a time range [start, end).
type interval struct{ start, end time.Time }

// nodeSpan is what a read saw of one node's windows.
type nodeSpan struct {
	name        string        // the node's, owned (not borrowed from a read buffer)
	first, last time.Time     // Logs Insights: the start of its first window, the end of its last
	window      time.Duration // its longest window
	// windows are the windows its records cover, when the read saw them one by one (merged when they
	// touch); counted, when Logs Insights counted them instead, is how long they cover in all.
	windows []interval
	counted time.Duration
}

// add notes a window [s, e) of the node.
func (n *nodeSpan) add(s, e time.Time) {
	if k := len(n.windows); k > 0 {
		if l := &n.windows[k-1]; !s.Before(l.start) && !s.After(l.end) {
			if e.After(l.end) {
				l.end = e
			}
			return
		}
	}
	n.windows = append(n.windows, interval{s, e})
	if d := e.Sub(s); d > n.window {
		n.window = d
	}
}

// merge adds what another reading worker saw of the node.
func (n *nodeSpan) merge(o *nodeSpan) {
	if n.first.IsZero() || (!o.first.IsZero() && o.first.Before(n.first)) {
		n.first = o.first
	}
	n.last = maxTime(n.last, o.last)
	n.window = max(n.window, o.window)
	n.windows = append(n.windows, o.windows...)
	n.counted += o.counted
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// nodeSpans is what a read saw of every node's windows, by node.
type nodeSpans struct {
	byNode   map[string]*nodeSpan
	lastName string // the node of the last record, whose records mostly come in a row
	lastNode *nodeSpan
}

// note notes the window [s, e) of a record of node; node may be borrowed: it is copied when kept.
func (ns *nodeSpans) note(node string, s, e time.Time) {
	if ns.lastNode == nil || node != ns.lastName {
		n := ns.byNode[node]
		if n == nil {
			if ns.byNode == nil {
				ns.byNode = map[string]*nodeSpan{}
			}
			n = &nodeSpan{name: strings.Clone(node)}
			ns.byNode[n.name] = n
		}
		// n.name, not node: a borrowed node's bytes change once its read buffer is reused.
		ns.lastName, ns.lastNode = n.name, n
	}
	ns.lastNode.add(s, e)
}

// counted notes what Logs Insights counted of node: its windows of length window from first to last, which
// cover covered in all.
func (ns *nodeSpans) counted(node string, first, last time.Time, window, covered time.Duration) {
	ns.span(node).merge(&nodeSpan{first: first, last: last, window: window, counted: covered})
}

// span returns node's span, made if new; node must be owned.
func (ns *nodeSpans) span(node string) *nodeSpan {
	n := ns.byNode[node]
	if n == nil {
		if ns.byNode == nil {
			ns.byNode = map[string]*nodeSpan{}
		}
		n = &nodeSpan{name: node}
		ns.byNode[node] = n
	}
	return n
}

// merge adds what another reading worker saw.
func (ns *nodeSpans) merge(o *nodeSpans) {
	for name, on := range o.byNode {
		ns.span(name).merge(on)
	}
}

// nodeGap is how long one node had no records in a span, and where, as far as known.
type nodeGap struct {
	node    string
	missing time.Duration
	places  []interval // the holes, when known one by one
	inner   interval   // else the time between its first and last records, which holds missing windows
}

// gaps returns the holes of at least the minimum length in n's windows over [from, to).
func (n *nodeSpan) gaps(from, to time.Time) (missing time.Duration, places []interval, inner interval) {
	least := max(gapMinWindows*n.window, gapMin)
	hole := func(s, e time.Time) {
		if e.Sub(s) >= least {
			missing += e.Sub(s)
			places = append(places, interval{s, e})
		}
	}
	if n.windows == nil { // Logs Insights: the holes at the ends are known, the others only in sum
		hole(from, n.first)
		inside := n.last.Sub(n.first) - n.counted
		// count_distinct may be an estimate: a small shortfall is noise, not a hole.
		if inside >= least && inside >= n.last.Sub(n.first)/20 {
			missing += inside
			inner = interval{n.first, n.last}
		}
		hole(n.last, to)
		return missing, places, inner
	}
	ws := slices.SortedFunc(slices.Values(n.windows), func(a, b interval) int { return a.start.Compare(b.start) })
	at := from
	for _, w := range ws {
		if w.start.After(at) {
			hole(at, minTime(w.start, to))
		}
		at = maxTime(at, w.end)
		if !at.Before(to) {
			break
		}
	}
	if at.Before(to) {
		hole(at, to)
	}
	return missing, places, inner
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// gapNotes says which nodes have no records for a while in [from, to), for how long and when: the
// maxGapNotes nodes missing the longest, then the others in sum.
func (ns *nodeSpans) gapNotes(from, to time.Time) []string {
	if len(ns.byNode) == 0 || !from.Before(to) {
		return nil
	}
	var gs []nodeGap
	for _, name := range slices.Sorted(maps.Keys(ns.byNode)) {
		missing, places, inner := ns.byNode[name].gaps(from, to)
		if missing > 0 {
			gs = append(gs, nodeGap{node: name, missing: missing, places: places, inner: inner})
		}
	}
	slices.SortStableFunc(gs, func(a, b nodeGap) int { return cmp.Compare(b.missing, a.missing) })
	layout := "15:04"
	if to.Sub(from) > 24*time.Hour || from.Day() != to.Add(-time.Nanosecond).Day() {
		layout = "Jan 2 15:04"
	}
	var notes []string
	var rest time.Duration
	for i, g := range gs {
		if i >= maxGapNotes {
			rest += g.missing
			continue
		}
		var where []string
		for j, p := range g.places {
			if j == maxGapPlaces {
				where = append(where, fmt.Sprintf("and %d more", len(g.places)-j))
				break
			}
			where = append(where, p.start.UTC().Format(layout)+"-"+p.end.UTC().Format(layout))
		}
		if !g.inner.start.IsZero() {
			where = append(where, "in windows between "+g.inner.start.UTC().Format(layout)+" and "+
				g.inner.end.UTC().Format(layout))
		}
		notes = append(notes, fmt.Sprintf("node %s: no records for %s of the %s read (%s UTC): its agent was not "+
			"running or the node was down; these figures do not cover it then", g.node, humanDuration(g.missing),
			humanDuration(to.Sub(from)), strings.Join(where, ", ")))
	}
	if len(gs) > maxGapNotes {
		notes = append(notes, fmt.Sprintf("%d more nodes have no records for %s in all", len(gs)-maxGapNotes,
			humanDuration(rest)))
	}
	return notes
}

// humanDuration writes d to the minute ("2h10m"), or to the second below a minute.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if h, ok := strings.CutSuffix(s, "h0m"); ok {
		return h + "h"
	}
	return s
}
