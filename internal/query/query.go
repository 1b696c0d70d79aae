package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// Source is where records come from.
type Source struct {
	Kind string // "file" or "cloudwatch"
	Path string // the file or directory; the log group
}

func (s Source) String() string { return s.Kind + ":" + s.Path }

// ParseSource parses file:PATH, cloudwatch[:LOGGROUP], nfm or nfm:MONITOR.
func ParseSource(s string) (Source, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "file":
		if rest == "" {
			return Source{}, usage.Errorf("--source file: needs a path, as in file:/var/lib/netcost/flows")
		}
		return Source{Kind: "file", Path: rest}, nil
	case "nfm":
		return Source{Kind: "nfm", Path: rest}, nil // the monitor, or "" for the region's one active monitor
	case "cloudwatch":
		return parseCloudWatch(rest)
	case "":
		return Source{}, usage.Errorf("--source is required: file:PATH (a JSONL file or a directory of them), cloudwatch[:LOGGROUP] or nfm")
	}
	return Source{}, usage.Errorf("unknown source %q: want file:PATH, cloudwatch[:LOGGROUP] or nfm", s)
}

// Window is a time range [Start, End). Zero bounds are open: a file source
// then reads everything it has.
type Window struct {
	Start, End time.Time
}

// ParseWindow turns --since or --start/--end into a Window. since is a Go
// duration or a number of days such as 7d; start and end are RFC 3339 or
// YYYY-MM-DD.
func ParseWindow(now time.Time, since, start, end string) (Window, error) {
	if since != "" && (start != "" || end != "") {
		return Window{}, usage.Errorf("--since and --start/--end are exclusive: give one or the other")
	}
	if since != "" {
		d, err := parseDuration(since)
		if err != nil {
			return Window{}, err
		}
		return Window{Start: now.Add(-d), End: now}, nil
	}
	var w Window
	var err error
	if start != "" {
		if w.Start, err = parseTime("--start", start); err != nil {
			return Window{}, err
		}
	}
	if end != "" {
		if w.End, err = parseTime("--end", end); err != nil {
			return Window{}, err
		}
	} else if start != "" {
		w.End = now
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
		return Window{}, usage.Errorf("--end %s is not after --start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	return w, nil
}

func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, serr := fmt.Sscanf(n, "%d", &days); serr != nil || fmt.Sprint(days) != n {
			err = serr
			if err == nil {
				err = errors.New("not a whole number of days")
			}
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, usage.Errorf("--since %q is not a positive duration such as 90m, 24h or 7d", s)
	}
	return d, nil
}

func parseTime(flag, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usage.Errorf("%s %q is not a time: want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21)", flag, s)
}

func (w Window) contains(t time.Time) bool {
	return (w.Start.IsZero() || !t.Before(w.Start)) && (w.End.IsZero() || t.Before(w.End))
}

// View selects the records of a CLI category. NATGateway selects every
// record whose bytes pass a NAT gateway, whatever its category, which is
// the NAT gateway's bill; the others select their category.
type View flows.Category

// MayMatch reports whether a record of r's category can belong to the view:
// it needs only the record's leading fields.
func (v View) MayMatch(r *flows.Record) bool {
	if flows.Category(v) == flows.NATGateway {
		return r.Category != flows.IntraAZ && r.Category != flows.InterAZ // Matches decides on via
	}
	return r.Category == flows.Category(v)
}

// Matches reports whether r belongs to the view. Records inside the VPC
// (INTRA_AZ, INTER_AZ) never pass a NAT gateway, whatever their via says:
// the view is decided by the leading fields first, the same in any layout.
func (v View) Matches(r *flows.Record) bool {
	if flows.Category(v) == flows.NATGateway {
		return v.MayMatch(r) && r.ViaNAT()
	}
	return r.Category == flows.Category(v)
}

// Options are common to every query.
type Options struct {
	Source  Source
	Window  Window
	Lenient bool           // skip bad lines instead of stopping
	AWS     awscfg.Options // region, profile, endpoint of the AWS sources
	// Exact makes the cloudwatch source read every record (FilterLogEvents)
	// and aggregate locally instead of asking Logs Insights for sums.
	Exact bool
	// Progress, if set, shows how long-running queries advance (a terminal).
	Progress io.Writer
	Workers  int
	Logger   *slog.Logger
}

// Span is the time the records read actually cover, and what was read.
type Span struct {
	Start, End time.Time // the window asked for, or the data's own extent
	Stats      source.ReadStats
	Seen       int64 // records in the window, where the source counts them
	Matched    int64
	Source     string   // what was read, when the source found out (nfm:MONITOR)
	Notes      []string // what the source says about its data's limits
}

// source names what was read: the span's source, or the one asked for.
func (s Span) source(opts Options) string {
	if s.Source != "" {
		return s.Source
	}
	return opts.Source.String()
}

// Duration is the length of the span, which projections extrapolate from.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

type spanAcc struct {
	first, last time.Time
	seen        int64 // records in the window
	matched     int64 // of which the view selected
}

func (a *spanAcc) note(r *flows.Record) {
	if a.first.IsZero() || r.TS.Before(a.first) {
		a.first = r.TS
	}
	if e := r.End(); e.After(a.last) {
		a.last = e
	}
	a.seen++
}

// recordFunc takes the records a query selects, from one of several
// reading workers. A source that aggregates on its side hands it one
// record for n records with the same fields, bytes summed.
type recordFunc func(worker int, r *flows.Record, n int64) error

// part is one query of a read: the records of its window that its view
// selects (all if view is nil) go to the function begin returns, from
// several workers. begin makes the query's state afresh: a file store that
// holds copies of records is read twice, the second time without them, and
// begin is called before each read.
type part struct {
	window Window
	view   *View
	begin  func(workers int) recordFunc

	accs []spanAcc // what the read saw in the window, by worker
	fn   recordFunc
}

// scanParts answers several queries over opts' source, each in its own
// window, and returns the span each covered. A file store is read once for
// all (a report's five views: the file source's cost is the read); other
// sources are asked once a query, as they sum or filter on their side.
func scanParts(ctx context.Context, opts Options, parts []*part) ([]Span, error) {
	workers := source.ReadOptions{Workers: opts.Workers}.WorkerCount()
	if opts.Source.Kind == "file" {
		return scanFiles(ctx, opts, parts, workers)
	}
	sps := make([]Span, len(parts))
	for i, p := range parts {
		o := opts
		o.Window = p.window
		var err error
		switch opts.Source.Kind {
		case "cloudwatch":
			sps[i], err = scanCloudWatch(ctx, o, p.view, p.begin(workers))
		case "nfm":
			var match, mayMatch func(*flows.Record) bool
			if p.view != nil {
				match, mayMatch = p.view.Matches, p.view.MayMatch
			}
			fn := p.begin(workers)
			sps[i], err = scanNFM(ctx, o, match, mayMatch, func(w int, r *flows.Record) error { return fn(w, r, 1) })
		default:
			return nil, usage.Errorf("source %s is not supported", opts.Source)
		}
		if err != nil {
			return nil, err
		}
		sps[i].Notes = append(sps[i].Notes, emptyAWSNotes(o, p.view, sps[i], time.Now())...)
	}
	return sps, nil
}

// scanFiles is scanParts for a file store: one read over the windows of
// all parts, each record handed to every part it belongs to. Records the
// windows and views of all parts reject are dropped on their leading
// fields (time, category), before the rest of their line is decoded; a
// part without a view, which validates everything, turns that off.
func scanFiles(ctx context.Context, opts Options, parts []*part, workers int) ([]Span, error) {
	if len(parts) > 64 {
		return nil, fmt.Errorf("%d queries in one read: 64 at most", len(parts))
	}
	reset := func() {
		for _, p := range parts {
			p.accs, p.fn = make([]spanAcc, workers), p.begin(workers)
		}
	}
	reset()
	// Borrowed records: the aggregators copy the strings they keep.
	ro := source.ReadOptions{Lenient: opts.Lenient, Workers: workers, Logger: opts.Logger, Borrow: true, Dedup: true, Reset: reset}
	if !slices.ContainsFunc(parts, func(p *part) bool { return p.view == nil }) {
		ro.Skip = func(w int, r *flows.Record) bool {
			var in uint64 // the parts whose window holds r
			for i, p := range parts {
				if p.window.contains(r.TS) {
					if p.view.MayMatch(r) {
						return false
					}
					in |= 1 << i
				}
			}
			for i := 0; in != 0; i, in = i+1, in>>1 {
				if in&1 != 0 {
					parts[i].accs[w].note(r) // in the window: it counts for the span
				}
			}
			return true
		}
	}
	stats, err := source.Read(ctx, opts.Source.Path, ro, func(w int, r *flows.Record) error {
		for _, p := range parts {
			if !p.window.contains(r.TS) {
				continue
			}
			p.accs[w].note(r)
			if p.view != nil && !p.view.Matches(r) {
				continue
			}
			p.accs[w].matched++
			if err := p.fn(w, r, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var le *source.LineError
		var fe *source.FileError
		switch {
		case errors.As(err, &fe):
			return nil, usage.Errorf("%w (check --source)", err)
		case errors.As(err, &le):
			return nil, usage.Errorf("%w (fix the record, or pass --strict=false to skip bad lines)", err)
		case errors.Is(err, source.ErrNoFiles), errors.Is(err, costmodel.ErrUnknownRegion):
			return nil, usage.Wrap(err)
		case isPathError(err):
			return nil, usage.Errorf("%w (check --source)", err)
		}
		return nil, err
	}
	sps := make([]Span, len(parts))
	for i, p := range parts {
		if err := checkOverlaps(stats.Overlaps, p.window); err != nil {
			return nil, err
		}
		var all spanAcc
		for _, a := range p.accs {
			all.seen += a.seen
			all.matched += a.matched
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
		o := opts
		o.Window = p.window
		if i > 0 {
			o.Logger = nil // the first part's span warns of bad lines, once for the read
		}
		sps[i] = all.span(o, p.window, stats)
		sps[i].Notes = append(sps[i].Notes, duplicateNotes(stats.Duplicates)...)
		sps[i].Notes = append(sps[i].Notes, emptyFileNotes(o, p.view, all, stats, time.Now())...)
	}
	return sps, nil
}

// checkOverlaps refuses a window that two files hold different records of
// one agent for: which to count is the user's call.
func checkOverlaps(overlaps []source.Overlap, w Window) error {
	for _, o := range overlaps {
		if (w.End.IsZero() || o.Start.Before(w.End)) && (w.Start.IsZero() || o.End.After(w.Start)) {
			return usage.Errorf("%s and %s both hold records of node %s from %s to %s, but not the same ones (a partial copy, "+
				"or two agents on one node at once): move the copy out of the store, or leave that time out of the window",
				o.File, o.Other, o.Node, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
		}
	}
	return nil
}

// maxDuplicateNotes bounds the notes on duplicates: past it, one sums up.
const maxDuplicateNotes = 3

// duplicateNotes says which files' records were counted once.
func duplicateNotes(dups []source.Duplicate) []string {
	var notes []string
	var total int64
	for i, d := range dups {
		total += d.Records
		switch {
		case i >= maxDuplicateNotes:
		case d.Link:
			notes = append(notes, fmt.Sprintf("ignored %s as duplicates (%d records): it is another name of %s", d.File, d.Records, d.Of))
		default:
			notes = append(notes, fmt.Sprintf("ignored %d records of %s as duplicates: %s holds the same (remove the copy to read the store once)",
				d.Records, d.File, d.Of))
		}
	}
	if len(dups) > maxDuplicateNotes {
		notes = append(notes, fmt.Sprintf("ignored %d duplicate records in all, in %d files", total, len(dups)))
	}
	return notes
}

// span is the window w narrowed to the records' own extent: a projection
// must not spread a day's bytes over a month asked for with --since 30d
// when the agents ran for a day.
func (all spanAcc) span(opts Options, w Window, stats source.ReadStats) Span {
	sp := Span{Start: w.Start, End: w.End, Stats: stats, Seen: all.seen, Matched: all.matched}
	if all.seen > 0 {
		if sp.Start.IsZero() || all.first.After(sp.Start) {
			sp.Start = all.first
		}
		if sp.End.IsZero() || all.last.Before(sp.End) {
			sp.End = all.last
		}
	}
	if stats.Skipped > 0 && opts.Logger != nil {
		opts.Logger.Warn("skipped bad flow records", "count", stats.Skipped, "lines", stats.Lines)
	}
	return sp
}
