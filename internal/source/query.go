package source

import (
	"log/slog"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// A Query asks a source for the records of a window that a view selects.
type Query struct {
	Window Window
	View   *View // nil: every record
	// Begin makes the query's state afresh and returns the function that
	// takes its records from the given number of reading workers. A file
	// store that holds copies of records is read twice, the second time
	// without them: Begin is called before each read.
	Begin func(workers int) RecordFunc
}

// RecordFunc takes the records a query selects, from one of several
// reading workers. A source that sums on its side hands it one record for
// n records with the same fields, bytes summed. An error stops the read.
type RecordFunc func(worker int, r *flows.Record, n int64) error

// Span is the time the records of a query actually cover, and what was
// read.
type Span struct {
	Start, End time.Time // the window asked for, or the data's own extent
	Stats      ReadStats
	Seen       int64    // records in the window, where the source counts them
	Matched    int64    // of which the view selected
	Source     string   // what was read, when the source found out (nfm:MONITOR)
	Notes      []string // what the source says about its data's limits
}

// Duration is the length of the span, which projections extrapolate from.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// spanAcc is what a reading worker saw of a query's window.
type spanAcc struct {
	first, last time.Time
	seen        int64 // records in the window
	matched     int64 // of which the view selected
	nodes       nodeSpans
}

func (a *spanAcc) note(r *flows.Record) {
	if a.first.IsZero() || r.TS.Before(a.first) {
		a.first = r.TS
	}
	e := r.End()
	if e.After(a.last) {
		a.last = e
	}
	a.seen++
	a.nodes.note(r.Node, r.TS, e)
}

// span is the window w narrowed to the records' own extent: a projection
// must not spread a day's bytes over a month asked for with --since 30d
// when the agents ran for a day. Its notes say which nodes had no records
// for a while in it. A logger warns of the lines skipped.
func (all spanAcc) span(w Window, stats ReadStats, log *slog.Logger) Span {
	sp := Span{Start: w.Start, End: w.End, Stats: stats, Seen: all.seen, Matched: all.matched}
	if all.seen > 0 {
		if sp.Start.IsZero() || all.first.After(sp.Start) {
			sp.Start = all.first
		}
		if sp.End.IsZero() || all.last.Before(sp.End) {
			sp.End = all.last
		}
	}
	sp.Notes = all.nodes.gapNotes(sp.Start, sp.End)
	if stats.Skipped > 0 && log != nil {
		log.Warn("skipped bad flow records", "count", stats.Skipped, "lines", stats.Lines)
	}
	return sp
}
