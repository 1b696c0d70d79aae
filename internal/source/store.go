package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// Store is a file store: a JSON Lines file or a directory of them, as the
// agents' file sink writes them.
type Store struct {
	Path    string
	Lenient bool // skip bad lines instead of stopping at the first
	Workers int  // reading workers; 0 means GOMAXPROCS
	Logger  *slog.Logger
}

func (s *Store) String() string { return Spec{Kind: "file", Path: s.Path}.String() }

// storeQuery is a query's state during a read.
type storeQuery struct {
	*Query
	accs []spanAcc // what the read saw in the window, by worker
	fn   RecordFunc
}

// Read answers the queries in one read of the store, each record handed
// to every query it belongs to: a file store's cost is the read. Records
// the windows and views of all queries reject are dropped on their leading
// fields (time, category), before the rest of their line is decoded; a
// query without a view, which validates everything, turns that off.
func (s *Store) Read(ctx context.Context, qs []*Query) ([]Span, error) {
	if len(qs) > 64 {
		return nil, fmt.Errorf("%d queries in one read: 64 at most", len(qs))
	}
	workers := ReadOptions{Workers: s.Workers}.WorkerCount()
	sqs := make([]*storeQuery, len(qs))
	for i, q := range qs {
		sqs[i] = &storeQuery{Query: q}
	}
	reset := func() {
		for _, q := range sqs {
			q.accs, q.fn = make([]spanAcc, workers), q.Begin(workers)
		}
	}
	reset()
	// Borrowed records: the queries copy the strings they keep.
	ro := ReadOptions{Lenient: s.Lenient, Workers: workers, Logger: s.Logger, Borrow: true, Dedup: true, Reset: reset}
	if !slices.ContainsFunc(qs, func(q *Query) bool { return q.View == nil }) {
		ro.Skip = func(w int, r *flows.Record) bool {
			var in uint64 // the queries whose window holds r
			for i, q := range sqs {
				if q.Window.Contains(r.TS) {
					if q.View.MayMatch(r) {
						return false
					}
					in |= 1 << i
				}
			}
			for i := 0; in != 0; i, in = i+1, in>>1 {
				if in&1 != 0 {
					sqs[i].accs[w].note(r) // in the window: it counts for the span
				}
			}
			return true
		}
	}
	stats, err := Read(ctx, s.Path, ro, func(w int, r *flows.Record) error {
		for _, q := range sqs {
			if !q.Window.Contains(r.TS) {
				continue
			}
			q.accs[w].note(r)
			if q.View != nil && !q.View.Matches(r) {
				continue
			}
			q.accs[w].matched++
			if err := q.fn(w, r, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	sps := make([]Span, len(qs))
	for i, q := range sqs {
		if err := checkOverlaps(stats.Overlaps, q.Window); err != nil {
			return nil, err
		}
		var all spanAcc
		for _, a := range q.accs {
			all.seen += a.seen
			all.matched += a.matched
			all.nodes.merge(&a.nodes)
			if a.seen == 0 {
				continue
			}
			if all.first.IsZero() || a.first.Before(all.first) {
				all.first = a.first
			}
			if a.last.After(all.last) {
				all.last = a.last
			}
		}
		log := s.Logger
		if i > 0 {
			log = nil // the first query's span warns of bad lines, once for the read
		}
		sps[i] = all.span(q.Window, stats, log)
		sps[i].Notes = append(sps[i].Notes, duplicateNotes(stats.Duplicates)...)
	}
	return sps, nil
}

// storeError says how to fix what stopped a read of the store; errors of
// the queries' functions pass as they are.
func storeError(err error) error {
	var le *LineError
	var fe *FileError
	var pe *fs.PathError
	switch {
	case errors.As(err, &fe):
		return usage.Errorf("%w (check --source)", err)
	case errors.As(err, &le):
		return usage.Errorf("%w (fix the record, or pass --strict=false to skip bad lines)", err)
	case errors.Is(err, ErrNoFiles):
		return usage.Wrap(err)
	case errors.As(err, &pe):
		return usage.Errorf("%w (check --source)", err)
	}
	return err
}

// checkOverlaps refuses a window that two files hold different records of
// one agent for: which to count is the user's call.
func checkOverlaps(overlaps []Overlap, w Window) error {
	for _, o := range overlaps {
		if (w.End.IsZero() || o.Start.Before(w.End)) && (w.Start.IsZero() || o.End.After(w.Start)) {
			return usage.Errorf("%s and %s both hold records of node %s from %s to %s, but not the same ones "+
				"(a partial copy, or two agents on one node at once): move the copy out of the store, "+
				"or leave that time out of the window",
				o.File, o.Other, o.Node, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
		}
	}
	return nil
}

// maxDuplicateNotes bounds the notes on duplicates: past it, one sums up.
const maxDuplicateNotes = 3

// duplicateNotes says which files' records were counted once.
func duplicateNotes(dups []Duplicate) []string {
	var notes []string
	var total int64
	for i, d := range dups {
		total += d.Records
		switch {
		case i >= maxDuplicateNotes:
		case d.Link:
			notes = append(notes, fmt.Sprintf("ignored %s as duplicates (%d records): it is another name of %s",
				d.File, d.Records, d.Of))
		default:
			notes = append(notes, fmt.Sprintf("ignored %d records of %s as duplicates: %s holds the same "+
				"(remove the copy to read the store once)", d.Records, d.File, d.Of))
		}
	}
	if len(dups) > maxDuplicateNotes {
		notes = append(notes, fmt.Sprintf("ignored %d duplicate records in all, in %d files", total, len(dups)))
	}
	return notes
}
