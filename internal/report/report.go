package report

import (
	"context"
	"errors"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
)

// DefaultLimit is how many pairs, talkers and recommendations a report lists.
const DefaultLimit = 5

// Options select what a report covers.
type Options struct {
	query.Options        // the source, and the window: both ends set
	Cluster       string // named in the header when set
	Limit         int    // rows per list; 0 means DefaultLimit
	Advise        costmodel.AdviseOptions
}

// Report is the answer to every query a report makes.
type Report struct {
	Cluster  string
	Window   source.Window // as asked for
	Previous source.Window // the window of equal length just before
	Source   string
	Limit    int

	Spend         *query.SpendResult
	PreviousSpend *query.SpendResult
	InterAZ       *query.TopResult // by workload
	NAT           *query.TopResult // by workload: the NAT gateway's bill
	Recommend     *query.RecommendResult
	// Coverage is a line on how much of the bill the records explain
	// (netcost reconcile's verdict), or why the bill could not be read;
	// empty without a bill.
	Coverage string
}

// DefaultWindow is the report's window when none is given: the previous
// full UTC day.
func DefaultWindow(now time.Time) source.Window {
	end := now.UTC().Truncate(24 * time.Hour)
	return source.Window{Start: end.Add(-24 * time.Hour), End: end}
}

// PreviousWindow is the window of equal length that ends where w starts.
func PreviousWindow(w source.Window) source.Window {
	return source.Window{Start: w.Start.Add(-w.End.Sub(w.Start)), End: w.Start}
}

// Build runs the report's queries: the spend of the window and of the one
// before it, the top inter-AZ pairs and NAT gateway talkers, and the
// recommendations, from one read of a file store.
func Build(ctx context.Context, m *costmodel.Model, opts Options) (*Report, error) {
	w := opts.Window
	if w.Start.IsZero() || w.End.IsZero() || !w.End.After(w.Start) {
		return nil, errors.New("report: the window needs a start before its end")
	}
	r := &Report{Cluster: opts.Cluster, Window: w, Previous: PreviousWindow(w), Source: opts.Source.String(), Limit: opts.Limit}
	if r.Limit <= 0 {
		r.Limit = DefaultLimit
	}
	b := query.NewBatch(m, opts.Options)
	r.Spend = b.Spend(w)
	r.PreviousSpend = b.Spend(r.Previous)
	top := query.TopOptions{Options: opts.Options, GroupBy: costmodel.ByWorkload, Limit: r.Limit}
	top.Category = flows.InterAZ
	r.InterAZ = b.Top(top)
	top.Category = flows.NATGateway
	r.NAT = b.Top(top)
	r.Recommend = b.Recommend(w, opts.Advise)
	if err := b.Run(ctx); err != nil {
		return nil, err // it names the source; the Lambda adds the window
	}
	return r, nil
}

// ProjectionWarning warns when the report's monthly figures project from
// less than a day of records (costmodel.ProjectionWarning); "" otherwise.
func (r *Report) ProjectionWarning() string {
	return costmodel.ProjectionWarning(r.Spend.End.Sub(r.Spend.Start))
}
