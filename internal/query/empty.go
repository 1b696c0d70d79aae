package query

import (
	"fmt"
	"time"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

// An empty answer says why, as notes: an empty table with no hint looks
// like a quiet day, or a broken pipeline, or a typo in a date.

// emptyNotes says why query q found nothing in sp.
func emptyNotes(opts Options, q *source.Query, sp source.Span, now time.Time) []string {
	if opts.Source.Kind == "file" {
		return emptyFileNotes(opts, q, sp, now)
	}
	return emptyAWSNotes(opts, q, sp, now)
}

// emptyFileNotes says why a query over a file store matched nothing: the
// store holds no records, or none in the window (and where they are), or
// none of the view's among the window's. sp.Stats is the whole store's.
func emptyFileNotes(opts Options, q *source.Query, sp source.Span, now time.Time) []string {
	if sp.Matched > 0 {
		return nil
	}
	w, stats := q.Window, sp.Stats
	switch n := stats.Records + stats.Filtered; {
	case n == 0:
		note := opts.Source.String() + " holds no flow records"
		if stats.Skipped > 0 {
			note += fmt.Sprintf(", only %d bad lines", stats.Skipped)
		}
		return []string{note}
	case sp.Seen == 0:
		var notes []string
		if !w.Start.IsZero() && w.Start.After(now) {
			notes = append(notes, fmt.Sprintf("the window is in the future: it is %s now", now.UTC().Format(time.RFC3339)))
		}
		first, end := stats.Start.Format(time.RFC3339), stats.End.Format(time.RFC3339)
		return append(notes, fmt.Sprintf("no records%s; the store's %d records run from %s to %s: try --start %s --end %s",
			windowText(w), n, first, end, first, end))
	case q.View != nil:
		return []string{viewNote(sp.Seen, w, q.View)}
	}
	return nil
}

// viewNote says that none of the window's seen records is of the view.
func viewNote(seen int64, w source.Window, view *source.View) string {
	return fmt.Sprintf("none of the %d records%s is %s traffic", seen, windowText(w), flows.Category(*view).CLIName())
}

// emptyAWSNotes says where an AWS source found nothing: sp's window (the
// one read, with its defaults) in the log group or monitor.
func emptyAWSNotes(opts Options, q *source.Query, sp source.Span, now time.Time) []string {
	switch {
	case sp.Matched > 0:
		return nil
	case sp.Seen > 0 && q.View != nil:
		return []string{viewNote(sp.Seen, q.Window, q.View)}
	}
	var notes []string
	if sp.Start.After(now) {
		notes = append(notes, fmt.Sprintf("the window is in the future: it is %s now", now.UTC().Format(time.RFC3339)))
	}
	check := "the agents publish to log group " + opts.Source.Path + " (their -log-group)"
	if opts.Source.Kind == "nfm" {
		check = "the monitor watches the cluster's subnets"
	}
	return append(notes, fmt.Sprintf("no records in %s%s: widen the window (such as --since 7d), or check that %s",
		spanSource(sp, opts), windowText(source.Window{Start: sp.Start, End: sp.End}), check))
}

// windowText names a window in a sentence: " between A and B", " since A",
// " before B", or "" for all time.
func windowText(w source.Window) string {
	switch {
	case !w.Start.IsZero() && !w.End.IsZero():
		return " between " + w.Start.UTC().Format(time.RFC3339) + " and " + w.End.UTC().Format(time.RFC3339)
	case !w.Start.IsZero():
		return " since " + w.Start.UTC().Format(time.RFC3339)
	case !w.End.IsZero():
		return " before " + w.End.UTC().Format(time.RFC3339)
	}
	return ""
}
